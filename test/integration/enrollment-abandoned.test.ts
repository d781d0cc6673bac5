// An enrollment the user gives up on (the tab closed, the phone locked) sends no further request. The guide's
// enrollment.failed must still reach the integrator: the session sweep closes such a session once it has
// expired, exactly once, whether the sweep or a late request comes first, on every instance.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { as, createClient } from '../helpers/foundation.ts';

type Failed = { session_id: string; user_id: string; error_code: string; attempts: number; last_attempt: string };

for (const backend of backendNames()) {
  describe(`abandoned enrollment sessions [${backend}]`, () => {
    const t = useTestApp(backend, { env: { WAJAH_WEBHOOKS: '0' } });

    test('the session sweep closes an expired enrollment with enrollment.failed (SESSION_EXPIRED), once; open and ended sessions are left alone', async () => {
      const { app, container } = t();
      const db = container.database.db;
      const c = await createClient(app, { name: 'Abandoned' });
      await as(app, c, { method: 'POST', url: '/api/clients/users/', payload: { external_id: 'EMP-GONE', name: 'Gone' } });
      const create = async () => {
        const res = await as(app, c, { method: 'POST', url: '/api/auth/enrollment/create/', payload: { user_id: 'EMP-GONE', session_type: 'webcam' } });
        assert.equal(res.statusCode, 201, res.body);
        return res.json() as { session_id: string; session_token: string };
      };
      const abandoned = await create();
      const inProgress = await create();
      const lateRequest = await create();
      const ended = await create();
      // Time passes: three of them expire, one of those had already failed.
      const past = new Date(Date.now() - 60_000);
      await db.updateTable('sessions').set({ expires_at: past }).where('id', 'in', [abandoned.session_id, lateRequest.session_id, ended.session_id]).execute();
      await db.updateTable('sessions').set({ status: 'failed' }).where('id', '=', ended.session_id).execute();
      // The late request comes first for one of them: it closes that session itself.
      const late = await app.inject({ method: 'POST', url: '/api/auth/enrollment/complete/', headers: { authorization: c.auth, 'x-session-token': lateRequest.session_token } });
      assert.equal(late.statusCode, 410, late.body);

      await container.foundation.retention.sweepSessions();
      await container.foundation.retention.sweepSessions(); // a second sweep (or another instance's) adds nothing

      const failed = (await db.selectFrom('events').select('payload').where('client_id', '=', c.client_id).where('event_type', '=', 'enrollment.failed').execute()).map((e) => e.payload as unknown as Failed);
      const of = (id: string) => failed.filter((e) => e.session_id === id);
      assert.equal(of(abandoned.session_id).length, 1, JSON.stringify(failed));
      assert.deepEqual(
        { ...of(abandoned.session_id)[0], last_attempt: undefined },
        { session_id: abandoned.session_id, user_id: 'EMP-GONE', error_code: 'SESSION_EXPIRED', error_message: 'The enrollment session expired before it was completed', attempts: 0, last_attempt: undefined },
      );
      assert.equal(of(lateRequest.session_id).length, 1, 'the late request wrote it; the sweep did not again');
      assert.equal(of(inProgress.session_id).length, 0);
      assert.equal(of(ended.session_id).length, 0);
      const status = Object.fromEntries((await db.selectFrom('sessions').select(['id', 'status']).where('client_id', '=', c.client_id).execute()).map((s) => [s.id, s.status]));
      assert.deepEqual(
        [status[abandoned.session_id], status[lateRequest.session_id], status[inProgress.session_id], status[ended.session_id]],
        ['expired', 'expired', 'active', 'failed'],
      );
      // A request after the sweep gets the answer of an expired session and writes nothing more.
      const after = await app.inject({ method: 'POST', url: '/api/auth/enrollment/complete/', headers: { authorization: c.auth, 'x-session-token': abandoned.session_token } });
      assert.equal(after.statusCode, 410, after.body);
      assert.equal(after.json().code, 'SESSION_EXPIRED');
      const again = await db.selectFrom('events').select('id').where('client_id', '=', c.client_id).where('event_type', '=', 'enrollment.failed').execute();
      assert.equal(again.length, 2);
      // The session in progress still takes requests.
      const stillOpen = await app.inject({ method: 'POST', url: '/api/auth/enrollment/complete/', headers: { authorization: c.auth, 'x-session-token': inProgress.session_token } });
      assert.notEqual(stillOpen.json().code, 'SESSION_EXPIRED', stillOpen.body);
    });
  });
}
