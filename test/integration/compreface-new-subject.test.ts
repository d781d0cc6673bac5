// CompreFace "add an example" for a subject that does not exist yet (docs/compreface.md): the subject is
// created with the example, in one transaction. A refused image leaves nothing: no user, no user.created
// event (it was written, webhooks could announce a user who was then deleted), no user.deleted audit entry.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { ADMIN_TOKEN, useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, dataFile, multipart, type Tenant } from '../helpers/face-fixtures.ts';

for (const backend of backendNames()) {
  describe(`CompreFace example for a new subject [${backend}]`, () => {
    const t = useTestApp(backend, { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });

    test('a refused image leaves no subject, no user.created event and no deletion behind; an accepted one creates the subject once', async () => {
      const { app } = t();
      const db = t().container.database.db;
      const tenant: Tenant = await createTenant(app, 'CompreFace new subject');
      const key = await app.inject({ method: 'POST', url: `/api/admin/clients/${tenant.clientId}/compreface-keys/`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload: { service: 'recognition' } });
      assert.equal(key.statusCode, 201, key.body);
      const addExample = async (subject: string, image: Buffer) => {
        const { payload, headers } = await multipart([{ name: 'file', value: image, filename: 'x.jpg', type: 'image/jpeg' }]);
        return app.inject({ method: 'POST', url: `/api/v1/recognition/faces?subject=${subject}`, headers: { ...headers, 'x-api-key': key.json().api_key }, payload });
      };
      const traces = async (subject: string) => {
        const users = await db.selectFrom('users').select('id').where('client_id', '=', tenant.clientId).where('external_id', '=', subject).execute();
        const events = await db.selectFrom('events').select(['event_type', 'payload']).where('client_id', '=', tenant.clientId).execute();
        const audit = await db.selectFrom('audit_logs').select(['action', 'details']).where('client_id', '=', tenant.clientId).where('action', '=', 'user.deleted').execute();
        return {
          users: users.length,
          created: events.filter((e) => e.event_type === 'user.created' && (e.payload as { user_id?: string }).user_id === subject).length,
          deleted: audit.filter((a) => (a.details as { external_id?: string }).external_id === subject).length,
        };
      };

      for (const [subject, image, code] of [
        ['no_face', dataFile('no_face/skimage_coffee.png'), 28],
        ['not_an_image', Buffer.from('not an image at all'), null],
      ] as const) {
        const res = await addExample(subject, image);
        assert.equal(res.statusCode, 400, res.body);
        if (code !== null) assert.equal(res.json().code, code, res.body);
        assert.deepEqual(await traces(subject), { users: 0, created: 0, deleted: 0 }, `${subject}: a refused example leaves nothing behind`);
      }

      // The same query sees an accepted example's subject and its one user.created event.
      const ok = await addExample('biden', dataFile('faces_extra/face_recognition/biden/biden_01.jpg'));
      assert.equal(ok.statusCode, 201, ok.body);
      assert.deepEqual(await traces('biden'), { users: 1, created: 1, deleted: 0 });
      const enrolled = await db.selectFrom('events').select('event_type').where('client_id', '=', tenant.clientId).where('event_type', '=', 'enrollment.completed').execute();
      assert.equal(enrolled.length, 1);
      // A second, refused example of an existing subject leaves the subject as it was.
      assert.equal((await addExample('biden', dataFile('no_face/skimage_coffee.png'))).statusCode, 400);
      assert.deepEqual(await traces('biden'), { users: 1, created: 1, deleted: 0 });
    });
  });
}
