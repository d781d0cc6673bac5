// docs/sso.md: a refused login_hint is audited (`sso.login.denied`, details.login_hint). Anyone can open a
// sign-in with a registered client_id and any hint, and the hint went into the tenant's audit log whole: a
// 30,000-character hint wrote 30 KB of the caller's text per request. An external id has at most 255
// characters (docs/foundation.md), so a longer hint names nobody: it is refused without a lookup and audited
// cut to 255 characters, with its length.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useTestApp } from '../helpers/app.ts';
import { as, createClient } from '../helpers/foundation.ts';
import { Browser, authorizeUrl } from '../helpers/sso-browser.ts';

describe('SSO: a refused login_hint in the audit log [pglite]', () => {
  const t = useTestApp('pglite', { env: { WAJAH_MASTER_KEY: 'a'.repeat(64) } });

  test('an overlong hint is refused (access_denied) and audited at most 255 characters long', async () => {
    const { app, container } = t();
    const c = await createClient(app, { tier: 'enterprise' });
    const redirectUri = 'https://rp.example.com/cb';
    const rp = await as(app, c, { method: 'POST', url: '/api/sso/clients/', payload: { name: 'RP', redirect_uris: [redirectUri], token_endpoint_auth_method: 'none' } });
    assert.equal(rp.statusCode, 201, rp.body);
    const signIn = async (hint: string) => {
      const br = new Browser(app);
      const auth = await br.request('GET', authorizeUrl(rp.json().client_id, { redirectUri, scope: 'openid', state: 'st', loginHint: hint, challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM' }));
      assert.equal(auth.statusCode, 303, auth.body);
      return { br, page: await br.request('GET', String(auth.headers.location)), location: String(auth.headers.location) };
    };
    const long = await signIn('X'.repeat(30_000));
    assert.equal(long.page.statusCode, 303, 'no sign-in page for a hint longer than any external id');
    const back = await long.br.request('GET', new URL(String(long.page.headers.location)).pathname);
    assert.equal(new URL(String(back.headers.location)).searchParams.get('error'), 'access_denied');
    // A hint of a normal length that names nobody gets the sign-in page like a real user's
    // (sso-login-hint-enumeration.test.ts); cancelled, its denial is audited with the hint.
    const nobody = await signIn('NOBODY');
    assert.equal(nobody.page.statusCode, 200);
    assert.equal((await nobody.br.request('POST', `${nobody.location}/cancel`)).statusCode, 200);
    await container.foundation.audit.flush();
    const rows = await container.database.db.selectFrom('audit_logs').select(['details']).where('client_id', '=', c.client_id).where('action', '=', 'sso.login.denied').orderBy('created_at').execute();
    assert.equal(rows.length, 2);
    const [longRow, short] = rows.map((r) => (typeof r.details === 'string' ? JSON.parse(r.details) : r.details) as { login_hint: string; login_hint_length?: number });
    assert.ok(longRow.login_hint.length <= 255, `audited hint of ${longRow.login_hint.length} characters`);
    assert.equal(longRow.login_hint_length, 30_000);
    assert.ok(JSON.stringify(longRow).length < 1000, `audit details of ${JSON.stringify(longRow).length} characters`);
    assert.equal(short.login_hint, 'NOBODY', 'a hint of a normal length is audited as it was sent');
  });
});
