import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/env.ts';
import { createContainer, type Container } from '../../src/container.ts';
import { recordEvent } from '../../src/services/events.ts';
import { notifyWebhookDispatchers } from '../../src/services/webhooks/index.ts';
import { ADMIN_TOKEN } from '../helpers/app.ts';
import { backendNames, createBackend, type Backend } from '../helpers/backends.ts';
import { as, createClient, type TestClient } from '../helpers/foundation.ts';
import { waitFor as waitUntil, type Check } from '../helpers/wait.ts';

/** The user guide's "Verify Webhook Signature" snippet, verbatim (Express middleware included). */
const GUIDE_SNIPPET = `
const crypto = require('crypto');

function verifyWebhookSignature(payload, signature, secret) {
  const expectedSignature = crypto
    .createHmac('sha256', secret)
    .update(payload)
    .digest('hex');
    
  return signature === \`sha256=\${expectedSignature}\`;
}

// Express middleware
app.use('/webhooks', (req, res, next) => {
  const signature = req.headers['x-signature'];
  const payload = JSON.stringify(req.body);
  
  if (!verifyWebhookSignature(payload, signature, WEBHOOK_SECRET)) {
    return res.status(401).json({error: 'Invalid signature'});
  }
  
  next();
});
`;

/** Runs the guide's middleware on a received request as Express would (express.json() parses the body). */
function guideAccepts(received: Received, secret: string): boolean {
  let middleware!: (req: unknown, res: unknown, next: () => void) => void;
  const app = { use: (_path: string, fn: typeof middleware) => (middleware = fn) };
  new Function('require', 'app', 'WEBHOOK_SECRET', GUIDE_SNIPPET)(createRequire(import.meta.url), app, secret);
  let accepted = false;
  const res = { status: () => ({ json: () => undefined }) };
  middleware({ headers: received.headers, body: JSON.parse(received.raw) }, res, () => (accepted = true));
  return accepted;
}

interface Received {
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: Record<string, unknown>;
}

/** A webhook receiver on 127.0.0.1; `respond` picks the status of each request. */
class Receiver {
  readonly got: Received[] = [];
  respond: (n: number) => number = () => 200;
  #server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      this.got.push({ headers: req.headers, raw, body: JSON.parse(raw) });
      const status = this.respond(this.got.length);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ received: status < 300 }));
    });
  });
  port = 0;

  async listen(port = 0): Promise<this> {
    await new Promise<void>((r) => this.#server.listen(port, '127.0.0.1', r));
    this.port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  url(p = '/webhooks/face-recognition'): string {
    return `http://127.0.0.1:${this.port}${p}`;
  }

  forEvent(type: string): Received[] {
    return this.got.filter((r) => r.body.event === type);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}

const waitFor = <T>(what: string, fn: Check<T>, timeoutMs = 8_000) => waitUntil(what, fn, timeoutMs, 25);

const FAST_ENV = { WAJAH_WEBHOOK_POLL_MS: '100', WAJAH_WEBHOOK_TIMEOUT_MS: '2000' };
const SECRET = 'webhook_secret_key_123';
const ALL_EVENTS = ['enrollment.completed', 'enrollment.failed', 'authentication.success', 'authentication.failed', 'liveness.failed', 'user.created', 'user.updated'];

for (const backend of backendNames()) {
  describe(`webhooks [${backend}]`, () => {
    let backendRun: Backend;
    let dir: string;
    const open: Array<{ app: FastifyInstance; container: Container }> = [];

    async function start(env: Record<string, string>): Promise<{ app: FastifyInstance; container: Container }> {
      const config = loadConfig({
        LOG_LEVEL: 'silent',
        WAJAH_ADMIN_TOKEN: ADMIN_TOKEN,
        WAJAH_WORKERS: '0',
        ...FAST_ENV,
        ...env,
        ...(backendRun.databaseUrl ? { DATABASE_URL: backendRun.databaseUrl } : {}),
      });
      const container = await createContainer(config, { engine: false, pgliteDir: path.join(dir, 'pg'), log: { info() {}, warn() {}, error: (m) => console.error(m) } });
      const app = await buildApp(config, container);
      await app.ready();
      const h = { app, container };
      open.push(h);
      return h;
    }

    async function stop(h: { app: FastifyInstance; container: Container }): Promise<void> {
      open.splice(open.indexOf(h), 1);
      await h.app.close();
      await h.container.close();
    }

    // One instance for the API tests; the embedded database lives on disk so that the restart test
    // can reopen it (starting PGlite is the slow part, so the suite starts as few as it can).
    let main: { app: FastifyInstance; container: Container } | undefined;
    const t = () => main!;

    const receiver = new Receiver();
    let a: TestClient;
    let b: TestClient;
    const call = (c: TestClient, opts: Parameters<typeof as>[2]) => as(t().app, c, opts);
    const log = async (c: TestClient, id: string) => (await call(c, { method: 'GET', url: `/api/webhooks/logs/${id}/` })).json();
    const logsOf = async (c: TestClient, query: string) => (await call(c, { method: 'GET', url: `/api/webhooks/logs/?${query}` })).json();

    async function endpoint(c: TestClient, body: Record<string, unknown>): Promise<Record<string, any>> {
      const res = await call(c, { method: 'POST', url: '/api/webhooks/endpoints/', payload: { url: receiver.url(), events: ALL_EVENTS, secret: SECRET, ...body } });
      assert.equal(res.statusCode, 201, res.body);
      return res.json();
    }

    async function createUser(c: TestClient, externalId: string, extra: Record<string, unknown> = {}): Promise<void> {
      const res = await call(c, { method: 'POST', url: '/api/clients/users/', payload: { external_id: externalId, name: 'John Doe', ...extra } });
      assert.equal(res.statusCode, 201, res.body);
    }

    before(async () => {
      backendRun = await createBackend(backend);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-webhooks-'));
      main = await start({});
      await receiver.listen();
      a = await createClient(t().app, { name: 'Tenant A' });
      b = await createClient(t().app, { name: 'Tenant B' });
    });
    after(async () => {
      await receiver.close();
      for (const h of [...open]) await stop(h);
      await backendRun?.cleanup();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    test('create with the guide body: secret never echoed; list, get, patch, put, delete', async () => {
      const guide = {
        url: receiver.url(),
        events: ALL_EVENTS,
        secret: SECRET,
        is_active: true,
        retry_policy: { max_retries: 3, backoff_strategy: 'exponential', retry_delay: 30 },
      };
      const res = await call(a, { method: 'POST', url: '/api/webhooks/endpoints/', payload: guide });
      assert.equal(res.statusCode, 201, res.body);
      const ep = res.json();
      assert.equal(ep.secret, undefined);
      assert.equal(ep.secret_set, true);
      assert.deepEqual(ep.events, ALL_EVENTS);
      assert.deepEqual(ep.retry_policy, guide.retry_policy);
      assert.ok(!JSON.stringify(ep).includes(SECRET));
      const stored = await t().container.database.db.selectFrom('webhook_endpoints').select('secret').where('id', '=', ep.id).executeTakeFirstOrThrow();
      assert.ok(!stored.secret.includes(SECRET), 'the secret is sealed at rest');

      const got = await call(a, { method: 'GET', url: `/api/webhooks/endpoints/${ep.id}/` });
      assert.equal(got.statusCode, 200);
      assert.ok(!got.body.includes(SECRET));
      const list = (await call(a, { method: 'GET', url: '/api/webhooks/endpoints/' })).json();
      assert.ok(list.results.some((e: { id: string }) => e.id === ep.id));

      const patched = await call(a, { method: 'PATCH', url: `/api/webhooks/endpoints/${ep.id}/`, payload: { retry_policy: { retry_delay: 1.5 }, is_active: false } });
      assert.equal(patched.statusCode, 200, patched.body);
      assert.deepEqual(patched.json().retry_policy, { max_retries: 3, backoff_strategy: 'exponential', retry_delay: 1.5 });
      assert.equal(patched.json().is_active, false);

      const put = await call(a, { method: 'PUT', url: `/api/webhooks/endpoints/${ep.id}/`, payload: { url: receiver.url('/other'), events: ['user.updated', 'user.updated'] } });
      assert.equal(put.statusCode, 200, put.body);
      assert.deepEqual(put.json().events, ['user.updated']);
      assert.equal(put.json().is_active, true);
      assert.deepEqual(put.json().retry_policy, { max_retries: 3, backoff_strategy: 'exponential', retry_delay: 30 });

      assert.equal((await call(a, { method: 'DELETE', url: `/api/webhooks/endpoints/${ep.id}/` })).statusCode, 204);
      const gone = await call(a, { method: 'GET', url: `/api/webhooks/endpoints/${ep.id}/` });
      assert.equal(gone.statusCode, 404);
      assert.equal(gone.json().code, 'WEBHOOK_NOT_FOUND');
    });

    test('without a secret one is generated and returned once', async () => {
      const res = await call(a, { method: 'POST', url: '/api/webhooks/endpoints/', payload: { url: receiver.url(), events: ['user.created'], is_active: false } });
      assert.equal(res.statusCode, 201);
      assert.match(res.json().secret, /^whsec_[\w-]{43}$/);
      const again = await call(a, { method: 'GET', url: `/api/webhooks/endpoints/${res.json().id}/` });
      assert.equal(again.json().secret, undefined);
      await call(a, { method: 'DELETE', url: `/api/webhooks/endpoints/${res.json().id}/` });
    });

    test('validation: url, events, retry policy, secret', async () => {
      const post = (payload: Record<string, unknown>) => call(a, { method: 'POST', url: '/api/webhooks/endpoints/', payload: { url: receiver.url(), events: ['user.created'], ...payload } });
      const cases: Array<[Record<string, unknown>, string, string | null]> = [
        [{ url: 'ftp://example.com/hook' }, 'INVALID_WEBHOOK_URL', 'url'],
        [{ url: 'not a url' }, 'INVALID_WEBHOOK_URL', 'url'],
        [{ url: 'https://user:pw@example.com/hook' }, 'INVALID_WEBHOOK_URL', 'url'],
        [{ events: ['user.deleted'] }, 'VALIDATION_ERROR', 'events.0'],
        [{ events: [] }, 'VALIDATION_ERROR', 'events'],
        [{ retry_policy: { backoff_strategy: 'random' } }, 'VALIDATION_ERROR', 'retry_policy.backoff_strategy'],
        [{ retry_policy: { max_retries: -1 } }, 'VALIDATION_ERROR', 'retry_policy.max_retries'],
        [{ secret: 'short' }, 'VALIDATION_ERROR', 'secret'],
      ];
      for (const [payload, code, field] of cases) {
        const res = await post(payload);
        assert.equal(res.statusCode, 400, `${JSON.stringify(payload)}: ${res.body}`);
        assert.equal(res.json().code, code, JSON.stringify(payload));
        assert.equal(res.json().details?.field, field, JSON.stringify(payload));
      }
      const unknown = await post({ events: ['user.created', 'user.deleted'] });
      assert.equal(unknown.json().message, 'body.events.1 must be one of: enrollment.completed, enrollment.failed, authentication.success, authentication.failed, liveness.failed, user.created, user.updated');
      const q = await call(a, { method: 'GET', url: '/api/webhooks/logs/?status=lost' });
      assert.equal(q.statusCode, 400);
      const d = await call(a, { method: 'GET', url: '/api/webhooks/logs/?start_date=yesterday' });
      assert.equal(d.statusCode, 400);
      assert.equal(d.json().details.field, 'start_date');
    });

    test('an event becomes one signed delivery the guide snippet verifies; tampering is rejected', async () => {
      const ep = await endpoint(a, { events: ['user.created'] });
      const other = await endpoint(a, { events: ['user.updated'] });
      // Key order, integer-like keys, non-ASCII and escapes must survive JSON.stringify(JSON.parse(body)).
      await createUser(a, 'EMP-SIG', { name: 'Dédé "Ω" \u2028 Ñ', metadata: { b: 1, '10': 'x', '2': [1.5, -0, 1e21], a: { z: null, y: 'é' } } });
      const [r] = await waitFor('user.created delivery', () => receiver.forEvent('user.created').length > 0 && receiver.forEvent('user.created'));
      assert.deepEqual(Object.keys(r.body), ['event', 'data', 'timestamp', 'webhook_id']);
      assert.equal(r.body.event, 'user.created');
      assert.equal(r.body.webhook_id, ep.id);
      assert.equal((r.body.data as { user_id: string }).user_id, 'EMP-SIG');
      assert.ok(!Number.isNaN(Date.parse(r.body.timestamp as string)));
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(r.headers['user-agent'], 'Wajah-Webhooks/1.0');
      assert.equal(r.headers['x-event-type'], 'user.created');
      assert.match(String(r.headers['x-signature']), /^sha256=[0-9a-f]{64}$/);
      assert.match(String(r.headers['x-webhook-id']), /^[0-9a-f-]{36}$/);
      assert.match(String(r.headers['x-event-id']), /^[0-9a-f-]{36}$/);
      assert.equal(JSON.stringify(JSON.parse(r.raw)), r.raw, 'the body is compact JSON.stringify output');

      assert.equal(guideAccepts(r, SECRET), true);
      assert.equal(guideAccepts(r, 'another_secret_value_456'), false);
      const tampered = { ...r, raw: r.raw.replace('EMP-SIG', 'EMP-XXX') };
      assert.equal(guideAccepts(tampered, SECRET), false);

      const logId = String(r.headers['x-webhook-id']);
      const entry = await waitFor('delivered log', async () => {
        const l = await log(a, logId);
        return l.status === 'delivered' && l;
      });
      assert.equal(entry.attempts, 1);
      assert.equal(entry.last_status_code, 200);
      assert.equal(entry.endpoint_id, ep.id);
      assert.equal(entry.event_id, r.headers['x-event-id']);
      assert.equal(JSON.stringify(entry.body), r.raw, 'the log shows the body sent');
      // Only the subscribed endpoint got a delivery.
      assert.equal((await logsOf(a, `endpoint_id=${other.id}`)).count, 0);
      for (const e of [ep, other]) await call(a, { method: 'DELETE', url: `/api/webhooks/endpoints/${e.id}/` });
    });

    test('a receiver failing twice gets the same signed body until it answers 2xx', async () => {
      const ep = await endpoint(a, { events: ['user.created'], retry_policy: { max_retries: 3, backoff_strategy: 'exponential', retry_delay: 0.05 } });
      const start = receiver.got.length;
      receiver.respond = (n) => (n - start <= 2 ? 503 : 200);
      await createUser(a, 'EMP-RETRY');
      notifyWebhookDispatchers();
      const [first] = await waitFor('first attempt', () => receiver.got.length > start && receiver.got.slice(start));
      const logId = String(first.headers['x-webhook-id']);
      const entry = await waitFor('delivered after retries', async () => {
        const l = await log(a, logId);
        return l.status === 'delivered' && l;
      });
      receiver.respond = () => 200;
      const attempts = receiver.got.slice(start);
      assert.equal(entry.attempts, 3);
      assert.equal(attempts.length, 3);
      assert.deepEqual(attempts.map((x) => x.headers['x-webhook-attempt']), ['1', '2', '3']);
      for (const x of attempts) {
        assert.equal(x.raw, first.raw);
        assert.equal(x.headers['x-signature'], first.headers['x-signature']);
        assert.equal(x.headers['x-webhook-id'], logId);
      }
      await call(a, { method: 'DELETE', url: `/api/webhooks/endpoints/${ep.id}/` });
    });

    test('retries exhausted: failed, filterable; manual retry delivers', async () => {
      const ep = await endpoint(a, { events: ['user.updated'], retry_policy: { max_retries: 1, backoff_strategy: 'fixed', retry_delay: 0.02 } });
      receiver.respond = () => 500;
      await createUser(a, 'EMP-FAIL');
      const upd = await call(a, { method: 'PUT', url: '/api/clients/users/EMP-FAIL/', payload: { name: 'Jane Doe' } });
      assert.equal(upd.statusCode, 200, upd.body);
      const failed = await waitFor('failed delivery', async () => {
        const page = await logsOf(a, `status=failed&event_type=user.updated&endpoint_id=${ep.id}`);
        return page.count === 1 && page.results[0];
      });
      assert.equal(failed.attempts, 2);
      assert.equal(failed.last_status_code, 500);
      assert.match(failed.last_error, /^HTTP 500/);
      assert.equal(failed.next_attempt_at, null);
      assert.equal(receiver.forEvent('user.updated').length, 2);

      receiver.respond = () => 200;
      const retry = await call(a, { method: 'POST', url: `/api/webhooks/logs/${failed.id}/retry/` });
      assert.equal(retry.statusCode, 202, retry.body);
      const done = await waitFor('delivered after manual retry', async () => {
        const l = await log(a, failed.id);
        return l.status === 'delivered' && l;
      });
      assert.equal(done.attempts, 1);
      assert.equal(done.last_error, null);
      assert.equal(receiver.forEvent('user.updated').length, 3);
      await call(a, { method: 'DELETE', url: `/api/webhooks/endpoints/${ep.id}/` });
    });

    test('test ping goes through the delivery path and is signed', async () => {
      const ep = await endpoint(a, { events: ['enrollment.completed'] });
      const res = await call(a, { method: 'POST', url: `/api/webhooks/endpoints/${ep.id}/test/` });
      assert.equal(res.statusCode, 200, res.body);
      const d = res.json();
      assert.equal(d.status, 'delivered');
      assert.equal(d.event_type, 'webhook.test');
      assert.equal(d.attempts, 1);
      const r = receiver.got.find((x) => x.headers['x-webhook-id'] === d.id)!;
      assert.equal(r.headers['x-event-type'], 'webhook.test');
      assert.equal(r.body.webhook_id, ep.id);
      assert.equal(guideAccepts(r, SECRET), true);
      // The ping went to this endpoint only and is in the logs.
      assert.equal((await logsOf(a, 'event_type=webhook.test')).count, 1);
      await call(a, { method: 'DELETE', url: `/api/webhooks/endpoints/${ep.id}/` });
    });

    test('log filters: endpoint, event type, status, dates, paging', async () => {
      const ep = await endpoint(a, { events: ['user.created'] });
      for (const id of ['EMP-L1', 'EMP-L2', 'EMP-L3']) await createUser(a, id);
      const mine = `endpoint_id=${ep.id}`;
      await waitFor('three delivered', async () => (await logsOf(a, `${mine}&status=delivered`)).count === 3);
      const page = await logsOf(a, `${mine}&page_size=2`);
      assert.equal(page.count, 3);
      assert.equal(page.total_pages, 2);
      assert.equal(page.results.length, 2);
      assert.ok(page.results[0].created_at >= page.results[1].created_at, 'newest first');
      assert.equal((await logsOf(a, `${mine}&page=2&page_size=2`)).results.length, 1);
      assert.equal((await logsOf(a, `${mine}&event_type=user.updated`)).count, 0);
      assert.equal((await logsOf(a, `${mine}&status=failed`)).count, 0);
      assert.equal((await logsOf(a, `${mine}&start_date=2999-01-01`)).count, 0);
      assert.equal((await logsOf(a, `${mine}&end_date=2000-01-01`)).count, 0);
      const today = new Date().toISOString().slice(0, 10);
      assert.equal((await logsOf(a, `${mine}&start_date=${today}&end_date=${today}`)).count, 3);
      const all = (await logsOf(a, mine)).results.map((r: { created_at: string }) => r.created_at).sort();
      assert.ok((await logsOf(a, `${mine}&end_date=${encodeURIComponent(all[0])}`)).count >= 1, 'end_date timestamps are inclusive');
      const afterLast = new Date(Date.parse(all[2]) + 1).toISOString();
      assert.equal((await logsOf(a, `${mine}&start_date=${encodeURIComponent(afterLast)}`)).count, 0);
      assert.equal((await logsOf(a, 'endpoint_id=not-a-uuid')).count, 0);
      // Deleting an endpoint removes its deliveries.
      await call(a, { method: 'DELETE', url: `/api/webhooks/endpoints/${ep.id}/` });
      assert.equal((await logsOf(a, mine)).count, 0);
    });

    test("tenancy: another client's endpoints and logs answer 404", async () => {
      const ep = await endpoint(a, { events: ['user.created'] });
      const ping = (await call(a, { method: 'POST', url: `/api/webhooks/endpoints/${ep.id}/test/` })).json();
      for (const [method, url] of [
        ['GET', `/api/webhooks/endpoints/${ep.id}/`],
        ['PATCH', `/api/webhooks/endpoints/${ep.id}/`],
        ['PUT', `/api/webhooks/endpoints/${ep.id}/`],
        ['DELETE', `/api/webhooks/endpoints/${ep.id}/`],
        ['POST', `/api/webhooks/endpoints/${ep.id}/test/`],
        ['GET', '/api/webhooks/endpoints/00000000-0000-0000-0000-000000000000/'],
        ['GET', '/api/webhooks/endpoints/nope/'],
      ] as const) {
        const payload = method === 'PATCH' ? { is_active: false } : method === 'PUT' ? { url: receiver.url(), events: ['user.created'] } : undefined;
        const res = await call(b, { method, url, payload });
        assert.equal(res.statusCode, 404, `${method} ${url}: ${res.body}`);
        assert.equal(res.json().code, 'WEBHOOK_NOT_FOUND');
      }
      for (const [method, url] of [
        ['GET', `/api/webhooks/logs/${ping.id}/`],
        ['POST', `/api/webhooks/logs/${ping.id}/retry/`],
        ['GET', '/api/webhooks/logs/nope/'],
      ] as const) {
        const res = await call(b, { method, url });
        assert.equal(res.statusCode, 404, `${method} ${url}`);
        assert.equal(res.json().code, 'WEBHOOK_LOG_NOT_FOUND');
      }
      assert.equal((await logsOf(b, '')).count, 0);
      assert.equal((await call(b, { method: 'GET', url: '/api/webhooks/endpoints/' })).json().count, 0);
      // B's events never reach A's endpoint.
      const before = receiver.forEvent('user.created').length;
      await createUser(b, 'EMP-B');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(receiver.forEvent('user.created').length, before);
      assert.equal((await call(a, { method: 'GET', url: '/api/webhooks/endpoints/' })).statusCode, 200);
      const unauth = await t().app.inject({ method: 'GET', url: '/api/webhooks/endpoints/' });
      assert.equal(unauth.statusCode, 401);
      await call(a, { method: 'DELETE', url: `/api/webhooks/endpoints/${ep.id}/` });
    });

    test('pending retries and undispatched events are delivered once after a restart', async () => {
      // A port with nobody listening: the receiver is down.
      const probe = await new Receiver().listen();
      const port = probe.port;
      await probe.close();

      // The API tests' instance is the one that goes down.
      const first = t();
      const c = await createClient(first.app);
      const res = await as(first.app, c, {
        method: 'POST',
        url: '/api/webhooks/endpoints/',
        payload: { url: `http://127.0.0.1:${port}/hook`, events: ['user.created'], secret: SECRET, retry_policy: { max_retries: 20, backoff_strategy: 'fixed', retry_delay: 0.1 } },
      });
      assert.equal(res.statusCode, 201, res.body);
      assert.equal((await as(first.app, c, { method: 'POST', url: '/api/clients/users/', payload: { external_id: 'EMP-1', name: 'One' } })).statusCode, 201);
      const pending = await waitFor('a failed attempt', async () => {
        const page = (await as(first.app, c, { method: 'GET', url: '/api/webhooks/logs/' })).json();
        return page.results[0]?.attempts >= 1 && page.results[0];
      });
      assert.equal(pending.status, 'pending');
      assert.match(pending.last_error, /ECONNREFUSED/);
      // The dispatcher stops (as in a shutdown) before the next event is fanned out.
      await first.container.webhooks.dispatcher.close();
      await recordEvent(first.container.database.db, c.client_id, 'user.created', {
        user_id: 'EMP-2',
        id: '00000000-0000-4000-8000-000000000002',
        name: 'Two',
        email: null,
        metadata: {},
        created_at: new Date().toISOString(),
      });
      notifyWebhookDispatchers(); // a stopped dispatcher ignores it
      await stop(first);

      const receiver = await new Receiver().listen(port);
      try {
        const second = await start({});
        await waitFor('both deliveries', () => receiver.got.length >= 2);
        await waitFor('both logged as delivered', async () => {
          const page = (await as(second.app, c, { method: 'GET', url: '/api/webhooks/logs/?status=delivered' })).json();
          return page.count === 2;
        });
        await new Promise((r) => setTimeout(r, 300));
        const users = receiver.got.map((r) => (r.body.data as { user_id: string }).user_id).sort();
        assert.deepEqual(users, ['EMP-1', 'EMP-2'], 'each event exactly once');
        for (const r of receiver.got) assert.equal(guideAccepts(r, SECRET), true);
      } finally {
        await receiver.close();
      }
    });

    test('two dispatching instances on one database deliver every event exactly once', { skip: backend === 'pglite' && 'the embedded database has one process' }, async () => {
      const receiver = await new Receiver().listen();
      const one = await start({});
      const two = await start({});
      try {
        const c = await createClient(one.app);
        const res = await as(one.app, c, { method: 'POST', url: '/api/webhooks/endpoints/', payload: { url: receiver.url(), events: ['user.created'], secret: SECRET } });
        assert.equal(res.statusCode, 201, res.body);
        const n = 30;
        await Promise.all(
          Array.from({ length: n }, (_, i) => as(i % 2 ? one.app : two.app, c, { method: 'POST', url: '/api/clients/users/', payload: { external_id: `EMP-M${i}`, name: `M${i}` } })),
        );
        await waitFor(`${n} deliveries`, () => receiver.got.length >= n, 15000);
        await new Promise((r) => setTimeout(r, 400));
        const ids = receiver.got.map((r) => (r.body.data as { user_id: string }).user_id);
        assert.equal(ids.length, n);
        assert.equal(new Set(ids).size, n, 'no event delivered twice');
        const page = (await as(two.app, c, { method: 'GET', url: '/api/webhooks/logs/?status=delivered&page_size=100' })).json();
        assert.equal(page.count, n);
      } finally {
        await stop(one);
        await stop(two);
        await receiver.close();
      }
    });
  });
}
