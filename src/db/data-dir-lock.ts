/**
 * One owner per embedded-database directory: `${dataDir}/wajah.lock` holds the owner's pid and kind.
 * PGlite is one process's database; two processes writing it corrupt it (issue 9). The lock is taken
 * before the database opens, released when it closes or the process exits, and a lock left by a dead
 * process (kill -9, power loss) is taken over. Creation is atomic (link of a complete temporary file);
 * a takeover renames the stale file away first, so of two processes racing for it only one wins.
 */
import fs from 'node:fs';
import path from 'node:path';
import { appError } from '../errors.ts';

export interface LockInfo {
  pid: number;
  kind: 'server' | 'cli';
  started_at: string;
}

export function lockPath(dataDir: string): string {
  return path.join(dataDir, 'wajah.lock');
}

export function readLock(dataDir: string): LockInfo | null {
  try {
    return JSON.parse(fs.readFileSync(lockPath(dataDir), 'utf8')) as LockInfo;
  } catch {
    return null;
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The live owner of the directory's lock, or null (free, or left by a dead process). */
export function lockOwner(dataDir: string): LockInfo | null {
  const info = readLock(dataDir);
  return info && info.pid !== process.pid && processAlive(info.pid) ? info : null;
}

const held = new Set<string>();

/** Takes the lock or throws DATA_DIR_LOCKED naming the live owner. Idempotent within one process. */
export function acquireDataDirLock(dataDir: string, kind: LockInfo['kind'], describeOwner: (o: LockInfo) => string = defaultDescribe): () => void {
  const file = lockPath(dataDir);
  if (held.has(file)) return () => {};
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ pid: process.pid, kind, started_at: new Date().toISOString() } satisfies LockInfo), { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        fs.linkSync(tmp, file);
        held.add(file);
        const release = () => releaseDataDirLock(dataDir);
        process.once('exit', release);
        return release;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const owner = readLock(dataDir);
      if (owner && processAlive(owner.pid) && owner.pid !== process.pid) {
        throw appError('DATA_DIR_LOCKED', `${dataDir} is in use by ${describeOwner(owner)}; stop it first, or point WAJAH_DATA_DIR elsewhere`, { pid: owner.pid, kind: owner.kind, data_dir: dataDir });
      }
      // Stale (its process is gone) or unreadable half-written: move it away atomically, then retry.
      try {
        fs.renameSync(file, `${file}.stale.${process.pid}`);
        fs.rmSync(`${file}.stale.${process.pid}`, { force: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    throw appError('DATA_DIR_LOCKED', `Could not take the lock of ${dataDir}`, { data_dir: dataDir });
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

export function releaseDataDirLock(dataDir: string): void {
  const file = lockPath(dataDir);
  if (!held.delete(file)) return;
  const info = readLock(dataDir);
  if (info?.pid === process.pid) fs.rmSync(file, { force: true });
}

function defaultDescribe(o: LockInfo): string {
  return `a running Wajah ${o.kind} (pid ${o.pid}, since ${o.started_at})`;
}
