import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ClientContext } from '../api/request-context.ts';
import { appError, isAppError, type ErrorCode } from '../errors.ts';
import { createRateLimiter, RATE_LIMIT_PREFIX, type RateDecision, type RateLimiter } from './rate-limit.service.ts';
import { TIER_LIMITS } from './tiers.ts';

/**
 * The budgets of live sessions, apart from the hourly call count (docs/foundation.md, "Limits"):
 * - each frame of an enrollment or authentication session draws from that session's frames per second
 *   (basic 10, premium 20, enterprise 30), so a camera at the guide's 10 frames/s never exhausts the
 *   tenant's hourly calls;
 * - a frame that names no open session (an unknown, expired or finished token) is no session's frame: it
 *   counts as an ordinary call, so invented tokens cannot bypass every budget (`sessionFrame`);
 * - starting a session (enrollment, authentication, streaming) counts as a call and draws from the
 *   sessions-per-hour budget (basic 300, premium 2,000, enterprise unlimited).
 * Counted in Redis when REDIS_URL is set, so instances behind a load balancer share them.
 *
 * @example const h = await budget.frame(client, sessionToken); reply.headers(h)
 */
export class SessionBudget {
  readonly #frames: FrameRate;
  readonly #sessions: RateLimiter;

  constructor(redis: Redis | null, log: { warn(msg: string): void }) {
    this.#frames = new FrameRate(redis, log);
    this.#sessions = createRateLimiter(redis, log);
  }

  /** One frame of the session whose X-Session-Token is `sessionToken`; throws FRAME_RATE_EXCEEDED (429). */
  async frame(client: ClientContext, sessionToken: string | undefined, now = Date.now()): Promise<Record<string, string>> {
    const limit = TIER_LIMITS[client.tier].framesPerSecond;
    // Keyed by a digest of the token: the token itself never reaches Redis.
    const session = crypto.createHash('sha256').update(sessionToken ?? '').digest('base64url').slice(0, 22);
    const d = await this.#frames.hit(`frames:${client.id}:${session}`, limit, now);
    const headers = { 'x-framelimit-limit': String(limit), 'x-framelimit-remaining': String(d.remaining) };
    if (!d.allowed) {
      throw appError('FRAME_RATE_EXCEEDED', `At most ${limit} frames per second per session on the ${client.tier} tier; send the next frame in ${d.retryInMs} ms`, { limit, per: 'second', retry_in_ms: d.retryInMs }, { ...headers, 'retry-after': '1' });
    }
    return headers;
  }

  /**
   * Runs the work of one frame. When its token opens no session (the errors in NO_OPEN_SESSION), the
   * frame counts as the call it was spared: `countCall` throws RATE_LIMIT_EXCEEDED past the hourly budget,
   * and otherwise the frame's own error stands. The frame budget above is keyed by the token, which the
   * caller chooses, so without this a fresh invented token per request would never be limited.
   */
  async sessionFrame<T>(work: () => Promise<T>, countCall: () => Promise<unknown>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      if (isAppError(e) && NO_OPEN_SESSION.has(e.code)) await countCall();
      throw e;
    }
  }

  /** One session started by the client; throws SESSION_LIMIT_EXCEEDED (429). */
  async sessionStart(client: ClientContext, now = Date.now()): Promise<Record<string, string>> {
    const limit = TIER_LIMITS[client.tier].sessionsPerHour;
    if (limit === null) return {};
    const d: RateDecision = await this.#sessions.hit(`sessions:${client.id}`, limit, now);
    const headers = { 'x-sessionlimit-limit': String(limit), 'x-sessionlimit-remaining': String(d.remaining), 'x-sessionlimit-reset': String(Math.ceil(d.resetAt / 1000)) };
    if (!d.allowed) {
      throw appError('SESSION_LIMIT_EXCEEDED', `At most ${limit} sessions per hour on the ${client.tier} tier; retry in ${d.retryAfter} s`, { limit, per: 'hour' }, { ...headers, 'retry-after': String(d.retryAfter) });
    }
    return headers;
  }
}

/** The answers of SessionStore.open (sessions.service.ts) to a token that opens no session. */
const NO_OPEN_SESSION: ReadonlySet<ErrorCode> = new Set(['SESSION_NOT_FOUND', 'SESSION_EXPIRED', 'SESSION_COMPLETED']);

/**
 * Frames per second as a token bucket (GCRA: one "theoretical arrival time" per key), so a camera that
 * sends exactly `limit` frames a second with network jitter is never refused, while a sustained faster
 * stream is: the bucket holds one second of frames and refills at `limit` per second. In Redis (one
 * atomic script) when REDIS_URL is set, so a session's frames count once whichever instance gets them.
 */
class FrameRate {
  readonly #local = new Map<string, number>();
  #lastWarn = 0;
  private readonly redis: Redis | null;
  private readonly log: { warn(msg: string): void };
  constructor(redis: Redis | null, log: { warn(msg: string): void }) {
    this.redis = redis;
    this.log = log;
  }

  async hit(key: string, limit: number, now: number): Promise<{ allowed: boolean; remaining: number; retryInMs: number }> {
    const interval = 1000 / limit;
    const capacity = limit * interval; // one second of frames
    let tat: number | null = null;
    if (this.redis) {
      try {
        tat = Number(await this.redis.eval(GCRA_SCRIPT, 1, RATE_LIMIT_PREFIX + key, String(now), String(interval), String(capacity)));
      } catch (e) {
        if (now - this.#lastWarn > 60_000) {
          this.#lastWarn = now;
          this.log.warn(`frame budget: Redis unavailable (${(e as Error).message}); counting in-process`);
        }
      }
    }
    if (tat === null || Number.isNaN(tat)) tat = this.#hitLocal(key, now, interval, capacity);
    // The script stores the new arrival time only for an allowed frame and answers its negative otherwise.
    const allowed = tat >= 0;
    const t = Math.abs(tat);
    const remaining = Math.max(0, Math.floor((capacity - (t - now)) / interval));
    return { allowed, remaining, retryInMs: allowed ? 0 : Math.max(1, Math.ceil(t - capacity - now + interval)) };
  }

  #hitLocal(key: string, now: number, interval: number, capacity: number): number {
    if (this.#local.size > 10_000) for (const [k, v] of this.#local) if (v < now) this.#local.delete(k);
    const next = Math.max(this.#local.get(key) ?? now, now) + interval;
    if (next - now > capacity) return -(this.#local.get(key) ?? now);
    this.#local.set(key, next);
    return next;
  }
}

// KEYS[1] = bucket; ARGV = now (ms), interval (ms per frame), capacity (ms). Returns the new arrival
// time when the frame fits, or minus the current one when it does not.
const GCRA_SCRIPT = `local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local capacity = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local nxt = tat + interval
if nxt - now > capacity then return tostring(-tat) end
redis.call('SET', KEYS[1], tostring(nxt), 'PX', math.ceil(capacity + interval) + 1000)
return tostring(nxt)`;
