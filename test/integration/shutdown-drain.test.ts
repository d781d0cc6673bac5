import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';

const root = path.resolve(import.meta.dirname, '../..');
const TOKEN = 'drain-test-admin-token-0123456789';

/** Starts `node src/server.ts` on the embedded database in `dataDir`; resolves once it logged `ready:`. */
async function startServer(dataDir: string, shutdownMs: number) {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    WAJAH_DATA_DIR: dataDir,
    WAJAH_ADMIN_TOKEN: TOKEN,
    WAJAH_WORKERS: '0',
    WAJAH_SHUTDOWN_TIMEOUT_MS: String(shutdownMs),
    LOG_LEVEL: 'info',
    PORT: '0',
    HOST: '127.0.0.1',
  };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  const child = spawn(process.execPath, [path.join(root, 'src/server.ts')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = { text: '' };
  child.stdout.on('data', (c: Buffer) => (log.text += c.toString()));
  child.stderr.on('data', (c: Buffer) => (log.text += c.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const until = Date.now() + 90_000;
  while (!/"msg":"ready: Wajah .* on http/.test(log.text) && child.exitCode === null && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  assert.match(log.text, /"msg":"ready: Wajah .* on http/, log.text.slice(-2000));
  const port = Number(/on http:\/\/127\.0\.0\.1:(\d+)/.exec(log.text)![1]);
  return { child, log, exited, port };
}

// docs/operations.md, Kubernetes notes: a client that holds a request open does not keep the database from closing.
describe('shutdown with a request held open', () => {
  test('a client trickling an upload: SIGTERM cuts it after the drain window, closes the database and exits 0 within the deadline', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-drain-'));
    const server = await startServer(dataDir, 6000);
    const sock = net.connect(server.port, '127.0.0.1');
    sock.on('error', () => {});
    try {
      // Headers and the first bytes of a body that never completes: the request stays in flight.
      sock.write(
        `POST /api/admin/clients/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"name":"`,
      );
      await new Promise((r) => setTimeout(r, 500));
      const t0 = Date.now();
      server.child.kill('SIGTERM');
      const code = await Promise.race([server.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 20_000))]);
      const ms = Date.now() - t0;
      assert.equal(code, 0, `exit ${code} after ${ms} ms:\n${server.log.text.slice(-2000)}`);
      assert.ok(ms < 6000, `exited after ${ms} ms`);
      assert.doesNotMatch(server.log.text, /shutdown did not finish in time/);
      assert.match(server.log.text, /requests still open after the drain window/);
      // The database was closed, not abandoned: the next start opens it.
      const again = await startServer(dataDir, 6000);
      again.child.kill('SIGTERM');
      assert.equal(await again.exited, 0);
    } finally {
      sock.destroy();
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
