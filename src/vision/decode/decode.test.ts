import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { testDataDir } from '../../config/env.ts';
import { AppError } from '../../errors.ts';
import { decodeImage, sniffFormat } from './decode.ts';

const DATA = testDataDir();
const obama = readFileSync(path.join(DATA, 'faces_extra/face_recognition/obama/obama_01.jpg'));

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    assert.ok(e instanceof AppError, `expected AppError, got ${String(e)}`);
    return e.code;
  }
}

test('decodes JPEG, PNG (RGBA flattened) and WebP to packed RGB', async () => {
  const jpg = await decodeImage(obama);
  assert.equal(jpg.data.length, jpg.width * jpg.height * 3);
  const png = await decodeImage(readFileSync(path.join(DATA, 'quality/obama_32bit_rgba.png')));
  assert.equal(png.data.length, png.width * png.height * 3);
  const webp = await sharp(obama).webp().toBuffer();
  const w = await decodeImage(webp);
  assert.equal(w.width, jpg.width);
  assert.equal(sniffFormat(webp), 'webp');
});

test('applies EXIF orientation (Silent-Face samples are stored sideways with Orientation=6)', async () => {
  const file = readFileSync(path.join(DATA, 'antispoof/images/silentface_image_T1.jpg'));
  const meta = await sharp(file).metadata();
  assert.equal(meta.orientation, 6);
  const img = await decodeImage(file);
  assert.equal(img.width, meta.height);
  assert.equal(img.height, meta.width);
});

test('accepts a JPEG data URL and rejects other data URL types', async () => {
  const img = await decodeImage(`data:image/jpeg;base64,${obama.toString('base64')}`);
  assert.ok(img.width > 100);
  assert.equal(await code(decodeImage(`data:image/gif;base64,${obama.toString('base64')}`)), 'UNSUPPORTED_MEDIA_TYPE');
});

test('junk, truncated, unsupported and oversized inputs get clear codes', async () => {
  assert.equal(await code(decodeImage(Buffer.from('this is not an image at all'))), 'INVALID_IMAGE');
  assert.equal(await code(decodeImage(obama.subarray(0, Math.floor(obama.length / 2)))), 'INVALID_IMAGE');
  assert.equal(await code(decodeImage(Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;'))), 'UNSUPPORTED_MEDIA_TYPE');
  assert.equal(await code(decodeImage(obama, { maxBytes: 1000, maxPixels: 1e9 })), 'IMAGE_TOO_LARGE');
  assert.equal(await code(decodeImage(obama, { maxBytes: 1e9, maxPixels: 1000 })), 'IMAGE_TOO_LARGE');
});
