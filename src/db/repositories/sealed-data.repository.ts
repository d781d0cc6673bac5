import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/**
 * Every column that holds a value sealed under the master key, for the master-key rotation
 * (services/master-key-rotation.service.ts). `keys` is the primary key (keyset paging and the update),
 * `aad` the further columns the sealing binds the value to.
 */
export const SEALED_COLUMNS = {
  face_templates: { table: 'face_templates', keys: ['id'], aad: ['client_id', 'user_id', 'model_id'], sealed: 'ciphertext' },
  face_photos: { table: 'face_photos', keys: ['id'], aad: ['client_id', 'user_id', 'enrollment_id'], sealed: 'ciphertext' },
  review_photos: {
    table: 'review_photos',
    keys: ['id'],
    aad: ['client_id', 'review_id'],
    // The review's user (AAD version 2 binds a photo to it).
    derived: { user_id: '(SELECT r.user_id FROM review_requests r WHERE r.id = review_photos.review_id AND r.client_id = review_photos.client_id)' },
    sealed: 'ciphertext',
  },
  sessions: { table: 'sessions', keys: ['id'], aad: ['client_id', 'kind'], sealed: 'state' },
  webhook_endpoints: { table: 'webhook_endpoints', keys: ['id'], aad: ['client_id'], sealed: 'secret' },
  sso_clients: { table: 'sso_clients', keys: ['id'], aad: [], sealed: 'secret_ciphertext' },
  sso_keys: { table: 'sso_keys', keys: ['kind', 'id'], aad: [], sealed: 'ciphertext' },
  sso_logins: { table: 'sso_logins', keys: ['uid'], aad: [], sealed: 'session_token_ciphertext' },
} as const satisfies Record<string, SealedColumn>;

export interface SealedColumn {
  table: string;
  keys: readonly string[];
  aad: readonly string[];
  /** Further AAD values read from other tables: column alias → a constant SQL expression (never input). */
  derived?: Readonly<Record<string, string>>;
  sealed: string;
}

/** The select list of a sealed column: keys, AAD columns, derived values and the sealed value. */
function columns(c: SealedColumn) {
  return sql.join([
    ...[...c.keys, ...c.aad].map((k) => sql.ref(k)),
    ...Object.entries(c.derived ?? {}).map(([alias, expr]) => sql`${sql.raw(expr)} AS ${sql.ref(alias)}`),
    sql.ref(c.sealed),
  ]);
}

export type SealedRow = Record<string, unknown>;

/** Up to `limit` rows whose sealed column is set, after the key `after` (keyset on the primary key). */
export async function loadSealedPage(db: Kysely<Database>, c: SealedColumn, after: unknown[] | null, limit: number): Promise<SealedRow[]> {
  const keyTuple = sql.join(c.keys.map((k) => sql.ref(k)));
  const { rows } = await sql<SealedRow>`
    SELECT ${columns(c)}
    FROM ${sql.table(c.table)}
    WHERE ${sql.ref(c.sealed)} IS NOT NULL
      ${after ? sql`AND (${keyTuple}) > (${sql.join(after.map((v) => sql`${v}`))})` : sql``}
    ORDER BY ${keyTuple}
    LIMIT ${limit}`.execute(db);
  return rows;
}

/** Replaces the sealed value of one row (found by its primary key). */
export async function updateSealedValue(db: Kysely<Database>, c: SealedColumn, row: SealedRow, value: unknown): Promise<void> {
  const where = byKey(c, row);
  await sql`UPDATE ${sql.table(c.table)} SET ${sql.ref(c.sealed)} = ${value} WHERE ${where}`.execute(db);
}

/** One row again, locked until the transaction ends (an online rotation re-seals it while servers run). */
export async function lockSealedRow(db: Kysely<Database>, c: SealedColumn, row: SealedRow): Promise<SealedRow | undefined> {
  const where = byKey(c, row);
  const { rows } = await sql<SealedRow>`
    SELECT ${columns(c)}
    FROM ${sql.table(c.table)} WHERE ${where} AND ${sql.ref(c.sealed)} IS NOT NULL FOR UPDATE`.execute(db);
  return rows[0];
}

/** `pk1 = … AND pk2 = …` for one row. */
function byKey(c: SealedColumn, row: SealedRow) {
  return sql.join(
    c.keys.map((k) => sql`${sql.ref(k)} = ${row[k]}`),
    sql` AND `,
  );
}
