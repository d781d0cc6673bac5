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
 * insert per second instead of one insert per request). A batch the database refuses (a restart, a
 * fail-over) stays buffered and is written again every `retryMs`, so a hiccup loses no entry; only past
 * `maxRetained` waiting entries are the oldest given up (and counted in the log).
 *
 * @example await audit.record({ clientId, category: 'data_access', action: 'user.exported', target: user.id })
 */
export class AuditService {
  #buffer: AuditRow[] = [];
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> = Promise.resolve();
  /** The last write failed: wait for the retry timer instead of flushing at every full buffer. */
  #retrying = false;

  private readonly repo: AuditRepository;
  private readonly log: { warn(msg: string): void };
  private readonly options: { flushMs: number; maxBuffer: number; retryMs: number; maxRetained: number };
  constructor(
    repo: AuditRepository,
    log: { warn(msg: string): void },
    options: Partial<{ flushMs: number; maxBuffer: number; retryMs: number; maxRetained: number }> = {},
  ) {
    this.repo = repo; this.log = log;
    this.options = { flushMs: 1000, maxBuffer: 500, retryMs: 5000, maxRetained: 50_000, ...options };
  }

  async record(entry: AuditEntry, trx?: Transaction<Database>): Promise<void> {
    const row = toRow(entry);
    if (trx) {
      await this.repo.insertMany([row], trx);
      return;
    }
    this.#buffer.push(row);
    if (this.#buffer.length >= this.options.maxBuffer && !this.#retrying) void this.flush();
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
      let written = 0;
      try {
        for (; written < batch.length; written += 500) await this.repo.insertMany(batch.slice(written, written + 500));
        this.#retrying = false;
      } catch (e) {
        this.#retain(batch.slice(written), e as Error);
      }
    });
    return this.#flushing;
  }

  /** What the database refused goes back in front of the buffer (oldest first), for another try in `retryMs`. */
  #retain(rows: AuditRow[], error: Error): void {
    this.#retrying = true;
    this.#buffer = rows.concat(this.#buffer);
    const over = this.#buffer.length - this.options.maxRetained;
    if (over > 0) this.#buffer.splice(0, over);
    this.log.warn(`audit: could not write ${rows.length} entries (${error.message}); trying again in ${this.options.retryMs / 1000} s${over > 0 ? `; ${over} oldest entries given up (more than ${this.options.maxRetained} waiting)` : ''}`);
    if (!this.#timer) {
      this.#timer = setTimeout(() => void this.flush(), this.options.retryMs);
      this.#timer.unref();
    }
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
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#buffer.length) this.log.warn(`audit: ${this.#buffer.length} entries could not be written before shutdown`);
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
