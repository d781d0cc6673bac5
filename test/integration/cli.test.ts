import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, test } from 'node:test';
import { readRuntimeFile, localUrl, runtimeFilePath } from '../../src/cli/runtime-file.ts';

const root = path.resolve(import.meta.dirname, '../..');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-cli-'));
// The embedded database: the case where only one process may open it.
const env = { ...process.env, WAJAH_DATA_DIR: dataDir, DATABASE_URL: '', REDIS_URL: '', WAJAH_ADMIN_TOKEN: '', WAJAH_WORKERS: '0', LOG_LEVEL: 'warn', WAJAH_CLI_VERBOSE: '1' };

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return cliWith(env, ...args);
}

function cliWith(withEnv: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'bin/wajah.js'), ...args], { cwd: os.tmpdir(), env: withEnv });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

async function status(base: string, c: { api_key: string; secret_key: string }): Promise<number> {
  const res = await fetch(`${base}/core/status/`, { headers: { authorization: `ApiKey ${c.api_key}:${c.secret_key}` } });
  return res.status;
}

describe('wajah CLI on the embedded database', () => {
  let server: ChildProcess | null = null;
  after(() => {
    server?.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  let direct: { client_id: string; api_key: string; secret_key: string; tier: string };

  test('without a database: refuses instead of creating one by accident; --init creates it', async () => {
    // (The CLI first waits a moment for a server that may just have been launched; not here.)
    const quick = { ...env, WAJAH_CLI_START_WAIT_MS: '300' };
    const r = await cliWith(quick, 'clients', 'list', '--json');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /NO_DATABASE|No Wajah database/);
    assert.ok(!fs.existsSync(path.join(dataDir, 'pg')), 'nothing created');
    const typo = await cliWith(quick, '--data-dir', `${dataDir}-typo`, 'clients', 'list');
    assert.notEqual(typo.code, 0);
    assert.ok(!fs.existsSync(`${dataDir}-typo`), 'a mistyped --data-dir creates nothing');
  });

  test('without a server: opens the database directly (with --init the first time); --json prints one object with the name', async () => {
    const r = await cli('--init', 'clients', 'create', '--name', 'Acme', '--tier', 'basic', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /database /);
    direct = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(direct).sort(), ['api_key', 'client_id', 'name', 'secret_key', 'tier']);
    assert.equal((direct as { name?: string }).name, 'Acme');
    assert.equal(direct.tier, 'basic');
    assert.equal(r.stdout.trim().split('\n').length, 1);
  });

  let cfRecognition: { api_key: string; key: string; service: string; client_id: string };

  test('CompreFace keys without a server: issued once (the value shown only now), listed without it', async () => {
    const r = await cli('compreface-keys', 'create', '--client', direct.client_id, '--service', 'recognition', '--name', 'door camera', '--json');
    assert.equal(r.code, 0, r.stderr);
    cfRecognition = JSON.parse(r.stdout);
    assert.equal(cfRecognition.service, 'recognition');
    assert.match(cfRecognition.api_key, /^[0-9a-f-]{36}$/);
    const listed = await cli('compreface-keys', 'list', '--client', direct.client_id, '--json');
    assert.equal(listed.code, 0, listed.stderr);
    const keys = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(keys.map((k) => [k.key, k.service, k.status, k.name]), [[cfRecognition.key, 'recognition', 'active', 'door camera']]);
    assert.ok(!listed.stdout.includes(cfRecognition.api_key), 'the value is never listed');
    const bad = await cli('compreface-keys', 'create', '--client', direct.client_id, '--service', 'faces');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /recognition, detection, verification/);
    const unknown = await cli('compreface-keys', 'list', '--client', '00000000-0000-4000-8000-000000000000');
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /CLIENT_NOT_FOUND/);
  });

  test('with a server running: goes through its admin API (local token from the runtime file)', async () => {
    server = spawn(process.execPath, [path.join(root, 'src/server.ts')], { cwd: root, env: { ...env, PORT: '0', HOST: '127.0.0.1' }, stdio: 'ignore' });
    let info = null;
    for (let i = 0; i < 600 && !info; i++) {
      await sleep(100);
      info = readRuntimeFile(dataDir);
    }
    assert.ok(info, 'server wrote its runtime file');
    assert.equal((fs.statSync(runtimeFilePath(dataDir)).mode & 0o777).toString(8), '600');
    const base = localUrl(info);
    assert.equal(await status(base, direct), 200, 'the client created directly is served');

    const created = await cli('clients', 'create', '--name', 'Globex', '--tier', 'premium', '--json');
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stderr, /admin API at http:\/\/127\.0\.0\.1/);
    const globex = JSON.parse(created.stdout);
    assert.equal(globex.tier, 'premium');
    assert.equal(await status(base, globex), 200);

    const rotated = await cli('keys', 'rotate', globex.api_key, '--grace', '0', '--json');
    assert.equal(rotated.code, 0, rotated.stderr);
    const next = JSON.parse(rotated.stdout);
    assert.equal(next.replaces, globex.api_key);
    assert.equal(await status(base, next), 200);
    assert.equal(await status(base, globex), 401, 'old key stops after a zero grace period');
  });

  test('CompreFace keys with a server running: issued through its admin API; a key works as x-api-key until revoked', async () => {
    const base = localUrl(readRuntimeFile(dataDir)!);
    const subjects = (key: string) => fetch(`${base.replace(/\/api$/, '')}/api/v1/recognition/subjects`, { headers: { 'x-api-key': key } });
    // The key issued directly, before the server started, is served.
    assert.equal((await subjects(cfRecognition.api_key)).status, 200);
    const r = await cli('compreface-keys', 'create', '--client', direct.client_id, '--service', 'detection');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /admin API at http:\/\/127\.0\.0\.1/);
    assert.match(r.stdout, /x-api-key: [0-9a-f-]{36}/);
    const revoked = await cli('keys', 'revoke', cfRecognition.key);
    assert.equal(revoked.code, 0, revoked.stderr);
    const after = await subjects(cfRecognition.api_key);
    assert.equal(after.status, 404);
    assert.equal(((await after.json()) as { code: number }).code, 10);
    const listed = JSON.parse((await cli('compreface-keys', 'list', '--client', direct.client_id, '--json')).stdout) as Array<{ service: string; status: string }>;
    assert.deepEqual(listed.map((k) => `${k.service}:${k.status}`).sort(), ['detection:active', 'recognition:revoked']);
  });

  test('a second server on the same data directory is refused, naming the first (pid and port); the first keeps serving', async () => {
    const info = readRuntimeFile(dataDir)!;
    const second = spawn(process.execPath, [path.join(root, 'src/server.ts')], { cwd: root, env: { ...env, PORT: '0', HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    second.stdout!.on('data', (d) => (out += d));
    second.stderr!.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((r) => second.once('exit', r));
    assert.notEqual(code, 0);
    assert.match(out, /DATA_DIR_LOCKED/);
    assert.match(out, new RegExp(`pid ${info.pid}, port ${info.port}`));
    assert.equal(await status(localUrl(info), direct), 200);
    assert.equal(readRuntimeFile(dataDir)?.pid, info.pid, 'the runtime file is still the first server\'s');
  });

  test('the data directory is private whatever the umask: directory 0700, files 0600', async () => {
    const bad: string[] = [];
    const walk = (p: string) => {
      const st = fs.statSync(p);
      if ((st.mode & 0o077) !== 0) bad.push(`${p} ${(st.mode & 0o777).toString(8)}`);
      if (st.isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
    };
    walk(dataDir);
    assert.deepEqual(bad.slice(0, 5), [], `${bad.length} entries readable by group or others`);
  });

  test('after the server stops: the runtime file is gone and the CLI is direct again', async () => {
    server!.kill('SIGTERM');
    await new Promise((r) => server!.once('exit', r));
    server = null;
    assert.equal(readRuntimeFile(dataDir), null);
    const r = await cli('clients', 'list', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /database /);
    assert.deepEqual(JSON.parse(r.stdout).map((c: { name: string }) => c.name).sort(), ['Acme', 'Globex']);
  });
});

describe('one owner per data directory: kill -9 during writes, then restart', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-lock-'));
  const lockEnv = { ...env, WAJAH_DATA_DIR: dir };
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const start = async () => {
    const child = spawn(process.execPath, [path.join(root, 'src/server.ts')], { cwd: root, env: { ...lockEnv, PORT: '0', HOST: '127.0.0.1' }, stdio: 'ignore' });
    for (let i = 0; i < 600; i++) {
      await sleep(100);
      const info = readRuntimeFile(dir);
      if (info && info.pid === child.pid) return { child, base: localUrl(info) };
    }
    throw new Error('server did not start');
  };

  test('the CLI started while the server is still starting waits for it and goes through its admin API', async () => {
    const { child } = await (async () => {
      const c = spawn(process.execPath, [path.join(root, 'src/server.ts')], { cwd: root, env: { ...lockEnv, PORT: '0', HOST: '127.0.0.1' }, stdio: 'ignore' });
      return { child: c };
    })();
    // At once, as in the README's first steps (`npm start &` then the CLI).
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const c = spawn(process.execPath, [path.join(root, 'bin/wajah.js'), 'clients', 'create', '--name', 'Early', '--json'], { cwd: os.tmpdir(), env: lockEnv });
      let stdout = '', stderr = '';
      c.stdout.on('data', (d) => (stdout += d));
      c.stderr.on('data', (d) => (stderr += d));
      c.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /admin API at/);
    assert.equal(child.exitCode, null, 'the server is still running');
    child.kill('SIGTERM');
    await new Promise((res) => child.once('exit', res));
  });

  test('every write acknowledged before a kill -9 is there after the restart, and the stale lock is taken over', async () => {
    const created = await new Promise<string>((resolve) => {
      const c = spawn(process.execPath, [path.join(root, 'bin/wajah.js'), 'clients', 'create', '--name', 'Writes', '--json'], { cwd: os.tmpdir(), env: lockEnv });
      let stdout = '';
      c.stdout.on('data', (d) => (stdout += d));
      c.on('exit', () => resolve(stdout));
    });
    const { api_key, secret_key } = JSON.parse(created);
    const auth = { authorization: `ApiKey ${api_key}:${secret_key}`, 'content-type': 'application/json' };
    const { child, base } = await start();
    const acked: string[] = [];
    let stop = false;
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const id = `W${w}_${i}`;
        try {
          const res = await fetch(`${base}/clients/users/`, { method: 'POST', headers: auth, body: JSON.stringify({ external_id: id, name: `User ${id}` }) });
          if (res.status === 201) acked.push(id);
        } catch {
          return; // the server is gone
        }
      }
    });
    await sleep(1500);
    child.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    await new Promise((res) => (child.exitCode !== null || child.signalCode !== null ? res(null) : child.once('exit', res)));
    assert.ok(acked.length > 10, `only ${acked.length} writes acknowledged`);
    const again = await start();
    const found = new Set<string>();
    for (let page = 1; ; page++) {
      const res = await fetch(`${again.base}/clients/users/?page=${page}&page_size=100`, { headers: auth });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { results: Array<{ external_id: string }>; total_pages: number };
      for (const u of body.results) found.add(u.external_id);
      if (page >= body.total_pages) break;
    }
    const lost = acked.filter((id) => !found.has(id));
    assert.deepEqual(lost, [], `${lost.length} of ${acked.length} acknowledged writes lost`);
    again.child.kill('SIGTERM');
    await new Promise((res) => again.child.once('exit', res));
  });
});

describe('wajah CLI --url at something that is not the admin API', () => {
  test("a non-JSON answer (a proxy's error page) is a coded error on one line, not a parser's stack trace", async () => {
    const http = await import('node:http');
    const proxy = http.createServer((_req, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<html><body>502 Bad Gateway</body></html>'));
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(proxy.address() as import('node:net').AddressInfo).port}`;
      const r = await cliWith({ ...env, WAJAH_ADMIN_TOKEN: 'cli-remote-token-0123456789' }, '--url', url, 'clients', 'list', '--json');
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^error UNEXPECTED_RESPONSE: GET .*\/admin\/clients\/.* answered HTTP 502 without the admin API's JSON \(<html><body>502 Bad Gateway/m);
      assert.doesNotMatch(r.stderr, /SyntaxError|    at /);
    } finally {
      proxy.close();
    }
  });
});
