import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { loadConfig, type AppConfig } from '../config/env.ts';
import { privateUmask } from '../config/private-files.ts';
import { fingerprint, keyCheckValue } from '../crypto/key-check.ts';
import { installStagedKey, keyFile, readKeyFile, readStagedKey, stagedKeyFile, writeKeyFile } from '../crypto/master-key-files.ts';
import { parseKey } from '../crypto/template-cipher.ts';
import { openDatabase } from '../db/database.ts';
import { getInstanceSetting } from '../db/repositories/instance-settings.repository.ts';
import { appError } from '../errors.ts';
import { rotateMasterKey, rotateMasterKeyOnline } from '../services/master-key-rotation.service.ts';
import { CliError } from './admin-ops.ts';

/**
 * `wajah keys rotate-master`: re-seals every template, photo, session vector and secret under a new
 * master key (docs/operations-keys.md). Offline by design: it takes the database alone (the data
 * directory's lock on the embedded database, the instance lock on PostgreSQL) and refuses while any
 * server runs on it, because a running server keeps sealing with the key it started with.
 *
 * @example npx wajah keys rotate-master                              # master.key: a new key is generated
 * @example WAJAH_MASTER_KEY=… npx wajah keys rotate-master --new-key-file new.key
 */
export interface RotateMasterOptions {
  /** A file with the new key (64 hex characters, base64 or 32 raw bytes). */
  newKeyFile?: string;
  /** The new key as text (WAJAH_NEW_MASTER_KEY). */
  newKey?: string;
  /** Tests: kill the process (SIGKILL) after this many values were re-sealed, before the commit. */
  crashAfter?: number;
  /** Tests: kill the process (SIGKILL) after the commit, before the key files are in place. */
  crashAfterCommit?: boolean;
  log?: (msg: string) => void;
}

export interface RotateMasterResult {
  /** rotated: done now; resumed: an earlier run had committed, its key files are now in place; unchanged: the database already used the new key. */
  outcome: 'rotated' | 'resumed' | 'unchanged';
  from: string | null;
  to: string;
  key_source: 'file' | 'env';
  master_key_file: string | null;
  old_key_file: string | null;
  resealed: Record<string, number>;
  database: string;
}

const KCV_SETTING = 'master_key_check';

export async function rotateMaster(config: AppConfig, o: RotateMasterOptions = {}): Promise<RotateMasterResult> {
  const fromEnv = Boolean(config.masterKey);
  const current = fromEnv ? parseKey(config.masterKey!) : readCurrentFile(config.dataDir);
  const given = newKeyFrom(o);
  if (fromEnv && !given) {
    throw appError('NEW_MASTER_KEY_INVALID', 'WAJAH_MASTER_KEY comes from the environment, so the new key must too: give it with --new-key-file <file> or WAJAH_NEW_MASTER_KEY (make one with `openssl rand -hex 32`).');
  }
  const pgDir = path.join(config.dataDir, 'pg');
  if (!config.databaseUrl && !fs.existsSync(path.join(pgDir, 'PG_VERSION'))) {
    throw new CliError('NO_DATABASE', `No Wajah database in ${path.resolve(config.dataDir)}: check --data-dir / WAJAH_DATA_DIR`);
  }
  // The embedded database's lock (DATA_DIR_LOCKED names a running server) or PostgreSQL's instance lock (DATABASE_IN_USE).
  const database = await openDatabase({ databaseUrl: config.databaseUrl, pgliteDir: pgDir, lockKind: 'cli', instanceLock: 'exclusive' });
  const where = database.dialect === 'postgres' ? 'PostgreSQL (DATABASE_URL)' : pgDir;
  const base = { key_source: fromEnv ? ('env' as const) : ('file' as const), database: where, master_key_file: fromEnv ? null : keyFile(config.dataDir) };
  try {
    const stored = await getInstanceSetting(database.db, KCV_SETTING);
    if (stored && stored !== keyCheckValue(current)) {
      // An earlier run committed: finish its key files, or report that there is nothing left to do.
      const staged = fromEnv ? null : readStagedKey(config.dataDir);
      if (staged && stored === keyCheckValue(staged)) {
        const { oldKeyFile } = installStagedKey(config.dataDir, current);
        return { ...base, outcome: 'resumed', from: fingerprint(keyCheckValue(current)), to: fingerprint(stored), old_key_file: oldKeyFile, resealed: {} };
      }
      if (given && stored === keyCheckValue(given)) {
        return { ...base, outcome: 'unchanged', from: null, to: fingerprint(stored), master_key_file: null, old_key_file: null, resealed: {} };
      }
      throw appError('MASTER_KEY_MISMATCH', `The current master key (fingerprint ${fingerprint(keyCheckValue(current))}) is not the one this database is sealed with (fingerprint ${fingerprint(stored)}): nothing was changed.`, {
        expected: fingerprint(stored),
        got: fingerprint(keyCheckValue(current)),
      });
    }
    const next = given ?? crypto.randomBytes(32);
    if (!fromEnv) writeKeyFile(stagedKeyFile(config.dataDir), next);
    o.log?.(`re-sealing ${where} under the new key ${fingerprint(keyCheckValue(next))}…`);
    const result = await rotateMasterKey(database.db, current, next, {
      onResealed: (n) => {
        if (o.crashAfter !== undefined && n >= o.crashAfter) process.kill(process.pid, 'SIGKILL');
      },
    });
    if (o.crashAfterCommit) process.kill(process.pid, 'SIGKILL');
    const old = fromEnv ? null : installStagedKey(config.dataDir, current).oldKeyFile;
    return { ...base, outcome: 'rotated', from: result.from, to: result.to, old_key_file: old, resealed: result.resealed };
  } finally {
    await database.close();
  }
}

/**
 * `--online`: the rotation while the servers run (PostgreSQL only). Every server has already been restarted
 * with the new key in WAJAH_MASTER_KEY and the old one in WAJAH_MASTER_KEY_PREVIOUS; this re-seals what is
 * still under the old key and records the new key. Then WAJAH_MASTER_KEY_PREVIOUS can be removed.
 */
export async function rotateMasterOnline(config: AppConfig, o: Pick<RotateMasterOptions, 'log' | 'crashAfter'> = {}): Promise<RotateMasterResult> {
  if (!config.databaseUrl) {
    throw new CliError('ONLINE_ROTATION_NEEDS_POSTGRES', 'The embedded database serves one server, which must be stopped anyway to change its key: use `wajah keys rotate-master` without --online (docs/operations-keys.md)');
  }
  if (!config.masterKey || config.masterKeyPrevious.length === 0) {
    throw appError('NEW_MASTER_KEY_INVALID', 'An online rotation needs WAJAH_MASTER_KEY set to the new key and WAJAH_MASTER_KEY_PREVIOUS to the old one, here and on every running server (docs/operations-keys.md)');
  }
  const database = await openDatabase({ databaseUrl: config.databaseUrl, pgliteDir: path.join(config.dataDir, 'pg'), lockKind: 'cli' });
  try {
    o.log?.('re-sealing the values still under the previous key, row by row, while the servers run…');
    const r = await rotateMasterKeyOnline(database.db, parseKey(config.masterKey), config.masterKeyPrevious.map(parseKey), {
      onResealed: (n) => {
        if (o.crashAfter !== undefined && n >= o.crashAfter) process.kill(process.pid, 'SIGKILL');
      },
    });
    return { outcome: 'rotated', from: r.from, to: r.to, key_source: 'env', master_key_file: null, old_key_file: null, resealed: r.resealed, database: 'PostgreSQL (DATABASE_URL)' };
  } finally {
    await database.close();
  }
}

function readCurrentFile(dataDir: string): Buffer {
  const file = keyFile(dataDir);
  if (!fs.existsSync(file)) {
    throw appError('MASTER_KEY_MISMATCH', `No master key to rotate: WAJAH_MASTER_KEY is unset and ${file} does not exist. Restore the current key first.`);
  }
  return readKeyFile(file);
}

function newKeyFrom(o: RotateMasterOptions): Buffer | null {
  try {
    if (o.newKeyFile) return readKeyFile(o.newKeyFile);
    if (o.newKey) return parseKey(o.newKey);
  } catch (e) {
    throw appError('NEW_MASTER_KEY_INVALID', `The new master key ${o.newKeyFile ? `in ${o.newKeyFile}` : '(WAJAH_NEW_MASTER_KEY)'} is unusable: ${(e as Error).message}. It must be 32 bytes: 64 hex characters, base64, or raw.`);
  }
  return null;
}

/** What the operator does next, in words. */
export function nextSteps(r: RotateMasterResult, shared: boolean): string {
  const lines = [
    r.outcome === 'unchanged'
      ? `The database is already sealed under key ${r.to}; nothing was changed.`
      : `Every sealed value in ${r.database} is now under the new master key (fingerprint ${r.to}${r.from ? `; was ${r.from}` : ''}).`,
  ];
  if (Object.keys(r.resealed).length) lines.push(`Re-sealed: ${Object.entries(r.resealed).map(([k, n]) => `${k} ${n}`).join(', ')}.`);
  if (r.key_source === 'file') {
    lines.push(`${r.master_key_file} holds the new key: back it up now.`);
    if (r.old_key_file) lines.push(`The old key is kept in ${r.old_key_file}: backups taken before now need it. Store it with them, or delete it.`);
    if (shared) lines.push('Every server sharing this database must get the new key (this master.key, or WAJAH_MASTER_KEY) before it starts.');
  } else {
    lines.push(`Set WAJAH_MASTER_KEY to the new key (fingerprint ${r.to}) on every server, then start them: with the old key they refuse to start (MASTER_KEY_MISMATCH).`);
    lines.push('Keep the old key only with backups taken before now.');
  }
  return lines.join('\n');
}

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}

export function registerRotateMasterCommand(keys: Command, program: Command): void {
  keys
    .command('rotate-master')
    .description('re-seal every template, photo and secret under a new master key (stop the servers first)')
    .option('--new-key-file <file>', 'the new key (64 hex characters or base64); default $WAJAH_NEW_MASTER_KEY, else generated into master.key')
    .option('--online', 'PostgreSQL: re-seal while the servers run, which already hold the new key (WAJAH_MASTER_KEY) and the old one (WAJAH_MASTER_KEY_PREVIOUS)')
    .option('--json', 'print one JSON object')
    .addOption(new Option('--crash-after <n>', 'tests: SIGKILL after n re-sealed values, before the commit').argParser(count).hideHelp())
    .addOption(new Option('--crash-after-commit', 'tests: SIGKILL after the commit, before the key files are in place').hideHelp())
    .action(async (o: { newKeyFile?: string; json?: boolean; online?: boolean; crashAfter?: number; crashAfterCommit?: boolean }) => {
      privateUmask();
      const g = program.opts<{ dataDir?: string }>();
      const env: NodeJS.ProcessEnv = { ...process.env, ...(g.dataDir ? { WAJAH_DATA_DIR: g.dataDir } : {}) };
      const config = loadConfig(env);
      if (o.online) {
        const r = await rotateMasterOnline(config, { crashAfter: o.crashAfter, log: (m) => console.error(`wajah: ${m}`) });
        console.log(o.json ? JSON.stringify(r) : `${nextSteps(r, true)}\nThen remove WAJAH_MASTER_KEY_PREVIOUS from every server (a rolling restart).`);
        return;
      }
      const r = await rotateMaster(config, { newKeyFile: o.newKeyFile, newKey: env.WAJAH_NEW_MASTER_KEY || undefined, crashAfter: o.crashAfter, crashAfterCommit: o.crashAfterCommit, log: (m) => console.error(`wajah: ${m}`) });
      console.log(o.json ? JSON.stringify(r) : nextSteps(r, Boolean(config.databaseUrl)));
    });
}
