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
  // Per key, the event times in order; `head` skips the expired ones (dropped in bulk now and then), so
  // recording an event costs O(1) however many the window holds: a flood of wrong credentials from one
  // address made every request filter the whole window (quadratic: at 1 000 a second, most of a core).
  readonly #local = new Map<string, { times: number[]; head: number }>();
  readonly #onceLocal = new Map<string, number>();
  // The size at which #local is next pruned: twice what the last pruning kept. A fixed threshold made
  // every event scan the whole map once more than 50 000 keys were live (a flood of distinct unknown API
  // keys, each counted under its own key, cost ~2 ms of main thread per request past that point).
  #pruneAt = PRUNE_MIN;
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
    let recent = this.#recentLocal(key, now);
    if (!recent) this.#local.set(key, (recent = { times: [], head: 0 }));
    recent.times.push(now);
    // The count as of this event (others may be added while Redis answers).
    const local = { count: recent.times.length - recent.head, oldest: recent.times[recent.head]! };
    if (this.#local.size > this.#pruneAt) this.#prune(now);
    return (await this.#shared(key, now, true)) ?? local;
  }

  /** The events of `key` in the window, without adding one. */
  async peek(key: string, now = Date.now()): Promise<{ count: number; oldest: number }> {
    const shared = await this.#shared(key, now, false);
    if (shared) return shared;
    const recent = this.#recentLocal(key, now);
    return recent ? { count: recent.times.length - recent.head, oldest: recent.times[recent.head] ?? now } : { count: 0, oldest: now };
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

  /** The key's events with the expired ones skipped (times only grow, so they are at the front). */
  #recentLocal(key: string, now: number): { times: number[]; head: number } | undefined {
    const recent = this.#local.get(key);
    if (!recent) return undefined;
    while (recent.head < recent.times.length && now - recent.times[recent.head]! >= this.windowMs) recent.head++;
    // Drop the skipped part once it is at least half of the array: amortised O(1) per event.
    if (recent.head > 1024 && recent.head * 2 >= recent.times.length) {
      recent.times = recent.times.slice(recent.head);
      recent.head = 0;
    }
    return recent;
  }

  #prune(now: number): void {
    // The newest event is the last: when it has expired, all have.
    for (const [key, recent] of this.#local) if (!(now - (recent.times.at(-1) ?? -Infinity) < this.windowMs)) this.#local.delete(key);
    // Still more live keys than a process should hold: the ones first seen longest ago go (Map order).
    for (const key of this.#local.keys()) {
      if (this.#local.size <= LOCAL_MAX_KEYS) break;
      this.#local.delete(key);
    }
    // Amortised O(1) per event: the next pruning waits until the map has doubled.
    this.#pruneAt = Math.max(PRUNE_MIN, this.#local.size * 2);
  }
}

const PRUNE_MIN = 50_000;
/** Keys kept in this process at most (a few hundred bytes each); past it the oldest are forgotten. */
const LOCAL_MAX_KEYS = 200_000;

// KEYS[1] = the key's set; ARGV = now, window (ms), add (1/0), a unique member. Returns {count, oldest}.
const WINDOW_SCRIPT = `redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if ARGV[3] == '1' then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {redis.call('ZCARD', KEYS[1]), oldest[2] or ARGV[1]}`;
