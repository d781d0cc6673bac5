// The attack: an attacker holds a recording of the victim blinking and then turning their head. The create
// answer names the session's first challenge, and creating a session costs nothing, so they create sessions
// until one asks for the blink first, and play the recording into it (with two challenges the first fixes
// the rest). A new session of the same claim must continue the unjudged order instead of drawing a new one.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, postForm, postJson, type Tenant } from '../helpers/face-fixtures.ts';
import { testDataDir } from '../../src/config/env.ts';

const lfw = (name: string, n: string) => fs.readFileSync(path.join(testDataDir(), 'lfw', name, `${name}_${n}.jpg`));
const TWO = ['blink', 'head_movement'];
const THREE = ['blink', 'head_movement', 'smile'];

for (const backend of backendNames()) {
  describe(`authentication sessions: no re-rolling the challenge order [${backend}]`, () => {
    const t = useTestApp(backend, { engine: backend === 'pglite', env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
    let tenant: Tenant;

    const create = async (body: Record<string, unknown>) => {
      const res = await postJson(t().app, '/api/auth/authentication/create/', tenant, { require_liveness: true, challenge_timeout: 60, ...body });
      assert.equal(res.statusCode, 201, res.body);
      return res.json() as { session_token: string; session_id: string; liveness: { current_challenge: string } };
    };
    /** The whole drawn order of a session (the create answer shows only its first challenge). */
    const orderOf = async (sessionId: string) => {
      const row = await t().container.database.db.selectFrom('sessions').select('state').where('id', '=', sessionId).executeTakeFirstOrThrow();
      return ((row.state as Record<string, any>).liveness.order as string[]).join(',');
    };

    test('setup', async () => {
      tenant = await createTenant(t().app, 'Challenge order');
      await createUser(t().app, tenant, 'VICTIM', 'Victim');
      await createUser(t().app, tenant, 'OTHER', 'Other');
    });

    test('sessions created one after another for one user, each abandoned: every one asks for the same order', async () => {
      const first = await create({ mode: 'verification', user_id: 'VICTIM', liveness_challenges: TWO });
      const order = await orderOf(first.session_id);
      for (let i = 0; i < 12; i++) {
        const s = await create({ mode: 'verification', user_id: 'VICTIM', liveness_challenges: [...TWO].reverse() });
        assert.equal(s.liveness.current_challenge, order.split(',')[0], `re-roll ${i}`);
        assert.equal(await orderOf(s.session_id), order);
      }
      // Three challenges: the rest of the order is carried over too, not only the first.
      const three = await orderOf((await create({ mode: 'verification', user_id: 'VICTIM', liveness_challenges: THREE })).session_id);
      for (let i = 0; i < 6; i++) assert.equal(await orderOf((await create({ mode: 'verification', user_id: 'VICTIM', liveness_challenges: THREE })).session_id), three);
    });

    test('created all at once: still one order', async () => {
      const made = await Promise.all(Array.from({ length: 10 }, () => create({ mode: 'verification', user_id: 'OTHER', liveness_challenges: TWO })));
      const orders = new Set(await Promise.all(made.map((s) => orderOf(s.session_id))));
      assert.equal(orders.size, 1, [...orders].join(' | '));
    });

    test('identification sessions (no claimed user) of a tenant: the same', async () => {
      const order = await orderOf((await create({ mode: 'identification', liveness_challenges: TWO })).session_id);
      for (let i = 0; i < 12; i++) assert.equal(await orderOf((await create({ mode: 'identification', liveness_challenges: TWO })).session_id), order, `re-roll ${i}`);
    });

    test('a real user retrying a few times is never refused; sessions without liveness are unaffected', async () => {
      for (let i = 0; i < 5; i++) await create({ mode: 'verification', user_id: 'VICTIM', liveness_challenges: TWO });
      const res = await postJson(t().app, '/api/auth/authentication/create/', tenant, { mode: 'verification', user_id: 'VICTIM' });
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.json().liveness, undefined);
    });

    // Judging needs the face engine: on the embedded database only.
    if (backend === 'pglite') {
      test('a new order only after a session of the claim was judged (a recorded failure): no better than playing the recording blindly', async () => {
        const { app, container } = t();
        const enrolled = await postForm(app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: 'VICTIM' }, { name: 'image', value: lfw('Jennifer_Lopez', '0001') }, { name: 'quality_threshold', value: '0.3' }]);
        assert.equal(enrolled.statusCode, 201, enrolled.body);
        const seen = new Set<string>();
        let rounds = 0;
        // Each round: a session whose frames show two different people ends failed (FACE_MISMATCH); the next
        // session may draw afresh. Both orders show up within a few rounds (a fixed order would fail 2^-11).
        while (seen.size < 2 && rounds < 12) {
          rounds++;
          const s = await create({ mode: 'verification', user_id: 'VICTIM', liveness_challenges: TWO });
          seen.add(await orderOf(s.session_id));
          for (const image of [lfw('Jennifer_Lopez', '0003'), lfw('John_Bolton', '0006')]) {
            const res = await postForm(app, '/api/auth/authentication/process-frame/', tenant, [{ name: 'frame', value: image }], s.session_token);
            assert.equal(res.statusCode, 200, res.body);
          }
          const row = await container.database.db.selectFrom('sessions').select('status').where('id', '=', s.session_id).executeTakeFirstOrThrow();
          assert.equal(row.status, 'failed');
        }
        assert.equal(seen.size, 2, `one order in ${rounds} judged rounds`);
        const failures = await container.database.db.selectFrom('auth_attempts').select((eb) => eb.fn.countAll<string>().as('n')).where('failure_reason', '=', 'FACE_MISMATCH').executeTakeFirstOrThrow();
        assert.equal(Number(failures.n), rounds, 'each new order cost one recorded failed attempt');
      });
    }
  });
}
