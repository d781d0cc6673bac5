import type { AuditService } from './audit.service.ts';

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
 * Unusual-activity monitoring (P6): counts failures in memory and writes `security` audit entries
 * for bursts of failed authentications and for key misuse (revoked/expired key, wrong secret for
 * a real key, a key used from outside its allow-list, rate-limit hits). Throttled per subject so an
 * attack cannot flood the audit log.
 */
export class SecurityMonitor {
  #failures = new Map<string, number[]>();
  #reported = new Map<string, number>();

  private readonly audit: AuditService;
  private readonly t: SecurityThresholds;
  constructor(
    audit: AuditService,
    t: SecurityThresholds = DEFAULT_THRESHOLDS,
  ) {
    this.audit = audit; this.t = t;
  }

  /** A request presented no valid credentials. `clientId` is known when the key exists. */
  authFailure(ip: string, info: { clientId: string | null; key: string | null; reason: string; probe?: string }, now = Date.now()): void {
    if (this.#count(`ip:${ip}`, now) >= this.t.ipFailures) {
      this.#report(`burst:${ip}`, now, {
        clientId: info.clientId,
        action: 'auth_failure_burst',
        target: ip,
        ip,
        details: { failures: this.t.ipFailures, window_seconds: this.t.windowMs / 1000, last_reason: info.reason },
      });
    }
    // Counted for unknown key ids too (the caller passes `probe`): the same work whether the key exists.
    const keyCount = info.key || info.probe ? this.#count(`key:${info.key ?? info.probe}`, now) : 0;
    if (info.clientId && info.key && info.reason === 'invalid_secret') {
      if (keyCount >= this.t.keyFailures) {
        this.#report(`keyfail:${info.key}`, now, {
          clientId: info.clientId,
          action: 'key_secret_failures',
          target: info.key,
          ip,
          details: { failures: this.t.keyFailures, window_seconds: this.t.windowMs / 1000 },
        });
      }
    }
  }

  /** A real key used where it must not be: revoked, expired, disabled client, address not allowed. */
  keyMisuse(ip: string, info: { clientId: string; key: string; reason: string }, now = Date.now()): void {
    this.#report(`misuse:${info.reason}:${info.key}`, now, {
      clientId: info.clientId,
      action: `key_misuse.${info.reason}`,
      target: info.key,
      ip,
      details: { reason: info.reason },
    });
  }

  rateLimited(ip: string, info: { clientId: string; key: string; limit: number }, now = Date.now()): void {
    this.#report(`rl:${info.clientId}`, now, {
      clientId: info.clientId,
      action: 'rate_limit_exceeded',
      target: info.key,
      ip,
      details: { limit_per_hour: info.limit },
    });
  }

  #count(subject: string, now: number): number {
    const since = now - this.t.windowMs;
    const list = (this.#failures.get(subject) ?? []).filter((t) => t > since);
    list.push(now);
    if (this.#failures.size > 50_000) this.#failures.clear();
    this.#failures.set(subject, list);
    return list.length;
  }

  #report(
    subject: string,
    now: number,
    e: { clientId: string | null; action: string; target: string; ip: string; details: Record<string, unknown> },
  ): void {
    const last = this.#reported.get(subject);
    if (last !== undefined && now - last < this.t.reportEveryMs) return;
    if (this.#reported.size > 50_000) this.#reported.clear();
    this.#reported.set(subject, now);
    void this.audit.record({ clientId: e.clientId, category: 'security', action: e.action, actor: 'system', target: e.target, ip: e.ip, details: e.details });
  }
}
