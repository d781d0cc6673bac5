// `wajah keys rotate-master` (issue 9): every template, photo and secret sealed under the master key is
// re-sealed under a new one; afterwards the same person still verifies, the PIN, SSO and webhook secrets
// still work, the old key is refused; a rotation killed mid-way loses nothing; a running server blocks it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { backendNames, createBackend, type Backend } from '../helpers/backends.ts';
import { ADMIN_TOKEN } from '../helpers/app.ts';
import { createTenant, createUser, dataFile, postForm, postJson, type Tenant } from '../helpers/face-fixtures.ts';
import { loadConfig } from '../../src/config/env.ts';
import { createContainer, type Container } from '../../src/container.ts';
import { buildApp } from '../../src/app.ts';
import { fingerprint, keyCheckValue } from '../../src/crypto/key-check.ts';
import { photoAad, reviewPhotoAad, TemplateCipher } from '../../src/crypto/template-cipher.ts';
import { TemplateVault } from '../../src/services/templates.service.ts';
import { SecretBox as WebhookBox, secretAad } from '../../src/services/webhooks/secret-box.ts';
import { signBody } from '../../src/services/webhooks/signer.ts';

const root = path.resolve(import.meta.dirname, '../..');
const OBAMA = 'faces_extra/face_recognition/obama/obama_01.jpg';
const OBAMA2 = 'faces_extra/face_recognition/obama/obama_02.jpg';
const ISSUER = 'http://localhost:8000/oidc';
const HOST = 'localhost:8000';
const WEBHOOK_SECRET = 'rotation-webhook-secret-0123456789';
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

function cli(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'bin/wajah.js'), ...args], { cwd: os.tmpdir(), env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Receives webhook deliveries (the endpoint points here). */
function receiver() {
  const got: Array<{ body: string; signature: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      got.push({ body, signature: String(req.headers['x-signature'] ?? '') });
      res.end('ok');
    });
  });
  return { got, server, listen: () => new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as { port: number }).port))) };
}

for (const name of backendNames()) {
  describe(`wajah keys rotate-master [${name}]`, () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-rotate-'));
    const keyFile = path.join(dataDir, 'master.key');
    const hook = receiver();
    let backend: Backend;
    let env: NodeJS.ProcessEnv;
    let tenant: Tenant;
    let originalKey: Buffer;
    let rp: { client_id: string; client_secret: string };
    let jwksBefore: unknown;
    let openSession: string;
    const photo = dataFile(OBAMA);

    before(async () => {
      backend = await createBackend(name);
      await hook.listen();
      env = {
        ...process.env,
        WAJAH_DATA_DIR: dataDir,
        DATABASE_URL: backend.databaseUrl ?? '',
        REDIS_URL: '',
        WAJAH_MASTER_KEY: '',
        WAJAH_NEW_MASTER_KEY: '',
        WAJAH_ADMIN_TOKEN: ADMIN_TOKEN,
        WAJAH_SSO_ISSUER: ISSUER,
        WAJAH_WEBHOOK_POLL_MS: '50',
        WAJAH_WORKERS: '1',
        LOG_LEVEL: 'silent',
      };
    });
    after(async () => {
      hook.server.close();
      await backend?.cleanup();
      await new Promise((r) => setTimeout(r, 1000)); // PGlite flushes a moment after close()
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    const start = async (extra: NodeJS.ProcessEnv = {}, engine = true): Promise<{ app: FastifyInstance; container: Container; stop(): Promise<void> }> => {
      const config = loadConfig({ ...env, ...extra, WAJAH_WORKERS: engine ? '1' : '0' });
      const container = await createContainer(config, { engine, log: quiet });
      const app = await buildApp(config, container);
      await app.ready();
      return { app, container, stop: async () => (await app.close(), await container.close()) };
    };

    test('sealed data of every kind: a template and its photo, a review photo, a PIN, an SSO application, a webhook endpoint', async () => {
      const { app, container, stop } = await start();
      try {
        tenant = await createTenant(app, 'Rotation');
        const patch = await app.inject({ method: 'PATCH', url: `/api/admin/clients/${tenant.clientId}/`, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, payload: { settings: { store_photos: true } } });
        assert.equal(patch.statusCode, 200, patch.body);
        await createUser(app, tenant, 'P1', 'Barack Obama');
        let res = await postForm(app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: 'P1' }, { name: 'image', value: photo }, { name: 'quality_threshold', value: '0.3' }]);
        assert.equal(res.statusCode, 201, res.body);
        res = await app.inject({ method: 'PUT', url: '/api/clients/users/P1/fallback/', headers: { authorization: tenant.auth, 'content-type': 'application/json' }, payload: { type: 'pin', secret: '4821' } });
        assert.ok(res.statusCode < 300, res.body);
        await createUser(app, tenant, 'R1', 'Review Person');
        res = await postForm(app, '/api/auth/enrollment/review/', tenant, [{ name: 'user_id', value: 'R1' }, { name: 'reason', value: 'camera' }, { name: 'images', value: photo, filename: 'a.jpg' }]);
        assert.equal(res.statusCode, 201, res.body);
        res = await app.inject({ method: 'POST', url: '/api/sso/clients/', headers: { authorization: tenant.auth, 'content-type': 'application/json' }, payload: { name: 'Intranet', redirect_uris: ['https://rp.example.com/callback'] } });
        assert.equal(res.statusCode, 201, res.body);
        rp = res.json();
        res = await app.inject({ method: 'POST', url: '/api/webhooks/endpoints/', headers: { authorization: tenant.auth, 'content-type': 'application/json' }, payload: { url: `http://127.0.0.1:${(hook.server.address() as { port: number }).port}/hook`, events: ['user.created'], secret: WEBHOOK_SECRET } });
        assert.equal(res.statusCode, 201, res.body);
        // An enrollment session left open: its accepted frame is sealed in the session state.
        await createUser(app, tenant, 'E1', 'Open Session');
        res = await postJson(app, '/api/auth/enrollment/create/', tenant, { user_id: 'E1', session_type: 'upload', quality_threshold: 0.3, timeout: 3600 });
        assert.equal(res.statusCode, 201, res.body);
        openSession = res.json().session_token;
        res = await postForm(app, '/api/auth/enrollment/process-frame/', tenant, [{ name: 'frame', value: dataFile(OBAMA2) }], openSession);
        assert.equal(res.json().frame_accepted, true, res.body);
        jwksBefore = (await app.inject({ method: 'GET', url: '/oidc/jwks', headers: { host: HOST } })).json();
        const photos = await container.database.db.selectFrom('face_photos').select('id').execute();
        assert.equal(photos.length, 1);
      } finally {
        await stop();
      }
      originalKey = Buffer.from(fs.readFileSync(keyFile, 'utf8').trim(), 'hex');
    });

    test('refused while a server holds the database: nothing is staged or changed', async () => {
      const { stop } = await start({}, false);
      try {
        const r = await cli(env, 'keys', 'rotate-master');
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, name === 'pglite' ? /DATA_DIR_LOCKED.*pid \d+/ : /DATABASE_IN_USE.*pid \d+/);
      } finally {
        await stop();
      }
      assert.deepEqual(fs.readFileSync(keyFile, 'utf8').trim(), originalKey.toString('hex'));
      assert.ok(!fs.existsSync(`${keyFile}.next`));
    });

    test('killed mid-rotation (SIGKILL after 3 re-sealed values): the old key still opens everything', async () => {
      const r = await cli(env, 'keys', 'rotate-master', '--crash-after', '3');
      assert.equal(r.signal, 'SIGKILL', `${r.code} ${r.stderr}`);
      assert.equal(fs.readFileSync(keyFile, 'utf8').trim(), originalKey.toString('hex'), 'master.key untouched');
      // The server starts with the old key (its check value is still the stored one) and opens the sealed SSO keys.
      const { container, stop } = await start({}, false);
      try {
        const rows = await container.database.db.selectFrom('face_templates').select(['id', 'client_id', 'user_id', 'model_id', 'ciphertext']).execute();
        assert.ok(rows.length > 0);
        for (const row of rows) assert.doesNotThrow(() => new TemplateVault(new TemplateCipher(originalKey)).openTemplate(row));
      } finally {
        await stop();
      }
    });

    let newKey: Buffer;

    test('rotates: re-seals every kind, puts the new key in master.key (0600), keeps the old one beside it', async () => {
      const r = await cli(env, 'keys', 'rotate-master', '--json');
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.outcome, 'rotated');
      assert.equal(out.from, fingerprint(keyCheckValue(originalKey)));
      for (const table of ['face_templates', 'face_photos', 'review_photos', 'sessions', 'webhook_endpoints', 'sso_clients', 'sso_keys', 'instance_settings']) {
        assert.ok(out.resealed[table] >= 1, `${table}: ${JSON.stringify(out.resealed)}`);
      }
      newKey = Buffer.from(fs.readFileSync(keyFile, 'utf8').trim(), 'hex');
      assert.equal(newKey.length, 32);
      assert.notDeepEqual(newKey, originalKey);
      assert.equal(out.to, fingerprint(keyCheckValue(newKey)));
      assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
      const old = path.join(dataDir, `master.key.old-${fingerprint(keyCheckValue(originalKey))}`);
      assert.equal(out.old_key_file, old);
      assert.equal(fs.readFileSync(old, 'utf8').trim(), originalKey.toString('hex'));
      assert.equal(fs.statSync(old).mode & 0o777, 0o600);
      assert.ok(!fs.existsSync(`${keyFile}.next`));
      const human = await cli({ ...env, WAJAH_DATA_DIR: path.join(dataDir, 'missing') }, 'keys', 'rotate-master');
      assert.notEqual(human.code, 0, 'no key / no database elsewhere');
    });

    test('restarted with the new key: the same person verifies, the PIN works, SSO keys and secret open, webhooks are signed', async () => {
      const { app, container, stop } = await start();
      try {
        let res = await postForm(app, '/api/auth/authentication/verify/', tenant, [{ name: 'user_id', value: 'P1' }, { name: 'image', value: dataFile(OBAMA2) }]);
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.json().result.authenticated, true);
        res = await postJson(app, '/api/auth/authentication/fallback/', tenant, { user_id: 'P1', pin: '4821' });
        assert.equal(res.statusCode, 200, res.body);
        // The provider's signing key decrypted to the same key: the same JWKS.
        assert.deepEqual((await app.inject({ method: 'GET', url: '/oidc/jwks', headers: { host: HOST } })).json(), jwksBefore);
        // The relying party's secret still authenticates it (invalid_grant: the client passed, the code did not).
        const token = (secret: string) =>
          app.inject({
            method: 'POST',
            url: '/oidc/token',
            headers: { host: HOST, authorization: `Basic ${Buffer.from(`${rp.client_id}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
            payload: new URLSearchParams({ grant_type: 'authorization_code', code: 'nope', redirect_uri: 'https://rp.example.com/callback', code_verifier: 'x'.repeat(43) }).toString(),
          });
        res = await token(rp.client_secret);
        assert.equal(res.json().error, 'invalid_grant', res.body);
        assert.equal((await token(`${rp.client_secret}x`)).json().error, 'invalid_client');
        // Photos open under the new key to the original bytes; the webhook secret to the original secret.
        const vault = new TemplateVault(new TemplateCipher(newKey));
        const [fp] = await container.database.db.selectFrom('face_photos').select(['id', 'client_id', 'user_id', 'enrollment_id', 'ciphertext']).execute();
        assert.deepEqual(vault.openBytes(fp.ciphertext, photoAad(fp.client_id, fp.user_id, fp.enrollment_id, fp.id), photo.length), photo);
        const [rv] = (await sql<{ id: string; client_id: string; review_id: string; user_id: string; ciphertext: Uint8Array; byte_length: number }>`
          SELECT p.id, p.client_id, p.review_id, r.user_id, p.ciphertext, p.byte_length FROM review_photos p JOIN review_requests r ON r.id = p.review_id`.execute(container.database.db)).rows;
        assert.deepEqual(vault.openBytes(rv.ciphertext, reviewPhotoAad(rv.client_id, rv.review_id, rv.user_id, rv.id), rv.byte_length), photo);
        const [ep] = await container.database.db.selectFrom('webhook_endpoints').select(['id', 'client_id', 'secret']).execute();
        assert.equal(new WebhookBox(newKey).open(ep.secret, secretAad(ep.client_id, ep.id)), WEBHOOK_SECRET);
        assert.throws(() => new WebhookBox(originalKey).open(ep.secret, secretAad(ep.client_id, ep.id)));
        // The open session's sealed frame was re-sealed too: it completes into an enrollment.
        res = await postJson(app, '/api/auth/enrollment/complete/', tenant, {}, openSession);
        assert.equal(res.statusCode, 201, res.body);
        assert.equal(res.json().user_id, 'E1');
        hook.got.length = 0;
        await createUser(app, tenant, 'P2', 'After Rotation');
        for (let i = 0; i < 100 && !hook.got.some((g) => g.body.includes('P2')); i++) await new Promise((r) => setTimeout(r, 100));
        const delivery = hook.got.find((g) => g.body.includes('P2'));
        assert.ok(delivery, 'the webhook was delivered');
        assert.equal(delivery.signature, signBody(delivery.body, WEBHOOK_SECRET));
      } finally {
        await stop();
      }
    });

    test('the old key is refused (MASTER_KEY_MISMATCH naming both fingerprints)', async () => {
      await assert.rejects(start({ WAJAH_MASTER_KEY: originalKey.toString('hex') }, false), (e: { code?: string; message: string }) => {
        assert.equal(e.code, 'MASTER_KEY_MISMATCH');
        assert.ok(e.message.includes(fingerprint(keyCheckValue(originalKey))) && e.message.includes(fingerprint(keyCheckValue(newKey))), e.message);
        return true;
      });
    });

    let currentKey: Buffer;
    let thirdKey: Buffer;

    test('killed after the commit, before master.key was replaced: the server names the unfinished rotation; a rerun finishes it', async () => {
      const r = await cli(env, 'keys', 'rotate-master', '--crash-after-commit');
      assert.equal(r.signal, 'SIGKILL', `${r.code} ${r.stderr}`);
      assert.equal(fs.readFileSync(keyFile, 'utf8').trim(), newKey.toString('hex'));
      const staged = Buffer.from(fs.readFileSync(`${keyFile}.next`, 'utf8').trim(), 'hex');
      await assert.rejects(start({}, false), (e: { code?: string; message: string }) => {
        assert.equal(e.code, 'MASTER_KEY_MISMATCH');
        assert.match(e.message, /rotate-master/);
        return true;
      });
      const again = await cli(env, 'keys', 'rotate-master', '--json');
      assert.equal(again.code, 0, again.stderr);
      assert.equal(JSON.parse(again.stdout).outcome, 'resumed');
      currentKey = Buffer.from(fs.readFileSync(keyFile, 'utf8').trim(), 'hex');
      assert.deepEqual(currentKey, staged);
      assert.ok(!fs.existsSync(`${keyFile}.next`));
      assert.ok(fs.existsSync(path.join(dataDir, `master.key.old-${fingerprint(keyCheckValue(newKey))}`)));
      const { app, stop } = await start();
      try {
        const res = await postJson(app, '/api/auth/authentication/fallback/', tenant, { user_id: 'P1', pin: '4821' });
        assert.equal(res.statusCode, 200, res.body);
      } finally {
        await stop();
      }
    });

    test('keys in the environment: the new key must be given; then WAJAH_MASTER_KEY=new starts, and a rerun changes nothing', async () => {
      const envKey = { ...env, WAJAH_MASTER_KEY: currentKey.toString('hex') };
      let r = await cli(envKey, 'keys', 'rotate-master');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /NEW_MASTER_KEY_INVALID/);
      const third = (thirdKey = crypto.randomBytes(32));
      const file = path.join(os.tmpdir(), `wajah-new-key-${process.pid}`);
      fs.writeFileSync(file, third.toString('base64'), { mode: 0o600 });
      try {
        r = await cli(envKey, 'keys', 'rotate-master', '--new-key-file', file);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /Set WAJAH_MASTER_KEY to the new key/);
        assert.equal(fs.readFileSync(keyFile, 'utf8').trim(), currentKey.toString('hex'), 'master.key is not written when the key comes from the environment');
        r = await cli(envKey, 'keys', 'rotate-master', '--new-key-file', file, '--json');
        assert.equal(r.code, 0, r.stderr);
        assert.equal(JSON.parse(r.stdout).outcome, 'unchanged');
      } finally {
        fs.rmSync(file, { force: true });
      }
      const { app, stop } = await start({ WAJAH_MASTER_KEY: third.toString('hex') });
      try {
        const res = await postForm(app, '/api/auth/authentication/verify/', tenant, [{ name: 'user_id', value: 'P1' }, { name: 'image', value: dataFile(OBAMA2) }]);
        assert.equal(res.json().result.authenticated, true, res.body);
      } finally {
        await stop();
      }
    });
    test('a value the current key does not open stops the rotation (SEALED_DATA_UNREADABLE naming the row); nothing changes', async () => {
      const envKey = { ...env, WAJAH_MASTER_KEY: thirdKey.toString('hex') };
      let { container, stop } = await start({ WAJAH_MASTER_KEY: thirdKey.toString('hex') }, false);
      let tampered: string;
      try {
        const [row] = await container.database.db.selectFrom('face_templates').select(['id', 'ciphertext']).orderBy('id').execute();
        const bad = Buffer.from(row.ciphertext);
        bad[bad.length - 1] ^= 1;
        tampered = row.id;
        await container.database.db.updateTable('face_templates').set({ ciphertext: bad }).where('id', '=', row.id).execute();
      } finally {
        await stop();
      }
      const r = await cli({ ...envKey, WAJAH_NEW_MASTER_KEY: crypto.randomBytes(32).toString('hex') }, 'keys', 'rotate-master');
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`SEALED_DATA_UNREADABLE: face_templates ${tampered}`));
      // Still entirely under the current key (its check value unchanged): the server starts with it.
      ({ container, stop } = await start({ WAJAH_MASTER_KEY: thirdKey.toString('hex') }, false));
      await stop();
    });
  });
}
