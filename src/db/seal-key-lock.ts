/**
 * Which master key each running process seals with, as PostgreSQL advisory locks: a process holds a SHARED
 * lock named after its key's check value (crypto/key-check.ts) on its instance-lock connection
 * (pg-instance-lock.ts) for its lifetime, taken before it reads the database's check value. An online
 * master-key rotation (docs/operations-keys.md) asks who still holds the lock of a previous key: a server
 * that was not restarted with the new key would keep sealing new templates with the old one, which the new
 * key alone cannot open once the rotation ends. Locks vanish with their connection, so a dead process never
 * blocks a rotation, and no heartbeat or clean-up is needed.
 *
 * @example await lock.holdSealKey(keyCheckValue(key)); … const still = await sealKeyHolders(db, keyCheckValue(oldKey));
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';

/** The advisory lock's first key ("WSK"): the second is taken from the key check value. */
export const SEAL_LOCK_CLASS = 0x57534b;

/** The lock's second key for a key check value: 28 bits of it (positive as int4 and as oid). */
export function sealLockKey(kcv: string): number {
  return Number.parseInt(kcv.slice(0, 7), 16);
}

export interface SealKeyHolder {
  pid: number;
  addr: string | null;
  application: string | null;
}

/** The processes (other than this session) holding the seal-key lock of `kcv` on this database. */
export function sealKeyHolders(db: Kysely<any>, kcv: string): Promise<SealKeyHolder[]> {
  return holders(db, sql`l.objid = ${sealLockKey(kcv)}::bigint::oid`);
}

/** The processes holding the seal-key lock of a key other than `kcvs`: they seal with a key this process lacks (seal-key-watch.ts). */
export function sealKeyHoldersExcept(db: Kysely<any>, kcvs: readonly string[]): Promise<SealKeyHolder[]> {
  return holders(db, sql`NOT (l.objid::bigint = ANY(${kcvs.map(sealLockKey)}::bigint[]))`);
}

async function holders(db: Kysely<any>, which: RawBuilder<unknown>): Promise<SealKeyHolder[]> {
  const { rows } = await sql<SealKeyHolder>`
    SELECT l.pid, a.client_addr::text AS addr, a.application_name AS application
      FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND l.classid = ${SEAL_LOCK_CLASS}::bigint::oid AND ${which}
       AND l.pid <> pg_backend_pid()
     ORDER BY l.pid`.execute(db);
  return rows;
}
