import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/env.ts';
import { createContainer, type Container } from '../../src/container.ts';
import { WebhookCircuitsRepository } from '../../src/db/repositories/webhook-circuits.repository.ts';
import { WebhooksRepository } from '../../src/db/repositories/webhooks.repository.ts';
import { WebhookDispatcher } from '../../src/services/webhooks/dispatcher.ts';
import { SecretBox } from '../../src/services/webhooks/secret-box.ts';
import { sendWebhook } from '../../src/services/webhooks/sender.ts';
import { ADMIN_TOKEN, useTestApp } from '../helpers/app.ts';
import { backendNames } from '../helpers/backends.ts';
import { as, createClient } from '../helpers/foundation.ts';

const MASTER_KEY = 'c'.repeat(64);
const quiet = { info: () => {}, warn: () => {}, error: (m: string) => console.error(m) };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A receiver whose answer can be switched: 500, 200, or no answer at all (held until released). */
function receiver() {
  let mode: 500 | 200 | 'hang' = 500;
  const held = new Set<http.ServerResponse>();
  const seen: Array<{ at: number; answer: 500 | 200 | 'hang' }> = [];
  const server = http.createServer((req, res) => {
    req.resume();
    seen.push({ at: Date.now(), answer: mode });
    if (mode === 'hang') held.add(res);
    else res.writeHead(mode).end('{}');
  });
  return {
    server,
    seen,
    held,
    set(m: 500 | 200 | 'hang') {
      mode = m;
    },
  };
}

/**
 * Issue 11's review (noticed since issue 9.8): the circuit breaker was kept per process, so with two
 * instances a failing endpoint got twice the failed attempts before pausing, an instance that had not
 * failed yet kept sending to an endpoint the other had paused, and each sent its own probe after the
 * pause. Two dispatchers on one database here, as two instances would run (on PostgreSQL, two containers
 * with connection pools of their own).
 */
for (const backend of backendNames()) {
  describe(`webhook circuit breaker shared by instances [${backend}]`, () => {
    const t = useTestApp(backend, { env: { WAJAH_WEBHOOKS: '0', WAJAH_MASTER_KEY: MASTER_KEY } });

    test('the failures count together, the pause holds for every instance, one probe at a time', async (ctx) => {
      const { app, container, backend: b } = t();
      let other: { app: FastifyInstance; container: Container } | null = null;
      if (b.databaseUrl) {
        const config = loadConfig({ LOG_LEVEL: 'silent', WAJAH_ADMIN_TOKEN: ADMIN_TOKEN, WAJAH_WORKERS: '0', WAJAH_WEBHOOKS: '0', WAJAH_MASTER_KEY: MASTER_KEY, DATABASE_URL: b.databaseUrl });
        const c2 = await createContainer(config, { engine: false, log: quiet });
        other = { app: await buildApp(config, c2), container: c2 };
      }
      const dbOf = (c: Container) => c.database.db;
      const dispatcher = (c: Container, openMs: number) =>
        new WebhookDispatcher(new WebhooksRepository(dbOf(c)), new WebhookCircuitsRepository(dbOf(c)), sendWebhook, new SecretBox(c.masterKey(), c.previousMasterKeys), quiet, {
          pollMs: 30,
          timeoutMs: 20_000,
          allowPrivate: true,
          perEndpoint: 1,
          breaker: { failures: 3, openMs },
        });
      const r = receiver();
      await new Promise<void>((res) => r.server.listen(0, '127.0.0.1', res));
      const running: WebhookDispatcher[] = [];
      ctx.after(async () => {
        for (const h of r.held) h.destroy();
        await Promise.all(running.map((d) => d.close()));
        r.server.closeAllConnections();
        await new Promise((res) => r.server.close(res));
        if (other) {
          await other.app.close();
          await other.container.close();
        }
      });
      const start = (c: Container, openMs: number) => {
        const d = dispatcher(c, openMs);
        running.push(d);
        d.start();
        return d;
      };

      const tenant = await createClient(app, { name: 'Circuit', tier: 'enterprise' });
      const created = await as(app, tenant, {
        method: 'POST',
        url: '/api/webhooks/endpoints/',
        payload: { url: `http://127.0.0.1:${(r.server.address() as AddressInfo).port}/hook`, events: ['user.created'], secret: 'circuit_secret_123456', retry_policy: { max_retries: 20, backoff_strategy: 'fixed', retry_delay: 0 } },
      });
      assert.equal(created.statusCode, 201, created.body);
      const endpointId = created.json().id as string;
      for (let i = 0; i < 6; i++) assert.equal((await as(app, tenant, { method: 'POST', url: '/api/clients/users/', payload: { external_id: `c${i}`, name: 'C' } })).statusCode, 201);
      const circuits = new WebhookCircuitsRepository(dbOf(container));
      await new WebhooksRepository(dbOf(container)).fanOut(100);

      // 1. Instance A alone: three failures in a row open the circuit for a long pause.
      const a = start(container, 60_000);
      await until('the circuit to open', async () => ((await circuits.state(endpointId))?.openUntil?.getTime() ?? 0) > Date.now());
      await a.close();
      const afterOpen = r.seen.length;
      assert.equal(afterOpen, 3, 'one delivery at a time, three failures, then paused');

      // 2. Instance B, which has not failed itself, keeps the pause: nothing is sent.
      const bInstance = start(other?.container ?? container, 60_000);
      await sleep(800);
      assert.equal(r.seen.length, afterOpen, 'the other instance did not send to a paused endpoint');
      await bInstance.close();

      // 3. A short pause, both instances running: after it exactly one probe, which fails: paused twice as long.
      await dbOf(container).updateTable('webhook_endpoints').set({ circuit_open_ms: 200, circuit_open_until: new Date(Date.now() + 200) }).where('id', '=', endpointId).execute();
      start(container, 200);
      start(other?.container ?? container, 200);
      await until('a failed probe', () => r.seen.length === afterOpen + 1);
      await until('the pause to double', async () => (await circuits.state(endpointId))?.openMs === 400);
      assert.equal(r.seen.length, afterOpen + 1, 'one probe between the two instances');

      // 4. The next probe hangs: while it is out, neither instance sends another.
      r.set('hang');
      await until('the second probe', () => r.seen.length === afterOpen + 2);
      await sleep(1000);
      assert.equal(r.held.size, 1);
      assert.equal(r.seen.length, afterOpen + 2, 'no second probe while the first is out');
      assert.equal((await circuits.state(endpointId))?.probing, true);

      // 5. The probe succeeds: the circuit closes and the rest is delivered by both.
      r.set(200);
      for (const h of r.held) h.writeHead(200).end('{}');
      r.held.clear();
      await until('every delivery', async () => {
        const logs = await as(app, tenant, { method: 'GET', url: `/api/webhooks/logs/?endpoint_id=${endpointId}&status=delivered` });
        return logs.json().count === 6;
      });
      assert.deepEqual(await circuits.state(endpointId), { failures: 0, openMs: 0, openUntil: null, probing: false });

      // 6. Paused again; the tenant changes the endpoint's URL (it fixed what failed): the pause ends now.
      await dbOf(container).updateTable('webhook_endpoints').set({ circuit_failures: 5, circuit_open_ms: 60_000, circuit_open_until: new Date(Date.now() + 60_000) }).where('id', '=', endpointId).execute();
      const port = (r.server.address() as AddressInfo).port;
      const patched = await as(app, tenant, { method: 'PATCH', url: `/api/webhooks/endpoints/${endpointId}/`, payload: { url: `http://127.0.0.1:${port}/fixed` } });
      assert.equal(patched.statusCode, 200, patched.body);
      assert.deepEqual(await circuits.state(endpointId), { failures: 0, openMs: 0, openUntil: null, probing: false });
    });
  });
}
