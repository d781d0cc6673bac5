import type { WebhookBackoff } from '../../db/schema.ts';

export interface RetryPolicy {
  max_retries: number;
  backoff_strategy: WebhookBackoff;
  /** Seconds; fractional allowed. */
  retry_delay: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { max_retries: 3, backoff_strategy: 'exponential', retry_delay: 30 };

/** No retry waits longer than a day, whatever the policy says. */
export const MAX_RETRY_WAIT_MS = 24 * 3600 * 1000;

/**
 * Wait before the retry that follows failed attempt `attempt` (1-based), in ms.
 * exponential: d·2^(n−1) · linear: d·n · fixed: d. With d = 30 s: 30 s, 60 s, 120 s … / 30, 60, 90 … / 30, 30, 30 …
 *
 * @example retryDelayMs({ max_retries: 3, backoff_strategy: 'exponential', retry_delay: 30 }, 2) // 60000
 */
export function retryDelayMs(policy: Pick<RetryPolicy, 'backoff_strategy' | 'retry_delay'>, attempt: number): number {
  const base = policy.retry_delay * 1000;
  const n = Math.max(1, attempt);
  let ms: number;
  switch (policy.backoff_strategy) {
    case 'exponential':
      ms = base * 2 ** Math.min(n - 1, 40);
      break;
    case 'linear':
      ms = base * n;
      break;
    case 'fixed':
      ms = base;
      break;
  }
  return Math.min(Math.round(ms), MAX_RETRY_WAIT_MS);
}

/**
 * A receiver's `Retry-After` (RFC 9110 §10.2.3: delta-seconds or an HTTP-date) in ms from `now`, or null when
 * absent or unreadable. A date in the past reads as 0.
 *
 * @example parseRetryAfter('120') // 120000
 */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | null {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return null;
  if (/^\d+$/.test(v)) return Math.min(Number(v) * 1000, MAX_RETRY_WAIT_MS);
  // Only the date forms: Date.parse also reads things like "1" or "soon 5" that are not HTTP-dates.
  if (!/^[A-Za-z]{3},? /.test(v)) return null;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.min(Math.max(0, at - now), MAX_RETRY_WAIT_MS);
}

/**
 * The wait before a retry: the policy's, or longer when the receiver asked for it with `Retry-After`
 * (a 429 or 503 saying when to come back), never more than MAX_RETRY_WAIT_MS.
 *
 * @example retryWaitMs(200, 5000) // 5000: the receiver's Retry-After wins over a shorter policy
 */
export function retryWaitMs(policyMs: number, retryAfterMs: number | null | undefined): number {
  return Math.min(Math.max(policyMs, retryAfterMs ?? 0), MAX_RETRY_WAIT_MS);
}

/** After failed attempt `attempt` (1-based): retry, or give up. One first attempt plus max_retries retries. */
export function shouldRetry(policy: Pick<RetryPolicy, 'max_retries'>, attempt: number): boolean {
  return attempt <= policy.max_retries;
}
