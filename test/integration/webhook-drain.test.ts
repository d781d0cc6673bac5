import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, test } from 'node:test';
import { CompiledQuery, sql } from 'kysely';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { withCapture } from '../helpers/query-capture.ts';
import { WebhooksRepository } from '../../src/db/repositories/webhooks.repository.ts';
import { WebhookLogsRepository } from '../../src/db/repositories/webhook-logs.repository.ts';
import type { DB } from '../../src/db/database.ts';

/**
 * A replayed backlog (POST /api/webhooks/logs/retry/ of 10,000 failed deliveries) drained at about 15 a
 * second: every dispatcher pass read and sorted every due delivery to pick two per endpoint, the claim
 * walked the whole due index to find its few ids, and the replay read the whole outbox to check that each
 * delivery's event still exists. Timings are measured by .tmp/scratch/webhook-drain/drain.ts
 * (docs/webhooks.md); these tests assert what the queries read. The dispatcher is off (WAJAH_WEBHOOKS=0):
 * the deliveries stay where the test puts them.
 */

type Db = DB;

async function tenant(db: Db): Promise<string> {
  const id = crypto.randomUUID();
  await sql`insert into clients (id, name, tier) values (${id}, 'drain', 'basic')`.execute(db);
  return id;
}

/** An endpoint of `clientId`; `circuit`: 'open' (paused for a minute) or 'half_open' (its pause is over). */
async function endpoint(db: Db, clientId: string, circuit: 'closed' | 'open' | 'half_open' = 'closed'): Promise<string> {
  const id = crypto.randomUUID();
  const until = circuit === 'open' ? sql`now() + interval '1 minute'` : circuit === 'half_open' ? sql`now() - interval '1 second'` : sql`null`;
  await sql`insert into webhook_endpoints (id, client_id, url, events, secret, max_retries, backoff_strategy, retry_delay, circuit_open_until)
            values (${id}, ${clientId}, 'http://127.0.0.1:9/hook', '["user.created"]', 'v1.x', 3, 'exponential', 1, ${until})`.execute(db);
  return id;
}

/**
 * `n` deliveries of `endpointId` with their outbox events, in `status`, due `secondsAgo` (spread by 1 ms
 * so the order is known: the first is the earliest). Returns their ids, earliest first.
 */
async function deliveries(db: Db, clientId: string, endpointId: string, n: number, opts: { status?: string; secondsAgo?: number } = {}): Promise<string[]> {
  const { rows } = await sql<{ id: string }>`
    with ev as (
      insert into events (id, client_id, event_type, payload, created_at, dispatched_at)
      select gen_random_uuid(), ${clientId}, 'user.created', jsonb_build_object('user_id', g), now() - interval '1 hour', now() - interval '1 hour'
      from generate_series(1, ${n}) g
      returning id, (payload->>'user_id')::int as g
    )
    insert into webhook_deliveries (id, client_id, endpoint_id, event_id, event_type, status, next_attempt_at, created_at)
    select gen_random_uuid(), ${clientId}, ${endpointId}, ev.id, 'user.created', ${opts.status ?? 'pending'},
           now() - ${opts.secondsAgo ?? 60} * interval '1 second' + ev.g * interval '1 millisecond', now() - interval '1 hour' + ev.g * interval '1 millisecond'
    from ev
    returning id, next_attempt_at`.execute(db);
  return (rows as Array<{ id: string; next_attempt_at: Date }>).sort((a, b) => +a.next_attempt_at - +b.next_attempt_at).map((r) => r.id);
}

for (const backend of backendNames()) {
  describe(`webhook due candidates with a backlog [${backend}]`, () => {
    const t = useTestApp(backend, { env: { WAJAH_WEBHOOKS: '0' }, rawEvents: true });

    test("each endpoint gives its earliest perEndpoint, each client perClient; open circuits none, half-open one; another tenant's fresh delivery is among them", async () => {
      const db = t().container.database.db;
      const [a, b, c] = [await tenant(db), await tenant(db), await tenant(db)];
      const [a1, a2, a3] = [await endpoint(db, a), await endpoint(db, a), await endpoint(db, a, 'half_open')];
      const [b1, c1] = [await endpoint(db, b), await endpoint(db, c, 'open')];
      const a1Backlog = await deliveries(db, a, a1, 3000, { secondsAgo: 120 }); // the replayed backlog, due first
      const a2Due = await deliveries(db, a, a2, 3, { secondsAgo: 90 });
      const a3Due = await deliveries(db, a, a3, 3, { secondsAgo: 100 });
      await deliveries(db, a, a2, 2, { secondsAgo: -60 }); // scheduled retries, not due
      const bFresh = await deliveries(db, b, b1, 1, { secondsAgo: 1 });
      await deliveries(db, c, c1, 5);
      const got = await new WebhooksRepository(db).dueCandidates({ perEndpoint: 2, perClient: 4, limit: 500 });
      const ids = got.map((g) => g.id);
      // A: a1's two earliest, a3's probe (half-open: one), then the earliest of a2 (the client's share of 4 is full).
      assert.deepEqual(ids, [...a1Backlog.slice(0, 2), a3Due[0], a2Due[0], bFresh[0]]);
      assert.ok(!got.some((g) => g.endpoint_id === c1), "an open circuit's deliveries are left out");
    });
  });
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

function nodes(p: PlanNode): PlanNode[] {
  return [p, ...(p.Plans ?? []).flatMap(nodes)];
}

/** The plan of a captured query, run (EXPLAIN ANALYZE) when `analyze`: its nodes, and the rows it read from webhook_deliveries. */
async function plan(db: Db, q: CompiledQuery, analyze: boolean) {
  const { rows } = await db.executeQuery<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(CompiledQuery.raw(`EXPLAIN (${analyze ? 'ANALYZE, ' : ''}FORMAT JSON) ${q.sql}`, [...q.parameters]));
  const json = rows[0]!['QUERY PLAN'];
  const all = nodes((typeof json === 'string' ? (JSON.parse(json) as typeof json) : json)[0]!.Plan);
  const deliveriesRead = all.filter((n) => n['Relation Name'] === 'webhook_deliveries').reduce((s, n) => s + (n['Actual Rows'] ?? 0) * (n['Actual Loops'] ?? 1), 0);
  return { all, deliveriesRead, text: JSON.stringify(json) };
}

for (const backend of backendNames()) {
  describe(`webhook dispatcher and replay query plans [${backend}]`, () => {
    const t = useTestApp(backend, { env: { WAJAH_WEBHOOKS: '0' }, rawEvents: true });

    test('a pass reads a few due deliveries per endpoint (webhook_deliveries_endpoint_due_idx), not the whole backlog', async () => {
      const { container } = t();
      const db = container.database.db;
      const [a, b] = [await tenant(db), await tenant(db)];
      const [a1, b1] = [await endpoint(db, a), await endpoint(db, b)];
      // A's backlog failed, the statistics were taken then (the embedded database never analyzes by itself), then
      // it was replayed: the planner expects no pending delivery.
      await sql`alter table webhook_deliveries set (autovacuum_enabled = false)`.execute(db);
      const backlog = await deliveries(db, a, a1, 5000, { secondsAgo: 120, status: 'failed' });
      await sql`analyze webhook_deliveries`.execute(db);
      await sql`update webhook_deliveries set status = 'pending' where client_id = ${a}`.execute(db);
      const fresh = await deliveries(db, b, b1, 1, { secondsAgo: 1 });
      const { db: capturing, captured } = withCapture(db);
      const repo = new WebhooksRepository(capturing);
      const got = await repo.dueCandidates({ perEndpoint: 2, perClient: 4, limit: 500 });
      assert.deepEqual(got.map((g) => g.id), [backlog[0], backlog[1], fresh[0]]);
      const p = await plan(db, captured.at(-1)!, true);
      assert.ok(p.all.some((n) => n['Index Name'] === 'webhook_deliveries_endpoint_due_idx'), p.text);
      assert.ok(p.deliveriesRead <= 20, `a pass read ${p.deliveriesRead} delivery rows for 3 candidates: ${p.text}`);
      // When the next pass is due: read the same way.
      assert.equal(await repo.msUntilNextDue(), 0);
      const next = await plan(db, captured.at(-1)!, true);
      assert.ok(next.deliveriesRead <= 20, `the next-due query read ${next.deliveriesRead} delivery rows: ${next.text}`);
      await sql`alter table webhook_deliveries reset (autovacuum_enabled)`.execute(db);
    });

    test("a bulk replay checks each delivery's event by key, not by reading every tenant's outbox (events gone are still skipped and counted); the claims after it find their deliveries by id", async () => {
      const { container } = t();
      const db = container.database.db;
      // Statistics from before the replay, as the embedded database always has them (it never analyzes by itself).
      await sql`alter table webhook_deliveries set (autovacuum_enabled = false)`.execute(db);
      const [a, other] = [await tenant(db), await tenant(db)];
      const [a1, o1] = [await endpoint(db, a), await endpoint(db, other)];
      await deliveries(db, other, o1, 60_000, { status: 'delivered' });
      await deliveries(db, a, a1, 10_000, { status: 'failed' });
      const gone = await deliveries(db, a, a1, 3, { status: 'failed' });
      await sql`delete from events where id in (select event_id from webhook_deliveries where id in (${sql.join(gone)}))`.execute(db);
      await sql`analyze`.execute(db);
      const { db: capturing, captured } = withCapture(db);
      const r = await new WebhookLogsRepository(capturing).requeueMatching(a, 'failed', {}, 10_000);
      assert.deepEqual(r, { retried: 10_000, remaining: 0, skippedInProgress: 0, skippedEndpointInactive: 0, skippedEventGone: 3 });
      const update = captured.find((q) => /^with "picked"/i.test(q.sql))!;
      const p = await plan(db, update, false);
      assert.ok(!p.all.some((n) => n['Relation Name'] === 'events' && /Seq Scan/.test(n['Node Type'])), `the replay read the whole outbox: ${p.text}`);

      // The dispatcher claims two of the replayed deliveries: looked up by id, not by walking the 10,000 just made due.
      const { rows } = await sql<{ id: string }>`select id from webhook_deliveries where client_id = ${a} and status = 'pending' order by id desc limit 2`.execute(db);
      captured.length = 0;
      assert.equal((await new WebhooksRepository(capturing).claimIds(rows.map((r) => r.id), 40_000)).length, 2);
      const claim = captured.find((q) => /for update\b.*\bskip locked/is.test(q.sql))!;
      // Plain EXPLAIN: the claimed rows are not due any more, ANALYZE would find nothing to read.
      const c = await plan(db, claim, false);
      const indexes = c.all.flatMap((n) => n['Index Name'] ?? []).filter((i) => i.startsWith('webhook_deliveries_'));
      const seqScan = c.all.some((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'webhook_deliveries');
      const byKey = indexes.length > 0 && indexes.every((i) => i === 'webhook_deliveries_pkey') && !seqScan;
      assert.ok(byKey, `the claim did not look its ids up by key: ${c.text}`);
      await sql`alter table webhook_deliveries reset (autovacuum_enabled)`.execute(db);
    });
  });
}
