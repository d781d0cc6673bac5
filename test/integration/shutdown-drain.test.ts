import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/env.ts';
import { WsClient } from '../helpers/ws-client.ts';

const root = path.resolve(import.meta.dirname, '../..');
const TOKEN = 'drain-test-admin-token-0123456789';
// One data directory for the file: only the first start migrates it, later starts reopen it (faster), and
// each of them checks again that the previous shutdown closed the database cleanly.
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-drain-'));
after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

/** Starts `node src/server.ts` on the embedded database in `dataDir`; resolves once it logged `ready:`. */
async function startServer(dataDir: string, shutdownMs: number, extraEnv: NodeJS.ProcessEnv = {}) {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    WAJAH_DATA_DIR: dataDir,
    WAJAH_ADMIN_TOKEN: TOKEN,
    WAJAH_WORKERS: '0',
    WAJAH_SHUTDOWN_TIMEOUT_MS: String(shutdownMs),
    LOG_LEVEL: 'info',
    PORT: '0',
    HOST: '127.0.0.1',
    ...extraEnv,
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

// docs/operations.md, "Shutdown behind a load balancer": a client that holds a request open does not keep the database from closing.
describe('shutdown with a request held open', () => {
  test('a client trickling an upload: SIGTERM cuts it after the drain window, closes the database and exits 0 within the deadline', async () => {
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
    }
  });
});

/** One GET on a fresh connection (no keep-alive pool): proves the server still accepts connections. */
function get(port: number, url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string } | { refused: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: url, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ refused: e.code ?? e.message }));
  });
}

/** Polls /readyz until the signal has been handled (it answers 503), for at most 5 s. */
async function untilUnready(port: number) {
  const until = Date.now() + 5000;
  let res = await get(port, '/readyz');
  while ('status' in res && res.status === 200 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 20));
    res = await get(port, '/readyz');
  }
  return res;
}

// docs/operations.md, "Shutdown behind a load balancer": the instance leaves the load balancer before it stops accepting.
describe('shutdown delay (WAJAH_SHUTDOWN_DELAY_MS)', () => {
  test('the delay is part of the deadline: 0 unless set, and at least 1000 ms below WAJAH_SHUTDOWN_TIMEOUT_MS', () => {
    assert.equal(loadConfig({}).shutdownDelayMs, 0);
    assert.equal(loadConfig({ WAJAH_SHUTDOWN_DELAY_MS: '9000' }).shutdownDelayMs, 9000);
    for (const env of [{ WAJAH_SHUTDOWN_DELAY_MS: '9001' }, { WAJAH_SHUTDOWN_DELAY_MS: '5000', WAJAH_SHUTDOWN_TIMEOUT_MS: '5000' }, { WAJAH_SHUTDOWN_DELAY_MS: '-1' }]) {
      assert.throws(() => loadConfig(env), (e) => e instanceof ConfigError && /WAJAH_SHUTDOWN_DELAY_MS/.test(e.message), JSON.stringify(env));
    }
  });

  test('SIGTERM: /readyz answers 503 shutting_down while requests are still served, then streams get 1001, the port closes and the process exits 0', async () => {
    const delayMs = 1500;
    const server = await startServer(dataDir, 6000, { WAJAH_SHUTDOWN_DELAY_MS: String(delayMs) });
    try {
      const stream = await WsClient.connect(`ws://127.0.0.1:${server.port}/ws/recognition/`);
      let streamClosedAt = 0;
      void stream.closed.then(() => (streamClosedAt = Date.now()));
      const t0 = Date.now();
      server.child.kill('SIGTERM');
      const ready = await untilUnready(server.port);
      assert.ok('status' in ready, `/readyz during the delay: ${JSON.stringify(ready)}`);
      assert.equal(ready.status, 503);
      assert.equal(JSON.parse(ready.body).status, 'shutting_down');
      // A request the load balancer still routes here, on a new connection, is served as usual.
      const api = await get(server.port, '/api/admin/clients/', { authorization: `Bearer ${TOKEN}` });
      assert.ok('status' in api, `API request during the delay: ${JSON.stringify(api)}`);
      assert.equal(api.status, 200, api.body);

      const code = await Promise.race([server.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15_000))]);
      const ms = Date.now() - t0;
      assert.equal(code, 0, `exit ${code} after ${ms} ms:\n${server.log.text.slice(-2000)}`);
      assert.ok(ms >= delayMs && ms < 6000, `exited after ${ms} ms`);
      assert.deepEqual(await stream.closed, { code: 1001, reason: 'server shutting down' });
      // Streams are told when the server stops accepting, not at the signal.
      assert.ok(streamClosedAt - t0 >= delayMs, `the stream was closed ${streamClosedAt - t0} ms after SIGTERM, before the delay ended`);
      assert.deepEqual(await get(server.port, '/readyz'), { refused: 'ECONNREFUSED' });
      assert.doesNotMatch(server.log.text, /shutdown did not finish in time/);
    } finally {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
    }
  });

  test('a second signal during the delay skips the rest of it', async () => {
    const server = await startServer(dataDir, 20_000, { WAJAH_SHUTDOWN_DELAY_MS: '15000' });
    try {
      const t0 = Date.now();
      server.child.kill('SIGTERM');
      const ready = await untilUnready(server.port);
      assert.ok('status' in ready && ready.status === 503, JSON.stringify(ready));
      server.child.kill('SIGINT');
      const code = await Promise.race([server.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15_000))]);
      const ms = Date.now() - t0;
      assert.equal(code, 0, `exit ${code} after ${ms} ms:\n${server.log.text.slice(-2000)}`);
      assert.ok(ms < 8000, `exited after ${ms} ms, not at the second signal`);
    } finally {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
    }
  });
});
