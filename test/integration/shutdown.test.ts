import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { createBackend, type Backend } from '../helpers/backends.ts';
import { quickBackend } from '../helpers/foundation.ts';

const root = path.resolve(import.meta.dirname, '../..');
const REDIS = new URL(process.env.WAJAH_TEST_REDIS || 'redis://127.0.0.1:6379');

/** A TCP relay to the real Redis that can be cut, leaving the server with an unreachable Redis. */
async function cuttableRedis(): Promise<{ url: string; cut(): void; close(): void }> {
  const sockets = new Set<net.Socket>();
  const relay = net.createServer((client) => {
    const upstream = net.connect(Number(REDIS.port || 6379), REDIS.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  const port = (relay.address() as net.AddressInfo).port;
  return {
    url: `redis://127.0.0.1:${port}`,
    cut() {
      relay.close();
      // Half-dead: the sockets stay open but nothing answers (a partitioned network), the worst case.
      for (const s of sockets) s.pause();
    },
    close() {
      relay.close();
      for (const s of sockets) s.destroy();
    },
  };
}

// Issue 9.9: shutdown is bounded whatever Redis does.
describe('bounded shutdown', { skip: !process.env.WAJAH_TEST_REDIS && 'Redis not configured' }, () => {
  let backend: Backend | undefined;
  after(async () => backend?.cleanup());

  test('Redis unreachable (connections hang), then SIGTERM: the process exits within the shutdown deadline', async () => {
    backend = await createBackend(quickBackend());
    const redis = await cuttableRedis();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-shutdown-'));
    const env = {
      ...process.env,
      WAJAH_DATA_DIR: dataDir,
      DATABASE_URL: backend.databaseUrl ?? '',
      REDIS_URL: redis.url,
      WAJAH_ADMIN_TOKEN: 'shutdown-test-token-0123456789',
      WAJAH_WORKERS: '0',
      WAJAH_SHUTDOWN_TIMEOUT_MS: '5000',
      LOG_LEVEL: 'info',
      PORT: '0',
      HOST: '127.0.0.1',
    };
    const child = spawn(process.execPath, [path.join(root, 'src/server.ts')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const ready = Date.now() + 60_000;
      while (!/"msg":"ready: Wajah .* on http/.test(out) && Date.now() < ready) await new Promise((r) => setTimeout(r, 100));
      assert.match(out, /"msg":"ready: Wajah .* on http/, out.slice(-2000));
      const port = Number(/on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
      redis.cut();
      // Requests that touch Redis (the rate limiter) while it hangs.
      void fetch(`http://127.0.0.1:${port}/api/clients/users/`, { headers: { authorization: 'ApiKey wk_x:wsk_y' } }).catch(() => {});
      await new Promise((r) => setTimeout(r, 500));
      const t0 = Date.now();
      child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 20_000))]);
      const ms = Date.now() - t0;
      assert.notEqual(code, 'hung', `still running 20 s after SIGTERM:\n${out.slice(-2000)}`);
      assert.ok(ms < 8000, `exited after ${ms} ms`);
      console.log(`shutdown with Redis unreachable: exit ${code} after ${ms} ms`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      redis.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
