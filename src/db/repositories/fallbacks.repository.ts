import type { ColumnType, Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.ts';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export type FallbackKind = 'pin' | 'password';

/** Tables of migration 0006 used here (kept beside their queries; see Kysely `withTables`). */
export type FallbackTables = {
  fallback_credentials: {
    user_id: string;
    client_id: string;
    kind: FallbackKind;
    secret_hash: string;
    failed_attempts: ColumnType<number, number | undefined, number>;
    /** Migration 0013: lock-outs in a row. */
    lockouts: ColumnType<number, number | undefined, number>;
    locked_until: Timestamp | null;
    last_used_at: Timestamp | null;
    created_at: Timestamp;
    updated_at: Timestamp;
  };
  auth_attempts: Database['auth_attempts'] & { method: ColumnType<string, string | undefined, string> };
};

type Db = Kysely<Database> | Transaction<Database>;
const t = (db: Db) => db.withTables<FallbackTables>();

/** A credential's state without its hash (what the API may show). */
export interface FallbackInfo {
  user_id: string;
  kind: FallbackKind;
  failed_attempts: number;
  locked_until: Date | null;
  last_used_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface FallbackRow extends FallbackInfo {
  secret_hash: string;
  lockouts: number;
}

const INFO = ['user_id', 'kind', 'failed_attempts', 'locked_until', 'last_used_at', 'created_at', 'updated_at'] as const;

/** Sets or replaces a user's credential; a new secret starts with no failures and no lock. */
export async function upsertFallback(db: Db, c: { clientId: string; userId: string; kind: FallbackKind; secretHash: string }): Promise<FallbackInfo> {
  const now = new Date();
  return (await t(db)
    .insertInto('fallback_credentials')
    .values({ user_id: c.userId, client_id: c.clientId, kind: c.kind, secret_hash: c.secretHash, failed_attempts: 0, created_at: now, updated_at: now })
    .onConflict((oc) =>
      oc.column('user_id').doUpdateSet({ kind: c.kind, secret_hash: c.secretHash, failed_attempts: 0, lockouts: 0, locked_until: null, updated_at: now }).where('fallback_credentials.client_id', '=', c.clientId),
    )
    .returning(INFO)
    .executeTakeFirstOrThrow()) as FallbackInfo;
}

export async function findFallbackInfo(db: Db, clientId: string, userId: string): Promise<FallbackInfo | undefined> {
  return (await t(db).selectFrom('fallback_credentials').select(INFO).where('client_id', '=', clientId).where('user_id', '=', userId).executeTakeFirst()) as
    | FallbackInfo
    | undefined;
}

/** The credential row locked for the attempt that is about to be checked. */
export async function lockFallback(trx: Transaction<Database>, clientId: string, userId: string): Promise<FallbackRow | undefined> {
  return (await t(trx)
    .selectFrom('fallback_credentials')
    .select([...INFO, 'secret_hash', 'lockouts'])
    .where('client_id', '=', clientId)
    .where('user_id', '=', userId)
    .forUpdate()
    .executeTakeFirst()) as FallbackRow | undefined;
}

export async function updateFallbackCounters(
  db: Db,
  clientId: string,
  userId: string,
  patch: { failed_attempts?: number; lockouts?: number; locked_until?: Date | null; last_used_at?: Date },
): Promise<void> {
  await t(db).updateTable('fallback_credentials').set(patch).where('client_id', '=', clientId).where('user_id', '=', userId).execute();
}

export async function deleteFallback(db: Db, clientId: string, userId: string): Promise<boolean> {
  const r = await t(db).deleteFrom('fallback_credentials').where('client_id', '=', clientId).where('user_id', '=', userId).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** The method column (0006) of an attempt row written by insertAttempt in the same transaction. */
export async function markAttemptMethod(db: Db, clientId: string, attemptId: string, method: FallbackKind): Promise<void> {
  await t(db).updateTable('auth_attempts').set({ method }).where('client_id', '=', clientId).where('id', '=', attemptId).execute();
}
