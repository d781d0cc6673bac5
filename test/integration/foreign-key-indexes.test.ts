import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { backendNames, createBackend } from '../helpers/backends.ts';
import { openDatabase } from '../../src/db/database.ts';

/**
 * Every foreign key of the schema has an index led by its columns (migration 0022). Without one, each row
 * deleted from the referenced table (a user, an enrollment, a session, a tenant) makes PostgreSQL read the
 * whole referencing table to cascade or to null the key: deleting one user read every attempt and every
 * session of the database (scripts/db-bench.ts, "user deleted"). A migration that adds a key without its
 * index fails here.
 */
for (const backend of backendNames()) {
  describe(`foreign keys [${backend}]`, () => {
    test('each has an index whose leading columns are the key, so a delete never reads a whole table', async () => {
      const b = await createBackend(backend);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-fk-'));
      const handle = await openDatabase({ databaseUrl: b.databaseUrl, pgliteDir: path.join(dir, 'pg'), lockKind: 'cli' });
      try {
        const { rows } = await sql<{ tbl: string; cols: string; indexed: boolean }>`
          SELECT c.conrelid::regclass::text AS tbl,
                 (SELECT string_agg(a.attname, ', ' ORDER BY k.n) FROM unnest(c.conkey) WITH ORDINALITY k(attnum, n)
                    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) AS cols,
                 EXISTS (
                   SELECT 1 FROM pg_index i
                   WHERE i.indrelid = c.conrelid
                     AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey
                     AND c.conkey @> (i.indkey::int2[])[0:cardinality(c.conkey) - 1]
                 ) AS indexed
          FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
          WHERE c.contype = 'f' AND n.nspname = current_schema()
          ORDER BY 1, 2`.execute(handle.db);
        assert.ok(rows.length >= 30, `the schema's foreign keys are listed (${rows.length})`);
        const missing = rows.filter((r) => !r.indexed).map((r) => `${r.tbl} (${r.cols})`);
        assert.deepEqual(missing, [], `foreign keys without an index led by their columns: ${missing.join('; ')}`);
      } finally {
        await handle.close();
        await b.cleanup();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
