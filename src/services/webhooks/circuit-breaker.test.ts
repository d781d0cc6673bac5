import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker } from './circuit-breaker.ts';

test('the circuit opens after N failures in a row, half-opens after the pause, closes on success, pauses longer on repeat', () => {
  const b = new CircuitBreaker({ failures: 3, openMs: 1000, maxOpenMs: 3000 });
  const t0 = 1_000_000;
  assert.equal(b.record('e1', false, t0), false);
  assert.equal(b.record('e1', true, t0), false); // a success resets the count
  for (let i = 0; i < 2; i++) assert.equal(b.record('e1', false, t0), false);
  assert.equal(b.record('e1', false, t0), true);
  assert.deepEqual(b.open(t0 + 999), ['e1']);
  assert.deepEqual(b.open(t0 + 1000), []);
  assert.equal(b.halfOpen('e1', t0 + 1000), true);
  // Failing while half-open: open again, twice as long.
  assert.equal(b.record('e1', false, t0 + 1000), true);
  assert.deepEqual(b.open(t0 + 2999), ['e1']);
  assert.deepEqual(b.open(t0 + 3000), []);
  assert.equal(b.record('e1', true, t0 + 3000), false);
  assert.equal(b.halfOpen('e1', t0 + 3000), false);
  assert.deepEqual(b.open(t0 + 3000), []);
  assert.deepEqual(b.open(t0), [], 'other endpoints are never affected');
});
