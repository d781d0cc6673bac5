import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Static } from '@sinclair/typebox';
import { useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, dataFile } from '../helpers/face-fixtures.ts';
import { createClient, quickBackend, type TestClient } from '../helpers/foundation.ts';
import { UserExport as UserExportSchema, UserPage, UserSchema } from '../../src/api/users.schemas.ts';
import { DeliveryDetailSchema, DeliveryPage, EndpointPage, EndpointSchema } from '../../src/api/webhooks.schemas.ts';
import { EVENT_NAMES, type EventPayloads } from '../../src/services/events.ts';
import { CHALLENGES } from '../../src/services/liveness.service.ts';
import { signBody } from '../../src/services/webhooks/signer.ts';
import {
  FaceRecognitionClient,
  FaceRecognitionError,
  RecognitionSocket,
  WEBHOOK_EVENTS,
  signWebhookPayload,
  verifyWebhookSignature,
  type AuthDecision,
  type AuthResult,
  type AuthenticationSession,
  type EnrollmentFrameResult,
  type EnrollmentList,
  type EnrollmentResult,
  type EnrollmentSession,
  type LivenessChallenge,
  type Match,
  type Page,
  type RecognitionResult,
  type User,
  type UserExport,
  type WebSocketConstructor,
  type WebhookEndpoint,
  type WebhookEventPayloads,
  type WebhookLog,
  type WebhookLogDetail,
} from '../../sdk/js/src/index.ts';
import * as nodeSdk from '../../sdk/js/src/node.ts';

/**
 * The SDK against a real server: real HTTP on an ephemeral port, the real face engine, a real
 * WebSocket and real webhook deliveries. One backend (PostgreSQL when available, see quickBackend):
 * this suite tests the client, not the storage, which test/integration covers on every backend.
 */

const FR = 'faces_extra/face_recognition';
const OBAMA_1 = `${FR}/obama/obama_01.jpg`;
const OBAMA_2 = `${FR}/obama/obama_02.jpg`;
const BIDEN_1 = `${FR}/biden/biden_01.jpg`;
const WS = createRequire(import.meta.url)('ws') as WebSocketConstructor;
const SDK_SRC = path.resolve(import.meta.dirname, '../../sdk/js/src');

// ---- compile-time: the SDK's hand-written types equal the server's schemas (root `tsc --noEmit`) --
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Every value the server produces fits the SDK type (for types the SDK keeps open to additions). */
type Fits<Server, Sdk> = [Server] extends [Sdk] ? true : false;
const typeChecks: Array<true> = [
  true satisfies Same<User, Static<typeof UserSchema>>,
  true satisfies Same<Page<User>, Static<typeof UserPage>>,
  true satisfies Same<Omit<UserExport, string>, Omit<Static<typeof UserExportSchema>, string>>,
  true satisfies Same<WebhookEndpoint, Static<typeof EndpointSchema>>,
  true satisfies Same<Page<WebhookEndpoint>, Static<typeof EndpointPage>>,
  true satisfies Same<Page<WebhookLog>, Static<typeof DeliveryPage>>,
  true satisfies Same<WebhookLogDetail, Static<typeof DeliveryDetailSchema>>,
  true satisfies Fits<EventPayloads, Omit<WebhookEventPayloads, 'webhook.test'>>,
  true satisfies Same<Exclude<keyof WebhookEventPayloads, 'webhook.test'>, keyof EventPayloads>,
  true satisfies Same<LivenessChallenge, (typeof CHALLENGES)[number]>,
];
/** Compile-time only: the browser's WebSocket class fits the helper without a cast. */
export const domWebSocketFits = (c: typeof globalThis.WebSocket): WebSocketConstructor => c;

/**
 * Run-time shape check for answers whose schemas the server keeps private: every key of the answer
 * must be a key of the SDK type (the `Record<keyof T, true>` literal must list exactly the type's
 * keys, or tsc fails), and every required key must be present.
 */
function assertShape<T>(value: unknown, keys: Record<keyof T, true>, optional: Array<keyof T> = []): asserts value is T {
  assert.ok(value && typeof value === 'object', `not an object: ${JSON.stringify(value)}`);
  const known = Object.keys(keys);
  for (const k of Object.keys(value)) assert.ok(known.includes(k), `answer field "${k}" is missing from the SDK type`);
  for (const k of known) if (!optional.includes(k as keyof T)) assert.ok(k in value, `SDK type field "${k}" is not in the answer`);
}
const DECISION_KEYS: Record<keyof AuthDecision, true> = {
  status: true, result: true, liveness_result: true, liveness: true, face_detected: true, feedback: true,
  quality_score: true, attempts_remaining: true, processing_time: true, timestamp: true, face: true,
};
const DECISION_OPTIONAL: Array<keyof AuthDecision> = ['result', 'liveness_result', 'liveness', 'face_detected', 'feedback', 'quality_score', 'attempts_remaining', 'face'];
const RESULT_KEYS: Record<keyof AuthResult, true> = {
  authenticated: true, confidence: true, user_id: true, user_name: true, matches: true, liveness_score: true,
  quality_score: true, threshold: true, failure_reason: true,
};
const RESULT_OPTIONAL: Array<keyof AuthResult> = ['authenticated', 'confidence', 'user_id', 'user_name', 'matches', 'failure_reason'];
const ENROLLED_KEYS: Record<keyof EnrollmentResult, true> = { status: true, enrollment_id: true, user_id: true, quality_metrics: true, created_at: true, face: true };

const USER_KEYS: Record<keyof User, true> = {
  id: true, external_id: true, name: true, email: true, metadata: true, is_active: true, created_at: true, updated_at: true,
  enrollments_count: true, last_authentication: true,
};
const PAGE_KEYS: Record<keyof Page<unknown>, true> = { count: true, page: true, page_size: true, total_pages: true, results: true };
const ENDPOINT_KEYS: Record<keyof WebhookEndpoint, true> = {
  id: true, url: true, events: true, is_active: true, retry_policy: true, secret_set: true, created_at: true, updated_at: true, secret: true,
};
const LOG_KEYS: Record<keyof WebhookLogDetail, true> = {
  id: true, endpoint_id: true, url: true, event_id: true, event_type: true, status: true, attempts: true, next_attempt_at: true,
  last_status_code: true, last_error: true, response_ms: true, created_at: true, delivered_at: true, body: true,
};
const { body: _body, ...LOG_LIST_KEYS } = LOG_KEYS;

async function rejects(promise: Promise<unknown>, code: string, statusCode?: number): Promise<FaceRecognitionError> {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof FaceRecognitionError, `not a FaceRecognitionError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (statusCode !== undefined) assert.equal(e.statusCode, statusCode);
    return e;
  }
  assert.fail(`expected ${code}, got success`);
}

/** A webhook receiver keeping each request's raw bytes and headers. */
class Receiver {
  readonly received: Array<{ raw: Buffer; headers: http.IncomingHttpHeaders }> = [];
  readonly #server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.received.push({ raw: Buffer.concat(chunks), headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
    });
  });
  url = '';
  async listen(): Promise<void> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/webhooks/face-recognition`;
  }
  /** The first delivery of `event` whose data.user_id is `userId` (when given). */
  async waitFor(event: string, userId?: string, timeoutMs = 10_000): Promise<{ raw: Buffer; headers: http.IncomingHttpHeaders }> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.received.find((r) => r.headers['x-event-type'] === event && (userId === undefined || JSON.parse(r.raw.toString('utf8')).data.user_id === userId));
      if (hit) return hit;
      if (Date.now() > end) assert.fail(`no ${event} delivery within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((r) => this.#server.close(() => r()));
  }
}

describe('@wajah/sdk against a real server', () => {
  const t = useTestApp(quickBackend(), { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
  let origin = '';
  let tenant: TestClient;
  let client: FaceRecognitionClient;

  before(async () => {
    const { app } = t();
    await app.listen({ port: 0, host: '127.0.0.1' });
    origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    tenant = await createClient(app, { name: 'SDK test', tier: 'enterprise' });
    client = new FaceRecognitionClient({ baseUrl: `${origin}/api`, apiKey: tenant.api_key, secretKey: tenant.secret_key });
  });

  test('the package: name, ESM, both entries; the browser entry has no Node imports', () => {
    assert.equal(typeChecks.length, 10);
    const pkg = JSON.parse(fs.readFileSync(path.join(SDK_SRC, '../package.json'), 'utf8'));
    assert.equal(pkg.name, '@wajah/sdk');
    assert.equal(pkg.type, 'module');
    assert.deepEqual(Object.keys(pkg.exports), ['.', './node']);
    assert.equal(pkg.dependencies, undefined);
    for (const f of fs.readdirSync(SDK_SRC).filter((f) => f.endsWith('.ts') && f !== 'node.ts')) {
      const src = fs.readFileSync(path.join(SDK_SRC, f), 'utf8');
      assert.doesNotMatch(src, /from ['"]node:|require\(|\bBuffer\b|\bprocess\./, f);
    }
    assert.deepEqual([...WEBHOOK_EVENTS], [...EVENT_NAMES]);
  });

  test('sends Authorization: ApiKey KEY:SECRET; a bare origin means /api; status()', async () => {
    const seen: string[] = [];
    const spy = new FaceRecognitionClient({
      baseUrl: origin,
      apiKey: tenant.api_key,
      secretKey: tenant.secret_key,
      fetch: (url, init) => {
        seen.push(`${url} ${(init.headers as Record<string, string>).authorization}`);
        return fetch(url, init);
      },
    });
    const status = await spy.status();
    assert.equal(status.status === 'healthy' || status.status === 'degraded', true, JSON.stringify(status));
    assert.equal(status.services.face_recognition, 'online');
    assert.deepEqual(seen, [`${origin}/api/core/status/ ApiKey ${tenant.api_key}:${tenant.secret_key}`]);
  });

  test('users: create, get (uuid and external_id), list with search, update, deactivate/activate, export, delete', async () => {
    const created = await client.users.create({ external_id: 'EMP001', name: 'John Doe', email: 'john.doe@company.com', metadata: { department: 'IT' } });
    assertShape<User>(created, USER_KEYS);
    assert.equal(created.external_id, 'EMP001');
    assert.equal(created.is_active, true);
    assert.equal(created.enrollments_count, 0);
    assert.deepEqual(await client.users.get(created.id), created);
    assert.equal((await client.users.get('EMP001')).id, created.id);

    await client.users.create({ external_id: 'EMP002', name: 'Jane Roe' });
    const page = await client.users.list({ search: 'john', page_size: 10 });
    assertShape<Page<User>>(page, PAGE_KEYS);
    for (const u of page.results) assertShape<User>(u, USER_KEYS);
    assert.deepEqual(page.results.map((u) => u.external_id), ['EMP001']);
    assert.equal(page.page_size, 10);

    const updated = await client.users.update('EMP001', { name: 'John Q. Doe', metadata: { department: 'HR' } });
    assert.equal(updated.name, 'John Q. Doe');
    assert.deepEqual(updated.metadata, { department: 'HR' });
    assert.equal((await client.users.deactivate('EMP001')).is_active, false);
    assert.deepEqual((await client.users.list({ is_active: false })).results.map((u) => u.external_id), ['EMP001']);
    assert.equal((await client.users.activate('EMP001')).is_active, true);

    const exported = await client.users.export('EMP001');
    for (const k of ['format', 'exported_at', 'user', 'enrollments', 'face_templates', 'face_photos', 'authentication_attempts', 'events', 'audit_logs']) assert.ok(k in exported, k);
    assert.equal(exported.user.id, created.id);

    assert.equal(await client.users.delete('EMP001'), undefined);
    await rejects(client.users.get('EMP001'), 'USER_NOT_FOUND', 404);
    await client.users.delete('EMP002');
  });

  test('errors: server codes with statusCode and details; bad key; duplicate; network failure and timeout', async () => {
    const missing = await rejects(client.users.get('nobody-here'), 'USER_NOT_FOUND', 404);
    assert.equal(missing.name, 'FaceRecognitionError');
    assert.ok(missing.message.length > 0);
    await rejects(client.authentication.verify({ user_id: 'nobody-here', image: dataFile(OBAMA_2) }), 'USER_NOT_FOUND', 404);

    const badKey = new FaceRecognitionClient({ baseUrl: `${origin}/api`, apiKey: tenant.api_key, secretKey: 'wsk_wrong' });
    await rejects(badKey.users.list(), 'INVALID_CREDENTIALS', 401);

    await client.users.create({ external_id: 'DUP', name: 'Dup' });
    await rejects(client.users.create({ external_id: 'DUP', name: 'Dup' }), 'USER_EXISTS', 409);
    const invalid = await rejects(client.users.list({ page_size: 1000 }), 'VALIDATION_ERROR', 400);
    assert.equal((invalid.details as { field: string }).field, 'page_size');

    // Nothing listens on a port we just closed.
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const deadPort = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const dead = new FaceRecognitionClient({ baseUrl: `http://127.0.0.1:${deadPort}/api`, apiKey: 'k', secretKey: 's' });
    await rejects(dead.status(), 'NETWORK_ERROR', 0);

    // A server that accepts and never answers.
    const silent = http.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const slow = new FaceRecognitionClient({ baseUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, apiKey: 'k', secretKey: 's', timeoutMs: 150 });
    await rejects(slow.status(), 'TIMEOUT', 0);
    const controller = new AbortController();
    const aborted = rejects(slow.users.list({}, { signal: controller.signal, timeoutMs: 10_000 }), 'ABORTED', 0);
    controller.abort();
    await aborted;
    silent.closeAllConnections();
    await new Promise((r) => silent.close(r));
  });

  test('RATE_LIMIT_EXCEEDED carries retryAfter from Retry-After (the guide\'s retry pattern)', async () => {
    const limited = await createClient(t().app, { name: 'Limited', tier: 'basic', calls_per_hour: 1 });
    const c = new FaceRecognitionClient({ baseUrl: origin, apiKey: limited.api_key, secretKey: limited.secret_key });
    await c.users.list();
    const e = await rejects(c.users.list(), 'RATE_LIMIT_EXCEEDED', 429);
    assert.ok(typeof e.retryAfter === 'number' && e.retryAfter > 0 && e.retryAfter <= 3600, String(e.retryAfter));
  });

  test('enrollment: direct (bytes → multipart), list; verify the same person (Blob) and another (data URL → JSON); identify; authenticate()', async () => {
    await client.users.create({ external_id: 'obama', name: 'Barack Obama', metadata: { team: 'A' } });
    const enrolled = await client.enrollment.direct({ user_id: 'obama', image: new Uint8Array(dataFile(OBAMA_1)), quality_threshold: 0.3 });
    assertShape<EnrollmentResult>(enrolled, ENROLLED_KEYS, ['face']);
    assert.equal(enrolled.status, 'completed');
    assert.equal(enrolled.user_id, 'obama');
    assert.equal(enrolled.quality_metrics.face_count, 1);

    const list = await client.enrollment.list('obama');
    assertShape<EnrollmentList>(list, { user_id: true, count: true, enrollments: true });
    assert.deepEqual(list.enrollments.map((e) => e.enrollment_id), [enrolled.enrollment_id]);
    assert.equal((await client.users.get('obama')).enrollments_count, 1);

    const genuine = await client.authentication.verify({ user_id: 'obama', image: new Blob([new Uint8Array(dataFile(OBAMA_2))], { type: 'image/jpeg' }) });
    assertShape<AuthDecision>(genuine, DECISION_KEYS, DECISION_OPTIONAL);
    assertShape<AuthResult>(genuine.result, RESULT_KEYS, RESULT_OPTIONAL);
    assert.equal(genuine.status, 'completed');
    assert.equal(genuine.result!.authenticated, true);
    assert.equal(genuine.result!.user_id, 'obama');
    assert.ok(genuine.result!.confidence! >= genuine.result!.threshold);

    const impostor = await client.authentication.verify({ user_id: 'obama', image: `data:image/jpeg;base64,${dataFile(BIDEN_1).toString('base64')}` });
    assert.equal(impostor.status, 'failed');
    assert.equal(impostor.result!.authenticated, false);
    assert.equal(impostor.result!.failure_reason, 'LOW_CONFIDENCE');

    const found = await client.authentication.identify({ image: dataFile(OBAMA_2).toString('base64'), max_results: 3 });
    assert.equal(found.status, 'completed');
    const best = found.result!.matches![0]!;
    assertShape<Match>(best, { user_id: true, confidence: true, name: true, metadata: true });
    assert.deepEqual([best.user_id, best.name, best.metadata], ['obama', 'Barack Obama', { team: 'A' }]);

    // The guide's `faceRecognitionAPI.authenticate({ user_id, image })`: 1:1 with user_id, 1:N without.
    assert.equal((await client.authenticate({ user_id: 'obama', image: dataFile(OBAMA_2) })).result!.authenticated, true);
    const nobody = await client.authenticate({ image: dataFile(BIDEN_1) });
    assert.deepEqual([nobody.status, nobody.result!.matches, nobody.result!.failure_reason], ['failed', [], 'NO_MATCH']);
  });

  test('sessions: enrollment create → processFrame → complete; authentication create → processFrame; batches; delete an enrollment', async () => {
    await client.users.create({ external_id: 'biden', name: 'Joe Biden' });
    const session = await client.enrollment.create({ user_id: 'biden', session_type: 'upload', quality_threshold: 0.3 });
    assertShape<EnrollmentSession>(session, { session_id: true, session_token: true, expires_at: true, status: true, user_id: true, session_type: true, requirements: true });
    assert.equal(session.requirements.required_frames, 1);
    const frame = await client.enrollment.processFrame(session.session_token, dataFile(BIDEN_1), { device: 'sdk-test' });
    assertShape<EnrollmentFrameResult>(frame, {
      status: true, quality_score: true, face_detected: true, frame_accepted: true, rejection_reason: true, captured: true,
      auto_capture: true, angle: true, feedback: true, progress: true, face: true,
    }, ['face']);
    assert.equal(frame.status, 'ready', JSON.stringify(frame));
    const done = await client.enrollment.complete(session.session_token);
    assertShape<EnrollmentResult>(done, ENROLLED_KEYS, ['face']);
    assert.equal(done.user_id, 'biden');
    await rejects(client.enrollment.processFrame(session.session_token, dataFile(BIDEN_1)), 'SESSION_COMPLETED', 409);

    const auth = await client.authentication.create({ mode: 'verification', user_id: 'biden' });
    assertShape<AuthenticationSession>(auth, {
      session_id: true, session_token: true, expires_at: true, status: true, mode: true, user_id: true, require_liveness: true, settings: true, liveness: true,
    }, ['liveness']);
    const decided = await client.authentication.processFrame(auth.session_token, `data:image/jpeg;base64,${dataFile(BIDEN_1).toString('base64')}`);
    assert.equal(decided.result!.authenticated, true, JSON.stringify(decided));
    assert.equal(decided.result!.user_name, 'Joe Biden');

    // Batch enrollment: bytes go multipart (images + user_ids), strings go JSON (items).
    await client.users.create({ external_id: 'obama-2', name: 'Barack Obama' });
    const batch = await client.enrollment.batch([{ user_id: 'obama-2', image: dataFile(OBAMA_2) }], { quality_threshold: 0.3 });
    assert.deepEqual([batch.total, batch.completed, batch.failed], [1, 1, 0]);
    assert.equal(batch.results[0]!.filename, 'images-0.jpg');
    const batchJson = await client.enrollment.batch([{ user_id: 'nobody-here', image: `data:image/jpeg;base64,${dataFile(OBAMA_2).toString('base64')}` }]);
    assert.equal(batchJson.failed, 1);
    assert.equal(batchJson.results[0]!.error!.code, 'USER_NOT_FOUND');

    const frames = await client.authentication.batchProcess([dataFile(OBAMA_2), dataFile(BIDEN_1)], { mode: 'identification' });
    assert.deepEqual([frames.mode, frames.total], ['identification', 2]);
    assert.deepEqual(frames.results.map((r) => r.result?.matches?.[0]?.user_id ?? null).slice(1), ['biden']);

    const removed = await client.enrollment.delete(batch.results[0]!.enrollment_id!);
    assert.deepEqual([removed.deleted, removed.enrollment_id], [true, batch.results[0]!.enrollment_id]);
    await rejects(client.enrollment.delete(batch.results[0]!.enrollment_id!), 'ENROLLMENT_NOT_FOUND', 404);
  });

  describe('webhooks', () => {
    const receiver = new Receiver();
    const secret = 'whsec_sdk_test_secret_0123456789';
    before(() => receiver.listen());
    after(() => receiver.close());

    test('endpoints CRUD; test ping; a real event delivery verifies with both entries and fails when tampered', async () => {
      const ep = await client.webhooks.endpoints.create({ url: receiver.url, events: ['user.created'], secret, retry_policy: { max_retries: 0 } });
      assertShape<WebhookEndpoint>(ep, ENDPOINT_KEYS, ['secret']);
      assert.equal(ep.secret, undefined);
      assert.deepEqual(ep.retry_policy, { max_retries: 0, backoff_strategy: 'exponential', retry_delay: 30 });
      assert.equal((await client.webhooks.endpoints.get(ep.id)).url, receiver.url);
      const page = await client.webhooks.endpoints.list({ page_size: 5 });
      assertShape<Page<WebhookEndpoint>>(page, PAGE_KEYS);
      assert.deepEqual(page.results.map((e) => e.id), [ep.id]);
      assert.deepEqual((await client.webhooks.endpoints.update(ep.id, { events: ['user.created', 'user.updated'] })).events, ['user.created', 'user.updated']);

      const ping = await client.webhooks.endpoints.test(ep.id);
      assertShape<WebhookLogDetail>(ping, LOG_KEYS);
      assert.equal(ping.status, 'delivered', JSON.stringify(ping));
      assert.equal(ping.event_type, 'webhook.test');
      const pinged = await receiver.waitFor('webhook.test');
      assert.equal(await verifyWebhookSignature(pinged.raw, pinged.headers['x-signature'], secret), true);

      await client.users.create({ external_id: 'hooked', name: 'Hook Ed' });
      const got = await receiver.waitFor('user.created', 'hooked');
      const signature = got.headers['x-signature'];
      assert.match(String(signature), /^sha256=[0-9a-f]{64}$/);
      const text = got.raw.toString('utf8');
      // Browser entry (Web Crypto, async) on bytes and on text; Node entry (node:crypto, sync).
      assert.equal(await verifyWebhookSignature(got.raw, signature, secret), true);
      assert.equal(await verifyWebhookSignature(text, signature, secret), true);
      assert.equal(nodeSdk.verifyWebhookSignature(got.raw, signature, secret), true);
      assert.equal(nodeSdk.verifyWebhookSignature(text, signature, secret), true);
      // Same scheme as the server's own signer.
      assert.equal(await signWebhookPayload(text, secret), signBody(text, secret));
      assert.equal(nodeSdk.signWebhookPayload(text, secret), signBody(text, secret));
      // Tampered body, wrong secret, malformed or missing header.
      const tampered = text.replace('Hook Ed', 'Hook Eve');
      assert.notEqual(tampered, text);
      for (const [body, sig, key] of [
        [tampered, signature, secret],
        [text, signature, `${secret}x`],
        [text, String(signature).toUpperCase(), secret],
        [text, String(signature).slice(7), secret],
        [text, undefined, secret],
      ] as const) {
        assert.equal(await verifyWebhookSignature(body, sig, key), false);
        assert.equal(nodeSdk.verifyWebhookSignature(body, sig, key), false);
      }
      const body = JSON.parse(text);
      assert.deepEqual([body.event, body.data.user_id, body.webhook_id], ['user.created', 'hooked', ep.id]);

      const logs = await client.webhooks.logs.list({ event_type: 'user.created', status: 'delivered' });
      assertShape<Page<WebhookLog>>(logs, PAGE_KEYS);
      for (const l of logs.results) assertShape<WebhookLog>(l, LOG_LIST_KEYS);
      const log = logs.results.find((l) => l.id === got.headers['x-webhook-id']);
      assert.ok(log, JSON.stringify(logs));
      const detail = await client.webhooks.logs.get(log.id);
      assert.deepEqual(detail.body, body);
      const retried = await client.webhooks.logs.retry(log.id);
      assert.deepEqual([retried.id, retried.status, retried.attempts], [log.id, 'pending', 0]);

      const replaced = await client.webhooks.endpoints.replace(ep.id, { url: receiver.url, events: ['user.updated'] });
      assert.deepEqual([replaced.events, replaced.retry_policy.max_retries], [['user.updated'], 3]);
      await client.webhooks.endpoints.delete(ep.id);
      await rejects(client.webhooks.endpoints.get(ep.id), 'WEBHOOK_NOT_FOUND', 404);
      await rejects(client.webhooks.logs.get(log.id), 'WEBHOOK_LOG_NOT_FOUND', 404);
    });
  });

  test('WebSocket helper: authenticates, gets the result of a real frame, errors per frame, ping, close', async () => {
    const rt = client.realtime({ WebSocket: WS });
    const closes: number[] = [];
    rt.on('close', (e) => closes.push(e.code));
    assert.deepEqual(await rt.connect(), { client_id: tenant.client_id });
    assert.equal(rt.isOpen, true);

    // Both frames in flight at once: each promise gets its own answer.
    const [hit, miss] = await Promise.all([
      rt.processFrame(`data:image/jpeg;base64,${dataFile(OBAMA_2).toString('base64')}`, { mode: 'identification' }),
      rt.processFrame(new Uint8Array(dataFile(BIDEN_1)), { user_id: 'obama' }),
    ]);
    assertShape<RecognitionResult>(hit, { type: true, timestamp: true, processing_time: true, faces_detected: true, result: true });
    assert.equal(hit.faces_detected, 1);
    assert.equal(hit.result.result!.matches![0]!.user_id, 'obama');
    assert.equal(miss.result.result!.authenticated, false);
    assert.notEqual(hit.timestamp, miss.timestamp);

    await rejects(rt.processFrame('data:image/jpeg;base64,AAAAAAAAAAAAAAAAAAAAAAAA'), 'INVALID_IMAGE');
    await rt.ping();
    const closed = new Promise((r) => rt.on('close', r));
    rt.close();
    await closed;
    assert.deepEqual(closes, [1000]);
    await rejects(rt.processFrame(dataFile(OBAMA_2)), 'CONNECTION_CLOSED');

    const bad = new FaceRecognitionClient({ baseUrl: origin, apiKey: tenant.api_key, secretKey: 'wsk_wrong' }).realtime({ WebSocket: WS });
    const badCloses: number[] = [];
    bad.on('close', (e) => badCloses.push(e.code));
    await rejects(bad.connect(), 'INVALID_CREDENTIALS');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(badCloses, [4401]);

    // Node 24 has a global WebSocket: without options.WebSocket the client uses it; with none at all it says so.
    const viaGlobal = client.realtime();
    assert.match((await viaGlobal.connect()).client_id, /.+/);
    viaGlobal.close();
    // A URL the WebSocket refuses outright rejects (it threw out of connect() before).
    const malformed = new RecognitionSocket({ url: 'http://[not a url', apiKey: tenant.api_key, secretKey: tenant.secret_key, WebSocket: WS });
    let outcome: Promise<unknown> | undefined;
    assert.doesNotThrow(() => {
      outcome = malformed.connect();
    });
    await rejects(outcome!, 'NETWORK_ERROR');
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'WebSocket');
    delete (globalThis as { WebSocket?: unknown }).WebSocket;
    try {
      await rejects(client.realtime().connect(), 'WEBSOCKET_UNAVAILABLE');
    } finally {
      if (saved) Object.defineProperty(globalThis, 'WebSocket', saved);
    }
  });
});
