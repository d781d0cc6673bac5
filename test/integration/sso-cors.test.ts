// The OpenID Provider answers cross-origin requests only from its relying parties' own web origins. A native
// app's redirect URI (com.example.app:/cb) has the origin "null", and so does any sandboxed iframe or
// data: page: `Origin: null` passed the check for such an application's token endpoint.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { as, createClient } from '../helpers/foundation.ts';

const backend = backendNames()[0]!;
describe(`SSO cross-origin requests [${backend}]`, () => {
  const t = useTestApp(backend, { env: { WAJAH_MASTER_KEY: 'a'.repeat(64) } });

  test('only a web redirect URI origin is allowed; Origin: null never is', async () => {
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
    const web = await token('https://rp.example.com');
    assert.equal(web.headers['access-control-allow-origin'], 'https://rp.example.com', JSON.stringify(web.headers));
    for (const origin of ['null', 'https://evil.example.com']) {
      const res = await token(origin);
      assert.equal(res.headers['access-control-allow-origin'], undefined, `${origin}: ${JSON.stringify(res.headers)}`);
    }
  });
});
