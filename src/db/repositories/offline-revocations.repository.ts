import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** The audit action of an explicit recall (POST /api/offline/revocations/). */
export const OFFLINE_PACKAGE_RECALLED = 'offline_package.recalled';

/**
 * Records an explicit recall: the user's packages issued before now are refused, now being the later of the
 * database's clock and `at` (the application's, which stamps packages' issued_at). The time only moves forward.
 */
export async function recordOfflineRecall(db: Db, clientId: string, userId: string, at: Date): Promise<Date> {
  const row = await db
    .insertInto('offline_revocations')
    .values((eb) => ({ client_id: clientId, user_id: userId, revoked_before: eb.fn<Date>('greatest', [eb.fn('clock_timestamp'), eb.val(at)]), reason: 'recalled' }))
    .onConflict((oc) =>
      oc.columns(['client_id', 'user_id']).doUpdateSet((eb) => ({
        revoked_before: eb.fn<Date>('greatest', ['offline_revocations.revoked_before', 'excluded.revoked_before']),
        reason: eb.ref('excluded.reason'),
      })),
    )
    .returning('revoked_before')
    .executeTakeFirstOrThrow();
  return new Date(row.revoked_before);
}

/**
 * The tenant's recalls still able to matter: those at or after `since` (older ones only refuse packages that
 * have expired anyway), with whether the user is still active (a deleted user has no row: `is_active` null).
 */
export async function listOfflineRevocations(db: Db, clientId: string, since: Date): Promise<Array<{ user_id: string; revoked_before: Date; reason: string; is_active: boolean | null }>> {
  const rows = await db
    .selectFrom('offline_revocations as r')
    .leftJoin('users as u', (j) => j.onRef('u.id', '=', 'r.user_id').onRef('u.client_id', '=', 'r.client_id'))
    .select(['r.user_id', 'r.revoked_before', 'r.reason', 'u.is_active'])
    .where('r.client_id', '=', clientId)
    .where('r.revoked_before', '>=', since)
    .orderBy('r.user_id')
    .execute();
  return rows.map((r) => ({ ...r, revoked_before: new Date(r.revoked_before), is_active: r.is_active ?? null }));
}
