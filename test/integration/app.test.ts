import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { ADMIN_TOKEN, useTestApp } from '../helpers/app.ts';

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

    test('OpenAPI: image parts of multipart bodies are binary files, as the guide sends them (frame: <binary_image_data>)', async () => {
      const doc = (await t().app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
      const body = (path: string, type: string) => doc.paths[path].post.requestBody.content[type].schema.properties;
      for (const path of ['/api/v1/auth/enrollment/process-frame/', '/api/v1/auth/authentication/process-frame/']) {
        assert.equal(body(path, 'multipart/form-data').frame.format, 'binary', path);
        assert.equal(body(path, 'application/json').frame.format, undefined, `${path}: JSON keeps data URLs`);
      }
      assert.deepEqual(
        { type: body('/api/v1/auth/enrollment/direct/', 'multipart/form-data').image.type, format: body('/api/v1/auth/enrollment/direct/', 'multipart/form-data').image.format },
        { type: 'string', format: 'binary' },
      );
      assert.deepEqual(body('/api/v1/auth/authentication/batch-process/', 'multipart/form-data').frames, { type: 'array', items: { type: 'string', format: 'binary' } });
    });

    test('OpenAPI: a parameter the server defaults (page, page_size, …) is optional for the caller', async () => {
      const { app } = t();
      const doc = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
      const defaulted: string[] = [];
      for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { parameters?: Array<{ in: string; name: string; required?: boolean; schema?: { default?: unknown } }> }>>)) {
        for (const [method, op] of Object.entries(ops)) {
          for (const p of op.parameters ?? []) {
            if (p.schema?.default === undefined || p.in === 'path') continue;
            defaulted.push(`${method} ${path} ${p.name}`);
            assert.notEqual(p.required, true, `${method.toUpperCase()} ${path}: ${p.in} parameter ${p.name} has a default but is marked required`);
          }
        }
      }
      assert.ok(defaulted.includes('get /api/v1/clients/users/ page'), defaulted.join(', '));
      // And the server does fill them in: a list without page or page_size is page 1 of 20.
      const created = await app.inject({ method: 'POST', url: '/api/admin/clients/', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload: { name: 'Defaults', tier: 'basic' } });
      const { api_key, secret_key } = created.json();
      const list = await app.inject({ method: 'GET', url: '/api/clients/users/', headers: { authorization: `ApiKey ${api_key}:${secret_key}` } });
      assert.equal(list.statusCode, 200);
      assert.deepEqual({ page: list.json().page, page_size: list.json().page_size }, { page: 1, page_size: 20 });
    });

    test('an empty JSON body on an action endpoint is no body; broken JSON is INVALID_JSON', async () => {
      const { app } = t();
      const created = await app.inject({ method: 'POST', url: '/api/admin/clients/', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload: { name: 'Json', tier: 'basic' } });
      const { api_key, secret_key } = created.json();
      const headers = { authorization: `ApiKey ${api_key}:${secret_key}`, 'content-type': 'application/json' };
      const user = await app.inject({ method: 'POST', url: '/api/clients/users/', headers, payload: JSON.stringify({ external_id: 'E1', name: 'X' }) });
      assert.equal(user.statusCode, 201);
      const off = await app.inject({ method: 'POST', url: '/api/clients/users/E1/deactivate/', headers, payload: '' });
      assert.equal(off.statusCode, 200);
      assert.equal(off.json().is_active, false);
      const broken = await app.inject({ method: 'POST', url: '/api/clients/users/', headers, payload: '{"external_id": "E2",' });
      assert.equal(broken.statusCode, 400);
      assert.equal(broken.json().code, 'INVALID_JSON');
      const poisoned = await app.inject({ method: 'POST', url: '/api/clients/users/', headers, payload: '{"__proto__":{"admin":true},"external_id":"E3","name":"Y"}' });
      assert.equal(poisoned.statusCode, 400);
    });

    test('migrations ran on this backend', async () => {
      assert.equal(t().container.database.dialect, backend);
      assert.equal(await t().container.database.ping(), true);
    });
  });
}
