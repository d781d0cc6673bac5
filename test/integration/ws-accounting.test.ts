// What an `authenticate` on /ws/recognition/ costs (docs/realtime.md, "Authentication and accounting").
// A refused stream got no service: a basic tenant at its stream limit lost one hourly call on every refused
// reconnect (the call was counted before the stream slot was asked for). Now only a granted stream counts
// its call; wrong credentials cost the tenant nothing and count against the address's failed
// authentications, which still block a flood of them. No face engine: everything is decided at `authenticate`.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { useTestApp } from '../helpers/app.ts';
import { createClient, quickBackend, type TestClient } from '../helpers/foundation.ts';
import { WsClient } from '../helpers/ws-client.ts';
import type { ServerMessage } from '../../src/ws/messages.ts';
import { STREAM_SLOT_RETRY_AFTER_S, STREAM_SLOT_TTL_MS } from '../../src/ws/recognition.connection.ts';

async function urlOf(app: FastifyInstance): Promise<string> {
  if (!app.server.listening) await app.listen({ port: 0, host: '127.0.0.1' });
  return `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/ws/recognition/`;
}

/** Connects and authenticates with `secret`; returns the socket and the server's answer. */
async function open(url: string, c: TestClient, secret = c.secret_key): Promise<{ ws: WsClient; answer: ServerMessage }> {
  const ws = await WsClient.connect(url);
  ws.send({ type: 'authenticate', api_key: c.api_key, secret_key: secret });
  return { ws, answer: await ws.next() };
}

/** The tenant's hourly calls left, read with a call of its own (which counts one). */
async function callsLeft(app: FastifyInstance, c: TestClient): Promise<number> {
  const res = await app.inject({ method: 'GET', url: '/api/core/status/', headers: { authorization: c.auth } });
  assert.equal(res.statusCode, 200, res.body);
  return Number(res.headers['x-ratelimit-remaining']);
}

describe('WebSocket authenticate: which refusals cost a call', () => {
  const t = useTestApp(quickBackend());

  test('a stream refused at the stream limit costs no call and says when to retry; a granted stream costs one', async () => {
    const { app } = t();
    const url = await urlOf(app);
    const c = await createClient(app, { tier: 'basic' });
    // The hint is when the first held slot lapses by itself (here the two granted streams' fresh slots:
    // about a slot TTL away), never more than the TTL.
    assert.equal(STREAM_SLOT_RETRY_AFTER_S, STREAM_SLOT_TTL_MS / 1000);
    assert.equal(STREAM_SLOT_RETRY_AFTER_S, 60);
    const before = await callsLeft(app, c);
    const granted = [(await open(url, c)).ws, (await open(url, c)).ws];
    for (let i = 0; i < 5; i++) {
      const { ws, answer } = await open(url, c);
      const retryAfter = (answer as { details?: { retry_after?: number } }).details?.retry_after ?? 0;
      assert.ok(retryAfter >= 50 && retryAfter <= STREAM_SLOT_RETRY_AFTER_S, JSON.stringify(answer));
      assert.deepEqual(answer, {
        type: 'error',
        code: 'STREAMING_LIMIT_EXCEEDED',
        message: 'The basic tier allows 2 concurrent recognition streams',
        details: { max_sessions: 2, retry_after: retryAfter },
      });
      assert.deepEqual(await ws.closed, { code: 4429, reason: 'STREAMING_LIMIT_EXCEEDED' });
    }
    // Two granted streams and the status call that reads the count; the five refusals nothing.
    assert.equal(before - (await callsLeft(app, c)), 3);
    for (const ws of granted) ws.close();
  });

  test('past the hourly budget: RATE_LIMIT_EXCEEDED (4429, details.retry_after)', async () => {
    const { app } = t();
    const url = await urlOf(app);
    const c = await createClient(app, { name: 'Small', tier: 'basic', calls_per_hour: 2 });
    const first = await open(url, c);
    assert.equal(first.answer.type, 'authenticated', JSON.stringify(first.answer));
    const second = await open(url, c);
    assert.equal(second.answer.type, 'authenticated', JSON.stringify(second.answer));
    second.ws.close();
    await second.ws.closed;
    // The budget is spent; the third stream would have a free slot once the server saw the close.
    let third = await open(url, c);
    for (let i = 0; third.answer.type === 'error' && third.answer.code === 'STREAMING_LIMIT_EXCEEDED' && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 20));
      third = await open(url, c);
    }
    assert.equal(third.answer.type === 'error' && third.answer.code, 'RATE_LIMIT_EXCEEDED', JSON.stringify(third.answer));
    const details = (third.answer as { details?: { retry_after?: number } }).details;
    assert.ok(typeof details?.retry_after === 'number' && details.retry_after > 0, JSON.stringify(third.answer));
    assert.equal((await third.ws.closed).code, 4429);
    first.ws.close();
  });

  // Last: the flood blocks this address for keys that have not authenticated here.
  test("costs the key's tenant no call, and a flood of them is blocked by the failed-authentication limit", async () => {
    const { app, container } = t();
    const url = await urlOf(app);
    const c = await createClient(app, { tier: 'basic' });
    const before = await callsLeft(app, c);
    const max = container.foundation.rateLimiter.failures.maxFailures;
    let answer: ServerMessage | null = null;
    let tries = 0;
    for (; tries <= max; tries++) {
      const o = await open(url, c, 'wrong-secret');
      answer = o.answer;
      const closed = await o.ws.closed;
      if (answer.type === 'error' && answer.code === 'RATE_LIMIT_EXCEEDED') {
        assert.equal(closed.code, 4429);
        break;
      }
      assert.deepEqual(answer, { type: 'error', code: 'INVALID_CREDENTIALS', message: 'Missing or invalid API credentials' });
      assert.equal(closed.code, 4401);
    }
    assert.equal(tries, max, `blocked after ${max} failures`);
    assert.ok(answer?.type === 'error' && (answer.details as { retry_after: number }).retry_after > 0, JSON.stringify(answer));
    // The tenant whose key was guessed at lost nothing (the status call is the one counted), and its real
    // secret still works from this address: the key authenticated here before.
    assert.equal(before - (await callsLeft(app, c)), 1);
    const ok = await open(url, c);
    assert.equal(ok.answer.type, 'authenticated', JSON.stringify(ok.answer));
    ok.ws.close();
  });
});
