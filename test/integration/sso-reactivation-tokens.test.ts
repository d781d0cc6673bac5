// docs/sso.md, "Deactivation and deletion": deactivating a user is how an operator cuts them off (a lost
// badge, someone who left). Their tokens failed while they were inactive, but reactivating them brought the
// old ones back: a refresh token issued before the deactivation refreshed again, an access token still in
// its lifetime opened /oidc/me again, and the browser's SSO session signed in without a face. Now every
// token and SSO session issued before the user's last activation change (`users.sso_not_before`, set by the
// database itself) is refused; a new face sign-in after the reactivation works.
//
// The face decision is stubbed (the session's processFrame answers "live and recognised"): what is tested is
// the provider's side (codes, tokens, refresh, userinfo, SSO session), with no face engine run.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser } from '../helpers/face-fixtures.ts';
import { Browser, HOST, REDIRECT, authorizeUrl, followToRp, pkce } from '../helpers/sso-browser.ts';

/** Any JPEG-typed bytes: the stubbed session never decodes them. */
const FRAME = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1, 0xff, 0xd9]);

describe('SSO: a reactivated user gets none of the old tokens or sessions back [pglite]', () => {
  const t = useTestApp('pglite', { env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });

  test('refresh token, access token and SSO session issued before a deactivation stay dead after the reactivation', async () => {
    const { app, container } = t();
    const tenant = await createTenant(app, 'Reactivation');
    const userId = await createUser(app, tenant, 'EMP1', 'Employee One');
    const created = await app.inject({
      method: 'POST',
      url: '/api/sso/clients/',
      headers: { authorization: tenant.auth, 'content-type': 'application/json' },
      payload: { name: 'Intranet', redirect_uris: [REDIRECT], liveness_challenges: ['head_movement'], max_attempts: 1 },
    });
    assert.equal(created.statusCode, 201, created.body);
    const rp = created.json() as { client_id: string; client_secret: string };

    // The face session answers "live, recognised as EMP1" (an identification: no login_hint).
    const authentication = container.face.authentication as unknown as Record<string, unknown>;
    authentication.processFrame = async () => ({ status: 'completed', result: { matches: [{ user_id: 'EMP1' }] }, liveness_result: { passed: true } });

    const basic = `Basic ${Buffer.from(`${encodeURIComponent(rp.client_id)}:${encodeURIComponent(rp.client_secret)}`).toString('base64')}`;
    const token = (params: Record<string, string>) =>
      app.inject({ method: 'POST', url: '/oidc/token', headers: { host: HOST, authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(params).toString() });
    const me = (accessToken: string) => app.inject({ method: 'GET', url: '/oidc/me', headers: { host: HOST, authorization: `Bearer ${accessToken}` } });
    const setActive = async (active: boolean) => {
      const res = await app.inject({ method: 'PUT', url: '/api/clients/users/EMP1/', headers: { authorization: tenant.auth, 'content-type': 'application/json' }, payload: { is_active: active } });
      assert.equal(res.statusCode, 200, res.body);
    };
    /** A face sign-in of `br` asking for a refresh token (offline_access needs prompt=consent): its tokens. */
    const signIn = async (br: Browser) => {
      const p = pkce();
      const auth = await br.request('GET', `${authorizeUrl(rp.client_id, { challenge: p.challenge, state: 'st', nonce: 'nn', scope: 'openid offline_access' })}&prompt=consent`);
      assert.equal(auth.statusCode, 303, auth.body);
      const uid = /\/oidc\/interaction\/([^/?]+)$/.exec(String(auth.headers.location))?.[1];
      assert.ok(uid, String(auth.headers.location));
      assert.equal((await br.request('GET', String(auth.headers.location))).statusCode, 200);
      assert.equal((await br.request('POST', `/oidc/interaction/${uid}/start`)).statusCode, 200);
      const done = await br.frame(uid, FRAME);
      assert.equal(done.statusCode, 200, done.body);
      assert.equal(done.json().status, 'completed', done.body);
      const cb = await followToRp(br, done.json().redirect_to);
      const code = cb.searchParams.get('code');
      assert.ok(code, cb.href);
      const tok = await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: p.verifier });
      assert.equal(tok.statusCode, 200, tok.body);
      const { access_token: accessToken, refresh_token: refreshToken } = tok.json() as Record<string, string>;
      assert.ok(accessToken && refreshToken, tok.body);
      return { accessToken: accessToken!, refreshToken: refreshToken! };
    };
    /** Whether the browser's SSO session signs it in again without a face (a code at once). */
    const ssoSessionSignsIn = async (br: Browser) => {
      const auth = await br.request('GET', authorizeUrl(rp.client_id, { challenge: pkce().challenge, state: 'st2', scope: 'openid' }));
      assert.equal(auth.statusCode, 303, auth.body);
      const to = String(auth.headers.location);
      if (/\/oidc\/interaction\//.test(to)) return false;
      return Boolean(new URL(to, `http://${HOST}`).searchParams.get('code'));
    };

    const br = new Browser(app);
    const old = await signIn(br);
    assert.equal((await me(old.accessToken)).json().sub, userId);
    assert.equal((await token({ grant_type: 'refresh_token', refresh_token: old.refreshToken })).statusCode, 200, 'the refresh token works before');
    assert.equal(await ssoSessionSignsIn(br), true, 'the SSO session signs in before');

    await setActive(false);
    const whileInactive = await token({ grant_type: 'refresh_token', refresh_token: old.refreshToken });
    assert.equal(whileInactive.statusCode, 400, whileInactive.body);
    assert.equal((await me(old.accessToken)).statusCode, 401);

    await setActive(true);
    const revived = await token({ grant_type: 'refresh_token', refresh_token: old.refreshToken });
    assert.equal(revived.statusCode, 400, `the refresh token issued before the deactivation works again: ${revived.body}`);
    assert.equal(revived.json().error, 'invalid_grant');
    const info = await me(old.accessToken);
    assert.equal(info.statusCode, 401, `the access token issued before the deactivation opens /oidc/me again: ${info.body}`);
    assert.equal(await ssoSessionSignsIn(br), false, 'the SSO session of before the deactivation signs in again without a face');
    // A new face sign-in after the reactivation is a new start: its tokens work. (Tokens dated in the second of
    // the change are refused with the old ones: the provider dates them to the second.)
    await new Promise((r) => setTimeout(r, 1100));
    const fresh = await signIn(new Browser(app));
    assert.equal((await me(fresh.accessToken)).json().sub, userId);
    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: fresh.refreshToken });
    assert.equal(refreshed.statusCode, 200, refreshed.body);

    // Deleting the user ends the new ones too.
    assert.equal((await app.inject({ method: 'DELETE', url: '/api/clients/users/EMP1/', headers: { authorization: tenant.auth } })).statusCode, 204);
    assert.equal((await token({ grant_type: 'refresh_token', refresh_token: (refreshed.json() as Record<string, string>).refresh_token ?? fresh.refreshToken })).statusCode, 400);
    assert.equal((await me((refreshed.json() as Record<string, string>).access_token!)).statusCode, 401);
  });
});
