// One tenant's batch of slow images must not hold up another tenant's requests (src/workers/pool.ts, lanes).
// A 105 kB PNG that declares 6000×6000 pixels and shows no face costs the engine about 3 s; 64 of them in one
// batch-process request kept every other tenant's verify and identify waiting past their timeouts, because the
// engine's queue served images first come, first served.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { WorkerPool } from '../../src/workers/pool.ts';
import { useTestApp } from '../helpers/app.ts';
import { adminHeaders, quickBackend } from '../helpers/foundation.ts';
import { TEST_MASTER_KEY, createTenant, createUser, dataFile, postForm } from '../helpers/face-fixtures.ts';

describe('tenants take turns in the face engine', () => {
  // One inference worker: the order in which images are served is the order they finish.
  const t = useTestApp(quickBackend(), { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY, WAJAH_QUEUE_SIZE: '64' } });

  test("a tenant's identify is served between another tenant's batch images, not after them", async () => {
    const { app, container } = t();
    const a = await createTenant(app, 'Batch sender');
    const b = await createTenant(app, 'Everyone else');
    // Faceless pictures that take the engine's whole search (the wider ones included): slow, as in the attack.
    const slow = await sharp({ create: { width: 1600, height: 1600, channels: 3, background: { r: 0, g: 0, b: 0 } } }).jpeg().toBuffer();
    const face = dataFile('faces_extra/face_recognition/obama/obama_02.jpg');

    // The order in which the engine takes and finishes images: the other tenant's asked ('face asked'), and
    // each finished, by what it showed.
    const finished: string[] = [];
    const engine = container.engine!;
    const analyze = engine.analyze.bind(engine);
    engine.analyze = async (image, options) => {
      if (typeof image !== 'string' && Buffer.from(image.buffer, image.byteOffset, image.byteLength).equals(face)) finished.push('face asked');
      try {
        const r = await analyze(image, options);
        finished.push(r.faces.length ? 'face' : 'slow');
        return r;
      } catch (e) {
        finished.push('slow');
        throw e;
      }
    };

    const batch = postForm(app, '/api/auth/authentication/batch-process/', a, [
      ...Array.from({ length: 12 }, (_, i) => ({ name: 'frames', value: slow, filename: `slow-${i}.jpg` })),
      { name: 'options', value: JSON.stringify({ mode: 'identification', batch_size: 10 }) },
    ]);
    // Once the batch's images are queued, the other tenant asks.
    while (finished.length === 0) await new Promise((r) => setTimeout(r, 10));
    const identify = await postForm(app, '/api/auth/authentication/identify/', b, [{ name: 'image', value: face }]);
    assert.notEqual(identify.statusCode, 503, identify.body);
    const done = await batch;
    assert.equal(done.statusCode, 200, done.body.slice(0, 300));
    assert.equal(done.json().total, 12);
    // First come, first served, the face waited for the slow images queued before it (nine). Taking turns,
    // for the one running and at most one more.
    const waitedFor = finished.slice(finished.indexOf('face asked'), finished.indexOf('face')).filter((x) => x === 'slow').length;
    assert.ok(finished.includes('face asked') && finished.includes('face') && waitedFor <= 2, `the other tenant's image waited for ${waitedFor} slow images: ${finished.join(', ')}`);
  });

  test("every route's images go in their tenant's lane: enrollment, compare, identify, the CompreFace API", async () => {
    const { app } = t();
    const tenant = await createTenant(app, 'Lanes');
    await createUser(app, tenant, 'EMP1');
    const issued = await app.inject({ method: 'POST', url: `/api/admin/clients/${tenant.clientId}/compreface-keys/`, headers: adminHeaders, payload: { service: 'detection' } });
    assert.equal(issued.statusCode, 201, issued.body);
    const image = dataFile('faces_extra/face_recognition/obama/obama_02.jpg');
    // The lane of every image the pool is handed.
    const lanes: Array<string | undefined> = [];
    const analyze = WorkerPool.prototype.analyze;
    WorkerPool.prototype.analyze = function (this: WorkerPool, img, options) {
      lanes.push(options.lane);
      return analyze.call(this, img, options);
    };
    try {
      const calls = [
        postForm(app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: 'EMP1' }, { name: 'image', value: image }]),
        postForm(app, '/api/auth/authentication/compare/', tenant, [{ name: 'image_a', value: image }, { name: 'image_b', value: image }]),
        postForm(app, '/api/auth/authentication/identify/', tenant, [{ name: 'image', value: image }]),
        app.inject({ method: 'POST', url: '/api/v1/detection/detect', headers: { 'x-api-key': issued.json().api_key, 'content-type': 'application/json' }, payload: { file: image.toString('base64') } }),
      ];
      for (const res of await Promise.all(calls)) assert.ok(res.statusCode < 300, res.body.slice(0, 300));
    } finally {
      WorkerPool.prototype.analyze = analyze;
    }
    assert.equal(lanes.length, 5);
    assert.deepEqual(new Set(lanes), new Set([tenant.clientId]));
  });
});
