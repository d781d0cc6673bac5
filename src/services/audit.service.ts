import crypto from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { AuditQuery, AuditRepository, AuditRow } from '../db/repositories/audit.repository.ts';

/** Audit categories (M6 log types). The face layer writes 'enrollment' and 'authentication'. */
export type AuditCategory = 'api_access' | 'security' | 'configuration' | 'data_access' | 'enrollment' | 'authentication';

export interface AuditEntry {
  clientId: string | null;
  category: AuditCategory;
  /** Dotted verb, e.g. 'client.updated', 'user.exported', 'GET /api/clients/users/'. */
  action: string;
  /** Who: 'admin', 'cli', 'key:<api_keys.id>', 'system'. */
  actor?: string | null;
  /** What: a user uuid, client id, key, … */
  target?: string | null;
  /** Never secrets. */
  details?: Record<string, unknown>;
  ip?: string | null;
}

/**
 * Audit trail writer. With a transaction the entry is written in it (configuration changes, user
 * deletion); without one it is buffered and flushed in batches (API-access entries: one multi-row
 * insert per second instead of one insert per request).
 *
 * @example await audit.record({ clientId, category: 'data_access', action: 'user.exported', target: user.id })
 */
export class AuditService {
  #buffer: AuditRow[] = [];
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> = Promise.resolve();

  private readonly repo: AuditRepository;
  private readonly log: { warn(msg: string): void };
  private readonly options: { flushMs: number; maxBuffer: number };
  constructor(
    repo: AuditRepository,
    log: { warn(msg: string): void },
    options = { flushMs: 1000, maxBuffer: 500 },
  ) {
    this.repo = repo; this.log = log; this.options = options;
  }

  async record(entry: AuditEntry, trx?: Transaction<Database>): Promise<void> {
    const row = toRow(entry);
    if (trx) {
      await this.repo.insertMany([row], trx);
      return;
    }
    this.#buffer.push(row);
    if (this.#buffer.length >= this.options.maxBuffer) void this.flush();
    else if (!this.#timer) {
      this.#timer = setTimeout(() => void this.flush(), this.options.flushMs);
      this.#timer.unref();
    }
  }

  /** Writes everything buffered so far (tests and shutdown call it). */
  flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    const batch = this.#buffer;
    this.#buffer = [];
    this.#flushing = this.#flushing.then(async () => {
      if (!batch.length) return;
      try {
        for (let i = 0; i < batch.length; i += 500) await this.repo.insertMany(batch.slice(i, i + 500));
      } catch (e) {
        this.log.warn(`audit: could not write ${batch.length} entries: ${(e as Error).message}`);
      }
    });
    return this.#flushing;
  }

  async list(clientId: string, query: AuditQuery, page: number, pageSize: number): Promise<{ total: number; rows: AuditRow[] }> {
    await this.flush();
    return this.repo.list(clientId, query, pageSize, (page - 1) * pageSize);
  }

  async listForTarget(clientId: string, target: string, trx?: Transaction<Database>): Promise<AuditRow[]> {
    await this.flush();
    return this.repo.listForTarget(clientId, target, trx);
  }

  async close(): Promise<void> {
    await this.flush();
  }
}

function toRow(e: AuditEntry): AuditRow {
  return {
    id: crypto.randomUUID(),
    client_id: e.clientId,
    category: e.category,
    action: e.action,
    actor: e.actor ?? null,
    target: e.target ?? null,
    details: e.details ?? {},
    ip: e.ip ?? null,
    created_at: new Date(),
  };
}
