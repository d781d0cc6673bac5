import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { backendNames } from '../helpers/backends.ts';
import { useInstances, useTestApp } from '../helpers/app.ts';
import { as, createClient } from '../helpers/foundation.ts';
import { MemoryRateLimiter, RedisRateLimiter } from '../../src/services/rate-limit.service.ts';

const USERS = { method: 'GET', url: '/api/clients/users/' } as const;
const REDIS = process.env.WAJAH_TEST_REDIS || '';

for (const backend of backendNames()) {
  describe(`rate limits [${backend}]`, () => {
    const t = useTestApp(backend);

    test('over the hourly budget: 429 RATE_LIMIT_EXCEEDED with Retry-After and X-RateLimit-*', async () => {
      const c = await createClient(t().app, { tier: 'enterprise', calls_per_hour: 3 });
      for (let i = 0; i < 3; i++) {
        const ok = await as(t().app, c, USERS);
        assert.equal(ok.statusCode, 200);
        assert.equal(ok.headers['x-ratelimit-limit'], '3');
        assert.equal(ok.headers['x-ratelimit-remaining'], String(2 - i));
      }
      const res = await as(t().app, c, USERS);
      assert.equal(res.statusCode, 429);
      assert.equal(res.json().code, 'RATE_LIMIT_EXCEEDED');
      const retry = Number(res.headers['retry-after']);
      assert.ok(retry >= 1 && retry <= 3600, String(retry));
      assert.equal(res.headers['x-ratelimit-remaining'], '0');
      assert.ok(res.headers['x-ratelimit-reset']);
    });

    test('enterprise without calls_per_hour is unlimited (no counter)', async () => {
      const c = await createClient(t().app, { tier: 'enterprise' });
      const res = await as(t().app, c, USERS);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['x-ratelimit-limit'], undefined);
    });
  });
}

describe('fixed window counters', () => {
  test('memory: resets at the window boundary', async () => {
    const l = new MemoryRateLimiter(1000);
    assert.equal((await l.hit('c', 1, 5000)).allowed, true);
    const d = await l.hit('c', 1, 5500);
    assert.equal(d.allowed, false);
    assert.equal(d.retryAfter, 1);
    assert.equal((await l.hit('c', 1, 6000)).allowed, true);
  });

  test('redis: two limiters share one budget', { skip: !REDIS && 'WAJAH_TEST_REDIS not set' }, async () => {
    const a = new Redis(REDIS);
    const b = new Redis(REDIS);
    try {
      const la = new RedisRateLimiter(a, console);
      const lb = new RedisRateLimiter(b, console);
      const id = `unit-${Date.now()}-${Math.random()}`;
      const results = [];
      for (let i = 0; i < 6; i++) results.push((await (i % 2 ? lb : la).hit(id, 5)).allowed);
      assert.deepEqual(results, [true, true, true, true, true, false]);
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });
});

/** Two server instances on one PostgreSQL database and one Redis enforce one limit together. */
describe('two app instances sharing Redis', { skip: (!REDIS && 'WAJAH_TEST_REDIS not set') || (!backendNames().includes('postgres') && 'PostgreSQL not available') }, () => {
  const { apps } = useInstances(2, { redisUrl: REDIS });

  test('calls_per_hour: 5 across both instances; the 6th call is refused', async () => {
    const c = await createClient(apps[0]!, { tier: 'enterprise', calls_per_hour: 5 });
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) codes.push((await as(apps[i % 2]!, c, USERS)).statusCode);
    assert.deepEqual(codes, [200, 200, 200, 200, 200, 429]);
  });
});
