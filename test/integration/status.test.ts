import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { as, createClient, quickBackend } from '../helpers/foundation.ts';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/env.ts';
import { createContainer, createRedis } from '../../src/container.ts';
import { ADMIN_TOKEN } from '../helpers/app.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { StatusService } from '../../src/services/status.service.ts';

const STATUS = { method: 'GET', url: '/api/core/status/' } as const;

for (const backend of backendNames()) {
  describe(`GET /api/core/status/ [${backend}]`, () => {
    const t = useTestApp(backend);
    test('the guide shape from real checks; redis disabled when not configured', async () => {
      const c = await createClient(t().app);
      const res = await as(t().app, c, STATUS);
      assert.equal(res.statusCode, 200);
      const body = res.json();
      assert.deepEqual(Object.keys(body).sort(), ['services', 'status', 'timestamp', 'version']);
      assert.deepEqual(body.services, { database: 'online', redis: 'disabled', face_recognition: 'disabled' });
      assert.equal(body.status, 'healthy');
      assert.equal(body.version, '1.0.0');
      assert.match(body.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal(res.headers['x-ratelimit-limit'], '1000');
      assert.equal(res.headers['x-ratelimit-remaining'], '999');
      assert.ok(Number(res.headers['x-ratelimit-reset']) > Date.now() / 1000);
    });
    test('requires credentials', async () => {
      assert.equal((await t().app.inject(STATUS)).statusCode, 401);
    });
  });
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('status with Redis configured but unreachable', () => {
  // Service level: the face layer's own Redis connection decides whether the whole server can start
  // with Redis down, so this checks the status probe itself.
  test('redis is offline and the service degraded', async () => {
    const port = await closedPort();
    const redis = createRedis(`redis://127.0.0.1:${port}`);
    const database = { ping: async () => true } as unknown as DatabaseHandle;
    try {
      const status = new StatusService({ version: '1.0.0', database, redis, engine: () => null });
      const body = await status.check();
      assert.deepEqual(body.services, { database: 'online', redis: 'offline', face_recognition: 'disabled' });
      assert.equal(body.status, 'degraded');
    } finally {
      redis.disconnect();
    }
  });
});

describe('status with Redis online', { skip: !process.env.WAJAH_TEST_REDIS && 'WAJAH_TEST_REDIS not set' }, () => {
  const t = useTestApp(quickBackend(), { env: { REDIS_URL: process.env.WAJAH_TEST_REDIS } });
  test('redis is online', async () => {
    const c = await createClient(t().app);
    let body;
    for (let i = 0; i < 20; i++) {
      body = (await as(t().app, c, STATUS)).json();
      if (body.services.redis === 'online') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(body.services.redis, 'online');
    assert.equal(body.status, 'healthy');
  });
});

describe('start-up with Redis configured but down', () => {
  // The whole server, not a probe: any service that waits for Redis at start-up would hold it (credential
  // changes subscribing did, until Redis came back).
  test('the server starts, answers, and reports Redis offline', async () => {
    const port = await closedPort();
    const config = loadConfig({ LOG_LEVEL: 'silent', WAJAH_ADMIN_TOKEN: ADMIN_TOKEN, WAJAH_WORKERS: '0', REDIS_URL: `redis://127.0.0.1:${port}` });
    const started = (async () => {
      const container = await createContainer(config, { engine: false, pgliteDir: 'memory://', log: { info() {}, warn() {}, error() {} } });
      return { container, app: await buildApp(config, container) };
    })();
    const outcome = await Promise.race([started, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000).unref())]);
    assert.notEqual(outcome, 'hung', 'the server did not finish starting within 30 s');
    const { app, container } = outcome as Awaited<typeof started>;
    try {
      assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
      assert.equal(await container.foundation.status.check().then((b) => b.services.redis), 'offline');
    } finally {
      await app.close();
      await container.close();
    }
  });
});
