import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { as, createClient } from '../helpers/foundation.ts';

/** P1: another tenant's user answers exactly like a missing one, on every user route. */
for (const backend of backendNames()) {
  describe(`tenancy [${backend}]`, () => {
    const t = useTestApp(backend);

    test('client B can neither read, change nor detect client A users', async () => {
      const { app } = t();
      const a = await createClient(app, { name: 'A' });
      const b = await createClient(app, { name: 'B' });
      const created = await as(app, a, { method: 'POST', url: '/api/clients/users/', payload: { external_id: 'SECRET-1', name: 'Alice', email: 'alice@a.example' } });
      const alice = created.json();
      const routes = (ref: string) =>
        [
          { method: 'GET', url: `/api/clients/users/${ref}/` },
          { method: 'PUT', url: `/api/clients/users/${ref}/`, payload: { name: 'Mallory' } },
          { method: 'POST', url: `/api/clients/users/${ref}/deactivate/` },
          { method: 'POST', url: `/api/clients/users/${ref}/activate/` },
          { method: 'GET', url: `/api/clients/users/${ref}/export/` },
          { method: 'DELETE', url: `/api/clients/users/${ref}/` },
        ] as const;
      const missing = await Promise.all(routes('00000000-0000-4000-8000-000000000000').map((r) => as(app, b, r)));
      const missingExt = await Promise.all(routes('NOPE-1').map((r) => as(app, b, r)));
      for (const ref of [alice.id, 'SECRET-1']) {
        const answers = await Promise.all(routes(ref).map((r) => as(app, b, r)));
        answers.forEach((res, i) => {
          assert.equal(res.statusCode, 404, `${routes(ref)[i]!.method} ${routes(ref)[i]!.url}`);
          assert.deepEqual(res.json(), missing[i]!.json());
          assert.deepEqual(res.json(), missingExt[i]!.json());
          assert.deepEqual(res.json(), { code: 'USER_NOT_FOUND', message: 'No such user', statusCode: 404 });
        });
      }
      // B's list and search never show A's users; B may reuse the same external_id.
      const list = await as(app, b, { method: 'GET', url: '/api/clients/users/?search=alice' });
      assert.equal(list.json().count, 0);
      assert.equal((await as(app, b, { method: 'POST', url: '/api/clients/users/', payload: { external_id: 'SECRET-1', name: 'Bob' } })).statusCode, 201);
      // A's user is untouched.
      const still = await as(app, a, { method: 'GET', url: `/api/clients/users/${alice.id}/` });
      assert.equal(still.json().name, 'Alice');
      assert.equal(still.json().is_active, true);
    });
  });
}
