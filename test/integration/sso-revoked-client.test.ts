// docs/sso.md: deleting an application stops its sign-ins at once. A face sign-in already past "Start"
// went on: its frames still ran the engine, and the decision was audited as `sso.login.succeeded` for an
// application that no longer exists and never received a code (the provider then refused the client).
// Now every frame checks the application first: gone → the interaction ends with access_denied, audited
// as denied, and no frame reaches the engine.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, multipart, postForm } from '../helpers/face-fixtures.ts';
import { Browser, REDIRECT, authorizeUrl } from '../helpers/sso-browser.ts';
import { testDataDir } from '../../src/config/env.ts';
import { readMjpegFrames } from '../../src/vision/mjpeg.ts';

describe('SSO: an application deleted during a face sign-in [pglite]', () => {
  const t = useTestApp('pglite', { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
  const headturn = readMjpegFrames(path.join(testDataDir(), 'video/fakecam', 'personA_live_headturn_640x360_15fps.mjpeg'));

  test('frames after the deletion end the sign-in with access_denied; nothing is audited as a success', async () => {
    const { app, container } = t();
    const tenant = await createTenant(app, 'Revoked RP');
    await createUser(app, tenant, 'AOC', 'Person A');
    const enrolled = await postForm(app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: 'AOC' }, { name: 'image', value: headturn[0]! }, { name: 'quality_threshold', value: '0.3' }]);
    assert.equal(enrolled.statusCode, 201, enrolled.body);
    const created = await app.inject({
      method: 'POST',
      url: '/api/sso/clients/',
      headers: { authorization: tenant.auth, 'content-type': 'application/json' },
      payload: { name: 'Payroll', redirect_uris: [REDIRECT], liveness_challenges: ['head_movement'], max_attempts: 1, token_endpoint_auth_method: 'none' },
    });
    assert.equal(created.statusCode, 201, created.body);
    const rpId = created.json().client_id as string;

    const br = new Browser(app);
    const auth = await br.request('GET', authorizeUrl(rpId, { scope: 'openid', state: 'st', loginHint: 'AOC', challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM' }));
    assert.equal(auth.statusCode, 303, auth.body);
    const page = String(auth.headers.location);
    assert.equal((await br.request('GET', page)).statusCode, 200);
    assert.equal((await br.request('POST', `${page}/start`)).statusCode, 200);

    // The tenant deletes the application while the person is in front of the camera.
    const del = await app.inject({ method: 'DELETE', url: `/api/sso/clients/${rpId}/`, headers: { authorization: tenant.auth } });
    assert.equal(del.statusCode, 204, del.body);

    let last: Record<string, any> = {};
    let frames = 0;
    for (const f of headturn.filter((_, i) => i > 0 && i % 2 === 0)) {
      const res = await br.request('POST', `${page}/frame`, await multipart([{ name: 'frame', value: f }]));
      frames += 1;
      last = res.json();
      if (res.statusCode !== 200 || last.status !== 'processing') break;
    }
    assert.equal(last.status, 'denied', `the sign-in of a deleted application ends (after ${frames} frames): ${JSON.stringify(last)}`);
    assert.equal(frames, 1, 'the first frame after the deletion ends it');

    const db = container.database.db;
    await container.foundation.audit.flush();
    const audit = await db.selectFrom('audit_logs').select(['action']).where('client_id', '=', tenant.clientId).where('action', 'like', 'sso.login.%').execute();
    assert.deepEqual(audit.map((a) => a.action), ['sso.login.denied']);
    // The face session itself is never decided: no authentication attempt of this sign-in was written.
    const attempts = await db.selectFrom('auth_attempts').select('id').where('client_id', '=', tenant.clientId).execute();
    assert.equal(attempts.length, 0);
  });
});
