import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface AuditRow {
  id: string;
  client_id: string | null;
  category: string;
  action: string;
  actor: string | null;
  target: string | null;
  details: Record<string, unknown>;
  ip: string | null;
  created_at: Date;
}

export type NewAuditRow = Omit<AuditRow, 'created_at'> & { created_at?: Date };

export interface AuditQuery {
  start?: Date;
  end?: Date;
  category?: string;
  target?: string;
}

export class AuditRepository {
  private readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.db = db;
  }

  /** One multi-row insert (the audit writer batches API-access entries). */
  async insertMany(rows: NewAuditRow[], trx: Db = this.db): Promise<void> {
    if (!rows.length) return;
    await trx
      .insertInto('audit_logs')
      .values(rows.map((r) => ({ ...r, details: JSON.stringify(r.details) })))
      .execute();
  }

  async list(clientId: string, q: AuditQuery, limit: number, offset: number): Promise<{ total: number; rows: AuditRow[] }> {
    let base = this.db.selectFrom('audit_logs').where('client_id', '=', clientId);
    if (q.start) base = base.where('created_at', '>=', q.start);
    if (q.end) base = base.where('created_at', '<', q.end);
    if (q.category) base = base.where('category', '=', q.category);
    if (q.target) base = base.where('target', '=', q.target);
    const [count, rows] = await Promise.all([
      base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
      base
        .select(['id', 'client_id', 'category', 'action', 'actor', 'target', 'details', 'ip', 'created_at'])
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .offset(offset)
        .execute(),
    ]);
    return { total: Number(count.n), rows: rows as AuditRow[] };
  }

  /** Entries about one user (export). */
  async listForTarget(clientId: string, target: string, trx: Db = this.db): Promise<AuditRow[]> {
    return (await trx
      .selectFrom('audit_logs')
      .select(['id', 'client_id', 'category', 'action', 'actor', 'target', 'details', 'ip', 'created_at'])
      .where('client_id', '=', clientId)
      .where('target', '=', target)
      .orderBy('created_at', 'asc')
      .execute()) as AuditRow[];
  }

  /**
   * Retention: drops audit entries, authentication attempts, events (the webhook outbox, also shown
   * among the audit logs) and sessions older than the client's retention. An event is kept while it is not
   * fanned out yet or a delivery of it is still pending: the outbox loses nothing. A session goes once it
   * has expired too (never one still usable; its SSO logins keep their rows, without the link).
   */
  async purgeOlderThan(clientId: string, before: Date): Promise<{ audit: number; attempts: number; events: number; sessions: number }> {
    const a = await this.db.deleteFrom('audit_logs').where('client_id', '=', clientId).where('created_at', '<', before).executeTakeFirst();
    const b = await this.db.deleteFrom('auth_attempts').where('client_id', '=', clientId).where('created_at', '<', before).executeTakeFirst();
    const e = await this.db
      .deleteFrom('events')
      .where('client_id', '=', clientId)
      .where('created_at', '<', before)
      .where('dispatched_at', 'is not', null)
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('webhook_deliveries as d').select('d.id').whereRef('d.event_id', '=', 'events.id').where('d.status', '=', 'pending'))),
      )
      .executeTakeFirst();
    const sessions = await this.db
      .deleteFrom('sessions')
      .where('client_id', '=', clientId)
      .where('created_at', '<', before)
      .where('expires_at', '<=', sql<Date>`now()`)
      .executeTakeFirst();
    return { audit: Number(a.numDeletedRows), attempts: Number(b.numDeletedRows), events: Number(e.numDeletedRows), sessions: Number(sessions.numDeletedRows) };
  }

  async clientsWithRetention(): Promise<Array<{ id: string; days: number }>> {
    const rows = await this.db
      .selectFrom('clients')
      .select(['id', sql<string>`settings->>'retention_days'`.as('days')])
      .where(sql<boolean>`(settings->>'retention_days') IS NOT NULL`)
      .execute();
    return rows.map((r) => ({ id: r.id, days: Number(r.days) })).filter((r) => Number.isFinite(r.days) && r.days > 0);
  }
}
