import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/env.ts';
import { createContainer, type Container } from '../../src/container.ts';
import { ADMIN_TOKEN, useTestApp } from '../helpers/app.ts';
import { backendNames } from '../helpers/backends.ts';
import { TEST_MASTER_KEY } from '../helpers/face-fixtures.ts';
import { adminHeaders, as, createClient } from '../helpers/foundation.ts';
import { WsClient } from '../helpers/ws-client.ts';

const quiet = { info: () => {}, warn: () => {}, error: (m: string) => console.error(m) };

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/ws/recognition/`;
}

async function revoke(app: FastifyInstance, apiKey: string): Promise<void> {
  const res = await app.inject({ method: 'POST', url: `/api/admin/keys/${apiKey}/revoke/`, headers: adminHeaders });
  assert.equal(res.statusCode, 200, res.body);
}

/** The answer to the stream's next message: the refusal and the close that follow a revocation. */
async function refusal(ws: WsClient, withinMs: number): Promise<{ code: string; close: number }> {
  const started = Date.now();
  const m = await ws.next(withinMs);
  const { code } = await ws.closed;
  assert.ok(Date.now() - started < withinMs, `closed after ${Date.now() - started} ms`);
  return { code: m.type === 'error' ? m.code : m.type, close: code };
}

/**
 * A key revoked (or a client disabled) used to keep working for up to 5 minutes on an open WebSocket
 * stream (the periodic re-check), and for up to 5 s on another instance (its credential cache). Now the
 * change reaches the streams at once, and other instances through Redis.
 */
for (const backend of backendNames()) {
  describe(`revoking a key ends its open streams at once [${backend}]`, () => {
    const t = useTestApp(backend, { env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });

    test('a stream authenticated with a key is closed (4401) when the key is revoked; a disabled client closes (4403) the other key\'s', async () => {
      const { app } = t();
      const url = await listen(app);
      const tenant = await createClient(app, { name: 'Revoked', tier: 'enterprise' });
      const second = await app.inject({ method: 'POST', url: `/api/admin/clients/${tenant.client_id}/keys/`, headers: adminHeaders, payload: { name: 'second' } });
      assert.equal(second.statusCode, 201, second.body);
      const other = await createClient(app, { name: 'Bystander', tier: 'enterprise' });
      const [ws, ws2, bystander] = await Promise.all([
        WsClient.authenticated(url, tenant.api_key, tenant.secret_key),
        WsClient.authenticated(url, second.json().api_key, second.json().secret_key),
        WsClient.authenticated(url, other.api_key, other.secret_key),
      ]);
      await revoke(app, tenant.api_key);
      assert.deepEqual(await refusal(ws, 2000), { code: 'INVALID_CREDENTIALS', close: 4401 });
      // The tenant's other key and another tenant's stream go on.
      for (const s of [ws2, bystander]) {
        s.send({ type: 'ping', timestamp: 1 });
        assert.equal((await s.next(2000)).type, 'pong');
      }
      const disabled = await app.inject({ method: 'PATCH', url: `/api/admin/clients/${tenant.client_id}/`, headers: adminHeaders, payload: { is_active: false } });
      assert.equal(disabled.statusCode, 200, disabled.body);
      assert.deepEqual(await refusal(ws2, 2000), { code: 'CLIENT_DISABLED', close: 4403 });
      bystander.send({ type: 'ping', timestamp: 2 });
      assert.equal((await bystander.next(2000)).type, 'pong');
      bystander.close();
    });
  });
}

// Two instances sharing PostgreSQL and Redis: a key revoked on one is refused by the other at once.
const REDIS = process.env.WAJAH_TEST_REDIS;
if (backendNames().includes('postgres')) {
  describe('revoking a key on one instance reaches the other at once [postgres, Redis]', { skip: REDIS ? false : 'needs Redis (WAJAH_TEST_REDIS)' }, () => {
    const env = { WAJAH_MASTER_KEY: TEST_MASTER_KEY, REDIS_URL: REDIS ?? '' };
    const t = useTestApp('postgres', { env });

    test('the other instance refuses the key on its next request (not after its 5 s cache) and closes its stream', async (ctx) => {
      const one = t();
      const config = loadConfig({ LOG_LEVEL: 'silent', WAJAH_ADMIN_TOKEN: ADMIN_TOKEN, WAJAH_WORKERS: '0', ...env, DATABASE_URL: one.backend.databaseUrl! });
      const container: Container = await createContainer(config, { engine: false, log: quiet });
      const two = await buildApp(config, container);
      ctx.after(async () => {
        await two.close();
        await container.close();
      });
      const url = await listen(two);
      const tenant = await createClient(one.app, { name: 'Two instances', tier: 'enterprise' });
      // Instance two has the key's credentials in its cache, and a stream open with them.
      assert.equal((await as(two, tenant, { method: 'GET', url: '/api/clients/users/' })).statusCode, 200);
      const ws = await WsClient.authenticated(url, tenant.api_key, tenant.secret_key);
      await revoke(one.app, tenant.api_key);
      assert.deepEqual(await refusal(ws, 2000), { code: 'INVALID_CREDENTIALS', close: 4401 });
      // The notice has arrived (the stream closed on it): the next request is refused too.
      const after = await as(two, tenant, { method: 'GET', url: '/api/clients/users/' });
      assert.equal(after.statusCode, 401, after.body);
      assert.equal(after.json().code, 'INVALID_CREDENTIALS');
    });
  });
}
