import assert from 'node:assert/strict';
import { test } from 'node:test';
import crypto from 'node:crypto';
import { Redis } from 'ioredis';
import { StreamSlots } from './stream-slots.ts';

const REDIS = process.env.WAJAH_TEST_REDIS || '';
const log = { warn: () => {} };

test('without Redis: this process\'s sessions, released slots free again', async () => {
  const slots = new StreamSlots(null, log);
  const t = Date.now() + 60_000;
  assert.equal(await slots.acquire('c', 's1', 2, t), true);
  assert.equal(await slots.acquire('c', 's2', 2, t), true);
  assert.equal(await slots.acquire('c', 's3', 2, t), false);
  assert.equal(await slots.acquire('other', 's4', 2, t), true, 'per client');
  slots.release('c', 's1');
  assert.equal(await slots.acquire('c', 's5', 2, t), true);
});

test('with Redis: two instances share the limit; a dead instance\'s slot lapses at its session\'s expiry', { skip: !REDIS && 'WAJAH_TEST_REDIS not set' }, async () => {
  const [ra, rb] = [new Redis(REDIS), new Redis(REDIS)];
  try {
    const [a, b] = [new StreamSlots(ra, log), new StreamSlots(rb, log)];
    const client = `test-${crypto.randomUUID()}`;
    const now = Date.now();
    assert.equal(await a.acquire(client, 'a1', 2, now + 60_000, now), true);
    // Instance b "dies" holding a slot whose session ends in 1 s.
    assert.equal(await new StreamSlots(rb, log).acquire(client, 'dead', 2, now + 1000, now), true);
    assert.equal(await b.acquire(client, 'b1', 2, now + 60_000, now), false);
    // The first slot that frees by itself is the dead instance's, whichever instance asks (Retry-After).
    assert.equal(await b.earliestExpiry(client, now), now + 1000);
    assert.equal(await new StreamSlots(null, log).earliestExpiry(client, now), null, 'without Redis: this process holds none');
    assert.equal(await b.acquire(client, 'b1', 2, now + 60_000, now + 1001), true, 'the dead slot lapsed');
    assert.equal(await a.acquire(client, 'a2', 2, now + 60_000, now + 1001), false);
    a.release(client, 'a1');
    await ra.ping(); // the release has reached Redis
    assert.equal(await b.acquire(client, 'b2', 2, now + 60_000, now + 1001), true);
    await ra.del(`wajah:streams:${client}`);
  } finally {
    ra.disconnect();
    rb.disconnect();
  }
});

test('with Redis: a renewed slot outlives its first expiry, an unrenewed one lapses; pools with other prefixes do not share slots', { skip: !REDIS && 'WAJAH_TEST_REDIS not set' }, async () => {
  const redis = new Redis(REDIS);
  try {
    const prefix = 'wajah:test-ws-streams:';
    const [a, b] = [new StreamSlots(redis, log, { prefix }), new StreamSlots(redis, log, { prefix })];
    const webrtc = new StreamSlots(redis, log);
    const client = `test-${crypto.randomUUID()}`;
    const now = Date.now();
    assert.equal(await a.acquire(client, 'renewed', 2, now + 1000, now), true);
    assert.equal(await a.acquire(client, 'dead', 2, now + 1000, now), true);
    assert.equal(await webrtc.acquire(client, 'w1', 1, now + 60_000, now), true, 'the WebRTC pool is apart');
    assert.equal(await b.acquire(client, 'b1', 2, now + 60_000, now), false);
    await a.renew(client, 'renewed', now + 2000, now + 900);
    assert.equal(await b.acquire(client, 'b1', 2, now + 60_000, now + 1001), true, "'dead' lapsed");
    assert.equal(await b.acquire(client, 'b2', 2, now + 60_000, now + 1001), false, "'renewed' still counts");
    a.release(client, 'renewed');
    await a.renew(client, 'renewed', now + 5000, now + 1001);
    assert.equal(await b.acquire(client, 'b2', 2, now + 60_000, now + 1001), true, 'a released slot is not brought back by a renewal');
    await redis.del(`${prefix}${client}`, `wajah:streams:${client}`);
  } finally {
    redis.disconnect();
  }
});
