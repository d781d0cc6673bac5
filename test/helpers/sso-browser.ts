// The browser side of an SSO (OpenID Connect) sign-in over `app.inject`, shared by the sso*.test.ts files.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { multipart } from './face-fixtures.ts';

/** The host the provider's issuer is configured for in the tests (`http://localhost:8000/oidc`). */
export const HOST = 'localhost:8000';
/** The redirect URI `authorizeUrl` asks for unless told otherwise. */
export const REDIRECT = 'https://rp.example.com/callback';

/**
 * A browser holding a cookie jar (names are unique across the provider's paths): each request sends the
 * jar's cookies and stores the Set-Cookie answers, dropping a cookie that is cleared or expired. A URL may
 * be absolute (a provider's Location): only its path and query are sent, with `host` (default
 * `localhost:8000`).
 *
 * @example
 * const br = new Browser(app); // another host: new Browser(app, { host: 'sso.example.com' })
 * const auth = await br.request('GET', authorizeUrl(rpId, { challenge: pkce().challenge, state: 'st', loginHint: 'AOC' }));
 * const page = String(auth.headers.location); // http://localhost:8000/oidc/interaction/<uid>
 * await br.request('GET', page);
 * await br.request('POST', `${page}/start`);
 * const answer = await br.frame(page.split('/').pop()!, jpeg);
 */
export class Browser {
  readonly cookies = new Map<string, string>();
  private readonly app: FastifyInstance;
  private readonly host: string;
  constructor(app: FastifyInstance, options: { host?: string } = {}) {
    this.app = app;
    this.host = options.host ?? HOST;
  }

  async request(method: 'GET' | 'POST', url: string, body?: { payload: Buffer; headers: Record<string, string> }): Promise<LightMyRequestResponse> {
    const u = new URL(url, `http://${this.host}`);
    const res = await this.app.inject({
      method,
      url: u.pathname + u.search,
      headers: { host: this.host, cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '), ...(body?.headers ?? {}) },
      ...(body ? { payload: body.payload } : {}),
    });
    const set = res.headers['set-cookie'];
    for (const c of Array.isArray(set) ? set : set ? [set] : []) {
      const [pair, ...attrs] = c.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const expired = attrs.some((a) => /expires=thu, 01 jan 1970/i.test(a.trim()) || /^max-age=0$/i.test(a.trim()));
      if (expired || !value) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  /** One camera frame of the sign-in page `uid`. */
  async frame(uid: string, bytes: Buffer) {
    return this.request('POST', `/oidc/interaction/${uid}/frame`, await multipart([{ name: 'frame', value: bytes }]));
  }
}

/** A PKCE pair: a random verifier and its S256 challenge. */
export const pkce = () => {
  const verifier = crypto.randomBytes(32).toString('base64url');
  return { verifier, challenge: crypto.createHash('sha256').update(verifier).digest('base64url') };
};

/** The authorization request of a code flow with PKCE (S256); state, nonce and login_hint only when given. */
export function authorizeUrl(clientId: string, p: { challenge: string; state?: string; nonce?: string; loginHint?: string; redirectUri?: string; scope?: string }) {
  const q = new URLSearchParams({
    client_id: clientId,
    redirect_uri: p.redirectUri ?? REDIRECT,
    response_type: 'code',
    scope: p.scope ?? 'openid profile email',
    ...(p.state !== undefined ? { state: p.state } : {}),
    ...(p.nonce !== undefined ? { nonce: p.nonce } : {}),
    code_challenge: p.challenge,
    code_challenge_method: 'S256',
    ...(p.loginHint ? { login_hint: p.loginHint } : {}),
  });
  return `/oidc/auth?${q}`;
}

/**
 * Follows redirects from `url` (the provider's and the interaction page's) until the browser leaves the
 * provider for the RP, at most `maxRedirects` of them; each must be a 302 or 303.
 * @example const rp = await followToRp(browser, String(res.headers.location)); rp.searchParams.get('code')
 */
export async function followToRp(b: Browser, url: string, maxRedirects = 8): Promise<URL> {
  let next = url;
  for (let i = 0; i < maxRedirects; i++) {
    const u = new URL(next, `http://${HOST}`);
    if (u.origin !== `http://${HOST}`) return u;
    const res = await b.request('GET', next);
    assert.ok([302, 303].includes(res.statusCode), `${next}: ${res.statusCode} ${res.body.slice(0, 300)}`);
    next = String(res.headers.location);
  }
  throw new Error('too many redirects');
}
