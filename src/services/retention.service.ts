import type { AuditRepository } from '../db/repositories/audit.repository.ts';

/**
 * Retention (S2): for clients with settings.retention_days, audit entries and authentication
 * attempts older than that are deleted, hourly (first sweep a minute after start).
 */
export class RetentionService {
  #timer: NodeJS.Timeout | null = null;

  private readonly repo: AuditRepository;
  private readonly log: { info(msg: string): void; warn(msg: string): void };
  constructor(
    repo: AuditRepository,
    log: { info(msg: string): void; warn(msg: string): void },
  ) {
    this.repo = repo; this.log = log;
  }

  start(everyMs = 3600_000, firstMs = 60_000): void {
    const run = () => {
      this.sweep().catch((e: unknown) => this.log.warn(`retention sweep failed: ${(e as Error).message}`));
      this.#timer = setTimeout(run, everyMs);
      this.#timer.unref();
    };
    this.#timer = setTimeout(run, firstMs);
    this.#timer.unref();
  }

  async sweep(now = new Date()): Promise<{ audit: number; attempts: number }> {
    const total = { audit: 0, attempts: 0 };
    for (const c of await this.repo.clientsWithRetention()) {
      const r = await this.repo.purgeOlderThan(c.id, new Date(now.getTime() - c.days * 86_400_000));
      total.audit += r.audit;
      total.attempts += r.attempts;
    }
    if (total.audit || total.attempts) this.log.info(`retention: deleted ${total.audit} audit entries, ${total.attempts} attempts`);
    return total;
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
