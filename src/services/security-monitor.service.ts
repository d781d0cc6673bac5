import type { Redis } from 'ioredis';
import type { AuditService } from './audit.service.ts';
import { SlidingWindow } from './sliding-window.ts';

export interface SecurityThresholds {
  /** Failed authentications from one address within windowMs that make a burst. */
  ipFailures: number;
  /** Wrong secrets for one existing key within windowMs (someone holds the key, not the secret). */
  keyFailures: number;
  /**
   * Failed face verifications (LOW_CONFIDENCE, LIVENESS_FAILED) against one user of one client within
   * windowMs: someone presenting other faces or photos as that user. A genuine user's session allows 3
   * attempts, so even three failed sessions in a minute stay below.
   */
  verifyFailures: number;
  /** Failed liveness checks (possible spoofs) in one client within windowMs, any mode, any user. */
  livenessFailures: number;
  windowMs: number;
  /** At most one security entry per subject per this period. */
  reportEveryMs: number;
}

export const DEFAULT_THRESHOLDS: SecurityThresholds = { ipFailures: 10, keyFailures: 5, verifyFailures: 10, livenessFailures: 20, windowMs: 60_000, reportEveryMs: 60_000 };

/**
 * Verification failures that may be an impostor (not USER_INACTIVE, no face, …): a low score, failed liveness,
 * and another person's face presented in the middle of a liveness session (FACE_MISMATCH ends the session).
 */
const SUSPECT_VERIFY_REASONS = new Set(['LOW_CONFIDENCE', 'LIVENESS_FAILED', 'FACE_MISMATCH']);

/**
 * A recorded failed face authentication, as SecurityMonitor.faceFailure takes it.
 *
 * @example { clientId, mode: 'verification', user: { id: 'uuid', externalId: 'EMP001' }, reason: 'LOW_CONFIDENCE', livenessReason: null, ip: '10.0.0.9' }
 */
export interface FaceFailure {
  clientId: string;
  mode: 'verification' | 'identification';
  /** The user a verification claims (null for identification). */
  user: { id: string; externalId: string } | null;
  /** The attempt's failure_reason. */
  reason: string | null;
  /** The liveness result's own reason when liveness failed (SPOOF_DETECTED, STATIC_IMAGE, …). */
  livenessReason: string | null;
  ip: string | null;
}

/**
 * Unusual-activity monitoring (P6): counts failures and writes `security` audit entries for bursts of
 * failed authentications and for key misuse (revoked/expired key, wrong secret for a real key, a key used
 * from outside its allow-list, rate-limit hits), for bursts of failed face verifications against one user
 * and of failed liveness checks in one client. Throttled per subject so an attack cannot flood the
 * audit log. With Redis the counts and the throttle are shared by every instance (SlidingWindow), so an
 * attack spread over N instances behind a load balancer is seen as one, and reported once.
 *
 * The methods return at once (the counting runs in the background; `flush()` waits for it).
 */
export class SecurityMonitor {
  readonly #window: SlidingWindow;
  readonly #pending = new Set<Promise<void>>();

  private readonly audit: Pick<AuditService, 'record'>;
  private readonly t: SecurityThresholds;
  constructor(
    audit: Pick<AuditService, 'record'>,
    t: SecurityThresholds = DEFAULT_THRESHOLDS,
    redis: Redis | null = null,
  ) {
    this.audit = audit; this.t = t;
    this.#window = new SlidingWindow({ redis, prefix: 'wajah:security:', windowMs: t.windowMs });
  }

  /** A request presented no valid credentials. `clientId` is known when the key exists. */
  authFailure(ip: string, info: { clientId: string | null; key: string | null; reason: string; probe?: string }, now = Date.now()): void {
    this.#track(async () => {
      // Counted for unknown key ids too (the caller passes `probe`): the same work whether the key exists.
      const [ipCount, keyCount] = await Promise.all([
        this.#window.add(`ip:${ip}`, now),
        info.key || info.probe ? this.#window.add(`key:${info.key ?? info.probe}`, now) : null,
      ]);
      if (ipCount.count >= this.t.ipFailures) {
        await this.#report(`burst:${ip}`, now, {
          clientId: info.clientId,
          action: 'auth_failure_burst',
          target: ip,
          ip,
          details: { failures: this.t.ipFailures, window_seconds: this.t.windowMs / 1000, last_reason: info.reason },
        });
      }
      if (info.clientId && info.key && info.reason === 'invalid_secret' && keyCount && keyCount.count >= this.t.keyFailures) {
        await this.#report(`keyfail:${info.key}`, now, {
          clientId: info.clientId,
          action: 'key_secret_failures',
          target: info.key,
          ip,
          details: { failures: this.t.keyFailures, window_seconds: this.t.windowMs / 1000 },
        });
      }
    });
  }

  /** A real key used where it must not be: revoked, expired, disabled client, address not allowed. */
  keyMisuse(ip: string, info: { clientId: string; key: string; reason: string }, now = Date.now()): void {
    this.#track(() =>
      this.#report(`misuse:${info.reason}:${info.key}`, now, {
        clientId: info.clientId,
        action: `key_misuse.${info.reason}`,
        target: info.key,
        ip,
        details: { reason: info.reason },
      }),
    );
  }

  rateLimited(ip: string, info: { clientId: string; key: string; limit: number }, now = Date.now()): void {
    this.#track(() =>
      this.#report(`rl:${info.clientId}`, now, {
        clientId: info.clientId,
        action: 'rate_limit_exceeded',
        target: info.key,
        ip,
        details: { limit_per_hour: info.limit },
      }),
    );
  }

  /**
   * A failed face authentication whose attempt was just recorded (any path: one-shot, session, batch,
   * stream, SSO, CompreFace example verify). Verification failures that may be an impostor count per
   * (client, claimed user); liveness failures count per client as well. Identification non-matches are
   * a kiosk's ordinary traffic: not counted. Nothing else happens to the user (no lock-out: that would
   * let anyone lock anyone out) and the caller's answer is unchanged.
   */
  faceFailure(f: FaceFailure, now = Date.now()): void {
    const user = f.mode === 'verification' && f.user && f.reason !== null && SUSPECT_VERIFY_REASONS.has(f.reason) ? f.user : null;
    const liveness = f.reason === 'LIVENESS_FAILED';
    if (!user && !liveness) return;
    this.#track(async () => {
      const [userCount, clientCount] = await Promise.all([
        user ? this.#window.add(`verify:${f.clientId}:${user.id}`, now) : null,
        liveness ? this.#window.add(`liveness:${f.clientId}`, now) : null,
      ]);
      const last = { last_reason: f.reason, ...(f.livenessReason ? { last_liveness_reason: f.livenessReason } : {}) };
      if (user && userCount && userCount.count >= this.t.verifyFailures) {
        await this.#report(`verifyburst:${f.clientId}:${user.id}`, now, {
          clientId: f.clientId,
          action: 'face_verification_failure_burst',
          target: user.externalId,
          ip: f.ip,
          details: { user_id: user.externalId, failures: userCount.count, window_seconds: this.t.windowMs / 1000, ...last },
        });
      }
      if (clientCount && clientCount.count >= this.t.livenessFailures) {
        await this.#report(`livenessburst:${f.clientId}`, now, {
          clientId: f.clientId,
          action: 'liveness_failure_burst',
          target: f.clientId,
          ip: f.ip,
          details: { failures: clientCount.count, window_seconds: this.t.windowMs / 1000, ...last },
        });
      }
    });
  }

  /** Waits until every count started so far has been made and its entry handed to the audit log. */
  async flush(): Promise<void> {
    while (this.#pending.size) await Promise.all([...this.#pending]);
  }

  #track(work: () => Promise<void>): void {
    const p: Promise<void> = work()
      .catch(() => {}) // monitoring never fails a request
      .finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  async #report(
    subject: string,
    now: number,
    e: { clientId: string | null; action: string; target: string; ip: string | null; details: Record<string, unknown> },
  ): Promise<void> {
    if (!(await this.#window.once(subject, this.t.reportEveryMs, now))) return;
    void this.audit.record({ clientId: e.clientId, category: 'security', action: e.action, actor: 'system', target: e.target, ip: e.ip, details: e.details });
  }
}
