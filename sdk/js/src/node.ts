import { createHmac, timingSafeEqual } from 'node:crypto';
import { parseSignatureHeader, type RawBody } from './webhook-signature.ts';

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
  if (!given || !secret) return false;
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : Buffer.from(rawBody instanceof Uint8Array ? rawBody : new Uint8Array(rawBody));
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(expected, given);
}

/** Synchronous `signWebhookPayload`: the `X-Signature` value for this body and secret. */
export function signWebhookPayload(rawBody: RawBody, secret: string): string {
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : Buffer.from(rawBody instanceof Uint8Array ? rawBody : new Uint8Array(rawBody));
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
