// An application with a native app's redirect URI (com.example.app:/callback): its sign-in starts (the
// provider refused it as a web client), and cross-origin requests are answered only for the web origins
// of its redirect URIs. The custom scheme's origin is the opaque "null", which any sandboxed iframe or
// data: page also sends: `Origin: null` must never pass.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { as, createClient } from '../helpers/foundation.ts';

const backend = backendNames()[0]!;
describe(`SSO cross-origin requests [${backend}]`, () => {
  const t = useTestApp(backend, { env: { WAJAH_MASTER_KEY: 'a'.repeat(64) } });

  test('a native application signs in; only a web redirect URI origin is allowed cross-origin, Origin: null never', async () => {
    const { app } = t();
    const c = await createClient(app, { tier: 'enterprise' });
    const rp = await as(app, c, {
      method: 'POST',
      url: '/api/sso/clients/',
      payload: { name: 'App', redirect_uris: ['com.example.app:/callback', 'https://rp.example.com/cb'], token_endpoint_auth_method: 'none' },
    });
    assert.equal(rp.statusCode, 201, rp.body);
    const token = (origin: string) =>
      app.inject({
        method: 'POST',
        url: '/oidc/token',
        headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ grant_type: 'authorization_code', code: 'not-a-code', redirect_uri: 'https://rp.example.com/cb', client_id: rp.json().client_id, code_verifier: 'x'.repeat(43) }).toString(),
      });
    // A native app's sign-in starts (its client was refused as a web client with a custom-scheme redirect URI).
    const start = await app.inject({
      method: 'GET',
      url: `/oidc/auth?${new URLSearchParams({ client_id: rp.json().client_id, redirect_uri: 'com.example.app:/callback', response_type: 'code', scope: 'openid', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' })}`,
    });
    assert.equal(start.statusCode, 303, start.body);
    assert.match(String(start.headers.location), /\/oidc\/interaction\//);
    const web = await token('https://rp.example.com');
    assert.equal(web.headers['access-control-allow-origin'], 'https://rp.example.com', JSON.stringify(web.headers));
    for (const origin of ['null', 'https://evil.example.com']) {
      const res = await token(origin);
      assert.equal(res.headers["access-control-allow-origin"], undefined, `${origin}: ${res.body}`);
    }
  });
});
