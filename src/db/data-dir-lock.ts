/**
 * One owner per embedded-database directory: `${dataDir}/wajah.lock` holds the owner's pid and kind.
 * PGlite is one process's database; two processes writing it corrupt it (issue 9). The lock is taken
 * before the database opens, released when it closes or the process exits, and a lock left by a dead
 * process (kill -9, power loss) is taken over. Creation is atomic (link of a complete temporary file);
 * a takeover renames the stale file away first and checks that what it moved is the stale lock it judged:
 * of two processes racing for it, the one that moved the other's fresh lock puts it back and gives way.
 * A lock records the machine's boot id, so one left before a reboot is stale even when its pid now
 * belongs to another process (pids restart after a power loss).
 */
import fs from 'node:fs';
import path from 'node:path';
import { appError } from '../errors.ts';

export interface LockInfo {
  pid: number;
  kind: 'server' | 'cli';
  started_at: string;
  /** The kernel's boot id when the lock was taken (Linux); absent in older locks and elsewhere. */
  boot_id?: string;
}

/** This boot of the machine (Linux: a random id per boot), or null where there is none. */
function bootId(): string | null {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** Whether the lock's owner is a live process of this boot other than this one. */
function liveOwner(info: LockInfo | null): info is LockInfo {
  if (!info || info.pid === process.pid) return false;
  const boot = bootId();
  if (info.boot_id && boot && info.boot_id !== boot) return false; // taken before a reboot: its pid means nothing now
  return processAlive(info.pid);
}

export function lockPath(dataDir: string): string {
  return path.join(dataDir, 'wajah.lock');
}

export function readLock(dataDir: string): LockInfo | null {
  return parseLock(readRaw(lockPath(dataDir)));
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
  return liveOwner(info) ? info : null;
}

/** The locks this process holds: lock file → its data directory. */
const held = new Map<string, string>();

/** One 'exit' listener for every lock of the process, added with the first (not one per acquire: a
 * process that opens and closes databases again and again would pile them up). */
let releaseOnExit = false;

/** Takes the lock or throws DATA_DIR_LOCKED naming the live owner. Idempotent within one process. */
export function acquireDataDirLock(dataDir: string, kind: LockInfo['kind'], describeOwner: (o: LockInfo) => string = defaultDescribe): () => void {
  const file = lockPath(dataDir);
  if (held.has(file)) return () => {};
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  const boot = bootId();
  fs.writeFileSync(tmp, JSON.stringify({ pid: process.pid, kind, started_at: new Date().toISOString(), ...(boot ? { boot_id: boot } : {}) } satisfies LockInfo), { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        fs.linkSync(tmp, file);
        held.set(file, dataDir);
        if (!releaseOnExit) {
          releaseOnExit = true;
          process.once('exit', () => {
            for (const dir of [...held.values()]) releaseDataDirLock(dir);
          });
        }
        return () => releaseDataDirLock(dataDir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const seen = readRaw(file);
      const owner = parseLock(seen);
      const locked = (o: LockInfo) => appError('DATA_DIR_LOCKED', `${dataDir} is in use by ${describeOwner(o)}; stop it first, or point WAJAH_DATA_DIR elsewhere`, { pid: o.pid, kind: o.kind, data_dir: dataDir });
      if (liveOwner(owner)) throw locked(owner);
      // Stale (its process is gone) or unreadable half-written: move it away atomically, then retry.
      const moved = `${file}.stale.${process.pid}`;
      try {
        fs.renameSync(file, moved);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        continue;
      }
      const took = readRaw(moved);
      if (took !== seen) {
        // Another process took the stale lock over between our read and our rename: what we moved is its
        // fresh lock. Put it back (unless a third one got in meanwhile) and give way.
        try {
          fs.linkSync(moved, file);
        } catch {
          // EEXIST: the directory has an owner again either way.
        }
        fs.rmSync(moved, { force: true });
        const other = parseLock(took);
        if (liveOwner(other)) throw locked(other);
        continue;
      }
      fs.rmSync(moved, { force: true });
    }
    throw appError('DATA_DIR_LOCKED', `Could not take the lock of ${dataDir}`, { data_dir: dataDir });
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function readRaw(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function parseLock(raw: string | null): LockInfo | null {
  try {
    return raw === null ? null : (JSON.parse(raw) as LockInfo);
  } catch {
    return null;
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
