import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';

for (const backend of backendNames()) {
  describe(`app basics [${backend}]`, () => {
    const t = useTestApp(backend);

    test('unknown route answers the one error shape', async () => {
      const res = await t().app.inject({ method: 'GET', url: '/api/no/such/thing/' });
      assert.equal(res.statusCode, 404);
      assert.deepEqual(res.json(), { code: 'ROUTE_NOT_FOUND', message: 'No endpoint GET /api/no/such/thing/', statusCode: 404 });
    });

    test('OpenAPI document is generated and served', async () => {
      const res = await t().app.inject({ method: 'GET', url: '/api/openapi.json' });
      assert.equal(res.statusCode, 200);
      const doc = res.json();
      assert.equal(doc.openapi, '3.0.3');
      assert.equal(doc.info.title, 'Wajah API');
    });

    test('migrations ran on this backend', async () => {
      assert.equal(t().container.database.dialect, backend);
      assert.equal(await t().container.database.ping(), true);
    });
  });
}
