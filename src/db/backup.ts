import fs from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { PGlite } from '@electric-sql/pglite';
import { appError } from '../errors.ts';
import { acquireDataDirLock } from './data-dir-lock.ts';

/**
 * The gzip stream is whole: read to its end and its checksum (the output is discarded). A truncated or
 * damaged file is refused here; PGlite's own reading of it failed with an empty message and left an
 * error nothing caught (a stray TypeError in the CLI, a crash in a longer-lived process).
 */
async function assertWholeGzip(archive: Buffer): Promise<void> {
  try {
    await pipeline(Readable.from([archive]), zlib.createGunzip(), new Writable({ write: (_chunk, _enc, done) => done() }));
  } catch (e) {
    throw appError('BACKUP_INVALID', `The backup file is damaged or cut short (${(e as Error).message}); nothing was changed`);
  }
}

/** File name of a backup taken now: wajah-backup-2026-12-04T05-40-00Z.tar.gz. */
export function backupFileName(now = new Date()): string {
  return `wajah-backup-${now.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '-')}.tar.gz`;
}

/**
 * Restores a backup of the embedded database (GET /api/admin/backup/, `wajah backup`) into `dataDir/pg`.
 * No server may run on the directory (its lock is taken for the duration). A directory that already holds
 * a database is refused unless `force`, and then kept beside as `pg.before-restore-<time>`, never deleted.
 * The master key is not in a backup: the restored data opens only with the key it was sealed with
 * (the server checks its fingerprint at start, MASTER_KEY_MISMATCH otherwise).
 */
export async function restoreEmbedded(dataDir: string, archive: Buffer, options: { force?: boolean } = {}): Promise<{ keptAs: string | null }> {
  // gzip magic: anything else is not a backup (PGlite would fail later with a less clear message).
  if (archive.length < 64 || archive[0] !== 0x1f || archive[1] !== 0x8b) throw appError('BACKUP_INVALID', 'The file is not a gzipped backup (wajah backup writes .tar.gz)');
  await assertWholeGzip(archive);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const release = acquireDataDirLock(dataDir, 'cli', () => `another Wajah process holds ${dataDir}: stop the server before restoring`);
  try {
    const pgDir = path.join(dataDir, 'pg');
    let keptAs: string | null = null;
    if (fs.existsSync(path.join(pgDir, 'PG_VERSION'))) {
      if (!options.force) throw appError('RESTORE_TARGET_NOT_EMPTY', `${pgDir} already holds a database; restore into an empty data directory, or pass --force to keep it aside and restore`);
      keptAs = `${pgDir}.before-restore-${Date.now()}`;
      fs.renameSync(pgDir, keptAs);
    } else if (fs.existsSync(pgDir)) {
      fs.rmSync(pgDir, { recursive: true });
    }
    let db: PGlite | null = null;
    try {
      db = await PGlite.create(pgDir, { loadDataDir: new Blob([new Uint8Array(archive)]) });
      await db.query('SELECT count(*) FROM kysely_migration');
    } catch (e) {
      await db?.close().catch(() => {});
      fs.rmSync(pgDir, { recursive: true, force: true });
      if (keptAs) fs.renameSync(keptAs, pgDir);
      throw appError('BACKUP_INVALID', `The backup could not be loaded (${(e as Error).message}); nothing was changed`);
    }
    await db.close();
    return { keptAs };
  } finally {
    release();
  }
}
