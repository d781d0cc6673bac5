import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, postForm, postJson, type Tenant } from '../helpers/face-fixtures.ts';
import { testDataDir } from '../../src/config/env.ts';
import { readMjpegFrames } from '../../src/vision/mjpeg.ts';

/**
 * Right to deletion (U4) where a user's data sits outside their own rows: events written under an
 * external id the user no longer has, and identification sessions in the middle of their liveness
 * challenges (which are not the user's: the FK cascade does not reach them). And what a session keeps of
 * a face once it has ended.
 */
for (const backend of backendNames()) {
  describe(`deleting a user reaches their events under an earlier external id [${backend}]`, () => {
    const t = useTestApp(backend, { env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });

    test('an authentication.success written before a rename is redacted by the deletion', async () => {
      const { app, container } = t();
      const tenant = await createTenant(app, 'Rename then delete');
      const id = await createUser(app, tenant, 'EMP001', 'Alice Private', { phone: '+62-811-000' });
      const put = (url: string, body: unknown) => app.inject({ method: 'PUT', url, headers: { authorization: tenant.auth }, payload: body as object });
      assert.equal((await put('/api/clients/users/EMP001/fallback/', { type: 'pin', secret: '482193' })).statusCode, 200);
      const auth = await postJson(app, '/api/auth/authentication/fallback/', tenant, { user_id: 'EMP001', pin: '482193' });
      assert.equal(auth.statusCode, 200, auth.body);
      assert.equal((await put(`/api/clients/users/${id}/`, { external_id: 'EMP001-NEW' })).statusCode, 200);

      // The portability export finds the event too (it names the user by the old id only).
      const exported = await app.inject({ method: 'GET', url: `/api/clients/users/${id}/export/`, headers: { authorization: tenant.auth } });
      assert.ok(exported.json().events.some((e: { event_type: string }) => e.event_type === 'authentication.success'), 'the export carries the event written under the old id');

      assert.equal((await app.inject({ method: 'DELETE', url: `/api/clients/users/${id}/`, headers: { authorization: tenant.auth } })).statusCode, 204);
      const events = await sql<{ event_type: string; payload: Record<string, unknown> }>`SELECT event_type, payload FROM events WHERE client_id = ${tenant.clientId}`.execute(container.database.db);
      const success = events.rows.find((e) => e.event_type === 'authentication.success');
      assert.ok(success, 'the event itself stays (delivery and audit)');
      assert.equal(success.payload.redacted, true);
      for (const e of events.rows) assert.doesNotMatch(JSON.stringify(e.payload), /Alice Private|811-000/, `${e.event_type} still names the user`);
    });
  });
}

// The engine-heavy part runs on the embedded database (sessions behave the same on both).
if (backendNames().includes('pglite')) {
  describe('identification sessions and ended sessions keep nothing of a deleted user [pglite]', () => {
    const t = useTestApp('pglite', { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
    const headturn = readMjpegFrames(path.join(testDataDir(), 'video/fakecam', 'personA_live_headturn_640x360_15fps.mjpeg'));
    const frames = headturn.filter((_, i) => i > 0 && i % 2 === 0);
    let tenant: Tenant;
    let userId: string;

    const frame = (token: string, bytes: Buffer) => postForm(t().app, '/api/auth/authentication/process-frame/', tenant, [{ name: 'frame', value: bytes }], token);
    const create = async () => {
      const res = await postJson(t().app, '/api/auth/authentication/create/', tenant, { mode: 'identification', require_liveness: true, liveness_challenges: ['head_movement'], challenge_timeout: 60 });
      assert.equal(res.statusCode, 201, res.body);
      return res.json() as { session_token: string; session_id: string };
    };
    const sessionRow = async (id: string) =>
      (await sql<{ status: string; state: Record<string, unknown> }>`SELECT status, state FROM sessions WHERE id = ${id}`.execute(t().container.database.db)).rows[0];

    const enroll = async (externalId: string) => {
      const id = await createUser(t().app, tenant, externalId, 'Person A Private', { national_id: '3171-0000' });
      const res = await postForm(t().app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: externalId }, { name: 'image', value: headturn[0] }, { name: 'quality_threshold', value: '0.3' }]);
      assert.equal(res.statusCode, 201, res.body);
      return id;
    };

    test('setup: enroll person A', async () => {
      tenant = await createTenant(t().app, 'Session privacy');
      userId = await enroll('PERSON_A');
    });

    test('deleting the user ends an identification session that holds them and drops its face state', async () => {
      const s = await create();
      assert.equal((await frame(s.session_token, frames[0])).json().status, 'processing');
      const before = await sessionRow(s.session_id);
      assert.ok(before.state.anchor, 'mid-challenge the session holds a sealed embedding');
      assert.equal((before.state.best as { userId: string }).userId, userId, 'and the match, by id only');
      assert.doesNotMatch(JSON.stringify(before.state), /Person A Private|3171-0000/);

      const del = await t().app.inject({ method: 'DELETE', url: `/api/clients/users/${userId}/`, headers: { authorization: tenant.auth } });
      assert.equal(del.statusCode, 204);
      const after = await sessionRow(s.session_id);
      assert.equal(after.status, 'expired');
      for (const key of ['anchor', 'thumb', 'shape', 'planar', 'best']) assert.equal(after.state[key], undefined, `${key} left in the session`);
      assert.doesNotMatch(JSON.stringify(after.state), new RegExp(userId));
      const next = await frame(s.session_token, frames[1]);
      assert.equal(next.statusCode, 410);
      assert.equal(next.json().code, 'SESSION_EXPIRED');
    });

    test('a session that expired in the middle of its challenges loses its face state at the next sweep', async () => {
      const { container } = t();
      const s = await create();
      assert.equal((await frame(s.session_token, frames[0])).json().status, 'processing');
      assert.equal(await container.foundation.retention.sweepSessions(), 0, 'an active session keeps its state');
      assert.ok((await sessionRow(s.session_id)).state.anchor);
      // Nobody sends another frame: an hour later the session is long past its expiry.
      const swept = await container.foundation.retention.sweepSessions(new Date(Date.now() + 3600_000));
      assert.ok(swept >= 1);
      const row = await sessionRow(s.session_id);
      for (const key of ['anchor', 'thumb', 'shape', 'planar', 'best']) assert.equal(row.state[key], undefined, `${key} left in the session`);
      assert.ok(row.state.liveness, 'the counters stay');
    });

    test('a user deactivated while the challenges run is not recognised when they end', async () => {
      // Person A enrolled again (the first enrollment went with the deletion above).
      userId = await enroll('PERSON_A2');
      const s = await create();
      const first = await frame(s.session_token, frames[0]);
      assert.equal(first.json().status, 'processing', first.body);
      // The session holds the match by id only: no name, no metadata.
      const held = await sessionRow(s.session_id);
      assert.doesNotMatch(JSON.stringify(held.state), /Person A Private|3171-0000/);
      const off = await postJson(t().app, `/api/clients/users/${userId}/deactivate/`, tenant, {});
      assert.equal(off.statusCode, 200, off.body);
      let body: Record<string, any> = {};
      for (const f of frames.slice(1)) {
        body = (await frame(s.session_token, f)).json();
        if (body.status !== 'processing') break;
      }
      assert.equal(body.status, 'failed', JSON.stringify(body));
      assert.equal(body.liveness_result.passed, true, 'liveness itself passed');
      assert.notEqual(body.result.authenticated, true, 'a deactivated user is never recognised (A5)');
      assert.equal(body.result.failure_reason, 'NO_MATCH');
      assert.deepEqual(body.result.matches, []);
    });
  });
}
