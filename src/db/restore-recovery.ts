import fs from 'node:fs';
import path from 'node:path';

/**
 * A restore (backup.ts) loads and checks the backup in `${dataDir}/.restore-<time>/pg`, then swaps it in
 * with two renames: the current `pg/` aside, the staged one in its place. A crash between the two left no
 * `pg/`, and the next start made a new, empty database there: the server came up with no tenants, and the
 * checked backup was thrown away by the next restore. The staging directory is marked complete (this file,
 * written and synced after the checks, before the first rename); opening the data directory finishes such a
 * swap when `pg/` holds no database.
 */
const READY = 'ready';

/** Marks a staged restore as checked and complete (the swap may be finished from it after a crash). */
export function markRestoreReady(staging: string): void {
  const file = path.join(staging, READY);
  const fd = fs.openSync(file, 'w', 0o600);
  try {
    fs.writeSync(fd, new Date().toISOString());
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Finishes a restore interrupted between its two renames: when `pgDir` holds no database and a staging
 * directory of `dataDir` is marked ready, the newest one's database takes `pgDir`'s place. Call with the
 * data directory's lock held. Returns what it did, for the log (null: nothing to finish).
 */
export function finishInterruptedRestore(dataDir: string, pgDir: string): string | null {
  if (fs.existsSync(path.join(pgDir, 'PG_VERSION'))) return null;
  let names: string[];
  try {
    names = fs.readdirSync(dataDir);
  } catch {
    return null;
  }
  const staged = names
    .filter((n) => n.startsWith('.restore-') && fs.existsSync(path.join(dataDir, n, READY)) && fs.existsSync(path.join(dataDir, n, 'pg', 'PG_VERSION')))
    .sort((a, b) => Number(b.slice('.restore-'.length)) - Number(a.slice('.restore-'.length)));
  if (staged.length === 0) return null;
  const staging = path.join(dataDir, staged[0]);
  // A pg/ without PG_VERSION is no database (the restore removed such a directory before its rename too).
  fs.rmSync(pgDir, { recursive: true, force: true });
  fs.renameSync(path.join(staging, 'pg'), pgDir);
  fs.rmSync(staging, { recursive: true, force: true });
  return `finished a restore interrupted before its database was put in place: ${pgDir} now holds the backup checked in ${staging}`;
}
