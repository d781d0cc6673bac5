import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SlidingWindow } from './sliding-window.ts';

test('counts exactly the events of the last window, per key, across many events and their expiry', async () => {
  const w = new SlidingWindow({ redis: null, prefix: 't:', windowMs: 1000 });
  // 5 000 events 1 ms apart: once the first second has passed, the window always holds the last 1 000.
  for (let i = 0; i < 5000; i++) {
    const { count, oldest } = await w.add('a', i);
    assert.equal(count, Math.min(i + 1, 1000), `event ${i}`);
    assert.equal(oldest, Math.max(0, i - 999));
  }
  assert.deepEqual(await w.peek('a', 5000), { count: 999, oldest: 4001 });
  assert.deepEqual(await w.peek('a', 6000), { count: 0, oldest: 6000 });
  assert.deepEqual(await w.peek('b', 6000), { count: 0, oldest: 6000 }, 'keys are apart');
  // Events recorded at once each get their own count (the order they were recorded in).
  const together = await Promise.all(Array.from({ length: 5 }, () => w.add('c', 20_000)));
  assert.deepEqual(together.map((r) => r.count), [1, 2, 3, 4, 5]);
  // After a quiet spell the key starts over.
  assert.deepEqual(await w.add('a', 10_000), { count: 1, oldest: 10_000 });
});
