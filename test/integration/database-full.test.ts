// A database that cannot write (its disk full) is the server's condition, not the request's: the caller hears
// 503 SERVICE_UNAVAILABLE with Retry-After and what is wrong, not 500 "Internal server error" (only the log said
// "No space left on device"). The full disk is played by a trigger that fails as PostgreSQL does (SQLSTATE 53100).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { as, createClient } from '../helpers/foundation.ts';

for (const backend of backendNames()) {
  describe(`a database out of disk space [${backend}]`, () => {
    const t = useTestApp(backend);

    test('a write it refuses is 503 SERVICE_UNAVAILABLE saying so, with Retry-After; it works again once it can write', async () => {
      const { app, container } = t();
      const db = container.database.db;
      const c = await createClient(app, { name: 'Disk full' });
      await sql`CREATE FUNCTION wajah_test_disk_full() RETURNS trigger AS $$ BEGIN
                  RAISE EXCEPTION 'could not extend file "base/5/16384": No space left on device' USING ERRCODE = '53100';
                END $$ LANGUAGE plpgsql`.execute(db);
      await sql`CREATE TRIGGER wajah_test_disk_full BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION wajah_test_disk_full()`.execute(db);
      try {
        const refused = await as(app, c, { method: 'POST', url: '/api/clients/users/', payload: { external_id: 'full-1', name: 'Full' } });
        assert.equal(refused.statusCode, 503, refused.body);
        assert.equal(refused.json().code, 'SERVICE_UNAVAILABLE');
        assert.match(refused.json().message, /out of disk space/);
        assert.equal(refused.headers['retry-after'], '30');
      } finally {
        await sql`DROP TRIGGER wajah_test_disk_full ON users`.execute(db);
        await sql`DROP FUNCTION wajah_test_disk_full()`.execute(db);
      }
      const again = await as(app, c, { method: 'POST', url: '/api/clients/users/', payload: { external_id: 'full-1', name: 'Full' } });
      assert.equal(again.statusCode, 201, again.body);
    });
  });
}
