import sharp from 'sharp';
import { appError } from '../../errors.ts';
import type { BufferPool } from '../buffer-pool.ts';
import type { RgbImage } from '../image.ts';
import { turboJpeg } from './turbojpeg.ts';
import { sniffFormat } from './sniff.ts';

export interface DecodeLimits {
  /** Maximum encoded size in bytes (IMAGE_TOO_LARGE above). */
  maxBytes: number;
  /** Maximum decoded width × height (IMAGE_TOO_LARGE above). */
  maxPixels: number;
  /** Maximum width or height (IMAGE_TOO_LARGE above); optional for older callers. */
  maxSide?: number;
}

/** libvips and the codecs refuse some extreme shapes with internal messages: stop them first. */
export const MAX_SIDE = 16_384;

export const DEFAULT_LIMITS: DecodeLimits = { maxBytes: 10 * 1024 * 1024, maxPixels: 40_000_000 };

export { sniffFormat, type ImageFormat } from './sniff.ts';

const DATA_URL = /^data:(image\/[a-z0-9.+-]+)?(;[a-z0-9=-]+)*;base64,/i;

/** Turn a data URL or raw base64 string into bytes. */
export function bytesFromString(input: string): Uint8Array {
  const m = DATA_URL.exec(input);
  if (m) {
    const type = (m[1] ?? '').toLowerCase();
    if (type && !['image/jpeg', 'image/jpg', 'image/png', 'image/webp'].includes(type)) {
      throw appError('UNSUPPORTED_MEDIA_TYPE', `Unsupported image type ${type}; use JPEG, PNG or WebP`);
    }
    return Buffer.from(input.slice(m[0].length), 'base64');
  }
  if (/^[A-Za-z0-9+/=\s]+$/.test(input) && input.length > 16) return Buffer.from(input, 'base64');
  throw appError('INVALID_IMAGE', 'The image string is neither a base64 data URL nor base64');
}

/**
 * Decode JPEG/PNG/WebP bytes (or a data URL) to packed RGB with EXIF orientation applied.
 * `turbo: false` decodes through sharp only: the reference the direct JPEG path is tested against.
 * With `pool`, the direct path's pixels go into a buffer taken from it (the caller gives it back when the
 * frame is done: buffer-pool.ts).
 *
 * @example const img = await decodeImage(jpegBytes); // { data, width, height }
 */
export async function decodeImage(input: Uint8Array | string, limits: DecodeLimits = DEFAULT_LIMITS, opts: { turbo?: boolean; pool?: BufferPool<Uint8Array<ArrayBuffer>> } = {}): Promise<RgbImage> {
  const bytes = typeof input === 'string' ? bytesFromString(input) : input;
  if (bytes.length > limits.maxBytes) {
    throw appError('IMAGE_TOO_LARGE', `The image is ${bytes.length} bytes; the limit is ${limits.maxBytes}`, {
      bytes: bytes.length,
      maxBytes: limits.maxBytes,
    });
  }
  const format = sniffFormat(bytes);
  if (format === 'unsupported') throw appError('UNSUPPORTED_MEDIA_TYPE', 'Unsupported image format; use JPEG, PNG or WebP');
  if (format === 'unknown') throw appError('INVALID_IMAGE', 'The data is not a JPEG, PNG or WebP image');
  // PNG: the IHDR sizes are read here, since libpng refuses extreme widths with an opaque error.
  const declared = format === 'png' && bytes.length >= 24 ? { width: readU32(bytes, 16), height: readU32(bytes, 20) } : null;
  if (declared) checkSides(declared.width, declared.height, limits);
  // A plain JPEG (a camera's, a browser's) decodes through libjpeg-turbo directly: the same pixels as
  // below, without libvips around them (turbojpeg.ts). Anything it refuses or fails on goes on below.
  const turbo = format === 'jpeg' && opts.turbo !== false ? turboJpeg() : null;
  const head = turbo?.header(bytes);
  if (turbo && head?.supported) {
    checkSize(head.width, head.height, limits);
    const out = opts.pool?.take(head.width * head.height * 3);
    const img = turbo.decode(bytes, head.width, head.height, out);
    if (img) return img;
    if (out) opts.pool!.give(out);
  }
  let meta: sharp.Metadata;
  try {
    // Header only (no pixels are decoded): the size checks below come before any decoding.
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    throw appError('INVALID_IMAGE', `The ${format.toUpperCase()} image could not be read`);
  }
  checkSize(meta.autoOrient?.width ?? meta.width ?? 0, meta.autoOrient?.height ?? meta.height ?? 0, limits);
  try {
    // failOn 'truncated': a cut-off file is an error; harmless libjpeg warnings (odd markers) are not.
    const { data, info } = await sharp(bytes, { failOn: 'truncated', limitInputPixels: limits.maxPixels })
      .rotate()
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`unexpected ${info.channels} channels`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
  } catch {
    // libvips' message names internal files and buffers: it stays out of the answer.
    throw appError('INVALID_IMAGE', `The ${format.toUpperCase()} image could not be decoded (corrupt or truncated)`);
  }
}

/** IMAGE_TOO_LARGE when a side or the pixel count is over the limits (checked before any pixel is decoded). */
function checkSize(width: number, height: number, limits: DecodeLimits): void {
  checkSides(width, height, limits);
  const pixels = width * height;
  if (pixels > limits.maxPixels) {
    throw appError('IMAGE_TOO_LARGE', `The image has ${pixels} pixels; the limit is ${limits.maxPixels}`, { width, height, maxPixels: limits.maxPixels });
  }
}

function checkSides(width: number, height: number, limits: DecodeLimits): void {
  const maxSide = limits.maxSide ?? MAX_SIDE;
  if (width > maxSide || height > maxSide) {
    throw appError('IMAGE_TOO_LARGE', `The image is ${width}×${height} pixels; each side may be at most ${maxSide}`, { width, height, maxSide });
  }
}

function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) >>> 0) + (b[at + 1]! << 16) + (b[at + 2]! << 8) + b[at + 3]!;
}
