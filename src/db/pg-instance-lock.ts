/**
 * The PostgreSQL counterpart of the data-directory lock (data-dir-lock.ts): every Wajah process on a
 * database holds a SHARED session-level advisory lock on one dedicated connection for its lifetime;
 * an operation that needs the database alone (the master-key rotation: no server may seal new data
 * with the old key meanwhile) takes it EXCLUSIVE, which fails at once while any process holds it and
 * makes processes that start meanwhile wait. Advisory locks are per database and vanish with their
 * connection, so a process that dies (kill -9, lost host) releases its share.
 *
 * @example const lock = await acquireInstanceLock(url, 'shared', log); …; await lock.release();
 */
import pg from 'pg';
import { appError } from '../errors.ts';
import { SEAL_LOCK_CLASS, sealLockKey } from './seal-key-lock.ts';

/** 'wajah' as a number: the advisory lock key (one per database). */
const LOCK_KEY = 0x77616a6168;
const APP_NAME = 'wajah-instance-lock';

export interface InstanceLock {
  /**
   * Holds the seal-key lock of the key with check value `kcv` (seal-key-lock.ts) on this connection, and again
   * after it is re-established: an online master-key rotation sees which keys the running processes seal with.
   */
  holdSealKey(kcv: string): Promise<void>;
  release(): Promise<void>;
}

export async function acquireInstanceLock(
  databaseUrl: string,
  mode: 'shared' | 'exclusive',
  log: { warn(msg: string): void } = { warn: () => {} },
): Promise<InstanceLock> {
  let closed = false;
  let client = await connect(databaseUrl);
  const sealKeys = new Set<number>();
  if (mode === 'exclusive') {
    if (!(await tryLock(client, 'exclusive'))) {
      const holders = await lockHolders(client);
      await client.end().catch(() => {});
      throw appError(
        'DATABASE_IN_USE',
        `${holders.length || 'Some'} Wajah process(es) use this database (${holders.map((h) => `pid ${h.pid}${h.addr ? ` from ${h.addr}` : ''}`).join(', ') || 'unknown'}): stop every Wajah server and CLI on it, then run this again.`,
        { processes: holders.length },
      );
    }
  } else {
    await waitShared(client, log);
    // A dropped lock connection (database restart, failover) loses the share: take it again.
    const keep = (c: pg.Client) => {
      let lost = false;
      const onLost = (err?: Error) => {
        if (closed || lost) return;
        lost = true;
        log.warn(`database lock connection lost (${err?.message ?? 'closed'}); taking the lock again`);
        void (async () => {
          for (let delay = 500; !closed; delay = Math.min(delay * 2, 10_000)) {
            try {
              const next = await connect(databaseUrl);
              await waitShared(next, log);
              if (closed) {
                await next.end();
                return;
              }
              for (const key of sealKeys) await takeSealLock(next, key);
              client = next;
              keep(next);
              return;
            } catch {
              await new Promise((r) => setTimeout(r, delay).unref());
            }
          }
        })();
      };
      c.on('error', onLost);
      c.on('end', () => onLost());
    };
    keep(client);
  }
  return {
    async holdSealKey(kcv) {
      const key = sealLockKey(kcv);
      if (sealKeys.has(key)) return;
      sealKeys.add(key);
      await takeSealLock(client, key);
    },
    async release() {
      closed = true;
      // Bounded: an unreachable database must not hold up shutdown.
      await Promise.race([client.end().catch(() => {}), new Promise((r) => setTimeout(r, 2000).unref())]);
    },
  };
}

async function connect(databaseUrl: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: APP_NAME });
  client.on('error', () => {}); // replaced by the caller's handler for shared locks
  await client.connect();
  return client;
}

async function tryLock(client: pg.Client, mode: 'shared' | 'exclusive'): Promise<boolean> {
  const fn = mode === 'shared' ? 'pg_try_advisory_lock_shared' : 'pg_try_advisory_lock';
  const { rows } = await client.query<{ ok: boolean }>(`SELECT ${fn}($1::bigint) AS ok`, [LOCK_KEY]);
  return rows[0]?.ok === true;
}

/** A rotation holds the lock exclusively: wait for it to finish (the key check then decides). */
async function waitShared(client: pg.Client, log: { warn(msg: string): void }): Promise<void> {
  if (await tryLock(client, 'shared')) return;
  log.warn('The database is held by a master-key rotation (wajah keys rotate-master); waiting for it to finish…');
  await client.query('SELECT pg_advisory_lock_shared($1::bigint)', [LOCK_KEY]);
}

async function takeSealLock(client: pg.Client, key: number): Promise<void> {
  await client.query('SELECT pg_advisory_lock_shared($1::int, $2::int)', [SEAL_LOCK_CLASS, key]);
}

async function lockHolders(client: pg.Client): Promise<Array<{ pid: number; addr: string | null }>> {
  const { rows } = await client.query<{ pid: number; addr: string | null }>(
    `SELECT l.pid, a.client_addr::text AS addr
       FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.granted AND ((l.classid::bigint << 32) | l.objid::bigint) = $1::bigint AND l.pid <> pg_backend_pid()`,
    [LOCK_KEY],
  );
  return rows;
}
