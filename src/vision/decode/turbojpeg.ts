import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { RgbImage } from '../image.ts';

/**
 * JPEG decoding straight through libjpeg-turbo's TurboJPEG API, for the plain JPEGs a camera or a browser
 * sends (no EXIF, no ICC profile, YCbCr or grey): the same library and the same accurate integer IDCT as
 * sharp's libvips (its mozjpeg), so the same pixels, byte for byte (decode.test.ts checks it on every
 * JPEG of the test data), without libvips' pipeline around it: 0.4 ms against 2–4 ms for a 512×512
 * frame (docs/vision.md, "Decoding"). Everything else, and every JPEG this path refuses or fails on,
 * takes the sharp path in decode.ts, which decides the errors.
 *
 * The library is libturbojpeg 3.x as built and shipped for Linux in the npm package
 * @julusian/jpeg-turbo (pinned: its file layout is relied on), called through koffi (FFI). That package's
 * own binding is not used: it hard-codes the fast, less accurate IDCT (TJFLAG_FASTDCT), whose pixels
 * differ from sharp's by up to 4 levels. Where no such library loads (macOS, Windows, or
 * `WAJAH_JPEG_DECODER=sharp`), `turboJpeg()` is null and every image takes the sharp path.
 */
export interface TurboJpeg {
  /** The header's size and whether this path can decode it; null when the header is unreadable. */
  header(bytes: Uint8Array): { width: number; height: number; supported: boolean } | null;
  /** Decode to packed RGB (into `out`, width × height × 3 bytes, when given); null when libjpeg-turbo reported anything (a warning included). */
  decode(bytes: Uint8Array, width: number, height: number, out?: Uint8Array): RgbImage | null;
}

// turbojpeg.h (libjpeg-turbo 3.x).
const TJINIT_DECOMPRESS = 1;
const TJPARAM = { STOPONWARNING: 0, SUBSAMP: 4, JPEGWIDTH: 5, JPEGHEIGHT: 6, PRECISION: 7, COLORSPACE: 8, FASTUPSAMPLE: 9, FASTDCT: 10, LOSSLESS: 15, SCANLIMIT: 13 } as const;
const TJCS = { YCbCr: 1, GRAY: 2 } as const;
const TJPF_RGB = 0;
/** Progressive JPEGs with more scans than this are refused here (libjpeg-turbo's advice against crafted files). */
const SCAN_LIMIT = 500;

let loaded: TurboJpeg | null | undefined;

/** The TurboJPEG decoder of this thread, or null where it is not available (see above). */
export function turboJpeg(): TurboJpeg | null {
  if (loaded === undefined) loaded = process.env.WAJAH_JPEG_DECODER === 'sharp' ? null : load();
  return loaded;
}

function libraryPath(): string | null {
  if (process.platform !== 'linux') return null;
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = path.dirname(require.resolve('@julusian/jpeg-turbo/package.json'));
  } catch {
    return null;
  }
  const musl = !(process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime;
  const file = path.join(dir, 'prebuilds', `jpeg-turbo-linux-${process.arch}${musl ? '-musl' : ''}`, 'libturbojpeg.so.0');
  return existsSync(file) ? file : null;
}

function load(): TurboJpeg | null {
  const file = libraryPath();
  if (!file) return null;
  try {
    const require = createRequire(import.meta.url);
    const koffi = require('koffi') as typeof import('koffi');
    const lib = koffi.load(file);
    const init = lib.func('void *tj3Init(int initType)');
    const set = lib.func('int tj3Set(void *handle, int param, int value)');
    const get = lib.func('int tj3Get(void *handle, int param)');
    const readHeader = lib.func('int tj3DecompressHeader(void *handle, const uint8_t *jpegBuf, size_t jpegSize)');
    const decompress = lib.func('int tj3Decompress8(void *handle, const uint8_t *jpegBuf, size_t jpegSize, uint8_t *dstBuf, int pitch, int pixelFormat)');
    // One handle for this thread (each worker loads its own), kept for the thread's life.
    const handle = init(TJINIT_DECOMPRESS) as unknown;
    if (!handle) return null;
    // Sharp's settings: accurate IDCT, smooth ("fancy") chroma upsampling; any warning is a failure here.
    set(handle, TJPARAM.FASTDCT, 0);
    set(handle, TJPARAM.FASTUPSAMPLE, 0);
    set(handle, TJPARAM.STOPONWARNING, 1);
    set(handle, TJPARAM.SCANLIMIT, SCAN_LIMIT);
    return {
      header(bytes) {
        if (readHeader(handle, bytes, bytes.length) !== 0) return null;
        const width = get(handle, TJPARAM.JPEGWIDTH) as number;
        const height = get(handle, TJPARAM.JPEGHEIGHT) as number;
        const cs = get(handle, TJPARAM.COLORSPACE) as number;
        const supported = (cs === TJCS.YCbCr || cs === TJCS.GRAY) && get(handle, TJPARAM.PRECISION) === 8 && get(handle, TJPARAM.LOSSLESS) === 0 && plainMarkers(bytes);
        return { width, height, supported };
      },
      decode(bytes, width, height, out) {
        const data = out ?? new Uint8Array(width * height * 3);
        if (decompress(handle, bytes, bytes.length, data, 0, TJPF_RGB) !== 0) return null;
        return { data, width, height };
      },
    };
  } catch {
    return null;
  }
}

/**
 * No EXIF (orientation is applied by sharp's path), no ICC profile and no Adobe marker (colour handling
 * stays with sharp), and a well-formed marker run up to the first scan. Nothing else is read.
 */
export function plainMarkers(b: Uint8Array): boolean {
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return false;
    const marker = b[i + 1];
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    const len = (b[i + 2] << 8) | b[i + 3];
    if (len < 2 || i + 2 + len > b.length) return false;
    if (marker === 0xda) return true; // start of scan
    if (marker === 0xe1 && len >= 8 && ascii(b, i + 4, 4) === 'Exif') return false;
    if (marker === 0xe2 && len >= 14 && ascii(b, i + 4, 11) === 'ICC_PROFILE') return false;
    if (marker === 0xee) return false; // APP14 Adobe
    i += 2 + len;
  }
  return false;
}

/** `len` bytes from `start` as ASCII (container magic and marker names). */
export function ascii(b: Uint8Array, start: number, len: number): string {
  return String.fromCharCode(...b.subarray(start, start + len));
}
