/**
 * The key files of a master-key rotation in the data directory, written so that a crash at any step
 * leaves a state the next run (or the operator) can finish:
 *
 *   1. the new key is staged in `master.key.next` (0600, fsynced) before the database changes;
 *   2. the database is re-sealed and its check value set to the new key's, in one transaction;
 *   3. the old key is copied to `master.key.old-<fingerprint>`, then `master.key.next` is renamed
 *      over `master.key` (atomic).
 *
 * Crash before 2 commits: the database and master.key are still the old key's; the staged file is
 * replaced on the next run. Crash after 2, before 3: the database is the staged key's; the server
 * refuses master.key (MASTER_KEY_MISMATCH) and `wajah keys rotate-master` finishes step 3.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { MASTER_KEY_FILE, parseKey } from './template-cipher.ts';
import { fingerprint, keyCheckValue } from './key-check.ts';

export const STAGED_KEY_FILE = `${MASTER_KEY_FILE}.next`;

export const keyFile = (dataDir: string) => path.join(dataDir, MASTER_KEY_FILE);
export const stagedKeyFile = (dataDir: string) => path.join(dataDir, STAGED_KEY_FILE);
export const oldKeyFile = (dataDir: string, oldKey: Buffer) => path.join(dataDir, `${MASTER_KEY_FILE}.old-${fingerprint(keyCheckValue(oldKey))}`);

/** A key file as loadMasterKey reads it: 64 hex characters, base64, or 32 raw bytes. */
export function readKeyFile(file: string): Buffer {
  const raw = fs.readFileSync(file);
  if (raw.length === 32) return raw;
  return parseKey(raw.toString('utf8'));
}

/** Writes `key` to `file` (hex, 0600) through a synced temporary file and a rename: complete or absent. */
export function writeKeyFile(file: string, key: Buffer): void {
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeSync(fd, `${key.toString('hex')}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  syncDir(path.dirname(file));
}

export function readStagedKey(dataDir: string): Buffer | null {
  return fs.existsSync(stagedKeyFile(dataDir)) ? readKeyFile(stagedKeyFile(dataDir)) : null;
}

/** Step 3: keeps the old key beside the data, then puts the staged key in place of master.key. Idempotent. */
export function installStagedKey(dataDir: string, oldKey: Buffer): { oldKeyFile: string } {
  const old = oldKeyFile(dataDir, oldKey);
  if (!fs.existsSync(old)) writeKeyFile(old, oldKey);
  fs.renameSync(stagedKeyFile(dataDir), keyFile(dataDir));
  syncDir(dataDir);
  return { oldKeyFile: old };
}

function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
