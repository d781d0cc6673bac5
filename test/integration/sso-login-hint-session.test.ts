// docs/sso.md: with `login_hint` the sign-in is a face *verification* of that user. A browser that already
// held an SSO session of another user of the tenant got a code for the session's user at once: an
// application asking "is this EMP002?" (an approval, a step-up) was answered with EMP001's code and no face
// check. Now a hint naming someone other than the session's user asks for a new face sign-in; a hint
// naming the session's user (by external id or uuid) is still single sign-on.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { describe, test } from 'node:test';
import { useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, multipart, postForm } from '../helpers/face-fixtures.ts';
import { Browser, HOST, REDIRECT, authorizeUrl } from '../helpers/sso-browser.ts';
import { testDataDir } from '../../src/config/env.ts';
import { readMjpegFrames } from '../../src/vision/mjpeg.ts';

describe('SSO: login_hint of another user than the SSO session\'s [pglite]', () => {
  const t = useTestApp('pglite', { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
  const headturn = readMjpegFrames(path.join(testDataDir(), 'video/fakecam', 'personA_live_headturn_640x360_15fps.mjpeg'));

  test('signed in as AOC: a hint for EMP002 asks for a face sign-in; a hint for AOC (external id or uuid) does not', async () => {
    const { app } = t();
    const tenant = await createTenant(app, 'Hint');
    const aocId = await createUser(app, tenant, 'AOC', 'Person A');
    await createUser(app, tenant, 'EMP002', 'Someone Else');
    const enrolled = await postForm(app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: 'AOC' }, { name: 'image', value: headturn[0]! }, { name: 'quality_threshold', value: '0.3' }]);
    assert.equal(enrolled.statusCode, 201, enrolled.body);
    const created = await app.inject({
      method: 'POST',
      url: '/api/sso/clients/',
      headers: { authorization: tenant.auth, 'content-type': 'application/json' },
      payload: { name: 'Approvals', redirect_uris: [REDIRECT], liveness_challenges: ['head_movement'], max_attempts: 3, token_endpoint_auth_method: 'none' },
    });
    assert.equal(created.statusCode, 201, created.body);
    const rpId = created.json().client_id as string;
    const challenge = crypto.createHash('sha256').update('v'.repeat(43)).digest('base64url');
    const authorize = (hint?: string) => authorizeUrl(rpId, { scope: 'openid', state: 'st', nonce: 'nn', challenge, loginHint: hint });
    const br = new Browser(app);

    // AOC signs in with their face (verification of the hinted AOC): the browser now holds an SSO session.
    const first = await br.request('GET', authorize('AOC'));
    assert.equal(first.statusCode, 303, first.body);
    const page = String(first.headers.location);
    assert.match(page, /\/oidc\/interaction\//);
    assert.equal((await br.request('GET', page)).statusCode, 200);
    assert.equal((await br.request('POST', `${page}/start`)).statusCode, 200);
    let done: Record<string, any> = {};
    // A slow machine can run out a challenge's 20 s: the page's retry starts the video again.
    for (let attempt = 0; attempt < 3 && done.status !== 'completed' && done.status !== 'denied'; attempt++) {
      for (const f of headturn.filter((_, i) => i > 0 && i % 2 === 0)) {
        const res = await br.request('POST', `${page}/frame`, await multipart([{ name: 'frame', value: f }]));
        assert.equal(res.statusCode, 200, res.body);
        done = res.json();
        if (done.status !== 'processing') break;
      }
    }
    assert.equal(done.status, 'completed', JSON.stringify(done));
    let next = done.redirect_to as string;
    for (let i = 0; i < 5 && next.startsWith(`http://${HOST}`); i++) next = String((await br.request('GET', next)).headers.location);
    assert.ok(new URL(next).searchParams.get('code'), next);

    // Same browser, a hint for somebody else: not EMP002's code, nor AOC's, but the face sign-in page.
    const other = await br.request('GET', authorize('EMP002'));
    assert.equal(other.statusCode, 303, other.body);
    assert.match(String(other.headers.location), /\/oidc\/interaction\//, `a hint for another user is answered with a code of the session's user: ${other.headers.location}`);

    // A hint for the session's own user, by external id or uuid, and no hint: single sign-on as before.
    for (const hint of ['AOC', aocId, undefined]) {
      const again = await br.request('GET', authorize(hint));
      assert.equal(again.statusCode, 303, again.body);
      const to = new URL(String(again.headers.location), `http://${HOST}`);
      assert.equal(to.origin + to.pathname, REDIRECT, `hint ${hint}: ${to.href}`);
      assert.ok(to.searchParams.get('code'), to.href);
    }
  });
});
