import type { Redis } from 'ioredis';
import { SlidingWindow } from './sliding-window.ts';

/** Outcome of counting one call against a client's hourly budget. */
export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Epoch milliseconds when the window resets. */
  resetAt: number;
  /** Seconds until the window resets (Retry-After). */
  retryAfter: number;
}

/**
 * Per-client fixed-window counter (one window per clock hour). Redis-backed when REDIS_URL is set,
 * so every server process shares one budget; in-process otherwise.
 *
 * @example const d = await limiter.hit(client.id, 1000); if (!d.allowed) throw 429
 */
export interface RateLimiter {
  readonly backend: 'redis' | 'memory';
  hit(clientId: string, limit: number, now?: number): Promise<RateDecision>;
  /**
   * Counts `calls` calls of one request at once, all or nothing (a batch counts one call per image): when they do
   * not all fit in what is left of the window, none is counted, the `counted` calls this request already counted
   * in this window are given back, and the decision is `allowed: false` with `remaining` the calls still left.
   *
   * @example const d = await limiter.take(client.id, 1000, 64, Date.now(), 1) // 63 more, or none and the 1 back
   */
  take(clientId: string, limit: number, calls: number, now?: number, counted?: number): Promise<RateDecision>;
  /** Failed API-key authentications per address (FailedAuthGuard), shared like the call budgets. */
  readonly failures: FailedAuthGuard;
}

/**
 * Limits failed API-key authentications per address: once `maxFailures` (unknown key, wrong secret,
 * revoked key, malformed header) within `windowMs` have failed, the address gets 429 RATE_LIMIT_EXCEEDED for the rest of
 * the window, before any lookup (else the guessing, and a database read per invented key, would just go on);
 * AccessService still looks up a key that authenticated in this process within the hour, so a tenant sharing
 * the address keeps working. With Redis the failures are counted across every instance (SlidingWindow); each
 * instance then remembers the block itself, so a request that succeeds costs no extra Redis round trip.
 *
 * @example const wait = guard.blockedFor(ip); if (wait) throw 429; … if (!ok) await guard.fail(ip)
 */
export class FailedAuthGuard {
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly #failures: SlidingWindow;
  readonly #blocked = new Map<string, number>();
  constructor(options: { redis?: Redis | null; maxFailures?: number; windowMs?: number } = {}) {
    this.maxFailures = options.maxFailures ?? 100;
    this.windowMs = options.windowMs ?? 60_000;
    this.#failures = new SlidingWindow({ redis: options.redis ?? null, prefix: 'wajah:auth-fail:', windowMs: this.windowMs });
  }

  /** Seconds until `ip` may authenticate again; 0 when it may now. */
  blockedFor(ip: string, now = Date.now()): number {
    const until = this.#blocked.get(ip);
    if (until === undefined) return 0;
    if (until <= now) {
      this.#blocked.delete(ip);
      return 0;
    }
    return Math.max(1, Math.ceil((until - now) / 1000));
  }

  /** Records one failure of `ip`, atomically with counting it; past the limit, blocks the address. */
  async fail(ip: string, now = Date.now()): Promise<void> {
    const { count, oldest } = await this.#failures.add(ip, now);
    if (count < this.maxFailures) return;
    if (this.#blocked.size > 10_000) for (const [k, until] of this.#blocked) if (until <= now) this.#blocked.delete(k);
    this.#blocked.set(ip, Math.max(oldest + this.windowMs, now + 1000));
  }
}

export const RATE_LIMIT_PREFIX = 'wajah:rl:';
const HOUR = 3600_000;

function decision(count: number, limit: number, windowStart: number, windowMs: number, now: number): RateDecision {
  const resetAt = windowStart + windowMs;
  return {
    allowed: count <= limit,
    limit,
    remaining: Math.max(0, limit - count),
    resetAt,
    retryAfter: Math.max(1, Math.ceil((resetAt - now) / 1000)),
  };
}

export class MemoryRateLimiter implements RateLimiter {
  readonly backend = 'memory' as const;
  readonly failures: FailedAuthGuard;
  #windows = new Map<string, { start: number; count: number }>();
  private readonly windowMs: number;
  constructor(windowMs = HOUR, failures = new FailedAuthGuard()) {
    this.windowMs = windowMs;
    this.failures = failures;
  }

  async hit(clientId: string, limit: number, now = Date.now()): Promise<RateDecision> {
    return this.hitSync(clientId, limit, now);
  }

  hitSync(clientId: string, limit: number, now = Date.now()): RateDecision {
    const w = this.#window(clientId, now);
    w.count += 1;
    return decision(w.count, limit, w.start, this.windowMs, now);
  }

  async take(clientId: string, limit: number, calls: number, now = Date.now(), counted = 0): Promise<RateDecision> {
    return this.takeSync(clientId, limit, calls, now, counted);
  }

  takeSync(clientId: string, limit: number, calls: number, now = Date.now(), counted = 0): RateDecision {
    const w = this.#window(clientId, now);
    const before = Math.max(0, w.count - counted);
    if (before + calls > limit) {
      w.count = before;
      return { ...decision(before, limit, w.start, this.windowMs, now), allowed: false };
    }
    w.count = before + calls;
    return decision(w.count, limit, w.start, this.windowMs, now);
  }

  #window(clientId: string, now: number): { start: number; count: number } {
    const start = now - (now % this.windowMs);
    let w = this.#windows.get(clientId);
    if (!w || w.start !== start) {
      if (this.#windows.size > 10_000) this.#prune(start);
      w = { start, count: 0 };
      this.#windows.set(clientId, w);
    }
    return w;
  }

  #prune(start: number): void {
    for (const [k, v] of this.#windows) if (v.start !== start) this.#windows.delete(k);
  }
}

// INCR and set the expiry on the first hit, atomically.
const HIT_SCRIPT = `local c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return c`;

// A batch's calls, all or nothing (RateLimiter.take): KEYS[1] the window's counter; ARGV ttl, limit, calls, counted.
// Returns {1, count} when counted, or {0, count} after giving back `counted` and counting nothing.
const TAKE_SCRIPT = `local c = tonumber(redis.call('GET', KEYS[1]) or '0')
local limit, calls, counted = tonumber(ARGV[2]), tonumber(ARGV[3]), math.min(tonumber(ARGV[4]), c)
if c - counted + calls > limit then
  if counted > 0 then c = redis.call('DECRBY', KEYS[1], counted) end
  return {0, c}
end
if calls == counted then return {1, c} end
c = redis.call('INCRBY', KEYS[1], calls - counted)
if c == calls - counted then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {1, c}`;

export class RedisRateLimiter implements RateLimiter {
  readonly backend = 'redis' as const;
  readonly failures: FailedAuthGuard;
  #fallback: MemoryRateLimiter;
  #lastWarn = 0;

  private readonly redis: Redis;
  private readonly log: { warn(msg: string): void };
  private readonly windowMs: number;
  constructor(
    redis: Redis,
    log: { warn(msg: string): void },
    windowMs = HOUR,
  ) {
    this.redis = redis; this.log = log; this.windowMs = windowMs;
    this.failures = new FailedAuthGuard({ redis });
    this.#fallback = new MemoryRateLimiter(windowMs, this.failures);
  }

  async hit(clientId: string, limit: number, now = Date.now()): Promise<RateDecision> {
    const start = now - (now % this.windowMs);
    const key = `${RATE_LIMIT_PREFIX}${clientId}:${start}`;
    try {
      const count = Number(await this.redis.eval(HIT_SCRIPT, 1, key, String(this.windowMs + 60_000)));
      return decision(count, limit, start, this.windowMs, now);
    } catch (e) {
      this.#warn(now, e);
      return this.#fallback.hitSync(clientId, limit, now);
    }
  }

  async take(clientId: string, limit: number, calls: number, now = Date.now(), counted = 0): Promise<RateDecision> {
    const start = now - (now % this.windowMs);
    const key = `${RATE_LIMIT_PREFIX}${clientId}:${start}`;
    try {
      const [ok, count] = (await this.redis.eval(TAKE_SCRIPT, 1, key, String(this.windowMs + 60_000), String(limit), String(calls), String(counted))) as [number, number];
      const d = decision(Number(count), limit, start, this.windowMs, now);
      return ok === 1 ? d : { ...d, allowed: false };
    } catch (e) {
      this.#warn(now, e);
      return this.#fallback.takeSync(clientId, limit, calls, now, counted);
    }
  }

  #warn(now: number, e: unknown): void {
    // Redis down: keep serving with a per-process budget rather than failing every request.
    if (now - this.#lastWarn > 60_000) {
      this.#lastWarn = now;
      this.log.warn(`rate limiter: Redis unavailable (${(e as Error).message}); counting in-process`);
    }
  }
}

export function createRateLimiter(redis: Redis | null, log: { warn(msg: string): void }, windowMs = HOUR): RateLimiter {
  return redis ? new RedisRateLimiter(redis, log, windowMs) : new MemoryRateLimiter(windowMs);
}
