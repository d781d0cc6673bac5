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
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'bin/wajah.js'), ...args], { cwd: os.tmpdir(), env });
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

  test('without a server: opens the database directly; --json prints one object', async () => {
    const r = await cli('clients', 'create', '--name', 'Acme', '--tier', 'basic', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /database /);
    direct = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(direct).sort(), ['api_key', 'client_id', 'secret_key', 'tier']);
    assert.equal(direct.tier, 'basic');
    assert.equal(r.stdout.trim().split('\n').length, 1);
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
