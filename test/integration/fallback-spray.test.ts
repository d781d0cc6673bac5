// Password spraying: one PIN tried once at each employee id stays under every per-user lock-out (5 wrong in a
// row), so nothing stopped an attacker trying "3915" at the whole tenant and signing in as each user who chose it.
// Now a PIN that failed against more than 5 users is refused in the tenant (429 FALLBACK_SPRAY_BLOCKED), for every
// user id, known or not, with the one decoy hash of the other answers; the users' own PINs keep working.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { backendNames } from '../helpers/backends.ts';
import { useInstances, useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, postJson, type Tenant } from '../helpers/face-fixtures.ts';
import { SecretHasher } from '../../src/services/fallback-hasher.ts';

// Counts the secret checks (real and decoy), to show a refused attempt costs one hash like every other answer.
const realVerify = SecretHasher.prototype.verify;
let verifies = 0;
SecretHasher.prototype.verify = async function (this: SecretHasher, secret: string, stored: string) {
  verifies++;
  return realVerify.call(this, secret, stored);
};
after(() => {
  SecretHasher.prototype.verify = realVerify;
});

const SPRAYED = '3915';
// Each user's own PIN; the last user chose the sprayed one.
const PINS = ['4821', '5093', '6172', '7306', '8415', '9527', '3648', SPRAYED];

function setPin(app: FastifyInstance, t: Tenant, user: string, pin: string) {
  return app.inject({ method: 'PUT', url: `/api/clients/users/${user}/fallback/`, payload: { type: 'pin', secret: pin }, headers: { 'content-type': 'application/json', authorization: t.auth } });
}
const auth = (app: FastifyInstance, t: Tenant, user: string, pin: string) => postJson(app, '/api/auth/authentication/fallback/', t, { user_id: user, pin });

async function usersWithPins(app: FastifyInstance, t: Tenant, prefix: string, pins: string[]) {
  const ids: string[] = [];
  for (const [i, pin] of pins.entries()) {
    await createUser(app, t, `${prefix}${i + 1}`, `Sprayed ${i + 1}`);
    assert.equal((await setPin(app, t, `${prefix}${i + 1}`, pin)).statusCode, 200);
    ids.push(`${prefix}${i + 1}`);
  }
  return ids;
}

for (const backend of backendNames()) {
  describe(`one PIN sprayed across users [${backend}]`, () => {
    const t = useTestApp(backend, { env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });

    test('after failing against 5 users the PIN is refused in the tenant, for every user id; own PINs still work', async () => {
      const { app, container } = t();
      const tenant = await createTenant(app, 'Spray');
      const other = await createTenant(app, 'Spray elsewhere');
      const users = await usersWithPins(app, tenant, 'SP', PINS);
      const codes: string[] = [];
      for (const user of users) {
        verifies = 0;
        const res = await auth(app, tenant, user, SPRAYED);
        codes.push(res.json().code ?? String(res.statusCode));
        assert.equal(verifies, 1, `${user}: one hash per answer`);
        if (res.statusCode === 429) {
          assert.ok(Number(res.headers['retry-after']) > 23 * 3600, res.body);
          assert.equal(res.json().details.retry_after, Number(res.headers['retry-after']));
          assert.ok(!res.body.includes(SPRAYED));
        }
      }
      // The sixth user is refused unchecked, and so is the one whose PIN it is: the spray finds nobody after five.
      assert.deepEqual(codes, [...Array(5).fill('INVALID_FALLBACK_CREDENTIAL'), 'FALLBACK_SPRAY_BLOCKED', 'FALLBACK_SPRAY_BLOCKED', 'FALLBACK_SPRAY_BLOCKED']);
      // Known or unknown, the same answer at the same cost: it does not tell which ids exist.
      for (const user of ['NOBODY', 'SP1']) {
        verifies = 0;
        const res = await auth(app, tenant, user, SPRAYED);
        assert.equal(res.json().code, 'FALLBACK_SPRAY_BLOCKED', res.body);
        assert.equal(verifies, 1);
      }
      // Only that PIN is refused: another wrong PIN is an ordinary failure, and every sprayed user still signs in.
      assert.equal((await auth(app, tenant, 'SP2', '2759')).json().code, 'INVALID_FALLBACK_CREDENTIAL');
      for (const [i, user] of users.slice(0, 7).entries()) assert.equal((await auth(app, tenant, user, PINS[i]!)).statusCode, 200, user);
      // The per-user lock-outs were never reached: the attacker stayed under them.
      for (const user of users) {
        const view = await app.inject({ method: 'GET', url: `/api/clients/users/${user}/fallback/`, headers: { authorization: tenant.auth } });
        assert.equal(view.json().locked, false, user);
      }
      // Another client's users are not affected.
      await usersWithPins(app, other, 'OT', ['4821']);
      assert.equal((await auth(app, other, 'OT1', SPRAYED)).json().code, 'INVALID_FALLBACK_CREDENTIAL');
      // One security entry for the block, without the PIN.
      await container.foundation.audit.flush();
      const entries = await container.database.db
        .selectFrom('audit_logs')
        .select(['action', 'details'])
        .where('client_id', '=', tenant.clientId)
        .where('category', '=', 'security')
        .where('action', '=', 'fallback.spray_blocked')
        .execute();
      assert.equal(entries.length, 1);
      assert.equal((entries[0]!.details as { users: number }).users, 6);
      assert.ok(!JSON.stringify(entries[0]!.details).includes(SPRAYED));
    });

    test('sprayed in parallel at 12 users: exactly 5 are checked, the rest refused', async () => {
      const { app } = t();
      const tenant = await createTenant(app, 'Spray at once');
      const users = await usersWithPins(app, tenant, 'PA', ['4821', '5093', '6172', '7306', '8415', '9527', '3648', '2759', '4817', '5928', '6039', '7140']);
      const answers = await Promise.all(users.map((u) => auth(app, tenant, u, SPRAYED)));
      const codes = answers.map((r) => r.json().code as string);
      assert.equal(codes.filter((c) => c === 'INVALID_FALLBACK_CREDENTIAL').length, 5, codes.join(','));
      assert.equal(codes.filter((c) => c === 'FALLBACK_SPRAY_BLOCKED').length, 7, codes.join(','));
    });

    test("one user retyping the same wrong PIN, and real users' right PINs, do not count as spraying", async () => {
      const { app } = t();
      const tenant = await createTenant(app, 'No spray');
      const users = await usersWithPins(app, tenant, 'NS', ['4821', '5093', '6172', '7306', '8415', '9527', '3648']);
      for (let i = 0; i < 4; i++) assert.equal((await auth(app, tenant, 'NS1', SPRAYED)).json().code, 'INVALID_FALLBACK_CREDENTIAL');
      // Seven users sign in with their own PINs, the same one twice in a row for none of them: no block.
      for (const [i, user] of users.entries()) assert.equal((await auth(app, tenant, user, ['4821', '5093', '6172', '7306', '8415', '9527', '3648'][i]!)).statusCode, 200);
      assert.equal((await auth(app, tenant, 'NS2', SPRAYED)).json().code, 'INVALID_FALLBACK_CREDENTIAL');
    });
  });
}

// Behind a load balancer the count must be one: two instances sharing PostgreSQL and Redis do not double it.
const REDIS = process.env.WAJAH_TEST_REDIS || '';
describe('one PIN sprayed across two instances [postgres, Redis]', { skip: (!REDIS && 'WAJAH_TEST_REDIS not set') || (!backendNames().includes('postgres') && 'PostgreSQL not available') }, () => {
  const { apps, containers } = useInstances(2, { redisUrl: REDIS, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });

  test('spread over both instances, 5 users are checked in all; the block holds on both; Redis keeps no PIN', async () => {
    const [a, b] = apps as [FastifyInstance, FastifyInstance];
    const tenant = await createTenant(a, 'Spray instances');
    const users = await usersWithPins(a, tenant, 'RI', ['4821', '5093', '6172', '7306', '8415', '9527', '3648', '2759', '4817', '5928']);
    const answers = await Promise.all(users.map((u, i) => auth(i % 2 ? b : a, tenant, u, SPRAYED)));
    const codes = answers.map((r) => r.json().code as string);
    assert.equal(codes.filter((c) => c === 'INVALID_FALLBACK_CREDENTIAL').length, 5, codes.join(','));
    assert.equal(codes.filter((c) => c === 'FALLBACK_SPRAY_BLOCKED').length, 5, codes.join(','));
    for (const app of [a, b]) assert.equal((await auth(app, tenant, 'NOBODY', SPRAYED)).json().code, 'FALLBACK_SPRAY_BLOCKED');
    assert.equal((await auth(b, tenant, 'RI1', '4821')).statusCode, 200, 'own PINs still work');
    const redis = containers[0]!.redis!;
    const keys = await redis.keys(`wajah:fb-spray:*${tenant.clientId}*`);
    assert.ok(keys.length >= 2, keys.join(','));
    // Keyed by the tenant and an HMAC fingerprint; the set holds user ids (uuids), the block a flag.
    for (const key of keys) {
      const [, kind, fingerprint] = key.match(new RegExp(`^wajah:fb-spray:([ub]):${tenant.clientId}:([A-Za-z0-9_-]{22})$`)) ?? [];
      assert.ok(fingerprint && !fingerprint.includes(SPRAYED), key);
      if (kind === 'u') for (const m of await redis.zrange(key, 0, -1)) assert.match(m, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      else assert.equal(await redis.get(key), '1');
    }
  });
});
