// A right PIN reset the lock-out series and its doubling: with the real user signing in between, an attacker
// could guess 4 PINs, wait for the sign-in, guess 4 more, … without ever being locked (≈ 35 guesses a day and
// more). Now at most 10 wrong guesses per credential count in any 24 hours, successes in between or not.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, postJson, type Tenant } from '../helpers/face-fixtures.ts';
import type { FallbackGuessTables } from '../../src/db/repositories/fallback-guesses.repository.ts';
import type { FallbackTables } from '../../src/db/repositories/fallbacks.repository.ts';

const DAY = 24 * 3600_000;
const RIGHT = '4821';

for (const backend of backendNames()) {
  describe(`wrong fallback guesses per day [${backend}]`, () => {
    const t = useTestApp(backend, { env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
    let tenant: Tenant;
    const auth = (app: FastifyInstance, user: string, pin: string) => postJson(app, '/api/auth/authentication/fallback/', tenant, { user_id: user, pin });

    test('4 guesses, the real user signs in, 4 more, …: the 11th wrong guess of the day is refused, even the right PIN then', async () => {
      const { app, container } = t();
      tenant = await createTenant(app, 'Daily cap');
      const id = await createUser(app, tenant, 'DAY1', 'Daily User');
      const put = await app.inject({ method: 'PUT', url: '/api/clients/users/DAY1/fallback/', payload: { type: 'pin', secret: RIGHT }, headers: { 'content-type': 'application/json', authorization: tenant.auth } });
      assert.equal(put.statusCode, 200, put.body);
      const started = Date.now();
      let wrong = 0;
      let guess = 5100;
      let stoppedAt: Record<string, any> | null = null;
      const remaining: number[] = [];
      for (let day = 0; day < 6 && !stoppedAt; day++) {
        for (let i = 0; i < 4; i++) {
          const res = await auth(app, 'DAY1', String(guess++));
          if (res.statusCode !== 401) {
            stoppedAt = res.json();
            break;
          }
          wrong++;
          remaining.push(res.json().details.attempts_remaining);
          if (wrong === 10) assert.ok(res.json().details.locked_until, 'the 10th wrong guess of the day locks');
        }
        if (stoppedAt) break;
        const real = await auth(app, 'DAY1', RIGHT); // the real user, in between
        if (real.statusCode !== 200) stoppedAt = real.json();
      }
      assert.equal(wrong, 10, 'ten wrong guesses, whatever the successes in between');
      // What is left is the smaller of the series (5 in a row) and the day (10).
      assert.deepEqual(remaining, [4, 3, 2, 1, 4, 3, 2, 1, 1, 0]);
      assert.equal(stoppedAt?.code, 'FALLBACK_LOCKED', JSON.stringify(stoppedAt));
      // Locked until the first of those guesses is a day old, for the right PIN too.
      const until = Date.parse(stoppedAt!.details.locked_until);
      assert.ok(until >= started + DAY && until <= Date.now() + DAY, stoppedAt!.details.locked_until);
      const right = await auth(app, 'DAY1', RIGHT);
      assert.equal(right.json().code, 'FALLBACK_LOCKED', right.body);
      const view = await app.inject({ method: 'GET', url: '/api/clients/users/DAY1/fallback/', headers: { authorization: tenant.auth } });
      assert.equal(view.json().locked, true);

      // A rolling day: once the first four guesses are more than a day old (and the lock has run out), four more
      // may be tried, not ten.
      const db = container.database.db.withTables<FallbackGuessTables>();
      const locks = container.database.db.withTables<FallbackTables>();
      const row = await db.selectFrom('fallback_credentials').select('recent_failures').where('user_id', '=', id).executeTakeFirstOrThrow();
      assert.equal(row.recent_failures.length, 10, 'the right PINs are not counted');
      const aged = row.recent_failures.map((at, i) => (i < 4 ? at - DAY : at));
      await db.updateTable('fallback_credentials').set({ recent_failures: JSON.stringify(aged) }).where('user_id', '=', id).execute();
      await locks.updateTable('fallback_credentials').set({ locked_until: new Date(Date.now() - 1000) }).where('user_id', '=', id).execute();
      const more: number[] = [];
      for (let i = 0; i < 6; i++) more.push((await auth(app, 'DAY1', String(guess++))).statusCode);
      assert.deepEqual(more, [401, 401, 401, 401, 423, 423]);

      // The support desk's unlock (after checking the person) clears the day's count.
      assert.equal((await postJson(app, '/api/clients/users/DAY1/fallback/unlock/', tenant, {})).statusCode, 200);
      assert.equal((await auth(app, 'DAY1', RIGHT)).statusCode, 200);
    });
  });
}
