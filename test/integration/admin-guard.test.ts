import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useTestApp, ADMIN_TOKEN } from '../helpers/app.ts';
import { adminHeaders, createClient, quickBackend } from '../helpers/foundation.ts';
import { TEST_MASTER_KEY } from '../helpers/face-fixtures.ts';

// Issue 9.10 and 15.8: operator-token guessing is slowed and limited; key checks leak nothing.
describe('admin token and key checks that leak nothing', () => {
  const t = useTestApp(quickBackend(), { env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY, WAJAH_SSO_ISSUER: 'https://id.example.com/oidc' } });

  test('guessing the operator token: 10 wrong tries per address, each slower, then 429 even for the right token; other addresses unaffected', async () => {
    const { app } = t();
    const attacker = '203.0.113.9';
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => app.inject({ method: 'GET', url: '/api/admin/clients/', headers: { authorization: `Bearer guess-${i}` }, remoteAddress: attacker })),
    );
    const elapsed = Date.now() - started;
    const codes = answers.map((r) => r.json().code as string);
    assert.equal(codes.filter((c) => c === 'ADMIN_TOKEN_INVALID').length, 10, codes.join(','));
    assert.equal(codes.filter((c) => c === 'RATE_LIMIT_EXCEEDED').length, 20);
    assert.ok(Number(answers.find((r) => r.statusCode === 429)!.headers['retry-after']) > 0);
    // The 10th wrong answer waited 10 × 100 ms: guessing is slowed, not just counted.
    assert.ok(elapsed >= 900, `wrong answers came back after ${elapsed} ms`);
    const blocked = await app.inject({ method: 'GET', url: '/api/admin/clients/', headers: adminHeaders, remoteAddress: attacker });
    assert.equal(blocked.statusCode, 429);
    const operator = await app.inject({ method: 'GET', url: '/api/admin/clients/', headers: adminHeaders, remoteAddress: '198.51.100.7' });
    assert.equal(operator.statusCode, 200);
  });

  test('/metrics takes the operator token too, so it shares the guard: no side door for guessing at full speed', async () => {
    const { app } = t();
    const attacker = '203.0.113.44';
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer guess-${i}` }, remoteAddress: attacker })),
    );
    const codes = answers.map((r) => r.json().code as string);
    assert.equal(codes.filter((c) => c === 'ADMIN_TOKEN_INVALID').length, 10, codes.join(','));
    assert.equal(codes.filter((c) => c === 'RATE_LIMIT_EXCEEDED').length, 20);
    // One count per address across both doors: the admin API is closed to this address as well.
    assert.equal((await app.inject({ method: 'GET', url: '/api/admin/clients/', headers: adminHeaders, remoteAddress: attacker })).statusCode, 429);
    assert.equal((await app.inject({ method: 'GET', url: '/metrics', headers: adminHeaders, remoteAddress: attacker })).statusCode, 429);
    assert.equal((await app.inject({ method: 'GET', url: '/metrics', headers: adminHeaders, remoteAddress: '198.51.100.44' })).statusCode, 200);
  });

  test('15.8: no token says a token is required; a wrong one says it is wrong', async () => {
    const { app } = t();
    const none = await app.inject({ method: 'GET', url: '/api/admin/clients/', remoteAddress: '198.51.100.31' });
    assert.equal(none.json().code, 'ADMIN_TOKEN_REQUIRED');
    const wrong = await app.inject({ method: 'GET', url: '/api/admin/clients/', headers: { authorization: `Bearer ${ADMIN_TOKEN}x` }, remoteAddress: '198.51.100.32' });
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.json().code, 'ADMIN_TOKEN_INVALID');
  });

  test('an unknown key id takes the same path as a known one with a wrong secret (one lookup per cache window each)', async () => {
    const { app, container } = t();
    const c = await createClient(app);
    const keys = (container.foundation.access as unknown as { keys: { findCredential(key: string): Promise<unknown> } }).keys;
    const original = keys.findCredential.bind(keys);
    const lookups = new Map<string, number>();
    keys.findCredential = async (key: string) => {
      lookups.set(key, (lookups.get(key) ?? 0) + 1);
      return original(key);
    };
    try {
      const unknown = 'wk_' + 'f'.repeat(32);
      for (let i = 0; i < 10; i++) {
        for (const key of [c.api_key, unknown]) {
          const res = await app.inject({ method: 'GET', url: '/api/clients/users/', headers: { authorization: `ApiKey ${key}:wsk_wrong${i}` }, remoteAddress: `192.0.2.${i + 1}` });
          assert.equal(res.statusCode, 401);
          assert.equal(res.json().code, 'INVALID_CREDENTIALS');
          assert.equal(res.json().message, 'Missing or invalid API credentials');
        }
      }
      assert.equal(lookups.get(unknown), lookups.get(c.api_key), `lookups: ${JSON.stringify([...lookups])}`);
    } finally {
      keys.findCredential = original;
    }
  });

  test('the OIDC issuer and endpoints come from WAJAH_SSO_ISSUER, never from the Host header', async () => {
    const { app } = t();
    for (const host of ['evil.example', 'localhost:8000']) {
      const res = await app.inject({ method: 'GET', url: '/oidc/.well-known/openid-configuration', headers: { host, 'x-forwarded-host': 'evil2.example' } });
      assert.equal(res.statusCode, 200, res.body);
      const d = res.json() as Record<string, unknown>;
      assert.equal(d.issuer, 'https://id.example.com/oidc');
      for (const [k, v] of Object.entries(d)) if (typeof v === 'string' && /^https?:/.test(v)) assert.match(v, /^https:\/\/id\.example\.com\/oidc/, `${k}: ${v}`);
    }
  });
});

// With Redis, the limit holds across instances: two servers behind one load balancer do not double the guesses.
const REDIS = process.env.WAJAH_TEST_REDIS;
describe('operator-token guessing across two instances sharing Redis', { skip: REDIS ? false : 'needs Redis (WAJAH_TEST_REDIS)' }, () => {
  const env = { WAJAH_MASTER_KEY: TEST_MASTER_KEY, REDIS_URL: REDIS ?? '' };
  const one = useTestApp(quickBackend(), { env });
  const two = useTestApp(quickBackend(), { env });

  test('30 parallel wrong tokens spread over both instances: 10 answered ADMIN_TOKEN_INVALID in all, the rest 429, on both', async () => {
    const attacker = `203.0.113.${10 + Math.floor(Math.random() * 200)}`;
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => (i % 2 ? two() : one()).app.inject({ method: 'GET', url: '/api/admin/clients/', headers: { authorization: `Bearer guess-${i}` }, remoteAddress: attacker })),
    );
    const codes = answers.map((r) => r.json().code as string);
    assert.equal(codes.filter((c) => c === 'ADMIN_TOKEN_INVALID').length, 10, codes.join(','));
    assert.equal(codes.filter((c) => c === 'RATE_LIMIT_EXCEEDED').length, 20);
    for (const t of [one, two]) {
      const blocked = await t().app.inject({ method: 'GET', url: '/api/admin/clients/', headers: adminHeaders, remoteAddress: attacker });
      assert.equal(blocked.statusCode, 429);
    }
  });

  test('failed API-key calls spread over both instances make one burst, reported once (the security monitor counts in Redis)', async () => {
    const attacker = `198.18.${Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
    // 12 failures from one address, 6 through each instance: under the burst of 10 in either process alone.
    for (let i = 0; i < 12; i++) {
      const res = await (i % 2 ? two() : one()).app.inject({ method: 'GET', url: '/api/clients/users/', headers: { authorization: `ApiKey wk_${'0'.repeat(31)}${i % 10}:wsk_wrong` }, remoteAddress: attacker });
      assert.equal(res.statusCode, 401);
    }
    let bursts = 0;
    for (const t of [one, two]) {
      const { container } = t();
      await container.foundation.security.flush();
      await container.foundation.audit.flush();
      const rows = await container.database.db.selectFrom('audit_logs').select('action').where('category', '=', 'security').where('action', '=', 'auth_failure_burst').where('target', '=', attacker).execute();
      bursts += rows.length;
    }
    assert.equal(bursts, 1, 'one burst, seen across instances and reported by one of them');
  });
});
