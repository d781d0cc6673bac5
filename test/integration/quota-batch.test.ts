import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import { useTestApp } from '../helpers/app.ts';
import { as, createClient, quickBackend, type TestClient } from '../helpers/foundation.ts';
import { dataFile, multipart } from '../helpers/face-fixtures.ts';
import type { Container } from '../../src/container.ts';
import { MemoryRateLimiter, RedisRateLimiter } from '../../src/services/rate-limit.service.ts';

/**
 * The batch endpoints run the face engine once per image, so each image is one call of the hourly budget
 * (docs/foundation.md, "Limits"). They counted one call per request: a basic key (1,000 calls an hour) could have
 * 64,000 images analysed. A batch that does not fit in the calls left is refused whole, before any image is
 * analysed or anything written, and nothing of it is counted.
 */
const AUTH_BATCH = '/api/auth/authentication/batch-process/';
const ENROLL_BATCH = '/api/auth/enrollment/batch/';
const REVIEW = '/api/auth/enrollment/review/';
const FACES = ['faces_extra/face_recognition/obama/obama_04.jpg', 'faces_extra/face_recognition/obama/obama_05.jpg'];
// Not a decodable image: where a batch is refused up front the engine never sees it.
const NOT_AN_IMAGE = 'data:image/jpeg;base64,/9j/4AAQ';
const REDIS = process.env.WAJAH_TEST_REDIS || '';

async function postFiles(app: FastifyInstance, c: TestClient, url: string, field: string, files: string[], fields: Record<string, string>) {
  const { payload, headers } = await multipart([
    ...files.map((f) => ({ name: field, value: dataFile(f), filename: f.split('/').pop()!, type: 'image/jpeg' })),
    ...Object.entries(fields).map(([name, value]) => ({ name, value })),
  ]);
  return as(app, c, { method: 'POST', url, payload, headers });
}

async function written(container: Container, clientId: string): Promise<{ attempts: number; enrollments: number }> {
  const db = container.database.db;
  const attempts = await db.selectFrom('auth_attempts').select('id').where('client_id', '=', clientId).execute();
  const enrollments = await db.selectFrom('enrollments').select('id').where('client_id', '=', clientId).execute();
  return { attempts: attempts.length, enrollments: enrollments.length };
}

describe('batches against the hourly call budget', () => {
  const t = useTestApp(quickBackend(), { engine: true });

  test('each image is one call; a batch larger than the calls left is refused whole, up front, and counts nothing', async () => {
    const { app, container } = t();
    const c = await createClient(app, { tier: 'basic', calls_per_hour: 5 });
    const refused = (res: Awaited<ReturnType<typeof as>>, remaining: number, requested: number) => {
      assert.equal(res.statusCode, 429, res.body.slice(0, 300));
      assert.equal(res.json().code, 'RATE_LIMIT_EXCEEDED');
      assert.deepEqual(res.json().details, { limit: 5, remaining, requested });
      assert.ok(Number(res.headers['retry-after']) >= 1, String(res.headers['retry-after']));
      assert.equal(res.headers['x-ratelimit-limit'], '5');
      assert.equal(res.headers['x-ratelimit-remaining'], String(remaining));
    };

    // Six images with five calls left: never one call, whatever the form.
    refused(await as(app, c, { method: 'POST', url: AUTH_BATCH, payload: { frames: Array(6).fill(NOT_AN_IMAGE), options: { mode: 'identification' } } }), 5, 6);
    refused(await postFiles(app, c, AUTH_BATCH, 'frames', [...FACES, ...FACES, ...FACES], { options: JSON.stringify({ mode: 'identification' }) }), 5, 6);
    refused(await as(app, c, { method: 'POST', url: ENROLL_BATCH, payload: { items: Array(6).fill({ user_id: 'obama', image: NOT_AN_IMAGE }) } }), 5, 6);
    refused(await postFiles(app, c, ENROLL_BATCH, 'images', [...FACES, ...FACES, ...FACES], { user_ids: JSON.stringify(Array(6).fill('obama')) }), 5, 6);
    assert.deepEqual(await written(container, c.client_id), { attempts: 0, enrollments: 0 });

    // Nothing of the refused batches was counted: the next call sees all five left.
    const user = await as(app, c, { method: 'POST', url: '/api/clients/users/', payload: { external_id: 'obama', name: 'Barack Obama' } });
    assert.equal(user.statusCode, 201, user.body);
    assert.equal(user.headers['x-ratelimit-remaining'], '4');

    // Two real images: two calls, and they are enrolled.
    const enrolled = await postFiles(app, c, ENROLL_BATCH, 'images', FACES, { user_ids: JSON.stringify(['obama', 'obama']), quality_threshold: '0.3' });
    assert.equal(enrolled.statusCode, 200, enrolled.body);
    assert.equal(enrolled.json().completed, 2, enrolled.body);
    assert.equal(enrolled.headers['x-ratelimit-remaining'], '2');

    // Three frames with two calls left: refused before any frame is analysed (no attempt written).
    refused(await postFiles(app, c, AUTH_BATCH, 'frames', [...FACES, FACES[0]!], { options: JSON.stringify({ mode: 'identification' }) }), 2, 3);
    assert.deepEqual(await written(container, c.client_id), { attempts: 0, enrollments: 1 });

    // Two frames fit exactly: both analysed, the budget spent.
    const identified = await postFiles(app, c, AUTH_BATCH, 'frames', FACES, { options: JSON.stringify({ mode: 'identification' }) });
    assert.equal(identified.statusCode, 200, identified.body);
    assert.equal(identified.json().total, 2);
    assert.equal(identified.headers['x-ratelimit-remaining'], '0');
    assert.equal((await written(container, c.client_id)).attempts, 2);
    const after = await as(app, c, { method: 'GET', url: '/api/clients/users/' });
    assert.equal(after.statusCode, 429);
  });

  test('a manual-review request counts one call per photo (each is checked for a face), all or nothing', async () => {
    const { app, container } = t();
    const c = await createClient(app, { tier: 'basic', calls_per_hour: 5 });
    assert.equal((await as(app, c, { method: 'POST', url: '/api/clients/users/', payload: { external_id: 'obama', name: 'Barack Obama' } })).statusCode, 201);
    const review = (n: number) => postFiles(app, c, REVIEW, 'images', Array.from({ length: n }, (_, i) => FACES[i % 2]!), { user_id: 'obama', reason: 'cannot enroll' });
    const refused = await review(5);
    assert.equal(refused.statusCode, 429, refused.body.slice(0, 300));
    assert.deepEqual(refused.json().details, { limit: 5, remaining: 4, requested: 5 });
    const reviews = async () => (await sql<{ n: number }>`SELECT count(*)::int AS n FROM review_requests WHERE client_id = ${c.client_id}`.execute(container.database.db)).rows[0]!.n;
    assert.equal(await reviews(), 0, 'nothing stored for a refused request');
    const accepted = await review(2);
    assert.equal(accepted.statusCode, 201, accepted.body.slice(0, 300));
    assert.equal(accepted.headers['x-ratelimit-remaining'], '2');
    assert.equal(await reviews(), 1);
  });

  test('a batch refused for its content, before its images are known, is one call', async () => {
    const { app } = t();
    const c = await createClient(app, { tier: 'basic', calls_per_hour: 5 });
    const res = await as(app, c, { method: 'POST', url: ENROLL_BATCH, payload: { images: [NOT_AN_IMAGE, NOT_AN_IMAGE], user_ids: ['a'] } });
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.headers['x-ratelimit-remaining'], '4');
  });
});

describe('counting a batch in the limiter: all or nothing', () => {
  test('memory: what fits is counted; what does not gives back the request\'s own call', async () => {
    const l = new MemoryRateLimiter(3600_000);
    const now = 7_200_000;
    assert.equal((await l.hit('c', 5, now)).remaining, 4);
    const big = await l.take('c', 5, 6, now, 1);
    assert.deepEqual([big.allowed, big.remaining], [false, 5]);
    const fits = await l.take('c', 5, 5, now, 0);
    assert.deepEqual([fits.allowed, fits.remaining], [true, 0]);
    assert.equal((await l.hit('c', 5, now)).allowed, false);
  });

  test('redis: two limiters (two instances) share the batch counts', { skip: !REDIS && 'WAJAH_TEST_REDIS not set' }, async () => {
    const a = new Redis(REDIS);
    const b = new Redis(REDIS);
    try {
      const la = new RedisRateLimiter(a, console);
      const lb = new RedisRateLimiter(b, console);
      const id = `batch-${Date.now()}-${Math.random()}`;
      assert.equal((await la.hit(id, 5)).remaining, 4);
      const first = await lb.take(id, 5, 3, Date.now(), 0);
      assert.deepEqual([first.allowed, first.remaining], [true, 1]);
      assert.equal((await lb.hit(id, 5)).remaining, 0);
      const refused = await la.take(id, 5, 2, Date.now(), 1);
      assert.deepEqual([refused.allowed, refused.remaining], [false, 1]);
      const last = await lb.take(id, 5, 1, Date.now(), 0);
      assert.deepEqual([last.allowed, last.remaining], [true, 0]);
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });
});
