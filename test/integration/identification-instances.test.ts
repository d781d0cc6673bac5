// Two API instances on one PostgreSQL and one Redis: each keeps its own search index, and identification
// searches the active users only (docs/search.md). A deactivation on one instance takes the user out of the
// other's index (and out of its gallery size); a reactivation brings the user back there; a change that
// reached the database without a notice is repaired by the other's resync.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { backendNames } from '../helpers/backends.ts';
import { useInstances } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, dataFile, postForm, type Tenant } from '../helpers/face-fixtures.ts';

const REDIS = process.env.WAJAH_TEST_REDIS || '';
const OBAMA = ['faces_extra/face_recognition/obama/obama_01.jpg', 'faces_extra/face_recognition/obama/obama_02.jpg'];

async function identify(app: FastifyInstance, tenant: Tenant): Promise<string[]> {
  const res = await postForm(app, '/api/auth/authentication/identify/', tenant, [{ name: 'image', value: dataFile(OBAMA[1]) }]);
  assert.equal(res.statusCode, 200, res.body);
  return (res.json().result.matches as Array<{ user_id: string }>).map((m) => m.user_id);
}

/** Polls `read` until it returns `want` or `ms` pass; returns the last value. */
async function within<T>(ms: number, want: T, read: () => Promise<T>): Promise<T> {
  const until = performance.now() + ms;
  let v = await read();
  while (JSON.stringify(v) !== JSON.stringify(want) && performance.now() < until) {
    await new Promise((r) => setTimeout(r, 20));
    v = await read();
  }
  return v;
}

describe('search index across two instances: activation [postgres, Redis]', { skip: (!REDIS && 'WAJAH_TEST_REDIS not set') || (!backendNames().includes('postgres') && 'PostgreSQL not available') }, () => {
  const { apps, containers } = useInstances(2, { redisUrl: REDIS, engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });

  test('deactivated on A leaves B (and its gallery size); reactivated on A is found on B; a missed change is repaired by resync', async () => {
    const [a, b] = apps as [FastifyInstance, FastifyInstance];
    const galleryB = containers[1].face.gallery;
    const db = containers[0].database.db;
    const tenant = await createTenant(a, 'Activation on two instances');
    await createUser(a, tenant, 'OBAMA', 'Barack Obama');
    const res = await postForm(a, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: 'OBAMA' }, { name: 'image', value: dataFile(OBAMA[0]) }, { name: 'quality_threshold', value: '0.3' }]);
    assert.equal(res.statusCode, 201, res.body);
    const { model_id: modelId } = await db.selectFrom('face_templates').select('model_id').where('client_id', '=', tenant.clientId).executeTakeFirstOrThrow();
    const sizeOnB = () => galleryB.size(tenant.clientId, modelId);
    assert.deepEqual(await within(1000, ['OBAMA'], () => identify(b, tenant)), ['OBAMA']);

    const setActive = async (active: boolean) => {
      const r = await a.inject({ method: 'POST', url: `/api/clients/users/OBAMA/${active ? 'activate' : 'deactivate'}/`, headers: { authorization: tenant.auth } });
      assert.equal(r.statusCode, 200, r.body);
    };
    await setActive(false);
    assert.equal(await within(1000, 0, sizeOnB), 0, "B's gallery size after the deactivation on A");
    assert.deepEqual(await identify(b, tenant), []);
    await setActive(true);
    assert.equal(await within(1000, 1, sizeOnB), 1, "B's gallery size after the reactivation on A");
    assert.deepEqual(await identify(b, tenant), ['OBAMA']);

    // Changes that reach the database without a notice (another tool, a lost Redis message).
    await db.updateTable('users').set({ is_active: false }).where('client_id', '=', tenant.clientId).execute();
    assert.deepEqual(await identify(b, tenant), [], 'the database has the last word at search time');
    await galleryB.sync.resync();
    assert.equal(await sizeOnB(), 0);
    await db.updateTable('users').set({ is_active: true }).where('client_id', '=', tenant.clientId).execute();
    await galleryB.sync.resync();
    assert.equal(await sizeOnB(), 1);
    assert.deepEqual(await identify(b, tenant), ['OBAMA']);
  });
});
