// `wajah keys rotate-master --online` with a server left on the old key (docs/operations-keys.md). Step 2 of the
// rotation restarts every server with the new key; one that was missed keeps sealing new values (templates,
// webhook secrets, SSO secrets) with the old key. Had the rotation recorded the new key anyway, those values would
// be unreadable once WAJAH_MASTER_KEY_PREVIOUS is removed: lost. Each server holds an advisory lock named after the
// key it seals with (src/db/seal-key-lock.ts); the rotation refuses while a previous key's lock is held, both before
// it starts and when it is about to record the new key.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { backendNames, createBackend, type Backend } from '../helpers/backends.ts';
import { ADMIN_TOKEN } from '../helpers/app.ts';
import { createTenant, createUser, type Tenant } from '../helpers/face-fixtures.ts';
import { startServer, type Server } from '../helpers/server.ts';
import { loadConfig } from '../../src/config/env.ts';
import { keyCheckValue } from '../../src/crypto/key-check.ts';
import { openDatabase } from '../../src/db/database.ts';
import { getInstanceSetting } from '../../src/db/repositories/instance-settings.repository.ts';
import { rotateMasterKeyOnline } from '../../src/services/master-key-rotation.service.ts';
import { insertEnrollment } from '../../src/db/repositories/enrollments.repository.ts';
import { insertTemplates } from '../../src/db/repositories/templates.repository.ts';

const OLD = crypto.randomBytes(32);
const NEW = crypto.randomBytes(32);

describe('online master-key rotation with a server still on the old key [postgres]', { skip: backendNames().includes('postgres') ? false : 'needs PostgreSQL' }, () => {
  const backends: Backend[] = [];
  after(async () => {
    for (const b of backends) await b.cleanup();
  });

  const start = async (databaseUrl: string, keys: { current: Buffer; previous?: Buffer }, env: Record<string, string> = {}): Promise<Server> => {
    const config = loadConfig({
      ...process.env,
      DATABASE_URL: databaseUrl,
      REDIS_URL: '',
      WAJAH_DATA_DIR: os.tmpdir(),
      WAJAH_MASTER_KEY: keys.current.toString('hex'),
      WAJAH_MASTER_KEY_PREVIOUS: keys.previous?.toString('hex') ?? '',
      WAJAH_ADMIN_TOKEN: ADMIN_TOKEN,
      WAJAH_WORKERS: '0',
      WAJAH_WEBHOOKS: '0',
      LOG_LEVEL: 'silent',
      ...env,
    });
    return startServer(config, { engine: false });
  };
  /** A webhook endpoint: its signing secret is sealed with the server's master key. */
  const addEndpoint = async (s: Server, tenant: Tenant, n: number) => {
    const res = await s.app.inject({ method: 'POST', url: '/api/webhooks/endpoints/', headers: { authorization: tenant.auth, 'content-type': 'application/json' }, payload: { url: `https://hooks.example.com/${n}`, events: ['user.created'], secret: `endpoint-secret-${n}-0123456789abcdef` } });
    assert.equal(res.statusCode, 201, res.body);
  };
  /** The rotation as `wajah keys rotate-master --online` runs it: its own connection, the new key and the old. */
  const rotate = async (databaseUrl: string, options: Parameters<typeof rotateMasterKeyOnline>[3] = {}) => {
    const database = await openDatabase({ databaseUrl, pgliteDir: path.join(os.tmpdir(), 'unused'), lockKind: 'cli' });
    try {
      return await rotateMasterKeyOnline(database.db, NEW, [OLD], options);
    } finally {
      await database.close();
    }
  };
  const storedKey = async (databaseUrl: string) => {
    const database = await openDatabase({ databaseUrl, pgliteDir: path.join(os.tmpdir(), 'unused'), lockKind: 'cli' });
    try {
      return await getInstanceSetting(database.db, 'master_key_check');
    } finally {
      await database.close();
    }
  };
  const freshDatabase = async () => {
    const b = await createBackend('postgres');
    backends.push(b);
    return b.databaseUrl!;
  };

  test('a server that was not restarted with the new key stops the rotation before it starts; after its restart it runs', async () => {
    const url = await freshDatabase();
    const missed = await start(url, { current: OLD });
    const restarted = await start(url, { current: NEW, previous: OLD });
    try {
      const tenant = await createTenant(missed.app, 'Rotation');
      await addEndpoint(missed, tenant, 1);
      await assert.rejects(rotate(url), (e: { code?: string; details?: { processes?: number }; message: string }) => {
        assert.equal(e.code, 'MASTER_KEY_IN_USE', e.message);
        assert.equal(e.details?.processes, 1, e.message);
        return true;
      });
      assert.equal(await storedKey(url), keyCheckValue(OLD), 'the new key was not recorded');
      // The missed server goes through its restart: now the rotation runs and re-seals its endpoint.
      await missed.stop();
      const r = await rotate(url);
      assert.equal(r.resealed.webhook_endpoints, 1);
      assert.equal(await storedKey(url), keyCheckValue(NEW));
    } finally {
      await missed.stop().catch(() => {});
      await restarted.stop();
    }
  });

  test('a server started sealing with the old key while the rotation runs: the new key is not recorded, and the next run re-seals what it wrote', async () => {
    const url = await freshDatabase();
    const first = await start(url, { current: OLD });
    const tenant = await createTenant(first.app, 'Rotation');
    for (const n of [1, 2, 3]) await addEndpoint(first, tenant, n);
    await first.stop();
    const restarted = await start(url, { current: NEW, previous: OLD });
    let late: Server | null = null;
    try {
      await assert.rejects(
        rotate(url, {
          // After the pass went by, a server starts with the two keys swapped by mistake (WAJAH_MASTER_KEY the old
          // one): it opens the re-sealed values with the new key as "previous", the data is still recorded under
          // the old key, so it starts, and it seals a new secret with the old key, behind the pass. (With the old
          // key alone it could not start: the PIN pepper, re-sealed first, no longer opens.)
          afterPass: async () => {
            late = await start(url, { current: OLD, previous: NEW });
            await addEndpoint(late, tenant, 4);
          },
        }),
        (e: { code?: string; message: string }) => e.code === 'MASTER_KEY_IN_USE' || assert.fail(e.message),
      );
      assert.equal(await storedKey(url), keyCheckValue(OLD), 'the new key was not recorded');
      await late!.stop();
      late = null;
      const r = await rotate(url);
      assert.equal(r.resealed.webhook_endpoints, 1, 'the endpoint the late server sealed with the old key was re-sealed');
      assert.equal(await storedKey(url), keyCheckValue(NEW));
      // Nothing is left that the new key alone does not open: a third run re-seals nothing.
      const again = await rotate(url);
      assert.equal(Object.values(again.resealed).reduce((n, x) => n + x, 0), 0, JSON.stringify(again.resealed));
    } finally {
      await (late as Server | null)?.stop().catch(() => {});
      await restarted.stop().catch(() => {});
    }
  });

  test('during the rolling restart, a server still on the old key refuses what a restarted server sealed (503 MASTER_KEY_OUTDATED) and leaves it its webhook deliveries', async () => {
    const url = await freshDatabase();
    const missed = await start(url, { current: OLD }, { WAJAH_WEBHOOKS: '1', WAJAH_WEBHOOK_POLL_MS: '100' });
    const restarted = await start(url, { current: NEW, previous: OLD });
    try {
      const tenant = await createTenant(restarted.app, 'Rolling');
      // A person enrolled through the restarted server: their template is sealed with the new key.
      const userId = await createUser(restarted.app, tenant, 'EMP-NEW');
      const enrollmentId = crypto.randomUUID();
      const db = restarted.container.database.db;
      await insertEnrollment(db, { id: enrollmentId, clientId: tenant.clientId, userId, sessionId: null, source: 'direct', modelId: 'm', qualityScore: 0.9, faceCount: 1, averageConfidence: 0.9, angles: ['front'] });
      const vec = new Float32Array(512).fill(1 / Math.sqrt(512));
      await insertTemplates(db, restarted.container.face.vault.templateRows({ clientId: tenant.clientId, userId, enrollmentId, modelId: 'm' }, [{ id: crypto.randomUUID(), face: { embedding: vec, angle: 'front', quality: 0.9 } }]));
      // And an endpoint created there: its secret is sealed with the new key too.
      await addEndpoint(restarted, tenant, 1);
      await missed.container.sealKeyWatch!.check(); // its 5-second poll, now
      assert.ok(missed.container.sealKeyWatch!.outdated, 'the missed server sees a process sealing with a key it lacks');
      assert.equal(restarted.container.sealKeyWatch!.outdated, null, 'the restarted server holds both keys: not outdated');

      // The template does not open on the missed server: not a wrong NOT_ENROLLED (tampering), a retryable 503.
      const exported = await missed.app.inject({ method: 'GET', url: `/api/clients/users/EMP-NEW/export/`, headers: { authorization: tenant.auth } });
      assert.equal(exported.statusCode, 503, exported.body);
      assert.equal(exported.json().code, 'MASTER_KEY_OUTDATED');
      assert.equal(exported.headers['retry-after'], '5');
      const there = await restarted.app.inject({ method: 'GET', url: `/api/clients/users/EMP-NEW/export/`, headers: { authorization: tenant.auth } });
      assert.equal(there.statusCode, 200, there.body);

      // An event on the missed server fans out to the endpoint; its dispatcher must not fail the delivery for good.
      await createUser(missed.app, tenant, 'EMP-EVENT');
      await new Promise((r) => setTimeout(r, 1500));
      const rows = await db.selectFrom('webhook_deliveries').select(['status', 'attempts', 'last_error']).where('client_id', '=', tenant.clientId).execute();
      assert.ok(rows.length >= 1, 'the event was fanned out');
      for (const r of rows) assert.deepEqual([r.status, r.attempts], ['pending', 0], JSON.stringify(r));
    } finally {
      await missed.stop().catch(() => {});
      await restarted.stop();
    }
  });
});
