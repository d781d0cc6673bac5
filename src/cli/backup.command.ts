import fs from 'node:fs';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { Command } from 'commander';
import { loadConfig } from '../config/env.ts';
import { privateUmask, securePrivateDir } from '../config/private-files.ts';
import { restoreEmbedded, writeNewBackup } from '../db/backup.ts';
import { fingerprint, keyCheckValue } from '../crypto/key-check.ts';
import { parseKey } from '../crypto/template-cipher.ts';
import { readKeyFile } from '../crypto/master-key-files.ts';
import { openDatabase } from '../db/database.ts';
import { getInstanceSetting } from '../db/repositories/instance-settings.repository.ts';
import { CliError } from './admin-ops.ts';
import { findRunningServer, localUrl } from './runtime-file.ts';

/**
 * `wajah backup` and `wajah restore`: the embedded database (docs/operations.md, "Backup and restore").
 * Backup works while the server runs (through its admin API, which dumps consistently) or on a stopped
 * data directory; restore needs the server stopped. PostgreSQL deployments use pg_dump / pg_restore.
 * The master key is never part of a backup: keep master.key (or WAJAH_MASTER_KEY) apart, safely.
 *
 * @example npx wajah backup --out /backups/   then   npx wajah restore --from /backups/wajah-backup-….tar.gz
 */
export function registerBackupCommands(program: Command): void {
  program
    .command('backup')
    .description('back up the embedded database to a .tar.gz (the server may keep running); PostgreSQL: use pg_dump')
    .option('--out <path>', 'file, or directory to write wajah-backup-<time>.tar.gz into', '.')
    .action(async (opts: { out: string }) => {
      const config = configFor(program);
      if (config.databaseUrl) throw new CliError('BACKUP_UNAVAILABLE', 'DATABASE_URL is set: back up PostgreSQL with pg_dump -Fc (docs/operations.md)');
      // Where it goes is checked before the dump (which may be large), and said plainly when missing.
      const outIsDir = fs.existsSync(opts.out) && fs.statSync(opts.out).isDirectory();
      const outDir = outIsDir ? opts.out : path.dirname(opts.out);
      if (!fs.existsSync(outDir) || !fs.statSync(outDir).isDirectory()) throw new CliError('NOT_FOUND', `No directory ${outDir} to write the backup into (--out)`);
      let archive: Buffer;
      let keyFingerprint: string | null;
      const running = findRunningServer(config.dataDir);
      if (running) {
        const res = await fetch(`${localUrl(running)}/admin/backup/`, { headers: { authorization: `Bearer ${running.token}`, 'x-wajah-actor': 'cli' } }).catch((e: Error) => {
          throw new CliError('SERVER_UNREACHABLE', `Cannot reach the server on ${config.dataDir} (${e.message})`);
        });
        if (!res.ok) {
          const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
          throw new CliError(body.code ?? String(res.status), body.message ?? res.statusText);
        }
        archive = Buffer.from(await res.arrayBuffer());
        keyFingerprint = res.headers.get('x-wajah-master-key-fingerprint');
        console.error(`wajah: backup through the running server (pid ${running.pid})`);
      } else {
        if (!fs.existsSync(path.join(config.dataDir, 'pg', 'PG_VERSION'))) throw new CliError('NO_DATABASE', `No database in ${config.dataDir} (set WAJAH_DATA_DIR or --data-dir)`);
        const database = await openDatabase({ databaseUrl: null, pgliteDir: path.join(config.dataDir, 'pg'), lockKind: 'cli' });
        try {
          archive = Buffer.from(await (await database.dumpEmbedded!()).arrayBuffer());
          const kcv = await getInstanceSetting(database.db, 'master_key_check');
          keyFingerprint = kcv ? fingerprint(kcv) : null;
        } finally {
          await database.close();
        }
        console.error(`wajah: backup of the stopped data directory ${config.dataDir}`);
      }
      // Private (0600) even over an existing file, whose mode a plain write kept; written whole or not at all
      // (a temporary file renamed into place), so a crash never leaves a truncated backup under the name.
      // Into a directory, under a name no other backup has (two in one second each keep their own file).
      const write = (file: string, data: Uint8Array) => writeFileAtomic.sync(file, Buffer.from(data.buffer, data.byteOffset, data.byteLength), { mode: 0o600 });
      let target = opts.out;
      try {
        if (outIsDir) target = writeNewBackup(opts.out, archive, write);
        else write(target, archive);
      } catch (e) {
        throw new CliError('BACKUP_NOT_WRITTEN', `Cannot write ${target} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); no backup was written`);
      }
      console.log(JSON.stringify({ file: path.resolve(target), bytes: archive.length, master_key_fingerprint: keyFingerprint }));
      console.error(`wajah: the backup does not contain the master key; it opens only with the key of fingerprint ${keyFingerprint ?? '(none yet)'}`);
    });

  program
    .command('restore')
    .description('restore a backup into the data directory (stop the server first)')
    .requiredOption('--from <file>', 'a .tar.gz written by `wajah backup`')
    .option('--force', 'the data directory already holds a database: keep it aside as pg.before-restore-<time> and restore')
    .action(async (opts: { from: string; force?: boolean }) => {
      const config = configFor(program);
      if (config.databaseUrl) throw new CliError('BACKUP_UNAVAILABLE', 'DATABASE_URL is set: restore PostgreSQL with pg_restore (docs/operations.md)');
      if (!fs.existsSync(opts.from) || !fs.statSync(opts.from).isFile()) throw new CliError('NOT_FOUND', `No file ${opts.from}`);
      const keyFile = path.join(config.dataDir, 'master.key');
      // The configured key (a key file that holds no usable key is said on stderr and counts as none): a backup
      // sealed with another key is refused before anything is replaced (MASTER_KEY_MISMATCH).
      const have = configuredKeyFingerprint(config.masterKey, keyFile);
      try {
        // Loaded, migrated and judged beside the data directory's database, then swapped in (src/db/backup.ts).
        const { keptAs, counts, masterKeyFingerprint: needs } = await restoreEmbedded(config.dataDir, await fs.openAsBlob(opts.from), { force: opts.force, keyFingerprint: have });
        console.log(JSON.stringify({ restored: path.resolve(opts.from), data_dir: config.dataDir, kept_aside: keptAs, counts, master_key_fingerprint: needs, master_key_present: have !== null && have === needs }));
        if (needs && have !== needs) {
          console.error(`wajah: the restored data needs the master key of fingerprint ${needs}; ${have ? `the configured key is ${have}` : 'no key is configured'}: put it in ${keyFile} or WAJAH_MASTER_KEY before starting the server`);
        }
      } finally {
        // The embedded database writes its files 0666 whatever the umask (the server tightens them when it
        // starts): the restored templates and personal data are the service user's alone at once.
        securePrivateDir(config.dataDir);
      }
    });
}

/**
 * The fingerprint of the configured master key (WAJAH_MASTER_KEY, else master.key in any form the server reads:
 * hex, base64 or 32 raw bytes), or null when there is none or it is unusable (said on stderr).
 */
function configuredKeyFingerprint(masterKey: string | null, keyFile: string): string | null {
  try {
    const key = masterKey ? parseKey(masterKey) : fs.existsSync(keyFile) ? readKeyFile(keyFile) : null;
    return key ? fingerprint(keyCheckValue(key)) : null;
  } catch (e) {
    console.error(`wajah: ${masterKey ? 'WAJAH_MASTER_KEY' : keyFile} does not hold a usable master key (${(e as Error).message})`);
    return null;
  }
}

function configFor(program: Command) {
  privateUmask();
  const g = program.opts<{ dataDir?: string }>();
  return loadConfig({ ...process.env, ...(g.dataDir ? { WAJAH_DATA_DIR: g.dataDir } : {}) });
}
