import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** The audit action every offline-package issuance writes (the count below reads it back). */
export const OFFLINE_PACKAGE_ISSUED = 'offline_package.issued';

/**
 * How many offline packages were issued for one user of this tenant, from the audit trail (so the
 * count follows the client's retention_days like the entries themselves).
 */
export async function countIssuedOfflinePackages(db: Db, clientId: string, userId: string): Promise<number> {
  const row = await db
    .selectFrom('audit_logs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('client_id', '=', clientId)
    .where('action', '=', OFFLINE_PACKAGE_ISSUED)
    .where('target', '=', userId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
