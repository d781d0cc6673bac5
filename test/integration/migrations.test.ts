import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { backendNames, createBackend } from '../helpers/backends.ts';
import { openDatabase, type DatabaseOptions } from '../../src/db/database.ts';

/**
 * A rolling upgrade (docs/operations.md, "Upgrades"): the first instance of the new release migrates the
 * database while instances of the previous release still run. One of those that restarts then (a crash,
 * a rescheduled pod), or a rollback to the previous release, opens a database holding a migration it does
 * not know. Migrations are additive, so it must start; it stopped with "corrupted migrations" before.
 */
for (const backend of backendNames()) {
  describe(`a database migrated by a newer release [${backend}]`, () => {
    test('an older release starts on it (with a warning); one missing its own migrations is refused clearly', async () => {
      const b = await createBackend(backend);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-migrations-'));
      const options: DatabaseOptions = { databaseUrl: b.databaseUrl, pgliteDir: path.join(dir, 'pg'), lockKind: 'cli' };
      try {
        let db = await openDatabase(options);
        // What the newer release did: an additive change and its migration's row.
        await sql`ALTER TABLE users ADD COLUMN nickname text`.execute(db.db);
        await sql`INSERT INTO kysely_migration (name, timestamp) VALUES ('0999-newer-release', ${new Date().toISOString()})`.execute(db.db);
        await db.close();

        const warnings: string[] = [];
        db = await openDatabase({ ...options, log: { warn: (m) => warnings.push(m) } });
        const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM users`.execute(db.db);
        assert.equal(rows[0].n, 0, 'the database is usable');
        assert.ok(warnings.some((w) => w.includes('0999-newer-release')), warnings.join('\n'));
        // A database that lacks one of this release's own migrations cannot be reconciled.
        await sql`DELETE FROM kysely_migration WHERE name = '0012-user-data-lifecycle'`.execute(db.db);
        await db.close();
        await assert.rejects(openDatabase(options), /newer release \(0999-newer-release\) but not 0012-user-data-lifecycle/);
      } finally {
        await b.cleanup();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
