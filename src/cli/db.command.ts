import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config/env.ts';
import { privateUmask, securePrivateDir } from '../config/private-files.ts';
import { acquireDataDirLock } from '../db/data-dir-lock.ts';
import { openDatabase } from '../db/database.ts';
import { freezeOtherDatabases, runMaintenance } from '../db/pglite-maintenance.ts';
import { CliError } from './admin-ops.ts';

/**
 * `wajah db maintain`: what the running server's maintenance job does (VACUUM, ANALYZE, freezing, by
 * autovacuum's rules; db/pglite-maintenance.ts), on a stopped embedded database, plus what it cannot do: freeze
 * template0 and template1, which hold the wraparound horizon too (docs/foundation.md). PostgreSQL has autovacuum.
 *
 * @example npx wajah db maintain
 */
export function registerDbCommands(program: Command): void {
  program
    .command('db')
    .description('embedded database upkeep')
    .command('maintain')
    .description('VACUUM, ANALYZE and freeze the embedded database, template databases included (stop the server first)')
    .option('--freeze', 'freeze every table of this database too, whatever its age')
    .action(async (opts: { freeze?: boolean }) => {
      privateUmask();
      const g = program.opts<{ dataDir?: string }>();
      const config = loadConfig({ ...process.env, ...(g.dataDir ? { WAJAH_DATA_DIR: g.dataDir } : {}) });
      if (config.databaseUrl) {
        console.error('wajah: DATABASE_URL is set: PostgreSQL runs autovacuum itself, nothing to do');
        return;
      }
      const pgDir = path.join(config.dataDir, 'pg');
      if (!fs.existsSync(path.join(pgDir, 'PG_VERSION'))) throw new CliError('NO_DATABASE', `No database in ${config.dataDir} (set WAJAH_DATA_DIR or --data-dir)`);
      // Held across both steps (the database handle below takes it again as a no-op): DATA_DIR_LOCKED while a server runs.
      const release = acquireDataDirLock(config.dataDir, 'cli');
      try {
        for (const d of await freezeOtherDatabases(pgDir)) console.error(`wajah: VACUUM (FREEZE) database ${d.name} (xid age ${d.xidAgeBefore} → ${d.xidAgeAfter}) in ${d.ms} ms`);
        const database = await openDatabase({ databaseUrl: null, pgliteDir: pgDir, lockKind: 'cli' });
        try {
          const report = await runMaintenance(database.db, {
            everything: true,
            ...(opts.freeze ? { freezeAge: -1 } : {}),
            onStep: (s) => console.error(`wajah: ${s.statement} ${s.table} (${s.reason}; ${s.deadBefore} dead tuples, xid age ${s.xidAgeBefore}) in ${s.ms} ms`),
          });
          console.log(JSON.stringify({ tables: report.steps.length, ms: report.ms, database_xid_age: report.databaseXidAge, oldest_other_database: report.oldestOther }));
        } finally {
          await database.close();
        }
      } finally {
        release();
        // The embedded database writes its files 0666 whatever the umask (as after `wajah restore`).
        securePrivateDir(config.dataDir);
      }
    });
}
