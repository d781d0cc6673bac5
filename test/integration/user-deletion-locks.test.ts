import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pg from 'pg';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, dataFile, postForm, postJson } from '../helpers/face-fixtures.ts';

/**
 * Lock order: a session request locks the session row, then the user's row (enrollment complete:
 * lockFaceUser; a verification frame: the attempt's FK and users.last_authentication). Deleting a
 * user locks the user's row, then (FK ON DELETE CASCADE) the user's session rows. Run together,
 * PostgreSQL finds a deadlock and aborts one of them: a 500 instead of a coded answer, and the right
 * to deletion or the session's request fails.
 *
 * A third connection holds the user's row only to line the two requests up deterministically (the
 * DELETE queued first, then complete queued behind it); the race itself needs no such help.
 */
if (backendNames().includes('postgres')) describe('user deletion while an enrollment session completes [postgres]', () => {
  const t = useTestApp('postgres', { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });

  test('the deletion and a session request take their locks in one order: no deadlock, no 500', async () => {
    const { app, backend } = t();
    const tenant = await createTenant(app, 'Deadlock');
    const userId = await createUser(app, tenant, 'EMP1', 'Barack Obama');
    const created = await postJson(app, '/api/auth/enrollment/create/', tenant, { user_id: 'EMP1', session_type: 'upload' });
    assert.equal(created.statusCode, 201, created.body);
    const token = created.json().session_token as string;
    const frame = await postForm(app, '/api/auth/enrollment/process-frame/', tenant, [{ name: 'frame', value: dataFile('faces_extra/face_recognition/obama/obama_01.jpg') }], token);
    assert.equal(frame.statusCode, 200, frame.body);
    assert.equal(frame.json().frame_accepted, true, frame.body);

    const raw = new pg.Client({ connectionString: backend.databaseUrl! });
    await raw.connect();
    const waiting = async (n: number) => {
      for (let i = 0; i < 200; i++) {
        const r = await raw.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
        if (r.rows[0].n >= n) return;
        await new Promise((res) => setTimeout(res, 25));
      }
      throw new Error(`never ${n} waiting`);
    };
    const holder = new pg.Client({ connectionString: backend.databaseUrl! });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM users WHERE id = $1 FOR UPDATE', [userId]);
      const del = app.inject({ method: 'DELETE', url: '/api/clients/users/EMP1/', headers: { authorization: tenant.auth } });
      await waiting(1);
      const complete = app.inject({ method: 'POST', url: '/api/auth/enrollment/complete/', headers: { authorization: tenant.auth, 'x-session-token': token } });
      await waiting(2);
      await holder.query('COMMIT');
      const [d, c] = await Promise.all([del, complete]);
      // The deletion wins (it was first); the session it removed answers with a coded 4xx, and nothing was stored.
      assert.equal(d.statusCode, 204, `DELETE user: ${d.body}`);
      assert.ok(c.statusCode >= 400 && c.statusCode < 500 && c.json().code, `enrollment complete: ${c.statusCode} ${c.body}`);
      const left = await raw.query('SELECT count(*)::int AS n FROM face_templates WHERE user_id = $1', [userId]);
      assert.equal(left.rows[0].n, 0);
    } finally {
      await holder.end().catch(() => {});
      await raw.end().catch(() => {});
    }
  });
});
