import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ARCFACE_112, invertAffine, similarityTransform } from './similarity.ts';

test('similarityTransform recovers a known rotation, scale and translation', () => {
  const angle = 0.3, s = 1.7, tx = 12, ty = -5;
  const src = ARCFACE_112;
  const dst = src.map(([x, y]) => [s * (Math.cos(angle) * x - Math.sin(angle) * y) + tx, s * (Math.sin(angle) * x + Math.cos(angle) * y) + ty] as [number, number]);
  const m = similarityTransform(src, dst);
  for (let i = 0; i < src.length; i++) {
    const [x, y] = src[i];
    assert.ok(Math.abs(m[0] * x + m[1] * y + m[2] - dst[i][0]) < 1e-6);
    assert.ok(Math.abs(m[3] * x + m[4] * y + m[5] - dst[i][1]) < 1e-6);
  }
  const inv = invertAffine(m);
  const [u, v] = dst[0];
  assert.ok(Math.abs(inv[0] * u + inv[1] * v + inv[2] - src[0][0]) < 1e-6);
});

test('similarityTransform never reflects: a mirrored point set gives a rotation, not a flip', () => {
  const mirrored = ARCFACE_112.map(([x, y]) => [112 - x, y] as [number, number]);
  const m = similarityTransform(mirrored, ARCFACE_112);
  assert.ok(m[0] * m[4] - m[1] * m[3] > 0);
});
