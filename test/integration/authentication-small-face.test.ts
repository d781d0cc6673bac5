// A face too small to recognise decides nothing (POOR_IMAGE_QUALITY, docs/face-flows.md "Authentication rules").
// The guide's client handles that code ("improve lighting and look directly at the camera"); before, a 60-pixel
// thumbnail of an enrolled face was authenticated, and one of a stranger was an ordinary LOW_CONFIDENCE.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { useTestApp } from '../helpers/app.ts';
import { quickBackend } from '../helpers/foundation.ts';
import { TEST_MASTER_KEY, createTenant, createUser, dataFile, postForm, postJson, type Tenant } from '../helpers/face-fixtures.ts';

const FR = 'faces_extra/face_recognition';
const ENROLLED = `${FR}/obama/obama_01.jpg`;
const PROBE = `${FR}/obama/obama_02.jpg`;

/** The picture scaled so that the face's box is about `box` pixels wide (obama_02's is 283 of 626). */
async function scaled(file: string, box: number): Promise<Buffer> {
  return sharp(dataFile(file)).resize(Math.round((626 * box) / 283)).jpeg({ quality: 92 }).toBuffer();
}

describe('authentication on a face too small to recognise', () => {
  const t = useTestApp(quickBackend(), { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
  let tenant: Tenant;

  test('setup: an enrolled user', async () => {
    tenant = await createTenant(t().app, 'Small faces');
    await createUser(t().app, tenant, 'EMP001', 'Barack Obama');
    const res = await postForm(t().app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: 'EMP001' }, { name: 'image', value: dataFile(ENROLLED) }]);
    assert.equal(res.statusCode, 201, res.body);
  });

  test('one-shot verify and identify: 422 POOR_IMAGE_QUALITY naming the eye distance, a failed attempt with that reason', async () => {
    const { app, container } = t();
    // A box of 30 px: the eyes about 13 px apart (the face is still found).
    const tiny = await scaled(PROBE, 30);
    const verify = await postForm(app, '/api/auth/authentication/verify/', tenant, [{ name: 'user_id', value: 'EMP001' }, { name: 'image', value: tiny }]);
    assert.equal(verify.statusCode, 422, verify.body);
    const body = verify.json();
    assert.equal(body.code, 'POOR_IMAGE_QUALITY');
    assert.ok(body.details.inter_ocular_px < 16 && body.details.inter_ocular_px > 8, verify.body);
    assert.equal(body.details.min_inter_ocular_px, 16);
    assert.deepEqual(body.details.suggestions, ['move_closer']);
    const identify = await postForm(app, '/api/auth/authentication/identify/', tenant, [{ name: 'image', value: tiny }]);
    assert.equal(identify.statusCode, 422, identify.body);
    assert.equal(identify.json().code, 'POOR_IMAGE_QUALITY');
    const attempts = await container.database.db.selectFrom('auth_attempts').select(['outcome', 'failure_reason', 'mode']).where('client_id', '=', tenant.clientId).execute();
    assert.deepEqual(attempts.map((a) => `${a.mode} ${a.outcome} ${a.failure_reason}`).sort(), ['identification failed POOR_IMAGE_QUALITY', 'verification failed POOR_IMAGE_QUALITY']);
    // The same picture large enough (eyes about 26 px apart) is decided as before.
    const fine = await postForm(app, '/api/auth/authentication/verify/', tenant, [{ name: 'user_id', value: 'EMP001' }, { name: 'image', value: await scaled(PROBE, 60) }]);
    assert.equal(fine.statusCode, 200, fine.body);
    assert.equal(fine.json().result.authenticated, true);
  });

  test('batch items and session frames: the small frame is refused on its own, the session goes on', async () => {
    const { app } = t();
    const tiny = await scaled(PROBE, 30);
    const batch = await postForm(app, '/api/auth/authentication/batch-process/', tenant, [
      { name: 'frames', value: tiny, filename: 'tiny.jpg' },
      { name: 'frames', value: dataFile(PROBE), filename: 'full.jpg' },
      { name: 'options', value: JSON.stringify({ mode: 'verification', user_id: 'EMP001' }) },
    ]);
    assert.equal(batch.statusCode, 200, batch.body);
    const results = batch.json().results as Array<{ filename: string; status: string; error?: { code: string } }>;
    assert.deepEqual(results.map((r) => [r.filename, r.status, r.error?.code ?? null]), [['tiny.jpg', 'error', 'POOR_IMAGE_QUALITY'], ['full.jpg', 'completed', null]]);

    let res = await postJson(app, '/api/auth/authentication/create/', tenant, { user_id: 'EMP001', mode: 'verification' });
    assert.equal(res.statusCode, 201, res.body);
    const { session_token } = res.json();
    res = await postForm(app, '/api/auth/authentication/process-frame/', tenant, [{ name: 'frame', value: tiny }], session_token);
    assert.equal(res.statusCode, 422, res.body);
    assert.equal(res.json().code, 'POOR_IMAGE_QUALITY');
    // No attempt spent: the next frame, close enough, authenticates.
    res = await postForm(app, '/api/auth/authentication/process-frame/', tenant, [{ name: 'frame', value: dataFile(PROBE) }], session_token);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().status, 'completed');
    assert.equal(res.json().result.authenticated, true);
  });
});
