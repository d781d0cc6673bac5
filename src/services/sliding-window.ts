import type { Redis } from 'ioredis';

/**
 * Events per key within a sliding window, counted across every instance behind the load balancer when
 * Redis is there (a sorted set per key, one atomic script), in this process otherwise. The process's own
 * count is kept as well and answers while Redis is down, so an outage never lifts a limit altogether.
 * Used for wrong operator tokens (AdminTokenGuard) and the security monitor's bursts.
 *
 * @example const { count } = await window.add(`ip:${ip}`); if (count > 10) block()
 */
export class SlidingWindow {
  readonly #local = new Map<string, number[]>();
  readonly #onceLocal = new Map<string, number>();
  readonly #redis: Redis | null;
  readonly #prefix: string;
  readonly windowMs: number;

  constructor(options: { redis: Redis | null; prefix: string; windowMs: number }) {
    this.#redis = options.redis;
    this.#prefix = options.prefix;
    this.windowMs = options.windowMs;
  }

  /** Records one event of `key`, atomically with counting: the events in the window, this one included. */
  async add(key: string, now = Date.now()): Promise<{ count: number; oldest: number }> {
    const recent = this.#recentLocal(key, now);
    recent.push(now);
    this.#local.set(key, recent);
    if (this.#local.size > 50_000) this.#prune(now);
    return (await this.#shared(key, now, true)) ?? { count: recent.length, oldest: recent[0]! };
  }

  /** The events of `key` in the window, without adding one. */
  async peek(key: string, now = Date.now()): Promise<{ count: number; oldest: number }> {
    const shared = await this.#shared(key, now, false);
    if (shared) return shared;
    const recent = this.#recentLocal(key, now);
    return { count: recent.length, oldest: recent[0] ?? now };
  }

  /** True for the first call per `key` within `periodMs` across all instances (SET NX PX), false after. */
  async once(key: string, periodMs: number, now = Date.now()): Promise<boolean> {
    if (this.#redis) {
      try {
        return (await this.#redis.set(`${this.#prefix}once:${key}`, String(now), 'PX', periodMs, 'NX')) === 'OK';
      } catch {
        // Redis down: this process decides alone.
      }
    }
    const last = this.#onceLocal.get(key);
    if (last !== undefined && now - last < periodMs) return false;
    if (this.#onceLocal.size > 50_000) this.#onceLocal.clear();
    this.#onceLocal.set(key, now);
    return true;
  }

  async #shared(key: string, now: number, add: boolean): Promise<{ count: number; oldest: number } | null> {
    if (!this.#redis) return null;
    try {
      const [count, oldest] = (await this.#redis.eval(WINDOW_SCRIPT, 1, this.#prefix + key, String(now), String(this.windowMs), add ? '1' : '0', `${now}:${Math.random()}`)) as [number, string];
      return { count: Number(count), oldest: Number(oldest) || now };
    } catch {
      return null; // Redis down: this process's own count still limits
    }
  }

  #recentLocal(key: string, now: number): number[] {
    return (this.#local.get(key) ?? []).filter((t) => now - t < this.windowMs);
  }

  #prune(now: number): void {
    for (const [key, times] of this.#local) if (!times.some((t) => now - t < this.windowMs)) this.#local.delete(key);
  }
}

// KEYS[1] = the key's set; ARGV = now, window (ms), add (1/0), a unique member. Returns {count, oldest}.
const WINDOW_SCRIPT = `redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if ARGV[3] == '1' then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {redis.call('ZCARD', KEYS[1]), oldest[2] or ARGV[1]}`;
