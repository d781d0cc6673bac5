import { sql, type Expression, type ExpressionBuilder, type Kysely, type SqlBool, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface UserRow {
  id: string;
  client_id: string;
  external_id: string;
  name: string;
  email: string | null;
  metadata: Record<string, unknown>;
  is_active: boolean;
  last_authentication: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface UserWithCount extends UserRow {
  enrollments_count: number;
}

export interface UserListFilter {
  search?: string;
  isActive?: boolean;
  hasEnrollment?: boolean;
}

const COLUMNS = [
  'users.id',
  'users.client_id',
  'users.external_id',
  'users.name',
  'users.email',
  'users.metadata',
  'users.is_active',
  'users.last_authentication',
  'users.created_at',
  'users.updated_at',
] as const;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `{user_id}` in paths: the uuid or the client's external_id. Always scoped by client. */
function refFilter(eb: ExpressionBuilder<Database, 'users'>, ref: string): Expression<SqlBool> {
  return UUID_RE.test(ref) ? eb.or([eb('users.id', '=', ref.toLowerCase()), eb('users.external_id', '=', ref)]) : eb('users.external_id', '=', ref);
}

function enrollmentsCount(eb: ExpressionBuilder<Database, 'users'>) {
  return eb
    .selectFrom('enrollments')
    .select(eb.fn.countAll<number>().as('n'))
    .whereRef('enrollments.user_id', '=', 'users.id')
    .whereRef('enrollments.client_id', '=', 'users.client_id')
    .as('enrollments_count');
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export class UsersRepository {
  private readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.db = db;
  }

  async insert(
    row: { id: string; client_id: string; external_id: string; name: string; email: string | null; metadata: Record<string, unknown> },
    trx: Db = this.db,
  ): Promise<UserRow> {
    return (await trx
      .insertInto('users')
      .values({ ...row, metadata: JSON.stringify(row.metadata) })
      .returning(COLUMNS)
      .executeTakeFirstOrThrow()) as UserRow;
  }

  /**
   * Whether `externalId` already names a user of the tenant: as another user's external_id, or as another
   * user's uuid. Every user_id parameter takes either, so an external_id spelling someone else's uuid made
   * the two users one reference (an offline package's `--user-id <uuid>` matched both; docs/offline.md).
   * `self` is the user being renamed (their own uuid as their external_id names nobody else).
   */
  async existsExternalId(clientId: string, externalId: string, trx: Db = this.db, self?: string): Promise<boolean> {
    let q = trx
      .selectFrom('users')
      .select('users.id')
      .where('users.client_id', '=', clientId)
      .where((eb) => refFilter(eb, externalId));
    if (self) q = q.where('users.id', '!=', self);
    return !!(await q.executeTakeFirst());
  }

  /** One user by uuid or external_id (uuid match wins), with its enrollment count. */
  /** With `lock` (inside a transaction that changes the user): the user's row locked (FOR UPDATE) until it ends. */
  async findByRef(clientId: string, ref: string, trx: Db = this.db, opts: { lock?: boolean } = {}): Promise<UserWithCount | undefined> {
    const q = trx
      .selectFrom('users')
      .select(COLUMNS)
      .select(enrollmentsCount)
      .where('users.client_id', '=', clientId)
      .where((eb) => refFilter(eb, ref))
      .orderBy(sql`(users.external_id = ${ref})`, 'asc')
      .limit(1);
    const row = await (opts.lock ? q.forUpdate('users') : q).executeTakeFirst();
    return row ? ({ ...row, enrollments_count: Number(row.enrollments_count ?? 0) } as UserWithCount) : undefined;
  }

  async findManyByIds(clientId: string, ids: string[]): Promise<UserRow[]> {
    if (!ids.length) return [];
    return (await this.db
      .selectFrom('users')
      .select(COLUMNS)
      .where('users.client_id', '=', clientId)
      .where('users.id', 'in', ids)
      .execute()) as UserRow[];
  }

  async list(clientId: string, filter: UserListFilter, limit: number, offset: number): Promise<{ total: number; rows: UserWithCount[] }> {
    let q = this.db.selectFrom('users').where('users.client_id', '=', clientId);
    if (filter.search) {
      const pattern = `%${escapeLike(filter.search)}%`;
      q = q.where((eb) => eb.or([eb('users.name', 'ilike', pattern), eb('users.email', 'ilike', pattern)]));
    }
    if (filter.isActive !== undefined) q = q.where('users.is_active', '=', filter.isActive);
    if (filter.hasEnrollment !== undefined) {
      const exists = (eb: ExpressionBuilder<Database, 'users'>) =>
        eb.exists(
          eb
            .selectFrom('enrollments')
            .select('enrollments.id')
            .whereRef('enrollments.user_id', '=', 'users.id')
            .whereRef('enrollments.client_id', '=', 'users.client_id'),
        );
      q = q.where((eb) => (filter.hasEnrollment ? exists(eb) : eb.not(exists(eb))));
    }
    const [countRow, rows] = await Promise.all([
      q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
      q
        .select(COLUMNS)
        .select(enrollmentsCount)
        .orderBy('users.created_at', 'desc')
        .orderBy('users.id', 'desc')
        .limit(limit)
        .offset(offset)
        .execute(),
    ]);
    return {
      total: Number(countRow.n),
      rows: rows.map((r) => ({ ...r, enrollments_count: Number(r.enrollments_count ?? 0) })) as UserWithCount[],
    };
  }

  async update(
    clientId: string,
    id: string,
    patch: Partial<{ external_id: string; name: string; email: string | null; metadata: Record<string, unknown>; is_active: boolean }>,
    trx: Db = this.db,
  ): Promise<UserRow | undefined> {
    const values: Record<string, unknown> = { updated_at: sql`now()` };
    for (const [k, v] of Object.entries(patch)) {
      // Only the patchable columns, whatever object the caller hands in: never client_id (tenant) or id.
      if (v === undefined || !USER_PATCHABLE.has(k)) continue;
      values[k] = k === 'metadata' ? JSON.stringify(v) : v;
    }
    return (await trx
      .updateTable('users')
      .set(values)
      .where('client_id', '=', clientId)
      .where('id', '=', id)
      .returning(COLUMNS)
      .executeTakeFirst()) as UserRow | undefined;
  }

  async touchLastAuthentication(clientId: string, id: string, at: Date, trx: Db = this.db): Promise<void> {
    await trx.updateTable('users').set({ last_authentication: at }).where('client_id', '=', clientId).where('id', '=', id).execute();
  }

  /** Deletes the user; enrollments, templates, photos and sessions go with it (FK cascades). */
  async delete(clientId: string, id: string, trx: Db = this.db): Promise<boolean> {
    const res = await trx.deleteFrom('users').where('client_id', '=', clientId).where('id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  // --- export (portability): everything held on one user, tenant-scoped ---

  async exportEnrollments(clientId: string, userId: string, trx: Db = this.db) {
    return trx
      .selectFrom('enrollments')
      .select(['id', 'session_id', 'source', 'model_id', 'quality_score', 'face_count', 'average_confidence', 'angles', 'created_at'])
      .where('client_id', '=', clientId)
      .where('user_id', '=', userId)
      .orderBy('created_at', 'asc')
      .execute();
  }

  async exportTemplateInfo(clientId: string, userId: string, trx: Db = this.db) {
    return trx
      .selectFrom('face_templates')
      .select(['id', 'enrollment_id', 'model_id', 'dim', 'angle', 'quality', 'created_at'])
      .where('client_id', '=', clientId)
      .where('user_id', '=', userId)
      .orderBy('created_at', 'asc')
      .execute();
  }

  async exportPhotoInfo(clientId: string, userId: string, trx: Db = this.db) {
    return trx
      .selectFrom('face_photos')
      .select(['id', 'enrollment_id', 'content_type', 'created_at'])
      .where('client_id', '=', clientId)
      .where('user_id', '=', userId)
      .execute();
  }

  async exportAuthAttempts(clientId: string, userId: string, trx: Db = this.db) {
    return trx
      .selectFrom('auth_attempts')
      .select(['id', 'session_id', 'mode', 'outcome', 'failure_reason', 'confidence', 'liveness_score', 'quality_score', 'processing_ms', 'ip', 'user_agent', 'created_at'])
      .where('client_id', '=', clientId)
      .where('user_id', '=', userId)
      .orderBy('created_at', 'asc')
      .execute();
  }

  /**
   * Right to deletion: the outbox keeps the user's events for delivery and audit, but without the
   * personal fields (name, email, metadata). The events about the user are those recorded with them as
   * subject (migration 0012), under whatever external id they had then. Returns how many were redacted.
   */
  async redactEvents(clientId: string, userId: string, trx: Db = this.db): Promise<number> {
    const rows = await trx
      .updateTable('events')
      .set({ payload: sql`(payload - 'name' - 'email' - 'metadata' - 'user_name') || '{"redacted": true}'::jsonb` as never })
      .where('client_id', '=', clientId)
      .where('subject_user_id', '=', userId)
      .returning('id')
      .execute();
    return rows.length;
  }

  /** Outbox events about the user (their subject, migration 0012). */
  async exportEvents(clientId: string, userId: string, trx: Db = this.db) {
    return trx
      .selectFrom('events')
      .select(['id', 'event_type', 'payload', 'created_at'])
      .where('client_id', '=', clientId)
      .where('subject_user_id', '=', userId)
      .orderBy('created_at', 'asc')
      .execute();
  }
}

const USER_PATCHABLE: ReadonlySet<string> = new Set(['external_id', 'name', 'email', 'metadata', 'is_active']);
