import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { adminHeaders, as, createClient } from '../helpers/foundation.ts';

const STATUS = { method: 'GET', url: '/api/core/status/' } as const;

for (const backend of backendNames()) {
  describe(`API-key authentication [${backend}]`, () => {
    const t = useTestApp(backend);

    test('missing, malformed, unknown key and wrong secret all answer the same 401', async () => {
      const { app } = t();
      const c = await createClient(app);
      const answers = await Promise.all(
        [undefined, 'Bearer abc', `ApiKey ${c.api_key}`, `ApiKey wk_unknown:${c.secret_key}`, `ApiKey ${c.api_key}:wrong`].map((authorization) =>
          app.inject({ ...STATUS, headers: authorization ? { authorization } : {} }),
        ),
      );
      for (const res of answers) {
        assert.equal(res.statusCode, 401);
        assert.deepEqual(res.json(), { code: 'INVALID_CREDENTIALS', message: 'Missing or invalid API credentials', statusCode: 401 });
      }
      assert.equal((await as(app, c, STATUS)).statusCode, 200);
    });

    test('secrets are stored only as hashes', async () => {
      const c = await createClient(t().app);
      const row = await t().container.database.db.selectFrom('api_keys').select(['secret_hash']).where('key', '=', c.api_key).executeTakeFirstOrThrow();
      assert.ok(!row.secret_hash.includes(c.secret_key));
      assert.match(row.secret_hash, /^sha256\$[0-9a-f]{64}$/);
    });

    test('revoked key stops at once; a disabled client gets 403 CLIENT_DISABLED', async () => {
      const { app } = t();
      const c = await createClient(app);
      assert.equal((await as(app, c, STATUS)).statusCode, 200);
      const rev = await app.inject({ method: 'POST', url: `/api/admin/keys/${c.api_key}/revoke/`, headers: adminHeaders });
      assert.equal(rev.statusCode, 200);
      assert.equal(rev.json().status, 'revoked');
      const res = await as(app, c, STATUS);
      assert.equal(res.statusCode, 401);
      assert.equal(res.json().code, 'INVALID_CREDENTIALS');

      const d = await createClient(app);
      await app.inject({ method: 'PATCH', url: `/api/admin/clients/${d.client_id}/`, headers: adminHeaders, payload: { is_active: false } });
      assert.equal((await as(app, d, STATUS)).json().code, 'CLIENT_DISABLED');
    });

    test('rotation: new key works, old key works during the grace period, then stops', async () => {
      const { app } = t();
      const c = await createClient(app);
      const rot = await app.inject({ method: 'POST', url: `/api/admin/keys/${c.api_key}/rotate/`, headers: adminHeaders, payload: { grace_seconds: 1 } });
      assert.equal(rot.statusCode, 200);
      const n = rot.json();
      assert.equal(n.replaces, c.api_key);
      assert.notEqual(n.api_key, c.api_key);
      assert.equal((await as(app, { auth: `ApiKey ${n.api_key}:${n.secret_key}` }, STATUS)).statusCode, 200);
      assert.equal((await as(app, c, STATUS)).statusCode, 200, 'old key in grace');
      const detail = (await app.inject({ method: 'GET', url: `/api/admin/clients/${c.client_id}/`, headers: adminHeaders })).json();
      const oldKey = detail.keys.find((k: { key: string }) => k.key === c.api_key);
      assert.equal(oldKey.status, 'expiring');
      assert.equal(oldKey.replaced_by, n.api_key);
      await sleep(1100);
      assert.equal((await as(app, c, STATUS)).statusCode, 401, 'old key after grace');
      assert.equal((await as(app, { auth: `ApiKey ${n.api_key}:${n.secret_key}` }, STATUS)).statusCode, 200);
      const again = await app.inject({ method: 'POST', url: `/api/admin/keys/${c.api_key}/rotate/`, headers: adminHeaders });
      assert.equal(again.statusCode, 409);
      assert.equal(again.json().code, 'API_KEY_REVOKED');
    });

    test("rotation keeps the key's expiry; a key already rotated is not rotated again", async () => {
      const { app } = t();
      const c = await createClient(app);
      const expires = new Date(Date.now() + 7 * 86400_000).toISOString();
      const made = await app.inject({ method: 'POST', url: `/api/admin/clients/${c.client_id}/keys/`, headers: adminHeaders, payload: { name: 'contractor', expires_at: expires } });
      assert.equal(made.statusCode, 201, made.body);
      const rot = await app.inject({ method: 'POST', url: `/api/admin/keys/${made.json().api_key}/rotate/`, headers: adminHeaders, payload: { grace_seconds: 60 } });
      assert.equal(rot.statusCode, 200, rot.body);
      // A contractor's key that ends next week must not become a key that never ends by being rotated.
      const detail = (await app.inject({ method: 'GET', url: `/api/admin/clients/${c.client_id}/`, headers: adminHeaders })).json();
      const next = detail.keys.find((k: { key: string }) => k.key === rot.json().api_key);
      assert.equal(next.expires_at, expires, JSON.stringify(next));
      assert.equal(next.name, 'contractor');
      const again = await app.inject({ method: 'POST', url: `/api/admin/keys/${made.json().api_key}/rotate/`, headers: adminHeaders });
      assert.equal(again.statusCode, 409, again.body);
      assert.equal(again.json().code, 'API_KEY_REVOKED');
    });

    test('a CompreFace service key is not rotated into a Wajah key that opens the whole API', async () => {
      // The ordinary rotation issued a wk_ key for a cf: key: a detection-only camera key became one that
      // reads and deletes users, enrolls faces and manages webhooks.
      const { app } = t();
      const c = await createClient(app);
      const issued = await app.inject({ method: 'POST', url: `/api/admin/clients/${c.client_id}/compreface-keys/`, headers: adminHeaders, payload: { service: 'detection' } });
      assert.equal(issued.statusCode, 201, issued.body);
      const cfKey = issued.json().key as string;
      const rot = await app.inject({ method: 'POST', url: `/api/admin/keys/${encodeURIComponent(cfKey)}/rotate/`, headers: adminHeaders, payload: {} });
      assert.equal(rot.statusCode, 409, rot.body);
      assert.equal(rot.json().code, 'KEY_NOT_ROTATABLE');
      const detail = (await app.inject({ method: 'GET', url: `/api/admin/clients/${c.client_id}/`, headers: adminHeaders })).json();
      assert.equal(detail.keys.filter((k: { key: string }) => k.key.startsWith('wk_')).length, 1, 'no new Wajah key was issued');
      const cf = await app.inject({ method: 'GET', url: `/api/admin/clients/${c.client_id}/compreface-keys/`, headers: adminHeaders });
      assert.equal(cf.json().keys.find((k: { key: string }) => k.key === cfKey).status, 'active', cf.body);
    });

    test('IP allow-lists: client-level IPv4 CIDR, key-level IPv6 CIDR', async () => {
      const { app } = t();
      const c = await createClient(app, { ip_allowlist: ['10.0.0.0/8', '2001:db8::/32'] });
      const from = (remoteAddress: string) => as(app, c, { ...STATUS, remoteAddress });
      assert.equal((await from('10.1.2.3')).statusCode, 200);
      assert.equal((await from('::ffff:10.9.9.9')).statusCode, 200);
      assert.equal((await from('2001:db8:1::5')).statusCode, 200);
      const denied = await from('192.168.1.1');
      assert.equal(denied.statusCode, 403);
      assert.equal(denied.json().code, 'IP_NOT_ALLOWED');
      assert.equal((await from('2001:db9::1')).statusCode, 403);

      const k = await app.inject({
        method: 'POST',
        url: `/api/admin/clients/${c.client_id}/keys/`,
        headers: adminHeaders,
        payload: { name: 'ipv6 only', ip_allowlist: ['2001:db8:aa::/48'] },
      });
      assert.equal(k.statusCode, 201);
      const key = { auth: `ApiKey ${k.json().api_key}:${k.json().secret_key}` };
      assert.equal((await as(app, key, { ...STATUS, remoteAddress: '2001:db8:aa::1' })).statusCode, 200);
      assert.equal((await as(app, key, { ...STATUS, remoteAddress: '2001:db8:bb::1' })).statusCode, 403);
      assert.equal((await as(app, key, { ...STATUS, remoteAddress: '10.1.2.3' })).statusCode, 403);

      const bad = await app.inject({ method: 'POST', url: '/api/admin/clients/', headers: adminHeaders, payload: { name: 'x', tier: 'basic', ip_allowlist: ['10.0.0.0/33'] } });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().details.field, 'ip_allowlist.0');
    });

    test('bursts of failures and key misuse are logged as security events', async () => {
      const { app, container } = t();
      const c = await createClient(app);
      for (let i = 0; i < 12; i++) await app.inject({ ...STATUS, remoteAddress: '203.0.113.7', headers: { authorization: `ApiKey ${c.api_key}:wrong${i}` } });
      await app.inject({ method: 'POST', url: `/api/admin/keys/${c.api_key}/revoke/`, headers: adminHeaders });
      await as(app, c, STATUS);
      await container.foundation.security.flush();
      await container.foundation.audit.flush();
      const rows = await container.database.db
        .selectFrom('audit_logs')
        .select(['action', 'category', 'client_id'])
        .where('category', '=', 'security')
        .where('client_id', '=', c.client_id)
        .execute();
      const actions = rows.map((r) => r.action).sort();
      assert.ok(actions.includes('auth_failure_burst'), actions.join());
      assert.ok(actions.includes('key_secret_failures'), actions.join());
      assert.ok(actions.includes('key_misuse.revoked'), actions.join());
    });

    test('authenticated calls are logged as API access', async () => {
      const { app, container } = t();
      const c = await createClient(app);
      await as(app, c, { method: 'GET', url: '/api/clients/users/' });
      await container.foundation.audit.flush();
      const row = await container.database.db
        .selectFrom('audit_logs')
        .select(['action', 'details'])
        .where('client_id', '=', c.client_id)
        .where('category', '=', 'api_access')
        .executeTakeFirstOrThrow();
      assert.equal(row.action, 'GET /api/clients/users/');
      assert.equal((row.details as { status: number }).status, 200);
    });
  });
}
