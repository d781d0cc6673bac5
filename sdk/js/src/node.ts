import { createHmac, timingSafeEqual } from 'node:crypto';
import { parseSignatureHeader, rawBodyBytes, type RawBody } from './webhook-signature.ts';

export * from './index.ts';

/**
 * Synchronous `verifyWebhookSignature` on node:crypto (constant-time compare), for Node servers.
 * It replaces the async Web Crypto version of the main entry.
 * @example
 * import { verifyWebhookSignature } from '@wajah/sdk/node';
 * app.post('/webhooks/face-recognition', express.raw({ type: 'application/json' }), (req, res) => {
 *   if (!verifyWebhookSignature(req.body, req.headers['x-signature'], WEBHOOK_SECRET)) return res.status(401).end();
 *   …
 * });
 */
export function verifyWebhookSignature(rawBody: RawBody, signatureHeader: string | readonly string[] | null | undefined, secret: string): boolean {
  const given = parseSignatureHeader(signatureHeader);
  // A parsed body (object, array) is refused, never read as bytes: see rawBodyBytes.
  const body = rawBodyBytes(rawBody);
  if (!given || !body || !secret) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(expected, given);
}

/** Synchronous `signWebhookPayload`: the `X-Signature` value for this body and secret. */
export function signWebhookPayload(rawBody: RawBody, secret: string): string {
  const body = rawBodyBytes(rawBody);
  if (!body) throw new TypeError('rawBody must be the body as received (string, Uint8Array/Buffer or ArrayBuffer), not parsed JSON');
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
