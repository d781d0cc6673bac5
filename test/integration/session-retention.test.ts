// Retention of sessions (docs/foundation.md, S2): a session row links a user to the time and kind of each of
// their enrollments and authentications (with their request's parameters); retention_days deleted audit
// entries, attempts and events but kept every session for good. A session still usable is never deleted.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { adminHeaders, createClient } from '../helpers/foundation.ts';

for (const backend of backendNames()) {
  describe(`retention of sessions [${backend}]`, () => {
    const t = useTestApp(backend, { env: { WAJAH_WEBHOOKS: '0' } });

    test("retention deletes a client's sessions older than it once they have expired, never a usable one, nor another client's", async () => {
      const { app, container } = t();
      const db = container.database.db;
      const c = await createClient(app, { name: 'Session retention' });
      const other = await createClient(app, { name: 'No retention' });
      await app.inject({ method: 'PATCH', url: `/api/admin/clients/${c.client_id}/`, headers: adminHeaders, payload: { settings: { retention_days: 1 } } });
      const userId = crypto.randomUUID();
      await db.insertInto('users').values({ id: userId, client_id: c.client_id, external_id: 'kept-user', name: 'Kept' }).execute();
      const day = 86_400_000, now = Date.now();
      const session = async (clientId: string, createdDaysAgo: number, expiresInMs: number) => {
        const id = crypto.randomUUID();
        await db
          .insertInto('sessions')
          .values({ id, client_id: clientId, kind: 'authentication', token_hash: crypto.randomBytes(16).toString('hex'), user_id: clientId === c.client_id ? userId : null, mode: 'verification', params: '{}', state: '{}', status: 'completed', expires_at: new Date(now + expiresInMs), created_at: new Date(now - createdDaysAgo * day) })
          .execute();
        return id;
      };
      const old = await session(c.client_id, 10, -10 * day);
      const oldStillUsable = await session(c.client_id, 10, 3_600_000);
      const recent = await session(c.client_id, 0, -60_000);
      const othersOld = await session(other.client_id, 10, -10 * day);
      // An SSO login of the old session keeps its row; only its link to the session goes.
      await sql`INSERT INTO sso_logins (uid, client_id, sso_client_id, user_id, session_id, expires_at) VALUES (${crypto.randomUUID()}, ${c.client_id}, 'app', ${userId}, ${old}, ${new Date(now + day)})`.execute(db);

      const swept = await container.foundation.retention.sweep();
      assert.equal(swept.sessions, 1);
      const left = await db.selectFrom('sessions').select('id').where('client_id', 'in', [c.client_id, other.client_id]).execute();
      assert.deepEqual(left.map((r) => r.id).sort(), [oldStillUsable, recent, othersOld].sort());
      const { rows: logins } = await sql<{ session_id: string | null }>`SELECT session_id FROM sso_logins WHERE client_id = ${c.client_id}`.execute(db);
      assert.deepEqual(logins, [{ session_id: null }]);
    });
  });
}
