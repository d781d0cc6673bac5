// A PIN check is slow (scrypt) and runs outside the row lock. A credential replaced or removed while a
// check of the old one was in flight: the old PIN signed the user in, and a wrong guess at the old PIN
// counted against (and could lock) the new one. The hash is held at a gate here so the change lands
// exactly in that window.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, postJson, type Tenant } from '../helpers/face-fixtures.ts';
import { SecretHasher } from '../../src/services/fallback-hasher.ts';

// Every verify waits for its gate to open (set per test), and is counted; hash() is untouched.
const realVerify = SecretHasher.prototype.verify;
let gate: { reached: () => void; open: Promise<void> } | null = null;
let verifies = 0;
SecretHasher.prototype.verify = async function (this: SecretHasher, secret: string, stored: string) {
  verifies++;
  const result = await realVerify.call(this, secret, stored);
  if (gate) {
    gate.reached();
    await gate.open;
  }
  return result;
};
after(() => {
  SecretHasher.prototype.verify = realVerify;
});

/** Holds the next checks at the gate; resolves `reached` when one arrives. */
function holdChecks() {
  let release!: () => void;
  let reached!: () => void;
  const arrived = new Promise<void>((r) => (reached = r));
  gate = { reached, open: new Promise<void>((r) => (release = r)) };
  return {
    arrived,
    release: () => {
      gate = null;
      release();
    },
  };
}

function put(app: FastifyInstance, t: Tenant, url: string, body: unknown) {
  return app.inject({ method: 'PUT', url, payload: body as object, headers: { 'content-type': 'application/json', authorization: t.auth } });
}

for (const backend of backendNames()) {
  describe(`fallback credential changed during a check [${backend}]`, () => {
    const t = useTestApp(backend, { env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
    let tenant: Tenant;
    const auth = (user: string, pin: string) => postJson(t().app, '/api/auth/authentication/fallback/', tenant, { user_id: user, pin });
    const setPin = (user: string, pin: string) => put(t().app, tenant, `/api/clients/users/${user}/fallback/`, { type: 'pin', secret: pin });

    test('the old PIN does not sign in once the PIN was replaced or removed mid-check', async () => {
      const { app } = t();
      tenant = await createTenant(app, 'Fallback change');
      await createUser(app, tenant, 'EMP_R', 'Replaced');
      assert.equal((await setPin('EMP_R', '5081')).statusCode, 200);
      let held = holdChecks();
      let pending = auth('EMP_R', '5081');
      await held.arrived;
      assert.equal((await setPin('EMP_R', '6294')).statusCode, 200);
      held.release();
      let res = await pending;
      assert.equal(res.statusCode, 401, res.body);
      assert.equal(res.json().code, 'INVALID_FALLBACK_CREDENTIAL');
      assert.equal((await auth('EMP_R', '6294')).statusCode, 200, 'the new PIN works');

      held = holdChecks();
      pending = auth('EMP_R', '6294');
      await held.arrived;
      const removed = await app.inject({ method: 'DELETE', url: '/api/clients/users/EMP_R/fallback/', headers: { authorization: tenant.auth } });
      assert.equal(removed.statusCode, 204, removed.body);
      held.release();
      res = await pending;
      assert.equal(res.json().code, 'FALLBACK_NOT_SET', res.body);
      const events = await t()
        .container.database.db.selectFrom('events')
        .select('event_type')
        .where('client_id', '=', tenant.clientId)
        .where('event_type', '=', 'authentication.success')
        .execute();
      assert.equal(events.length, 1, 'only the new PIN signed in');
    });

    test("a wrong guess at the old PIN does not count against, or lock, the new one", async () => {
      await createUser(t().app, tenant, 'EMP_L', 'Locked');
      assert.equal((await setPin('EMP_L', '5081')).statusCode, 200);
      for (let i = 0; i < 4; i++) assert.equal((await auth('EMP_L', '9999')).statusCode, 401);
      const held = holdChecks();
      const pending = auth('EMP_L', '9999'); // the fifth wrong guess: it locks the credential it was checked against
      await held.arrived;
      assert.equal((await setPin('EMP_L', '7305')).statusCode, 200);
      held.release();
      assert.equal((await pending).statusCode, 401);
      const view = await t().app.inject({ method: 'GET', url: '/api/clients/users/EMP_L/fallback/', headers: { authorization: tenant.auth } });
      assert.equal(view.json().locked, false, view.body);
      assert.equal(view.json().failed_attempts, 0, view.body);
      const res = await auth('EMP_L', '7305');
      assert.equal(res.statusCode, 200, res.body);
    });

    test('a user deactivated while the PIN is checked is not signed in', async () => {
      const { app } = t();
      const id = await createUser(app, tenant, 'EMP_D', 'Deactivated');
      assert.equal((await setPin('EMP_D', '5081')).statusCode, 200);
      const held = holdChecks();
      const pending = auth('EMP_D', '5081');
      await held.arrived;
      const off = await postJson(app, '/api/clients/users/EMP_D/deactivate/', tenant, {});
      assert.equal(off.statusCode, 200, off.body);
      held.release();
      const res = await pending;
      assert.equal(res.statusCode, 409, res.body);
      assert.equal(res.json().code, 'USER_INACTIVE');
      const db = t().container.database.db;
      const user = await db.selectFrom('users').select('last_authentication').where('id', '=', id).executeTakeFirstOrThrow();
      assert.equal(user.last_authentication, null, 'no sign-in recorded');
      const outcomes = await db.selectFrom('auth_attempts').select(['outcome', 'failure_reason']).where('user_id', '=', id).execute();
      assert.deepEqual(outcomes, [{ outcome: 'failed', failure_reason: 'USER_INACTIVE' }]);
    });

    // The attack: a kiosk that shows one message for every failure still leaked, by its response time, which
    // employee numbers exist, have a PIN, or are locked: those answers needed no hash (a few ms), a wrong PIN
    // one (≈ 40 ms). Now every answer costs exactly one hash; the count is what the test can check exactly.
    test('every answer costs one hash: unknown user, no PIN, deactivated, locked, wrong and right PIN', async () => {
      const { app } = t();
      await createUser(app, tenant, 'EMP_T0', 'No Pin');
      await createUser(app, tenant, 'EMP_T1', 'Has Pin');
      assert.equal((await setPin('EMP_T1', '5081')).statusCode, 200);
      await createUser(app, tenant, 'EMP_T2', 'Locked Out');
      assert.equal((await setPin('EMP_T2', '5081')).statusCode, 200);
      for (let i = 0; i < 5; i++) assert.equal((await auth('EMP_T2', '9999')).statusCode, 401);
      await createUser(app, tenant, 'EMP_T3', 'Deactivated');
      assert.equal((await setPin('EMP_T3', '5081')).statusCode, 200);
      assert.equal((await postJson(app, '/api/clients/users/EMP_T3/deactivate/', tenant, {})).statusCode, 200);
      for (const [user, pin, status] of [['NOBODY', '9999', 404], ['EMP_T0', '9999', 422], ['EMP_T3', '9999', 409], ['EMP_T2', '5081', 423], ['EMP_T1', '9999', 401], ['EMP_T1', '5081', 200]] as const) {
        verifies = 0;
        const res = await auth(user, pin);
        assert.equal(res.statusCode, status, res.body);
        assert.equal(verifies, 1, `${user}: ${res.json?.().code ?? res.statusCode} ran ${verifies} hashes`);
      }
    });
  });
}
