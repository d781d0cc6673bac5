// The provider's sweep (sso/oidc-adapter.ts, once a minute per instance on a write) deletes expired rows and
// rows an earlier version stored in the clear (`payload->>'sealed' IS NULL`). The second predicate has no
// index of its own, so on PostgreSQL it read the whole of oidc_payloads every minute (a sequential scan of
// 200,000 rows took about 0.3 s, docs/sso.md, "Several instances"). Migration 0018 adds a partial index that holds
// only such rows: the plan reads it instead, and the sweep deletes exactly what it did.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { createClient } from '../helpers/foundation.ts';
import { deleteExpiredPayloads, deleteUnsealedPayloads } from '../../src/db/repositories/sso.repository.ts';
import type { DB } from '../../src/db/database.ts';

/**
 * `n` provider rows of every model: sealed payloads of a realistic size, 1 in 20 expired, 1 in 10 consumed,
 * 1 in 50 without expiry; plus 3 rows stored in the clear (one of them expired too). Replaces the table's rows.
 */
async function seed(db: DB, n: number) {
  await sql`DELETE FROM oidc_payloads`.execute(db);
  await sql`INSERT INTO oidc_payloads (model, id, payload, grant_id, expires_at, consumed_at)
    SELECT (ARRAY['AccessToken','RefreshToken','Session','Grant','Interaction','AuthorizationCode'])[1 + g % 6], md5(g::text),
      jsonb_build_object('v', 1, 'sealed', repeat(md5(g::text), 12)), md5((g / 3)::text),
      CASE WHEN g % 50 = 0 THEN NULL WHEN g % 20 = 0 THEN now() - interval '1 hour' ELSE now() + (1 + g % 1000) * interval '1 minute' END,
      CASE WHEN g % 10 = 0 THEN now() ELSE NULL END
    FROM generate_series(1, ${n}) g`.execute(db);
  await sql`INSERT INTO oidc_payloads (model, id, payload, expires_at) VALUES
    ('AccessToken', 'clear-1', '{"jti":"clear-1","kind":"AccessToken"}', now() + interval '1 hour'),
    ('Session', 'clear-2', '{"jti":"clear-2","kind":"Session"}', NULL),
    ('AuthorizationCode', 'clear-3', '{"jti":"clear-3"}', now() - interval '1 hour')`.execute(db);
}

/** What the sweep must leave: sealed rows not expired (consumed ones too: a replayed code is detected by them). */
async function expectedLeft(db: DB): Promise<string[]> {
  const rows = await sql<{ id: string }>`SELECT id FROM oidc_payloads WHERE payload ? 'sealed' AND (expires_at IS NULL OR expires_at >= now()) ORDER BY id`.execute(db);
  return rows.rows.map((r) => r.id);
}

for (const backend of backendNames()) {
  describe(`SSO: the oidc_payloads sweep [${backend}]`, () => {
    const t = useTestApp(backend, { rawEvents: true });

    test('deletes exactly the expired rows and the rows stored in the clear; consumed and unexpired rows stay', async () => {
      const { app, container } = t();
      const db = container.database.db;
      const c = await createClient(app);
      await seed(db, 2000);
      await sql`INSERT INTO sso_logins (uid, client_id, sso_client_id, expires_at) VALUES
        ('gone', ${c.client_id}, 'rp', now() - interval '1 minute'), ('live', ${c.client_id}, 'rp', now() + interval '9 minutes')`.execute(db);
      const left = await expectedLeft(db);
      assert.ok(left.length > 1700 && left.length < 2000, `${left.length} rows to keep`);
      await deleteExpiredPayloads(db, new Date());
      assert.equal(await deleteUnsealedPayloads(db), 2, 'the two unexpired rows in the clear (the expired one went with the expired)');
      const after = await sql<{ id: string }>`SELECT id FROM oidc_payloads ORDER BY id`.execute(db);
      assert.deepEqual(after.rows.map((r) => r.id), left);
      const logins = await sql<{ uid: string }>`SELECT uid FROM sso_logins`.execute(db);
      assert.deepEqual(logins.rows.map((r) => r.uid), ['live']);
    });

    if (backend === 'postgres') {
      test('on 60,000 rows, the clear-row sweep reads its partial index, not the table', async () => {
        const { backend: b, container } = t();
        await seed(container.database.db, 60_000);
        await sql`ANALYZE oidc_payloads`.execute(container.database.db);
        // The repository's own query, as it runs, captured from a one-connection Kysely.
        const pool = new pg.Pool({ connectionString: b.databaseUrl!, max: 1 });
        const captured: Array<{ sql: string; parameters: readonly unknown[] }> = [];
        const db = new Kysely<never>({ dialect: new PostgresDialect({ pool }), log: (e) => void (e.level === 'query' && captured.push({ sql: e.query.sql, parameters: e.query.parameters })) });
        try {
          const plans: string[] = [];
          const explain = async () => {
            const { rows } = await pool.query(`EXPLAIN ${captured.at(-1)!.sql}`, captured.at(-1)!.parameters as unknown[]);
            plans.push(rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n'));
          };
          assert.equal(await deleteUnsealedPayloads(db as unknown as DB), 3);
          await explain();
          assert.match(plans[0]!, /oidc_payloads_unsealed_idx/, plans[0]);
          assert.doesNotMatch(plans[0]!, /Seq Scan/, plans[0]);
          // The expired-row half of the sweep reads its own index (oidc_payloads_expires_idx, migration 0007).
          await deleteExpiredPayloads(db as unknown as DB, new Date());
          const expiredDelete = captured.find((q) => /delete from "oidc_payloads"/i.test(q.sql) && /expires_at/.test(q.sql))!;
          const { rows } = await pool.query(`EXPLAIN ${expiredDelete.sql}`, expiredDelete.parameters as unknown[]);
          const plan = rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
          assert.match(plan, /oidc_payloads_expires_idx/, plan);
        } finally {
          await db.destroy();
        }
      });
    }
  });
}
