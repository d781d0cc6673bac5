// The portability export (U4) hands out the user's face data (the decrypted embeddings of every template) and
// S2 promises an audit of every access to face data. The export's audit entry was only queued (flushed a second
// later, in the background): a process stopped within that second lost it, and a failed write did not stop the
// export, so the embeddings left without any trace. A review photo's access was already written first, in its
// own transaction; the export now is too.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, dataFile, postForm, type Tenant } from '../helpers/face-fixtures.ts';

const OBAMA = 'faces_extra/face_recognition/obama/obama_01.jpg';

for (const backend of backendNames()) {
  describe(`user export and its audit entry [${backend}]`, () => {
    const t = useTestApp(backend, { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
    let tenant: Tenant;
    let userId: string;
    const exportUser = () => t().app.inject({ method: 'GET', url: '/api/clients/users/OBAMA/export/', headers: { authorization: tenant.auth } });
    const exportAudits = async () =>
      (await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_logs WHERE client_id = ${tenant.clientId} AND action = 'user.exported' AND target = ${userId}`.execute(t().container.database.db)).rows[0].n;

    test('the audit entry is written before the embeddings are answered', async () => {
      const { app } = t();
      tenant = await createTenant(app, 'Export audit');
      userId = await createUser(app, tenant, 'OBAMA', 'Barack Obama');
      const enrolled = await postForm(app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: 'OBAMA' }, { name: 'image', value: dataFile(OBAMA) }, { name: 'quality_threshold', value: '0.3' }]);
      assert.equal(enrolled.statusCode, 201, enrolled.body);

      const res = await exportUser();
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().face_templates[0].embedding.length, 512, 'the export carries the embedding');
      // No flush, no wait: the entry is in the database when the answer is.
      assert.equal(await exportAudits(), 1, 'user.exported written before the answer');
    });

    test('an export whose audit entry cannot be written is refused, not answered', async () => {
      const { app, container } = t();
      const db = container.database.db;
      await sql`CREATE FUNCTION privacy_refuse_export_audit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.action = 'user.exported' THEN RAISE EXCEPTION 'audit store unavailable'; END IF; RETURN NEW; END $$`.execute(db);
      await sql`CREATE TRIGGER privacy_refuse_export_audit BEFORE INSERT ON audit_logs FOR EACH ROW EXECUTE FUNCTION privacy_refuse_export_audit()`.execute(db);
      try {
        const res = await exportUser();
        assert.equal(res.statusCode, 500, `no export without its audit entry: ${res.statusCode} ${res.body.slice(0, 200)}`);
        assert.ok(!res.body.includes('embedding'), 'no face data in the answer');
      } finally {
        await sql`DROP TRIGGER privacy_refuse_export_audit ON audit_logs`.execute(db);
        await sql`DROP FUNCTION privacy_refuse_export_audit()`.execute(db);
        await container.foundation.audit.flush().catch(() => {});
      }
      assert.equal((await exportUser()).statusCode, 200, 'exports work again once the audit log does');
      assert.equal(await exportAudits(), 2);
    });
  });
}
