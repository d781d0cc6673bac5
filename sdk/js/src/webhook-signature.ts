/**
 * `X-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes>`, keyed with the endpoint secret
 * (docs/webhooks.md). This file uses only Web Crypto (browsers, Deno, workers, Node ≥ 20), so it is
 * async; `@wajah/sdk/node` exports a synchronous twin on node:crypto.
 */

export type RawBody = string | Uint8Array | ArrayBuffer;

const SIGNATURE = /^sha256=([0-9a-f]{64})$/; // exactly what the server sends: lowercase hex

/** The 32 digest bytes of a well-formed header value, or null. */
export function parseSignatureHeader(header: string | readonly string[] | null | undefined): Uint8Array | null {
  const value = Array.isArray(header) ? (header.length === 1 ? header[0] : undefined) : (header as string | null | undefined);
  const m = typeof value === 'string' ? SIGNATURE.exec(value.trim()) : null;
  if (!m) return null;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(m[1]!.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/**
 * A copy of the body's bytes, or null when `body` is not a body as received: a parsed JSON object or
 * array is refused, never turned into bytes. (`new Uint8Array(value)` would read any array-like: a JSON
 * body `{"event":…,"length":N,"0":…}` or `[…]` parsed by a framework would then hash as the bytes of a
 * delivery an attacker captured, and that delivery's signature would vouch for the forged event.)
 */
export function rawBodyBytes(body: unknown): Uint8Array<ArrayBuffer> | null {
  if (typeof body === 'string') return new TextEncoder().encode(body);
  // Typed arrays (a Node buffer is one) and DataView, also from another realm: exactly their bytes.
  if (ArrayBuffer.isView(body)) return new Uint8Array(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
  const tag = Object.prototype.toString.call(body);
  if (tag === '[object ArrayBuffer]' || tag === '[object SharedArrayBuffer]') return new Uint8Array(new Uint8Array(body as ArrayBufferLike));
  return null;
}

function bytes(body: RawBody): Uint8Array<ArrayBuffer> {
  const out = rawBodyBytes(body);
  if (!out) throw new TypeError('rawBody must be the body as received (string, Uint8Array such as a Node buffer, or ArrayBuffer), not parsed JSON');
  return out;
}

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new TypeError('Web Crypto (crypto.subtle) is not available here; on Node use @wajah/sdk/node');
  return s;
}

async function hmacKey(secret: string, usage: 'sign' | 'verify'): Promise<CryptoKey> {
  return subtle().importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [usage]);
}

/**
 * Checks a delivery's `X-Signature` against the raw body, in constant time (HMAC verify of Web Crypto).
 * Pass the body exactly as received (bytes or the undecoded text), not re-serialized JSON. Anything else
 * (a parsed object or array, `undefined`) answers false, as a missing or malformed header does.
 * @example
 * const ok = await verifyWebhookSignature(await request.text(), request.headers.get('x-signature'), WEBHOOK_SECRET);
 * if (!ok) return new Response('invalid signature', { status: 401 });
 */
export async function verifyWebhookSignature(rawBody: RawBody, signatureHeader: string | readonly string[] | null | undefined, secret: string): Promise<boolean> {
  const given = parseSignatureHeader(signatureHeader);
  const body = rawBodyBytes(rawBody);
  if (!given || !body || !secret) return false;
  return subtle().verify('HMAC', await hmacKey(secret, 'verify'), new Uint8Array(given), body);
}

/** The header value the server sends for this body and secret (for testing your receiver). */
export async function signWebhookPayload(rawBody: RawBody, secret: string): Promise<string> {
  const mac = new Uint8Array(await subtle().sign('HMAC', await hmacKey(secret, 'sign'), bytes(rawBody)));
  return `sha256=${Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
