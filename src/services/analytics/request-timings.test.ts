import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RequestTimings } from './request-timings.ts';

test('rolling window: mean, p95, rate, 5xx share; old samples drop out; bounded buffer', () => {
  let now = 1_000_000;
  const t = new RequestTimings(60_000, 1000, () => now);
  now += 10_000;
  for (let i = 1; i <= 100; i++) t.record(i, i === 100 ? 503 : 200);
  let s = t.snapshot();
  assert.equal(s.count, 100);
  assert.equal(s.avgMs, 50.5);
  assert.equal(s.p95Ms, 95);
  assert.equal(s.perSecond, 10); // 100 requests over the 10 s since start
  assert.equal(s.errorRate, 0.01);
  now += 61_000;
  t.record(7, 200);
  s = t.snapshot();
  assert.equal(s.count, 1);
  assert.equal(s.p95Ms, 7);
  for (let i = 0; i < 5000; i++) t.record(1, 200);
  assert.equal(t.snapshot().count, 1000);
});
