import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, describe, test } from 'node:test';
import { dataFile } from '../helpers/face-fixtures.ts';
import { freePort } from '../helpers/ports.ts';

const root = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const ADMIN = 'release-admin-token-0123456789';


/**
 * `npm run build` makes a release from which a server runs without the repository and without dev tools:
 * built into a fresh directory, started there with the Node.js runtime the release carries, it serves a
 * real enrollment and verification, its own CLI reaches it, and it stops cleanly on SIGTERM.
 */
describe('release: npm run build, then the release runs on its own', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-release-'));
  const rel = path.join(work, 'wajah');
  let server: ChildProcess | null = null;
  let logs = '';
  let base = '';
  after(() => {
    server?.kill('SIGKILL');
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('the build holds the sources and production dependencies only', async () => {
    await run(process.execPath, [path.join(root, 'scripts/build.mjs'), '--out', rel], { cwd: root, maxBuffer: 64 * 1024 * 1024 });
    for (const p of ['src/server.ts', 'bin/wajah.js', 'web/index.html', 'node_modules/fastify', 'node_modules/onnxruntime-node', 'node_modules/.bin/node']) {
      assert.ok(fs.existsSync(path.join(rel, p)), `${p} is in the release`);
    }
    for (const p of ['node_modules/typescript', 'node_modules/playwright-core', 'node_modules/fast-check', 'test', 'scripts']) {
      assert.ok(!fs.existsSync(path.join(rel, p)), `${p} is not in the release`);
    }
    const tests = fs.readdirSync(path.join(rel, 'src'), { recursive: true }).filter((f) => String(f).endsWith('.test.ts'));
    assert.deepEqual(tests, []);
    const pkg = JSON.parse(fs.readFileSync(path.join(rel, 'package.json'), 'utf8'));
    assert.deepEqual(Object.keys(pkg.scripts).sort(), ['cli', 'start']);
  });

  test('it starts from its own directory on its own Node.js 24, with no warnings, and becomes ready', async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const node = path.join(rel, 'node_modules/.bin/node');
    assert.match((await run(node, ['--version'])).stdout, /^v24\./);
    server = spawn(node, ['src/server.ts'], {
      cwd: rel,
      // Nothing from the repository: not its PATH entries, not its node_modules.
      env: { PATH: '/usr/bin:/bin', HOME: work, PORT: String(port), HOST: '127.0.0.1', WAJAH_DATA_DIR: path.join(work, 'data'), WAJAH_ADMIN_TOKEN: ADMIN, WAJAH_WORKERS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout!.on('data', (d) => (logs += d));
    server.stderr!.on('data', (d) => (logs += d));
    const deadline = Date.now() + 180_000;
    let ready = false;
    while (!ready && Date.now() < deadline && server.exitCode === null) {
      ready = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
      if (!ready) await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(ready, `the release became ready; its logs:\n${logs}`);
    const lines = logs.trim().split('\n');
    // Structured JSON logs, start-up progress, and no runtime warning (EBADENGINE, "Unsupported runtime", deprecations).
    assert.ok(lines.every((l) => l.startsWith('{')), `non-JSON output:\n${lines.filter((l) => !l.startsWith('{')).join('\n')}`);
    assert.ok(lines.some((l) => l.includes('start-up: face models loaded')));
    assert.ok(!/Warning|Unsupported runtime|EBADENGINE|DeprecationWarning/.test(logs), logs);
  });

  test('a real enrollment and verification against the release; its CLI reaches it', async () => {
    const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    const created = await fetch(`${base}/api/v1/admin/clients/`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'Release', tier: 'basic' }) });
    assert.equal(created.status, 201);
    const c = (await created.json()) as { api_key: string; secret_key: string };
    const auth = { authorization: `ApiKey ${c.api_key}:${c.secret_key}` };
    const user = await fetch(`${base}/api/v1/clients/users/`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ external_id: 'EMP001', name: 'Barack Obama' }) });
    assert.equal(user.status, 201);
    const form = (file: string, fields: Record<string, string>) => {
      const f = new FormData();
      for (const [k, v] of Object.entries(fields)) f.append(k, v);
      f.append('image', new Blob([new Uint8Array(dataFile(file))], { type: 'image/jpeg' }), 'face.jpg');
      return f;
    };
    const enroll = await fetch(`${base}/api/v1/auth/enrollment/direct/`, { method: 'POST', headers: auth, body: form('faces_extra/face_recognition/obama/obama_01.jpg', { user_id: 'EMP001' }) });
    assert.equal(enroll.status, 201, await enroll.clone().text());
    const verify = await fetch(`${base}/api/v1/auth/authentication/verify/`, { method: 'POST', headers: auth, body: form('faces_extra/face_recognition/obama/obama_02.jpg', { user_id: 'EMP001' }) });
    assert.equal(verify.status, 200);
    assert.equal(((await verify.json()) as { result: { authenticated: boolean } }).result.authenticated, true);
    const other = await fetch(`${base}/api/v1/auth/authentication/verify/`, { method: 'POST', headers: auth, body: form('faces_extra/face_recognition/biden/biden_01.jpg', { user_id: 'EMP001' }) });
    assert.equal(((await other.json()) as { result: { authenticated: boolean } }).result.authenticated, false);

    const cli = await run(path.join(rel, 'node_modules/.bin/node'), ['bin/wajah.js', 'clients', 'list', '--json'], { cwd: rel, env: { PATH: '/usr/bin:/bin', WAJAH_DATA_DIR: path.join(work, 'data') } });
    assert.ok((JSON.parse(cli.stdout) as Array<{ name: string }>).some((x) => x.name === 'Release'), cli.stdout);
  });

  test('SIGTERM: it drains and exits 0', async () => {
    const exited = new Promise<number | null>((resolve) => server!.once('exit', (code) => resolve(code)));
    server!.kill('SIGTERM');
    assert.equal(await exited, 0);
    server = null;
  });
});
