import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { recordEvent } from '../../src/services/events.ts';
import { notifyWebhookDispatchers } from '../../src/services/webhooks/index.ts';
import { useTestApp } from '../helpers/app.ts';
import { as, createClient, quickBackend } from '../helpers/foundation.ts';
import { waitFor as waitUntil, type Check } from '../helpers/wait.ts';

const waitFor = <T>(what: string, fn: Check<T>, timeoutMs = 120_000) => waitUntil(what, fn, timeoutMs, 50);

/**
 * One tenant's backlog of undispatched events (a bulk import, a dispatcher that was down) must not hold
 * other tenants' deliveries until all of it is fanned out: neither a new event of another tenant (fan-out
 * takes the newest events too, not only the oldest) nor a delivery already due (claims run between
 * fan-out batches). Judged by order, not by latency on a loaded machine: another tenant's event must be
 * fanned out, and a due delivery reach its receiver, before the backlog's last batch.
 */
describe('webhook fan-out of a large backlog', () => {
  const t = useTestApp(quickBackend(), { env: { WAJAH_WEBHOOK_POLL_MS: '100', WAJAH_WEBHOOK_TIMEOUT_MS: '3000' }, rawEvents: true }); // a backlog of partial event rows of its own

  test("a tenant's backlog of 6000 events delays neither another tenant's new event nor a delivery already due", async () => {
    const arrived: Record<string, number> = {};
    const server = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        arrived[(JSON.parse(raw) as { data: { user_id: string } }).data.user_id] ??= Date.now();
        res.writeHead(200).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    try {
      const { app, container } = t();
      container.webhooks.dispatcher.start();
      const [a, b, c] = [await createClient(app), await createClient(app), await createClient(app)];
      const endpoints: Record<string, string> = {};
      for (const [name, client] of [['a', a], ['b', b], ['c', c]] as const) {
        const res = await as(app, client, { method: 'POST', url: '/api/webhooks/endpoints/', payload: { url, events: ['user.created'], secret: 'backlog_secret_0123456789' } });
        assert.equal(res.statusCode, 201, res.body);
        endpoints[name] = res.json().id;
      }
      const db = container.database.db;
      const cEvent = crypto.randomUUID();
      const cDelivery = crypto.randomUUID();
      await db.transaction().execute(async (trx) => {
        // B's backlog (recorded a minute ago, never fanned out) …
        await sql`insert into events (id, client_id, event_type, payload, created_at)
                  select gen_random_uuid(), ${b.client_id}, 'user.created', jsonb_build_object('user_id', 'B' || g), now() - interval '1 minute'
                  from generate_series(1, 6000) g`.execute(trx);
        // … and C's delivery, already fanned out and due.
        await sql`insert into events (id, client_id, event_type, payload, created_at, dispatched_at)
                  values (${cEvent}, ${c.client_id}, 'user.created', '{"user_id":"C1"}'::jsonb, now() - interval '1 minute', now() - interval '1 minute')`.execute(trx);
        await sql`insert into webhook_deliveries (id, client_id, endpoint_id, event_id, event_type)
                  values (${cDelivery}, ${c.client_id}, ${endpoints.c}, ${cEvent}, 'user.created')`.execute(trx);
        // … and A's event, which happened just now.
        await recordEvent(trx, a.client_id, 'user.created', { user_id: 'A1', id: crypto.randomUUID(), name: 'A', email: null, metadata: {}, created_at: new Date().toISOString() });
      });
      notifyWebhookDispatchers();

      await waitFor('the backlog fanned out', async () => {
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from events where dispatched_at is null`.execute(db);
        return rows[0]!.n === 0;
      });
      const { rows } = await sql<{ b_last: Date; a_fanned: Date }>`
        select (select max(dispatched_at) from events where client_id = ${b.client_id}) as b_last,
               (select dispatched_at from events where client_id = ${a.client_id} and event_type = 'user.created') as a_fanned`.execute(db);
      const bLast = new Date(rows[0]!.b_last);
      const aFanned = new Date(rows[0]!.a_fanned);
      const cArrived = new Date(await waitFor('C delivered', () => arrived.C1));
      assert.ok(aFanned < bLast, `A's event was fanned out at ${aFanned.toISOString()}, B's last batch at ${bLast.toISOString()}`);
      assert.ok(cArrived < bLast, `C's due delivery arrived at ${cArrived.toISOString()}, B's last batch was fanned out at ${bLast.toISOString()}`);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
