// A PIN that every attacker tries first (0000, 1234, 123456, …) or the user's own id was accepted: the
// lock-out stops five guesses at one user, not "1234" tried once at every user of the client. Years (1990)
// and dates (0815, 250390) were accepted too, though they are among the PINs people choose most.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, type Tenant } from '../helpers/face-fixtures.ts';
import type { FastifyInstance } from 'fastify';

function put(app: FastifyInstance, t: Tenant, user: string, body: unknown) {
  return app.inject({ method: 'PUT', url: `/api/clients/users/${user}/fallback/`, payload: body as object, headers: { 'content-type': 'application/json', authorization: t.auth } });
}

for (const backend of backendNames()) {
  describe(`weak fallback secrets [${backend}]`, () => {
    const t = useTestApp(backend, { env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });

    test('guessable PINs, the user id and common passwords are refused; ordinary ones are accepted', async () => {
      const { app } = t();
      const tenant = await createTenant(app, 'Weak secrets');
      await createUser(app, tenant, '250719', 'Siti Rahma');
      await createUser(app, tenant, 'EMP042', 'Budi Santoso');
      const weak: Array<[string, string, string]> = [
        ['250719', 'pin', '0000'],
        ['250719', 'pin', '1234'],
        ['250719', 'pin', '9999'],
        ['250719', 'pin', '123456'],
        ['250719', 'pin', '654321'],
        ['250719', 'pin', '1212'],
        ['250719', 'pin', '2580'],
        ['250719', 'pin', '250719'], // the user's external id
        // Years and dates, the next guesses after runs and repeats (only 1984 and 2000–2026 were refused).
        ['250719', 'pin', '1990'],
        ['250719', 'pin', '1975'],
        ['250719', 'pin', '0815'], // MMDD
        ['250719', 'pin', '1508'], // DDMM
        ['250719', 'pin', '250390'], // DDMMYY
        ['250719', 'pin', '19900815'], // YYYYMMDD
        ['EMP042', 'password', 'password'],
        ['EMP042', 'password', '12345678'],
        ['EMP042', 'password', 'emp042!!'], // contains the user's id
        ['EMP042', 'password', 'Budi Santoso'], // the user's name
      ];
      for (const [user, type, secret] of weak) {
        const res = await put(app, tenant, user, { type, secret });
        assert.equal(res.statusCode, 400, `${user} ${type} ${secret}: ${res.body}`);
        assert.equal(res.json().code, 'VALIDATION_ERROR');
        assert.equal(res.json().details.field, 'secret');
        if (secret !== type) assert.ok(!res.body.includes(secret), 'the secret is not echoed');
      }
      for (const [user, type, secret] of [['250719', 'pin', '4821'], ['250719', 'pin', '73915'], ['EMP042', 'password', 'correct horse battery']]) {
        const res = await put(app, tenant, user, { type, secret });
        assert.equal(res.statusCode, 200, `${user} ${type} ${secret}: ${res.body}`);
      }
    });
  });
}
