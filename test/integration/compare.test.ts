import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useTestApp } from '../helpers/app.ts';
import { quickBackend } from '../helpers/foundation.ts';
import { TEST_MASTER_KEY, createTenant, dataFile, postForm, type Tenant } from '../helpers/face-fixtures.ts';

const FR = 'faces_extra/face_recognition';

describe('compare two photos: the same person?', () => {
  const t = useTestApp(quickBackend(), { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
  let tenant: Tenant;
  const compare = (a: string, b: string | null, extra: { name: string; value: string }[] = []) =>
    postForm(t().app, '/api/v1/auth/authentication/compare/', tenant, [{ name: 'image_a', value: dataFile(a) }, ...(b ? [{ name: 'image_b', value: dataFile(b) }] : []), ...extra]);

  test('the same person in two photos: same_person with a calibrated confidence and both faces located; nothing stored', async () => {
    tenant = await createTenant(t().app, 'Compare');
    const res = await compare(`${FR}/obama/obama_01.jpg`, `${FR}/obama/obama_02.jpg`);
    assert.equal(res.statusCode, 200, res.body);
    const r = res.json();
    assert.equal(r.same_person, true);
    assert.ok(r.confidence >= 0.8, String(r.confidence));
    assert.equal(r.threshold, 0.8);
    assert.equal(r.faces.length, 2);
    for (const f of r.faces) assert.ok(f.box.width > 20 && f.box.x + f.box.width <= f.image_width + 2 && f.quality_score > 0, JSON.stringify(f));
    const db = t().container.database.db;
    assert.equal((await db.selectFrom('auth_attempts').select('id').where('client_id', '=', tenant.clientId).execute()).length, 0, 'no attempt recorded');
    assert.equal((await db.selectFrom('face_templates').select('id').where('client_id', '=', tenant.clientId).execute()).length, 0, 'no template stored');
  });

  test('two different people: not the same person', async () => {
    const r = (await compare(`${FR}/obama/obama_01.jpg`, `${FR}/biden/biden_01.jpg`)).json();
    assert.equal(r.same_person, false);
    assert.ok(r.confidence < 0.8, String(r.confidence));
  });

  test('bad input: a missing photo, a photo without a face, a threshold below the floor', async () => {
    const missing = await compare(`${FR}/obama/obama_01.jpg`, null);
    assert.equal(missing.statusCode, 400);
    assert.equal(missing.json().details.field, 'image_b');
    const noFace = await compare(`${FR}/obama/obama_01.jpg`, 'no_face/skimage_coffee.png');
    assert.equal(noFace.statusCode, 422, noFace.body);
    assert.equal(noFace.json().code, 'NO_FACE_DETECTED');
    const low = await compare(`${FR}/obama/obama_01.jpg`, `${FR}/biden/biden_01.jpg`, [{ name: 'confidence_threshold', value: '0.1' }]);
    assert.equal(low.statusCode, 400);
    assert.equal(low.json().code, 'VALIDATION_ERROR');
  });
});
