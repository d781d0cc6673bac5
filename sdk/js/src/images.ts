import type { ImageInput } from './types.ts';

/** True for inputs sent as multipart file parts (everything but strings). */
export function isBinary(image: ImageInput): image is Blob | Uint8Array | ArrayBuffer {
  return typeof image !== 'string';
}

/** The MIME type from the first bytes (JPEG, PNG, WebP); octet-stream otherwise, which the server also takes. */
export function sniffImageType(b: Uint8Array): string {
  if (b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length > 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'image/png';
  if (b.length > 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return 'image/webp';
  return 'application/octet-stream';
}

const EXTENSIONS: Record<string, string> = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp' };

/** A Blob with an image type, for a multipart file part; strings (data URL / base64) are decoded. */
export function toBlob(image: ImageInput): Blob {
  if (typeof image === 'string') return toBlob(decodeImageString(image));
  if (image instanceof Blob) return image;
  const bytes = image instanceof Uint8Array ? image : new Uint8Array(image);
  // Copy into a plain ArrayBuffer-backed view: Blob does not take SharedArrayBuffer views.
  return new Blob([new Uint8Array(bytes)], { type: sniffImageType(bytes) });
}

/** A file name with the extension of the part's type (the server echoes it in batch results). */
export function fileName(blob: Blob, field: string, index = 0): string {
  const name = (blob as Blob & { name?: unknown }).name;
  if (typeof name === 'string' && name) return name;
  return `${field}-${index}.${EXTENSIONS[blob.type] ?? 'bin'}`;
}

const DATA_URL = /^data:([^;,]*)(?:;[^,]*)?;base64,/i;

/** Bytes of a data URL or raw base64 string. */
export function decodeImageString(s: string): Uint8Array {
  const m = DATA_URL.exec(s);
  const b64 = (m ? s.slice(m[0].length) : s).replace(/\s+/g, '');
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** A `data:image/…;base64,` URL (the WebSocket protocol takes only strings); strings pass unchanged. */
export async function toDataUrl(image: ImageInput): Promise<string> {
  if (typeof image === 'string') return image;
  const bytes = image instanceof Blob ? new Uint8Array(await image.arrayBuffer()) : image instanceof Uint8Array ? image : new Uint8Array(image);
  const type = image instanceof Blob && image.type.startsWith('image/') ? image.type : sniffImageType(bytes);
  return `data:${type === 'application/octet-stream' ? 'image/jpeg' : type};base64,${base64(bytes)}`;
}

function base64(bytes: Uint8Array): string {
  let bin = '';
  const CHUNK = 0x8000; // String.fromCharCode's argument count stays well under engine limits
  for (let i = 0; i < bytes.length; i += CHUNK) bin += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  return btoa(bin);
}

function ascii(b: Uint8Array, start: number, len: number): string {
  return String.fromCharCode(...b.subarray(start, start + len));
}
