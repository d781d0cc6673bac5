// A Redis that accepts connections but stops answering (a paused or partitioned host) must not hang the server:
// its commands time out and their callers fall back to this process's own state, as for a Redis that is down.
// Before, requests touching it (rate limits, the admin token guard, a wrong key) waited as long as TCP kept the
// connection, and a server started against such a Redis never finished starting.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/env.ts';
import { createContainer, type Container } from '../../src/container.ts';
import { buildApp } from '../../src/app.ts';
import { ADMIN_TOKEN } from '../helpers/app.ts';
import { adminHeaders } from '../helpers/foundation.ts';

/** Just enough of Redis for ioredis to connect and subscribe; `silent` makes it accept commands and never answer. */
function fakeRedis() {
  const state = { silent: false };
  const sockets = new Set<net.Socket>();
  const bulk = (s: string) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      // Whole RESP arrays of bulk strings (what a client sends); a partial one waits for more data.
      for (;;) {
        const text = pending.toString('latin1');
        const header = /^\*(\d+)\r\n/.exec(text);
        if (!header) return;
        let at = header[0].length;
        const args: string[] = [];
        for (let i = 0; i < Number(header[1]); i++) {
          const len = /^\$(\d+)\r\n/.exec(text.slice(at));
          if (!len || text.length < at + len[0].length + Number(len[1]) + 2) return;
          at += len[0].length;
          args.push(text.slice(at, at + Number(len[1])));
          at += Number(len[1]) + 2;
        }
        pending = pending.subarray(at);
        if (state.silent) continue;
        const cmd = args[0]?.toUpperCase();
        if (cmd === 'INFO') socket.write(bulk('# Server\r\nredis_version:7.0.0\r\nloading:0\r\n'));
        else if (cmd === 'SUBSCRIBE') args.slice(1).forEach((ch, i) => socket.write(`*3\r\n${bulk('subscribe')}${bulk(ch)}:${i + 1}\r\n`));
        else if (cmd === 'PING') socket.write('+PONG\r\n');
        else socket.write('+OK\r\n');
      }
    });
  });
  return {
    state,
    listen: () => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port))),
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The answer, or a failure naming what hung. */
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000} s`)), ms)));
  try {
    return await Promise.race([work, hung]);
  } finally {
    clearTimeout(timer);
  }
}

describe('a Redis that stops answering', () => {
  const redis = fakeRedis();
  const open: Array<{ app: FastifyInstance; container: Container }> = [];
  after(async () => {
    for (const { app, container } of open) {
      await app.close();
      await container.close();
    }
    await redis.close();
  });

  async function start(port: number) {
    const config = loadConfig({ LOG_LEVEL: 'silent', WAJAH_ADMIN_TOKEN: ADMIN_TOKEN, WAJAH_WORKERS: '0', REDIS_URL: `redis://127.0.0.1:${port}` });
    const container = await createContainer(config, { engine: false, pgliteDir: 'memory://', log: { info: () => {}, warn: () => {}, error: () => {} } });
    const app = await buildApp(config, container);
    open.push({ app, container });
    return { app, container };
  }

  test('mid-run: requests that use it still answer (its commands time out and fall back)', async () => {
    const port = await redis.listen();
    const { app } = await within(30_000, 'start-up', start(port));
    redis.state.silent = true;
    const created = await within(15_000, 'the admin API', app.inject({ method: 'POST', url: '/api/admin/clients/', headers: adminHeaders, payload: { name: 'Limited', tier: 'basic' } }));
    assert.equal(created.statusCode, 201, created.body);
    const { api_key, secret_key } = created.json();
    const listed = await within(15_000, 'a rate-limited call', app.inject({ method: 'GET', url: '/api/clients/users/', headers: { authorization: `ApiKey ${api_key}:${secret_key}` } }));
    assert.equal(listed.statusCode, 200, listed.body);
    const wrong = await within(15_000, 'a wrong key', app.inject({ method: 'GET', url: '/api/clients/users/', headers: { authorization: `ApiKey ${api_key}:wsk_wrong` } }));
    assert.equal(wrong.statusCode, 401, wrong.body);
  });

  test('at start: the server starts without it', async () => {
    const { app } = await within(40_000, 'start-up', start(await fakeListen()));
    const ready = await within(15_000, '/readyz', app.inject({ method: 'GET', url: '/readyz' }));
    assert.equal(ready.statusCode, 200, ready.body);
  });

  /** A second fake server, silent from the start. */
  async function fakeListen(): Promise<number> {
    const silent = fakeRedis();
    silent.state.silent = true;
    after(() => silent.close());
    return silent.listen();
  }
});
