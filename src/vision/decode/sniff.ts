/**
 * The image container from its magic bytes: never trust a declared content type. Dependency-free, so
 * the main thread can use it (review photos) without loading the codecs.
 */
export type ImageFormat = 'jpeg' | 'png' | 'webp';

export function sniffFormat(bytes: Uint8Array): ImageFormat | 'unsupported' | 'unknown' {
  const b = bytes;
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'png';
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return 'webp';
  // Real images we deliberately do not accept: GIF, BMP, TIFF, HEIC/AVIF (ftyp), JPEG 2000.
  if (b.length >= 4 && (ascii(b, 0, 4) === 'GIF8' || ascii(b, 0, 2) === 'BM')) return 'unsupported';
  if (b.length >= 4 && ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a) || (b[0] === 0x4d && b[1] === 0x4d && b[3] === 0x2a))) {
    return 'unsupported';
  }
  if (b.length >= 12 && ascii(b, 4, 4) === 'ftyp') return 'unsupported';
  return 'unknown';
}

/** The Content-Type of an accepted image format. */
export const IMAGE_CONTENT_TYPES: Record<ImageFormat, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp' };

/**
 * The Content-Type to serve stored picture bytes with: what the bytes are (a stored photo was decoded as an
 * image when it was accepted), never what its uploader declared; anything else is a download.
 */
export function imageContentType(bytes: Uint8Array): string {
  const format = sniffFormat(bytes);
  return format === 'unsupported' || format === 'unknown' ? 'application/octet-stream' : IMAGE_CONTENT_TYPES[format];
}

function ascii(b: Uint8Array, start: number, len: number): string {
  let s = '';
  for (let i = start; i < start + len && i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}
