import type { ApiKeysRepository, CredentialRow } from '../db/repositories/api-keys.repository.ts';
import type { ClientContext } from '../api/request-context.ts';
import { appError } from '../errors.ts';
import { DUMMY_HASH, parseApiKeyHeader, secretMatches } from './credentials.ts';
import type { IpAllowlist } from './ip-allowlist.ts';
import type { RateDecision, RateLimiter } from './rate-limit.service.ts';
import type { SecurityMonitor } from './security-monitor.service.ts';
import { limitsFor } from './tiers.ts';

const RECENTLY_GOOD_MS = 3600_000;

export interface AccessResult {
  client: ClientContext;
  /** Null when the client has no hourly limit, or when the call was not counted (`countCall: false`). */
  rate: RateDecision | null;
  /**
   * With `countCall: false`: counts the call left out after all, for a request that turns out to be an
   * ordinary call (a session frame that names no open session); RATE_LIMIT_EXCEEDED past the budget.
   * Counts at most once; null when the client has no hourly limit.
   */
  countLater?: () => Promise<RateDecision | null>;
  /**
   * For a counted call that turns out to be a batch of `images` (one call per image, docs/foundation.md "Limits"):
   * counts the images, this call's own count included, all or nothing. When they do not all fit in what is left
   * of the hour, RATE_LIMIT_EXCEEDED (details: limit, remaining, requested) and nothing of the batch is counted,
   * not even the call itself. Counts at most once; null when the client has no hourly limit.
   */
  countBatch?: (images: number) => Promise<RateDecision | null>;
}

/** X-RateLimit-* headers for a decision (Reset in epoch seconds, as GitHub does). */
export function rateHeaders(rate: RateDecision): Record<string, string> {
  return {
    'x-ratelimit-limit': String(rate.limit),
    'x-ratelimit-remaining': String(rate.remaining),
    'x-ratelimit-reset': String(Math.ceil(rate.resetAt / 1000)),
  };
}

/**
 * Decides whether a request carrying `Authorization: ApiKey KEY:SECRET` may proceed: credentials
 * (constant time, one answer for unknown key and wrong secret), key validity (revoked, expired after
 * rotation grace), client state, IP allow-lists of client and key, and the hourly call budget.
 *
 * Key+client rows are cached for `cacheMs` (default 5 s) so a burst of calls costs one query;
 * a credential change invalidates it at once here and, through Redis, in every instance
 * (credential-changes.ts); without that notice other processes see it within `cacheMs`. Expiry is
 * evaluated per request, so rotation grace ends on time.
 */
export class AccessService {
  // Unknown keys are cached like known ones: the same path (and time) whether the key exists or not.
  #cache = new Map<string, { row: CredentialRow | undefined; at: number }>();
  #lastUsedWritten = new Map<string, number>();
  // Keys that authenticated in this process within the last hour (key → when): from an address blocked for
  // its failures only these are still looked up, so a tenant sharing that address (a NAT, an office) keeps
  // working while invented keys cost nothing.
  #recentlyGood = new Map<string, number>();
  // Bumped by invalidate(): a read that was in flight across a credential change must not cache what it read.
  #generation = 0;

  private readonly keys: ApiKeysRepository;
  private readonly limiter: RateLimiter;
  private readonly ipAllowlist: IpAllowlist;
  private readonly monitor: SecurityMonitor;
  private readonly log: { warn(msg: string): void };
  private readonly options: { cacheMs: number; lastUsedEveryMs: number };
  constructor(
    keys: ApiKeysRepository,
    limiter: RateLimiter,
    ipAllowlist: IpAllowlist,
    monitor: SecurityMonitor,
    log: { warn(msg: string): void },
    options = { cacheMs: 5000, lastUsedEveryMs: 60_000 },
  ) {
    this.keys = keys; this.limiter = limiter; this.ipAllowlist = ipAllowlist; this.monitor = monitor; this.log = log; this.options = options;
  }

  invalidate(): void {
    this.#generation++;
    this.#cache.clear();
  }

  /**
   * `countCall: false` for session frames: they draw from their session's frame budget
   * (session-budget.service.ts) instead of the hourly calls; `countLater` counts one that was no session's.
   */
  async authorize(authorization: string | undefined, ip: string, now = Date.now(), options: { countCall?: boolean } = {}): Promise<AccessResult> {
    const parsed = parseApiKeyHeader(authorization);
    if (!parsed) {
      this.monitor.authFailure(ip, { clientId: null, key: null, reason: authorization ? 'malformed' : 'missing' }, now);
      if (authorization) {
        const blocked = this.limiter.failures.blockedFor(ip, now);
        if (blocked) this.#refuseBlocked(blocked);
        await this.limiter.failures.fail(ip, now);
      }
      throw appError('INVALID_CREDENTIALS');
    }
    return this.authorizeKey(parsed.key, parsed.secret, ip, now, options);
  }

  /**
   * The checks of `authorize` for a key and secret that arrived some other way than the ApiKey header:
   * the CompreFace-compatible API's `x-api-key` (src/services/compreface/keys.service.ts), whose keys
   * carry a `:` and so can never be presented as `Authorization: ApiKey KEY:SECRET`.
   */
  async authorizeKey(presentedKey: string, presentedSecret: string, ip: string, now = Date.now(), options: { countCall?: boolean } = {}): Promise<AccessResult> {
    const parsed = { key: presentedKey, secret: presentedSecret };
    // An address past its failures (FailedAuthGuard) is refused before any lookup, unless the key is one that
    // authenticated here recently; then any failure is refused the same way (429, not 401: nothing told apart).
    const blocked = this.limiter.failures.blockedFor(ip, now);
    const known = (this.#recentlyGood.get(parsed.key) ?? -Infinity) > now - RECENTLY_GOOD_MS;
    if (blocked && !known) this.#refuseBlocked(blocked);
    const cred = await this.#lookup(parsed.key, now);
    // Always hash and compare, even for an unknown key: the timing does not tell which part was wrong.
    const ok = secretMatches(parsed.secret, cred?.key.secret_hash ?? DUMMY_HASH);
    if (!cred || !ok) {
      this.monitor.authFailure(ip, { clientId: cred?.client.id ?? null, key: cred ? parsed.key : null, reason: cred ? 'invalid_secret' : 'unknown_key', probe: parsed.key }, now);
      await this.limiter.failures.fail(ip, now);
      if (blocked) this.#refuseBlocked(blocked);
      throw appError('INVALID_CREDENTIALS');
    }
    const { key, client } = cred;
    try {
      this.#admit(cred, ip, now);
    } catch (e) {
      // A revoked or expired key is a failed authentication too (a disabled client or an address off the allow-list is not a guess).
      if ((e as { code?: string }).code === 'INVALID_CREDENTIALS') {
        await this.limiter.failures.fail(ip, now);
        if (blocked) this.#refuseBlocked(blocked);
      }
      throw e;
    }
    if (!known) {
      if (this.#recentlyGood.size > 100_000) {
        for (const [k, at] of this.#recentlyGood) if (at <= now - RECENTLY_GOOD_MS) this.#recentlyGood.delete(k);
        if (this.#recentlyGood.size > 50_000) this.#recentlyGood.clear(); // never a scan per request
      }
      this.#recentlyGood.set(parsed.key, now);
    } else if (now - this.#recentlyGood.get(parsed.key)! > RECENTLY_GOOD_MS / 2) this.#recentlyGood.set(parsed.key, now);
    this.#touch(key.id, now);
    const context: ClientContext = { id: client.id, name: client.name, tier: client.tier, settings: client.settings, apiKeyId: key.id };
    const limit = limitsFor(client).callsPerHour;
    const count = (at: number) => (limit === null ? Promise.resolve(null) : this.#count(cred, limit, ip, at));
    if (options.countCall === false) {
      let counted: Promise<RateDecision | null> | null = null;
      return { client: context, rate: null, countLater: () => (counted ??= count(Date.now())) };
    }
    const rate = await count(now);
    let batch: Promise<RateDecision | null> | null = null;
    const countBatch = (images: number) => (batch ??= limit === null || !rate ? Promise.resolve(null) : this.#countBatch(cred, limit, ip, images, rate));
    return { client: context, rate, countBatch };
  }

  /** RATE_LIMIT_EXCEEDED with Retry-After for an address past its failed authentications (`wait` seconds left). */
  #refuseBlocked(wait: number): never {
    throw appError('RATE_LIMIT_EXCEEDED', `Too many failed authentications from this address; retry in ${wait} s`, undefined, { 'retry-after': String(wait) });
  }

  /** One call against the client's hourly budget: RATE_LIMIT_EXCEEDED (reported) past it. */
  async #count({ key, client }: CredentialRow, limit: number, ip: string, now: number): Promise<RateDecision> {
    const rate = await this.limiter.hit(client.id, limit, now);
    if (!rate.allowed) {
      this.monitor.rateLimited(ip, { clientId: client.id, key: key.key, limit }, now);
      throw appError('RATE_LIMIT_EXCEEDED', `Rate limit of ${limit} calls per hour exceeded; retry in ${rate.retryAfter} s`, undefined, {
        ...rateHeaders(rate),
        'retry-after': String(rate.retryAfter),
      });
    }
    return rate;
  }

  /**
   * The images of a batch whose request `first` counted as one call: the rest of them, or, when they do not all
   * fit, none and that one call given back (one atomic step of the limiter, shared through Redis like `#count`).
   * Past the hour in which `first` was counted, the new window owes nothing back and takes all the images.
   */
  async #countBatch({ key, client }: CredentialRow, limit: number, ip: string, images: number, first: RateDecision): Promise<RateDecision> {
    const now = Date.now();
    const rate = await this.limiter.take(client.id, limit, Math.max(1, images), now, now < first.resetAt ? 1 : 0);
    if (!rate.allowed) {
      this.monitor.rateLimited(ip, { clientId: client.id, key: key.key, limit }, now);
      const message =
        images > limit
          ? `A batch of ${images} images counts ${images} calls, more than the limit of ${limit} calls per hour; send at most ${limit} images per batch`
          : `A batch of ${images} images counts ${images} calls; ${rate.remaining} of the ${limit} calls per hour are left; retry in ${rate.retryAfter} s`;
      throw appError('RATE_LIMIT_EXCEEDED', message, { limit, remaining: rate.remaining, requested: images }, {
        ...rateHeaders(rate),
        'retry-after': String(rate.retryAfter),
      });
    }
    return rate;
  }

  /**
   * An open stream's key, re-checked by its row id, fresh from the database (not the cache): revoked or
   * expired (INVALID_CREDENTIALS), client disabled (CLIENT_DISABLED), `ip` off an allow-list
   * (IP_NOT_ALLOWED), or SERVICE_UNAVAILABLE. No call is counted. WebRTC sessions, which keep no secret.
   */
  async recheckKey(apiKeyId: string, ip: string, now = Date.now()): Promise<void> {
    const cred = await this.#read(() => this.keys.findCredentialById(apiKeyId));
    if (!cred) throw appError('INVALID_CREDENTIALS', 'The API key no longer exists');
    this.#admit(cred, ip, now);
  }

  /** The checks after the secret: the key in force, the client active, the address allowed (each misuse reported). */
  #admit({ key, client }: CredentialRow, ip: string, now: number): void {
    const misuse = (reason: string) => this.monitor.keyMisuse(ip, { clientId: client.id, key: key.key, reason }, now);
    if (key.revoked_at || (key.expires_at && key.expires_at.getTime() <= now)) {
      misuse(key.revoked_at ? 'revoked' : 'expired');
      this.monitor.authFailure(ip, { clientId: client.id, key: key.key, reason: 'revoked' }, now);
      throw appError('INVALID_CREDENTIALS', 'The API key has been revoked or has expired');
    }
    if (!client.is_active) {
      misuse('client_disabled');
      throw appError('CLIENT_DISABLED');
    }
    if (!this.ipAllowlist.allows(ip, client.ip_allowlist) || !this.ipAllowlist.allows(ip, key.ip_allowlist)) {
      misuse('ip_not_allowed');
      throw appError('IP_NOT_ALLOWED', `Address ${ip} is not on the allow-list`);
    }
  }

  async #lookup(key: string, now: number): Promise<CredentialRow | undefined> {
    const hit = this.#cache.get(key);
    if (hit && now - hit.at < this.options.cacheMs) return hit.row;
    const generation = this.#generation;
    const row = await this.#read(() => this.keys.findCredential(key));
    // Revoked while the read was in flight: the row may predate the change, so it is not kept.
    if (generation !== this.#generation) return row;
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(key, { row, at: now });
    return row;
  }

  /** A credential read; a database that does not answer is SERVICE_UNAVAILABLE (never taken for a refusal). */
  async #read(find: () => Promise<CredentialRow | undefined>): Promise<CredentialRow | undefined> {
    try {
      return await find();
    } catch (e) {
      this.log.warn(`authentication: database unavailable (${(e as Error).message})`);
      throw appError('SERVICE_UNAVAILABLE', 'The database is unavailable');
    }
  }

  /** last_used_at at most once a minute per key, off the request path. */
  #touch(keyId: string, now: number): void {
    const last = this.#lastUsedWritten.get(keyId) ?? 0;
    if (now - last < this.options.lastUsedEveryMs) return;
    this.#lastUsedWritten.set(keyId, now);
    this.keys.touchLastUsed([keyId], new Date(now)).catch((e: unknown) => this.log.warn(`api key last_used_at: ${(e as Error).message}`));
  }
}
