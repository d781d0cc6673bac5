import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { FaceRecognitionClient } from '../../sdk/js/src/index.ts';
import { useTestApp } from '../helpers/app.ts';
import { as, createClient, quickBackend, type TestClient } from '../helpers/foundation.ts';
import { waitFor } from '../helpers/wait.ts';

interface Got {
  path: string;
  user: string;
  status: number;
  headers: http.IncomingHttpHeaders;
  raw: string;
}

const SECRET = 'replay_secret_0123456789';
const hmac = (raw: string) => `sha256=${crypto.createHmac('sha256', SECRET).update(raw).digest('hex')}`;

/**
 * Bulk replay (POST /api/webhooks/logs/retry/) after a receiver outage: the receiver answers 500 until it
 * is "fixed", then 200. Two tenants; one of A's deliveries is mid-attempt (the receiver holds it) during
 * the replay. Every endpoint has max_retries 0, so a 500 ends the delivery `failed` at once.
 */
describe('webhook bulk replay', () => {
  const t = useTestApp(quickBackend(), { env: { WAJAH_WEBHOOK_POLL_MS: '100', WAJAH_WEBHOOK_TIMEOUT_MS: '8000' } });
  const got: Got[] = [];
  let down = true;
  let releaseHeld: () => void = () => {};
  const held = new Promise<void>((r) => (releaseHeld = r));
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const user = (JSON.parse(raw) as { data: { user_id: string } }).data.user_id;
      const status = down ? 500 : 200;
      got.push({ path: req.url!, user, status, headers: req.headers, raw });
      // A's first endpoint holds U4's attempt until the test lets it go (an attempt in progress).
      if (req.url === '/a1' && user === 'U4' && status === 500) void held.then(() => res.writeHead(500).end('{}'));
      else res.writeHead(status).end('{}');
    });
  });
  let base = '';
  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    t().container.webhooks.dispatcher.start();
  });
  after(async () => {
    releaseHeld();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const endpoint = async (c: TestClient, path: string) => {
    const res = await as(t().app, c, { method: 'POST', url: '/api/webhooks/endpoints/', payload: { url: `${base}${path}`, events: ['user.created'], secret: SECRET, retry_policy: { max_retries: 0 } } });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().id as string;
  };
  const createUser = async (c: TestClient, id: string) =>
    assert.equal((await as(t().app, c, { method: 'POST', url: '/api/clients/users/', payload: { external_id: id, name: id } })).statusCode, 201);
  const logs = async (c: TestClient, query = '') => (await as(t().app, c, { method: 'GET', url: `/api/webhooks/logs/?page_size=100${query}` })).json();
  const replay = (c: TestClient, payload?: Record<string, unknown>) => as(t().app, c, { method: 'POST', url: '/api/webhooks/logs/retry/', ...(payload ? { payload } : {}) });
  const sent = (path: string, user: string) => got.filter((g) => g.path === path && g.user === user);

  test('re-queues the tenant\'s failed deliveries in capped calls; skips in-progress, inactive-endpoint and expired ones; never touches another tenant', async () => {
    const { app, container } = t();
    const [a, b] = [await createClient(app), await createClient(app)];
    const [a1, a2, a3] = [await endpoint(a, '/a1'), await endpoint(a, '/a2'), await endpoint(a, '/a3')];
    const b1 = await endpoint(b, '/b1');

    // The outage: every attempt fails.
    for (const u of ['U1', 'U2', 'U3']) await createUser(a, u);
    for (const u of ['BU1', 'BU2']) await createUser(b, u);
    await waitFor('A and B failed', async () => (await logs(a, '&status=failed')).count === 9 && (await logs(b, '&status=failed')).count === 2);
    // U4's attempt to a1 is under way (held by the receiver) when the replay comes; its other two fail.
    await createUser(a, 'U4');
    await waitFor('U4 sent to a1 and failed elsewhere', async () => sent('/a1', 'U4').length === 1 && (await logs(a, '&status=failed')).count === 11);
    // a3 is deactivated; U1's event left the outbox (retention).
    assert.equal((await as(app, a, { method: 'PATCH', url: `/api/webhooks/endpoints/${a3}/`, payload: { is_active: false } })).statusCode, 200);
    await sql`delete from events where client_id = ${a.client_id} and payload->>'user_id' = 'U1'`.execute(container.database.db);
    const failedBefore = (await logs(a, '&status=failed')).results as Array<{ id: string; endpoint_id: string }>;
    const bBefore = (await logs(b)).results as Array<{ id: string; status: string; attempts: number }>;
    const bSent = got.filter((g) => g.path === '/b1').length;

    // Validation: another tenant's endpoint is not found; pending is not a replayable status; unknown fields are refused.
    assert.equal((await replay(a, { endpoint_id: b1 })).json().code, 'WEBHOOK_NOT_FOUND');
    assert.equal((await replay(a, { status: 'pending' })).statusCode, 400);
    assert.equal((await replay(a, { endpointId: a1 })).statusCode, 400);

    down = false; // the receiver is fixed
    // Eligible: a1 U2 U3, a2 U2 U3 U4 = 5. Not: a1 U1 & a2 U1 (event gone), a3 × 4 (inactive), a1 U4 (in progress).
    const first = await replay(a, { limit: 2 });
    assert.equal(first.statusCode, 202, first.body);
    assert.deepEqual(first.json(), {
      retried: 2,
      remaining: 3,
      skipped_in_progress: 1,
      skipped_endpoint_inactive: 4,
      skipped_event_gone: 2,
      limit: 2,
      filters: { status: 'failed', endpoint_id: null, event_type: null, created_from: null, created_before: null },
    });
    const second = await replay(a); // no body: every filter's default
    assert.equal(second.statusCode, 202, second.body);
    assert.deepEqual({ ...(second.json() as object), filters: undefined }, {
      retried: 3, remaining: 0, skipped_in_progress: 1, skipped_endpoint_inactive: 4, skipped_event_gone: 2, limit: 10000, filters: undefined,
    });
    await waitFor('the five replayed deliveries', async () => (await logs(a, '&status=delivered')).count === 5);

    // Same X-Webhook-Id, same body, signed; attempts restarted.
    for (const [path, user] of [['/a1', 'U2'], ['/a2', 'U4']] as const) {
      const [orig, again] = sent(path, user);
      assert.equal(orig!.status, 500);
      assert.equal(again!.headers['x-webhook-id'], orig!.headers['x-webhook-id']);
      assert.equal(again!.raw, orig!.raw);
      assert.equal(again!.headers['x-signature'], hmac(again!.raw));
      assert.equal(again!.headers['x-webhook-attempt'], '1');
    }
    const delivered = new Set(((await logs(a, '&status=delivered')).results as Array<{ id: string }>).map((d) => d.id));
    assert.equal(failedBefore.filter((d) => delivered.has(d.id)).length, 5);
    // The held attempt was not sent a second time; the inactive endpoint got nothing.
    assert.equal(sent('/a1', 'U4').length, 1);
    assert.equal(got.filter((g) => g.path === '/a3' && g.status === 200).length, 0);
    // Tenant B: untouched.
    assert.deepEqual((await logs(b)).results, bBefore);
    assert.equal(got.filter((g) => g.path === '/b1').length, bSent);

    // The held attempt ends failed; the next replay, filtered to its endpoint, takes it.
    releaseHeld();
    await waitFor('U4 on a1 failed', async () => (await logs(a, `&status=failed&endpoint_id=${a1}`)).count === 2);
    const third = await replay(a, { endpoint_id: a1.toUpperCase(), event_type: 'user.created', start_date: '2000-01-01', end_date: new Date(Date.now() + 60_000).toISOString() });
    assert.equal(third.statusCode, 202, third.body);
    assert.deepEqual({ ...(third.json() as object), filters: { ...(third.json().filters as object), created_from: undefined, created_before: undefined } }, {
      retried: 1,
      remaining: 0,
      skipped_in_progress: 0,
      skipped_endpoint_inactive: 0,
      skipped_event_gone: 1, // U1's, on a1
      limit: 10000,
      filters: { status: 'failed', endpoint_id: a1, event_type: 'user.created', created_from: undefined, created_before: undefined },
    });
    await waitFor('U4 delivered to a1', () => sent('/a1', 'U4').some((g) => g.status === 200));
    assert.equal(sent('/a1', 'U4').length, 2);

    // Delivered ones can be replayed on request (a receiver that lost what it acknowledged); through the JS SDK.
    const sdk = new FaceRecognitionClient({
      baseUrl: 'http://wajah.test/api',
      apiKey: a.api_key,
      secretKey: a.secret_key,
      fetch: async (url, init) => {
        const headers: Record<string, string> = {};
        new Headers(init.headers).forEach((v, k) => (headers[k] = v));
        const r = await app.inject({ method: init.method as 'POST', url: new URL(url).pathname, headers, payload: init.body as string });
        return new Response(r.body, { status: r.statusCode, headers: { 'content-type': String(r.headers['content-type'] ?? '') } });
      },
    });
    const again = await sdk.webhooks.logs.retryAll({ status: 'delivered', endpoint_id: a2 });
    assert.deepEqual([again.retried, again.remaining, again.filters.status], [3, 0, 'delivered']);

    // One audit entry per call, with the filters and the counts; none for B.
    await container.foundation.audit.flush();
    const { rows } = await sql<{ client_id: string; category: string; actor: string; details: Record<string, unknown> }>`
      select client_id, category, actor, details from audit_logs where action = 'webhook.deliveries_replayed' order by created_at`.execute(container.database.db);
    assert.equal(rows.length, 4);
    assert.ok(rows.every((r) => r.client_id === a.client_id && r.category === 'configuration' && /^key:/.test(r.actor)));
    assert.deepEqual(
      rows.map((r) => [r.details.status, r.details.retried, r.details.remaining]),
      [['failed', 2, 3], ['failed', 3, 0], ['failed', 1, 0], ['delivered', 3, 0]],
    );
    assert.equal(rows[2]!.details.endpoint_id, a1);
  });
});
