import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { testDataDir } from '../../config/env.ts';
import { decodeImage } from '../decode/decode.ts';
import type { RgbImage } from '../image.ts';
import { ARCFACE_112, invertAffine, roundHalfUp, similarityTransform, warpAffine, type Affine } from './similarity.ts';

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

/** Bilinear sampling with a bounds check on every read (black outside): the definition warpAffine must keep. */
function reference(img: RgbImage, m: Affine, size: number): Uint8Array {
  const inv = invertAffine(m);
  const at = (x: number, y: number, c: number) => (x < 0 || y < 0 || x >= img.width || y >= img.height ? 0 : img.data[(y * img.width + x) * 3 + c]);
  const out = new Uint8Array(size * size * 3);
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      const x = inv[0] * u + inv[1] * v + inv[2], y = inv[3] * u + inv[4] * v + inv[5];
      const x0 = Math.floor(x), y0 = Math.floor(y), fx = x - x0, fy = y - y0;
      for (let c = 0; c < 3; c++) {
        const top = at(x0, y0, c) * (1 - fx) + at(x0 + 1, y0, c) * fx, bot = at(x0, y0 + 1, c) * (1 - fx) + at(x0 + 1, y0 + 1, c) * fx;
        out[(v * size + u) * 3 + c] = Math.round(top * (1 - fy) + bot * fy);
      }
    }
  }
  return out;
}

test('warpAffine gives exactly the bilinear pixels, inside the picture and where the crop leaves it', async () => {
  const img = await decodeImage(readFileSync(path.join(testDataDir(), 'faces_extra/face_recognition/obama/obama_01.jpg')));
  // A face-sized five-point set in the middle, tilted; then the same set shifted half out of the picture.
  const five: Array<[number, number]> = [[img.width * 0.42, img.height * 0.4], [img.width * 0.58, img.height * 0.42], [img.width * 0.5, img.height * 0.5], [img.width * 0.44, img.height * 0.6], [img.width * 0.56, img.height * 0.61]];
  for (const dx of [0, -img.width * 0.5, img.width * 0.45]) {
    const m = similarityTransform(five.map(([x, y]) => [x + dx, y] as [number, number]), ARCFACE_112);
    assert.deepEqual(warpAffine(img, m, 112).data, reference(img, m, 112), `shifted ${dx} px`);
  }
});

test('roundHalfUp is Math.round exactly: halves, the doubles just below them, and a million random sums', () => {
  const below = (x: number) => x - Math.max(Number.EPSILON * Math.abs(x), Number.MIN_VALUE); // the double just under x (for these x)
  const cases = [0, 0.5, 1.5, 2.5, 254.5, 255.5, -0.5, -2.5, 0.49999999999999994, below(1.5), below(254.5), 127.50000000000001, 1e-300, 2 ** 51 + 0.5, -(2 ** 51) - 0.5];
  for (const v of cases) assert.equal(roundHalfUp(v) + 0, Math.round(v) + 0, `${v}`); // + 0: -0 and 0 are the same byte
  let seed = 7;
  const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < 1e6; i++) {
    // Bilinear blends of bytes, as warpAffine makes them, and exact halves.
    const fx = next(), fy = next(), a = (next() * 256) | 0, b = (next() * 256) | 0, c = (next() * 256) | 0, d = (next() * 256) | 0;
    const v = (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy;
    assert.equal(roundHalfUp(v), Math.round(v));
    assert.equal(roundHalfUp(a + 0.5), Math.round(a + 0.5));
  }
  // The case floor(v + 0.5) alone gets wrong.
  assert.equal(Math.floor(0.49999999999999994 + 0.5), 1);
  assert.equal(roundHalfUp(0.49999999999999994), 0);
});
