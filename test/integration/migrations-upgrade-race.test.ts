import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import pg from 'pg';
import { backendNames, createBackend } from '../helpers/backends.ts';
import { openDatabase, type DatabaseOptions } from '../../src/db/database.ts';

/** Kysely's migration lock on PostgreSQL (PostgresAdapter.acquireMigrationLock). */
const MIGRATOR_LOCK = '3853314791062309107';

/**
 * A rolling upgrade (docs/operations.md, "Upgrading", step 3): an instance of the previous release restarts
 * at the moment the first instance of the new release migrates. It saw no unknown migration before it
 * queued for the migrator's lock, and finds one once it holds it. It must start on the additive schema
 * as one that restarts a second later does, not stop with Kysely's "corrupted migrations".
 */
describe('an older release starting while a newer one migrates', { skip: !backendNames().includes('postgres') && 'PostgreSQL not available' }, () => {
  test('waits for the migration, then starts on the newer schema with a warning', async () => {
    const b = await createBackend('postgres');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-upgrade-race-'));
    const options: DatabaseOptions = { databaseUrl: b.databaseUrl, pgliteDir: path.join(dir, 'pg'), lockKind: 'cli' };
    const newer = new pg.Client({ connectionString: b.databaseUrl! });
    await newer.connect();
    try {
      await (await openDatabase(options)).close();
      // The newer release holds the migrator's lock and migrates (not committed yet).
      await newer.query(`SELECT pg_advisory_lock(${MIGRATOR_LOCK})`);
      await newer.query('BEGIN');
      await newer.query('ALTER TABLE users ADD COLUMN nickname text');
      await newer.query(`INSERT INTO kysely_migration (name, timestamp) VALUES ('0999-newer-release', now()::text)`);

      const warnings: string[] = [];
      const older = openDatabase({ ...options, log: { warn: (m) => warnings.push(m) } });
      older.catch(() => {});
      // Until the older one waits for the migrator's lock.
      for (let i = 0; ; i++) {
        const { rows } = await newer.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`);
        if (rows.length) break;
        assert.ok(i < 300, 'the older release never queued for the migration lock');
        await new Promise((r) => setTimeout(r, 100));
      }
      await newer.query('COMMIT');
      await newer.query(`SELECT pg_advisory_unlock(${MIGRATOR_LOCK})`);

      const db = await older;
      try {
        assert.ok(warnings.some((w) => w.includes('0999-newer-release')), warnings.join('\n'));
      } finally {
        await db.close();
      }
    } finally {
      await newer.end();
      await b.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
