import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferPool } from './buffer-pool.ts';

test('a buffer given back is the one taken next for that length; other lengths and types get their own', () => {
  const pool = new BufferPool(Float32Array);
  const a = pool.take(16);
  a.fill(7);
  pool.give(a);
  const b = pool.take(16);
  assert.equal(b, a, 'reused, not allocated');
  assert.equal(b[3], 7, 'contents are left over: callers overwrite or clear');
  assert.notEqual(pool.take(16), a, 'a buffer taken twice would be shared: the second take allocates');
  assert.notEqual(pool.take(32).length, 16);
  pool.give(new Uint8Array(16) as unknown as Float32Array); // another type: not kept
  assert.equal(pool.held.buffers, 0);
  assert.deepEqual(pool.counts, { taken: 4, allocated: 3 });
});

test('views into a larger buffer are not kept, and a buffer given back twice is refused', () => {
  const pool = new BufferPool(Uint8Array);
  const big = new Uint8Array(64);
  pool.give(big.subarray(0, 16));
  pool.give(big.subarray(16));
  assert.equal(pool.held.buffers, 0, 'a view: the rest of its buffer may be in use elsewhere');
  const own = pool.take(8);
  pool.give(own);
  assert.throws(() => pool.give(own), /given back twice/);
  assert.equal(pool.take(8), own);
  assert.notEqual(pool.take(8), own);
});

test('what the pool holds is bounded: per length, in lengths, and in bytes', () => {
  const pool = new BufferPool(Uint8Array, { perLength: 2, lengths: 3, maxBytes: 1000 });
  for (const b of [pool.take(10), pool.take(10), pool.take(10)]) pool.give(b);
  assert.deepEqual(pool.held, { buffers: 2, bytes: 20 });
  for (const n of [11, 12, 13]) pool.give(pool.take(n));
  assert.equal(pool.held.buffers, 3, 'the least recently given length (10) is dropped for the fourth');
  assert.notEqual(pool.take(10).length, 0);
  assert.equal(pool.counts.allocated, 3 + 3 + 1);
  pool.give(pool.take(2000));
  assert.ok(pool.held.bytes <= 1000, 'a buffer over maxBytes is not kept');
  const frames = [pool.take(400), pool.take(400), pool.take(400)];
  for (const f of frames) pool.give(f);
  assert.ok(pool.held.bytes <= 1000, `${pool.held.bytes} bytes held`);
});
