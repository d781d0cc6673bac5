import { sql, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';

/** The newest earlier liveness session of one claim (authentication.order.ts): its status and drawn order. */
export interface LatestLivenessSession {
  status: string;
  order: unknown;
}

/**
 * Serialises the draws of one claim (tenant, claimed user or none, challenge set) until the transaction
 * ends, so sessions created at the same instant see each other's order (a transaction-scoped advisory lock).
 */
export async function lockLivenessClaim(trx: Transaction<Database>, key: string): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(hashtextextended(${key}, 0))`.execute(trx);
}

/**
 * The newest authentication session of this tenant for `userId` (null: an identification, no claimed
 * user) whose liveness challenge set is `set`, created since `since`.
 *
 * @example const last = await findLatestLivenessSession(trx, client.id, user.id, 'blink,head_movement', since)
 */
export async function findLatestLivenessSession(trx: Transaction<Database>, clientId: string, userId: string | null, set: string, since: Date): Promise<LatestLivenessSession | undefined> {
  const row = await trx
    .selectFrom('sessions')
    .select(['status', sql<unknown>`state->'liveness'->'order'`.as('order')])
    .where('client_id', '=', clientId)
    .where('kind', '=', 'authentication')
    .where('user_id', userId === null ? 'is' : '=', userId)
    .where(sql<string>`params->>'liveness_set'`, '=', set)
    .where('created_at', '>=', since)
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row;
}
