import type { Redis } from 'ioredis';

/** What one attempt with a secret may do, as SprayGuard.reserve decides it. */
export interface SprayDecision {
  /** Milliseconds the secret stays refused in the tenant; 0 when this attempt may be checked. */
  blockedMs: number;
  /** This attempt started the block (write the security entry once, across instances). */
  started: boolean;
  /** Distinct users the secret was tried against in the window, this attempt included. */
  users: number;
}

/**
 * Notices one secret tried against many users of a tenant (password spraying: "123456" once at each employee
 * id stays under every per-user lock-out). Attempts are counted per tenant and secret fingerprint
 * (SecretHasher.fingerprint, an HMAC under a server-held key: the secret itself is never kept) as the set of
 * distinct users it was checked against in a sliding window. An attempt that would make it more than
 * `maxUsers` is refused, and so is every attempt with that secret in the tenant for `blockMs`. A user's own
 * right secret gives its reservation back, so real sign-ins do not count. With Redis the set and the block are
 * shared by every instance (one atomic script per attempt); the process's own copy answers while Redis is down,
 * so an outage never lifts the limit altogether.
 *
 * @example const d = await guard.reserve(`${clientId}:${fp}`, userId); if (d.blockedMs) throw 429; … if (ok) await guard.release(key, userId)
 */
export class SprayGuard {
  readonly maxUsers: number;
  readonly windowMs: number;
  readonly blockMs: number;
  readonly #redis: Redis | null;
  readonly #users = new Map<string, Map<string, number>>();
  readonly #blocks = new Map<string, number>();

  constructor(options: { redis?: Redis | null; maxUsers?: number; windowMs?: number; blockMs?: number } = {}) {
    this.#redis = options.redis ?? null;
    this.maxUsers = options.maxUsers ?? 5;
    this.windowMs = options.windowMs ?? 24 * 3600_000;
    this.blockMs = options.blockMs ?? 24 * 3600_000;
  }

  /** Milliseconds the secret of `key` stays refused; 0 when it is not. */
  async blockedFor(key: string, now = Date.now()): Promise<number> {
    if (this.#redis) {
      try {
        return Math.max(0, Number(await this.#redis.pttl(PREFIX + 'b:' + key)));
      } catch {
        // Redis down: this process's own record decides.
      }
    }
    return this.#localBlock(key, now);
  }

  /** Counts `member` (a user) as trying the secret of `key`, before the slow check; past the limit, refuses and blocks. */
  async reserve(key: string, member: string, now = Date.now()): Promise<SprayDecision> {
    const local = this.#reserveLocal(key, member, now);
    if (!this.#redis) return local;
    try {
      const [users, blockedMs, started] = (await this.#redis.eval(
        RESERVE_SCRIPT,
        2,
        PREFIX + 'u:' + key,
        PREFIX + 'b:' + key,
        String(now),
        String(this.windowMs),
        member,
        String(this.maxUsers),
        String(this.blockMs),
      )) as [number, number, number];
      return { users: Number(users), blockedMs: Math.max(0, Number(blockedMs)), started: Number(started) === 1 };
    } catch {
      return local;
    }
  }

  /** Gives back `member`'s reservation: its secret was the right one, so it was no guess. */
  async release(key: string, member: string): Promise<void> {
    this.#users.get(key)?.delete(member);
    if (!this.#redis) return;
    try {
      await this.#redis.zrem(PREFIX + 'u:' + key, member);
    } catch {
      // Redis down: the entry expires with the window.
    }
  }

  #localBlock(key: string, now: number): number {
    const until = this.#blocks.get(key);
    if (until === undefined) return 0;
    if (until <= now) {
      this.#blocks.delete(key);
      return 0;
    }
    return until - now;
  }

  #reserveLocal(key: string, member: string, now: number): SprayDecision {
    const left = this.#localBlock(key, now);
    let users = this.#users.get(key);
    if (!users) {
      if (this.#users.size >= LOCAL_MAX_KEYS) this.#prune(now);
      this.#users.set(key, (users = new Map()));
    }
    for (const [m, at] of users) if (now - at >= this.windowMs) users.delete(m);
    if (left > 0) return { users: users.size, blockedMs: left, started: false };
    users.delete(member); // re-inserted last: Map order stays oldest first
    users.set(member, now);
    if (users.size <= this.maxUsers) return { users: users.size, blockedMs: 0, started: false };
    this.#blocks.set(key, now + this.blockMs);
    return { users: users.size, blockedMs: this.blockMs, started: true };
  }

  #prune(now: number): void {
    for (const [key, users] of this.#users) {
      const newest = [...users.values()].at(-1) ?? -Infinity;
      if (now - newest >= this.windowMs) this.#users.delete(key);
    }
    for (const [key, until] of this.#blocks) if (until <= now) this.#blocks.delete(key);
    // Still full: the keys first seen longest ago go (Map order).
    for (const key of this.#users.keys()) {
      if (this.#users.size < LOCAL_MAX_KEYS / 2) break;
      this.#users.delete(key);
    }
  }
}

const PREFIX = 'wajah:fb-spray:';
/** Secret fingerprints kept in this process at most (each holds at most maxUsers + 1 users). */
const LOCAL_MAX_KEYS = 100_000;

// KEYS[1] = the users who tried the secret (score = time), KEYS[2] = the block. ARGV = now, window (ms), member,
// max users, block (ms). Returns {users, blocked ms, started (1/0)}.
const RESERVE_SCRIPT = `local left = redis.call('PTTL', KEYS[2])
if left > 0 then return {0, left, 0} end
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local n = redis.call('ZCARD', KEYS[1])
if n > tonumber(ARGV[4]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[5])
  return {n, tonumber(ARGV[5]), 1}
end
return {n, 0, 0}`;
