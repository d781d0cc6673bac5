// Retention of events (docs/foundation.md, S2): the outbox rows carry users' names, addresses and agents;
// they were never deleted, whatever retention_days said. An event the outbox still owes (not fanned out,
// or a delivery pending) must stay. The dispatcher is off here, so "not fanned out" stays so.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { adminHeaders, createClient } from '../helpers/foundation.ts';

for (const backend of backendNames()) {
  describe(`retention of events [${backend}]`, () => {
    const t = useTestApp(backend, { env: { WAJAH_WEBHOOKS: '0' }, rawEvents: true }); // writes partial event rows of its own

    test('retention deletes old events (names, addresses, agents) once delivered, never one the outbox still owes', async () => {
      // Events were never deleted: every authentication's event, with the user's name and the caller's
      // address, stayed for good whatever retention_days said.
      const { app, container } = t();
      const db = container.database.db;
      const c = await createClient(app, { name: 'Event retention' });
      await app.inject({ method: 'PATCH', url: `/api/admin/clients/${c.client_id}/`, headers: adminHeaders, payload: { settings: { retention_days: 1 } } });
      const old = new Date(Date.now() - 10 * 86_400_000);
      const event = async (name: string, dispatched: boolean) => {
        const id = crypto.randomUUID();
        await db
          .insertInto('events')
          .values({ id, client_id: c.client_id, event_type: 'authentication.success', payload: JSON.stringify({ user_name: name }), created_at: old, dispatched_at: dispatched ? old : null })
          .execute();
        return id;
      };
      await event('delivered', true);
      const unsent = await event('not fanned out yet', false);
      const owed = await event('delivery pending', true);
      const fresh = crypto.randomUUID();
      await db.insertInto('events').values({ id: fresh, client_id: c.client_id, event_type: 'user.created', payload: '{}', dispatched_at: new Date() }).execute();
      const endpoint = crypto.randomUUID();
      await db
        .insertInto('webhook_endpoints')
        .values({ id: endpoint, client_id: c.client_id, url: 'http://127.0.0.1:9/', events: JSON.stringify(['authentication.success']), secret: 'x', is_active: true, max_retries: 3, backoff_strategy: 'exponential', retry_delay: 60 })
        .execute();
      await db.insertInto('webhook_deliveries').values({ id: crypto.randomUUID(), client_id: c.client_id, endpoint_id: endpoint, event_id: owed, event_type: 'authentication.success' }).execute();
      const swept = await container.foundation.retention.sweep();
      assert.ok(swept.events >= 1);
      const left = await db.selectFrom('events').select('id').where('client_id', '=', c.client_id).execute();
      assert.deepEqual(left.map((r) => r.id).sort(), [unsent, owed, fresh].sort());
    });
  });
}
