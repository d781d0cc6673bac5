// The same change sent twice at once (a retry, two operators, two instances behind a load balancer) must take
// effect once. On PostgreSQL each request has its own connection, so two transactions that read before
// either writes both saw the old state: two rotations of one key each issued a live successor, and one
// deactivation sent twice wrote two user.updated events. A user deleted while a verify was being decided
// made that verify a 500. (The embedded database runs one transaction at a time: the same tests hold there.)
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { adminHeaders, as, createClient } from '../helpers/foundation.ts';
import { writeOutcome } from '../../src/services/authentication.outcome.ts';
import { isAppError } from '../../src/errors.ts';

for (const backend of backendNames()) {
  describe(`concurrent changes take effect once [${backend}]`, () => {
    const t = useTestApp(backend, { env: { WAJAH_WEBHOOKS: '0' } });

    test('two rotations of one key at once: one succeeds, the other is 409, one successor', async () => {
      const { app } = t();
      const c = await createClient(app, { name: 'Rotations' });
      for (let trial = 0; trial < 8; trial++) {
        const issued = await app.inject({ method: 'POST', url: `/api/admin/clients/${c.client_id}/keys/`, headers: adminHeaders, payload: { name: `k${trial}` } });
        assert.equal(issued.statusCode, 201, issued.body);
        const key = issued.json().api_key as string;
        const rotate = () => app.inject({ method: 'POST', url: `/api/admin/keys/${encodeURIComponent(key)}/rotate/`, headers: adminHeaders, payload: {} });
        const answers = await Promise.all([rotate(), rotate()]);
        assert.deepEqual(answers.map((r) => r.statusCode).sort(), [200, 409], answers.map((r) => r.body).join('\n'));
        const detail = (await app.inject({ method: 'GET', url: `/api/admin/clients/${c.client_id}/`, headers: adminHeaders })).json() as { keys: Array<{ name: string | null; revoked_at: string | null }> };
        assert.equal(detail.keys.filter((k) => k.name === `k${trial}`).length, 2, `trial ${trial}: the key and one successor`);
      }
    });

    test('one deactivation sent twice at once: one user.updated event', async () => {
      const { app, container } = t();
      const c = await createClient(app, { name: 'Deactivations' });
      for (let trial = 0; trial < 8; trial++) {
        const created = await as(app, c, { method: 'POST', url: '/api/clients/users/', payload: { external_id: `twice-${trial}`, name: 'Twice' } });
        assert.equal(created.statusCode, 201, created.body);
        const id = created.json().id as string;
        const deactivate = () => as(app, c, { method: 'POST', url: `/api/clients/users/${id}/deactivate/` });
        const answers = await Promise.all([deactivate(), deactivate()]);
        assert.deepEqual(answers.map((r) => r.statusCode), [200, 200]);
        const events = await container.database.db.selectFrom('events').select('payload').where('client_id', '=', c.client_id).where('event_type', '=', 'user.updated').execute();
        assert.equal(events.filter((e) => (e.payload as { id: string }).id === id).length, 1, `trial ${trial}`);
      }
    });

    test("an outcome about a user deleted meanwhile is USER_NOT_FOUND, not a database error", async () => {
      const { app, container } = t();
      const c = await createClient(app, { name: 'Deleted meanwhile' });
      const client = { id: c.client_id, name: 'Deleted meanwhile', tier: 'enterprise' as const, settings: {}, apiKeyId: crypto.randomUUID() };
      const gone = { id: crypto.randomUUID(), external_id: 'gone', name: 'Gone', metadata: {}, is_active: true };
      const decision = { mode: 'verification' as const, success: true, failureReason: null, confidence: 0.95, threshold: 0.8, quality: 0.9, user: gone };
      await assert.rejects(
        writeOutcome(container.database.db, client, null, { mode: 'verification', session_type: 'webcam' }, decision as never, null, 1, 12, { ip: null, userAgent: null }),
        (e: unknown) => isAppError(e) && e.code === 'USER_NOT_FOUND',
      );
      const attempts = await container.database.db.selectFrom('auth_attempts').select('id').where('client_id', '=', c.client_id).execute();
      assert.equal(attempts.length, 0);
    });
  });
}
