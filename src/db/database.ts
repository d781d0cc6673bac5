import fs from 'node:fs';
import path from 'node:path';
import { Kysely, Migrator, PostgresDialect, sql, type Migration, type MigrationProvider } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';
import { createPGliteDialect } from './pglite-driver.ts';
import { finishInterruptedRestore } from './restore-recovery.ts';
import { acquireDataDirLock, type LockInfo } from './data-dir-lock.ts';
import { acquireInstanceLock, type InstanceLock } from './pg-instance-lock.ts';
import { appError, isAppError } from '../errors.ts';
import * as m0001 from './migrations/0001-initial.ts';
import * as m0004 from './migrations/0004-webhooks.ts';
import * as m0005 from './migrations/0005-analytics.ts';
import * as m0006 from './migrations/0006-fallbacks.ts';
import * as m0007 from './migrations/0007-sso.ts';
import * as m0008 from './migrations/0008-instance-settings.ts';
import * as m0010 from './migrations/0010-event-request-id.ts';
import * as m0011 from './migrations/0011-webhook-circuits.ts';
import * as m0012 from './migrations/0012-user-data-lifecycle.ts';
import * as m0013 from './migrations/0013-fallback-lockouts.ts';
import * as m0014 from './migrations/0014-event-retention.ts';
import * as m0015 from './migrations/0015-sso-not-before.ts';
import * as m0016 from './migrations/0016-audit-feed-keyset.ts';
import * as m0017 from './migrations/0017-webhook-endpoint-due.ts';
import * as m0018 from './migrations/0018-sso-storage.ts';
import * as m0019 from './migrations/0019-fallback-daily-failures.ts';
import * as m0020 from './migrations/0020-liveness-claim-index.ts';
import * as m0021 from './migrations/0021-offline-revocations.ts';
import * as m0022 from './migrations/0022-foreign-key-indexes.ts';
import * as m0023 from './migrations/0023-attempts-session-index.ts';
import * as m0024 from './migrations/0024-sessions-face-state-index.ts';
import * as m0025 from './migrations/0025-liveness-set-statistics.ts';
import * as m0026 from './migrations/0026-audit-target-index.ts';
import * as m0027 from './migrations/0027-open-enrollment-index.ts';

export type DB = Kysely<Database>;

/** Every migration, in order. Add new ones here (timestamped file names, up/down in raw SQL). Exported for tests that take a database back to an earlier schema. */
export const MIGRATIONS: Record<string, Migration> = {
  '0001-initial': m0001,
  '0004-webhooks': m0004,
  '0005-analytics': m0005,
  '0006-fallbacks': m0006,
  '0007-sso': m0007,
  '0008-instance-settings': m0008,
  '0010-event-request-id': m0010,
  '0011-webhook-circuits': m0011,
  '0012-user-data-lifecycle': m0012,
  '0013-fallback-lockouts': m0013,
  '0014-event-retention': m0014,
  '0015-sso-not-before': m0015,
  '0016-audit-feed-keyset': m0016,
  '0017-webhook-endpoint-due': m0017,
  '0018-sso-storage': m0018,
  '0019-fallback-daily-failures': m0019,
  '0020-liveness-claim-index': m0020,
  '0021-offline-revocations': m0021,
  '0022-foreign-key-indexes': m0022,
  '0023-attempts-session-index': m0023,
  '0024-sessions-face-state-index': m0024,
  '0025-liveness-set-statistics': m0025,
  '0026-audit-target-index': m0026,
  '0027-open-enrollment-index': m0027,
};

class StaticMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return MIGRATIONS;
  }
}

export interface DatabaseHandle {
  db: DB;
  /** 'pglite' (embedded) or 'postgres'. */
  dialect: 'pglite' | 'postgres';
  ping(): Promise<boolean>;
  /** Open connections (pool size for postgres, 1 for the embedded database). */
  connections(): number;
  /** Pool state for /metrics: connections open, idle, and queries waiting for one (null: embedded). */
  pool(): { total: number; idle: number; waiting: number } | null;
  /**
   * The embedded database as a gzipped tar of its data directory, taken after a CHECKPOINT while no other
   * query runs (the single session is held), so it is consistent; null for PostgreSQL (use pg_dump).
   */
  dumpEmbedded: (() => Promise<Blob>) | null;
  /**
   * Records, for as long as this process runs, that it seals with the master key whose check value is `kcv`
   * (PostgreSQL: a shared advisory lock, seal-key-lock.ts; the embedded database has one process: nothing to do).
   */
  holdSealKey(kcv: string): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgres://… or null for the embedded database. */
  databaseUrl: string | null;
  /** Directory for the embedded database, or 'memory://' for an in-memory one (tests). */
  pgliteDir: string;
  poolSize?: number;
  /** Called when an idle pooled connection fails (logged by the container). */
  onIdleError?: (err: Error) => void;
  /** Who opens the embedded database (the directory lock records it). Default 'server'. */
  lockKind?: LockInfo['kind'];
  /**
   * PostgreSQL: every process holds the database's instance lock shared (pg-instance-lock.ts);
   * 'exclusive' (the master-key rotation) fails with DATABASE_IN_USE while any other process holds it.
   */
  instanceLock?: 'shared' | 'exclusive';
  log?: { warn(msg: string): void };
}

/**
 * Tests only: an in-memory database starts from WAJAH_TEST_PGLITE_TEMPLATE, a dump of a freshly migrated one
 * (`npm test` makes it once, scripts/pglite-template.ts), instead of running every migration again: about 2 s
 * per test database. The migrator still runs and applies whatever the template lacks.
 */
function testTemplate(): Blob | undefined {
  const file = process.env.WAJAH_TEST_PGLITE_TEMPLATE;
  if (!file || !fs.existsSync(file)) return undefined;
  return new Blob([fs.readFileSync(file)]);
}

/** "a running Wajah server (pid 123, port 8000)" from the lock and the server's runtime file. */
function describeOwner(dataDir: string, o: LockInfo): string {
  let port = '';
  try {
    const info = JSON.parse(fs.readFileSync(path.join(dataDir, 'server.json'), 'utf8')) as { pid: number; port: number };
    if (info.pid === o.pid) port = `, port ${info.port}`;
  } catch {
    // not listening yet (starting) or a CLI
  }
  return `a running Wajah ${o.kind} (pid ${o.pid}${port}${port ? '' : o.kind === 'server' ? ', starting' : ''})`;
}

/** Opens the database and runs pending migrations. */
export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  let handle: DatabaseHandle;
  if (options.databaseUrl) {
    // timestamptz → Date, bigint counts → number (counts here never exceed 2^53).
    pg.types.setTypeParser(20, (v: string) => Number(v));
    let lock: InstanceLock;
    try {
      lock = await acquireInstanceLock(options.databaseUrl, options.instanceLock ?? 'shared', options.log);
    } catch (e) {
      // Start-up and the CLI stop with one line naming DATABASE_URL, not a driver stack trace.
      if (isAppError(e)) throw e;
      throw appError(
        'DATABASE_UNAVAILABLE',
        `Cannot open the PostgreSQL database of DATABASE_URL (${describeUrl(options.databaseUrl)}): ${(e as Error).message}. Check the host, port, user, password and database name, and that the database exists (CREATE DATABASE).`,
      );
    }
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize ?? 10 });
    // An idle pooled connection that the server drops (restart, failover, admin termination) must not
    // crash the process: the pool discards it and the next query opens a new one.
    pool.on('error', (err) => options.onIdleError?.(err));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    handle = {
      db,
      dialect: 'postgres',
      ping: () => ping(db),
      connections: () => pool.totalCount,
      pool: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
      dumpEmbedded: null,
      holdSealKey: (kcv) => lock.holdSealKey(kcv),
      close: async () => {
        try {
          await db.destroy();
        } finally {
          await lock.release();
        }
      },
    };
  } else {
    const dir = options.pgliteDir;
    let release = () => {};
    if (dir !== 'memory://') {
      // One process per embedded database: the lock lives in the data directory (the parent of pg/).
      const dataDir = path.dirname(path.resolve(dir));
      release = acquireDataDirLock(dataDir, options.lockKind ?? 'server', (o) => describeOwner(dataDir, o));
      try {
        const finished = finishInterruptedRestore(dataDir, path.resolve(dir));
        if (finished) options.log?.warn(finished);
      } catch (e) {
        release();
        throw appError('DATABASE_UNAVAILABLE', `Cannot finish the interrupted restore in ${dataDir}: ${(e as Error).message}`);
      }
    }
    let dialect;
    let client;
    try {
      ({ dialect, client } = await createPGliteDialect(dir === 'memory://' ? undefined : dir, { loadDataDir: dir === 'memory://' ? testTemplate() : undefined }));
    } catch (e) {
      release();
      // PGlite reports file-system failures (a full disk, a read-only mount) as a bare WASI errno.
      if (isAppError(e)) throw e;
      throw appError(
        'DATABASE_UNAVAILABLE',
        `Cannot open the embedded database in ${path.resolve(dir)} (WAJAH_DATA_DIR/pg): ${describeError(e)}. Check the free space and permissions of WAJAH_DATA_DIR.`,
      );
    }
    // One session, handed to one holder at a time; statements prepared once (pglite-driver.ts).
    const db = new Kysely<Database>({ dialect });
    handle = {
      db,
      dialect: 'pglite',
      ping: () => ping(db),
      connections: () => 1,
      pool: () => null,
      dumpEmbedded: () =>
        db.connection().execute(async (session) => {
          await sql`CHECKPOINT`.execute(session);
          return client.dumpDataDir('gzip');
        }),
      holdSealKey: async () => {},
      close: async () => {
        try {
          await db.destroy();
        } finally {
          release();
        }
      },
    };
  }
  try {
    await migrate(handle.db, options.log);
  } catch (e) {
    await handle.close().catch(() => {});
    throw e;
  }
  return handle;
}

/** WASI errno numbers PGlite's file system reports (ErrnoError { errno }). */
const WASI_ERRNO: Record<number, string> = { 2: 'EACCES: permission denied', 20: 'EEXIST: file exists', 29: 'EIO: input/output error', 44: 'ENOENT: no such file or directory', 51: 'ENOSPC: no space left on device', 63: 'EPERM: operation not permitted', 69: 'EROFS: read-only file system' };

function describeError(e: unknown): string {
  const err = e as { name?: string; errno?: number; message?: string };
  if (err?.name === 'ErrnoError' && typeof err.errno === 'number') return WASI_ERRNO[err.errno] ?? `file system error ${err.errno}`;
  return err?.message || String(e);
}

/** postgres://user@host:port/db, without the password (it must not reach a log). */
function describeUrl(databaseUrl: string): string {
  try {
    const u = new URL(databaseUrl);
    return `${u.protocol}//${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return 'unparsable URL';
  }
}

async function ping(db: DB): Promise<boolean> {
  try {
    await sql`SELECT 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}

/**
 * Applies this release's pending migrations. A database already migrated by a newer release (a rolling
 * upgrade under way, or a rollback to this release) holds migrations this code does not know: when it
 * also holds every one of ours, it is used as it is, since migrations are additive within an API version
 * (docs/operations.md, "Upgrades"); when one of ours is missing besides, the two cannot be reconciled and
 * start-up stops with both lists.
 */
export async function migrate(db: DB, log?: { warn(msg: string): void }): Promise<void> {
  if (await migratedByNewer(db, log)) return;
  const migrator = new Migrator({ db, provider: new StaticMigrationProvider() });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    // A newer release may have migrated while this one waited for the migrator's lock (an instance of the
    // previous release restarting during a rolling upgrade): the migrator then refuses the unknown names,
    // and the database is judged as one found so at start.
    if (!failed && (await migratedByNewer(db, log))) return;
    const which = failed ? `Migration ${failed.migrationName}` : 'Migrating the database';
    // Every pending migration runs in one transaction (PostgreSQL and PGlite both have transactional DDL):
    // a failure leaves the schema as it was, and the next start runs them again.
    throw appError('MIGRATION_FAILED', `${which} failed: ${String((error as Error)?.message ?? error)}. Nothing was changed (the pending migrations are rolled back together): fix the cause, then start again.`);
  }
}

/**
 * True (after a warning) when the database holds migrations this release does not know besides all of its
 * own; throws DATABASE_TOO_NEW when one of its own is missing besides; false when there is none unknown.
 */
async function migratedByNewer(db: DB, log?: { warn(msg: string): void }): Promise<boolean> {
  const known = Object.keys(MIGRATIONS);
  const executed = await executedMigrations(db);
  const newer = executed.filter((name) => !(name in MIGRATIONS));
  if (!newer.length) return false;
  const missing = known.filter((name) => !executed.includes(name));
  if (missing.length) {
    throw appError('DATABASE_TOO_NEW', `The database holds migrations of a newer release (${newer.join(', ')}) but not ${missing.join(', ')} of this one: start the newer release, or restore a backup taken before it`);
  }
  log?.warn(`the database was migrated by a newer release (${newer.join(', ')}); this release runs on it without migrating`);
  return true;
}

/** The migrations recorded in the database (none before the first start). */
async function executedMigrations(db: DB): Promise<string[]> {
  const { rows } = await sql<{ exists: boolean }>`SELECT to_regclass('kysely_migration') IS NOT NULL AS exists`.execute(db);
  if (!rows[0]?.exists) return [];
  const names = await sql<{ name: string }>`SELECT name FROM kysely_migration`.execute(db);
  return names.rows.map((r) => r.name);
}
