import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import zlib from 'node:zlib';
import { testDataDir } from '../../config/env.ts';
import { AppError } from '../../errors.ts';
import { BufferPool } from '../buffer-pool.ts';
import { readMjpegFrames } from '../mjpeg.ts';
import { decodeImage, sniffFormat } from './decode.ts';
import { plainMarkers, turboJpeg } from './turbojpeg.ts';

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

/** Every JPEG of a few kinds: camera frames of every fakecam clip, LFW photos, and encodings sharp writes. */
async function jpegCorpus(): Promise<Array<[string, Buffer]>> {
  const out: Array<[string, Buffer]> = [];
  const video = path.join(DATA, 'video/fakecam');
  for (const clip of readdirSync(video).filter((f) => f.endsWith('.mjpeg'))) {
    readMjpegFrames(path.join(video, clip)).filter((_, k) => k % 25 === 0).forEach((f, k) => out.push([`${clip}#${k}`, f]));
  }
  const lfw = path.join(DATA, 'lfw');
  for (const person of readdirSync(lfw).slice(0, 40)) {
    const file = readdirSync(path.join(lfw, person))[0];
    out.push([`lfw/${person}/${file}`, readFileSync(path.join(lfw, person, file))]);
  }
  const base = sharp(obama).resize(301, 203); // sides that are not whole MCUs
  out.push(['progressive', await base.clone().jpeg({ progressive: true }).toBuffer()]);
  out.push(['4:4:4 at quality 100', await base.clone().jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer()]);
  out.push(['grey', await base.clone().greyscale().jpeg().toBuffer()]);
  out.push(['quality 20, optimised scans', await base.clone().jpeg({ quality: 20, mozjpeg: true }).toBuffer()]);
  return out;
}

test('issue 11: plain JPEGs decode through libjpeg-turbo directly, with exactly the pixels of the sharp path', async () => {
  const turbo = turboJpeg();
  assert.ok(turbo, 'libturbojpeg from @julusian/jpeg-turbo loads on this platform');
  const corpus = await jpegCorpus();
  assert.ok(corpus.length > 70);
  for (const [name, bytes] of corpus) {
    const head = turbo.header(bytes);
    assert.ok(head?.supported, `${name} takes the direct path`);
    const direct = turbo.decode(bytes, head.width, head.height);
    assert.ok(direct, `${name} decoded directly`);
    const viaSharp = await decodeImage(bytes, undefined, { turbo: false });
    assert.equal(`${direct.width}×${direct.height}`, `${viaSharp.width}×${viaSharp.height}`, name);
    assert.ok(Buffer.from(direct.data).equals(Buffer.from(viaSharp.data)), `${name}: the same bytes as sharp's decode`);
    assert.ok(Buffer.from((await decodeImage(bytes)).data).equals(Buffer.from(viaSharp.data)));
  }
});

test('issue 11: a decode into a pooled buffer left over from another frame gives the same pixels, and an image sharp must decode gives it back', async () => {
  const pool = new BufferPool(Uint8Array);
  const corpus = (await jpegCorpus()).slice(0, 12);
  for (const [name, bytes] of corpus) {
    const fresh = await decodeImage(bytes);
    const dirty = pool.take(fresh.data.length);
    dirty.fill(0xa5);
    pool.give(dirty);
    const pooled = await decodeImage(bytes, undefined, { pool });
    assert.equal(pooled.data, dirty, `${name}: decoded into the pool's buffer`);
    assert.ok(Buffer.from(pooled.data).equals(Buffer.from(fresh.data)), `${name}: every byte written`);
    pool.give(pooled.data);
  }
  // A cut-off scan: the direct path fails after taking a buffer, which goes back before sharp's path answers.
  const plain = await sharp(obama).jpeg().toBuffer();
  const before = { ...pool.held, ...pool.counts };
  assert.equal(await code(decodeImage(plain.subarray(0, Math.floor(plain.length * 0.6)), undefined, { pool })), 'INVALID_IMAGE');
  assert.equal(pool.counts.taken, before.taken + 1);
  assert.equal(pool.held.buffers, before.buffers + 1, 'the buffer the failed decode took is back in the pool');
});

test('issue 11: JPEGs with EXIF, an ICC profile, CMYK or a cut-off scan are left to sharp, which decides', async () => {
  const turbo = turboJpeg()!;
  // EXIF (orientation 6): sharp's path turns it upright; the direct path would not, so it refuses it.
  const sideways = readFileSync(path.join(DATA, 'antispoof/images/silentface_image_T1.jpg'));
  assert.equal(plainMarkers(sideways), false);
  assert.equal(turbo.header(sideways)?.supported, false);
  assert.equal(plainMarkers(obama), false, 'a photo with EXIF, an ICC profile and an Adobe marker');
  assert.equal(plainMarkers(await sharp(obama).withIccProfile('p3').jpeg().toBuffer()), false);
  // CMYK (written with an Adobe marker; the header's colour space would refuse it too): left to sharp.
  const cmyk = await sharp(obama).toColourspace('cmyk').jpeg().toBuffer();
  assert.equal(turbo.header(cmyk)?.supported, false);
  assert.equal((await decodeImage(cmyk)).data.length % 3, 0);
  const plain = await sharp(obama).jpeg().toBuffer(); // metadata stripped
  assert.equal(plainMarkers(plain), true);
  // A cut-off scan: libjpeg-turbo warns, the direct path answers null, sharp's path answers INVALID_IMAGE.
  const head = turbo.header(plain)!;
  assert.equal(head.supported, true);
  const cut = plain.subarray(0, Math.floor(plain.length * 0.6));
  assert.equal(turbo.decode(cut, head.width, head.height), null);
  assert.equal(await code(decodeImage(cut)), 'INVALID_IMAGE');
  assert.equal(await code(decodeImage(plain, { maxBytes: 1e9, maxPixels: head.width * head.height - 1 })), 'IMAGE_TOO_LARGE');
});
