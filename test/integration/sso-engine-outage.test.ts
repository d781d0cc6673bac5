// docs/sso.md: a sign-in ends with access_denied when the person fails (wrong face, liveness, attempts
// used up) — not when the server cannot look at the frame. A frame that met an unavailable face engine
// (503 SERVICE_UNAVAILABLE: workers restarting, a server without the engine) ended the whole sign-in as
// "Face authentication is not possible for this user", sent access_denied to the application and
// audited it as the person's failure. Now a server-side error is the frame's error: the sign-in stays
// open and the page can send the frame again.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { useTestApp } from '../helpers/app.ts';
import { as, createClient } from '../helpers/foundation.ts';
import { multipart } from '../helpers/face-fixtures.ts';
import { Browser, authorizeUrl } from '../helpers/sso-browser.ts';
import { testDataDir } from '../../src/config/env.ts';

describe('SSO sign-in while the face engine is unavailable [pglite]', () => {
  // No engine in this process: every frame meets SERVICE_UNAVAILABLE.
  const t = useTestApp('pglite', { engine: false, env: { WAJAH_MASTER_KEY: 'a'.repeat(64) } });

  test('a frame the server cannot process is a 5xx of that frame; the sign-in is not denied', async () => {
    const { app, container } = t();
    const c = await createClient(app, { tier: 'enterprise' });
    const redirectUri = 'https://rp.example.com/cb';
    const rp = await as(app, c, { method: 'POST', url: '/api/sso/clients/', payload: { name: 'RP', redirect_uris: [redirectUri], token_endpoint_auth_method: 'none' } });
    assert.equal(rp.statusCode, 201, rp.body);
    const br = new Browser(app);
    const auth = await br.request('GET', authorizeUrl(rp.json().client_id, { redirectUri, scope: 'openid', state: 'st', challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM' }));
    assert.equal(auth.statusCode, 303, auth.body);
    const page = String(auth.headers.location);
    assert.equal((await br.request('GET', page)).statusCode, 200);
    assert.equal((await br.request('POST', `${page}/start`)).statusCode, 200);

    const frame = await multipart([{ name: 'frame', value: fs.readFileSync(path.join(testDataDir(), 'no_face/skimage_coffee.png')) }]);
    for (let i = 0; i < 2; i++) {
      const res = await br.request('POST', `${page}/frame`, frame);
      assert.equal(res.statusCode, 503, `frame ${i}: ${res.statusCode} ${res.body}`);
      assert.equal(res.json().code, 'SERVICE_UNAVAILABLE', res.body);
    }
    await container.foundation.audit.flush();
    const denied = await container.database.db.selectFrom('audit_logs').select('action').where('action', '=', 'sso.login.denied').execute();
    assert.equal(denied.length, 0, 'no denial audited for a server-side failure');
    // The person can still cancel: the sign-in was never decided.
    const cancel = await br.request('POST', `${page}/cancel`);
    assert.equal(cancel.statusCode, 200, cancel.body);
    assert.equal(cancel.json().status, 'denied');
  });
});
