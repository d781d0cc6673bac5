import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useTestApp, ADMIN_TOKEN } from '../helpers/app.ts';
import { loadConfig } from '../../src/config/env.ts';

/**
 * Behind the reverse proxy of compose.yaml (nginx appends the address it saw to X-Forwarded-For,
 * keeping whatever the caller sent), WAJAH_TRUST_PROXY=1 must take the client's address from the entry
 * nginx appended, never from one the caller wrote: IP allow-lists, audit entries and the admin-token
 * lockout all rest on it. Before, "1" trusted every hop, and a stolen key passed an allow-list by sending
 * `X-Forwarded-For: <an allowed address>`.
 */
describe('WAJAH_TRUST_PROXY=1 behind one reverse proxy', () => {
  const t = useTestApp('pglite', { env: { WAJAH_TRUST_PROXY: '1' } });
  const proxy = '172.18.0.5';

  test('a forged X-Forwarded-For entry does not pass an IP allow-list', async () => {
    const { app } = t();
    const res = await app.inject({ method: 'POST', url: '/api/admin/clients/', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload: { name: 'allow-listed', tier: 'basic', ip_allowlist: ['10.1.2.3/32'] } });
    assert.equal(res.statusCode, 201, res.body);
    const c = res.json() as { api_key: string; secret_key: string };
    const call = (xff: string) =>
      app.inject({ method: 'GET', url: '/api/clients/users/', remoteAddress: proxy, headers: { authorization: `ApiKey ${c.api_key}:${c.secret_key}`, 'x-forwarded-for': xff } });
    // The attacker at 203.0.113.9 writes the allowed address; nginx appends the real one.
    const forged = await call('10.1.2.3, 203.0.113.9');
    assert.equal(forged.statusCode, 403, forged.body);
    assert.equal(forged.json().code, 'IP_NOT_ALLOWED');
    // The allowed machine itself, through the same proxy.
    assert.equal((await call('10.1.2.3')).statusCode, 200);
  });

  test('the OpenID Provider sees the same client address, not the forged leftmost entry', async () => {
    const { app, container } = t();
    const seen: string[] = [];
    // The provider's own events carry its context: an authorization request for an unknown client.
    container.sso.provider.on('authorization.error', (ctx: { ip: string }) => seen.push(ctx.ip));
    const res = await app.inject({ method: 'GET', url: '/oidc/auth?client_id=nobody&response_type=code&scope=openid', remoteAddress: proxy, headers: { 'x-forwarded-for': '10.1.2.3, 203.0.113.9' } });
    assert.equal(res.statusCode, 400, res.body);
    assert.deepEqual(seen, ['203.0.113.9']);
  });

  test('the setting takes a hop count or the proxies\' addresses, and refuses anything else', () => {
    assert.equal(loadConfig({ WAJAH_TRUST_PROXY: '1' }).trustProxy, 1);
    assert.equal(loadConfig({ WAJAH_TRUST_PROXY: 'true' }).trustProxy, 1);
    assert.equal(loadConfig({ WAJAH_TRUST_PROXY: '2' }).trustProxy, 2);
    assert.equal(loadConfig({ WAJAH_TRUST_PROXY: '0' }).trustProxy, false);
    assert.equal(loadConfig({ WAJAH_TRUST_PROXY: '10.0.0.0/8, 172.18.0.5' }).trustProxy, '10.0.0.0/8,172.18.0.5');
    assert.throws(() => loadConfig({ WAJAH_TRUST_PROXY: 'everyone' }), /WAJAH_TRUST_PROXY/);
  });
});

describe('WAJAH_TRUST_PROXY unset behind a reverse proxy', () => {
  const t = useTestApp('pglite');

  test('the first request carrying X-Forwarded-For is reported once in the log: every caller has the proxy\'s address', async () => {
    const { app, container } = t();
    const warned: string[] = [];
    const original = container.log.warn;
    container.log.warn = (m: string) => void warned.push(m);
    try {
      await app.inject({ method: 'GET', url: '/api/clients/users/', remoteAddress: '172.18.0.5' });
      assert.equal(warned.length, 0, 'no proxy header, no warning');
      for (let i = 0; i < 3; i++) await app.inject({ method: 'GET', url: '/api/clients/users/', remoteAddress: '172.18.0.5', headers: { 'x-forwarded-for': `203.0.113.${i}` } });
      assert.equal(warned.length, 1, warned.join('\n'));
      assert.match(warned[0], /WAJAH_TRUST_PROXY is unset: every caller is seen as 172\.18\.0\.5/);
    } finally {
      container.log.warn = original;
    }
  });
});

