import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, test } from 'node:test';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { as, createClient, type TestClient } from '../helpers/foundation.ts';
import { AnalyticsRepository } from '../../src/db/repositories/analytics.repository.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ago = (ms: number) => new Date(Date.now() - ms);

/** Figures of M1 and M3 that summed or compared only part of the window (docs/analytics.md). */
for (const backend of backendNames()) {
  describe(`analytics accuracy [${backend}]`, () => {
    const t = useTestApp(backend);
    const db = () => t().container.database.db;
    const get = async (c: TestClient, url: string) => {
      const res = await as(t().app, c, { method: 'GET', url });
      assert.equal(res.statusCode, 200, res.body);
      return res.json();
    };
    const attempts = (c: TestClient, rows: Array<{ ua?: string | null; at?: Date; ms?: number; outcome?: 'success' | 'failed' }>) =>
      db()
        .insertInto('auth_attempts')
        .values(
          rows.map((r) => ({
            id: crypto.randomUUID(),
            client_id: c.client_id,
            session_id: null,
            user_id: null,
            mode: 'verification',
            outcome: r.outcome ?? 'success',
            failure_reason: r.outcome === 'failed' ? 'LOW_CONFIDENCE' : null,
            confidence: null,
            liveness_score: null,
            quality_score: null,
            processing_ms: r.ms ?? 100,
            ip: null,
            user_agent: r.ua ?? null,
            created_at: r.at ?? ago(HOUR),
          })),
        )
        .execute();

    test('devices: attempts beyond the 1000 classified User-Agent strings are counted as Unclassified; shares are of all attempts', async () => {
      const c = await createClient(t().app, { name: 'Many agents' });
      const chrome = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';
      // 5 attempts from one browser, then 1005 API clients that each send a different version string:
      // the browser and 999 of the singletons are classified, 6 singletons are not.
      await attempts(c, [
        ...Array.from({ length: 5 }, () => ({ ua: chrome })),
        ...Array.from({ length: 1005 }, (_, i) => ({ ua: `curl/8.${String(i).padStart(4, '0')}` })),
      ]);
      const b = await get(c, '/api/analytics/user-behavior/');
      assert.equal(b.success_failure.total, 1010);
      const sum = (list: Array<{ count: number }>) => list.reduce((s, x) => s + x.count, 0);
      for (const k of ['browsers', 'operating_systems', 'device_types'] as const) assert.equal(sum(b.devices[k]), 1010, k);
      assert.deepEqual(b.devices.browsers, [
        { name: 'curl', count: 999, share: 0.9891 },
        { name: 'Unclassified', count: 6, share: 0.0059 },
        { name: 'Chrome', count: 5, share: 0.005 },
      ]);
      assert.deepEqual(b.devices.device_types, [
        { name: 'api_client', count: 999, share: 0.9891 },
        { name: 'Unclassified', count: 6, share: 0.0059 },
        { name: 'desktop', count: 5, share: 0.005 },
      ]);
      // Fewer strings than the limit: nothing is unclassified.
      const few = await createClient(t().app, { name: 'Few agents' });
      await attempts(few, [{ ua: chrome }, { ua: null }]);
      const f = await get(few, '/api/analytics/user-behavior/');
      assert.deepEqual(f.devices.device_types, [
        { name: 'desktop', count: 1, share: 0.5 },
        { name: 'unknown', count: 1, share: 0.5 },
      ]);
    });

    test('dashboard trends of a window without attempts: the count fell by 100%, the rate and the mean have no trend', async () => {
      const c = await createClient(t().app, { name: 'Quiet week' });
      await attempts(c, [
        { at: ago(8 * DAY), ms: 200 },
        { at: ago(9 * DAY), ms: 400, outcome: 'failed' },
      ]);
      const d = await get(c, '/api/analytics/dashboard/?period=last_7_days');
      assert.deepEqual(d.metrics, { total_authentications: 0, successful_rate: 0, average_response_time: 0, unique_users: 0, peak_concurrent_sessions: 0 });
      assert.deepEqual(d.trends, { authentications_trend: '-100%', success_rate_trend: null, response_time_trend: null });
    });
  });
}

/** A one-connection Kysely on the test database that keeps every query it runs (for EXPLAIN). */
function capturingDb(url: string) {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const captured: Array<{ sql: string; parameters: readonly unknown[] }> = [];
  const db = new Kysely<never>({
    dialect: new PostgresDialect({ pool }),
    log: (e) => {
      if (e.level === 'query') captured.push({ sql: e.query.sql, parameters: e.query.parameters });
    },
  });
  return { pool, db, captured };
}

if (backendNames().includes('postgres')) {
  describe('analytics query plans [postgres]', () => {
    const t = useTestApp('postgres', { rawEvents: true }); // bulk rows of its own, for the query plans

    test("the audit feed reads only the caller's users (no Seq Scan over every tenant's users)", async () => {
      const { app, backend } = t();
      const clients: string[] = [];
      for (let i = 0; i < 20; i++) clients.push((await createClient(app, { name: `Tenant ${i}` })).client_id);
      const { pool, db, captured } = capturingDb(backend.databaseUrl!);
      try {
        // 40 000 users over 20 tenants, each enrolled yesterday.
        const ids = sql.raw(`ARRAY[${clients.map((c) => `'${c}'::uuid`).join(',')}]`);
        await sql`INSERT INTO users (id, client_id, external_id, name, created_at, updated_at)
          SELECT gen_random_uuid(), (${ids})[1 + g % 20], 'U' || g, 'N' || g, now(), now() FROM generate_series(1, 40000) g`.execute(db);
        await sql`INSERT INTO enrollments (id, client_id, user_id, source, model_id, quality_score, face_count, average_confidence, created_at)
          SELECT gen_random_uuid(), client_id, id, 'direct', 'm1', 0.9, 1, 0.9, now() - interval '1 day' FROM users`.execute(db);
        await sql`ANALYZE users; ANALYZE enrollments`.execute(db);
        captured.length = 0;
        const repo = new AnalyticsRepository(db as never);
        const feed = await repo.auditFeed(clients[5], { start: ago(30 * DAY), end: new Date() }, ['enrollment'], 20, { offset: 0 }, { count: true });
        assert.equal(feed.total, 2000);
        assert.equal(captured.length, 2);
        for (const q of captured) {
          const { rows } = await pool.query(`EXPLAIN ${q.sql}`, q.parameters as unknown[]);
          const plan = rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
          assert.doesNotMatch(plan, /Seq Scan on users/, plan);
        }
      } finally {
        await db.destroy();
      }
    });

    test('a cursor page of the audit feed reads an index range from its position, also for sparse categories', async () => {
      const { app, backend } = t();
      const [c, other] = [await createClient(app), await createClient(app)];
      const { pool, db, captured } = capturingDb(backend.databaseUrl!);
      try {
        // 100 000 API-access entries and outbox events over a month and two tenants, a few of them the sparse
        // kinds the feed wants (face-data access, liveness failures): without 0016's indexes a page of those
        // filtered the tenant's whole window.
        const ids = sql.raw(`ARRAY['${c.client_id}'::uuid, '${other.client_id}'::uuid]`);
        await sql`INSERT INTO audit_logs (id, client_id, category, action, details, created_at)
          SELECT gen_random_uuid(), (${ids})[1 + g % 2], CASE WHEN g % 5000 = 0 THEN 'data_access' ELSE 'api_access' END, 'GET /x', '{}',
                 now() - (g % 2500000) * interval '1 second' FROM generate_series(1, 100000) g`.execute(db);
        await sql`INSERT INTO events (id, client_id, event_type, payload, created_at)
          SELECT gen_random_uuid(), (${ids})[1 + g % 2], CASE WHEN g % 5000 = 0 THEN 'liveness.failed' ELSE 'authentication.success' END, '{}',
                 now() - (g % 2500000) * interval '1 second' FROM generate_series(1, 100000) g`.execute(db);
        await sql`ANALYZE audit_logs; ANALYZE events`.execute(db);
        const repo = new AnalyticsRepository(db as never);
        const w = { start: ago(30 * DAY), end: new Date() };
        for (const category of ['face_data_access', 'security'] as const) {
          const first = await repo.auditFeed(c.client_id, w, [category], 3, { offset: 0 }, { count: false });
          const last = first.rows.at(-1)!;
          captured.length = 0;
          const next = await repo.auditFeed(c.client_id, w, [category], 3, { after: { at: last.at, source: last.source, id: last.id } }, { count: false });
          assert.equal(next.rows.length, 3);
          assert.equal(captured.length, 1);
          const { rows } = await pool.query(`EXPLAIN ${captured[0].sql}`, captured[0].parameters as unknown[]);
          const plan = rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
          assert.doesNotMatch(plan, /Seq Scan|Bitmap/, plan);
          assert.match(plan, category === 'security' ? /events_client_audit_idx/ : /audit_logs_client_category_idx/, plan);
        }
      } finally {
        await db.destroy();
      }
    });
  });
}
