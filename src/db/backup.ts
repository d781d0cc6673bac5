import fs from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { PGlite } from '@electric-sql/pglite';
import * as tar from 'tar';
import { fingerprint } from '../crypto/key-check.ts';
import { appError, isAppError } from '../errors.ts';
import { openDatabase } from './database.ts';
import { getInstanceSetting } from './repositories/instance-settings.repository.ts';
import { acquireDataDirLock } from './data-dir-lock.ts';
import { markRestoreReady } from './restore-recovery.ts';

/**
 * The gzip stream is whole: read to its end and its checksum (the output is discarded). A truncated or
 * damaged file is refused here; PGlite's own reading of it failed with an empty message and left an
 * error nothing caught (a stray TypeError in the CLI, a crash in a longer-lived process).
 */
async function assertWholeGzip(archive: Blob): Promise<void> {
  try {
    await pipeline(Readable.fromWeb(archive.stream() as import('node:stream/web').ReadableStream), zlib.createGunzip(), new Writable({ write: (_chunk, _enc, done) => done() }));
  } catch (e) {
    throw appError('BACKUP_INVALID', `The backup file is damaged or cut short (${(e as Error).message}); nothing was changed`);
  }
}

/** File name of a backup taken now: wajah-backup-2026-12-04T05-40-00Z.tar.gz (with `n` > 1: …-00Z-2.tar.gz). */
export function backupFileName(now = new Date(), n = 1): string {
  return `wajah-backup-${now.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '-')}${n > 1 ? `-${n}` : ''}.tar.gz`;
}

/**
 * Writes `archive` into `dir` under a backup file name of its own (backupFileName): never over an existing
 * file, even one written the same second by another `wajah backup` (it gets -2, -3, …). The archive is
 * written whole to a private (0600) temporary file with `write` (an atomic writer), then given its name
 * with link(2), which fails rather than replace a file. Returns the path.
 */
export function writeNewBackup(dir: string, archive: Uint8Array, write: (file: string, data: Uint8Array) => void, now = new Date()): string {
  const tmp = path.join(dir, `.wajah-backup-${process.pid}-${Date.now()}.tmp`);
  write(tmp, archive);
  try {
    for (let n = 1; ; n++) {
      const target = path.join(dir, backupFileName(now, n));
      try {
        fs.linkSync(tmp, target);
        return target;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || n >= 1000) throw e;
      }
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** What a restore put in place: the counts a report names, and the master key the data needs. */
export interface RestoreResult {
  keptAs: string | null;
  counts: { clients: number; users: number; face_templates: number };
  /** Fingerprint of the key the restored data was sealed with (null: the backup holds no sealed data yet). */
  masterKeyFingerprint: string | null;
}

/**
 * Restores a backup of the embedded database (GET /api/admin/backup/, `wajah backup`) into `dataDir/pg`.
 * No server may run on the directory (its lock is taken for the duration). A directory that already holds
 * a database is refused unless `force`, and then kept beside as `pg.before-restore-<time>`, never deleted.
 *
 * The backup is loaded, migrated to this release and judged in a staging directory (`dataDir/.restore-<time>`)
 * first; only a database that opens as the server would open it is swapped in, by renames on one file system.
 * So a backup that cannot be loaded (BACKUP_INVALID), migrated (MIGRATION_FAILED, DATABASE_TOO_NEW) or opened
 * with the configured master key (MASTER_KEY_MISMATCH, when `keyFingerprint` names one) changes nothing, and a
 * crash during the load leaves the existing database untouched (the staging directory left behind is removed by
 * the next restore). The master key is not in a backup: the restored data opens only with the key it was
 * sealed with (the server checks its fingerprint at start). `archive` is best a file-backed Blob
 * (fs.openAsBlob): it is read as a stream twice, for the gzip check and to unpack it (unpackBackup), and
 * never held in memory whole.
 */
export async function restoreEmbedded(
  dataDir: string,
  archive: Blob,
  options: { force?: boolean; keyFingerprint?: string | null } = {},
): Promise<RestoreResult> {
  // gzip magic: anything else is not a backup (PGlite would fail later with a less clear message).
  const magic = new Uint8Array(await archive.slice(0, 2).arrayBuffer());
  if (archive.size < 64 || magic[0] !== 0x1f || magic[1] !== 0x8b) throw appError('BACKUP_INVALID', 'The file is not a gzipped backup (wajah backup writes .tar.gz)');
  await assertWholeGzip(archive);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // The lock's message says the directory and "stop it first"; this names who holds it.
  const release = acquireDataDirLock(dataDir, 'cli', (o) => `a running Wajah ${o.kind} (pid ${o.pid}), and a backup is restored only into a directory no server uses`);
  try {
    const pgDir = path.join(dataDir, 'pg');
    const hasDatabase = fs.existsSync(path.join(pgDir, 'PG_VERSION'));
    if (hasDatabase && !options.force) throw appError('RESTORE_TARGET_NOT_EMPTY', `${pgDir} already holds a database; restore into an empty data directory, or pass --force to keep it aside and restore`);
    // Staging directories of restores that were interrupted (they never replaced anything): ours to remove.
    for (const name of fs.readdirSync(dataDir)) if (name.startsWith('.restore-')) fs.rmSync(path.join(dataDir, name), { recursive: true, force: true });
    const staging = path.join(dataDir, `.restore-${Date.now()}`);
    fs.mkdirSync(staging, { mode: 0o700 });
    const stagedPg = path.join(staging, 'pg');
    let judged: Omit<RestoreResult, 'keptAs'>;
    try {
      judged = await loadAndJudge(stagedPg, archive, options.keyFingerprint ?? null);
    } catch (e) {
      fs.rmSync(staging, { recursive: true, force: true });
      throw e;
    }
    // From here a crash is finished by the next open of the data directory (restore-recovery.ts).
    markRestoreReady(staging);
    let keptAs: string | null = null;
    if (hasDatabase) {
      keptAs = `${pgDir}.before-restore-${Date.now()}`;
      fs.renameSync(pgDir, keptAs);
    } else if (fs.existsSync(pgDir)) {
      fs.rmSync(pgDir, { recursive: true });
    }
    fs.renameSync(stagedPg, pgDir);
    fs.rmSync(staging, { recursive: true, force: true });
    return { keptAs, ...judged };
  } finally {
    release();
  }
}

/**
 * The backup's files written into `pgDir` as they are read: the tarball `wajah backup` writes (PGlite's
 * dumpDataDir: entries named from the root, "/PG_VERSION", "/base/1/112", …), regular files and directories
 * only, as PGlite's own loader takes them, with their times. PGlite's loader (`loadDataDir`) held the whole
 * file, then the whole unpacked tar twice, in memory: a 174 MB backup peaked at 1.0–1.4 GB. node-tar strips
 * the leading "/" and refuses entries that would land outside `pgDir` ("..").
 */
async function unpackBackup(pgDir: string, archive: Blob): Promise<void> {
  fs.mkdirSync(pgDir, { recursive: true, mode: 0o700 });
  // Any warning but the note that the leading "/" was stripped (every entry of such a backup) refuses it.
  const warnings: string[] = [];
  const onwarn = (code: string, message: string | Error) => {
    if (code !== 'TAR_ENTRY_INFO') warnings.push(`${code}: ${message instanceof Error ? message.message : message}`);
  };
  await pipeline(
    Readable.fromWeb(archive.stream() as import('node:stream/web').ReadableStream),
    tar.x({ cwd: pgDir, umask: 0o077, onwarn, filter: (_path, entry) => 'type' in entry && (entry.type === 'File' || entry.type === 'Directory') }),
  );
  if (warnings.length) throw new Error(warnings.slice(0, 3).join('; '));
  if (!fs.existsSync(path.join(pgDir, 'PG_VERSION'))) throw new Error('no PG_VERSION in the archive: not a database backup');
}

/**
 * Loads the backup into `pgDir` (a staging directory), opens it as the server would (this release's migrations)
 * and reads what a restore reports; throws, coded, when it must not be swapped in.
 */
async function loadAndJudge(pgDir: string, archive: Blob, keyFingerprint: string | null): Promise<Omit<RestoreResult, 'keptAs'>> {
  let db: PGlite | null = null;
  try {
    await unpackBackup(pgDir, archive);
    db = await PGlite.create(pgDir);
    await db.query('SELECT count(*) FROM kysely_migration');
  } catch (e) {
    await db?.close().catch(() => {});
    throw appError('BACKUP_INVALID', `The backup could not be loaded (${(e as Error).message}); nothing was changed`);
  }
  await db.close();
  let database;
  try {
    database = await openDatabase({ databaseUrl: null, pgliteDir: pgDir, lockKind: 'cli' });
  } catch (e) {
    if (isAppError(e)) throw appError(e.code, `${e.message} (the backup was not restored; nothing was changed)`);
    throw e;
  }
  try {
    const counts = await database.db
      .selectNoFrom((eb) => [
        eb.selectFrom('clients').select(eb.fn.countAll<number>().as('n')).as('clients'),
        eb.selectFrom('users').select(eb.fn.countAll<number>().as('n')).as('users'),
        eb.selectFrom('face_templates').select(eb.fn.countAll<number>().as('n')).as('face_templates'),
      ])
      .executeTakeFirstOrThrow();
    const kcv = await getInstanceSetting(database.db, 'master_key_check');
    const needs = kcv ? fingerprint(kcv) : null;
    if (needs && keyFingerprint && needs !== keyFingerprint) {
      throw appError(
        'MASTER_KEY_MISMATCH',
        `The backup was sealed with the master key of fingerprint ${needs}, the configured key is ${keyFingerprint}: put the backup's key in master.key or WAJAH_MASTER_KEY (keep the current one too), or restore into another data directory. Nothing was changed`,
      );
    }
    return { counts: { clients: Number(counts.clients), users: Number(counts.users), face_templates: Number(counts.face_templates) }, masterKeyFingerprint: needs };
  } finally {
    await database.close();
  }
}
