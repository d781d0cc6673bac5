// docs/sso.md, "login_hint tells nobody which users exist": a hint naming nobody who can sign in gets a decoy
// face check, failing like a wrong face. But the decoy did less work than a real one, which a stopwatch could
// tell: its start read no user and no templates (a real hint's reads the user, their templates, and the user
// again to create the verification), and its frames read neither (a verification's frame reads the user and
// their templates; the decoy's identification searches the in-memory gallery). Now the decoy makes the same
// reads, for a decoy id that names nobody.
//
// Wall-clock times are not asserted: on a shared test machine their noise (up to 35 ms on frame medians)
// is far larger than the reads' (about a millisecond each), so medians flipped either way from run to run
// (.tmp/scratch/sso/decoy-timing.test.ts). The work is compared instead, deterministically: the reads of
// `users` and `face_templates` each request makes, real hint against decoy hint.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DefaultQueryExecutor, type CompiledQuery } from 'kysely';
import { useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, postForm } from '../helpers/face-fixtures.ts';
import { Browser, REDIRECT, authorizeUrl, pkce } from '../helpers/sso-browser.ts';
import { testDataDir } from '../../src/config/env.ts';
import { readMjpegFrames } from '../../src/vision/mjpeg.ts';

const video = (name: string) => readMjpegFrames(path.join(testDataDir(), 'video/fakecam', name));

/** Every query the process runs through Kysely while `capturing` is on. */
const captured: string[] = [];
let capturing = false;
const original = DefaultQueryExecutor.prototype.executeQuery;

/** How many reads of the face data's tables `run` made. */
async function reads(run: () => Promise<unknown>): Promise<{ users: number; face_templates: number }> {
  captured.length = 0;
  capturing = true;
  try {
    await run();
  } finally {
    capturing = false;
  }
  const selects = captured.filter((q) => /^\s*select/i.test(q));
  return { users: selects.filter((q) => /from "users"/.test(q)).length, face_templates: selects.filter((q) => /from "face_templates"/.test(q)).length };
}

describe('SSO: a decoy face check does the work of a real one [pglite]', () => {
  const t = useTestApp('pglite', { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
  const headturn = video('personA_live_headturn_640x360_15fps.mjpeg');
  const blink = video('talking_blink_aoc_512x512_25fps.mjpeg');
  before(() => {
    DefaultQueryExecutor.prototype.executeQuery = function (this: DefaultQueryExecutor, q: CompiledQuery) {
      if (capturing) captured.push(q.sql);
      return original.call(this, q) as never;
    } as typeof original;
  });
  after(() => {
    DefaultQueryExecutor.prototype.executeQuery = original;
  });

  test('start and a frame with a face read users and templates as often for a hint naming nobody as for an enrolled user', async () => {
    const { app } = t();
    const tenant = await createTenant(app, 'Decoy work');
    // EMPB is enrolled from another person than the one in the sign-in video (a wrong face, no gallery hit).
    await createUser(app, tenant, 'EMPB', 'Person B');
    await createUser(app, tenant, 'NOFACE', 'Not enrolled');
    await createUser(app, tenant, 'GONE', 'Deactivated');
    const enrolled = await postForm(app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: 'EMPB' }, { name: 'image', value: blink[0]! }, { name: 'quality_threshold', value: '0.3' }]);
    assert.equal(enrolled.statusCode, 201, enrolled.body);
    assert.equal((await app.inject({ method: 'POST', url: '/api/clients/users/GONE/deactivate/', headers: { authorization: tenant.auth } })).statusCode, 200);
    const created = await app.inject({
      method: 'POST',
      url: '/api/sso/clients/',
      headers: { authorization: tenant.auth, 'content-type': 'application/json' },
      payload: { name: 'Portal', redirect_uris: [REDIRECT], liveness_challenges: ['head_movement'], max_attempts: 2, token_endpoint_auth_method: 'none' },
    });
    assert.equal(created.statusCode, 201, created.body);
    const rpId = created.json().client_id as string;

    const work = async (hint: string) => {
      const br = new Browser(app);
      const auth = await br.request('GET', authorizeUrl(rpId, { challenge: pkce().challenge, state: 'st', scope: 'openid', loginHint: hint }));
      const location = String(auth.headers.location);
      const uid = location.split('/').pop()!;
      assert.equal((await br.request('GET', location)).statusCode, 200);
      const start = await reads(async () => assert.equal((await br.request('POST', `/oidc/interaction/${uid}/start`)).statusCode, 200));
      let answer: Record<string, unknown> = {};
      const frame = await reads(async () => {
        const res = await br.frame(uid, headturn[2]!);
        assert.equal(res.statusCode, 200, res.body);
        answer = res.json();
      });
      assert.equal(answer.face_detected, true, `${hint}: the frame has a face (${JSON.stringify(answer)})`);
      const cancel = await reads(async () => assert.equal((await br.request('POST', `/oidc/interaction/${uid}/cancel`)).statusCode, 200));
      return { start, frame, cancel };
    };

    // The tenant's gallery is loaded into memory by its first identification, once per process (any sign-in
    // without a hint does it): loaded here first, so that it is not counted as a decoy's reads.
    await work('NOBODY');
    const real = await work('EMPB');
    assert.ok(real.start.face_templates >= 1 && real.frame.face_templates >= 1, `a real hint reads templates: ${JSON.stringify(real)}`);
    for (const hint of ['NOBODY', 'NOFACE', 'GONE']) {
      assert.deepEqual(await work(hint), real, `the decoy of ${hint} reads as the real check of EMPB does`);
    }
  });
});
