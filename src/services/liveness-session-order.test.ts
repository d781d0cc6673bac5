import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CHALLENGES, newLiveness } from './liveness.service.ts';

// The challenge order is what a recording of the victim has to match. Math.random (V8's xorshift128+)
// is predictable from its outputs; the order must come from the operating system's CSPRNG.
test('the challenge order does not come from Math.random', (t) => {
  t.mock.method(Math, 'random', () => 0.999);
  const orders = new Set<string>();
  for (let i = 0; i < 64; i++) orders.add(newLiveness(['blink', 'head_movement'], 10_000, 0).order.join(','));
  assert.deepEqual([...orders].sort(), ['blink,head_movement', 'head_movement,blink']);
});

test('every order of the full set is possible, each challenge once', () => {
  const firsts = new Map<string, number>();
  for (let i = 0; i < 600; i++) {
    const { order } = newLiveness([...CHALLENGES, 'blink'], 10_000, 0);
    assert.deepEqual([...order].sort(), [...CHALLENGES].sort());
    firsts.set(order[0], (firsts.get(order[0]) ?? 0) + 1);
  }
  // 600 shuffles: each of the 6 challenges comes first ≈ 100 times (below 50 has odds < 1e-7).
  for (const c of CHALLENGES) assert.ok((firsts.get(c) ?? 0) >= 50, `${c} first ${firsts.get(c) ?? 0} times of 600`);
});

test('a caller-supplied random source still decides the order (tests, evaluation)', () => {
  assert.deepEqual(newLiveness(['blink', 'head_movement'], 10_000, 0, () => 0.999).order, ['blink', 'head_movement']);
  assert.deepEqual(newLiveness(['blink', 'head_movement'], 10_000, 0, () => 0).order, ['head_movement', 'blink']);
});
