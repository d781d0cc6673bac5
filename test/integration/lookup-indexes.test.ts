import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { CompiledQuery, sql, type Transaction } from 'kysely';
import type { Database } from '../../src/db/schema.ts';
import { backendNames, createBackend } from '../helpers/backends.ts';
import { withCapture } from '../helpers/query-capture.ts';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.ts';
import { countSessionAttempts } from '../../src/db/repositories/attempts.repository.ts';
import { AuditRepository } from '../../src/db/repositories/audit.repository.ts';
import { findLatestLivenessSession } from '../../src/db/repositories/liveness-order.repository.ts';
import { countIssuedOfflinePackages } from '../../src/db/repositories/offline-packages.repository.ts';
import { endSessionsHolding, expiredOpenEnrollments, lockSessionsOfUser } from '../../src/db/repositories/sessions.repository.ts';

/**
 * Lookups that grow with the whole database's history find their rows by index (migrations 0022–0027).
 * Without one, PostgreSQL reads the whole table on every call, inside write transactions that the embedded
 * database runs one at a time (scripts/db-bench.ts measures them: "user deleted", "a session's attempts
 * counted"). The plans are read with sequential scans off: on the few rows of a test any table is read whole.
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

    /**
     * The statements `run` sends, as PostgreSQL plans them (EXPLAIN), sequential scans off: each with its
     * values (a custom plan), then prepared and planned for any values (a generic plan: what a server may
     * settle on for a statement prepared once, as the embedded database's driver prepares them; a partial
     * index serves it only when the statement spells the index's predicate with literals).
     */
    async function plansOf(run: (trx: Transaction<Database>) => Promise<unknown>): Promise<string[]> {
      // Run once to learn the statements, in a transaction rolled back: the test's rows stay as they were.
      let statements: CompiledQuery[] = [];
      const rollback = new Error('rollback');
      await handle.db
        .transaction()
        .execute(async (trx) => {
          const { db: capturing, captured } = withCapture(trx);
          statements = captured;
          await run(capturing);
          throw rollback;
        })
        .catch((e) => assert.equal(e, rollback));
      const plans: string[] = [];
      for (const q of statements) {
        for (const generic of [false, true]) {
          plans.push(
            await handle.db.transaction().execute(async (trx) => {
              await sql`SET LOCAL enable_seqscan = off`.execute(trx);
              let explained;
              if (generic) {
                await sql`SET LOCAL plan_cache_mode = force_generic_plan`.execute(trx);
                await sql.raw(`PREPARE lookup_plan AS ${q.sql}`).execute(trx);
                explained = await sql.raw<{ 'QUERY PLAN': string }>(`EXPLAIN EXECUTE lookup_plan(${q.parameters.map(() => 'NULL').join(', ')})`).execute(trx);
                await sql`DEALLOCATE lookup_plan`.execute(trx);
              } else {
                explained = await trx.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`EXPLAIN ${q.sql}`, [...q.parameters]));
              }
              return `${generic ? 'generic' : 'custom'} plan of ${q.sql}\n${explained.rows.map((r) => r['QUERY PLAN']).join('\n')}`;
            }),
          );
        }
      }
      return plans;
    }

    /**
     * Deleting a user locks and ends the active sessions whose state names them. Sessions are kept (for
     * analytics) and abandoned ones stay active past their expiry, so without sessions_face_state_idx both
     * statements walked every session the tenant ever had: here 5 000 ended sessions beside the one in
     * progress.
     */
    test("a user's deletion finds the sessions holding them through the face-state index", async () => {
      const clientId = crypto.randomUUID(), userId = crypto.randomUUID();
      await sql`INSERT INTO clients (id, name, tier) VALUES (${clientId}, 'holding', 'enterprise')`.execute(handle.db);
      await sql`INSERT INTO users (id, client_id, external_id, name) VALUES (${userId}, ${clientId}, 'held', 'Held')`.execute(handle.db);
      const best = JSON.stringify({ best: { userId, confidence: 0.9 } });
      await sql`INSERT INTO sessions (id, client_id, kind, token_hash, status, state, expires_at)
                SELECT gen_random_uuid(), ${clientId}, 'authentication', md5(g::text || ${clientId}), CASE WHEN g = 1 THEN 'active' ELSE 'completed' END,
                       CASE WHEN g = 1 THEN ${best}::jsonb ELSE '{}'::jsonb END, now() + interval '1 hour'
                FROM generate_series(1, 5000) g`.execute(handle.db);
      // A history the planner knows of (statistics), as a database that has served a while has.
      await sql`ANALYZE sessions`.execute(handle.db);
      for (const plan of [...(await plansOf((db) => lockSessionsOfUser(db, clientId, userId))), ...(await plansOf((db) => endSessionsHolding(db, clientId, userId)))]) {
        assert.match(plan, /sessions_face_state_idx/, plan);
      }
      // And they still find it: the one active session holding the user is ended, its face state dropped.
      assert.equal(await endSessionsHolding(handle.db, clientId, userId), 1);
      const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM sessions WHERE client_id = ${clientId} AND status = 'active'`.execute(handle.db);
      assert.equal(rows[0].n, 0);
    });

    /**
     * The session sweep closes the enrollment sessions left open past their expiry (enrollment.expiry.ts).
     * Sessions are kept, so sessions_expires_idx alone walks every session that ever expired to find the
     * few still open; sessions_open_enrollment_idx (migration 0027) holds just the open enrollments.
     */
    test('the expired enrollments still open are found through the open-enrollment index', async () => {
      const clientId = crypto.randomUUID();
      await sql`INSERT INTO clients (id, name, tier) VALUES (${clientId}, 'sweep', 'enterprise')`.execute(handle.db);
      await sql`INSERT INTO sessions (id, client_id, kind, token_hash, status, expires_at)
                SELECT gen_random_uuid(), ${clientId}, CASE WHEN g % 2 = 0 THEN 'enrollment' ELSE 'authentication' END, md5(g::text || ${clientId}),
                       CASE WHEN g = 2 THEN 'active' ELSE 'completed' END, now() - g * interval '1 minute'
                FROM generate_series(1, 5000) g`.execute(handle.db);
      await sql`ANALYZE sessions`.execute(handle.db);
      assert.equal((await expiredOpenEnrollments(handle.db, new Date(), 500)).length, 1);
      const plans = await plansOf((trx) => expiredOpenEnrollments(trx, new Date(), 500));
      assert.equal(plans.length, 2);
      for (const plan of plans) assert.match(plan, /sessions_open_enrollment_idx/, plan);
    });

    /**
     * Every new liveness session looks up the newest earlier one of its claim (tenant, claimed user or none,
     * challenge set) through sessions_liveness_claim_idx (migration 0020). PostgreSQL keeps no statistics
     * for a partial index's expressions: without those of migration 0025 it guessed that 0.5 % of the
     * sessions were of the claim's set and, for the newest one, walked the tenant's day of sessions backwards
     * by time instead, when the claim had none recently. (A generic plan, which guesses one value's share
     * from the number of sets, may still walk; the servers keep planning this statement with its values.)
     */
    test("a liveness claim's newest session is found through its index", async () => {
      const clientId = crypto.randomUUID();
      await sql`INSERT INTO clients (id, name, tier) VALUES (${clientId}, 'claims', 'enterprise')`.execute(handle.db);
      // A busy day of another claim's sessions, and two of this claim's, early in it.
      await sql`INSERT INTO sessions (id, client_id, kind, token_hash, params, expires_at, created_at)
                SELECT gen_random_uuid(), ${clientId}, 'authentication', md5(g::text || ${clientId}), jsonb_build_object('liveness_set', CASE WHEN g <= 2 THEN 'blink' ELSE 'smile' END),
                       now() + interval '1 hour', now() - interval '20 hours' + g * interval '10 seconds'
                FROM generate_series(1, 5000) g`.execute(handle.db);
      await sql`ANALYZE sessions`.execute(handle.db);
      const since = new Date(Date.now() - 86_400_000);
      const plans = await plansOf((trx) => findLatestLivenessSession(trx, clientId, null, 'blink', since));
      assert.equal(plans.length, 2);
      assert.match(plans[0], /^custom plan[^]*sessions_liveness_claim_idx/, plans[0]);
    });

    /**
     * A tenant's audit entries about one user: counted on every offline package issued (the per-user cap) and
     * listed by the user's export. The audit log holds an entry per face-data access; without
     * audit_logs_target_idx (migration 0026) both read the tenant's whole trail.
     */
    test("a user's audit entries are read through the target index", async () => {
      const clientId = crypto.randomUUID(), userId = crypto.randomUUID();
      await sql`INSERT INTO clients (id, name, tier) VALUES (${clientId}, 'audit', 'enterprise')`.execute(handle.db);
      await sql`INSERT INTO audit_logs (id, client_id, category, action, actor, target, details)
                SELECT gen_random_uuid(), ${clientId}, 'data_access', 'face.verified', 'api-key', md5((g % 500)::text), '{}'::jsonb
                FROM generate_series(1, 5000) g`.execute(handle.db);
      await sql`ANALYZE audit_logs`.execute(handle.db);
      assert.equal(await countIssuedOfflinePackages(handle.db, clientId, userId), 0);
      const plans = [...(await plansOf((trx) => countIssuedOfflinePackages(trx, clientId, userId))), ...(await plansOf((trx) => new AuditRepository(trx).listForTarget(clientId, userId)))];
      assert.equal(plans.length, 4);
      for (const plan of plans) assert.match(plan, /audit_logs_target_idx/, plan);
    });

    test('teardown', async () => {
      await cleanup();
    });
  });
}
