import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, test } from 'node:test';
import { useTestApp } from '../helpers/app.ts';
import { backendNames } from '../helpers/backends.ts';
import { as, createClient } from '../helpers/foundation.ts';

// docs/sso.md: authorization codes are single-use. The provider checks `consumed` on the copy it read, and
// the adapter's consume() was a plain UPDATE that reported nothing: token requests with one code that arrived
// together each read it unconsumed and each got tokens (RFC 6749 4.1.2: a code used twice is refused, and the
// tokens issued for it are revoked). The code is made with the provider's own models, as a finished face
// sign-in makes it (sso-login.service.ts), so no face is needed.
for (const backend of backendNames()) describe(`SSO authorization code used at once [${backend}]`, () => {
  const t = useTestApp(backend, { env: { WAJAH_MASTER_KEY: 'a'.repeat(64) } });

  test('two concurrent token requests with one code: at most one gets tokens', async () => {
    const { app, container } = t();
    const c = await createClient(app, { tier: 'enterprise' });
    const user = await as(app, c, { method: 'POST', url: '/api/clients/users/', payload: { external_id: 'EMP001', name: 'Emp' } });
    assert.equal(user.statusCode, 201, user.body);
    const userId = user.json().id as string;
    const redirectUri = 'https://rp.example.com/cb';
    const rp = await as(app, c, { method: 'POST', url: '/api/sso/clients/', payload: { name: 'RP', redirect_uris: [redirectUri], token_endpoint_auth_method: 'none' } });
    assert.equal(rp.statusCode, 201, rp.body);
    const clientId = rp.json().client_id as string;

    // What the provider stores when a face sign-in finishes (sso-login.service.ts #finish → interactionResult → code).
    const provider = container.sso.provider;
    const client = await provider.Client.find(clientId);
    assert.ok(client);
    const grant = new provider.Grant({ accountId: userId, clientId });
    grant.addOIDCScope('openid');
    const grantId = await grant.save();
    const verifier = crypto.randomBytes(32).toString('base64url');
    const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
    const code = await new provider.AuthorizationCode({
      client,
      accountId: userId,
      grantId,
      scope: 'openid',
      redirectUri,
      codeChallenge: challenge,
      codeChallengeMethod: 'S256',
      authTime: Math.floor(Date.now() / 1000),
      expiresWithSession: false,
      gty: 'authorization_code',
    }).save();

    const exchange = () =>
      app.inject({
        method: 'POST',
        url: '/oidc/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: clientId, code_verifier: verifier }).toString(),
      });
    const answers = await Promise.all([exchange(), exchange(), exchange(), exchange()]);
    const ok = answers.filter((r) => r.statusCode === 200);
    assert.ok(ok.length >= 1, answers.map((r) => `${r.statusCode} ${r.body.slice(0, 120)}`).join(' | '));
    assert.equal(ok.length, 1, `one code redeemed ${ok.length} times: ${answers.map((r) => r.statusCode).join(',')}`);
    for (const r of answers.filter((a) => a.statusCode !== 200)) assert.equal(r.json().error, 'invalid_grant', r.body);
    // The replay revoked what the code had given: its access token no longer opens userinfo.
    const me = await app.inject({ method: 'GET', url: '/oidc/me', headers: { authorization: `Bearer ${ok[0].json().access_token}` } });
    assert.equal(me.statusCode, 401, me.body);
  });
});
