import type { Redis } from 'ioredis';

export const STREAM_SLOTS_PREFIX = 'wajah:streams:';

export interface StreamSlotsOptions {
  /** Redis key prefix of the pool: pools with different prefixes do not share slots (default: the WebRTC sessions'). */
  prefix?: string;
  /** What the Redis warning calls the counted things (default "streaming sessions"). */
  label?: string;
}

/**
 * The concurrent WebRTC sessions of each client (and, in a pool of their own, its WebSocket recognition
 * streams: src/ws/recognition.plugin.ts), counted across every instance behind the load balancer
 * when Redis is there (one sorted set per client: session id → expiry, one atomic script), in this process
 * otherwise. Each process counted only its own sessions, so a tenant alternating instances held the tier's
 * limit once per instance. A slot is held from creation until the session closes; one left behind by an
 * instance that died is dropped when its session would have expired (at most the session's `timeout`).
 * While Redis does not answer, this process's own sessions are counted (never no limit at all).
 * A holder without a fixed end (a WebSocket stream) takes a short expiry and renews it while it lives,
 * so its slot lapses soon after its instance dies.
 *
 * @example if (!(await slots.acquire(client.id, id, 2, expiresAt))) throw 429; …; slots.release(client.id, id)
 * @example new StreamSlots(redis, log, { prefix: 'wajah:ws-streams:' }) // a pool of its own
 */
export class StreamSlots {
  readonly #local = new Map<string, Set<string>>();
  /** This process's slots' expiries (epoch ms), by slot id. */
  readonly #expiries = new Map<string, number>();
  readonly #redis: Redis | null;
  readonly #log: { warn(msg: string): void };
  readonly #prefix: string;
  readonly #label: string;
  #lastWarn = 0;

  constructor(redis: Redis | null, log: { warn(msg: string): void }, options: StreamSlotsOptions = {}) {
    this.#redis = redis;
    this.#log = log;
    this.#prefix = options.prefix ?? STREAM_SLOTS_PREFIX;
    this.#label = options.label ?? 'streaming sessions';
  }

  /** Takes one of `max` slots of `clientId` for session `id` until `expiresAt` (epoch ms); false when all are held. */
  async acquire(clientId: string, id: string, max: number, expiresAt: number, now = Date.now()): Promise<boolean> {
    // Counted here first and at once, so concurrent creations in this process cannot pass together while
    // Redis answers (and this count alone limits while it is down).
    const mine = this.#local.get(clientId) ?? new Set<string>();
    if (mine.size >= max) return false;
    mine.add(id);
    this.#local.set(clientId, mine);
    this.#expiries.set(id, expiresAt);
    if (!this.#redis) return true;
    try {
      const ok = Number(await this.#redis.eval(ACQUIRE_SCRIPT, 1, this.#prefix + clientId, String(now), String(max), String(expiresAt), id, keyTtl(expiresAt, now)));
      if (ok === 1) return true;
      this.#forget(clientId, id);
      return false;
    } catch (e) {
      this.#warn(e, now);
      return true;
    }
  }

  /**
   * Moves the expiry of a slot this process holds to `expiresAt`. A slot Redis lost (flushed, or lapsed
   * while Redis was away) is put back: its holder is still running and counts. A released slot stays released.
   */
  async renew(clientId: string, id: string, expiresAt: number, now = Date.now()): Promise<void> {
    if (!this.#local.get(clientId)?.has(id)) return;
    this.#expiries.set(id, expiresAt);
    if (!this.#redis) return;
    try {
      await this.#redis.eval(RENEW_SCRIPT, 1, this.#prefix + clientId, String(expiresAt), id, keyTtl(expiresAt, now));
    } catch (e) {
      this.#warn(e, now);
    }
  }

  /**
   * When the first slot of `clientId` frees by itself at the latest (epoch ms): the earliest expiry among its
   * held slots, across instances with Redis (a slot also frees earlier when its session closes). Null: none held.
   */
  async earliestExpiry(clientId: string, now = Date.now()): Promise<number | null> {
    if (this.#redis) {
      try {
        const [, score] = await this.#redis.zrangebyscore(this.#prefix + clientId, `(${now}`, '+inf', 'WITHSCORES', 'LIMIT', 0, 1);
        return score === undefined ? null : Number(score);
      } catch (e) {
        this.#warn(e, now);
      }
    }
    const mine = [...(this.#local.get(clientId) ?? [])].map((id) => this.#expiries.get(id) ?? Infinity);
    return mine.length ? Math.min(...mine) : null;
  }

  /** Gives the slot of session `id` back (the session closed, expired or failed to start). */
  release(clientId: string, id: string): void {
    this.#forget(clientId, id);
    this.#redis?.zrem(this.#prefix + clientId, id).catch(() => {
      // Redis down: the slot lapses at the session's expiry.
    });
  }

  #warn(e: unknown, now: number): void {
    if (now - this.#lastWarn <= 60_000) return;
    this.#lastWarn = now;
    this.#log.warn(`${this.#label}: Redis unavailable (${(e as Error).message}); counting this instance's ${this.#label} only`);
  }

  #forget(clientId: string, id: string): void {
    this.#expiries.delete(id);
    const mine = this.#local.get(clientId);
    mine?.delete(id);
    if (mine?.size === 0) this.#local.delete(clientId);
  }
}

// KEYS[1] = the client's set; ARGV = now, max, this session's expiry (the score), its id, key TTL (ms).
// Slots past their session's expiry are dropped first (an instance that died never released them).
const ACQUIRE_SCRIPT = `redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[5]) then redis.call('PEXPIRE', KEYS[1], ARGV[5]) end
return 1`;

// KEYS[1] = the client's set; ARGV = the new expiry (the score), the id, key TTL (ms).
const RENEW_SCRIPT = `redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1`;

/** The set outlives its latest slot by a minute. */
const keyTtl = (expiresAt: number, now: number): string => String(Math.max(1, expiresAt - now) + 60_000);
