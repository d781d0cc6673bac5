// docs/sso.md: redirect URIs are where authorization codes go, so registration only takes ones that say
// plainly where that is. `https://intranet.example.com@evil.example.net/cb` reads as the intranet but sends
// the browser (and the code) to evil.example.net: a URI with user information (RFC 3986 §3.2.1, deprecated
// for http/https by RFC 9110 §4.2.4) is refused like a fragment.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { as, createClient } from '../helpers/foundation.ts';

const backend = backendNames()[0]!;
describe(`SSO redirect URIs with user information [${backend}]`, () => {
  const t = useTestApp(backend, { env: { WAJAH_MASTER_KEY: 'a'.repeat(64) } });

  test('registration refuses user:password@ in redirect_uris and post_logout_redirect_uris', async () => {
    const { app } = t();
    const c = await createClient(app, { tier: 'enterprise' });
    const register = (body: Record<string, unknown>) => as(app, c, { method: 'POST', url: '/api/sso/clients/', payload: { name: 'RP', redirect_uris: ['https://rp.example.com/cb'], ...body } });
    for (const uri of ['https://intranet.example.com@evil.example.net/cb', 'https://user:pass@rp.example.com/cb', 'http://localhost@evil.example.net/cb', 'https://:x@rp.example.com/cb']) {
      const res = await register({ redirect_uris: ['https://rp.example.com/cb', uri] });
      assert.equal(res.statusCode, 400, `${uri}: ${res.body}`);
      assert.equal(res.json().code, 'VALIDATION_ERROR');
      assert.equal(res.json().details.field, 'redirect_uris.1');
      const logout = await register({ post_logout_redirect_uris: [uri] });
      assert.equal(logout.statusCode, 400, `${uri}: ${logout.body}`);
      assert.equal(logout.json().details.field, 'post_logout_redirect_uris.0');
    }
    assert.equal((await register({})).statusCode, 201);
  });
});
