import crypto from 'node:crypto';

/** The JSON a receiver gets (user guide, "Webhook Events"): exactly these four keys, in this order. */
export interface WebhookBody {
  event: string;
  data: unknown;
  /** When the event happened (ISO 8601), not when this attempt was made: stable across retries. */
  timestamp: string;
  /** The endpoint id. */
  webhook_id: string;
}

/**
 * Serializes a webhook body. Compact `JSON.stringify` output on purpose: the guide's verification
 * snippet re-serializes the parsed body with `JSON.stringify(req.body)` and signs that, so the bytes
 * we sign must equal what that round trip produces (parsing JSON.stringify output and stringifying
 * it again gives the same string: same key order, same number and string forms).
 *
 * @example const body = serializeBody({ event: 'user.created', data, timestamp, webhook_id })
 */
export function serializeBody(body: WebhookBody): string {
  return JSON.stringify({ event: body.event, data: body.data, timestamp: body.timestamp, webhook_id: body.webhook_id });
}

/** `X-Signature` value: `sha256=<hex HMAC-SHA256 of the exact body bytes>` keyed with the endpoint secret. */
export function signBody(body: string, secret: string): string {
  return `sha256=${crypto.createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** A fresh endpoint secret when the client gives none (returned once, at creation). */
export function generateSecret(): string {
  return `whsec_${crypto.randomBytes(32).toString('base64url')}`;
}
