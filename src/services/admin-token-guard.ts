import type { Redis } from 'ioredis';
import { appError } from '../errors.ts';
import { tokensEqual } from './credentials.ts';
import { SlidingWindow } from './sliding-window.ts';

/**
 * Slows and limits wrong operator tokens per address (issue 9.10): each wrong token is answered
 * after a delay that grows with the address's recent failures, and after `maxFailures` within
 * `windowMs` the address gets 429 for the rest of the window, right or wrong token alike (else the
 * guessing would simply continue). With Redis the failures are counted across every instance behind
 * the load balancer (a sorted set per address, one atomic script), so N instances do not give an
 * attacker N times the guesses; without Redis, or while it is down, in this process.
 *
 * @example if (ok) { if (await guard.retryAfter(ip)) throw 429 } else if (await guard.fail(ip)) throw 429; else throw 401
 */
export class AdminTokenGuard {
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly delayMs: number;
  readonly #failures: SlidingWindow;
  constructor(options: { maxFailures?: number; windowMs?: number; delayMs?: number; redis?: Redis | null } = {}) {
    this.maxFailures = options.maxFailures ?? 10;
    this.windowMs = options.windowMs ?? 60_000;
    this.delayMs = options.delayMs ?? 100;
    this.#failures = new SlidingWindow({ redis: options.redis ?? null, prefix: 'wajah:admin-fail:', windowMs: this.windowMs });
  }

  /**
   * Checks an operator token presented from `ip` against the `accepted` ones (every route that takes
   * one: the admin API and /metrics share this guard, so neither is a side door for guessing).
   * Right: true, unless the address is blocked. Wrong: false after the growing delay. Blocked, right
   * or wrong: throws RATE_LIMIT_EXCEEDED with Retry-After.
   */
  async check(ip: string, token: string, accepted: ReadonlyArray<string | null | undefined>, now = Date.now()): Promise<boolean> {
    const ok = accepted.some((t) => !!t && tokensEqual(token, t));
    const wait = ok ? await this.retryAfter(ip, now) : await this.fail(ip, now);
    if (wait) {
      throw appError('RATE_LIMIT_EXCEEDED', `Too many wrong operator tokens from this address; retry in ${wait} s`, undefined, { 'retry-after': String(wait) });
    }
    return ok;
  }

  /** Seconds until `ip` may try again, or 0 when it may try now. */
  async retryAfter(ip: string, now = Date.now()): Promise<number> {
    const { count, oldest } = await this.#failures.peek(ip, now);
    if (count < this.maxFailures) return 0;
    return Math.max(1, Math.ceil((oldest + this.windowMs - now) / 1000));
  }

  /**
   * Records a wrong token, atomically with counting it (so parallel guesses through several instances
   * cannot all slip under the limit): past the limit returns the seconds to wait (answer 429 at once);
   * otherwise waits before the answer (the n-th recent failure waits n × delay, at most 1 s) and returns 0.
   */
  async fail(ip: string, now = Date.now()): Promise<number> {
    const { count, oldest } = await this.#failures.add(ip, now);
    if (count > this.maxFailures) return Math.max(1, Math.ceil((oldest + this.windowMs - now) / 1000));
    const wait = Math.min(1000, this.delayMs * count);
    await new Promise((resolve) => setTimeout(resolve, wait).unref());
    return 0;
  }
}
