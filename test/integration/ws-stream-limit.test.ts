// Concurrent WebSocket recognition streams per tenant (docs/realtime.md, "Concurrent streams per client").
// Frames do not count as calls, and nothing capped how many streams one key held: a basic key opened
// hundreds at 10 frames/s each and took the shared inference queue from every other tenant. Now a tier
// holds at most basic 2, premium 10 streams at once (enterprise: no limit), counted across instances
// with Redis. No face engine is needed: the limit is decided at `authenticate`. One set of apps per run
// (the CI budget): two instances on PostgreSQL and Redis when both are there, else one app counting in
// process (src/ws/recognition.connection.test.ts covers in-process counting without either).
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { useInstances, useTestApp } from '../helpers/app.ts';
import { backendNames } from '../helpers/backends.ts';
import { createClient, quickBackend, type TestClient } from '../helpers/foundation.ts';
import { waitFor } from '../helpers/wait.ts';
import { WsClient } from '../helpers/ws-client.ts';
import type { ServerMessage } from '../../src/ws/messages.ts';

const REDIS = process.env.WAJAH_TEST_REDIS || '';
const REFUSED = { type: 'error', code: 'STREAMING_LIMIT_EXCEEDED', message: 'The basic tier allows 2 concurrent recognition streams', details: { max_sessions: 2 } };

/** The refusal, whose `retry_after` is the seconds until the first held slot lapses (1–60; recognition.connection.test.ts checks its value). */
function assertRefused(answer: ServerMessage): void {
  const retryAfter = (answer as { details?: { retry_after?: unknown } }).details?.retry_after;
  assert.ok(Number.isInteger(retryAfter) && (retryAfter as number) >= 1 && (retryAfter as number) <= 60, JSON.stringify(answer));
  assert.deepEqual(answer, { ...REFUSED, details: { ...REFUSED.details, retry_after: retryAfter } });
}

async function urlOf(app: FastifyInstance): Promise<string> {
  if (!app.server.listening) await app.listen({ port: 0, host: '127.0.0.1' });
  return `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/ws/recognition/`;
}

/** Connects and authenticates; returns the socket and the server's answer. */
async function open(url: string, c: TestClient): Promise<{ ws: WsClient; answer: ServerMessage }> {
  const ws = await WsClient.connect(url);
  ws.send({ type: 'authenticate', api_key: c.api_key, secret_key: c.secret_key });
  return { ws, answer: await ws.next() };
}

async function accepted(url: string, c: TestClient): Promise<WsClient> {
  const { ws, answer } = await open(url, c);
  assert.equal(answer.type, 'authenticated', JSON.stringify(answer));
  return ws;
}

async function refused(url: string, c: TestClient): Promise<void> {
  const { ws, answer } = await open(url, c);
  assertRefused(answer);
  assert.deepEqual(await ws.closed, { code: 4429, reason: 'STREAMING_LIMIT_EXCEEDED' });
}

/** A slot is given back when the server sees the close, which may come just after the client sees it. */
async function acceptedOnceFree(url: string, c: TestClient): Promise<WsClient> {
  return waitFor('a free stream slot', async () => {
    const { ws, answer } = await open(url, c);
    if (answer.type === 'authenticated') return ws;
    assertRefused(answer);
    return null;
  }, 5000, 50);
}

const TWO_INSTANCES = Boolean(REDIS) && backendNames().includes('postgres');

describe(`concurrent WebSocket streams per tenant [${TWO_INSTANCES ? 'two instances, postgres, Redis' : 'one instance'}]`, () => {
  const two = TWO_INSTANCES ? useInstances(2, { redisUrl: REDIS }) : null;
  const instances = two?.apps ?? null;
  const single = instances ? null : useTestApp(quickBackend());
  const t = () => ({ app: instances ? instances[0]! : single!().app });

  test('basic: the third authenticate is refused (STREAMING_LIMIT_EXCEEDED, close 4429); a closed stream frees its slot; other tenants are not affected', async () => {
    const { app } = t();
    const url = await urlOf(app);
    const c = await createClient(app, { tier: 'basic' });
    const other = await createClient(app, { name: 'Other', tier: 'basic' });
    const s1 = await accepted(url, c);
    const s2 = await accepted(url, c);
    await refused(url, c);
    const o1 = await accepted(url, other);
    // The open streams still work.
    s1.send({ type: 'ping', timestamp: 1 });
    assert.deepEqual(await s1.next(), { type: 'pong', timestamp: 1 });
    s2.close();
    await s2.closed;
    const s3 = await acceptedOnceFree(url, c);
    await refused(url, c);
    for (const ws of [s1, s3, o1]) ws.close();
  });

  test('enterprise has no limit (the stream benchmark opens 64)', async () => {
    const { app } = t();
    const url = await urlOf(app);
    const c = await createClient(app, { name: 'Big', tier: 'enterprise' });
    const streams = await Promise.all(Array.from({ length: 12 }, () => accepted(url, c)));
    for (const ws of streams) ws.close();
  });

  // Last: it shuts instance b down.
  test('a basic tenant alternating instances holds 2 streams, not 4; a close or a shutdown on one frees the slot for the other', { skip: !TWO_INSTANCES && 'needs WAJAH_TEST_REDIS and PostgreSQL' }, async () => {
    const [a, b] = instances as [FastifyInstance, FastifyInstance];
    const [urlA, urlB] = [await urlOf(a), await urlOf(b)];
    const c = await createClient(a, { tier: 'basic' });
    const onA = await accepted(urlA, c);
    const onB = await accepted(urlB, c);
    await refused(urlA, c);
    await refused(urlB, c);
    onA.close();
    await onA.closed;
    const again = await acceptedOnceFree(urlB, c);
    await refused(urlA, c);
    // Instance b shuts down with both streams open: their slots are given back at once, not left to lapse a
    // minute later. Its Redis goes with it, as in server.ts (the container closes in an onClose hook), before
    // the clients have answered the close.
    await b.close();
    two!.containers[1]!.redis!.disconnect();
    assert.equal((await onB.closed).code, 1001);
    assert.equal((await again.closed).code, 1001);
    const streams = [await accepted(urlA, c), await accepted(urlA, c)];
    await refused(urlA, c);
    for (const ws of streams) ws.close();
  });
});
