import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { useTestApp } from '../helpers/app.ts';
import { as, createClient, quickBackend, type TestClient } from '../helpers/foundation.ts';

/** A receiver that answers 200 at once and notes when each delivery arrived. */
function quickReceiver() {
  const arrived: Array<{ at: number; event: string }> = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      arrived.push({ at: Date.now(), event: (JSON.parse(raw) as { event: string }).event });
      res.writeHead(200).end('{}');
    });
  });
  return { server, arrived };
}

/** A receiver that reads the request and never answers (the "endpoints that never answer"). */
function hangingReceiver() {
  const open = new Set<http.ServerResponse>();
  let received = 0;
  const server = http.createServer((req, res) => {
    received++;
    open.add(res);
    req.resume();
  });
  return { server, open, received: () => received };
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

/**
 * The dispatcher started, a quick receiver and a hanging one listening; `run` gets both and their ports.
 * Afterwards every hanging request is dropped and both servers are closed.
 */
async function withReceivers(
  t: () => { app: Parameters<typeof as>[0]; container: { webhooks: { dispatcher: { start(): void } } } },
  run: (r: { quick: ReturnType<typeof quickReceiver>; hang: ReturnType<typeof hangingReceiver>; quickPort: number; hangPort: number }) => Promise<void>,
): Promise<void> {
  t().container.webhooks.dispatcher.start();
  const quick = quickReceiver();
  const hang = hangingReceiver();
  const quickPort = await listen(quick.server);
  const hangPort = await listen(hang.server);
  try {
    await run({ quick, hang, quickPort, hangPort });
  } finally {
    for (const r of hang.open) r.destroy();
    hang.server.closeAllConnections();
    quick.server.closeAllConnections();
    await Promise.all([new Promise((r) => hang.server.close(r)), new Promise((r) => quick.server.close(r))]);
  }
}

async function endpoint(app: Parameters<typeof as>[0], c: TestClient, url: string) {
  const res = await as(app, c, { method: 'POST', url: '/api/webhooks/endpoints/', payload: { url, events: ['user.created'], secret: 'fairness_secret_123456', retry_policy: { max_retries: 0 } } });
  assert.equal(res.statusCode, 201, res.body);
}

// Issue 9.8: 50 endpoints of tenant B that never answer must not delay tenant A's deliveries.
describe('fair webhook delivery', () => {
  const t = useTestApp(quickBackend(), { env: { WAJAH_WEBHOOK_POLL_MS: '100', WAJAH_WEBHOOK_TIMEOUT_MS: '30000' } });

  test("tenant A delivers while tenant B's 50 hanging endpoints are in flight", async () => {
    const { app } = t();
    await withReceivers(t, async ({ quick, hang, quickPort, hangPort }) => {
      const a = await createClient(app, { name: 'Tenant A', tier: 'enterprise' });
      const b = await createClient(app, { name: 'Tenant B', tier: 'enterprise' });
      await endpoint(app, a, `http://127.0.0.1:${quickPort}/a`);
      for (let i = 0; i < 50; i++) await endpoint(app, b, `http://127.0.0.1:${hangPort}/b${i}`);
      // B first: 3 events × 50 endpoints = 150 deliveries that will hang for 30 s each.
      for (let i = 0; i < 3; i++) assert.equal((await as(app, b, { method: 'POST', url: '/api/clients/users/', payload: { external_id: `b${i}`, name: 'B' } })).statusCode, 201);
      const deadline = Date.now() + 5000;
      while (hang.received() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(hang.received() > 0, "B's deliveries are in flight");

      const latencies: number[] = [];
      for (let i = 0; i < 5; i++) {
        const sent = Date.now();
        const before = quick.arrived.length;
        assert.equal((await as(app, a, { method: 'POST', url: '/api/clients/users/', payload: { external_id: `a${i}`, name: 'A' } })).statusCode, 201);
        while (quick.arrived.length === before && Date.now() - sent < 10_000) await new Promise((r) => setTimeout(r, 10));
        assert.ok(quick.arrived.length > before, `A's delivery ${i} did not arrive within 10 s`);
        latencies.push(quick.arrived.at(-1)!.at - sent);
      }
      // B's receivers still hold their requests: A was not waiting behind them.
      assert.ok(hang.open.size > 0 && [...hang.open].some((r) => !r.writableEnded));
      // B holds at most its share of the dispatcher.
      assert.ok(hang.received() <= 8, `B had ${hang.received()} deliveries in flight`);
      assert.ok(Math.max(...latencies) < 2000, `A's latencies ${latencies.join(', ')} ms`);
    });
  });

  test("tenant B's test pings to a receiver that never answers take its share only: A still delivers, and extra pings get 429", async () => {
    // The attack: pings were sent around the fair shares, so 20 of them held every slot of the
    // dispatcher and A's deliveries waited until they timed out.
    const { app } = t();
    await withReceivers(t, async ({ quick, hang, quickPort, hangPort }) => {
      const a = await createClient(app, { name: 'Tenant A pings', tier: 'enterprise' });
      const b = await createClient(app, { name: 'Tenant B pings', tier: 'enterprise' });
      await endpoint(app, a, `http://127.0.0.1:${quickPort}/a`);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await as(app, b, { method: 'POST', url: '/api/webhooks/endpoints/', payload: { url: `http://127.0.0.1:${hangPort}/p${i}`, events: ['user.created'], retry_policy: { max_retries: 0 } } });
        ids.push(res.json().id as string);
      }
      const pings = Array.from({ length: 20 }, (_, i) => as(app, b, { method: 'POST', url: `/api/webhooks/endpoints/${ids[i % ids.length]}/test/` }));
      const settled = Promise.all(pings);
      const deadline = Date.now() + 5000;
      while (hang.received() < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const sent = Date.now();
      assert.equal((await as(app, a, { method: 'POST', url: '/api/clients/users/', payload: { external_id: 'ping-a', name: 'A' } })).statusCode, 201);
      while (quick.arrived.length === 0 && Date.now() - sent < 10_000) await new Promise((r) => setTimeout(r, 10));
      assert.equal(quick.arrived.length, 1, "A's delivery did not arrive within 10 s");
      assert.ok(quick.arrived[0]!.at - sent < 2000, `A waited ${quick.arrived[0]!.at - sent} ms`);
      assert.ok(hang.received() <= 4, `B's pings held ${hang.received()} slots (its share is 4)`);
      for (const r of hang.open) r.destroy(); // let the pings that went out end
      const answers = await settled;
      const busy = answers.filter((r) => r.statusCode === 429);
      assert.equal(busy.length, 20 - hang.received(), answers.map((r) => r.statusCode).join(','));
      assert.equal(busy[0]!.json().code, 'WEBHOOK_TEST_BUSY');
      assert.equal(busy[0]!.headers['retry-after'], '1');
    });
  });
  test('a second test ping of an endpoint whose first ping is still being sent answers 429', async () => {
    // The check looked only at pings reserved but not yet sent: once the first was on the wire, a second
    // one to the same hanging receiver went out too.
    const { app } = t();
    await withReceivers(t, async ({ hang, hangPort }) => {
      const c = await createClient(app, { name: 'One ping', tier: 'enterprise' });
      const made = await as(app, c, { method: 'POST', url: '/api/webhooks/endpoints/', payload: { url: `http://127.0.0.1:${hangPort}/one`, events: ['user.created'], retry_policy: { max_retries: 0 } } });
      const id = made.json().id as string;
      const first = as(app, c, { method: 'POST', url: `/api/webhooks/endpoints/${id}/test/` });
      const deadline = Date.now() + 5000;
      while (hang.received() < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(hang.received(), 1, 'the first ping is on the wire');
      const second = await as(app, c, { method: 'POST', url: `/api/webhooks/endpoints/${id}/test/` });
      assert.equal(second.statusCode, 429, second.body);
      assert.equal(second.json().code, 'WEBHOOK_TEST_BUSY');
      assert.equal(hang.received(), 1);
      for (const r of hang.open) r.destroy();
      await first;
    });
  });

  test('creations sent at once cannot pass the 50-endpoint limit', async () => {
    // The count and the insert were separate: 70 creations at once all saw fewer than 50 and all inserted.
    const { app } = t();
    const c = await createClient(app, { name: 'Many endpoints', tier: 'enterprise' });
    const answers = await Promise.all(
      Array.from({ length: 70 }, (_, i) => as(app, c, { method: 'POST', url: '/api/webhooks/endpoints/', payload: { url: `http://127.0.0.1:9/${i}`, events: ['user.created'] } })),
    );
    assert.equal(answers.filter((r) => r.statusCode === 201).length, 50, answers.map((r) => r.statusCode).join(','));
    const refused = answers.filter((r) => r.statusCode !== 201);
    assert.ok(refused.every((r) => r.statusCode === 403 && r.json().code === 'WEBHOOK_LIMIT_EXCEEDED'), refused.map((r) => r.body).join('\n'));
    const list = await as(app, c, { method: 'GET', url: '/api/webhooks/endpoints/?page_size=100' });
    assert.equal(list.json().count, 50);
  });
});
