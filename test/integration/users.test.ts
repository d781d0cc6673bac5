import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { as, createClient, type TestClient } from '../helpers/foundation.ts';

const guideUser = {
  external_id: 'EMP001',
  name: 'John Doe',
  email: 'john.doe@company.com',
  metadata: { department: 'IT', employee_id: 'EMP001', hire_date: '2024-01-01' },
};

for (const backend of backendNames()) {
  describe(`users API [${backend}]`, () => {
    const t = useTestApp(backend);
    let c: TestClient;
    const call = (opts: Parameters<typeof as>[2]) => as(t().app, c, opts);

    /** An enrollment row as the face layer would write it. */
    async function enroll(userId: string): Promise<string> {
      const enrollmentId = crypto.randomUUID();
      await t()
        .container.database.db.insertInto('enrollments')
        .values({ id: enrollmentId, client_id: c.client_id, user_id: userId, source: 'upload', model_id: 'm1', quality_score: 0.9, face_count: 1, average_confidence: 0.99, angles: '["front"]' })
        .execute();
      return enrollmentId;
    }

    test('create answers the guide shape and emits user.created', async () => {
      c = await createClient(t().app);
      const res = await call({ method: 'POST', url: '/api/clients/users/', payload: guideUser });
      assert.equal(res.statusCode, 201);
      const u = res.json();
      assert.match(u.id, /^[0-9a-f-]{36}$/);
      assert.deepEqual(
        { ...u, id: undefined, created_at: undefined, updated_at: undefined },
        { ...guideUser, id: undefined, is_active: true, enrollments_count: 0, last_authentication: null, created_at: undefined, updated_at: undefined },
      );
      assert.ok(!Number.isNaN(Date.parse(u.created_at)));
      const events = await t().container.database.db.selectFrom('events').selectAll().where('client_id', '=', c.client_id).execute();
      assert.equal(events.length, 1);
      assert.equal(events[0]!.event_type, 'user.created');
      assert.equal((events[0]!.payload as { user_id: string }).user_id, 'EMP001');
    });

    test('duplicate external_id is 409 USER_EXISTS; the path without trailing slash works too', async () => {
      const res = await call({ method: 'POST', url: '/api/clients/users', payload: guideUser });
      assert.equal(res.statusCode, 409);
      assert.equal(res.json().code, 'USER_EXISTS');
    });

    test("an external_id spelling another user's uuid is 409 USER_EXISTS (one reference, two users), on create and on rename", async () => {
      const first = await call({ method: 'GET', url: '/api/clients/users/EMP001/' });
      const uuid = first.json().id as string;
      let res = await call({ method: 'POST', url: '/api/clients/users/', payload: { external_id: uuid.toUpperCase(), name: 'Mallory' } });
      assert.equal(res.statusCode, 409, res.body);
      assert.equal(res.json().code, 'USER_EXISTS');
      res = await call({ method: 'POST', url: '/api/clients/users/', payload: { external_id: 'MALLORY', name: 'Mallory' } });
      assert.equal(res.statusCode, 201, res.body);
      res = await call({ method: 'PUT', url: '/api/clients/users/MALLORY/', payload: { external_id: uuid } });
      assert.equal(res.statusCode, 409, res.body);
      // A user may take their own uuid as external_id: it names nobody else.
      const own = (await call({ method: 'GET', url: '/api/clients/users/MALLORY/' })).json().id as string;
      res = await call({ method: 'PUT', url: '/api/clients/users/MALLORY/', payload: { external_id: own } });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal((await call({ method: 'DELETE', url: `/api/clients/users/${own}/` })).statusCode, 204);
    });

    test('validation errors name the field', async () => {
      let res = await call({ method: 'POST', url: '/api/clients/users/', payload: { external_id: 'X1' } });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().code, 'VALIDATION_ERROR');
      assert.equal(res.json().details.field, 'name');
      assert.match(res.json().message, /name/);
      res = await call({ method: 'POST', url: '/api/clients/users/', payload: { external_id: 'X1', name: 'X', email: 'not-an-email' } });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().details.field, 'email');
      res = await call({ method: 'GET', url: '/api/clients/users/?page_size=101' });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().details.field, 'page_size');
      res = await call({ method: 'GET', url: '/api/clients/users/?page=0' });
      assert.equal(res.json().details.field, 'page');
    });

    test('wrong content type is 415', async () => {
      const res = await call({ method: 'POST', url: '/api/clients/users/', headers: { 'content-type': 'text/plain' }, payload: 'external_id=1' });
      assert.equal(res.statusCode, 415);
      assert.equal(res.json().code, 'UNSUPPORTED_MEDIA_TYPE');
    });

    test('list: pagination, search on name/email (case-insensitive), is_active, has_enrollment', async () => {
      for (let i = 2; i <= 12; i++) {
        const res = await call({ method: 'POST', url: '/api/clients/users/', payload: { external_id: `EMP${String(i).padStart(3, '0')}`, name: `Person ${i}`, email: i === 5 ? 'JANE@Example.org' : null } });
        assert.equal(res.statusCode, 201);
      }
      let res = await call({ method: 'GET', url: '/api/clients/users/?page=2&page_size=5' });
      assert.equal(res.statusCode, 200);
      const page = res.json();
      assert.deepEqual([page.count, page.page, page.page_size, page.total_pages, page.results.length], [12, 2, 5, 3, 5]);
      res = await call({ method: 'GET', url: '/api/clients/users/?page=1&page_size=20&search=john' });
      assert.deepEqual(res.json().results.map((u: { external_id: string }) => u.external_id), ['EMP001']);
      res = await call({ method: 'GET', url: '/api/clients/users/?search=example.ORG' });
      assert.deepEqual(res.json().results.map((u: { external_id: string }) => u.external_id), ['EMP005']);
      res = await call({ method: 'GET', url: '/api/clients/users/?search=%25' });
      assert.equal(res.json().count, 0, 'LIKE wildcards are literal');

      await call({ method: 'POST', url: '/api/clients/users/EMP003/deactivate/' });
      res = await call({ method: 'GET', url: '/api/clients/users/?is_active=false' });
      assert.deepEqual(res.json().results.map((u: { external_id: string }) => u.external_id), ['EMP003']);
      res = await call({ method: 'GET', url: '/api/clients/users/?is_active=true' });
      assert.equal(res.json().count, 11);

      const emp2 = (await call({ method: 'GET', url: '/api/clients/users/EMP002/' })).json();
      await enroll(emp2.id);
      res = await call({ method: 'GET', url: '/api/clients/users/?has_enrollment=true' });
      assert.deepEqual(res.json().results.map((u: { external_id: string; enrollments_count: number }) => [u.external_id, u.enrollments_count]), [['EMP002', 1]]);
      res = await call({ method: 'GET', url: '/api/clients/users/?has_enrollment=false' });
      assert.equal(res.json().count, 11);
    });

    test('get by uuid or external_id; PUT updates and emits user.updated', async () => {
      const byExt = await call({ method: 'GET', url: '/api/clients/users/EMP001/' });
      assert.equal(byExt.statusCode, 200);
      const byId = await call({ method: 'GET', url: `/api/clients/users/${byExt.json().id}/` });
      assert.deepEqual(byId.json(), byExt.json());
      const res = await call({
        method: 'PUT',
        url: '/api/clients/users/EMP001/',
        payload: { name: 'John Smith', email: 'john.smith@company.com', metadata: { department: 'Engineering', role: 'Senior Developer' } },
      });
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().name, 'John Smith');
      assert.deepEqual(res.json().metadata, { department: 'Engineering', role: 'Senior Developer' });
      const ev = await t()
        .container.database.db.selectFrom('events')
        .select(['payload'])
        .where('client_id', '=', c.client_id)
        .where('event_type', '=', 'user.updated')
        .orderBy('created_at', 'desc')
        .executeTakeFirstOrThrow();
      assert.deepEqual((ev.payload as { changes: string[] }).changes.sort(), ['email', 'metadata', 'name']);
      const dup = await call({ method: 'PUT', url: '/api/clients/users/EMP001/', payload: { external_id: 'EMP002' } });
      assert.equal(dup.statusCode, 409);
    });

    test('deactivate/activate toggle is_active, emit user.updated, notify listeners', async () => {
      const seen: Array<{ userId: string; isActive: boolean }> = [];
      const off = t().container.foundation.users.onUserActiveChanged((e) => void seen.push({ userId: e.userId, isActive: e.isActive }));
      let res = await call({ method: 'POST', url: '/api/clients/users/EMP004/deactivate/' });
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().is_active, false);
      res = await call({ method: 'POST', url: '/api/clients/users/EMP004/activate/' });
      assert.equal(res.json().is_active, true);
      off();
      assert.deepEqual(seen.map((s) => s.isActive), [false, true]);
      const n = await t()
        .container.database.db.selectFrom('events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('client_id', '=', c.client_id)
        .where('event_type', '=', 'user.updated')
        .where(({ ref }) => ref('payload', '->>').key('user_id'), '=', 'EMP004')
        .executeTakeFirstOrThrow();
      assert.equal(Number(n.n), 2);
    });

    test('export holds the user, enrollments, templates, events, and contributor sections', async () => {
      t().container.foundation.users.setExportContributor('test', async (ref) => ({ test_section: [{ user: ref.externalId }] }));
      const res = await call({ method: 'GET', url: '/api/clients/users/EMP002/export/' });
      assert.equal(res.statusCode, 200);
      const body = res.json();
      assert.equal(body.user.external_id, 'EMP002');
      assert.equal(body.enrollments.length, 1);
      assert.deepEqual(body.test_section, [{ user: 'EMP002' }]);
      assert.ok(Array.isArray(body.face_templates));
      assert.ok(body.events.some((e: { event_type: string }) => e.event_type === 'user.created'));
    });

    test('delete removes the user and all face data, and tells the face layer', async () => {
      const deleted: string[] = [];
      t().container.foundation.users.onUserDeleted((e) => void deleted.push(e.externalId));
      const user = (await call({ method: 'GET', url: '/api/clients/users/EMP002/' })).json();
      const db = t().container.database.db;
      const enrollment = await db.selectFrom('enrollments').select('id').where('user_id', '=', user.id).executeTakeFirstOrThrow();
      await db
        .insertInto('face_templates')
        .values({ id: crypto.randomUUID(), client_id: c.client_id, user_id: user.id, enrollment_id: enrollment.id, model_id: 'm1', dim: 4, ciphertext: new Uint8Array([1, 2, 3]) })
        .execute();
      const res = await call({ method: 'DELETE', url: '/api/clients/users/EMP002/' });
      assert.equal(res.statusCode, 204);
      assert.deepEqual(deleted, ['EMP002']);
      assert.equal((await call({ method: 'GET', url: `/api/clients/users/${user.id}/` })).statusCode, 404);
      for (const table of ['enrollments', 'face_templates'] as const) {
        const rows = await db.selectFrom(table).select('id').where('user_id', '=', user.id).execute();
        assert.equal(rows.length, 0, table);
      }
      // The outbox keeps the user's events (deliveries, audit) but without personal fields.
      const events = await db.selectFrom('events').select('payload').where('client_id', '=', c.client_id).execute();
      const about = events.map((e) => e.payload as Record<string, unknown>).filter((p) => p.user_id === 'EMP002');
      assert.ok(about.length > 0);
      for (const p of about) {
        assert.equal(p.redacted, true);
        assert.equal(p.name, undefined);
        assert.equal(p.email, undefined);
        assert.equal(p.metadata, undefined);
      }
      assert.equal((await call({ method: 'DELETE', url: '/api/clients/users/EMP002/' })).statusCode, 404);
    });

    test('PUT of the metadata the user already has, keys in another order: no change, no user.updated', async () => {
      // PostgreSQL's jsonb stores keys shorter-first; comparing the request's JSON text with the stored one
      // took a reordering for a change, and every read-modify-write PUT sent a user.updated webhook.
      const metadata = { department: 'IT', role: 'dev', nested: { zeta: 1, a: [{ yy: 1, x: 2 }] } };
      const created = await call({ method: 'POST', url: '/api/clients/users/', payload: { external_id: 'ORDER1', name: 'Order', metadata } });
      assert.equal(created.statusCode, 201, created.body);
      const countUpdates = async () =>
        Number(
          (
            await t()
              .container.database.db.selectFrom('events')
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .where('client_id', '=', c.client_id)
              .where('event_type', '=', 'user.updated')
              .where('subject_user_id', '=', created.json().id)
              .executeTakeFirstOrThrow()
          ).n,
        );
      for (const payload of [{ metadata }, { metadata: created.json().metadata, name: 'Order' }]) {
        const res = await call({ method: 'PUT', url: '/api/clients/users/ORDER1/', payload });
        assert.equal(res.statusCode, 200);
        assert.equal(res.json().updated_at, created.json().updated_at);
      }
      assert.equal(await countUpdates(), 0);
      // A real change inside the metadata is still one.
      const res = await call({ method: 'PUT', url: '/api/clients/users/ORDER1/', payload: { metadata: { ...metadata, role: 'lead' } } });
      assert.equal(res.json().metadata.role, 'lead');
      assert.equal(await countUpdates(), 1);
    });

    test('every external_id the API accepts can be named in the path: 255 characters, or non-ASCII (percent-encoded 9-12 × longer)', async () => {
      // The router refused path parameters over 100 characters (find-my-way's default, counted on the
      // percent-encoded path) with 400, so such users could be created but never read, changed or deleted.
      for (const ext of ['x'.repeat(255), '山田太郎-営業部-東京本社', '😀'.repeat(255)]) {
        const created = await call({ method: 'POST', url: '/api/clients/users/', payload: { external_id: ext, name: 'Long' } });
        assert.equal(created.statusCode, 201, created.body);
        const path = `/api/clients/users/${encodeURIComponent(ext)}/`;
        for (const [method, url, payload] of [
          ['GET', path],
          ['PUT', path, { name: 'Longer' }],
          ['POST', `${path}deactivate/`],
          ['POST', `${path}activate/`],
          ['GET', `${path}export/`],
          ['GET', `${path}fallback/`],
        ] as const) {
          const res = await call({ method, url, ...(payload ? { payload } : {}) });
          assert.equal(res.statusCode, 200, `${method} ${ext.slice(0, 12)}…: ${res.body.slice(0, 200)}`);
          assert.notEqual(res.json().user?.external_id ?? res.json().external_id ?? res.json().user_id, undefined);
        }
        assert.equal((await call({ method: 'DELETE', url: path })).statusCode, 204);
      }
      // One past the limit is still refused by the schema, naming the field.
      const over = await call({ method: 'GET', url: `/api/clients/users/${'x'.repeat(256)}/` });
      assert.equal(over.statusCode, 400);
      assert.equal(over.json().details.field, 'user_id');
    });

    test('user limit of the tier: 403 USER_LIMIT_EXCEEDED', async () => {
      const small = await createClient(t().app, { tier: 'enterprise', max_users: 2 });
      for (const id of ['a', 'b']) assert.equal((await as(t().app, small, { method: 'POST', url: '/api/clients/users/', payload: { external_id: id, name: id } })).statusCode, 201);
      const res = await as(t().app, small, { method: 'POST', url: '/api/clients/users/', payload: { external_id: 'c', name: 'c' } });
      assert.equal(res.statusCode, 403);
      assert.equal(res.json().code, 'USER_LIMIT_EXCEEDED');
    });
  });
}
