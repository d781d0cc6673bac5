// `wajah keys rotate-master --online` (issue 9: rotation without downtime, PostgreSQL): servers restarted one by
// one with the new key (and the old one as WAJAH_MASTER_KEY_PREVIOUS) keep serving; the rotation re-seals
// everything while a server verifies faces without a single failure; afterwards the new key alone opens
// everything and the old key alone is refused.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { backendNames, createBackend, type Backend } from '../helpers/backends.ts';
import { ADMIN_TOKEN } from '../helpers/app.ts';
import { startServer, type Server } from '../helpers/server.ts';
import { createTenant, createUser, dataFile, postForm, postJson, type Tenant } from '../helpers/face-fixtures.ts';
import { loadConfig } from '../../src/config/env.ts';
import { createContainer } from '../../src/container.ts';
import { fingerprint, keyCheckValue } from '../../src/crypto/key-check.ts';
import { signBody } from '../../src/services/webhooks/signer.ts';

const root = path.resolve(import.meta.dirname, '../..');
const FR = 'faces_extra/face_recognition';
const ISSUER = 'http://localhost:8000/oidc';
const HOST = 'localhost:8000';
const WEBHOOK_SECRET = 'online-rotation-webhook-secret-0123';
const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const OLD = crypto.randomBytes(32);
const NEW = crypto.randomBytes(32);

describe('online master-key rotation [postgres]', { skip: backendNames().includes('postgres') ? false : 'needs PostgreSQL' }, () => {
  let backend: Backend;
  let tenant: Tenant;
  let rp: { client_id: string; client_secret: string };
  let openSession = '';
  const hooks: Array<{ body: string; signature: string }> = [];
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      hooks.push({ body, signature: String(req.headers['x-signature'] ?? '') });
      res.end('ok');
    });
  });

  before(async () => {
    backend = await createBackend('postgres');
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    receiver.close();
    await backend?.cleanup();
  });

  const env = (keys: { current: Buffer; previous?: Buffer }) => ({
    ...process.env,
    DATABASE_URL: backend.databaseUrl!,
    REDIS_URL: '',
    WAJAH_DATA_DIR: os.tmpdir(),
    WAJAH_MASTER_KEY: keys.current.toString('hex'),
    WAJAH_MASTER_KEY_PREVIOUS: keys.previous?.toString('hex') ?? '',
    WAJAH_ADMIN_TOKEN: ADMIN_TOKEN,
    WAJAH_SSO_ISSUER: ISSUER,
    WAJAH_WEBHOOK_POLL_MS: '50',
    LOG_LEVEL: 'silent',
  });
  const start = (keys: { current: Buffer; previous?: Buffer }): Promise<Server> => startServer(loadConfig({ ...env(keys), WAJAH_WORKERS: '1' }), { engine: true });
  const verify = (s: Server, user: string, file: string) => postForm(s.app, '/api/auth/authentication/verify/', tenant, [{ name: 'user_id', value: user }, { name: 'image', value: dataFile(file) }]);
  const rotate = (...args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [path.join(root, 'bin/wajah.js'), 'keys', 'rotate-master', '--online', '--json', ...args], { env: env({ current: NEW, previous: OLD }) });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });

  let b: Server;

  test('under the old key: a face, a PIN, an SSO application, a webhook secret, an open enrollment session', async () => {
    const a = await start({ current: OLD });
    try {
      tenant = await createTenant(a.app, 'Online rotation');
      await createUser(a.app, tenant, 'P1', 'Barack Obama');
      let res = await postForm(a.app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: 'P1' }, { name: 'image', value: dataFile(`${FR}/obama/obama_01.jpg`) }]);
      assert.equal(res.statusCode, 201, res.body);
      res = await a.app.inject({ method: 'PUT', url: '/api/clients/users/P1/fallback/', headers: { authorization: tenant.auth, 'content-type': 'application/json' }, payload: { type: 'pin', secret: '4821' } });
      assert.ok(res.statusCode < 300, res.body);
      res = await a.app.inject({ method: 'POST', url: '/api/sso/clients/', headers: { authorization: tenant.auth, 'content-type': 'application/json' }, payload: { name: 'Intranet', redirect_uris: ['https://rp.example.com/callback'], liveness_challenges: ['head_movement'] } });
      assert.equal(res.statusCode, 201, res.body);
      rp = res.json();
      res = await a.app.inject({ method: 'POST', url: '/api/webhooks/endpoints/', headers: { authorization: tenant.auth, 'content-type': 'application/json' }, payload: { url: `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`, events: ['user.created'], secret: WEBHOOK_SECRET } });
      assert.equal(res.statusCode, 201, res.body);
      await createUser(a.app, tenant, 'E1', 'Open Session');
      res = await postJson(a.app, '/api/auth/enrollment/create/', tenant, { user_id: 'E1', session_type: 'upload', quality_threshold: 0.3, timeout: 3600 });
      openSession = res.json().session_token;
      res = await postForm(a.app, '/api/auth/enrollment/process-frame/', tenant, [{ name: 'frame', value: dataFile(`${FR}/obama/obama_02.jpg`) }], openSession);
      assert.equal(res.json().frame_accepted, true, res.body);

      // Rolling restart, step 1: a second server with the new key (and the old one as previous) starts beside the first.
      b = await start({ current: NEW, previous: OLD });
      res = await verify(b, 'P1', `${FR}/obama/obama_02.jpg`);
      assert.equal(res.json().result.authenticated, true, 'the new-key server opens templates sealed under the old key');
      // It seals new values under the new key, which only it (and later servers) can open: enroll a second person.
      await createUser(b.app, tenant, 'P2', 'Joe Biden');
      res = await postForm(b.app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: 'P2' }, { name: 'image', value: dataFile(`${FR}/biden/biden_01.jpg`) }]);
      assert.equal(res.statusCode, 201, res.body);
    } finally {
      await a.stop(); // rolling restart, step 2: the old-key server goes
    }
  });

  test('the rotation runs while the server verifies faces: every request answered, every genuine face accepted', async () => {
    let stop = false;
    const answers: boolean[] = [];
    const load = (async () => {
      while (!stop) {
        const res = await verify(b, answers.length % 2 ? 'P2' : 'P1', answers.length % 2 ? `${FR}/biden/biden_02.jpg` : `${FR}/obama/obama_03.jpg`);
        answers.push(res.statusCode === 200 && res.json().result.authenticated === true);
      }
    })();
    const r = await rotate();
    stop = true;
    await load;
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { outcome: string; from: string; to: string; resealed: Record<string, number> };
    assert.equal(out.outcome, 'rotated');
    assert.deepEqual([out.from, out.to], [fingerprint(keyCheckValue(OLD)), fingerprint(keyCheckValue(NEW))]);
    // Only what was under the old key: P1's template (P2's was sealed under the new key), the session, the secrets, the pepper.
    assert.equal(out.resealed.face_templates, 1);
    assert.equal(out.resealed.sessions, 1);
    assert.equal(out.resealed.webhook_endpoints, 1);
    assert.equal(out.resealed.sso_clients, 1);
    assert.ok(out.resealed.sso_keys >= 1);
    assert.equal(out.resealed.instance_settings, 1);
    assert.ok(answers.length >= 2, `${answers.length} verifications ran during the rotation`);
    assert.ok(answers.every(Boolean), JSON.stringify(answers));
    // A second run finds nothing left to do.
    const again = JSON.parse((await rotate()).stdout) as { resealed: Record<string, number> };
    assert.equal(Object.values(again.resealed).reduce((n, x) => n + x, 0), 0, JSON.stringify(again.resealed));
    await b.stop();
  });

  test('with WAJAH_MASTER_KEY_PREVIOUS removed, the new key alone opens everything', async () => {
    const c = await start({ current: NEW });
    try {
      for (const [user, file] of [['P1', `${FR}/obama/obama_02.jpg`], ['P2', `${FR}/biden/biden_02.jpg`]]) {
        const res = await verify(c, user!, file!);
        assert.equal(res.json().result.authenticated, true, `${user}: ${res.body}`);
      }
      let res = await postJson(c.app, '/api/auth/authentication/fallback/', tenant, { user_id: 'P1', pin: '4821' });
      assert.equal(res.statusCode, 200, res.body);
      res = await c.app.inject({
        method: 'POST',
        url: '/oidc/token',
        headers: { host: HOST, authorization: `Basic ${Buffer.from(`${rp.client_id}:${rp.client_secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ grant_type: 'authorization_code', code: 'nope', redirect_uri: 'https://rp.example.com/callback', code_verifier: 'x'.repeat(43) }).toString(),
      });
      assert.equal(res.json().error, 'invalid_grant', `the RP secret opened (the client authenticated): ${res.body}`);
      res = await postJson(c.app, '/api/auth/enrollment/complete/', tenant, {}, openSession);
      assert.equal(res.statusCode, 201, res.body);
      hooks.length = 0;
      await createUser(c.app, tenant, 'P3', 'After');
      for (let i = 0; i < 100 && !hooks.some((h) => h.body.includes('P3')); i++) await new Promise((r) => setTimeout(r, 100));
      const delivery = hooks.find((h) => h.body.includes('P3'));
      assert.ok(delivery, 'the webhook was delivered');
      assert.equal(delivery.signature, signBody(delivery.body, WEBHOOK_SECRET));
    } finally {
      await c.stop();
    }
  });

  test('the old key alone is refused (MASTER_KEY_MISMATCH)', async () => {
    await assert.rejects(
      (async () => {
        const config = loadConfig({ ...env({ current: OLD }), WAJAH_WORKERS: '0' });
        const container = await createContainer(config, { engine: false, log: quiet });
        await container.close();
      })(),
      (e: { code?: string }) => e.code === 'MASTER_KEY_MISMATCH',
    );
  });
});
