import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { testDataDir } from '../../../config/env.ts';
import { decodeImage } from '../../decode/decode.ts';
import type { RgbImage } from '../../image.ts';
import { cropResize, type Crop } from './mesh-model.ts';

/** tf.image.cropAndResize-style bilinear sampling, one pixel and channel at a time: the definition cropResize keeps. */
function reference(img: RgbImage, crop: Crop, size: number): Float32Array {
  const { data, width, height } = img;
  const out = new Float32Array(size * size * 3);
  const x0 = crop.cx - crop.side / 2, y0 = crop.cy - crop.side / 2;
  const stepX = (crop.side * (width - 1)) / width / (size - 1), stepY = (crop.side * (height - 1)) / height / (size - 1);
  const baseX = (x0 * (width - 1)) / width, baseY = (y0 * (height - 1)) / height;
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      const sy = baseY + v * stepY, sx = baseX + u * stepX;
      if (sy < 0 || sy > height - 1 || sx < 0 || sx > width - 1) continue;
      const yi = Math.floor(sy), y1 = Math.min(height - 1, yi + 1), fy = sy - yi;
      const xi = Math.floor(sx), x1 = Math.min(width - 1, xi + 1), fx = sx - xi;
      for (let ch = 0; ch < 3; ch++) {
        const at = (y: number, x: number) => data[(y * width + x) * 3 + ch];
        const top = at(yi, xi) + (at(yi, x1) - at(yi, xi)) * fx, bot = at(y1, xi) + (at(y1, x1) - at(y1, xi)) * fx;
        out[(v * size + u) * 3 + ch] = (top + (bot - top) * fy) / 255;
      }
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
});
