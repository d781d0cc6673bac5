import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, postForm, type Tenant } from '../helpers/face-fixtures.ts';
import { Browser, HOST, REDIRECT, authorizeUrl, followToRp, pkce } from '../helpers/sso-browser.ts';
import { testDataDir } from '../../src/config/env.ts';
import { readMjpegFrames } from '../../src/vision/mjpeg.ts';
import { createProvider } from '../../src/sso/provider.ts';
import { SecretBox } from '../../src/sso/secret-box.ts';
import type { DB } from '../../src/db/database.ts';

/**
 * The SSO tables at rest (docs/sso.md, "At rest"): after real sign-ins, no access token, refresh token,
 * authorization code or session cookie value is readable in any row (id, uid, grant id, payload) of
 * oidc_payloads, sso_logins, sso_keys or sso_clients, while the flows still work (code exchange, /oidc/me,
 * refresh, a second sign-in through the SSO session, one-time codes, logout).
 */
const headturn = readMjpegFrames(path.join(testDataDir(), 'video/fakecam', 'personA_live_headturn_640x360_15fps.mjpeg'));
const signInFrames = headturn.filter((_, i) => i > 0 && i % 2 === 0);
const LOGOUT = 'https://rp.example.com/logged-out';
const SSO_TABLES = ['oidc_payloads', 'sso_logins', 'sso_keys', 'sso_clients'] as const;

type AnyDb = { selectFrom(t: string): { selectAll(): { execute(): Promise<Record<string, unknown>[]> } } };
const anyDb = (db: DB) => db as unknown as AnyDb;

/** Every row of the SSO tables as text; bytes as latin1, so a plaintext value inside a bytea shows too. */
async function dumpSsoTables(db: DB): Promise<Record<string, Array<{ row: Record<string, unknown>; text: string }>>> {
  const out: Record<string, Array<{ row: Record<string, unknown>; text: string }>> = {};
  for (const table of SSO_TABLES) {
    const rows = await anyDb(db).selectFrom(table).selectAll().execute();
    out[table] = rows.map((row) => ({
      row,
      text: JSON.stringify(row, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString('latin1') : v)),
    }));
  }
  return out;
}

async function registerRp(app: FastifyInstance, tenant: Tenant) {
  const res = await app.inject({
    method: 'POST',
    url: '/api/sso/clients/',
    headers: { authorization: tenant.auth, 'content-type': 'application/json' },
    payload: { name: 'Intranet', redirect_uris: [REDIRECT], post_logout_redirect_uris: [LOGOUT], liveness_challenges: ['head_movement'], max_attempts: 1 },
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json() as { client_id: string; client_secret: string };
}


/** The values of the OP session cookie (`_session`, and its signature) the browser holds now. */
const sessionCookies = (b: Browser) => [...b.cookies].filter(([k]) => k.startsWith('_session')).map(([, v]) => v);

for (const backend of backendNames()) {
  describe(`SSO tables hold no usable bearer value [${backend}]`, () => {
    const t = useTestApp(backend, { engine: backend === 'pglite', env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });

    if (backend === 'pglite') {
      test('sign-in, code exchange, /oidc/me, refresh, SSO-session sign-in, one-time code, logout: nothing readable at rest', async () => {
        const { app, container } = t();
        const db = container.database.db;
        const tenant = await createTenant(app, 'SSO at rest');
        const aocId = await createUser(app, tenant, 'AOC', 'Person A');
        const enrolled = await postForm(app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: 'AOC' }, { name: 'image', value: headturn[0]! }, { name: 'quality_threshold', value: '0.3' }]);
        assert.equal(enrolled.statusCode, 201, enrolled.body);
        const rp = await registerRp(app, tenant);
        const basic = `Basic ${Buffer.from(`${encodeURIComponent(rp.client_id)}:${encodeURIComponent(rp.client_secret)}`).toString('base64')}`;
        const token = (params: Record<string, string>) =>
          app.inject({ method: 'POST', url: '/oidc/token', headers: { host: HOST, authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(params).toString() });
        const me = (accessToken: string) => app.inject({ method: 'GET', url: '/oidc/me', headers: { host: HOST, authorization: `Bearer ${accessToken}` } });
        const secrets = new Map<string, string>();
        const remember = (what: string, value: string | null | undefined) => {
          assert.ok(value && value.length >= 16, `${what}: ${value}`);
          secrets.set(value, what);
        };
        const assertNothingReadable = async (when: string) => {
          const dump = await dumpSsoTables(db);
          for (const [table, rows] of Object.entries(dump)) {
            for (const { text } of rows) {
              for (const [value, what] of secrets) assert.ok(!text.includes(value), `${when}: the ${what} is readable in ${table}: ${text.slice(0, 400)}`);
            }
          }
          for (const [table, rows] of Object.entries(dump)) {
            for (const { row } of rows) {
              if (table === 'oidc_payloads') {
                const payload = (typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload) as Record<string, unknown>;
                assert.deepEqual(Object.keys(payload).sort(), ['sealed', 'v'], `${when}: ${String(row.model)} payload is sealed`);
                assert.match(String(row.id), /^[A-Za-z0-9_-]{43}$/, `${when}: ${String(row.model)} id is a keyed hash`);
              }
            }
          }
          return dump;
        };

        // 1. A face sign-in asking for a refresh token (offline_access needs prompt=consent).
        const br = new Browser(app);
        const p1 = pkce();
        const auth = await br.request('GET', `${authorizeUrl(rp.client_id, { challenge: p1.challenge, state: 'st1', nonce: 'n1', loginHint: 'AOC', scope: 'openid profile offline_access' })}&prompt=consent`);
        assert.equal(auth.statusCode, 303, auth.body);
        const uid = /interaction\/([^/?]+)/.exec(String(auth.headers.location))![1]!;
        remember('interaction uid', uid);
        assert.equal((await br.request('GET', String(auth.headers.location))).statusCode, 200);
        assert.equal((await br.request('POST', `/oidc/interaction/${uid}/start`)).statusCode, 200);
        let done: Record<string, string> = {};
        for (const f of signInFrames) {
          const res = await br.frame(uid, f);
          assert.equal(res.statusCode, 200, res.body);
          done = res.json();
          if (done.status !== 'processing') break;
        }
        assert.equal(done.status, 'completed', JSON.stringify(done));
        const cb1 = await followToRp(br, done.redirect_to!);
        const code1 = cb1.searchParams.get('code')!;
        remember('authorization code', code1);
        for (const v of sessionCookies(br)) remember('session cookie', v);
        assert.ok(sessionCookies(br).length > 0, `an OP session cookie was set: ${[...br.cookies.keys()].join(', ')}`);
        await assertNothingReadable('code issued');

        // 2. Code exchange, userinfo, refresh.
        const tok1 = await token({ grant_type: 'authorization_code', code: code1, redirect_uri: REDIRECT, code_verifier: p1.verifier });
        assert.equal(tok1.statusCode, 200, tok1.body);
        const { access_token: at1, refresh_token: rt1, id_token: idToken } = tok1.json() as Record<string, string>;
        remember('access token', at1);
        remember('refresh token', rt1);
        assert.equal((await me(at1!)).json().sub, aocId);
        const refreshed = await token({ grant_type: 'refresh_token', refresh_token: rt1! });
        assert.equal(refreshed.statusCode, 200, refreshed.body);
        const at2 = (refreshed.json() as Record<string, string>).access_token!;
        remember('refreshed access token', at2);
        const rt2 = (refreshed.json() as Record<string, string>).refresh_token;
        if (rt2) remember('rotated refresh token', rt2);
        assert.equal((await me(at2)).json().sub, aocId);

        // 3. A second sign-in of the same browser goes through the SSO session (found by its cookie) and its
        //    code is tied to the session (found by its uid at the exchange).
        const p2 = pkce();
        const again = await followToRp(br, authorizeUrl(rp.client_id, { challenge: p2.challenge, state: 'st2', nonce: 'n2', scope: 'openid' }));
        const code2 = again.searchParams.get('code');
        assert.ok(code2, `signed in again without a face: ${again.href}`);
        remember('second authorization code', code2);
        const tok2 = await token({ grant_type: 'authorization_code', code: code2!, redirect_uri: REDIRECT, code_verifier: p2.verifier });
        assert.equal(tok2.statusCode, 200, tok2.body);
        const at3 = (tok2.json() as Record<string, string>).access_token!;
        remember('access token of the second sign-in', at3);
        assert.equal((await me(at3)).json().sub, aocId);

        const dump = await assertNothingReadable('after exchange, refresh and a second sign-in');
        const models = new Set(dump.oidc_payloads!.map((r) => String(r.row.model)));
        for (const m of ['Session', 'Grant', 'AccessToken', 'RefreshToken', 'AuthorizationCode']) assert.ok(models.has(m), `${m} rows were stored (and checked): ${[...models].join(', ')}`);

        // 4. A code is used once: replayed, it is refused and the grant's tokens are revoked.
        const replay = await token({ grant_type: 'authorization_code', code: code1, redirect_uri: REDIRECT, code_verifier: p1.verifier });
        assert.equal(replay.statusCode, 400, replay.body);
        assert.equal(replay.json().error, 'invalid_grant');
        assert.equal((await me(at2)).statusCode, 401, 'tokens of the replayed code\'s grant are revoked');
        assert.equal((await token({ grant_type: 'refresh_token', refresh_token: rt2 ?? rt1! })).statusCode, 400);

        // 5. Logout ends the OP session: its row is gone and the next sign-in asks for the face again.
        const end = await br.request('GET', `/oidc/session/end?${new URLSearchParams({ id_token_hint: idToken!, post_logout_redirect_uri: LOGOUT, client_id: rp.client_id })}`);
        assert.equal(end.statusCode, 200, end.body);
        const action = /action="([^"]+)"/.exec(end.body)?.[1];
        const xsrf = /name="xsrf" value="([^"]+)"/.exec(end.body)?.[1];
        assert.ok(action && xsrf, end.body);
        const confirmed = await br.request('POST', action!.replace(/&amp;/g, '&'), { payload: Buffer.from(new URLSearchParams({ xsrf: xsrf!, logout: 'yes' }).toString()), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
        assert.equal(confirmed.statusCode, 303, confirmed.body);
        assert.ok(String(confirmed.headers.location).startsWith(LOGOUT), String(confirmed.headers.location));
        const sessions = await db.withTables<{ oidc_payloads: { model: string } }>().selectFrom('oidc_payloads').select('model').where('model', '=', 'Session').execute();
        assert.equal(sessions.length, 0, 'the OP session row is deleted at logout');
        const after = await br.request('GET', authorizeUrl(rp.client_id, { challenge: pkce().challenge, state: 'st3', scope: 'openid' }));
        assert.equal(after.statusCode, 303);
        assert.match(String(after.headers.location), /\/oidc\/interaction\//, 'signed out: the face is asked again');
        await assertNothingReadable('after logout');
      });
    }

    test('rows an earlier version stored in the clear are deleted when the provider starts (sign-ins they held end)', async () => {
      const { container } = t();
      const db = container.database.db;
      const legacy = db.withTables<{ oidc_payloads: { model: string; id: string; payload: string; expires_at: Date | null } }>();
      const token = 'lXA1VRYrdQxglklOjHTxQM1VGfQtlU8kpok3-5-5h-G';
      await legacy.insertInto('oidc_payloads').values({ model: 'AccessToken', id: token, payload: JSON.stringify({ jti: token, kind: 'AccessToken' }), expires_at: new Date(Date.now() + 3600_000) }).execute();
      await createProvider({ issuer: `http://${HOST}/oidc`, db, box: new SecretBox(container.masterKey()), proxy: true, log: { error: () => {} } });
      const left = await legacy.selectFrom('oidc_payloads').select(['model', 'id', 'payload']).execute();
      assert.ok(!JSON.stringify(left).includes(token), `the clear-text row is gone: ${JSON.stringify(left)}`);
    });
  });
}
