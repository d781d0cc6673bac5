import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { useTestApp, ADMIN_TOKEN } from '../helpers/app.ts';
import { quickBackend } from '../helpers/foundation.ts';
import { TEST_MASTER_KEY, createTenant, createUser, dataFile, postForm, postJson, type Tenant } from '../helpers/face-fixtures.ts';

const FR = 'faces_extra/face_recognition';
const METRICS_TOKEN = 'metrics-token-0123456789';

/** Value of one sample in Prometheus text (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_:]+)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return 0;
}

describe('operations: health, readiness, metrics, request ids, versioned API', () => {
  const t = useTestApp(quickBackend(), { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY, WAJAH_METRICS_TOKEN: METRICS_TOKEN, WAJAH_WEBHOOK_POLL_MS: '50' } });
  let tenant: Tenant;
  const received: { headers: http.IncomingHttpHeaders; body: { event: string } }[] = [];
  let receiver: http.Server;
  let receiverUrl = '';

  before(async () => {
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: JSON.parse(body) });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  });
  after(() => receiver.close());

  const metrics = async (auth = `Bearer ${METRICS_TOKEN}`) => t().app.inject({ method: 'GET', url: '/metrics', headers: { authorization: auth } });

  test('/healthz and /readyz answer without credentials and spend no tenant budget', async () => {
    const { app } = t();
    tenant = await createTenant(app, 'Ops', 'basic');
    const health = await app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(health.statusCode, 200);
    assert.equal(health.json().status, 'ok');
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 200, ready.body);
    assert.deepEqual(ready.json().checks, { database: 'online', face_engine: 'online', redis: 'disabled' });
    assert.equal(ready.headers['x-ratelimit-remaining'], undefined);
    // The tenant's hourly budget is untouched by probes: two API calls count 1 and 2.
    const first = await app.inject({ method: 'GET', url: '/api/core/status/', headers: { authorization: tenant.auth } });
    for (let i = 0; i < 5; i++) await app.inject({ method: 'GET', url: '/readyz' });
    const second = await app.inject({ method: 'GET', url: '/api/core/status/', headers: { authorization: tenant.auth } });
    assert.equal(Number(first.headers['x-ratelimit-remaining']) - Number(second.headers['x-ratelimit-remaining']), 1);
  });

  test('every response has X-API-Version and X-Request-Id; a plain caller id is kept, anything else replaced', async () => {
    const { app } = t();
    const a = await app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(a.headers['x-api-version'], '1');
    assert.match(String(a.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    const b = await app.inject({ method: 'GET', url: '/api/nope', headers: { 'x-request-id': 'lb-7f3a:42' } });
    assert.equal(b.statusCode, 404);
    assert.equal(b.headers['x-request-id'], 'lb-7f3a:42');
    assert.equal(b.headers['x-api-version'], '1');
    const c = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'evil\u001b[31m id with spaces' } });
    assert.notEqual(c.headers['x-request-id'], 'evil\u001b[31m id with spaces');
    assert.match(String(c.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });

  test('/api/v1/… is the documented path and /api/… its alias: same route, same answer', async () => {
    const { app } = t();
    const v1 = await app.inject({ method: 'GET', url: '/api/v1/core/status/', headers: { authorization: tenant.auth } });
    assert.equal(v1.statusCode, 200, v1.body);
    assert.equal(v1.json().status, 'healthy');
    const users = await app.inject({ method: 'GET', url: '/api/v1/clients/users/?limit=5', headers: { authorization: tenant.auth } });
    assert.equal(users.statusCode, 200, users.body);
    const unknown = await app.inject({ method: 'GET', url: '/api/v1/clients/users/nobody/', headers: { authorization: tenant.auth } });
    assert.equal(unknown.json().code, 'USER_NOT_FOUND');
    const doc = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json() as { paths: Record<string, unknown>; info: { description: string } };
    const paths = Object.keys(doc.paths);
    assert.ok(paths.includes('/api/v1/auth/authentication/verify/'), paths.slice(0, 5).join(' '));
    assert.ok(paths.every((p) => p.startsWith('/api/v1/') || ['/healthz', '/readyz', '/metrics'].includes(p)), paths.filter((p) => !p.startsWith('/api/v1/')).join(' '));
    assert.match(doc.info.description, /alias|without the version/);
  });

  test('/metrics needs the metrics or operator token', async () => {
    const none = await t().app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(none.statusCode, 401);
    assert.equal(none.json().code, 'ADMIN_TOKEN_REQUIRED');
    const wrong = await metrics('Bearer not-the-token-at-all');
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.json().code, 'ADMIN_TOKEN_INVALID');
    const apiKey = await metrics(tenant.auth);
    assert.equal(apiKey.statusCode, 401);
    assert.equal((await metrics(`Bearer ${ADMIN_TOKEN}`)).statusCode, 200);
  });

  test('after a real enrollment, verification and webhook, the numbers moved and the request id reached the receiver', async () => {
    const { app } = t();
    const before = (await metrics()).body;
    const hook = await postJson(app, '/api/webhooks/endpoints/', tenant, { url: receiverUrl, events: ['enrollment.completed'] });
    assert.equal(hook.statusCode, 201, hook.body);
    await createUser(app, tenant, 'EMP9', 'Barack Obama');
    const form = await formInject('/api/v1/auth/enrollment/direct/', [
      { name: 'user_id', value: 'EMP9' },
      { name: 'image', value: dataFile(`${FR}/obama/obama_01.jpg`) },
    ]);
    const enroll = await app.inject({ ...form, headers: { ...form.headers, authorization: tenant.auth, 'x-request-id': 'trace-enroll-0001' } });
    assert.equal(enroll.statusCode, 201, enroll.body);
    assert.equal(enroll.headers['x-request-id'], 'trace-enroll-0001');
    const verify = await postForm(app, '/api/auth/authentication/verify/', tenant, [
      { name: 'user_id', value: 'EMP9' },
      { name: 'image', value: dataFile(`${FR}/obama/obama_02.jpg`) },
    ]);
    assert.equal(verify.statusCode, 200, verify.body);
    assert.equal(verify.json().result.authenticated, true);
    const identify = await postForm(app, '/api/auth/authentication/identify/', tenant, [{ name: 'image', value: dataFile(`${FR}/obama/obama_03.jpg`) }]);
    assert.equal(identify.statusCode, 200, identify.body);

    // The webhook of that enrollment carries the enrolling request's id.
    const deadline = Date.now() + 10_000;
    while (!received.some((r) => r.body.event === 'enrollment.completed') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const delivery = received.find((r) => r.body.event === 'enrollment.completed');
    assert.ok(delivery, 'the webhook arrived');
    assert.equal(delivery.headers['x-request-id'], 'trace-enroll-0001');
    await new Promise((r) => setTimeout(r, 200));

    const after = (await metrics()).body;
    const verifyRoute = { method: 'POST', route: '/api/auth/authentication/verify/', status: '200' };
    assert.equal(sample(after, 'wajah_http_requests_total', verifyRoute) - sample(before, 'wajah_http_requests_total', verifyRoute), 1);
    assert.equal(sample(after, 'wajah_http_request_duration_seconds_count', verifyRoute) - sample(before, 'wajah_http_request_duration_seconds_count', verifyRoute), 1);
    // Route templates, never raw URLs with ids.
    assert.ok(!/route="[^"]*EMP9/.test(after));
    for (const stage of ['decode', 'detect', 'embed', 'queue', 'total']) {
      assert.ok(sample(after, 'wajah_inference_duration_seconds_count', { stage }) - sample(before, 'wajah_inference_duration_seconds_count', { stage }) >= 3, stage);
    }
    assert.equal(sample(after, 'wajah_webhook_deliveries_total', { outcome: 'delivered' }) - sample(before, 'wajah_webhook_deliveries_total', { outcome: 'delivered' }), 1);
    assert.ok(sample(after, 'wajah_search_index_vectors') >= 1);
    assert.ok(sample(after, 'wajah_search_index_builds_total') >= 1);
    assert.equal(sample(after, 'wajah_inference_workers'), 1);
    assert.ok(/wajah_process_cpu_seconds_total/.test(after));
    assert.ok(/wajah_db_pool_connections\{state="total"\}/.test(after));
  });

  test('liveness decisions are counted by outcome and reason', async () => {
    const { app } = t();
    const before = (await metrics()).body;
    // A still photo sent as every frame of a blink challenge: the session fails on liveness.
    let res = await postJson(app, '/api/auth/authentication/create/', tenant, { user_id: 'EMP9', mode: 'verification', require_liveness: true, liveness_challenges: ['blink'], challenge_timeout: 2 });
    assert.equal(res.statusCode, 201, res.body);
    const { session_token } = res.json();
    const frame = dataFile(`${FR}/obama/obama_02.jpg`);
    const deadline = Date.now() + 15_000;
    let status = 'processing';
    while (status === 'processing' && Date.now() < deadline) {
      res = await postForm(app, '/api/auth/authentication/process-frame/', tenant, [{ name: 'frame', value: frame }], session_token);
      status = res.json().status ?? 'error';
      await new Promise((r) => setTimeout(r, 150));
    }
    assert.equal(status, 'failed', res.body);
    const after = (await metrics()).body;
    const failedNow = (text: string) =>
      text.split('\n').filter((l) => l.startsWith('wajah_liveness_decisions_total{') && l.includes('outcome="failed"')).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    assert.equal(failedNow(after) - failedNow(before), 1);
  });

  test('/readyz answers 503 when the database is gone', async () => {
    const { app, container } = t();
    const ping = container.database.ping;
    container.database.ping = async () => false;
    try {
      const res = await app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(res.statusCode, 503);
      assert.equal(res.json().status, 'not_ready');
      assert.equal(res.json().checks.database, 'offline');
      assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    } finally {
      container.database.ping = ping;
    }
  });
});

async function formInject(url: string, parts: { name: string; value: string | Buffer }[]) {
  const form = new FormData();
  for (const p of parts) {
    if (typeof p.value === 'string') form.append(p.name, p.value);
    else form.append(p.name, new Blob([new Uint8Array(p.value)], { type: 'image/jpeg' }), 'face.jpg');
  }
  const req = new Request('http://x/', { method: 'POST', body: form });
  return { method: 'POST' as const, url, payload: Buffer.from(await req.arrayBuffer()), headers: { 'content-type': req.headers.get('content-type')! } };
}
