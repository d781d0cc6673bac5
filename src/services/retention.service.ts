import type { AuditRepository } from '../db/repositories/audit.repository.ts';

/** The longest retention a client can set (100 years); longer cutoffs fall outside the database's dates. */
export const MAX_RETENTION_DAYS = 36_500;

/** Removes the face state of ended sessions (sessions.repository.ts, scrubEndedSessions). */
export type SessionScrubber = (now: Date, since: Date | null) => Promise<number>;

/** Closes the sessions left open past their expiry, with their outcome (enrollment.expiry.ts, closeExpiredEnrollments). */
export type SessionCloser = (now: Date) => Promise<number>;

/**
 * Retention (S2): for clients with settings.retention_days, audit entries, authentication attempts and
 * delivered events older than that are deleted, hourly (first sweep a minute after start). Every 5 minutes the
 * sessions that ended lose their face state (embeddings, thumbnails, landmarks, held matches): a
 * session that expired in the middle of its challenges, with no request after it, kept them for good. The
 * same sweep first closes the enrollment sessions left open past their expiry, with their enrollment.failed.
 */
export class RetentionService {
  #timer: NodeJS.Timeout | null = null;
  #sessionTimer: NodeJS.Timeout | null = null;
  /** When the last session sweep that succeeded started (null: none yet, so the next one looks at all). */
  #sessionsSweptAt: Date | null = null;

  private readonly repo: AuditRepository;
  private readonly scrubSessions: SessionScrubber | null;
  private readonly closeSessions: SessionCloser | null;
  private readonly log: { info(msg: string): void; warn(msg: string): void };
  constructor(
    repo: AuditRepository,
    log: { info(msg: string): void; warn(msg: string): void },
    scrubSessions: SessionScrubber | null = null,
    closeSessions: SessionCloser | null = null,
  ) {
    this.repo = repo; this.log = log; this.scrubSessions = scrubSessions; this.closeSessions = closeSessions;
  }

  start(everyMs = 3600_000, firstMs = 60_000, sessionsEveryMs = 5 * 60_000): void {
    const run = () => {
      this.sweep().catch((e: unknown) => this.log.warn(`retention sweep failed: ${(e as Error).message}`));
      this.#timer = setTimeout(run, everyMs);
      this.#timer.unref();
    };
    this.#timer = setTimeout(run, firstMs);
    this.#timer.unref();
    if (!this.scrubSessions) return;
    const runSessions = () => {
      this.sweepSessions().catch((e: unknown) => this.log.warn(`session sweep failed: ${(e as Error).message}`));
      this.#sessionTimer = setTimeout(runSessions, sessionsEveryMs);
      this.#sessionTimer.unref();
    };
    this.#sessionTimer = setTimeout(runSessions, Math.min(firstMs, sessionsEveryMs));
    this.#sessionTimer.unref();
  }

  /**
   * Closes the sessions left open past their expiry (an abandoned enrollment gets its enrollment.failed), then
   * drops the face state of the sessions that ended since the last sweep (all of them on the first).
   */
  async sweepSessions(now = new Date()): Promise<number> {
    if (!this.scrubSessions) return 0;
    if (this.closeSessions) {
      const closed = await this.closeSessions(now);
      if (closed) this.log.info(`retention: closed ${closed} enrollment sessions left open past their expiry (enrollment.failed, SESSION_EXPIRED)`);
    }
    // An hour's overlap: a session is looked at again until an hour after it expired.
    const since = this.#sessionsSweptAt ? new Date(this.#sessionsSweptAt.getTime() - 3600_000) : null;
    const n = await this.scrubSessions(now, since);
    this.#sessionsSweptAt = now;
    if (n) this.log.info(`retention: dropped the face state of ${n} ended sessions`);
    return n;
  }

  async sweep(now = new Date()): Promise<{ audit: number; attempts: number; events: number; sessions: number }> {
    const total = { audit: 0, attempts: 0, events: 0, sessions: 0 };
    for (const c of await this.repo.clientsWithRetention()) {
      // A retention longer than the limit (stored before it existed) keeps everything: its cutoff would be
      // a date the database refuses. One client's failure must not stop the others' retention.
      if (c.days > MAX_RETENTION_DAYS) continue;
      try {
        const r = await this.repo.purgeOlderThan(c.id, new Date(now.getTime() - c.days * 86_400_000));
        total.audit += r.audit;
        total.attempts += r.attempts;
        total.events += r.events;
        total.sessions += r.sessions;
      } catch (e) {
        this.log.warn(`retention: client ${c.id} failed: ${(e as Error).message}`);
      }
    }
    if (total.audit || total.attempts || total.events || total.sessions) this.log.info(`retention: deleted ${total.audit} audit entries, ${total.attempts} attempts, ${total.events} events, ${total.sessions} sessions`);
    return total;
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#sessionTimer) clearTimeout(this.#sessionTimer);
    this.#timer = null;
    this.#sessionTimer = null;
  }
}
