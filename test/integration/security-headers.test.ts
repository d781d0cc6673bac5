// Browser security headers (src/api/security-headers.ts). The attacks: a page of another site frames the
// console or the camera page and tricks a signed-in operator into clicks (clickjacking), or a response is
// sniffed into HTML; an injected <script> runs. Each assertion fails without the headers.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, test } from 'node:test';
import { useTestApp } from '../helpers/app.ts';
import { createTenant } from '../helpers/face-fixtures.ts';

const HOST = 'localhost:8000';
const REDIRECT = 'https://rp.example.com/callback';

/** The CSP as a map of directive → values. */
function csp(header: unknown): Map<string, string[]> {
  assert.equal(typeof header, 'string', 'a Content-Security-Policy header');
  return new Map(
    String(header)
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...values]) => [name, values]),
  );
}

describe('security headers [pglite]', () => {
  const t = useTestApp('pglite');

  test('pages and API answers cannot be framed, sniffed or made to run inline script', async () => {
    const { app } = t();
    for (const url of ['/app/', '/app/console/', '/app/camera/', '/app/streaming/', '/app/assets/style.css', '/api/docs/', '/api/v1/status', '/app/nope.html']) {
      const res = await app.inject({ method: 'GET', url });
      assert.ok(res.statusCode < 500, `${url}: ${res.statusCode}`);
      assert.equal(res.headers['x-frame-options'], 'DENY', url);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', url);
      const policy = csp(res.headers['content-security-policy']);
      assert.deepEqual(policy.get('frame-ancestors'), ["'none'"], url);
      assert.deepEqual(policy.get('script-src'), ["'self'"], `${url}: no inline or remote script`);
      assert.deepEqual(policy.get('object-src'), ["'none'"], url);
      assert.deepEqual(policy.get('base-uri'), ["'none'"], url);
      assert.ok(!policy.has('upgrade-insecure-requests'), `${url}: a plain-HTTP deployment keeps its own pages`);
      assert.equal(res.headers['strict-transport-security'], undefined, 'HSTS is the TLS proxy\'s decision');
    }
  });

  test("the OpenID Provider's form_post answer keeps its one inline script (by hash) and may post to the relying party", async () => {
    const { app } = t();
    const tenant = await createTenant(app, 'Headers');
    const rp = await app.inject({
      method: 'POST',
      url: '/api/sso/clients/',
      headers: { authorization: tenant.auth, 'content-type': 'application/json' },
      payload: { name: 'Intranet', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' },
    });
    assert.equal(rp.statusCode, 201, rp.body);
    // prompt=none without a sign-in: the provider answers login_required through the chosen response mode.
    const q = new URLSearchParams({
      client_id: rp.json().client_id,
      redirect_uri: REDIRECT,
      response_type: 'code',
      response_mode: 'form_post',
      scope: 'openid',
      state: 'st',
      prompt: 'none',
      code_challenge: crypto.createHash('sha256').update('v'.repeat(43)).digest('base64url'),
      code_challenge_method: 'S256',
    });
    const res = await app.inject({ method: 'GET', url: `/oidc/auth?${q}`, headers: { host: HOST } });
    assert.equal(res.statusCode, 400, res.body); // the error page, posted to the relying party
    assert.match(res.body, new RegExp(`<form method="post" action="${REDIRECT}"`));
    const script = /<script>([\s\S]*?)<\/script>/.exec(res.body)![1];
    const policy = csp(res.headers['content-security-policy']);
    assert.ok(policy.get('script-src')!.includes(`'sha256-${crypto.createHash('sha256').update(script).digest('base64')}'`), 'the auto-submit script is allowed by its hash');
    assert.ok(!policy.has('form-action'), 'the form goes to the relying party');
    assert.deepEqual(policy.get('frame-ancestors'), ["'none'"]);
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.equal(res.headers['cross-origin-opener-policy'], undefined, 'a pop-up sign-in keeps its opener');
    // The provider's error page is not framable either.
    const error = await app.inject({ method: 'GET', url: '/oidc/auth?client_id=nobody', headers: { host: HOST } });
    assert.equal(error.statusCode, 400, error.body);
    assert.deepEqual(csp(error.headers['content-security-policy']).get('frame-ancestors'), ["'none'"]);
  });
});
