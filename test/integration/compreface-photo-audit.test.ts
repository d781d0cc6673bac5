import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { ADMIN_TOKEN, useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, type Tenant } from '../helpers/face-fixtures.ts';
import { testDataDir } from '../../src/config/env.ts';

/**
 * A stored CompreFace example photo is face data: every download is a `data_access` audit entry with the
 * subject's user as target, written before the bytes are sent (docs/foundation.md S2; as a review photo).
 */
const PHOTO = 'faces_extra/face_recognition/obama/obama_04.jpg';

if (backendNames().includes('pglite')) {
  describe('CompreFace example photo download is audited as data access [pglite]', () => {
    const t = useTestApp('pglite', { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
    let tenant: Tenant;
    let base: string;
    let apiKey: string;

    before(async () => {
      const { app } = t();
      await app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
      tenant = await createTenant(app, 'CF photo audit');
      const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
      const patched = await app.inject({ method: 'PATCH', url: `/api/admin/clients/${tenant.clientId}/`, headers: admin, payload: { settings: { store_photos: true } } });
      assert.equal(patched.statusCode, 200, patched.body);
      const res = await app.inject({ method: 'POST', url: `/api/admin/clients/${tenant.clientId}/compreface-keys/`, headers: admin, payload: { service: 'recognition' } });
      assert.equal(res.statusCode, 201, res.body);
      apiKey = (res.json() as { api_key: string }).api_key;
    });

    const audit = () =>
      t().container.database.db.selectFrom('audit_logs').select(['category', 'action', 'actor', 'target', 'details', 'ip']).where('client_id', '=', tenant.clientId).where('category', '=', 'data_access').execute();

    test('GET /faces/{id}/img writes data_access (target: the subject) before the bytes; a failed audit write sends nothing', async () => {
      const headers = { 'x-api-key': apiKey };
      const form = new FormData();
      form.append('file', new Blob([fs.readFileSync(path.join(testDataDir(), PHOTO))], { type: 'image/jpeg' }), 'obama.jpg');
      const added = await fetch(`${base}/api/v1/recognition/faces?subject=obama`, { method: 'POST', headers, body: form });
      assert.equal(added.status, 201, await added.clone().text());
      const imageId = ((await added.json()) as { image_id: string }).image_id;
      const user = await t().container.database.db.selectFrom('users').select('id').where('client_id', '=', tenant.clientId).where('external_id', '=', 'obama').executeTakeFirstOrThrow();
      assert.deepEqual(await audit(), [], 'no data_access before any download');

      const img = await fetch(`${base}/api/v1/recognition/faces/${imageId}/img`, { headers });
      assert.equal(img.status, 200);
      assert.deepEqual(Buffer.from(await img.arrayBuffer()), fs.readFileSync(path.join(testDataDir(), PHOTO)));
      // Read at once: the entry is written with the download, not buffered for later.
      const rows = await audit();
      assert.equal(rows.length, 1, `one data_access entry per download: ${JSON.stringify(rows)}`);
      assert.equal(rows[0]!.action, 'compreface.photo_viewed');
      assert.equal(rows[0]!.target, user.id, 'the subject whose face was downloaded');
      assert.match(String(rows[0]!.actor), /^key:[0-9a-f-]{36}$/, 'the service key that downloaded it');
      assert.equal(rows[0]!.ip, '127.0.0.1');
      assert.equal((rows[0]!.details as { image_id: string }).image_id, imageId);

      // A missing example or an unknown id reveals no face data: nothing to audit as data access.
      assert.equal((await fetch(`${base}/api/v1/recognition/faces/00000000-0000-4000-8000-000000000000/img`, { headers })).status, 404);
      assert.equal((await audit()).length, 1);

      // Before the bytes: when the audit entry cannot be written, no photo leaves the server.
      const auditService = t().container.foundation.audit;
      const original = auditService.record.bind(auditService);
      auditService.record = async (entry, trx) => {
        if (entry.category === 'data_access') throw new Error('audit store down');
        return original(entry, trx);
      };
      try {
        const refused = await fetch(`${base}/api/v1/recognition/faces/${imageId}/img`, { headers });
        assert.equal(refused.status, 500);
        assert.notEqual(refused.headers.get('content-type'), 'image/jpeg');
      } finally {
        auditService.record = original;
      }
    });
  });
}
