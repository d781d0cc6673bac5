import fs from 'node:fs';
import { panZoom, rollStill } from '../../scripts/lib/attacks.ts';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { backendNames } from '../helpers/backends.ts';
import { ADMIN_TOKEN, useTestApp } from '../helpers/app.ts';
import { loadConfig } from '../../src/config/env.ts';
import { createContainer } from '../../src/container.ts';
import { buildApp } from '../../src/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, postForm, type Tenant } from '../helpers/face-fixtures.ts';
import { Browser, HOST, REDIRECT, authorizeUrl, followToRp, pkce } from '../helpers/sso-browser.ts';
import { testDataDir } from '../../src/config/env.ts';
import { readMjpegFrames } from '../../src/vision/mjpeg.ts';
import { loadProviderKeys } from '../../src/sso/provider.ts';
import { OidcStorage } from '../../src/sso/oidc-storage.ts';
import { SecretBox } from '../../src/sso/secret-box.ts';
import type { Container } from '../../src/container.ts';

/** The stored key of an interaction's uid: its rows are keyed by a keyed hash of it (docs/sso.md, "At rest"). */
async function storedUid(container: Container, uid: string): Promise<string> {
  const { storageSecret } = await loadProviderKeys(container.database.db, new SecretBox(container.masterKey()));
  return new OidcStorage(storageSecret).lookup(uid);
}

const video = (name: string) => readMjpegFrames(path.join(testDataDir(), 'video/fakecam', name));
const ISSUER = 'http://localhost:8000/oidc';

async function registerRp(app: FastifyInstance, tenant: Tenant, body: Record<string, unknown> = {}) {
  const res = await app.inject({
    method: 'POST',
    url: '/api/sso/clients/',
    headers: { authorization: tenant.auth, 'content-type': 'application/json' },
    payload: { name: 'Intranet', redirect_uris: [REDIRECT], ...body },
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json() as { client_id: string; client_secret: string; issuer: string };
}

/** GET /oidc/auth and follow to the interaction page; returns its uid (or the final redirect when the provider answers directly). */
async function beginLogin(b: Browser, url: string) {
  const auth = await b.request('GET', url);
  assert.equal(auth.statusCode, 303, auth.body);
  const location = String(auth.headers.location);
  const m = /\/oidc\/interaction\/([^/?]+)$/.exec(new URL(location, `http://${HOST}`).pathname);
  assert.ok(m, `redirected to the interaction page, got ${location}`);
  const page = await b.request('GET', location);
  return { uid: m[1], page };
}


async function runFrames(b: Browser, uid: string, frames: Buffer[]) {
  let body: Record<string, any> = {};
  for (const f of frames) {
    const res = await b.frame(uid, f);
    assert.equal(res.statusCode, 200, res.body);
    body = res.json();
    // The page never learns names, matches or tokens while the face session runs.
    assert.ok(!('result' in body) && !('session_token' in body), JSON.stringify(body));
    if (body.status !== 'processing') break;
  }
  return body;
}

/**
 * A public RP of `tenant` (head movement, one attempt), a sign-in without login_hint (identification) run
 * with `frames`, and the code exchanged: the id_token's claims.
 */
async function identifySignIn(app: FastifyInstance, tenant: Tenant, frames: Buffer[]) {
  const rp = await registerRp(app, tenant, { liveness_challenges: ['head_movement'], max_attempts: 1, token_endpoint_auth_method: 'none' });
  const br = new Browser(app);
  const p = pkce();
  const { uid } = await beginLogin(br, authorizeUrl(rp.client_id, { challenge: p.challenge, state: 'st', nonce: 'nn', scope: 'openid' }));
  const s = (await br.request('POST', `/oidc/interaction/${uid}/start`)).json();
  assert.equal(s.mode, 'identification');
  const done = await runFrames(br, uid, frames);
  assert.equal(done.status, 'completed', JSON.stringify(done));
  const cb = await followToRp(br, done.redirect_to, 6);
  const tok = await app.inject({
    method: 'POST',
    url: '/oidc/token',
    headers: { host: HOST, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ grant_type: 'authorization_code', code: cb.searchParams.get('code')!, redirect_uri: REDIRECT, code_verifier: p.verifier, client_id: rp.client_id }).toString(),
  });
  assert.equal(tok.statusCode, 200, tok.body);
  const { payload } = await jwtVerify(tok.json().id_token, createLocalJWKSet((await app.inject({ method: 'GET', url: '/oidc/jwks', headers: { host: HOST } })).json()), { issuer: ISSUER, audience: rp.client_id });
  return payload;
}

if (backendNames().includes('pglite')) {
  describe('SSO: face sign-in through OpenID Connect [pglite]', () => {
    const t = useTestApp('pglite', { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
    const blink = video('talking_blink_aoc_512x512_25fps.mjpeg');
    const headturn = video('personA_live_headturn_640x360_15fps.mjpeg');
    // The sign-in face is person A turning their head (a 3-D action: blink alone is refused for SSO).
    const signInFrames = headturn.filter((_, i) => i > 0 && i % 2 === 0);
    let a: Tenant;
    let b: Tenant;
    let aocId: string;
    let personBId: string;

    test('setup: tenant A enrolls person A of the head-turn video as AOC, tenant B enrolls the talking-head face as PERSON_B', async () => {
      const { app } = t();
      a = await createTenant(app, 'SSO A');
      b = await createTenant(app, 'SSO B');
      aocId = await createUser(app, a, 'AOC', 'Talking Blink');
      await app.inject({ method: 'PUT', url: '/api/clients/users/AOC/', headers: { authorization: a.auth, 'content-type': 'application/json' }, payload: { email: 'aoc@example.com' } });
      personBId = await createUser(app, b, 'PERSON_B', 'Person B');
      for (const [tenant, user, bytes] of [[a, 'AOC', headturn[0]], [b, 'PERSON_B', blink[0]]] as const) {
        const res = await postForm(app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: user }, { name: 'image', value: bytes }, { name: 'quality_threshold', value: '0.3' }]);
        assert.equal(res.statusCode, 201, res.body);
      }
    });

    test('an application whose sign-in would ask for blink alone is refused: a face sign-in needs a head movement', async () => {
      const { app } = t();
      for (const liveness_challenges of [['blink'], ['blink', 'smile']]) {
        const res = await app.inject({
          method: 'POST',
          url: '/api/sso/clients/',
          headers: { authorization: a.auth, 'content-type': 'application/json' },
          payload: { name: 'Weak RP', redirect_uris: [REDIRECT], liveness_challenges },
        });
        assert.equal(res.statusCode, 400, res.body);
        assert.equal(res.json().code, 'VALIDATION_ERROR');
        assert.match(res.json().message, /head_movement/);
      }
    });

    test('discovery advertises the configured issuer whatever Host or X-Forwarded-Host says', async () => {
      const { app } = t();
      for (const headers of [{ host: 'evil.example.com' }, { host: HOST, 'x-forwarded-host': 'evil.example.com', 'x-forwarded-proto': 'http' }]) {
        const d = (await app.inject({ method: 'GET', url: '/oidc/.well-known/openid-configuration', headers })).json();
        assert.equal(d.issuer, ISSUER);
        for (const k of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'userinfo_endpoint']) assert.ok(String(d[k]).startsWith(`${ISSUER}/`), `${k}: ${d[k]}`);
      }
    });

    test('discovery and JWKS are published under /oidc (public keys only)', async () => {
      const { app } = t();
      const res = await app.inject({ method: 'GET', url: '/oidc/.well-known/openid-configuration', headers: { host: HOST } });
      assert.equal(res.statusCode, 200, res.body);
      const d = res.json();
      assert.equal(d.issuer, ISSUER);
      assert.equal(d.authorization_endpoint, `${ISSUER}/auth`);
      assert.equal(d.token_endpoint, `${ISSUER}/token`);
      assert.equal(d.jwks_uri, `${ISSUER}/jwks`);
      assert.ok(d.code_challenge_methods_supported.includes('S256'));
      assert.ok(d.claims_supported.includes('external_id'));
      const jwks = (await app.inject({ method: 'GET', url: '/oidc/jwks', headers: { host: HOST } })).json();
      assert.equal(jwks.keys.length, 1);
      assert.equal(jwks.keys[0].kty, 'RSA');
      assert.equal(jwks.keys[0].d, undefined, 'never the private part');
    });

    test('RP registration: secret once and sealed, list/get without it, tenant-scoped, validated', async () => {
      const { app, container } = t();
      const rp = await registerRp(app, a, { name: 'Registry check' });
      assert.match(rp.client_id, /^wsso_/);
      assert.match(rp.client_secret, /^wssos_/);
      assert.equal(rp.issuer, ISSUER);
      const row = await container.database.db.withTables<{ sso_clients: { id: string; secret_ciphertext: Buffer } }>().selectFrom('sso_clients').select('secret_ciphertext').where('id', '=', rp.client_id).executeTakeFirstOrThrow();
      assert.ok(!Buffer.from(row.secret_ciphertext).includes(Buffer.from(rp.client_secret)), 'the secret is stored sealed');
      const list = await app.inject({ method: 'GET', url: '/api/sso/clients/', headers: { authorization: a.auth } });
      assert.equal(list.statusCode, 200);
      assert.ok(list.json().results.some((r: any) => r.client_id === rp.client_id));
      assert.ok(!list.body.includes(rp.client_secret));
      assert.equal((await app.inject({ method: 'GET', url: `/api/sso/clients/${rp.client_id}/`, headers: { authorization: a.auth } })).statusCode, 200);
      const foreign = await app.inject({ method: 'GET', url: `/api/sso/clients/${rp.client_id}/`, headers: { authorization: b.auth } });
      assert.equal(foreign.statusCode, 404);
      assert.equal(foreign.json().code, 'SSO_CLIENT_NOT_FOUND');
      assert.equal((await app.inject({ method: 'DELETE', url: `/api/sso/clients/${rp.client_id}/`, headers: { authorization: b.auth } })).statusCode, 404);
      const bad = await app.inject({ method: 'POST', url: '/api/sso/clients/', headers: { authorization: a.auth, 'content-type': 'application/json' }, payload: { name: 'x', redirect_uris: ['http://evil.example.com/cb'] } });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().details.field, 'redirect_uris.0');
      // Only https, loopback http and a native app's private-use scheme (reverse domain name, RFC 8252 §7.1)
      // receive codes: a file:, blob:, vbscript: or bare custom scheme is a place a code can leak to.
      const register = (uri: string) => app.inject({ method: 'POST', url: '/api/sso/clients/', headers: { authorization: a.auth, 'content-type': 'application/json' }, payload: { name: 'x', redirect_uris: [uri] } });
      for (const uri of ['vbscript:msgbox(1)', 'file:///etc/passwd', 'blob:https://rp.example.com/1', 'about:blank', 'ftp://rp.example.com/cb', 'myapp:/callback', 'JavaScript:alert(1)']) {
        const res = await register(uri);
        assert.equal(res.statusCode, 400, `${uri}: ${res.body}`);
        assert.equal(res.json().details.field, 'redirect_uris.0');
      }
      for (const uri of ['https://rp.example.com/cb', 'http://127.0.0.1:8080/cb', 'com.example.app:/oauth2redirect']) {
        const res = await register(uri);
        assert.equal(res.statusCode, 201, `${uri}: ${res.body}`);
        assert.equal((await app.inject({ method: 'DELETE', url: `/api/sso/clients/${res.json().client_id}/`, headers: { authorization: a.auth } })).statusCode, 204);
      }
      assert.equal((await app.inject({ method: 'GET', url: '/api/sso/clients/' })).statusCode, 401);
      const spec = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
      assert.ok(spec.paths['/api/v1/sso/clients/'] && spec.paths['/api/v1/sso/clients/{client_id}/']);
      // Deleted: its sign-ins stop at once.
      const del = await app.inject({ method: 'DELETE', url: `/api/sso/clients/${rp.client_id}/`, headers: { authorization: a.auth } });
      assert.equal(del.statusCode, 204, del.body);
      const p = pkce();
      const gone = await new Browser(app).request('GET', authorizeUrl(rp.client_id, { challenge: p.challenge, state: 's', nonce: 'n' }));
      assert.equal(gone.statusCode, 400);
      assert.match(gone.body, /invalid_client/);
    });

    test('full authorization-code + PKCE flow: face verification with liveness → code → tokens → id_token verified against the JWKS', async () => {
      const { app, container } = t();
      const rp = await registerRp(app, a, { liveness_challenges: ['head_movement'], max_attempts: 1 });
      const br = new Browser(app);
      const p = pkce();
      const state = crypto.randomBytes(8).toString('hex');
      const nonce = crypto.randomBytes(8).toString('hex');
      const { uid, page } = await beginLogin(br, authorizeUrl(rp.client_id, { challenge: p.challenge, state, nonce, loginHint: 'AOC' }));
      assert.equal(page.statusCode, 200);
      assert.match(String(page.headers['content-type']), /text\/html/);
      assert.equal(page.headers['x-frame-options'], 'DENY');
      assert.ok(!page.body.includes(a.auth.split(':')[1]), 'no tenant secret on the page');

      // Another browser (no interaction cookie) cannot drive this sign-in.
      const stranger = await new Browser(app).frame(uid, headturn[2]);
      assert.equal(stranger.statusCode, 404);
      assert.equal(stranger.json().code, 'SSO_INTERACTION_NOT_FOUND');

      const started = await br.request('POST', `/oidc/interaction/${uid}/start`);
      assert.equal(started.statusCode, 200, started.body);
      const s = started.json();
      assert.equal(s.status, 'active');
      assert.equal(s.mode, 'verification');
      assert.equal(s.liveness.current_challenge, 'head_movement');
      assert.ok(!('session_token' in s));

      const done = await runFrames(br, uid, signInFrames);
      assert.equal(done.status, 'completed', JSON.stringify(done));
      const cb = await followToRp(br, done.redirect_to, 6);
      assert.equal(cb.origin + cb.pathname, REDIRECT);
      assert.equal(cb.searchParams.get('state'), state);
      assert.equal(cb.searchParams.get('iss'), ISSUER);
      const code = cb.searchParams.get('code');
      assert.ok(code, cb.href);

      // Once the provider resumed, the interaction is gone: no more frames.
      const late = await br.frame(uid, headturn[3]);
      assert.equal(late.statusCode, 404);
      assert.equal(late.json().code, 'SSO_INTERACTION_NOT_FOUND');

      const tokenBody = (verifier: string) => new URLSearchParams({ grant_type: 'authorization_code', code: code!, redirect_uri: REDIRECT, code_verifier: verifier }).toString();
      const basic = `Basic ${Buffer.from(`${encodeURIComponent(rp.client_id)}:${encodeURIComponent(rp.client_secret)}`).toString('base64')}`;
      const wrongVerifier = await app.inject({ method: 'POST', url: '/oidc/token', headers: { host: HOST, authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, payload: tokenBody(pkce().verifier) });
      assert.equal(wrongVerifier.statusCode, 400);
      assert.equal(wrongVerifier.json().error, 'invalid_grant');

      // The code of a failed PKCE check is consumed? It is not: PKCE failure does not consume. Exchange with the right verifier.
      const tok = await app.inject({ method: 'POST', url: '/oidc/token', headers: { host: HOST, authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, payload: tokenBody(p.verifier) });
      assert.equal(tok.statusCode, 200, tok.body);
      const tokens = tok.json();
      assert.ok(tokens.id_token && tokens.access_token);

      const jwks = createLocalJWKSet((await app.inject({ method: 'GET', url: '/oidc/jwks', headers: { host: HOST } })).json());
      const { payload, protectedHeader } = await jwtVerify(tokens.id_token, jwks, { issuer: ISSUER, audience: rp.client_id });
      assert.equal(protectedHeader.alg, 'RS256');
      assert.equal(payload.sub, aocId, 'sub is the user uuid');
      assert.equal(payload.nonce, nonce);
      assert.equal(payload.external_id, 'AOC');
      assert.equal(payload.name, 'Talking Blink');
      assert.equal(payload.email, 'aoc@example.com');
      assert.deepEqual(payload.amr, ['face']);

      const ui = await app.inject({ method: 'GET', url: '/oidc/me', headers: { host: HOST, authorization: `Bearer ${tokens.access_token}` } });
      assert.equal(ui.statusCode, 200, ui.body);
      assert.equal(ui.json().sub, aocId);
      assert.equal(ui.json().external_id, 'AOC');

      // The same code again: refused (one-time).
      const replay = await app.inject({ method: 'POST', url: '/oidc/token', headers: { host: HOST, authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, payload: tokenBody(p.verifier) });
      assert.equal(replay.statusCode, 400);

      // Webhook events and audit, like face authentication, marked method sso.
      const db = container.database.db;
      const ev = await db.selectFrom('events').select(['event_type', 'payload']).where('client_id', '=', a.clientId).where('event_type', '=', 'authentication.success').execute();
      const sso = ev.map((e) => e.payload as Record<string, any>).filter((x) => x.method === 'sso');
      assert.equal(sso.length, 1);
      assert.equal(sso[0].user_id, 'AOC');
      await container.foundation.audit.flush();
      const audit = await db.selectFrom('audit_logs').select(['action', 'target']).where('client_id', '=', a.clientId).where('action', '=', 'sso.login.succeeded').execute();
      assert.equal(audit.length, 1);
      assert.equal(audit[0].target, aocId);
    });

    test('identification without login_hint signs the right user in', async () => {
      const payload = await identifySignIn(t().app, a, headturn.filter((_, i) => i > 0 && i % 2 === 1));
      assert.equal(payload.sub, aocId);
      assert.equal(payload.email, undefined, 'no email claim without the email scope');
    });

    test('the recognised external id is looked up as an external id: one equal to another user\'s uuid signs in its own user', async () => {
      // External ids are the tenant's (often from an HR system); one that happens to be another user's uuid
      // made the lookup find that other user, so AOC's face signed in as VICTIM.
      // The API refuses such an external id now (USER_EXISTS, users.test.ts): it is written as old data.
      const { app, container } = t();
      const victimId = await createUser(app, a, 'VICTIM', 'Victim');
      const rename = (to: string) => container.database.db.updateTable('users').set({ external_id: to }).where('id', '=', aocId).execute();
      const refused = await app.inject({ method: 'PUT', url: `/api/clients/users/${aocId}/`, headers: { authorization: a.auth, 'content-type': 'application/json' }, payload: { external_id: victimId } });
      assert.equal(refused.statusCode, 409, refused.body);
      await rename(victimId);
      try {
        const payload = await identifySignIn(app, a, headturn.filter((_, i) => i > 0 && i % 2 === 1));
        assert.equal(payload.sub, aocId, 'the face that was recognised, never the user whose uuid its external id spells');
      } finally {
        await rename('AOC');
      }
    });

    test('a different person (verification against tenant B\'s PERSON_B with the AOC video) ends in access_denied', async () => {
      const { app, container } = t();
      const rp = await registerRp(app, b, { liveness_challenges: ['head_movement'], max_attempts: 1 });
      const br = new Browser(app);
      const p = pkce();
      const { uid } = await beginLogin(br, authorizeUrl(rp.client_id, { challenge: p.challenge, state: 'st1', nonce: 'n1', loginHint: 'PERSON_B' }));
      assert.equal((await br.request('POST', `/oidc/interaction/${uid}/start`)).statusCode, 200);
      const done = await runFrames(br, uid, signInFrames);
      assert.equal(done.status, 'denied', JSON.stringify(done));
      const cb = await followToRp(br, done.redirect_to, 6);
      assert.equal(cb.searchParams.get('error'), 'access_denied');
      assert.equal(cb.searchParams.get('state'), 'st1');
      assert.equal(cb.searchParams.get('code'), null);
      const ev = await container.database.db.selectFrom('events').select('payload').where('client_id', '=', b.clientId).where('event_type', '=', 'authentication.failed').execute();
      const failed = ev.map((e) => e.payload as Record<string, any>).filter((x) => x.method === 'sso');
      assert.equal(failed.length, 1);
      assert.equal(failed[0].failure_reason, 'LOW_CONFIDENCE');
    });

    test('attacks on the face sign-in: a phone-screen replay of AOC and a panned/zoomed still never sign in', async () => {
      const { app } = t();
      const spoofDir = path.join(testDataDir(), 'antispoof/frames');
      const replay = fs.readdirSync(spoofDir).filter((f) => f.startsWith('personA_spoof_')).sort().map((f) => fs.readFileSync(path.join(spoofDir, f)));
      const attacks: Record<string, Buffer[]> = { 'phone replay': [...replay, ...replay, ...replay], 'pan/zoom still': await panZoom(headturn[40]!, 30) };
      for (const [name, frames] of Object.entries(attacks)) {
        const rp = await registerRp(app, a, { max_attempts: 1 });
        const br = new Browser(app);
        const p = pkce();
        const { uid } = await beginLogin(br, authorizeUrl(rp.client_id, { challenge: p.challenge, state: 'atk', nonce: 'atk', loginHint: 'AOC' }));
        assert.equal((await br.request('POST', `/oidc/interaction/${uid}/start`)).statusCode, 200);
        const body = await runFrames(br, uid, frames);
        assert.notEqual(body.status, 'completed', `${name}: ${JSON.stringify(body)}`);
        assert.ok(!('redirect_to' in body) || body.status === 'denied', `${name}: ${JSON.stringify(body)}`);
        if (body.status === 'denied') assert.equal((await followToRp(br, body.redirect_to, 6)).searchParams.get('error'), 'access_denied');
      }
    });

    test('attack on the face sign-in: a photo rolled until the face crosses the border (read by the mesh as a 25° turn) never signs in', async () => {
      const { app } = t();
      await createUser(app, a, 'BIDEN', 'Joe Biden');
      const enrolled = await postForm(app, '/api/auth/enrollment/direct/', a, [{ name: 'user_id', value: 'BIDEN' }, { name: 'image', value: fs.readFileSync(path.join(testDataDir(), 'faces_extra/face_recognition/biden/biden_02.jpg')) }, { name: 'quality_threshold', value: '0.3' }]);
      assert.equal(enrolled.statusCode, 201, enrolled.body);
      const frames = await rollStill(fs.readFileSync(path.join(testDataDir(), 'faces_extra/face_recognition/biden/biden_01.jpg')), 30, 25);
      const rp = await registerRp(app, a, { liveness_challenges: ['head_movement'], max_attempts: 1 });
      const br = new Browser(app);
      const p = pkce();
      const { uid } = await beginLogin(br, authorizeUrl(rp.client_id, { challenge: p.challenge, state: 'roll', nonce: 'roll', loginHint: 'BIDEN' }));
      assert.equal((await br.request('POST', `/oidc/interaction/${uid}/start`)).statusCode, 200);
      const body = await runFrames(br, uid, frames);
      assert.notEqual(body.status, 'completed', JSON.stringify(body));
      assert.ok(!('redirect_to' in body) || body.status === 'denied', JSON.stringify(body));
    });

    test('the page names the application (never the person); Cancel ends the sign-in with access_denied and returns to the application', async () => {
      const { app } = t();
      const rp = await registerRp(app, a, { name: 'Payroll' });
      const br = new Browser(app);
      const p = pkce();
      const { uid } = await beginLogin(br, authorizeUrl(rp.client_id, { challenge: p.challenge, state: 'cx', nonce: 'cx', loginHint: 'AOC' }));
      const started = await br.request('POST', `/oidc/interaction/${uid}/start`);
      assert.equal(started.statusCode, 200, started.body);
      assert.deepEqual(started.json().application, { name: 'Payroll' });
      assert.ok(!started.body.includes('Talking Blink'), 'the user name is not on the page');
      const cancelled = await br.request('POST', `/oidc/interaction/${uid}/cancel`);
      assert.equal(cancelled.statusCode, 200, cancelled.body);
      assert.equal(cancelled.json().status, 'denied');
      const cb = await followToRp(br, cancelled.json().redirect_to, 6);
      assert.equal(cb.searchParams.get('error'), 'access_denied');
      assert.equal(cb.searchParams.get('state'), 'cx');
      const late = await br.frame(uid, headturn[2]!);
      assert.ok([404, 409].includes(late.statusCode), `no frames after a cancel: ${late.statusCode}`);
    });

    test('a static repeated frame fails liveness; after max_attempts sessions: access_denied', async () => {
      const { app } = t();
      const rp = await registerRp(app, a, { liveness_challenges: ['head_movement'], max_attempts: 2 });
      const br = new Browser(app);
      const p = pkce();
      const { uid } = await beginLogin(br, authorizeUrl(rp.client_id, { challenge: p.challenge, state: 'st2', nonce: 'n2', loginHint: 'AOC' }));
      const s = (await br.request('POST', `/oidc/interaction/${uid}/start`)).json();
      assert.equal(s.attempts_remaining, 1);
      const still = Array.from({ length: 6 }, () => headturn[40]);
      const first = await runFrames(br, uid, still);
      assert.equal(first.status, 'retry', JSON.stringify(first));
      assert.equal(first.attempts_remaining, 1);
      assert.equal(first.liveness.current_challenge, 'head_movement');
      const second = await runFrames(br, uid, still);
      assert.equal(second.status, 'denied', JSON.stringify(second));
      // Decided: further frames (or a new session) are refused, whatever the page does.
      const more = await br.frame(uid, headturn[2]);
      assert.equal(more.statusCode, 409);
      assert.equal(more.json().code, 'SSO_LOGIN_FINISHED');
      assert.equal((await br.request('POST', `/oidc/interaction/${uid}/start`)).statusCode, 409);
      const cb = await followToRp(br, second.redirect_to, 6);
      assert.equal(cb.searchParams.get('error'), 'access_denied');
    });

    test('tenancy: an RP of tenant A cannot sign in tenant B\'s user (login_hint by external_id or uuid)', async () => {
      const { app, container } = t();
      const rp = await registerRp(app, a, { liveness_challenges: ['head_movement'] });
      for (const hint of ['PERSON_B', personBId]) {
        const br = new Browser(app);
        const p = pkce();
        const auth = await br.request('GET', authorizeUrl(rp.client_id, { challenge: p.challenge, state: 'st3', nonce: 'n3', loginHint: hint }));
        assert.equal(auth.statusCode, 303);
        // The same page as for any hint (a refusal here told which users exist, sso-login-hint-enumeration.test.ts),
        // but no face session of B's user: the sign-in names nobody of tenant A, and its face check matches no one.
        const location = String(auth.headers.location);
        const page = await br.request('GET', location);
        assert.equal(page.statusCode, 200);
        const { findSsoLogin } = await import('../../src/db/repositories/sso.repository.ts');
        assert.equal((await findSsoLogin(container.database.db, await storedUid(container, location.split('/').pop()!)))?.user_id, null, 'the sign-in targets no user of tenant A');
        assert.equal((await br.request('POST', `${location}/start`)).json().mode, 'verification');
        const cancelled = await br.request('POST', `${location}/cancel`);
        const cb = await followToRp(br, cancelled.json().redirect_to, 6);
        assert.equal(cb.searchParams.get('error'), 'access_denied');
      }
      // And the provider never resolves B's user for A's RP, even with a session holding B's user.
      const { findSsoAccount, findSsoClient } = await import('../../src/db/repositories/sso.repository.ts');
      const row = await findSsoClient(container.database.db, rp.client_id);
      assert.equal(await findSsoAccount(container.database.db, row!.client_id, personBId), undefined);
    });

    test('a deactivated user cannot sign in', async () => {
      const { app } = t();
      const rp = await registerRp(app, b, { liveness_challenges: ['head_movement'] });
      const other = await createUser(app, b, 'GONE', 'Gone');
      assert.ok(other);
      assert.equal((await app.inject({ method: 'POST', url: '/api/clients/users/GONE/deactivate/', headers: { authorization: b.auth } })).statusCode, 200);
      const br = new Browser(app);
      const p = pkce();
      const auth = await br.request('GET', authorizeUrl(rp.client_id, { challenge: p.challenge, state: 'st4', nonce: 'n4', loginHint: 'GONE' }));
      // The same page and start as for an active user (sso-login-hint-enumeration.test.ts): the face check then
      // matches no one, and the sign-in ends with access_denied.
      const location = String(auth.headers.location);
      assert.equal((await br.request('GET', location)).statusCode, 200);
      assert.equal((await br.request('POST', `${location}/start`)).json().mode, 'verification');
      const cancelled = await br.request('POST', `${location}/cancel`);
      assert.equal((await followToRp(br, cancelled.json().redirect_to, 6)).searchParams.get('error'), 'access_denied');
    });

    test('unknown client_id, unregistered redirect_uri and a missing PKCE challenge are rejected', async () => {
      const { app } = t();
      const rp = await registerRp(app, a);
      const p = pkce();
      const unknown = await new Browser(app).request('GET', authorizeUrl('wsso_nope', { challenge: p.challenge, state: 's', nonce: 'n' }));
      assert.equal(unknown.statusCode, 400);
      assert.match(unknown.body, /invalid_client/);
      const wrong = await new Browser(app).request('GET', authorizeUrl(rp.client_id, { challenge: p.challenge, state: 's', nonce: 'n', redirectUri: 'https://evil.example.com/cb' }));
      assert.equal(wrong.statusCode, 400);
      assert.match(wrong.body, /redirect_uri/);
      assert.ok(!String(wrong.headers.location ?? '').includes('evil'));
      const noPkce = await new Browser(app).request('GET', `/oidc/auth?${new URLSearchParams({ client_id: rp.client_id, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid', state: 's' })}`);
      assert.equal(noPkce.statusCode, 303);
      assert.match(String(noPkce.headers.location), /^https:\/\/rp\.example\.com\/callback\?error=invalid_request/);
    });
  });
}


// Two instances on one PostgreSQL database behave as one provider: same keys, same interactions.
if (backendNames().includes('postgres')) {
  describe('SSO: two instances behind a load balancer [postgres]', () => {
    const t = useTestApp('postgres', { engine: false, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });

    test('keys, clients and interactions are shared through the database', async (ctx) => {
      const one = t();
      const config = loadConfig({ LOG_LEVEL: 'silent', WAJAH_ADMIN_TOKEN: ADMIN_TOKEN, WAJAH_WORKERS: '0', WAJAH_MASTER_KEY: TEST_MASTER_KEY, DATABASE_URL: one.backend.databaseUrl! });
      const container = await createContainer(config, { engine: false, log: { info() {}, warn() {}, error: (m: string) => console.error(m) } });
      const two = await buildApp(config, container);
      ctx.after(async () => {
        await two.close();
        await container.close();
      });
      const tenant = await createTenant(one.app, 'LB');
      await createUser(one.app, tenant, 'EMP1', 'Emp One');
      const rp = await registerRp(one.app, tenant, { liveness_challenges: ['head_movement'] });
      const jwks = async (app: FastifyInstance) => (await app.inject({ method: 'GET', url: '/oidc/jwks', headers: { host: HOST } })).json();
      assert.deepEqual(await jwks(two), await jwks(one.app), 'one signing key for every instance');

      const p = pkce();
      const first = new Browser(one.app);
      const auth = await first.request('GET', authorizeUrl(rp.client_id, { challenge: p.challenge, state: 'lb', nonce: 'lb', loginHint: 'EMP1' }));
      assert.equal(auth.statusCode, 303, auth.body);
      // The next requests of the same browser land on the other instance.
      const second = new Browser(two);
      for (const [k, v] of first.cookies) second.cookies.set(k, v);
      const page = await second.request('GET', String(auth.headers.location));
      assert.equal(page.statusCode, 200, page.body);
      const uid = /interaction\/([^/?]+)/.exec(String(auth.headers.location))![1];
      const started = await second.request('POST', `/oidc/interaction/${uid}/start`);
      assert.equal(started.statusCode, 200, started.body);
      assert.equal(started.json().mode, 'verification');
      const row = await one.container.database.db.withTables<{ oidc_payloads: { model: string; id: string } }>().selectFrom('oidc_payloads').select('model').where('model', '=', 'Interaction').where('id', '=', await storedUid(one.container, uid!)).executeTakeFirst();
      assert.equal(row?.model, 'Interaction', 'the interaction is stored in the shared database');
    });
  });
}
