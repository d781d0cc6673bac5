import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, dataFile, postForm, type Tenant } from '../helpers/face-fixtures.ts';
import type { Container } from '../../src/container.ts';

/**
 * The gallery size that sets identification's false-positive floor (identificationThreshold, FPIR 1 %)
 * counts the users identification can return: the active ones. Deactivated users cannot be returned, so
 * they are not chances for a stranger to match; counting them made the floor stricter and lost genuine
 * matches. Clinton's two LFW photos score cosine ≈ 0.42 (confidence ≈ 0.90): above the floor of a
 * one-user gallery (0.27) and below the floor of a 401-user one (≈ 0.46).
 */
const ENROLL = 'lfw/Bill_Clinton/Bill_Clinton_0002.jpg';
const PROBE = 'lfw/Bill_Clinton/Bill_Clinton_0009.jpg';
const OBAMA = ['faces_extra/face_recognition/obama/obama_01.jpg', 'faces_extra/face_recognition/obama/obama_02.jpg'];
const CROWD = 400;

async function identify(app: FastifyInstance, tenant: Tenant, file: string): Promise<string[]> {
  const res = await postForm(app, '/api/auth/authentication/identify/', tenant, [{ name: 'image', value: dataFile(file) }]);
  assert.equal(res.statusCode, 200, res.body);
  return (res.json().result.matches as Array<{ user_id: string }>).map((m) => m.user_id);
}

async function setActive(app: FastifyInstance, tenant: Tenant, externalId: string, active: boolean): Promise<void> {
  const res = await app.inject({ method: 'POST', url: `/api/clients/users/${externalId}/${active ? 'activate' : 'deactivate'}/`, headers: { authorization: tenant.auth } });
  assert.equal(res.statusCode, 200, res.body);
}

async function enroll(app: FastifyInstance, tenant: Tenant, externalId: string, file: string): Promise<void> {
  const res = await postForm(app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: externalId }, { name: 'image', value: dataFile(file) }, { name: 'quality_threshold', value: '0.2' }]);
  assert.equal(res.statusCode, 201, res.body);
}

/** `count` users, each with one template of a random unit vector (never close to a face), written straight to the database. */
async function addCrowd(container: Container, tenant: Tenant, modelId: string, dim: number, count: number): Promise<string[]> {
  const db = container.database.db;
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const userId = crypto.randomUUID();
    const enrollmentId = crypto.randomUUID();
    const vec = new Float32Array(dim).map(() => Math.random() - 0.5);
    const norm = Math.hypot(...vec);
    for (let j = 0; j < dim; j++) vec[j] /= norm;
    await db.insertInto('users').values({ id: userId, client_id: tenant.clientId, external_id: `CROWD${i}`, name: 'Crowd' }).execute();
    await db.insertInto('enrollments').values({ id: enrollmentId, client_id: tenant.clientId, user_id: userId, source: 'direct', model_id: modelId, quality_score: 0.9, face_count: 1, average_confidence: 0.9, angles: '["front"]' }).execute();
    const rows = container.face.vault.templateRows({ clientId: tenant.clientId, userId, enrollmentId, modelId }, [{ id: crypto.randomUUID(), face: { embedding: vec, angle: 'front', quality: 0.9 } }]);
    await db.insertInto('face_templates').values(rows.map((t) => ({ id: t.id, client_id: t.clientId, user_id: t.userId, enrollment_id: t.enrollmentId, model_id: t.modelId, dim: t.dim, ciphertext: t.ciphertext, angle: t.angle, quality: t.quality }))).execute();
    ids.push(`CROWD${i}`);
  }
  return ids;
}

if (backendNames().includes('pglite')) {
  describe('identification: the gallery is the active users [pglite]', () => {
    const t = useTestApp('pglite', { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });

    test('deactivated users do not raise the identification floor; reactivated users are found again', async () => {
      const { app, container } = t();
      const tenant = await createTenant(app, 'Gallery size');
      await createUser(app, tenant, 'CLINTON', 'Bill Clinton');
      await enroll(app, tenant, 'CLINTON', ENROLL);
      assert.deepEqual(await identify(app, tenant, PROBE), ['CLINTON'], 'one-user gallery');
      const tpl = await container.database.db.selectFrom('face_templates').select(['model_id', 'dim']).where('client_id', '=', tenant.clientId).executeTakeFirstOrThrow();
      const crowd = await addCrowd(container, tenant, tpl.model_id, tpl.dim, CROWD);
      const gallery = container.face.gallery;
      gallery.registry.invalidate(tenant.clientId);
      // 401 active users: the floor rises above Clinton's genuine score (the control: size matters).
      assert.equal(await gallery.size(tenant.clientId, tpl.model_id), CROWD + 1);
      assert.deepEqual(await identify(app, tenant, PROBE), [], '401 active users');

      // Deactivated while the index is loaded: they leave the gallery size.
      for (const id of crowd) await setActive(app, tenant, id, false);
      assert.deepEqual(await identify(app, tenant, PROBE), ['CLINTON'], '1 active user + 400 deactivated (index loaded before)');
      assert.equal(await gallery.size(tenant.clientId, tpl.model_id), 1);
      // Loaded from the database after the deactivations: the same.
      gallery.registry.invalidate(tenant.clientId);
      assert.deepEqual(await identify(app, tenant, PROBE), ['CLINTON'], '1 active user + 400 deactivated (index loaded after)');
      assert.equal(await gallery.size(tenant.clientId, tpl.model_id), 1);
      // A periodic resync agrees with that.
      await gallery.sync.resync();
      assert.equal(await gallery.size(tenant.clientId, tpl.model_id), 1);
      // An enrollment whose user was deactivated or deleted after its commit (that listener ran first):
      // its templates do not stay in the index.
      const [gone] = await container.database.db.selectFrom('users').select('id').where('client_id', '=', tenant.clientId).where('external_id', '=', crowd[0]).execute();
      const vec = new Float32Array(tpl.dim).fill(1 / Math.sqrt(tpl.dim));
      await gallery.added(tenant.clientId, tpl.model_id, [{ templateId: crypto.randomUUID(), userId: gone.id, vec }, { templateId: crypto.randomUUID(), userId: crypto.randomUUID(), vec }]);
      assert.equal(await gallery.size(tenant.clientId, tpl.model_id), 1, 'an enrollment that raced a deactivation or deletion');

      // A reactivated user is found again, and counts again.
      await createUser(app, tenant, 'OBAMA', 'Barack Obama');
      await enroll(app, tenant, 'OBAMA', OBAMA[0]);
      await setActive(app, tenant, 'OBAMA', false);
      assert.deepEqual(await identify(app, tenant, OBAMA[1]), []);
      await setActive(app, tenant, 'OBAMA', true);
      assert.deepEqual(await identify(app, tenant, OBAMA[1]), ['OBAMA']);
      for (const id of crowd) await setActive(app, tenant, id, true);
      assert.equal(await gallery.size(tenant.clientId, tpl.model_id), CROWD + 2);
      await gallery.sync.resync();
      assert.equal(await gallery.size(tenant.clientId, tpl.model_id), CROWD + 2);
      assert.deepEqual(await identify(app, tenant, PROBE), [], 'the crowd is active again');
    });
  });
}
