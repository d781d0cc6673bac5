import type { Redis } from 'ioredis';
import type { AuditService } from './audit.service.ts';
import { SlidingWindow } from './sliding-window.ts';

export interface SecurityThresholds {
  /** Failed authentications from one address within windowMs that make a burst. */
  ipFailures: number;
  /** Wrong secrets for one existing key within windowMs (someone holds the key, not the secret). */
  keyFailures: number;
  windowMs: number;
  /** At most one security entry per subject per this period. */
  reportEveryMs: number;
}

export const DEFAULT_THRESHOLDS: SecurityThresholds = { ipFailures: 10, keyFailures: 5, windowMs: 60_000, reportEveryMs: 60_000 };

/**
 * Unusual-activity monitoring (P6): counts failures and writes `security` audit entries for bursts of
 * failed authentications and for key misuse (revoked/expired key, wrong secret for a real key, a key used
 * from outside its allow-list, rate-limit hits). Throttled per subject so an attack cannot flood the
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
    e: { clientId: string | null; action: string; target: string; ip: string; details: Record<string, unknown> },
  ): Promise<void> {
    if (!(await this.#window.once(subject, this.t.reportEveryMs, now))) return;
    void this.audit.record({ clientId: e.clientId, category: 'security', action: e.action, actor: 'system', target: e.target, ip: e.ip, details: e.details });
  }
}
