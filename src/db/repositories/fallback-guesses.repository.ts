import type { ColumnType, Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.ts';

/** The column of migration 0019 used here (kept beside its queries; see Kysely `withTables`). */
export type FallbackGuessTables = {
  fallback_credentials: {
    client_id: string;
    user_id: string;
    /** Epoch milliseconds of the wrong guesses of the last 24 hours, oldest first. */
    recent_failures: ColumnType<number[], string | undefined, string>;
  };
};

type Db = Kysely<Database> | Transaction<Database>;
const t = (db: Db) => db.withTables<FallbackGuessTables>();

/** The credential's recent wrong guesses (read under the row lock the caller holds), oldest first. */
export async function readRecentFailures(db: Db, clientId: string, userId: string): Promise<number[]> {
  const row = await t(db).selectFrom('fallback_credentials').select('recent_failures').where('client_id', '=', clientId).where('user_id', '=', userId).executeTakeFirst();
  const list = row?.recent_failures;
  return Array.isArray(list) ? list.map(Number).filter(Number.isFinite) : [];
}

export async function writeRecentFailures(db: Db, clientId: string, userId: string, times: number[]): Promise<void> {
  await t(db).updateTable('fallback_credentials').set({ recent_failures: JSON.stringify(times) }).where('client_id', '=', clientId).where('user_id', '=', userId).execute();
}
