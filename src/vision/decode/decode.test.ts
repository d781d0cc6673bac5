import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import zlib from 'node:zlib';
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

/** A PNG that is only a signature and an IHDR chunk declaring width × height (no pixel data at all). */
function pngHeader(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IEND', Buffer.alloc(0))]);
}

test('issue 9.5: dimensions are checked from the header before decoding (1,000,000×1 and 20000×20000 are IMAGE_TOO_LARGE)', async () => {
  for (const [w, h] of [[1_000_000, 1], [20_000, 20_000], [16_385, 100]] as const) {
    try {
      await decodeImage(pngHeader(w, h));
      assert.fail(`${w}×${h} decoded`);
    } catch (e) {
      assert.ok(e instanceof AppError);
      assert.equal(e.code, 'IMAGE_TOO_LARGE', `${w}×${h}: ${e.code} ${e.message}`);
      assert.deepEqual(Object.keys(e.details as object).sort(), ['height', 'maxSide', 'width']);
    }
  }
  // A real 1,000,000×1 PNG (sharp writes it) gets the same answer.
  const wide = await sharp({ create: { width: 1_000_000, height: 1, channels: 3, background: '#888' } }).png().toBuffer();
  assert.equal(await code(decodeImage(wide)), 'IMAGE_TOO_LARGE');
});

test('issue 9.5: a corrupt image answers INVALID_IMAGE without the decoder\'s internal message', async () => {
  const truncated = obama.subarray(0, Math.floor(obama.length * 0.6));
  try {
    await decodeImage(truncated);
    assert.fail('decoded');
  } catch (e) {
    assert.ok(e instanceof AppError);
    assert.equal(e.code, 'INVALID_IMAGE');
    assert.equal(e.details, undefined);
    assert.doesNotMatch(e.message, /vips|jpeg_|premature|buffer/i);
  }
  // A header that promises pixels it does not have: small enough to try, then INVALID_IMAGE.
  assert.equal(await code(decodeImage(pngHeader(640, 480))), 'INVALID_IMAGE');
});
