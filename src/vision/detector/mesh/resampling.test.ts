import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { testDataDir } from '../../../config/env.ts';
import { decodeImage } from '../../decode/decode.ts';
import type { RgbImage } from '../../image.ts';
import { cropResize, type Crop } from './mesh-model.ts';
import { letterbox } from './ultraface.ts';

/** Bit for bit (a cheap failure on 110 592 floats, where deepEqual would print them). */
const sameFloats = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** The definition of one sample: the bilinear blend at (sx, sy), each channel on its own, scaled to 0..1. */
function bilinear({ data, width, height }: RgbImage, sx: number, sy: number, out: Float32Array, o: number): void {
  const yi = Math.floor(sy), y1 = Math.min(height - 1, yi + 1), fy = sy - yi;
  const xi = Math.floor(sx), x1 = Math.min(width - 1, xi + 1), fx = sx - xi;
  for (let ch = 0; ch < 3; ch++) {
    const at = (y: number, x: number) => data[(y * width + x) * 3 + ch];
    const top = at(yi, xi) + (at(yi, x1) - at(yi, xi)) * fx, bot = at(y1, xi) + (at(y1, x1) - at(y1, xi)) * fx;
    out[o + ch] = (top + (bot - top) * fy) / 255;
  }
}

/** tf.image.cropAndResize-style bilinear sampling, one pixel and channel at a time: the definition cropResize keeps. */
function reference(img: RgbImage, crop: Crop, size: number): Float32Array {
  const { width, height } = img;
  const out = new Float32Array(size * size * 3);
  const x0 = crop.cx - crop.side / 2, y0 = crop.cy - crop.side / 2;
  const stepX = (crop.side * (width - 1)) / width / (size - 1), stepY = (crop.side * (height - 1)) / height / (size - 1);
  const baseX = (x0 * (width - 1)) / width, baseY = (y0 * (height - 1)) / height;
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      const sy = baseY + v * stepY, sx = baseX + u * stepX;
      if (sy < 0 || sy > height - 1 || sx < 0 || sx > width - 1) continue;
      bilinear(img, sx, sy, out, (v * size + u) * 3);
    }
  }
  return out;
}

/** A turned crop (`crop.angle`), one pixel and channel at a time: pixel centres rotated about the crop's centre. */
function referenceTurned(img: RgbImage, crop: Crop, size: number): Float32Array {
  const { width, height } = img;
  const out = new Float32Array(size * size * 3);
  const cos = Math.cos(crop.angle!), sin = Math.sin(crop.angle!), k = crop.side / size;
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      const du = (u + 0.5 - size / 2) * k, dv = (v + 0.5 - size / 2) * k;
      const sx = crop.cx + du * cos - dv * sin - 0.5, sy = crop.cy + du * sin + dv * cos - 0.5;
      if (sx < 0 || sy < 0 || sx > width - 1 || sy > height - 1) continue;
      bilinear(img, sx, sy, out, (v * size + u) * 3);
    }
  }
  return out;
}

test('cropResize gives exactly the bilinear samples of its definition, inside the picture and across its borders', async () => {
  const img = await decodeImage(readFileSync(path.join(testDataDir(), 'faces_extra/face_recognition/obama/obama_01.jpg')));
  const crops: Crop[] = [
    { cx: img.width / 2, cy: img.height / 2, side: img.height * 0.5 }, // inside, downscaled
    { cx: img.width / 2, cy: img.height / 2, side: 100 }, // inside, upscaled
    { cx: 10, cy: img.height - 20, side: img.height * 0.6 }, // across two borders
    { cx: img.width / 2, cy: img.height / 2, side: Math.max(img.width, img.height) * 1.5 }, // larger than the picture
  ];
  for (const c of crops) assert.deepEqual(cropResize(img, c, 192), reference(img, c, 192), JSON.stringify(c));
  for (const c of [{ cx: img.width / 2, cy: img.height / 2, side: img.height * 0.5, angle: 0.3 }, { cx: 10, cy: 30, side: img.height * 0.7, angle: -1.2 }, { cx: img.width / 2, cy: img.height / 2, side: 90, angle: Math.PI / 2 }]) {
    assert.ok(sameFloats(cropResize(img, c, 192), referenceTurned(img, c, 192)), `turned ${JSON.stringify(c)}`);
  }
  // Into a pooled buffer left over from another crop (here: full of NaN), across the borders and turned:
  // exactly what a fresh array gets, the parts outside the picture black again.
  const used = new Float32Array(192 * 192 * 3);
  for (const c of [...crops, { cx: 10, cy: 20, side: img.height * 0.8, angle: 0.6 }]) {
    used.fill(NaN);
    assert.ok(sameFloats(cropResize(img, c, 192, used), cropResize(img, c, 192)), `reused buffer, ${JSON.stringify(c)}`);
  }
});

/** The detector's letterbox (320×240, NCHW, grey padding), one pixel and channel at a time: the definition letterbox keeps. */
function referenceLetterbox(img: RgbImage): Float32Array {
  const W = 320, H = 240;
  const scale = Math.min(W / img.width, H / img.height), ox = (W - img.width * scale) / 2, oy = (H - img.height * scale) / 2;
  const out = new Float32Array(3 * W * H);
  for (let v = Math.max(0, Math.floor(oy)); v < Math.min(H, Math.ceil(oy + img.height * scale)); v++) {
    for (let u = Math.max(0, Math.floor(ox)); u < Math.min(W, Math.ceil(ox + img.width * scale)); u++) {
      const sy = Math.min(img.height - 1, Math.max(0, (v + 0.5 - oy) / scale - 0.5)), sx = Math.min(img.width - 1, Math.max(0, (u + 0.5 - ox) / scale - 0.5));
      const y0 = Math.floor(sy), y1 = Math.min(img.height - 1, y0 + 1), fy = sy - y0;
      const x0 = Math.floor(sx), x1 = Math.min(img.width - 1, x0 + 1), fx = sx - x0;
      for (let ch = 0; ch < 3; ch++) {
        const at = (y: number, x: number) => img.data[(y * img.width + x) * 3 + ch];
        const top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * fx, bot = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * fx;
        out[ch * W * H + v * W + u] = (top + (bot - top) * fy - 127) / 128;
      }
    }
  }
  return out;
}

test('the detector letterbox gives exactly the bilinear samples of its definition, wide, tall and small pictures', async () => {
  const img = await decodeImage(readFileSync(path.join(testDataDir(), 'faces_extra/face_recognition/obama/obama_01.jpg')));
  const sub = (w: number, h: number): RgbImage => {
    const data = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) data.set(img.data.subarray(y * img.width * 3, (y * img.width + w) * 3), y * w * 3);
    return { data, width: w, height: h };
  };
  for (const im of [img, sub(Math.min(img.width, 500), 180), sub(150, Math.min(img.height, 400)), sub(90, 70)]) {
    assert.deepEqual(letterbox(im).input, referenceLetterbox(im), `${im.width}×${im.height}`);
    // Into a pooled buffer left over from another picture: the same input, its grey border restored.
    assert.ok(sameFloats(letterbox(im, new Float32Array(3 * 320 * 240).fill(NaN)).input, referenceLetterbox(im)), `reused buffer, ${im.width}×${im.height}`);
  }
});
