// Requests to the CompreFace-compatible API that are cheap to get wrong (docs/compreface.md), without the engine:
// - the verification service analyses two images per request (source and target): like Wajah's batches
//   (docs/foundation.md "Limits", one call per image) it counts two of the tenant's hourly calls, all or nothing,
//   before the engine runs. It counted one, so a tenant got twice the engine work its limit allows;
// - a truncated multipart body is the client's mistake (400, CompreFace code 26, INVALID_MULTIPART), not a 500.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { ADMIN_TOKEN, useTestApp } from '../helpers/app.ts';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
const image = Buffer.from('not really an image, never analysed: no engine in this test').toString('base64');

if (backendNames().includes('pglite')) {
  describe('CompreFace requests: hourly budget, malformed bodies [pglite]', () => {
    const t = useTestApp('pglite');

    test('verification/verify counts its two images as two calls, and is refused whole when one call is left', async () => {
      const { app } = t();
      const c = await app.inject({ method: 'POST', url: '/api/admin/clients/', headers: admin, payload: { name: 'CompreFace quota', tier: 'basic', calls_per_hour: 4 } });
      assert.equal(c.statusCode, 201, c.body);
      const clientId = (c.json() as { client_id: string }).client_id;
      const keys: Record<string, string> = {};
      for (const service of ['verification', 'detection']) {
        const k = await app.inject({ method: 'POST', url: `/api/admin/clients/${clientId}/compreface-keys/`, headers: admin, payload: { service } });
        assert.equal(k.statusCode, 201, k.body);
        keys[service] = (k.json() as { api_key: string }).api_key;
      }
      const verify = () =>
        app.inject({ method: 'POST', url: '/api/v1/verification/verify', headers: { 'x-api-key': keys.verification!, 'content-type': 'application/json' }, payload: { source_image: image, target_image: image } });

      // No engine here: 503 after the counting, which happens before any image is analysed.
      const first = await verify();
      assert.equal(first.statusCode, 503, first.body);
      assert.equal(first.headers['x-ratelimit-remaining'], '2', 'two images, two calls');

      // One image: one call (4 - 2 - 1 = 1 left).
      const detect = await app.inject({ method: 'POST', url: '/api/v1/detection/detect', headers: { 'x-api-key': keys.detection!, 'content-type': 'application/json' }, payload: { file: image } });
      assert.equal(detect.statusCode, 503, detect.body);
      assert.equal(detect.headers['x-ratelimit-remaining'], '1');

      // One call left, two images: refused whole, and nothing of it counted.
      const refused = await verify();
      assert.equal(refused.statusCode, 429, refused.body);
      assert.equal(refused.headers['x-wajah-error-code'], 'RATE_LIMIT_EXCEEDED');
      assert.equal(refused.headers['x-ratelimit-remaining'], '1');
    });

    test('a truncated or unframed multipart body is 400 INVALID_MULTIPART (code 26), not 500', async () => {
      const { app } = t();
      const c = await app.inject({ method: 'POST', url: '/api/admin/clients/', headers: admin, payload: { name: 'CompreFace multipart', tier: 'enterprise' } });
      const clientId = (c.json() as { client_id: string }).client_id;
      const k = await app.inject({ method: 'POST', url: `/api/admin/clients/${clientId}/compreface-keys/`, headers: admin, payload: { service: 'recognition' } });
      const headers = { 'x-api-key': (k.json() as { api_key: string }).api_key, 'content-type': 'multipart/form-data; boundary=x' };
      for (const payload of ['--x\r\n', 'not multipart at all']) {
        const res = await app.inject({ method: 'POST', url: '/api/v1/recognition/recognize', headers, payload });
        assert.equal(res.statusCode, 400, res.body);
        assert.equal(res.headers['x-wajah-error-code'], 'INVALID_MULTIPART');
        assert.equal((res.json() as { code: number }).code, 26);
      }
    });
  });
}
