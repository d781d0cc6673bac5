import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useInstances, useTestApp } from '../helpers/app.ts';
import { backendNames } from '../helpers/backends.ts';
import { as, createClient, quickBackend } from '../helpers/foundation.ts';

/**
 * A tenant that wants more than its tier allows (docs/foundation.md, "Limits"): every spelling of a path spends
 * the same hourly budget, every answer after authentication carries X-RateLimit-*, and racing creations cannot
 * pass the user or webhook-endpoint limits.
 */
describe('quotas under a tenant that pushes them', () => {
  const t = useTestApp(quickBackend());

  test('every spelling of a path is one call of the same budget, and past it every spelling is refused', async () => {
    const { app } = t();
    const c = await createClient(app, { tier: 'enterprise', calls_per_hour: 5 });
    const spellings = ['/api/clients/users/', '/api/v1/clients/users/', '/api/clients/users', '/api/v1/clients/users', '/api/clients/users/?page=1'];
    const remaining: string[] = [];
    for (const url of spellings) {
      const res = await as(app, c, { method: 'GET', url });
      assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
      remaining.push(String(res.headers['x-ratelimit-remaining']));
    }
    assert.deepEqual(remaining, ['4', '3', '2', '1', '0']);
    for (const url of [...spellings, '/api/%63lients/users/', '/API/clients/users/', '/api//clients/users/']) {
      const res = await as(app, c, { method: 'GET', url });
      // Refused (429), or not a route at all (404, no credentials read): never served past the budget.
      assert.ok(res.statusCode === 429 || res.statusCode === 404, `${url}: ${res.statusCode}`);
      if (res.statusCode === 429) assert.ok(Number(res.headers['retry-after']) >= 1, url);
    }
  });

  test('an authenticated request that fails still carries X-RateLimit-* (404, 400)', async () => {
    const { app } = t();
    const c = await createClient(app, { tier: 'enterprise', calls_per_hour: 10 });
    const missing = await as(app, c, { method: 'GET', url: '/api/clients/users/nobody/' });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.headers['x-ratelimit-limit'], '10');
    assert.equal(missing.headers['x-ratelimit-remaining'], '9');
    const invalid = await as(app, c, { method: 'POST', url: '/api/clients/users/', payload: { nope: 1 } });
    assert.equal(invalid.statusCode, 400);
    assert.equal(invalid.headers['x-ratelimit-remaining'], '8');
  });

  test('six parallel creations with one user slot left: exactly one is created', async () => {
    const { app } = t();
    const c = await createClient(app, { max_users: 3 });
    for (const id of ['u1', 'u2']) assert.equal((await as(app, c, { method: 'POST', url: '/api/clients/users/', payload: { external_id: id, name: id } })).statusCode, 201);
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => as(app, c, { method: 'POST', url: i % 2 ? '/api/v1/clients/users' : '/api/clients/users/', payload: { external_id: `race-${i}`, name: `race ${i}` } })),
    );
    const codes = answers.map((r) => r.statusCode).sort();
    assert.deepEqual(codes, [201, 403, 403, 403, 403, 403]);
    assert.ok(answers.filter((r) => r.statusCode === 403).every((r) => r.json().code === 'USER_LIMIT_EXCEEDED'));
    const list = await as(app, c, { method: 'GET', url: '/api/clients/users/?page_size=100' });
    assert.equal(list.json().count ?? list.json().total ?? list.json().results.length, 3);
  });
});

const REDIS = process.env.WAJAH_TEST_REDIS || '';

describe('user limit across two instances', { skip: (!REDIS && 'WAJAH_TEST_REDIS not set') || (!backendNames().includes('postgres') && 'PostgreSQL not available') }, () => {
  const { apps } = useInstances(2, { redisUrl: REDIS });

  test('parallel creations through both instances with two slots left: exactly two are created', async () => {
    const c = await createClient(apps[0]!, { max_users: 2 });
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => as(apps[i % 2]!, c, { method: 'POST', url: '/api/clients/users/', payload: { external_id: `x-${i}`, name: `x ${i}` } })),
    );
    assert.deepEqual(answers.map((r) => r.statusCode).sort(), [201, 201, 403, 403, 403, 403, 403, 403]);
  });
});
