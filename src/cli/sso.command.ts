import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig, type AppConfig } from '../config/env.ts';
import { privateUmask } from '../config/private-files.ts';
import { lazyMasterKey } from '../container.ts';
import { parseKey } from '../crypto/template-cipher.ts';
import { openDatabase } from '../db/database.ts';
import { isAppError } from '../errors.ts';
import { SIGNING_KEY_GRACE_SECONDS } from '../sso/provider.ts';
import { SecretBox } from '../sso/secret-box.ts';
import { describeSigningKeys, rotateSigningKey, type SigningKeyView } from '../sso/signing-keys.ts';
import { CliError } from './admin-ops.ts';

/**
 * `wajah sso rotate-signing-key` / `wajah sso signing-keys`: the OpenID Provider's signing keys (docs/sso.md,
 * Keys). Opens the database directly, while the servers run: on PostgreSQL they pick the new key up by
 * themselves; the embedded database is held by its one server, so stop it, rotate, start it again (the
 * schedule is kept in the database, so tokens keep verifying across the restart).
 *
 * @example npx wajah sso rotate-signing-key --json
 */
async function withSsoKeys<T>(program: Command, fn: (db: Awaited<ReturnType<typeof openDatabase>>['db'], box: SecretBox) => Promise<T>): Promise<T> {
  privateUmask();
  const g = program.opts<{ dataDir?: string }>();
  const env: NodeJS.ProcessEnv = { ...process.env, ...(g.dataDir ? { WAJAH_DATA_DIR: g.dataDir } : {}) };
  const config: AppConfig = loadConfig(env);
  const pgDir = path.join(config.dataDir, 'pg');
  if (!config.databaseUrl && !fs.existsSync(path.join(pgDir, 'PG_VERSION'))) {
    throw new CliError('NO_DATABASE', `No Wajah database in ${path.resolve(config.dataDir)}: check --data-dir / WAJAH_DATA_DIR`);
  }
  let database;
  try {
    database = await openDatabase({ databaseUrl: config.databaseUrl, pgliteDir: pgDir, lockKind: 'cli' });
  } catch (e) {
    if (isAppError(e) && e.code === 'DATA_DIR_LOCKED') throw new CliError('DATA_DIR_LOCKED', `${e.message}. The embedded database has one server: stop it, run this again, then start it.`);
    throw e;
  }
  console.error(`wajah: database ${database.dialect === 'postgres' ? 'PostgreSQL (DATABASE_URL)' : pgDir}`);
  const log = { info: () => {}, warn: (m: string) => console.error(m), error: (m: string) => console.error(m) };
  try {
    const box = new SecretBox(lazyMasterKey(config, log)(), config.masterKeyPrevious.map(parseKey));
    try {
      return await fn(database.db, box);
    } catch (e) {
      if (e instanceof Error && /unable to authenticate|unsupported state|unknown format/i.test(e.message)) {
        throw new CliError('MASTER_KEY_MISMATCH', 'This master key does not open the SSO signing keys: run with the servers\' WAJAH_MASTER_KEY (nothing was changed)');
      }
      throw e;
    }
  } finally {
    await database.close();
  }
}

const duration = (s: number) => (s >= 3600 ? `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min` : s >= 60 ? `${Math.round(s / 60)} min` : `${s} s`);

function keysText(keys: SigningKeyView[]): string {
  return keys
    .map((k) => `${k.kid.padEnd(12)} ${k.status.padEnd(8)} ${k.status === 'pending' ? `signs in ${duration(k.seconds!)}` : k.status === 'retiring' ? `published ${duration(k.seconds!)} more` : ''}`.trimEnd())
    .join('\n');
}

export function registerSsoCommands(program: Command): void {
  const sso = program.command('sso').description('the OpenID Provider (docs/sso.md)');
  sso
    .command('rotate-signing-key')
    .description('add a new ID-token signing key: published at once, signing in 2 min; the old key stays published until its tokens expire')
    .option('--json', 'print one JSON object')
    .action(async (o: { json?: boolean }) => {
      const r = await withSsoKeys(program, (db, box) => rotateSigningKey(db, box, SIGNING_KEY_GRACE_SECONDS));
      console.log(
        o.json
          ? JSON.stringify(r)
          : [
              `new signing key ${r.kid}: published now, signs in ${duration(r.signs_in)}`,
              r.replaces ? `replaces ${r.replaces.kid}: still published for ${duration(r.replaces.published_for)} (its ID tokens keep verifying), then removed` : '',
              '',
              keysText(r.keys),
            ]
              .filter((l, i) => l || i > 1)
              .join('\n'),
      );
    });
  sso
    .command('signing-keys')
    .description('list the published signing keys: the one signing, new ones not signing yet, replaced ones until they are removed')
    .option('--json', 'print a JSON array')
    .action(async (o: { json?: boolean }) => {
      const keys = await withSsoKeys(program, (db, box) => describeSigningKeys(db, box, SIGNING_KEY_GRACE_SECONDS));
      console.log(o.json ? JSON.stringify(keys) : keysText(keys));
    });
}
