import type { Redis } from 'ioredis';

export const STREAM_SLOTS_PREFIX = 'wajah:streams:';

/**
 * The concurrent WebRTC sessions of each client, counted across every instance behind the load balancer
 * when Redis is there (one sorted set per client: session id → expiry, one atomic script), in this process
 * otherwise. Each process counted only its own sessions, so a tenant alternating instances held the tier's
 * limit once per instance. A slot is held from creation until the session closes; one left behind by an
 * instance that died is dropped when its session would have expired (at most the session's `timeout`).
 * While Redis does not answer, this process's own sessions are counted (never no limit at all).
 *
 * @example if (!(await slots.acquire(client.id, id, 2, expiresAt))) throw 429; …; slots.release(client.id, id)
 */
export class StreamSlots {
  readonly #local = new Map<string, Set<string>>();
  readonly #redis: Redis | null;
  readonly #log: { warn(msg: string): void };
  #lastWarn = 0;

  constructor(redis: Redis | null, log: { warn(msg: string): void }) {
    this.#redis = redis;
    this.#log = log;
  }

  /** Takes one of `max` slots of `clientId` for session `id` until `expiresAt` (epoch ms); false when all are held. */
  async acquire(clientId: string, id: string, max: number, expiresAt: number, now = Date.now()): Promise<boolean> {
    // Counted here first and at once, so concurrent creations in this process cannot pass together while
    // Redis answers (and this count alone limits while it is down).
    const mine = this.#local.get(clientId) ?? new Set<string>();
    if (mine.size >= max) return false;
    mine.add(id);
    this.#local.set(clientId, mine);
    if (!this.#redis) return true;
    try {
      const ok = Number(await this.#redis.eval(ACQUIRE_SCRIPT, 1, STREAM_SLOTS_PREFIX + clientId, String(now), String(max), String(expiresAt), id, String(Math.max(1, expiresAt - now) + 60_000)));
      if (ok === 1) return true;
      this.#forget(clientId, id);
      return false;
    } catch (e) {
      if (now - this.#lastWarn > 60_000) {
        this.#lastWarn = now;
        this.#log.warn(`streaming sessions: Redis unavailable (${(e as Error).message}); counting this instance's sessions only`);
      }
      return true;
    }
  }

  /** Gives the slot of session `id` back (the session closed, expired or failed to start). */
  release(clientId: string, id: string): void {
    this.#forget(clientId, id);
    this.#redis?.zrem(STREAM_SLOTS_PREFIX + clientId, id).catch(() => {
      // Redis down: the slot lapses at the session's expiry.
    });
  }

  #forget(clientId: string, id: string): void {
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
