// The attack: in a liveness session, a near-frontal face that is not the session's first face was refused
// (422 FACE_MISMATCH) but the session stayed open, and the refusal carried its confidence against the first
// face: an attacker could try face after face in one session and read how close each came (a similarity
// oracle). Such a frame must end the session failed, recorded like any failed session, with no similarity.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, postForm, postJson, type Tenant } from '../helpers/face-fixtures.ts';
import { testDataDir } from '../../src/config/env.ts';
import { readMjpegFrames } from '../../src/vision/mjpeg.ts';

const lfw = (name: string, n: string) => fs.readFileSync(path.join(testDataDir(), 'lfw', name, `${name}_${n}.jpg`));

// Engine-heavy: once, on the embedded database.
if (backendNames().includes('pglite')) {
  describe('authentication sessions: another face ends the session [pglite]', () => {
    const t = useTestApp('pglite', { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
    const aoc = readMjpegFrames(path.join(testDataDir(), 'video/fakecam/talking_blink_aoc_512x512_25fps.mjpeg'));
    let tenant: Tenant;

    const frame = (token: string, bytes: Buffer) => postForm(t().app, '/api/auth/authentication/process-frame/', tenant, [{ name: 'frame', value: bytes }], token);
    const create = async (body: Record<string, unknown>) => {
      const res = await postJson(t().app, '/api/auth/authentication/create/', tenant, { require_liveness: true, challenge_timeout: 60, liveness_challenges: ['blink'], ...body });
      assert.equal(res.statusCode, 201, res.body);
      return res.json() as { session_token: string; session_id: string };
    };
    const db = () => t().container.database.db;

    test('setup: enroll the victim', async () => {
      tenant = await createTenant(t().app, 'Face mismatch');
      await createUser(t().app, tenant, 'JLO', 'Jennifer Lopez');
      const res = await postForm(t().app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: 'JLO' }, { name: 'image', value: lfw('Jennifer_Lopez', '0001') }, { name: 'quality_threshold', value: '0.3' }]);
      assert.equal(res.statusCode, 201, res.body);
    });

    test('verification: the first other face ends the session failed (FACE_MISMATCH, no confidence); face after face is refused as finished', async () => {
      const s = await create({ mode: 'verification', user_id: 'JLO' });
      // The attacker's own live face anchors the session...
      assert.equal((await frame(s.session_token, aoc[2])).statusCode, 200);
      // ...then they hold up the victim's photos and other people's, one after another.
      const tries = [lfw('Jennifer_Lopez', '0003'), lfw('John_Bolton', '0006'), lfw('Jennifer_Lopez', '0001')];
      const first = await frame(s.session_token, tries[0]);
      assert.equal(first.statusCode, 200, first.body);
      const body = first.json();
      assert.equal(body.status, 'failed', first.body);
      assert.equal(body.result.failure_reason, 'FACE_MISMATCH');
      assert.equal(body.result.authenticated, false);
      assert.equal(body.result.confidence, null, 'no similarity to the first face or the victim');
      assert.equal(body.result.user_id, null);
      assert.equal(body.attempts_remaining, 0);
      for (const image of tries.slice(1)) {
        const res = await frame(s.session_token, image);
        assert.equal(res.statusCode, 409, res.body);
        assert.equal(res.json().code, 'SESSION_COMPLETED');
        assert.equal(res.json().details?.confidence, undefined);
      }
      // Recorded like any failed session: the row closed, one attempt, authentication.failed naming the target.
      const row = await db().selectFrom('sessions').select('status').where('id', '=', s.session_id).executeTakeFirstOrThrow();
      assert.equal(row.status, 'failed');
      const attempts = await db()
        .selectFrom('auth_attempts')
        .innerJoin('users', 'users.id', 'auth_attempts.user_id')
        .select(['outcome', 'failure_reason', 'confidence', 'users.external_id'])
        .where('session_id', '=', s.session_id)
        .execute();
      assert.deepEqual(attempts.map((a) => ({ ...a, confidence: a.confidence === null ? null : Number(a.confidence) })), [{ outcome: 'failed', failure_reason: 'FACE_MISMATCH', confidence: null, external_id: 'JLO' }]);
      const events = (await db().selectFrom('events').select(['event_type', 'payload']).execute()).filter((e) => (e.payload as Record<string, unknown>).session_id === s.session_id);
      assert.deepEqual(events.map((e) => e.event_type), ['authentication.failed']);
      const payload = events[0].payload as Record<string, unknown>;
      assert.equal(payload.failure_reason, 'FACE_MISMATCH');
      assert.equal(payload.confidence, null);
      assert.equal(payload.user_id, 'JLO');
    });

    test('identification: the same, and no match is named', async () => {
      const s = await create({ mode: 'identification' });
      assert.equal((await frame(s.session_token, lfw('John_Bolton', '0006'))).statusCode, 200);
      const res = await frame(s.session_token, lfw('Jennifer_Lopez', '0003'));
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().status, 'failed');
      assert.equal(res.json().result.failure_reason, 'FACE_MISMATCH');
      assert.deepEqual(res.json().result.matches, []);
      assert.equal((await frame(s.session_token, lfw('John_Bolton', '0006'))).json().code, 'SESSION_COMPLETED');
    });
  });
}
