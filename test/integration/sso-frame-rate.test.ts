// docs/sso.md: each frame of a face sign-in runs the vision engine, like a frame of any face session; the
// tenant's tier caps a session's frames per second (docs/foundation.md, "Limits": basic 10 with one second
// of burst). The sign-in's frame call passed frames straight to the session and skipped that budget, so an
// anonymous browser holding one interaction could make the engine work as fast as it could send.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { useTestApp } from '../helpers/app.ts';
import { as, createClient } from '../helpers/foundation.ts';
import { multipart } from '../helpers/face-fixtures.ts';
import { Browser, authorizeUrl } from '../helpers/sso-browser.ts';
import { testDataDir } from '../../src/config/env.ts';

describe('SSO sign-in frames are held to the tier\'s frames per second [pglite]', () => {
  const t = useTestApp('pglite', { engine: true, env: { WAJAH_MASTER_KEY: 'a'.repeat(64) } });

  test('a burst of frames to one interaction: past the basic tier\'s budget, 429 FRAME_RATE_EXCEEDED and the sign-in goes on', async () => {
    const { app } = t();
    const c = await createClient(app, { tier: 'basic' });
    const redirectUri = 'https://rp.example.com/cb';
    const rp = await as(app, c, { method: 'POST', url: '/api/sso/clients/', payload: { name: 'RP', redirect_uris: [redirectUri], token_endpoint_auth_method: 'none' } });
    assert.equal(rp.statusCode, 201, rp.body);
    const br = new Browser(app);
    const auth = await br.request('GET', authorizeUrl(rp.json().client_id, { redirectUri, scope: 'openid', challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM' }));
    assert.equal(auth.statusCode, 303, auth.body);
    const page = String(auth.headers.location);
    assert.equal((await br.request('GET', page)).statusCode, 200);
    const started = await br.request('POST', `${page}/start`);
    assert.equal(started.statusCode, 200, started.body);

    // A picture without a face: each frame is looked at by the engine and the session goes on.
    const frame = await multipart([{ name: 'frame', value: fs.readFileSync(path.join(testDataDir(), 'no_face/skimage_coffee.png')) }]);
    // 60 at once: even on a loaded machine they arrive within a few seconds, far above 10 a second.
    const answers = await Promise.all(Array.from({ length: 60 }, () => br.request('POST', `${page}/frame`, frame)));
    const limited = answers.filter((r) => r.statusCode === 429);
    assert.ok(limited.length > 0, `60 frames at once to a basic-tier sign-in: ${answers.map((r) => r.statusCode).join(',')}`);
    for (const r of limited) {
      assert.equal(r.json().code, 'FRAME_RATE_EXCEEDED', r.body);
      assert.equal(r.headers['retry-after'], '1');
    }
    for (const r of answers.filter((a) => a.statusCode !== 429)) assert.ok([200, 400, 422, 503].includes(r.statusCode), `${r.statusCode} ${r.body}`);
    // Refused frames end nothing: after a pause the sign-in takes frames again.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const later = await br.request('POST', `${page}/frame`, frame);
    assert.notEqual(later.statusCode, 429, later.body);
    assert.notEqual(later.json().status, 'denied', later.body);
  });
});
