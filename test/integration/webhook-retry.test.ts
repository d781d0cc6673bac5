import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { recordEvent } from '../../src/services/events.ts';
import { notifyWebhookDispatchers } from '../../src/services/webhooks/index.ts';
import { useTestApp } from '../helpers/app.ts';
import { as, createClient, quickBackend, type TestClient } from '../helpers/foundation.ts';
import { waitFor } from '../helpers/wait.ts';

interface Got {
  at: number;
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: { event: string; data: Record<string, unknown>; timestamp: string; webhook_id: string };
}

/** A receiver on 127.0.0.1; `answer` writes the response to the n-th request (1-based). */
function receiver() {
  const got: Got[] = [];
  const r = {
    got,
    answer: (_n: number, res: http.ServerResponse) => void res.writeHead(200).end('{}'),
    port: 0,
    server: http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        got.push({ at: Date.now(), headers: req.headers, raw, body: JSON.parse(raw) });
        r.answer(got.length, res);
      });
    }),
    url: () => `http://127.0.0.1:${r.port}/hook`,
  };
  return r;
}


const hmac = (raw: string, secret: string) => `sha256=${crypto.createHmac('sha256', secret).update(raw).digest('hex')}`;

describe('webhook retries: Retry-After, secret rotation, rolled-back events, deleted endpoints', () => {
  const t = useTestApp(quickBackend(), { env: { WAJAH_WEBHOOK_POLL_MS: '100', WAJAH_WEBHOOK_TIMEOUT_MS: '3000' } });
  const rx = receiver();
  before(async () => {
    await new Promise<void>((r) => rx.server.listen(0, '127.0.0.1', r));
    rx.port = (rx.server.address() as AddressInfo).port;
    t().container.webhooks.dispatcher.start();
  });
  after(async () => {
    rx.server.closeAllConnections();
    await new Promise((r) => rx.server.close(r));
  });

  async function setUp(policy: Record<string, unknown>, secret = 'retry_secret_0123456789'): Promise<{ c: TestClient; endpointId: string }> {
    const c = await createClient(t().app);
    const res = await as(t().app, c, { method: 'POST', url: '/api/webhooks/endpoints/', payload: { url: rx.url(), events: ['user.created'], secret, retry_policy: policy } });
    assert.equal(res.statusCode, 201, res.body);
    return { c, endpointId: res.json().id };
  }
  const createUser = async (c: TestClient, id: string) =>
    assert.equal((await as(t().app, c, { method: 'POST', url: '/api/clients/users/', payload: { external_id: id, name: id } })).statusCode, 201);
  const forUser = (id: string) => rx.got.filter((g) => g.body.data.user_id === id);
  const logs = async (c: TestClient) => (await as(t().app, c, { method: 'GET', url: '/api/webhooks/logs/' })).json();

  test("a 429 with Retry-After is not retried before the receiver said, even when the policy's wait is shorter", async () => {
    const { c } = await setUp({ max_retries: 3, backoff_strategy: 'fixed', retry_delay: 0.2 });
    rx.answer = (_n, res) => {
      const mine = forUser('RA-1');
      if (mine.length === 1) res.writeHead(429, { 'retry-after': '2' }).end('slow down');
      // An HTTP-date has one-second resolution (toUTCString drops the milliseconds: "in 1.5 s" read as 0.5 s
      // ahead at worst, and the test failed 2 runs in 3): a whole second at least 1 s ahead.
      else if (mine.length === 2) res.writeHead(503, { 'retry-after': new Date(Math.ceil((Date.now() + 1000) / 1000) * 1000).toUTCString() }).end('maintenance');
      else res.writeHead(200).end('{}');
    };
    await createUser(c, 'RA-1');
    await waitFor('three attempts', () => forUser('RA-1').length === 3, 15_000);
    const [a, b, d] = forUser('RA-1');
    assert.ok(b!.at - a!.at >= 1900, `retried ${b!.at - a!.at} ms after "Retry-After: 2"`);
    assert.ok(d!.at - b!.at >= 900, `retried ${d!.at - b!.at} ms after a Retry-After date at least 1 s ahead`);
    assert.equal(b!.headers['x-webhook-id'], a!.headers['x-webhook-id']);
    assert.equal(d!.headers['x-webhook-attempt'], '3');
    await waitFor('delivered', async () => (await logs(c)).results[0]?.status === 'delivered');
  });

  test('Retry-After is bounded: a receiver asking for a week is tried again within a day', async () => {
    const { c } = await setUp({ max_retries: 1, backoff_strategy: 'fixed', retry_delay: 0.2 });
    rx.answer = (_n, res) => void res.writeHead(429, { 'retry-after': String(7 * 86400) }).end('later');
    await createUser(c, 'RA-2');
    const row = await waitFor('the first attempt recorded', async () => {
      const r = (await logs(c)).results[0];
      return r?.attempts === 1 && r;
    });
    assert.equal(row.status, 'pending');
    const wait = Date.parse(row.next_attempt_at) - Date.now();
    assert.ok(wait > 23 * 3600_000 && wait <= 24 * 3600_000 + 5000, `next attempt in ${wait} ms`);
    rx.answer = (_n, res) => void res.writeHead(200).end('{}');
  });

  test('a retry after the secret was rotated is signed with the new secret; ids, body and event time stay the same', async () => {
    const { c, endpointId } = await setUp({ max_retries: 3, backoff_strategy: 'fixed', retry_delay: 1.5 }, 'old_secret_0123456789');
    rx.answer = (_n, res) => void res.writeHead(forUser('ROT-1').length === 1 ? 500 : 200).end('{}');
    await createUser(c, 'ROT-1');
    await waitFor('the failed first attempt', () => forUser('ROT-1').length === 1);
    const patched = await as(t().app, c, { method: 'PATCH', url: `/api/webhooks/endpoints/${endpointId}/`, payload: { secret: 'new_secret_0123456789' } });
    assert.equal(patched.statusCode, 200, patched.body);
    await waitFor('the retry', () => forUser('ROT-1').length === 2);
    const [first, retry] = forUser('ROT-1');
    assert.equal(first!.headers['x-signature'], hmac(first!.raw, 'old_secret_0123456789'));
    assert.equal(retry!.headers['x-signature'], hmac(retry!.raw, 'new_secret_0123456789'));
    assert.equal(retry!.raw, first!.raw, 'same bytes, including the event time');
    assert.equal(retry!.headers['x-event-id'], first!.headers['x-event-id']);
    assert.equal(retry!.headers['x-webhook-id'], first!.headers['x-webhook-id']);
  });

  test('an event recorded in a transaction that rolls back is never delivered; one that commits is', async () => {
    const { c } = await setUp({ max_retries: 0 });
    const data = (id: string) => ({ user_id: id, id: crypto.randomUUID(), name: id, email: null, metadata: {}, created_at: new Date().toISOString() });
    const db = t().container.database.db;
    await assert.rejects(
      db.transaction().execute(async (trx) => {
        await recordEvent(trx, c.client_id, 'user.created', data('RB-ROLLED-BACK'));
        notifyWebhookDispatchers(); // too early on purpose: the dispatcher must not see the uncommitted row
        throw new Error('the change failed');
      }),
      /the change failed/,
    );
    await db.transaction().execute((trx) => recordEvent(trx, c.client_id, 'user.created', data('RB-COMMITTED')));
    notifyWebhookDispatchers();
    await waitFor('the committed event', () => forUser('RB-COMMITTED').length === 1);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(forUser('RB-ROLLED-BACK').length, 0);
    assert.equal((await logs(c)).count, 1);
  });

  test('deleting an endpoint drops its queued retries: nothing is sent to it afterwards', async () => {
    const { c, endpointId } = await setUp({ max_retries: 5, backoff_strategy: 'fixed', retry_delay: 0.5 });
    rx.answer = (_n, res) => void res.writeHead(500).end('{}');
    await createUser(c, 'DEL-1');
    await waitFor('the failed first attempt', () => forUser('DEL-1').length === 1);
    assert.equal((await as(t().app, c, { method: 'DELETE', url: `/api/webhooks/endpoints/${endpointId}/` })).statusCode, 204);
    const sent = forUser('DEL-1').length;
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(forUser('DEL-1').length, sent);
    assert.equal((await logs(c)).count, 0);
    rx.answer = (_n, res) => void res.writeHead(200).end('{}');
  });
  test('a manual retry while an attempt is being sent is refused (409); once it has an outcome, the retry goes out alone', async () => {
    const { c } = await setUp({ max_retries: 0 });
    let hold: (() => void) | undefined;
    rx.answer = (_n, res) => {
      if (forUser('MAN-1').length === 1) hold = () => void res.writeHead(500).end('{}');
      else res.writeHead(200).end('{}');
    };
    await createUser(c, 'MAN-1');
    await waitFor('the first attempt at the receiver', () => hold);
    const id = (await logs(c)).results[0].id as string;
    const busy = await as(t().app, c, { method: 'POST', url: `/api/webhooks/logs/${id}/retry/` });
    assert.equal(busy.statusCode, 409, busy.body);
    assert.equal(busy.json().code, 'WEBHOOK_DELIVERY_IN_PROGRESS');
    assert.equal(busy.headers['retry-after'], '1');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(forUser('MAN-1').length, 1, 'no second send while the first is open');
    hold!();
    await waitFor('the failed outcome', async () => (await logs(c)).results[0]?.status === 'failed');
    const retried = await as(t().app, c, { method: 'POST', url: `/api/webhooks/logs/${id}/retry/` });
    assert.equal(retried.statusCode, 202, retried.body);
    await waitFor('delivered', async () => (await logs(c)).results[0]?.status === 'delivered');
    assert.equal(forUser('MAN-1').length, 2);
  });
});
