import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { adminHeaders, as, createClient, quickBackend } from '../helpers/foundation.ts';

for (const backend of backendNames()) {
  describe(`admin API [${backend}]`, () => {
    const t = useTestApp(backend);

    test('POST /api/admin/clients/ answers exactly the credentials object', async () => {
      const res = await t().app.inject({ method: 'POST', url: '/api/admin/clients/', headers: adminHeaders, payload: { name: 'Acme', tier: 'basic' } });
      assert.equal(res.statusCode, 201);
      const body = res.json();
      assert.deepEqual(Object.keys(body).sort(), ['api_key', 'client_id', 'name', 'secret_key', 'tier']);
      assert.equal(body.tier, 'basic');
      assert.match(body.api_key, /^wk_[0-9a-f]{32}$/);
      assert.match(body.secret_key, /^wsk_[\w-]{43}$/);
    });

    test('operator token: missing → 401 ADMIN_TOKEN_REQUIRED, wrong → 401 ADMIN_TOKEN_INVALID', async () => {
      const { app } = t();
      for (const [headers, code] of [[{}, 'ADMIN_TOKEN_REQUIRED'], [{ authorization: 'Bearer wrong-token-wrong-token' }, 'ADMIN_TOKEN_INVALID']] as const) {
        const res = await app.inject({ method: 'GET', url: '/api/admin/clients/', headers, remoteAddress: '198.51.100.20' });
        assert.equal(res.statusCode, 401);
        assert.equal(res.json().code, code);
      }
      // An API key is not an operator token.
      const c = await createClient(app);
      assert.equal((await as(app, c, { method: 'GET', url: '/api/admin/clients/' })).statusCode, 401);
    });

    test('list, get with keys, patch tier/limits/settings; changes audited as configuration', async () => {
      const { app, container } = t();
      const c = await createClient(app, { name: 'Globex', tier: 'premium' });
      const list = await app.inject({ method: 'GET', url: '/api/admin/clients/?page_size=100', headers: adminHeaders });
      assert.equal(list.statusCode, 200);
      const listed = list.json().results.find((x: { client_id: string }) => x.client_id === c.client_id);
      assert.deepEqual(listed.limits, { max_users: 10000, calls_per_hour: 5000 });

      const patch = await app.inject({
        method: 'PATCH',
        url: `/api/admin/clients/${c.client_id}/`,
        headers: adminHeaders,
        payload: { tier: 'enterprise', calls_per_hour: 50, settings: { retention_days: 30 } },
      });
      assert.equal(patch.statusCode, 200);
      assert.deepEqual(patch.json().limits, { max_users: null, calls_per_hour: 50 });
      assert.equal(patch.json().settings.retention_days, 30);

      const got = await app.inject({ method: 'GET', url: `/api/admin/clients/${c.client_id}/`, headers: adminHeaders });
      assert.equal(got.json().keys.length, 1);
      assert.equal(got.json().keys[0].key, c.api_key);
      assert.equal(got.json().keys[0].status, 'active');
      assert.ok(!JSON.stringify(got.json()).includes(c.secret_key));

      const audit = await container.database.db
        .selectFrom('audit_logs')
        .select(['action', 'actor', 'details'])
        .where('client_id', '=', c.client_id)
        .where('category', '=', 'configuration')
        .orderBy('created_at')
        .execute();
      assert.deepEqual(audit.map((a) => a.action), ['client.created', 'client.updated']);
      assert.equal(audit[0]!.actor, 'admin');
      assert.ok(!JSON.stringify(audit).includes(c.secret_key));
      assert.deepEqual(Object.keys((audit[1]!.details as { changes: object }).changes).sort(), ['calls_per_hour', 'settings', 'tier']);
    });

    test("retention: an out-of-range retention_days is refused, and a stored one does not stop other clients' retention", async () => {
      // 5,000,000 days ("keep for good") made the cutoff a date the database refuses; the sweep threw for
      // that client and never reached the clients after it, whose retention then silently stopped.
      const { app, container } = t();
      const db = container.database.db;
      const keeper = await createClient(app, { name: 'Keeps everything' });
      const refused = await app.inject({ method: 'PATCH', url: `/api/admin/clients/${keeper.client_id}/`, headers: adminHeaders, payload: { settings: { retention_days: 5_000_000 } } });
      assert.equal(refused.statusCode, 400, refused.body);
      assert.equal(refused.json().code, 'VALIDATION_ERROR');
      // A value stored before the limit existed.
      await db.updateTable('clients').set({ settings: JSON.stringify({ retention_days: 5_000_000 }) }).where('id', '=', keeper.client_id).execute();
      const daily = await createClient(app, { name: 'One day' });
      const patched = await app.inject({ method: 'PATCH', url: `/api/admin/clients/${daily.client_id}/`, headers: adminHeaders, payload: { settings: { retention_days: 1 } } });
      assert.equal(patched.statusCode, 200, patched.body);
      const old = new Date(Date.now() - 10 * 86_400_000);
      for (const c of [keeper, daily]) {
        await db
          .insertInto('audit_logs')
          .values({ id: crypto.randomUUID(), client_id: c.client_id, category: 'security', action: 'old.entry', actor: 'system', target: null, details: '{}', ip: null, created_at: old })
          .execute();
      }
      await container.foundation.retention.sweep();
      const left = await db.selectFrom('audit_logs').select('client_id').where('action', '=', 'old.entry').execute();
      assert.deepEqual(left.map((r) => r.client_id), [keeper.client_id], "the one-day client's old entry is gone; the keeper's stays");
    });

    test('unknown client and key answer 404 with their codes; bad tier names the field', async () => {
      const { app } = t();
      for (const url of ['/api/admin/clients/00000000-0000-4000-8000-000000000000/', '/api/admin/clients/nope/']) {
        const res = await app.inject({ method: 'GET', url, headers: adminHeaders });
        assert.equal(res.json().code, 'CLIENT_NOT_FOUND');
      }
      const key = await app.inject({ method: 'POST', url: '/api/admin/keys/wk_nope/revoke/', headers: adminHeaders });
      assert.equal(key.json().code, 'API_KEY_NOT_FOUND');
      const bad = await app.inject({ method: 'POST', url: '/api/admin/clients/', headers: adminHeaders, payload: { name: 'x', tier: 'gold' } });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().details.field, 'tier');
    });

    test('several keys per client; each works on its own', async () => {
      const { app } = t();
      const c = await createClient(app);
      // The body is optional (curl -X POST without -d).
      const k = await app.inject({ method: 'POST', url: `/api/admin/clients/${c.client_id}/keys/`, headers: adminHeaders });
      assert.equal(k.statusCode, 201);
      assert.equal(k.json().client_id, c.client_id);
      const second = { auth: `ApiKey ${k.json().api_key}:${k.json().secret_key}` };
      assert.equal((await as(app, c, { method: 'GET', url: '/api/clients/users/' })).statusCode, 200);
      assert.equal((await as(app, second, { method: 'GET', url: '/api/clients/users/' })).statusCode, 200);
    });
  });
}

describe('admin API without WAJAH_ADMIN_TOKEN', () => {
  const t = useTestApp(quickBackend(), { env: { WAJAH_ADMIN_TOKEN: '' } });
  test('answers 403 ADMIN_DISABLED', async () => {
    const res = await t().app.inject({ method: 'GET', url: '/api/admin/clients/', headers: { authorization: 'Bearer anything-at-all-0123' } });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().code, 'ADMIN_DISABLED');
  });
  test('a local runtime token (written for the CLI) is accepted', async () => {
    t().container.foundation.runtime.localAdminToken = 'local-token-abcdefghijklmnop';
    const res = await t().app.inject({ method: 'GET', url: '/api/admin/clients/', headers: { authorization: 'Bearer local-token-abcdefghijklmnop' } });
    assert.equal(res.statusCode, 200);
    t().container.foundation.runtime.localAdminToken = null;
  });
});
