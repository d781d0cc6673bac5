import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/env.ts';
import { createContainer, type Container } from '../../src/container.ts';
import { buildApp } from '../../src/app.ts';
import { backendNames, createBackend, type Backend } from '../helpers/backends.ts';
import { useTestApp, ADMIN_TOKEN } from '../helpers/app.ts';
import { adminHeaders, as, createClient, quickBackend } from '../helpers/foundation.ts';
import { multipart } from '../helpers/face-fixtures.ts';

// Issue 9.5/9.6/15.2/15.3: every bad input is a coded 4xx and nothing is written.
for (const backend of backendNames()) {
  describe(`bad input is a coded 4xx [${backend}]`, () => {
    const t = useTestApp(backend);

    async function userCount(app: FastifyInstance, auth: { auth: string }): Promise<number> {
      return (await as(app, auth, { method: 'GET', url: '/api/clients/users/' })).json().count;
    }

    test('a NUL or control byte in name, external_id, metadata value or key: 400 naming the field, nothing written', async () => {
      const { app } = t();
      const c = await createClient(app);
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ external_id: 'n1', name: 'Ali\u0000ce' }, 'name'],
        [{ external_id: 'n\u00002', name: 'Bob' }, 'external_id'],
        [{ external_id: 'n3', name: 'Carol', metadata: { dept: 'x\u0000' } }, 'metadata.dept'],
        [{ external_id: 'n4', name: 'Dan', metadata: { ['d\u0000']: 1 } }, 'metadata'],
        [{ external_id: 'n5', name: 'Eve\u001b[31m' }, 'name'],
      ];
      for (const [payload, field] of cases) {
        const res = await as(app, c, { method: 'POST', url: '/api/clients/users/', payload });
        assert.equal(res.statusCode, 400, res.body);
        assert.equal(res.json().code, 'VALIDATION_ERROR');
        assert.equal(res.json().details.field, field);
        assert.doesNotMatch(res.body, /\\u0000|\u0000/);
      }
      // A lone surrogate cannot be stored in jsonb either.
      const lone = await as(app, c, { method: 'POST', url: '/api/clients/users/', headers: { 'content-type': 'application/json' }, payload: '{"external_id":"n6","name":"F","metadata":{"a":"\\ud800"}}' });
      assert.equal(lone.statusCode, 400);
      assert.equal(lone.json().details.field, 'metadata.a');
      // Line breaks and tabs are ordinary text.
      assert.equal((await as(app, c, { method: 'POST', url: '/api/clients/users/', payload: { external_id: 'n7', name: 'G', metadata: { note: 'a\tb\nc' } } })).statusCode, 201);
      assert.equal(await userCount(app, c), 1);
    });

    test('a NUL in a path id or a query string: 400, not a database error', async () => {
      const { app } = t();
      const c = await createClient(app);
      for (const url of ['/api/clients/users/%00/', '/api/clients/users/a%00b/deactivate/', '/api/clients/users/?search=%00']) {
        const res = await as(app, c, { method: url.includes('deactivate') ? 'POST' : 'GET', url });
        assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
        assert.equal(res.json().code, 'VALIDATION_ERROR');
      }
      const badUrl = await as(app, c, { method: 'GET', url: '/api/clients/users/%ff/' });
      assert.equal(badUrl.statusCode, 400);
      assert.equal(badUrl.json().code, 'VALIDATION_ERROR');
    });

    test('JSON nested 5,000 deep: 400 naming the depth limit, nothing written', async () => {
      const { app } = t();
      const c = await createClient(app);
      const deep = '{"a":'.repeat(5000) + '1' + '}'.repeat(5000);
      const res = await as(app, c, { method: 'POST', url: '/api/clients/users/', headers: { 'content-type': 'application/json' }, payload: `{"external_id":"d1","name":"D","metadata":${deep}}` });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().code, 'VALIDATION_ERROR');
      assert.equal(res.json().details.max_depth, 32);
      const ok = '{"a":'.repeat(20) + '1' + '}'.repeat(20);
      assert.equal((await as(app, c, { method: 'POST', url: '/api/clients/users/', headers: { 'content-type': 'application/json' }, payload: `{"external_id":"d2","name":"D","metadata":${ok}}` })).statusCode, 201);
      assert.equal(await userCount(app, c), 1);
    });

    test('metadata over 16 KiB: 413 METADATA_TOO_LARGE on create and update; 16 KiB fits', async () => {
      const { app } = t();
      const c = await createClient(app);
      const big = await as(app, c, { method: 'POST', url: '/api/clients/users/', payload: { external_id: 'm1', name: 'M', metadata: { blob: 'x'.repeat(17_000) } } });
      assert.equal(big.statusCode, 413);
      assert.equal(big.json().code, 'METADATA_TOO_LARGE');
      assert.equal(big.json().details.max_bytes, 16 * 1024);
      assert.equal(await userCount(app, c), 0);
      assert.equal((await as(app, c, { method: 'POST', url: '/api/clients/users/', payload: { external_id: 'm1', name: 'M', metadata: { blob: 'x'.repeat(16_000) } } })).statusCode, 201);
      const upd = await as(app, c, { method: 'PUT', url: '/api/clients/users/m1/', payload: { metadata: { blob: 'y'.repeat(17_000) } } });
      assert.equal(upd.statusCode, 413);
      assert.equal((await as(app, c, { method: 'GET', url: '/api/clients/users/m1/' })).json().metadata.blob, 'x'.repeat(16_000));
    });

    test('?page=99999999999999999999 and absurd admin limits: 400 naming the field and its range', async () => {
      const { app } = t();
      const c = await createClient(app);
      const res = await as(app, c, { method: 'GET', url: '/api/clients/users/?page=99999999999999999999' });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().details.field, 'page');
      assert.match(res.json().message, /page must be <= 1000000/);
      const lim = await app.inject({ method: 'PATCH', url: `/api/admin/clients/${c.client_id}/`, headers: adminHeaders, payload: { max_users: 1e20 } });
      assert.equal(lim.statusCode, 400, lim.body);
      assert.equal(lim.json().details.field, 'max_users');
    });

    test('PATCH max_users: null means the tier default again, never 0 (the validator used to coerce null into 0)', async () => {
      const { app } = t();
      const c = await createClient(app, { tier: 'basic' });
      const patch = (payload: Record<string, unknown>) => app.inject({ method: 'PATCH', url: `/api/admin/clients/${c.client_id}/`, headers: adminHeaders, payload });
      let res = await patch({ max_users: 7, calls_per_hour: 9, settings: { retention_days: 30 } });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual([res.json().max_users, res.json().calls_per_hour], [7, 9]);
      res = await patch({ max_users: null, calls_per_hour: null, settings: { retention_days: null } });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual([res.json().max_users, res.json().calls_per_hour], [null, null]);
      assert.deepEqual(res.json().limits, { max_users: 1000, calls_per_hour: 1000 });
      assert.equal(res.json().settings.retention_days ?? null, null);
      // A user can still be created (with 0 it could not).
      const u = await as(app, c, { method: 'POST', url: '/api/clients/users/', headers: { 'content-type': 'application/json' }, payload: { external_id: 'N1', name: 'N' } });
      assert.equal(u.statusCode, 201, u.body);
      // 0 stays 0 (an explicit limit), and a string is still refused.
      res = await patch({ max_users: 0 });
      assert.equal(res.json().max_users, 0);
      assert.equal((await patch({ max_users: 'many' })).statusCode, 400);
    });

    test('null or non-numeric text for a typed field is 400 naming it, never coerced to 0, "" or false', async () => {
      // Ajv's coercion (needed for multipart fields and query strings) turned {"is_active": null} into false
      // and {"quality_threshold": null} into 0 (the quality check off), "0x1" into 1 and " " into 0.
      const { app } = t();
      const c = await createClient(app);
      const user = await as(app, c, { method: 'POST', url: '/api/clients/users/', payload: { external_id: 'S1', name: 'Sam' } });
      assert.equal(user.statusCode, 201, user.body);
      const refused = async (req: Parameters<typeof as>[2], field: string, location = 'body') => {
        const res = await as(app, c, req);
        assert.equal(res.statusCode, 400, `${req.method} ${req.url} ${JSON.stringify(req.payload)}: ${res.body}`);
        assert.equal(res.json().code, 'VALIDATION_ERROR');
        assert.deepEqual([res.json().details.field, res.json().details.location], [field, location]);
      };
      await refused({ method: 'PUT', url: '/api/clients/users/S1/', payload: { is_active: null } }, 'is_active');
      await refused({ method: 'PUT', url: '/api/clients/users/S1/', payload: { name: null } }, 'name');
      await refused({ method: 'POST', url: '/api/auth/enrollment/create/', payload: { user_id: 'S1', quality_threshold: null } }, 'quality_threshold');
      await refused({ method: 'POST', url: '/api/auth/authentication/create/', payload: { mode: 'identification', search_threshold: null } }, 'search_threshold');
      await refused({ method: 'GET', url: '/api/clients/users/?page=0x2' }, 'page', 'querystring');
      await refused({ method: 'GET', url: '/api/clients/users/?page_size=' }, 'page_size', 'querystring');
      const form = (threshold: string) => multipart([{ name: 'user_id', value: 'S1' }, { name: 'quality_threshold', value: threshold }, { name: 'image', value: Buffer.from('not an image'), filename: 'a.jpg' }]);
      for (const bad of [' ', '0x1']) {
        const f = await form(bad);
        await refused({ method: 'POST', url: '/api/auth/enrollment/direct/', headers: f.headers, payload: f.payload }, 'quality_threshold');
      }
      // Nothing was changed, and the well-formed spellings still pass validation.
      const after = await as(app, c, { method: 'GET', url: '/api/clients/users/S1/' });
      assert.deepEqual([after.json().is_active, after.json().name], [true, 'Sam']);
      assert.equal((await as(app, c, { method: 'GET', url: '/api/clients/users/?page=1&page_size=5' })).statusCode, 200);
      const ok = await form('0.8');
      const direct = await as(app, c, { method: 'POST', url: '/api/auth/enrollment/direct/', headers: ok.headers, payload: ok.payload });
      assert.notEqual(direct.json().code, 'VALIDATION_ERROR', direct.body); // past validation (this app runs no engine: 503)
    });

    test('1e309 and Infinity (query) or 1e309 (JSON) are 400, never a 500 from SQL', async () => {
      const { app } = t();
      const c = await createClient(app);
      for (const url of ['/api/clients/users/?page=1e309', '/api/sso/clients/?page_size=Infinity', '/api/clients/users/?page=-1e309']) {
        const res = await as(app, c, { method: 'GET', url });
        assert.equal(res.statusCode, 400, `${url} ${res.body}`);
        assert.equal(res.json().code, 'VALIDATION_ERROR');
        assert.match(res.json().message, /finite number/);
      }
      const body = await as(app, c, { method: 'POST', url: '/api/clients/users/', headers: { 'content-type': 'application/json' }, payload: '{"external_id":"x1","name":"X","metadata":{"n":1e309}}' });
      assert.equal(body.statusCode, 400, body.body);
      assert.equal(body.json().details.field, 'metadata.n');
    });

    test('mass assignment: a user update cannot move the user to another tenant; unknown fields are 400 naming them', async () => {
      const { app } = t();
      const a = await createClient(app);
      const b = await createClient(app);
      assert.equal((await as(app, a, { method: 'POST', url: '/api/clients/users/', payload: { external_id: 'victim', name: 'V' } })).statusCode, 201);
      for (const payload of [{ client_id: b.client_id }, { id: '00000000-0000-4000-8000-000000000000' }, { created_at: '2000-01-01T00:00:00Z' }]) {
        const res = await as(app, a, { method: 'PUT', url: '/api/clients/users/victim/', payload });
        assert.equal(res.statusCode, 400, res.body);
        assert.equal(res.json().details.field, Object.keys(payload)[0]);
      }
      assert.equal(await userCount(app, b), 0);
      assert.equal(await userCount(app, a), 1);
      const patch = await app.inject({ method: 'PATCH', url: `/api/admin/clients/${a.client_id}/`, headers: adminHeaders, payload: { id: b.client_id } });
      assert.equal(patch.statusCode, 400);
    });

    test('multipart with no boundary, a wrong boundary or a truncated body: 400 INVALID_MULTIPART', async () => {
      const { app } = t();
      const c = await createClient(app);
      const part = (b: string) => `--${b}\r\nContent-Disposition: form-data; name="user_id"\r\n\r\nu1\r\n--${b}\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff`;
      for (const [type, payload] of [
        ['multipart/form-data', part('zzz')],
        ['multipart/form-data; boundary=zzz', part('yyy') + '\r\n--yyy--\r\n'],
        ['multipart/form-data; boundary=zzz', part('zzz')],
      ] as const) {
        const res = await as(app, c, { method: 'POST', url: '/api/auth/authentication/verify/', headers: { 'content-type': type }, payload });
        assert.equal(res.statusCode, 400, `${type}: ${res.body}`);
        assert.equal(res.json().code, 'INVALID_MULTIPART');
      }
    });

    test('more than 64 images in a JSON batch: 413 PAYLOAD_TOO_LARGE like 65 multipart files, nothing analysed', async () => {
      // Multipart stops at 64 files; the JSON form (data URLs) had no cap, so one call analysed (and wrote an
      // attempt for) as many frames as fit in WAJAH_BODY_LIMIT: thousands of detector runs for one API call.
      const { app, container } = t();
      const c = await createClient(app);
      const frame = 'data:image/jpeg;base64,/9j/4AAQ';
      for (const [url, body] of [
        ['/api/auth/authentication/batch-process/', { frames: Array(65).fill(frame), options: { mode: 'identification' } }],
        ['/api/auth/enrollment/batch/', { images: Array(65).fill(frame), user_ids: Array(65).fill('u1') }],
        ['/api/auth/enrollment/batch/', { items: Array(65).fill({ user_id: 'u1', image: frame }) }],
      ] as const) {
        const res = await as(app, c, { method: 'POST', url, payload: body });
        assert.equal(res.statusCode, 413, `${url}: ${res.body.slice(0, 200)}`);
        assert.equal(res.json().code, 'PAYLOAD_TOO_LARGE');
        assert.equal(res.json().details.max_images, 64);
      }
      const attempts = await container.database.db.selectFrom('auth_attempts').select('id').where('client_id', '=', c.client_id).execute();
      assert.equal(attempts.length, 0);
      // 64 is still one batch (each frame answered on its own).
      const ok = await as(app, c, { method: 'POST', url: '/api/auth/authentication/batch-process/', payload: { frames: Array(64).fill(frame) } });
      assert.equal(ok.statusCode, 200, ok.body.slice(0, 200));
      assert.equal(ok.json().total, 64);
    });
  });
}

describe('paths and methods', () => {
  const t = useTestApp(quickBackend());

  test('path traversal under /app/ is a plain 404, never a 500 or a file outside web/', async () => {
    for (const url of ['/app/....//....//etc/passwd', '/app/../../etc/passwd', '/app/%2e%2e/%2e%2e/etc/passwd', '/app/..%2f..%2fetc/passwd']) {
      const res = await t().app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 404, `${url}: ${res.statusCode} ${res.body}`);
      assert.doesNotMatch(res.body, /root:/);
    }
    assert.equal((await t().app.inject({ method: 'GET', url: '/app/' })).statusCode, 200);
  });

  test('15.2: a known path with a wrong method is 405 METHOD_NOT_ALLOWED with Allow; an unknown path stays 404', async () => {
    const c = await createClient(t().app);
    const res = await as(t().app, c, { method: 'PATCH', url: '/api/clients/users/' });
    assert.equal(res.statusCode, 405);
    assert.equal(res.json().code, 'METHOD_NOT_ALLOWED');
    assert.equal(res.headers.allow, 'GET, HEAD, POST');
    const withId = await as(t().app, c, { method: 'POST', url: '/api/clients/users/u-1' });
    assert.equal(withId.statusCode, 405);
    assert.match(String(withId.headers.allow), /PUT/);
    const unknown = await t().app.inject({ method: 'GET', url: '/api/no-such-thing/' });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().code, 'ROUTE_NOT_FOUND');
  });

  test('15.3: a wrong enum value names the field and its allowed values', async () => {
    const res = await t().app.inject({ method: 'POST', url: '/api/admin/clients/', headers: adminHeaders, payload: { name: 'x', tier: 'gold' } });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().message, 'body.tier must be one of: basic, premium, enterprise');
    assert.doesNotMatch(res.json().message, /constant/);
  });
});

// Issue 9.5/9.7: a 5xx is logged with its request id, and database errors without their parameters.
describe('logs', () => {
  let backend: Backend;
  let container: Container;
  let app: FastifyInstance;
  const lines: string[] = [];
  before(async () => {
    backend = await createBackend(quickBackend());
    const config = loadConfig({ LOG_LEVEL: 'info', WAJAH_ADMIN_TOKEN: ADMIN_TOKEN, WAJAH_WORKERS: '0', ...(backend.databaseUrl ? { DATABASE_URL: backend.databaseUrl } : {}) });
    container = await createContainer(config, { engine: false, pgliteDir: 'memory://', log: { info() {}, warn() {}, error() {} } });
    app = await buildApp(config, container, { logStream: { write: (line) => void lines.push(line) } });
    await app.ready();
  });
  after(async () => {
    await app.close();
    await container.close();
    await backend.cleanup();
  });

  test('a database error carrying personal data is a 500 logged with the request id, without the values', async () => {
    const c = await createClient(app);
    const email = 'siti.rahma@example.co.id';
    const users = container.foundation.users;
    const original = users.list.bind(users);
    // A real driver error whose statement carries personal data as a parameter and in its message.
    users.list = async () => {
      await sql`select ${email}::uuid, ${'Siti Rahmawati'}::int`.execute(container.database.db);
      throw new Error('unreachable');
    };
    try {
      lines.length = 0;
      const res = await as(app, c, { method: 'GET', url: '/api/clients/users/' });
      assert.equal(res.statusCode, 500);
      assert.equal(res.json().code, 'INTERNAL_ERROR');
      const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => (l.level as number) >= 50);
      assert.equal(logged.length, 1, lines.join('\n'));
      assert.ok(logged[0]!.reqId, 'the 5xx log line carries the request id');
      assert.ok((logged[0]!.err as { message: string }).message, 'the error is described');
      const all = lines.join('\n');
      assert.doesNotMatch(all, /siti|rahma/i);
    } finally {
      users.list = original;
    }
  });
});
