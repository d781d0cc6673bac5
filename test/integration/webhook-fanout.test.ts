import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useTestApp } from '../helpers/app.ts';
import { as, createClient, quickBackend } from '../helpers/foundation.ts';
import { WebhooksRepository } from '../../src/db/repositories/webhooks.repository.ts';

// An endpoint gets the events that happen after it is registered: an event recorded a moment before, still
// waiting for the dispatcher's next pass, is not delivered to it (found by the PHP SDK's webhook test).
describe('webhook fan-out: only events after the endpoint was registered', () => {
  const t = useTestApp(quickBackend(), { env: { WAJAH_WEBHOOKS: '0' } });

  test('a user created before the endpoint is not delivered to it; one created after is', async () => {
    const { app, container } = t();
    const c = await createClient(app, { tier: 'enterprise' });
    const user = (id: string) => as(app, c, { method: 'POST', url: '/api/clients/users/', headers: { 'content-type': 'application/json' }, payload: { external_id: id, name: id } });
    assert.equal((await user('BEFORE')).statusCode, 201);
    await new Promise((r) => setTimeout(r, 20));
    const ep = await as(app, c, { method: 'POST', url: '/api/webhooks/endpoints/', headers: { 'content-type': 'application/json' }, payload: { url: 'http://127.0.0.1:9/hook', events: ['user.created'] } });
    assert.equal(ep.statusCode, 201, ep.body);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal((await user('AFTER')).statusCode, 201);
    // The dispatcher is off (WAJAH_WEBHOOKS=0): one fan-out pass now sees both events undispatched.
    await new WebhooksRepository(container.database.db).fanOut(100);
    const rows = await container.database.db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('events as ev', 'ev.id', 'd.event_id')
      .select(['ev.payload'])
      .where('d.endpoint_id', '=', ep.json().id)
      .execute();
    assert.deepEqual(rows.map((r) => (r.payload as { user_id: string }).user_id), ['AFTER']);
  });
});
