import crypto from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { ClientContext } from '../api/request-context.ts';
import type { Database } from '../db/schema.ts';
import { appError } from '../errors.ts';
import { insertAttempt } from '../db/repositories/attempts.repository.ts';
import { lockFaceUser } from '../db/repositories/templates.repository.ts';
import type { UserWithCount } from '../db/repositories/users.repository.ts';
import {
  deleteFallback,
  findFallbackInfo,
  lockFallback,
  markAttemptMethod,
  updateFallbackCounters,
  upsertFallback,
  type FallbackInfo,
  type FallbackKind,
} from '../db/repositories/fallbacks.repository.ts';
import { recordEvent, type EventPayloads } from './events.ts';
import type { AuditService } from './audit.service.ts';
import type { UsersService, UserActor } from './users.service.ts';
import type { SecretHasher } from './fallback-hasher.ts';
import { weakSecretReason } from './fallback-strength.ts';
import { SprayGuard } from './fallback-spray.ts';
import { readRecentFailures, writeRecentFailures } from '../db/repositories/fallback-guesses.repository.ts';
import type { RequestMeta } from './face.ts';

/**
 * Lock-out policy: this many consecutive wrong secrets lock the credential for lockoutSeconds; each
 * further lock-out in a row (no success, new secret or unlock in between) lasts twice the one before,
 * at most maxLockoutSeconds. A flat 15 minutes per 5 tries let a 4-digit PIN be guessed in about 10
 * days on average; doubling to a day makes it years. But a success reset the doubling, so with the real
 * user signing in daily an attacker still got ≈ 35 guesses a day: maxDailyFailures caps the wrong guesses
 * per credential in any 24 hours, successes in between or not.
 * Spraying (one secret tried once at many users): more than sprayUsers distinct users tried with the same
 * wrong secret within sprayWindowSeconds refuse that secret in the tenant for sprayBlockSeconds (SprayGuard).
 */
export interface FallbackPolicy {
  maxFailures: number;
  lockoutSeconds: number;
  maxLockoutSeconds: number;
  maxDailyFailures: number;
  sprayUsers: number;
  sprayWindowSeconds: number;
  sprayBlockSeconds: number;
}

export const DEFAULT_FALLBACK_POLICY: FallbackPolicy = {
  maxFailures: 5,
  lockoutSeconds: 15 * 60,
  maxLockoutSeconds: 24 * 3600,
  maxDailyFailures: 10,
  sprayUsers: 5,
  sprayWindowSeconds: 24 * 3600,
  sprayBlockSeconds: 24 * 3600,
};

const DAY_MS = 24 * 3600_000;

/** The guard of `policy`'s spraying limits, shared through `redis` when there is one. */
export function sprayGuardFor(policy: FallbackPolicy, redis: SprayGuardOptions['redis'] = null): SprayGuard {
  return new SprayGuard({ redis, maxUsers: policy.sprayUsers, windowMs: policy.sprayWindowSeconds * 1000, blockMs: policy.sprayBlockSeconds * 1000 });
}
type SprayGuardOptions = NonNullable<ConstructorParameters<typeof SprayGuard>[0]>;

/** How long the lock-out after `previous` lock-outs in a row lasts. */
export function lockoutMs(policy: FallbackPolicy, previous: number): number {
  return Math.min(policy.lockoutSeconds * 2 ** Math.min(previous, 30), policy.maxLockoutSeconds) * 1000;
}

const PIN = /^[0-9]{4,12}$/;
export const PASSWORD_MIN = 8;

/** A credential as the API shows it (never the hash). */
export interface FallbackView {
  user_id: string;
  is_set: boolean;
  type: FallbackKind | null;
  failed_attempts: number;
  locked: boolean;
  locked_until: string | null;
  last_used_at: string | null;
  created_at: string | null;
  updated_at: string | null;
}

export interface FallbackAuthInput {
  user_id: string;
  pin?: string;
  password?: string;
}

/** Payload additions of the events this service writes: which credential proved (or failed) the identity. */
type WithMethod<E extends 'authentication.success' | 'authentication.failed'> = EventPayloads[E] & { method: FallbackKind };

/**
 * PIN/password fallback (C5) for users whom face authentication fails or who cannot enroll. One
 * credential per user, hashed by SecretHasher; a failed series locks it (FALLBACK_LOCKED). Every
 * attempt writes an auth_attempts row (mode 'fallback', method pin/password) and its
 * authentication.success / authentication.failed event in one transaction, as face attempts do.
 *
 * @example await fallbacks.authenticate(request.client!, { user_id: 'EMP001', pin: '4821' }, meta)
 */
export class FallbackService {
  private readonly d: {
      db: Kysely<Database>;
      users: UsersService;
      audit: AuditService;
      hasher: SecretHasher;
      policy?: FallbackPolicy;
      spray?: SprayGuard;
      now?: () => Date;
    };
  readonly #spray: SprayGuard;
  constructor(
    d: {
      db: Kysely<Database>;
      users: UsersService;
      audit: AuditService;
      hasher: SecretHasher;
      policy?: FallbackPolicy;
      /** Counts one secret tried against many users (in-process when not given). */
      spray?: SprayGuard;
      now?: () => Date;
    },
  ) {
    this.d = d;
    this.#spray = d.spray ?? sprayGuardFor(this.policy);
  }

  get policy(): FallbackPolicy {
    return this.d.policy ?? DEFAULT_FALLBACK_POLICY;
  }

  #now(): Date {
    return this.d.now?.() ?? new Date();
  }

  async get(clientId: string, ref: string): Promise<FallbackView> {
    const user = await this.d.users.getByRef(clientId, ref);
    return this.#view(user, await findFallbackInfo(this.d.db, clientId, user.id));
  }

  /** Sets or replaces the credential; a new secret clears failures and any lock. */
  async set(clientId: string, ref: string, input: { type: FallbackKind; secret: string }, by: UserActor = {}): Promise<FallbackView> {
    checkSecret(input.type, input.secret);
    const user = await this.d.users.getByRef(clientId, ref);
    const weak = weakSecretReason(input.type, input.secret, { externalId: user.external_id, name: user.name });
    if (weak) {
      throw appError('VALIDATION_ERROR', `body.secret: this ${input.type === 'pin' ? 'PIN' : 'password'} is too easy to guess (${weak})`, { field: 'secret', location: 'body', reason: 'weak' });
    }
    const secretHash = await this.d.hasher.hash(input.secret);
    const info = await this.d.db.transaction().execute(async (trx) => {
      const before = await findFallbackInfo(trx, clientId, user.id);
      const row = await upsertFallback(trx, { clientId, userId: user.id, kind: input.type, secretHash });
      await writeRecentFailures(trx, clientId, user.id, []); // guesses at the old secret say nothing about the new one
      await this.d.audit.record(
        { clientId, category: 'configuration', action: before ? 'fallback.replaced' : 'fallback.set', actor: actorOf(by), target: user.id, ip: by.ip ?? null, details: { type: input.type } },
        trx,
      );
      return row;
    });
    return this.#view(user, info);
  }

  /** Removes the credential (idempotent). */
  async remove(clientId: string, ref: string, by: UserActor = {}): Promise<void> {
    const user = await this.d.users.getByRef(clientId, ref);
    await this.d.db.transaction().execute(async (trx) => {
      if (!(await deleteFallback(trx, clientId, user.id))) return;
      await this.d.audit.record({ clientId, category: 'configuration', action: 'fallback.removed', actor: actorOf(by), target: user.id, ip: by.ip ?? null }, trx);
    });
  }

  /** Clears a lock-out and the failure count (support desk, after checking the person otherwise). */
  async unlock(clientId: string, ref: string, by: UserActor = {}): Promise<FallbackView> {
    const user = await this.d.users.getByRef(clientId, ref);
    const info = await this.d.db.transaction().execute(async (trx) => {
      const row = await lockFallback(trx, clientId, user.id);
      if (!row) throw appError('FALLBACK_NOT_SET');
      await updateFallbackCounters(trx, clientId, user.id, { failed_attempts: 0, lockouts: 0, locked_until: null });
      await writeRecentFailures(trx, clientId, user.id, []);
      await this.d.audit.record({ clientId, category: 'configuration', action: 'fallback.unlocked', actor: actorOf(by), target: user.id, ip: by.ip ?? null }, trx);
      return findFallbackInfo(trx, clientId, user.id);
    });
    return this.#view(user, info);
  }

  /** For the portability export: whether a credential is set, never its hash. */
  async exportSection(clientId: string, userId: string) {
    const info = await findFallbackInfo(this.d.db, clientId, userId);
    return {
      fallback_credential: info
        ? { is_set: true, type: info.kind, failed_attempts: info.failed_attempts, locked_until: iso(info.locked_until), last_used_at: iso(info.last_used_at), created_at: iso(info.created_at), updated_at: iso(info.updated_at) }
        : { is_set: false },
    };
  }

  async authenticate(client: ClientContext, input: FallbackAuthInput, meta: RequestMeta) {
    const started = performance.now();
    const given = [input.pin !== undefined ? 'pin' : null, input.password !== undefined ? 'password' : null].filter(Boolean);
    if (given.length !== 1) throw appError('VALIDATION_ERROR', 'Send exactly one of body.pin or body.password', { field: 'pin', location: 'body' });
    const method: FallbackKind = input.pin !== undefined ? 'pin' : 'password';
    const secret = (input.pin ?? input.password)!;
    // A secret sprayed across the tenant's users is refused before the user is even looked up, so the answer
    // (and its one decoy hash) is the same for every user id, known or not.
    const sprayKey = `${client.id}:${this.d.hasher.fingerprint(`${client.id}:${method}`, secret)}`;
    const sprayedFor = await this.#spray.blockedFor(sprayKey, this.#now().getTime());
    if (sprayedFor > 0) {
      await this.#decoy(secret);
      throw sprayedError(sprayedFor);
    }
    const user = await this.d.users.findByRef(client.id, input.user_id);
    if (!user) {
      await this.#decoy(secret);
      throw appError('USER_NOT_FOUND', `No user ${input.user_id}`);
    }
    if (!user.is_active) {
      await this.d.db.transaction().execute((trx) => this.#failed(trx, client, user, method, 'USER_INACTIVE', 0, started, meta));
      await this.#decoy(secret);
      throw appError('USER_INACTIVE');
    }

    // 1. Reserve the attempt under the row lock (counted before the slow hash, so parallel guesses
    //    cannot run past the limit), 2. check the secret without holding the lock, 3. settle.
    const { maxFailures, maxDailyFailures } = this.policy;
    const reserved = await this.d.db.transaction().execute(async (trx) => {
      const row = await lockFallback(trx, client.id, user.id);
      if (!row) return { kind: 'not_set' as const };
      const now = this.#now();
      if (row.locked_until && row.locked_until > now) return { kind: 'locked' as const, until: row.locked_until, failures: row.failed_attempts };
      const failures = row.locked_until ? 0 : row.failed_attempts; // an expired lock starts a new series
      // Every guess of the last 24 hours, in flight ones included; a success in between does not clear it.
      const recent = (await readRecentFailures(trx, client.id, user.id)).filter((at) => at > now.getTime() - DAY_MS);
      if (failures >= maxFailures || recent.length >= maxDailyFailures) {
        // The series (or the day's budget) reached the limit while its last guess was still being checked: lock now.
        const series = failures >= maxFailures ? now.getTime() + lockoutMs(this.policy, row.lockouts) : 0;
        const until = new Date(Math.max(series, recent.length >= maxDailyFailures ? recent[0]! + DAY_MS : 0));
        await updateFallbackCounters(trx, client.id, user.id, { locked_until: until, lockouts: row.lockouts + (series ? 1 : 0) });
        return { kind: 'locked' as const, until, failures };
      }
      // Only a secret about to be checked counts towards spraying; past the limit it is refused unchecked.
      const sprayed = await this.#spray.reserve(sprayKey, user.id, now.getTime());
      if (sprayed.blockedMs > 0) return { kind: 'sprayed' as const, ...sprayed };
      const reservedAt = now.getTime();
      await writeRecentFailures(trx, client.id, user.id, [...recent, reservedAt]);
      await updateFallbackCounters(trx, client.id, user.id, { failed_attempts: failures + 1, locked_until: null });
      return { kind: 'check' as const, row, failures: failures + 1, reservedAt };
    });
    if (reserved.kind === 'sprayed') {
      if (reserved.started) {
        await this.d.audit.record({
          clientId: client.id,
          category: 'security',
          action: 'fallback.spray_blocked',
          actor: `key:${client.apiKeyId}`,
          target: null,
          ip: meta.ip,
          // The fingerprint's start tells repeated blocks of one secret apart; it is keyed, never the secret.
          details: { method, users: reserved.users, fingerprint: sprayKey.slice(-22, -10), blocked_until: new Date(this.#now().getTime() + reserved.blockedMs).toISOString() },
        });
      }
      await this.#decoy(secret);
      throw sprayedError(reserved.blockedMs);
    }
    if (reserved.kind === 'not_set') {
      await this.#decoy(secret);
      throw appError('FALLBACK_NOT_SET', `User ${user.external_id} has no PIN or password`);
    }
    if (reserved.kind === 'locked') {
      await this.d.db.transaction().execute((trx) => this.#failed(trx, client, user, method, 'FALLBACK_LOCKED', reserved.failures, started, meta));
      await this.#decoy(secret);
      throw lockedError(reserved.until, this.#now());
    }

    // The hash runs whatever the stored kind, so a wrong kind takes as long as a wrong secret.
    const matches = (await this.d.hasher.verify(secret, reserved.row.secret_hash)) && reserved.row.kind === method;
    const now = this.#now();
    // The credential may have been replaced or removed while its hash was being checked: the answer and
    // the counters then belong to a secret that is no longer in force (the old PIN must not pass, and a
    // guess at it must not count against, or lock, the new one).
    // So may the user have been deactivated (or deleted): a revoked user is not signed in by a check that
    // began before. The user's row is locked first, the order of user deletion (which cascades here).
    const superseded = async (trx: Transaction<Database>) => {
      const person = await lockFaceUser(trx, client.id, user.id);
      if (!person) return appError('USER_NOT_FOUND', `No user ${input.user_id}`);
      if (!person.is_active) {
        await this.#failed(trx, client, user, method, 'USER_INACTIVE', 0, started, meta);
        return appError('USER_INACTIVE');
      }
      const current = await lockFallback(trx, client.id, user.id);
      if (current && current.secret_hash === reserved.row.secret_hash) return null;
      await this.#failed(trx, client, user, method, current ? 'INVALID_FALLBACK_CREDENTIAL' : 'FALLBACK_NOT_SET', reserved.failures, started, meta);
      return current
        ? appError('INVALID_FALLBACK_CREDENTIAL', 'The credential was changed while it was being checked; try again with the current one')
        : appError('FALLBACK_NOT_SET', `User ${user.external_id} has no PIN or password`);
    };
    if (matches) {
      const changed = await this.d.db.transaction().execute(async (trx) => {
        const changed = await superseded(trx);
        if (changed) return changed;
        await updateFallbackCounters(trx, client.id, user.id, { failed_attempts: 0, lockouts: 0, locked_until: null, last_used_at: now });
        // The right secret was no guess: its reservation leaves the day's count (the other guesses stay).
        const recent = await readRecentFailures(trx, client.id, user.id);
        const mine = recent.indexOf(reserved.reservedAt);
        if (mine >= 0) await writeRecentFailures(trx, client.id, user.id, recent.filter((at, i) => i !== mine && at > now.getTime() - DAY_MS));
        const attemptId = await insertAttempt(trx, attempt(client, user, 'success', null, started, meta));
        await markAttemptMethod(trx, client.id, attemptId, method);
        await this.d.users.touchLastAuthentication(client.id, user.id, now, trx);
        const payload: WithMethod<'authentication.success'> = {
          session_id: null,
          user_id: user.external_id,
          user_name: user.name,
          confidence: 1,
          liveness_score: null,
          authentication_time: now.toISOString(),
          timestamp: now.toISOString(),
          device_info: { ip_address: meta.ip, user_agent: meta.userAgent },
          method,
        };
        await recordEvent(trx, client.id, 'authentication.success', payload);
        return null;
      });
      if (changed) throw changed;
      await this.#spray.release(sprayKey, user.id);
      return {
        status: 'completed' as const,
        result: { authenticated: true, confidence: 1, user_id: user.external_id, user_name: user.name, liveness_score: null, method },
        processing_time: seconds(started),
        timestamp: now.toISOString(),
      };
    }
    const lockouts = reserved.row.lockouts;
    const seriesUntil = reserved.failures >= maxFailures ? now.getTime() + lockoutMs(this.policy, lockouts) : 0;
    const settled = await this.d.db.transaction().execute(async (trx) => {
      const changed = await superseded(trx);
      if (changed) return { changed };
      const recent = (await readRecentFailures(trx, client.id, user.id)).filter((at) => at > now.getTime() - DAY_MS);
      const dailyUntil = recent.length >= maxDailyFailures ? recent[0]! + DAY_MS : 0;
      const lockedUntil = seriesUntil || dailyUntil ? new Date(Math.max(seriesUntil, dailyUntil)) : null;
      if (lockedUntil) {
        await updateFallbackCounters(trx, client.id, user.id, { locked_until: lockedUntil, lockouts: lockouts + (seriesUntil ? 1 : 0) });
        await this.d.audit.record(
          {
            clientId: client.id,
            category: 'security',
            action: 'fallback.locked',
            actor: `key:${client.apiKeyId}`,
            target: user.id,
            ip: meta.ip,
            details: { method, failures: reserved.failures, failures_24h: recent.length, locked_until: lockedUntil.toISOString() },
          },
          trx,
        );
      }
      await this.#failed(trx, client, user, method, 'INVALID_FALLBACK_CREDENTIAL', reserved.failures, started, meta);
      return { changed: null, lockedUntil, left: maxDailyFailures - recent.length };
    });
    if (settled.changed) throw settled.changed;
    throw appError('INVALID_FALLBACK_CREDENTIAL', undefined, {
      attempts_remaining: Math.max(0, Math.min(maxFailures - reserved.failures, settled.left)),
      ...(settled.lockedUntil ? { locked_until: settled.lockedUntil.toISOString() } : {}),
    });
  }

  #decoyHash: Promise<string> | null = null;

  /**
   * One hash whose result is thrown away, on the answers that need none (unknown user, deactivated, no
   * credential, locked). Without it they came back in a few milliseconds and a wrong secret in ≈ 40: a client
   * that shows its users one message for every failure still told, by its response time, which ids exist, have
   * a PIN, or are locked out. The decoy hash is made once, with the same parameters as the real ones.
   */
  async #decoy(secret: string): Promise<void> {
    try {
      this.#decoyHash ??= this.d.hasher.hash(crypto.randomUUID());
      await this.d.hasher.verify(secret, await this.#decoyHash);
    } catch {
      this.#decoyHash = null; // the answer stays the one the caller is owed
    }
  }

  async #failed(
    trx: Transaction<Database>,
    client: ClientContext,
    user: UserWithCount,
    method: FallbackKind,
    reason: string,
    failures: number,
    started: number,
    meta: RequestMeta,
  ): Promise<void> {
    const attemptId = await insertAttempt(trx, attempt(client, user, 'failed', reason, started, meta));
    await markAttemptMethod(trx, client.id, attemptId, method);
    const payload: WithMethod<'authentication.failed'> = {
      session_id: null,
      failure_reason: reason,
      confidence: null,
      threshold: null,
      attempts: Math.max(1, failures),
      user_id: user.external_id,
      method,
    };
    await recordEvent(trx, client.id, 'authentication.failed', payload);
  }

  #view(user: UserWithCount, info: FallbackInfo | undefined): FallbackView {
    const now = this.#now();
    const locked = !!info?.locked_until && info.locked_until > now;
    return {
      user_id: user.external_id,
      is_set: !!info,
      type: info?.kind ?? null,
      failed_attempts: info && !(info.locked_until && !locked) ? info.failed_attempts : 0,
      locked,
      locked_until: locked ? iso(info!.locked_until) : null,
      last_used_at: iso(info?.last_used_at ?? null),
      created_at: iso(info?.created_at ?? null),
      updated_at: iso(info?.updated_at ?? null),
    };
  }
}

function checkSecret(type: FallbackKind, secret: string): void {
  if (type === 'pin' && !PIN.test(secret)) {
    throw appError('VALIDATION_ERROR', 'body.secret: a PIN is 4 to 12 digits', { field: 'secret', location: 'body' });
  }
  if (type === 'password' && [...secret].length < PASSWORD_MIN) {
    throw appError('VALIDATION_ERROR', `body.secret: a password has at least ${PASSWORD_MIN} characters`, { field: 'secret', location: 'body' });
  }
}

function sprayedError(ms: number) {
  const retryAfter = Math.max(1, Math.ceil(ms / 1000));
  return appError('FALLBACK_SPRAY_BLOCKED', undefined, { retry_after: retryAfter }, { 'Retry-After': String(retryAfter) });
}

function lockedError(until: Date, now: Date) {
  const retryAfter = Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));
  return appError('FALLBACK_LOCKED', undefined, { locked_until: until.toISOString(), retry_after: retryAfter }, { 'Retry-After': String(retryAfter) });
}

function attempt(client: ClientContext, user: UserWithCount, outcome: 'success' | 'failed', reason: string | null, started: number, meta: RequestMeta) {
  return {
    clientId: client.id,
    sessionId: null,
    userId: user.id,
    mode: 'fallback',
    outcome,
    failureReason: reason,
    confidence: null,
    livenessScore: null,
    qualityScore: null,
    processingMs: performance.now() - started,
    ip: meta.ip,
    userAgent: meta.userAgent,
  };
}

function actorOf(by: UserActor): string | null {
  return by.apiKeyId ? `key:${by.apiKeyId}` : null;
}

const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);
const seconds = (started: number) => Math.round(performance.now() - started) / 1000;
