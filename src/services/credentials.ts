import crypto from 'node:crypto';

/**
 * API credentials. Keys are public identifiers (`wk_` + 32 hex); secrets are 256-bit random
 * (`wsk_` + base64url) and stored only as a SHA-256 hash: with that much entropy a slow KDF adds
 * nothing but latency on every request (the same reasoning as GitHub tokens).
 */
export function generateApiKey(): string {
  return `wk_${crypto.randomBytes(16).toString('hex')}`;
}

export function generateSecret(): string {
  return `wsk_${crypto.randomBytes(32).toString('base64url')}`;
}

export function hashSecret(secret: string): string {
  return `sha256$${crypto.createHash('sha256').update(secret, 'utf8').digest('hex')}`;
}

/** A hash that never matches; compared against when the key is unknown, so timing does not tell. */
export const DUMMY_HASH = hashSecret(crypto.randomBytes(32).toString('hex'));

/** Constant-time comparison of a presented secret with a stored hash. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret));
  const b = Buffer.from(storedHash);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/** Constant-time comparison of two tokens of any length (both hashed first). */
export function tokensEqual(presented: string, expected: string): boolean {
  const a = crypto.createHash('sha256').update(presented).digest();
  const b = crypto.createHash('sha256').update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}

/** Parses `Authorization: ApiKey KEY:SECRET`; null when absent or malformed. */
export function parseApiKeyHeader(header: string | undefined): { key: string; secret: string } | null {
  if (!header) return null;
  const m = /^ApiKey\s+([^:\s]+):(\S+)\s*$/i.exec(header);
  if (!m) return null;
  return { key: m[1]!, secret: m[2]! };
}
