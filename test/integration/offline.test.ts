import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { rejectsWithCode } from '../helpers/assert-code.ts';
import { useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, dataFile, postForm, postJson, type Tenant } from '../helpers/face-fixtures.ts';
import { createFaceEngine, MODEL_DLIB, type FaceEngine } from '../../src/vision/index.ts';
import { similarityForConfidence } from '../../src/vision/calibration.ts';
import { verifyOffline } from '../../src/offline/verifier.ts';
import { signPackage, type OfflinePackage, type OfflinePayload } from '../../src/offline/package-format.ts';
import { SIGNING_KEY_FILE } from '../../src/offline/signing-key.ts';

const FR = 'faces_extra/face_recognition';
const OBAMA_1 = `${FR}/obama/obama_01.jpg`;
const OBAMA_2 = `${FR}/obama/obama_02.jpg`;
const BIDEN_1 = `${FR}/biden/biden_01.jpg`;
const BIDEN_2 = `${FR}/biden/biden_02.jpg`;
const SECRET = 'device-secret-7f3a9c21e8';
const root = path.resolve(import.meta.dirname, '../..');

/** The device side: its own engine in this process, never the server's. */
let deviceEngine: FaceEngine;
before(async () => {
  deviceEngine = await createFaceEngine({ workers: 1, queueSize: 8 });
});
after(async () => {
  await deviceEngine?.close();
});

/** A package and public key saved by the first backend run, for the CLI tests. */
let saved: { pkg: OfflinePackage; publicKeyPem: string; publicKeyAnswer: unknown; clientId: string } | null = null;

const decode = (pkg: OfflinePackage): OfflinePayload => JSON.parse(Buffer.from(pkg.payload, 'base64url').toString('utf8'));
const encode = (payload: OfflinePayload): string => Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');

const rejects = rejectsWithCode;

for (const backend of backendNames()) {
  describe(`offline verification [${backend}]`, () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-offline-'));
    const t = useTestApp(backend, { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY, WAJAH_DATA_DIR: dataDir } });
    after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    let tenant: Tenant;
    let other: Tenant;
    let issued: { package: OfflinePackage; package_id: string; expires_at: string; issued_at: string; issued_count: number; key_id: string };
    let publicKeyPem: string;

    const enroll = async (user: string, file: string) => {
      const res = await postForm(t().app, '/api/auth/enrollment/direct/', tenant, [
        { name: 'user_id', value: user },
        { name: 'image', value: dataFile(file) },
        { name: 'quality_threshold', value: '0.3' },
      ]);
      assert.equal(res.statusCode, 201, res.body);
    };
    const issue = (who: Tenant, user: string, body: Record<string, unknown> = { package_secret: SECRET }) =>
      postJson(t().app, `/api/clients/users/${encodeURIComponent(user)}/offline-package/`, who, body);
    const verify = (pkg: unknown, image: string, extra: Partial<Parameters<typeof verifyOffline>[0]> = {}) =>
      verifyOffline({ package: pkg, packageSecret: SECRET, publicKey: publicKeyPem, clientId: tenant.clientId, image: dataFile(image), engine: deviceEngine, ...extra });

    test('setup: two tenants; an enrolled user, one without enrollment, one deactivated', async () => {
      const { app } = t();
      tenant = await createTenant(app, 'Offline A');
      other = await createTenant(app, 'Offline B');
      await createUser(app, tenant, 'EMP001', 'Barack Obama');
      await createUser(app, tenant, 'EMP002', 'Nobody Enrolled');
      await createUser(app, tenant, 'EMP003', 'Joe Biden');
      await enroll('EMP001', OBAMA_1);
      await enroll('EMP003', BIDEN_2);
      const res = await app.inject({ method: 'POST', url: '/api/clients/users/EMP003/deactivate/', headers: { authorization: tenant.auth } });
      assert.equal(res.statusCode, 200, res.body);
    });

    test('GET /api/offline/public-key/: PEM and JWK of one Ed25519 key, generated into the data directory (0600)', async () => {
      assert.equal(fs.existsSync(path.join(dataDir, SIGNING_KEY_FILE)), false, 'no key before first use');
      const res = await t().app.inject({ method: 'GET', url: '/api/offline/public-key/' });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      assert.equal(body.algorithm, 'Ed25519');
      const fromPem = createPublicKey(body.pem);
      const fromJwk = createPublicKey({ key: body.jwk, format: 'jwk' });
      assert.equal(fromPem.asymmetricKeyType, 'ed25519');
      assert.ok(fromPem.equals(fromJwk));
      assert.equal(body.jwk.kid, body.key_id);
      const file = path.join(dataDir, SIGNING_KEY_FILE);
      assert.equal((fs.statSync(file).mode & 0o777).toString(8), '600');
      publicKeyPem = body.pem;
      const again = await t().app.inject({ method: 'GET', url: '/api/offline/public-key/' });
      assert.equal(again.json().key_id, body.key_id, 'the same key on every call');
      saved = { pkg: null as unknown as OfflinePackage, publicKeyPem, publicKeyAnswer: body, clientId: tenant.clientId };
    });

    test('the routes and their schemas are in the OpenAPI document', async () => {
      const doc = (await t().app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
      const issuePath = doc.paths['/api/v1/clients/users/{user_id}/offline-package/'];
      assert.ok(issuePath?.post, Object.keys(doc.paths).join(' '));
      assert.ok(JSON.stringify(issuePath.post.requestBody).includes('package_secret'));
      assert.ok(issuePath.post.responses['201']);
      assert.ok(doc.paths['/api/v1/offline/public-key/']?.get?.responses['200']);
    });

    test('issue: a signed package with the encrypted template, model, calibrated threshold, expiry; audited and counted', async () => {
      const { app, container } = t();
      const res = await issue(tenant, 'EMP001');
      assert.equal(res.statusCode, 201, res.body);
      issued = res.json();
      const pkg = issued.package;
      assert.equal(pkg.format, 'wajah.offline-package.v1');
      assert.equal(issued.issued_count, 1);
      assert.equal((res.json() as { client_id: string }).client_id, tenant.clientId, 'the answer names the tenant devices are configured with');
      const p = decode(pkg);
      assert.equal(p.client_id, tenant.clientId);
      assert.equal(p.user.external_id, 'EMP001');
      assert.equal(p.user.name, 'Barack Obama');
      assert.equal(p.model, 'faceplugin-fr-v1');
      assert.equal(p.dim, 512);
      assert.equal(p.template_count, 1);
      assert.equal(p.verification.confidence_threshold, 0.8);
      assert.ok(Math.abs(p.verification.cosine_threshold - similarityForConfidence(0.8, p.model)) < 1e-4);
      assert.equal(Date.parse(p.expires_at) - Date.parse(p.issued_at), 7 * 86400 * 1000, 'default expiry: 7 days');
      assert.equal(p.templates.alg, 'AES-256-GCM');
      assert.equal(p.templates.kdf.name, 'scrypt');

      // The template travels encrypted: the plaintext embedding (from the portability export) is not in it.
      const exp = await app.inject({ method: 'GET', url: '/api/clients/users/EMP001/export/', headers: { authorization: tenant.auth } });
      const embedding = Float32Array.from(exp.json().face_templates[0].embedding as number[]);
      const plain = Buffer.from(embedding.buffer);
      assert.equal(Buffer.from(p.templates.ciphertext, 'base64').length, plain.length);
      assert.notEqual(Buffer.from(p.templates.ciphertext, 'base64').subarray(0, 64).toString('hex'), plain.subarray(0, 64).toString('hex'));
      assert.ok(!res.body.includes(plain.toString('base64').slice(0, 40)));
      assert.ok(!res.body.includes(SECRET), 'the secret is not echoed');

      const second = await issue(tenant, 'EMP001', { package_secret: SECRET, expires_in: 3600 });
      assert.equal(second.statusCode, 201, second.body);
      assert.equal(second.json().issued_count, 2);
      assert.equal(Date.parse(second.json().expires_at) - Date.parse(second.json().issued_at), 3600 * 1000);

      const audit = await container.database.db
        .selectFrom('audit_logs')
        .select(['category', 'action', 'target', 'details', 'actor'])
        .where('client_id', '=', tenant.clientId)
        .where('action', '=', 'offline_package.issued')
        .execute();
      assert.equal(audit.length, 2);
      assert.equal(audit[0].category, 'data_access');
      assert.ok(audit.some((a) => (a.details as { package_id: string }).package_id === issued.package_id));
      assert.ok(!JSON.stringify(audit).includes(SECRET), 'the secret is never written');
      saved!.pkg = pkg;
    });

    test('issue: expires_in over 90 days and a short package_secret are validation errors', async () => {
      let res = await issue(tenant, 'EMP001', { package_secret: SECRET, expires_in: 90 * 86400 + 1 });
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().code, 'VALIDATION_ERROR');
      assert.equal(res.json().details.field, 'expires_in');
      res = await issue(tenant, 'EMP001', { package_secret: 'short' });
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().details.field, 'package_secret');
      res = await issue(tenant, 'EMP001', {});
      assert.equal(res.statusCode, 400, res.body);
      res = await t().app.inject({ method: 'POST', url: '/api/clients/users/EMP001/offline-package/', payload: { package_secret: SECRET } });
      assert.equal(res.statusCode, 401, 'issuing needs API credentials');
    });

    test('issue: no enrollment → NOT_ENROLLED; deactivated → USER_INACTIVE; another tenant’s user → the same 404 as unknown', async () => {
      let res = await issue(tenant, 'EMP002');
      assert.equal(res.statusCode, 422, res.body);
      assert.equal(res.json().code, 'NOT_ENROLLED');
      res = await issue(tenant, 'EMP003');
      assert.equal(res.statusCode, 409, res.body);
      assert.equal(res.json().code, 'USER_INACTIVE');
      const unknown = await issue(other, 'NOBODY');
      assert.equal(unknown.statusCode, 404, unknown.body);
      assert.equal(unknown.json().code, 'USER_NOT_FOUND');
      const foreign = await issue(other, 'EMP001');
      assert.equal(foreign.statusCode, 404);
      assert.deepEqual(foreign.json(), unknown.json());
      const foreignUuid = await issue(other, decode(issued.package).user.id);
      assert.deepEqual(foreignUuid.json(), unknown.json());
    });

    test('device, without the server: the same person is authenticated, another is not', async () => {
      const genuine = await verify(issued.package, OBAMA_2);
      assert.equal(genuine.authenticated, true, JSON.stringify(genuine));
      assert.ok(genuine.confidence >= 0.8, String(genuine.confidence));
      assert.equal(genuine.user_id, 'EMP001');
      assert.equal(genuine.model, 'faceplugin-fr-v1');
      assert.equal(genuine.expired, false);
      const impostor = await verify(issued.package, BIDEN_1);
      assert.equal(impostor.authenticated, false, JSON.stringify(impostor));
      assert.ok(impostor.confidence < 0.8);
      assert.ok(impostor.similarity < genuine.similarity);
      // The whole issue response works too (what a client gets from the API).
      assert.equal((await verify(issued, OBAMA_2)).authenticated, true);
    });

    test('device: a package another tenant of this server issued → OFFLINE_CLIENT_MISMATCH, though the server signed it', async () => {
      // The attack: tenant B enrolls its own face, issues a package with a secret of its choosing, and
      // hands it to tenant A's door reader, which trusts the server's key. The signature is genuine.
      const { app } = t();
      await createUser(app, other, 'INTRUDER', 'Barack Obama');
      const enrolled = await postForm(app, '/api/auth/enrollment/direct/', other, [
        { name: 'user_id', value: 'INTRUDER' },
        { name: 'image', value: dataFile(OBAMA_1) },
        { name: 'quality_threshold', value: '0.3' },
      ]);
      assert.equal(enrolled.statusCode, 201, enrolled.body);
      const foreign = await issue(other, 'INTRUDER');
      assert.equal(foreign.statusCode, 201, foreign.body);
      await rejects(verify(foreign.json().package, OBAMA_2), 'OFFLINE_CLIENT_MISMATCH');
      // Tenant B's own devices accept it; a device must name its tenant.
      assert.equal((await verify(foreign.json().package, OBAMA_2, { clientId: other.clientId })).authenticated, true);
      await rejects(verify(issued.package, OBAMA_2, { clientId: '' }), 'VALIDATION_ERROR');
    });

    test('device: a tampered package (one template byte, the expiry, or a forged signer) → OFFLINE_SIGNATURE_INVALID', async () => {
      const p = decode(issued.package);
      const ct = Buffer.from(p.templates.ciphertext, 'base64');
      ct[100] ^= 0x01;
      const oneByte = { ...issued.package, payload: encode({ ...p, templates: { ...p.templates, ciphertext: ct.toString('base64') } }) };
      await rejects(verify(oneByte, OBAMA_2), 'OFFLINE_SIGNATURE_INVALID');
      const later = { ...issued.package, payload: encode({ ...p, expires_at: new Date(Date.parse(p.expires_at) + 365 * 86400e3).toISOString() }) };
      await rejects(verify(later, OBAMA_2), 'OFFLINE_SIGNATURE_INVALID');
      const lowerBar = { ...issued.package, payload: encode({ ...p, verification: { ...p.verification, confidence_threshold: 0 } }) };
      await rejects(verify(lowerBar, BIDEN_1), 'OFFLINE_SIGNATURE_INVALID');
      // A package signed by another key (a forger's) does not verify with this server's public key.
      const forged = signPackage(p, generateKeyPairSync('ed25519').privateKey);
      await rejects(verify(forged, OBAMA_2), 'OFFLINE_SIGNATURE_INVALID');
      await rejects(verify({ hello: 'world' }, OBAMA_2), 'OFFLINE_PACKAGE_INVALID');
    });

    test('device: a wrong package secret → OFFLINE_DECRYPTION_FAILED', async () => {
      await rejects(verify(issued.package, OBAMA_2, { packageSecret: `${SECRET}x` }), 'OFFLINE_DECRYPTION_FAILED');
    });

    test('device: an expired package → OFFLINE_PACKAGE_EXPIRED (or expired:true when asked to report it)', async () => {
      const res = await issue(tenant, 'EMP001', { package_secret: SECRET, expires_in: 60 });
      assert.equal(res.statusCode, 201, res.body);
      const short = res.json().package;
      assert.equal((await verify(short, OBAMA_2)).authenticated, true, 'valid before expiry');
      const afterExpiry = new Date(Date.now() + 61_000);
      await rejects(verify(short, OBAMA_2, { now: afterExpiry }), 'OFFLINE_PACKAGE_EXPIRED');
      const reported = await verify(short, OBAMA_2, { now: afterExpiry, allowExpired: true });
      assert.equal(reported.expired, true);
      assert.equal(reported.authenticated, false);
    });

    test('device: an engine computing another model → MODEL_MISMATCH', async () => {
      const dlib: FaceEngine = { ...deviceEngine, analyze: deviceEngine.analyze.bind(deviceEngine), similarity: deviceEngine.similarity.bind(deviceEngine), defaultModelId: MODEL_DLIB };
      await rejects(verify(issued.package, OBAMA_2, { engine: dlib }), 'MODEL_MISMATCH');
    });

    test('deleting the user does not recall a package already issued (docs/offline.md)', async () => {
      const res = await t().app.inject({ method: 'DELETE', url: '/api/clients/users/EMP001/', headers: { authorization: tenant.auth } });
      assert.equal(res.statusCode, 204);
      assert.equal((await issue(tenant, 'EMP001')).statusCode, 404);
      assert.equal((await verify(issued.package, OBAMA_2)).authenticated, true, 'the device still holds a valid package until it expires');
    });
  });
}

describe('wajah offline verify (CLI, a separate process without server, database or network)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-offline-cli-'));
  const dataDir = path.join(dir, 'no-data-dir');
  // Any TCP connection or DNS lookup in the CLI process aborts it with status 97. Local Unix sockets stay
  // allowed: tsx's loader probes for a parent `tsx` process's IPC pipe at start.
  const noNetwork = path.join(dir, 'no-network.mjs');
  fs.writeFileSync(
    noNetwork,
    `import net from 'node:net'; import dns from 'node:dns';
const deny = (what) => function () { process.stderr.write('NETWORK ' + what + '\\n'); process.exit(97); };
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const o = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (o && typeof o === 'object' && typeof o.path === 'string') return connect.apply(this, args);
  if (typeof o === 'string' && !/^\\d+$/.test(o)) return connect.apply(this, args);
  return deny('connect ' + JSON.stringify(o))();
};
dns.lookup = deny('lookup'); dns.promises.lookup = deny('lookup');\n`,
  );
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const files = () => {
    assert.ok(saved?.pkg, 'a package was issued above');
    const pkgFile = path.join(dir, 'pkg.json');
    fs.writeFileSync(pkgFile, JSON.stringify(saved.pkg));
    fs.writeFileSync(path.join(dir, 'key.pem'), saved.publicKeyPem);
    fs.writeFileSync(path.join(dir, 'key.json'), JSON.stringify(saved.publicKeyAnswer));
    const p = decode(saved.pkg);
    fs.writeFileSync(path.join(dir, 'tampered.json'), JSON.stringify({ ...saved.pkg, payload: encode({ ...p, expires_at: '2099-01-01T00:00:00.000Z' }) }));
    for (const f of [OBAMA_2, BIDEN_1]) fs.writeFileSync(path.join(dir, path.basename(f)), dataFile(f));
    return pkgFile;
  };

  function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', noNetwork, path.join(root, 'bin/wajah.js'), 'offline', 'verify', ...args], {
        cwd: dir,
        env: { ...process.env, WAJAH_DATA_DIR: dataDir, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', REDIS_URL: '', WAJAH_URL: '', ...env },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  }

  test('the same person: exit 0 and a JSON result; another person: exit 1', async () => {
    files();
    const ok = await cli(['--package', 'pkg.json', '--secret', SECRET, '--public-key', 'key.pem', '--client-id', saved!.clientId, '--user-id', 'EMP001', '--image', 'obama_02.jpg']);
    assert.equal(ok.code, 0, ok.stderr);
    const result = JSON.parse(ok.stdout);
    assert.equal(result.authenticated, true);
    assert.equal(result.user_id, 'EMP001');
    assert.ok(result.confidence >= 0.8);
    // During a key rotation the device holds the new key and the old one: the package's key_id picks.
    fs.writeFileSync(path.join(dir, 'new-key.pem'), generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }));
    const rotating = await cli(['--package', 'pkg.json', '--secret', SECRET, '--public-key', 'new-key.pem', '--public-key', 'key.pem', '--client-id', saved!.clientId, '--image', 'obama_02.jpg']);
    assert.equal(rotating.code, 0, rotating.stdout + rotating.stderr);
    const dropped = await cli(['--package', 'pkg.json', '--secret', SECRET, '--public-key', 'new-key.pem', '--client-id', saved!.clientId, '--image', 'obama_02.jpg']);
    assert.equal(JSON.parse(dropped.stdout).error.code, 'OFFLINE_SIGNATURE_INVALID');
    // The secret from the environment, the public key as the endpoint's JSON answer.
    const no = await cli(['--package', 'pkg.json', '--public-key', 'key.json', '--client-id', saved!.clientId, '--image', 'biden_01.jpg'], { WAJAH_OFFLINE_PACKAGE_SECRET: SECRET });
    assert.equal(no.code, 1, no.stderr);
    assert.equal(JSON.parse(no.stdout).authenticated, false);
    assert.equal(fs.existsSync(dataDir), false, 'no data directory (database, keys) was created');
  });

  test('errors exit 2 with a coded JSON error: tampered package, wrong secret, missing file, missing option, another tenant or user', async () => {
    files();
    const tampered = await cli(['--package', 'tampered.json', '--secret', SECRET, '--public-key', 'key.pem', '--client-id', saved!.clientId, '--image', 'obama_02.jpg']);
    assert.equal(tampered.code, 2, tampered.stderr);
    assert.equal(JSON.parse(tampered.stdout).error.code, 'OFFLINE_SIGNATURE_INVALID');
    const wrong = await cli(['--package', 'pkg.json', '--secret', 'not-the-secret-at-all', '--public-key', 'key.pem', '--client-id', saved!.clientId, '--image', 'obama_02.jpg']);
    assert.equal(wrong.code, 2, wrong.stderr);
    assert.equal(JSON.parse(wrong.stdout).error.code, 'OFFLINE_DECRYPTION_FAILED');
    const missing = await cli(['--package', 'nope.json', '--secret', SECRET, '--public-key', 'key.pem', '--client-id', saved!.clientId, '--image', 'obama_02.jpg']);
    assert.equal(missing.code, 2);
    assert.equal(JSON.parse(missing.stdout).error.code, 'VALIDATION_ERROR');
    const noImage = await cli(['--package', 'pkg.json', '--secret', SECRET, '--public-key', 'key.pem', '--client-id', saved!.clientId]);
    assert.equal(noImage.code, 2, noImage.stderr);
    assert.match(noImage.stderr, /--image/);
    const noClient = await cli(['--package', 'pkg.json', '--secret', SECRET, '--public-key', 'key.pem', '--image', 'obama_02.jpg']);
    assert.equal(noClient.code, 2, noClient.stderr);
    assert.equal(JSON.parse(noClient.stdout).error.code, 'VALIDATION_ERROR');
    const foreign = await cli(['--package', 'pkg.json', '--secret', SECRET, '--public-key', 'key.pem', '--client-id', randomUUID(), '--image', 'obama_02.jpg']);
    assert.equal(foreign.code, 2, foreign.stderr);
    assert.equal(JSON.parse(foreign.stdout).error.code, 'OFFLINE_CLIENT_MISMATCH');
    // EMP001's genuine package where the device expects another user's (src/offline/verifier.test.ts).
    const otherUser = await cli(['--package', 'pkg.json', '--secret', SECRET, '--public-key', 'key.pem', '--client-id', saved!.clientId, '--user-id', 'EMP002', '--image', 'obama_02.jpg']);
    assert.equal(otherUser.code, 2, otherUser.stderr);
    assert.deepEqual(JSON.parse(otherUser.stdout).error, { code: 'OFFLINE_USER_MISMATCH', message: "The package is user EMP001's, not EMP002's", details: { package_user_id: 'EMP001' } });
  });
});
