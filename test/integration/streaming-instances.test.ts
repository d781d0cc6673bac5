// Two API instances behind a load balancer, one PostgreSQL database and one Redis (docs/streaming.md,
// "Several instances behind a load balancer"). The concurrent WebRTC session limit was counted by each
// process alone: a basic tenant (2 sessions) alternating instances held 2 per instance, 4 in all. Now the
// sessions are counted in Redis, so the tier's limit holds across instances; a session that reaches the
// wrong instance gets a clear SESSION_NOT_FOUND (the peer connection lives where it was created).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { backendNames } from '../helpers/backends.ts';
import { useInstances } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, postJson, type Tenant } from '../helpers/face-fixtures.ts';

const REDIS = process.env.WAJAH_TEST_REDIS || '';

describe('WebRTC sessions across two instances [postgres, Redis]', { skip: (!REDIS && 'WAJAH_TEST_REDIS not set') || (!backendNames().includes('postgres') && 'PostgreSQL not available') }, () => {
  const { apps } = useInstances(2, { redisUrl: REDIS, engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });

  const open = (app: FastifyInstance, t: Tenant) => postJson(app, '/api/streaming/sessions/', t, { session_type: 'webrtc', mode: 'identification' });
  const del = (app: FastifyInstance, t: Tenant, id: string) => app.inject({ method: 'DELETE', url: `/api/streaming/sessions/${id}/`, headers: { authorization: t.auth } });

  test('the concurrent-session limit holds across instances: a basic tenant alternating instances opens 2, not 4', async () => {
    const [a, b] = apps as [FastifyInstance, FastifyInstance];
    const t = await createTenant(a, 'Streams on two instances', 'basic');
    const first = await open(a, t);
    assert.equal(first.statusCode, 201, first.body);
    const second = await open(b, t);
    assert.equal(second.statusCode, 201, second.body);
    for (const app of [a, b]) {
      const third = await open(app, t);
      assert.equal(third.statusCode, 429, third.body);
      assert.equal(third.json().code, 'STREAMING_LIMIT_EXCEEDED');
      assert.equal(third.json().details.max_sessions, 2);
    }
    // A session closed on its instance frees its slot for every instance.
    assert.equal((await del(a, t, first.json().session_id)).statusCode, 204);
    const again = await open(b, t);
    assert.equal(again.statusCode, 201, again.body);
    assert.equal((await del(b, t, second.json().session_id)).statusCode, 204);
    assert.equal((await del(b, t, again.json().session_id)).statusCode, 204);
  });

  test('a session created on one instance, reached on the other: SESSION_NOT_FOUND (404) with the key or the page token, at once', async () => {
    const [a, b] = apps as [FastifyInstance, FastifyInstance];
    const t = await createTenant(a, 'Wrong instance', 'basic');
    const created = await open(a, t);
    assert.equal(created.statusCode, 201, created.body);
    const { session_id: id, page_token: pageToken } = created.json() as { session_id: string; page_token: string };
    const offer = { type: 'offer', sdp: 'v=0\r\n' };
    const answers = [
      await postJson(b, `/api/streaming/sessions/${id}/offer/`, t, offer),
      await b.inject({ method: 'POST', url: `/api/streaming/sessions/${id}/offer/`, headers: { 'x-stream-token': pageToken, 'content-type': 'application/json' }, payload: offer }),
      await b.inject({ method: 'GET', url: `/api/streaming/sessions/${id}/`, headers: { 'x-stream-token': pageToken } }),
      await del(b, t, id),
    ];
    for (const res of answers) {
      assert.equal(res.statusCode, 404, res.body);
      assert.equal(res.json().code, 'SESSION_NOT_FOUND');
    }
    assert.equal((await del(a, t, id)).statusCode, 204);
  });
});
