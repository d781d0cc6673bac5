import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { backendNames, createBackend } from '../helpers/backends.ts';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.ts';
import { countSessionAttempts } from '../../src/db/repositories/attempts.repository.ts';

/**
 * Lookups that grow with the whole database's history find their rows by index (migrations 0022, 0023).
 * Without one, PostgreSQL reads the whole table on every call, inside write transactions that the embedded
 * database runs one at a time (scripts/db-bench.ts measures both: "user deleted", "a session's attempts
 * counted").
 */
for (const backend of backendNames()) {
  describe(`lookup indexes [${backend}]`, () => {
    let handle: DatabaseHandle;
    let cleanup: () => Promise<void>;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-lookup-'));

    test('setup', async () => {
      const b = await createBackend(backend);
      handle = await openDatabase({ databaseUrl: b.databaseUrl, pgliteDir: path.join(dir, 'pg'), lockKind: 'cli' });
      cleanup = async () => {
        await handle.close();
        await b.cleanup();
        fs.rmSync(dir, { recursive: true, force: true });
      };
    });

    /**
     * Each row deleted from a referenced table (a user, an enrollment, a session, a tenant) makes PostgreSQL
     * find the rows that name it, to cascade or to null the key: deleting one user read every attempt and
     * every session of the database. A migration that adds a key without its index fails here.
     */
    test('every foreign key has an index whose leading columns are the key', async () => {
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
    });

    /**
     * A failed attempt of an authentication session counts the session's attempts so far in its write
     * transaction. The plan must reach them through an index on session_id: the tenant's (client_id,
     * created_at) index alone walks every attempt of the tenant and filters them.
     */
    test("a session's attempts are counted through an index on session_id", async () => {
      const clientId = crypto.randomUUID(), sessionId = crypto.randomUUID();
      await sql`INSERT INTO clients (id, name, tier) VALUES (${clientId}, 'lookup', 'enterprise')`.execute(handle.db);
      await sql`INSERT INTO auth_attempts (id, client_id, session_id, mode, outcome)
                SELECT gen_random_uuid(), ${clientId}, CASE WHEN g <= 3 THEN ${sessionId}::uuid END, 'verification', 'failed'
                FROM generate_series(1, 200) g`.execute(handle.db);
      assert.equal(await countSessionAttempts(handle.db, clientId, sessionId), 3);
      // The same statement the repository runs, planned as on a large table (a 200-row table is read whole anyway).
      const compiled = handle.db
        .selectFrom('auth_attempts')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('client_id', '=', clientId)
        .where('session_id', '=', sessionId)
        .compile();
      const plan = await handle.db.transaction().execute(async (trx) => {
        await sql`SET LOCAL enable_seqscan = off`.execute(trx);
        const { rows } = await sql.raw<{ 'QUERY PLAN': string }>(`EXPLAIN ${compiled.sql.replace(/\$1/, `'${clientId}'`).replace(/\$2/, `'${sessionId}'`)}`).execute(trx);
        return rows.map((r) => r['QUERY PLAN']).join('\n');
      });
      assert.match(plan, /Index Cond: .*session_id/, plan);
    });

    test('teardown', async () => {
      await cleanup();
    });
  });
}
