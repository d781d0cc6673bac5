import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { useInstances, useTestApp } from '../helpers/app.ts';
import { backendNames } from '../helpers/backends.ts';
import { adminHeaders, as, createClient, quickBackend } from '../helpers/foundation.ts';
import { ApiKeysRepository } from '../../src/db/repositories/api-keys.repository.ts';
import { SlidingWindow } from '../../src/services/sliding-window.ts';

/**
 * An outsider flooding invented or wrong API keys (docs/foundation.md, "Limits"): the failures from one address
 * are limited (429 with Retry-After, before any credential lookup, on every door: /api/…, /api/v1/…, the
 * CompreFace x-api-key), and the counting of distinct invented keys does not grow in cost with the flood.
 */
const STATUS = { method: 'GET', url: '/api/core/status/' } as const;
const FAILURES = 100; // FailedAuthGuard's default per address per minute

describe('failed API-key authentications per address', () => {
  const t = useTestApp(quickBackend());
  // Credential reads that reached the database.
  let reads = 0;
  const original = ApiKeysRepository.prototype.findCredential;
  before(() => {
    ApiKeysRepository.prototype.findCredential = function (this: ApiKeysRepository, ...args: Parameters<typeof original>) {
      reads++;
      return original.apply(this, args);
    };
  });
  after(() => {
    ApiKeysRepository.prototype.findCredential = original;
  });

  test('past 100 failures in a minute the address gets 429 with Retry-After on every path, before any lookup; keys in use there go on working', async () => {
    const { app } = t();
    const c = await createClient(app);
    // A tenant behind the same address (a NAT) whose key has authenticated before the flood.
    const neighbour = await createClient(app);
    assert.equal((await as(app, neighbour, { ...STATUS, remoteAddress: '198.51.100.23' })).statusCode, 200);
    const attacker = '198.51.100.23';
    const cf = await app.inject({ method: 'POST', url: `/api/admin/clients/${c.client_id}/compreface-keys/`, headers: adminHeaders, payload: { service: 'recognition' } });
    assert.equal(cf.statusCode, 201, cf.body);

    // Every kind of failure counts: invented keys (a database read each), a real key's wrong secret, malformed
    // headers, unknown CompreFace keys; through the unversioned and the versioned paths alike.
    const kinds = [
      () => ({ ...STATUS, headers: { authorization: `ApiKey wk_${crypto.randomBytes(16).toString('hex')}:wsk_x` } }),
      () => ({ method: 'GET' as const, url: '/api/v1/core/status', headers: { authorization: `ApiKey ${c.api_key}:wsk_wrong` } }),
      () => ({ ...STATUS, headers: { authorization: 'ApiKey nonsense' } }),
      () => ({ method: 'GET' as const, url: '/api/v1/recognition/subjects', headers: { 'x-api-key': crypto.randomUUID() } }),
    ];
    for (let i = 0; i < FAILURES; i++) {
      const res = await app.inject({ ...kinds[i % kinds.length]!(), remoteAddress: attacker });
      assert.ok(res.statusCode === 401 || res.statusCode === 404, `${i}: ${res.statusCode} ${res.body}`);
    }
    const over = await app.inject({ ...kinds[0]!(), remoteAddress: attacker });
    assert.equal(over.statusCode, 429, over.body);
    assert.equal(over.json().code, 'RATE_LIMIT_EXCEEDED');
    const retry = Number(over.headers['retry-after']);
    assert.ok(retry >= 1 && retry <= 60, String(retry));

    // Blocked: no lookup any more for keys not seen authenticating (else the guessing would simply go on).
    const before = reads;
    for (let i = 0; i < 50; i++) {
      const res = await app.inject({ ...kinds[0]!(), remoteAddress: attacker });
      assert.equal(res.statusCode, 429);
    }
    assert.equal(reads, before, 'invented keys from a blocked address read no credentials');
    const right = await as(app, c, { ...STATUS, remoteAddress: attacker });
    assert.equal(right.statusCode, 429);
    assert.ok(Number(right.headers['retry-after']) >= 1);
    const versioned = await as(app, c, { method: 'GET', url: '/api/v1/core/status/', remoteAddress: attacker });
    assert.equal(versioned.statusCode, 429);
    const compreface = await app.inject({ method: 'GET', url: '/api/v1/recognition/subjects', headers: { 'x-api-key': cf.json().api_key }, remoteAddress: attacker });
    assert.equal(compreface.statusCode, 429, compreface.body);
    assert.ok(Number(compreface.headers['retry-after']) >= 1);

    // The neighbour's key still works from there; with a wrong secret it is refused as the rest (429, not 401).
    assert.equal((await as(app, neighbour, { ...STATUS, remoteAddress: attacker })).statusCode, 200);
    const guessed = await app.inject({ ...STATUS, remoteAddress: attacker, headers: { authorization: `ApiKey ${neighbour.api_key}:wsk_guess` } });
    assert.equal(guessed.statusCode, 429);

    // Without WAJAH_TRUST_PROXY a forged X-Forwarded-For is no way out.
    const forged = await as(app, c, { ...STATUS, remoteAddress: attacker, headers: { 'x-forwarded-for': '203.0.113.99' } });
    assert.equal(forged.statusCode, 429);

    // Another address with the same key is served.
    const other = await as(app, c, { ...STATUS, remoteAddress: '198.51.100.24' });
    assert.equal(other.statusCode, 200, other.body);
  });

  test('a client that fails a few times and then succeeds is never blocked', async () => {
    const { app } = t();
    const c = await createClient(app);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 20; i++) await app.inject({ ...STATUS, remoteAddress: '192.0.2.50', headers: { authorization: `ApiKey ${c.api_key}:wsk_wrong${i}` } });
      assert.equal((await as(app, c, { ...STATUS, remoteAddress: '192.0.2.50' })).statusCode, 200);
    }
  });
});

const REDIS = process.env.WAJAH_TEST_REDIS || '';

/** Two instances behind a load balancer: the failures are counted once, in Redis, not per instance. */
describe('failed authentications across two instances sharing Redis', { skip: (!REDIS && 'WAJAH_TEST_REDIS not set') || (!backendNames().includes('postgres') && 'PostgreSQL not available') }, () => {
  const { apps } = useInstances(2, { redisUrl: REDIS });

  test('100 failures split over both instances block the address on both (at most one more attempt each)', async () => {
    const c = await createClient(apps[0]!);
    // A fresh address per run: the shared Redis keeps a minute of failures.
    const attacker = `2001:db8:${crypto.randomBytes(2).toString('hex')}::${crypto.randomBytes(2).toString('hex')}`;
    for (let i = 0; i < FAILURES; i++) {
      const res = await apps[i % 2]!.inject({ ...STATUS, remoteAddress: attacker, headers: { authorization: `ApiKey wk_${crypto.randomBytes(16).toString('hex')}:wsk_x` } });
      assert.equal(res.statusCode, 401, `${i}: ${res.body}`);
    }
    // The 100th failure was on instance 1: it refuses at once.
    assert.equal((await as(apps[1]!, c, { ...STATUS, remoteAddress: attacker })).statusCode, 429);
    // Instance 0 learns it with its next failure (one Redis round trip per failure, none per success).
    await apps[0]!.inject({ ...STATUS, remoteAddress: attacker, headers: { authorization: 'ApiKey wk_x:wsk_x' } });
    const res = await as(apps[0]!, c, { ...STATUS, remoteAddress: attacker });
    assert.equal(res.statusCode, 429, res.body);
    assert.ok(Number(res.headers['retry-after']) >= 1);
    assert.equal((await as(apps[0]!, c, { ...STATUS, remoteAddress: '2001:db8:ffff::1' })).statusCode, 200);
  });
});

describe('the sliding window under a flood of distinct keys', () => {
  test('recording an event costs the same past 50 000 live keys (no scan of the whole map per event)', async () => {
    const w = new SlidingWindow({ redis: null, prefix: 'flood:', windowMs: 60_000 });
    const t0 = 1_000_000;
    let i = 0;
    const timed = async (n: number) => {
      const start = performance.now();
      for (let k = 0; k < n; k++, i++) await w.add(`key:probe-${i}`, t0 + i / 10); // all within the minute
      return performance.now() - start;
    };
    const early = await timed(5_000);
    await timed(47_000);
    const late = await timed(5_000);
    // Before: every event past 50 000 keys scanned them all (~2 ms each, > 100 × the early cost).
    assert.ok(late < early * 10 + 50, `5 000 events: ${early.toFixed(0)} ms at first, ${late.toFixed(0)} ms past 50 000 keys`);
  });
});
