import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { ADMIN_TOKEN, useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, dataFile, postForm, postJson, type Tenant } from '../helpers/face-fixtures.ts';
import { readMjpegFrames } from '../../src/vision/mjpeg.ts';
import { testDataDir } from '../../src/config/env.ts';
import path from 'node:path';

const OBAMA = 'faces_extra/face_recognition/obama/obama_01.jpg';
const OBAMA2 = 'faces_extra/face_recognition/obama/obama_02.jpg';
const BIDEN = 'faces_extra/face_recognition/biden/biden_01.jpg';

for (const backend of backendNames()) {
  describe(`enrollment [${backend}]`, () => {
    const t = useTestApp(backend, { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
    let tenant: Tenant;

    test('direct enrollment stores one encrypted template and emits enrollment.completed', async () => {
      const { app, container } = t();
      tenant = await createTenant(app);
      await createUser(app, tenant, 'EMP001', 'Barack Obama', { department: 'IT' });
      const res = await postForm(app, '/api/auth/enrollment/direct/', tenant, [
        { name: 'user_id', value: 'EMP001' },
        { name: 'image', value: dataFile(OBAMA) },
        { name: 'quality_threshold', value: '0.3' },
      ]);
      assert.equal(res.statusCode, 201, res.body);
      const body = res.json();
      assert.equal(body.status, 'completed');
      assert.equal(body.user_id, 'EMP001');
      assert.equal(body.quality_metrics.face_count, 1);
      const db = container.database.db;
      const rows = await db.selectFrom('face_templates').select(['ciphertext', 'dim', 'model_id']).where('client_id', '=', tenant.clientId).execute();
      assert.equal(rows.length, 1);
      // The stored blob is header + ciphertext, never the float32 plaintext.
      assert.equal(rows[0].ciphertext.length, 29 + rows[0].dim * 4);
      const ev = await db.selectFrom('events').select(['event_type', 'payload']).where('client_id', '=', tenant.clientId).where('event_type', '=', 'enrollment.completed').execute();
      assert.equal(ev.length, 1);
      assert.equal((ev[0].payload as { user_name: string }).user_name, 'Barack Obama');
      assert.equal(await db.selectFrom('face_photos').select('id').executeTakeFirst(), undefined);
      // Portability: the export carries the decrypted embedding.
      const exp = await app.inject({ method: 'GET', url: '/api/clients/users/EMP001/export/', headers: { authorization: tenant.auth } });
      assert.equal(exp.statusCode, 200, exp.body);
      const tpl = exp.json().face_templates;
      assert.equal(tpl.length, 1);
      assert.equal(tpl[0].embedding.length, rows[0].dim);
      assert.ok(Math.abs(Math.hypot(...tpl[0].embedding) - 1) < 1e-3, 'an L2-normalised embedding');
    });

    test('photos are kept only when the client opts in, and then encrypted', async () => {
      const { app, container } = t();
      const optIn = await createTenant(app, 'Photos');
      const patch = await app.inject({
        method: 'PATCH',
        url: `/api/admin/clients/${optIn.clientId}/`,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        payload: { settings: { store_photos: true } },
      });
      assert.equal(patch.statusCode, 200, patch.body);
      await createUser(app, optIn, 'P1');
      const image = dataFile(OBAMA);
      const res = await postForm(app, '/api/auth/enrollment/direct/', optIn, [{ name: 'user_id', value: 'P1' }, { name: 'image', value: image }, { name: 'quality_threshold', value: '0.3' }]);
      assert.equal(res.statusCode, 201, res.body);
      const photos = await container.database.db.selectFrom('face_photos').select(['ciphertext', 'content_type']).where('client_id', '=', optIn.clientId).execute();
      assert.equal(photos.length, 1);
      assert.equal(photos[0].content_type, 'image/jpeg');
      assert.equal(Buffer.from(photos[0].ciphertext).indexOf(image.subarray(0, 64)), -1);
    });

    test('bad uploads: missing file names the field, wrong type is 415, no face is 422', async () => {
      const { app } = t();
      let res = await postForm(app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: 'EMP001' }]);
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().code, 'VALIDATION_ERROR');
      assert.match(res.json().message, /image/);
      res = await postForm(app, '/api/auth/enrollment/direct/', tenant, [
        { name: 'user_id', value: 'EMP001' },
        { name: 'image', value: Buffer.from('%PDF-1.4'), type: 'application/pdf', filename: 'x.pdf' },
      ]);
      assert.equal(res.statusCode, 415);
      assert.equal(res.json().code, 'UNSUPPORTED_MEDIA_TYPE');
      res = await postForm(app, '/api/auth/enrollment/direct/', tenant, [
        { name: 'user_id', value: 'EMP001' },
        { name: 'image', value: dataFile('no_face/skimage_brick.png'), type: 'image/png' },
      ]);
      assert.equal(res.statusCode, 422);
      assert.equal(res.json().code, 'NO_FACE_DETECTED');
      res = await postForm(app, '/api/auth/enrollment/direct/', tenant, [
        { name: 'user_id', value: 'NOPE' },
        { name: 'image', value: dataFile(OBAMA) },
      ]);
      assert.equal(res.statusCode, 404);
      assert.equal(res.json().code, 'USER_NOT_FOUND');
    });

    test('a session: frames, FACE_MISMATCH for another person, complete, list and delete', async () => {
      const { app } = t();
      await createUser(app, tenant, 'EMP002', 'Obama Again');
      let res = await postJson(app, '/api/auth/enrollment/create/', tenant, { user_id: 'EMP002', session_type: 'upload', quality_threshold: 0.3, timeout: 120 });
      assert.equal(res.statusCode, 201, res.body);
      const session = res.json();
      assert.equal(typeof session.session_token, 'string');
      assert.ok(Buffer.from(session.session_token, 'base64url').length === 32);
      res = await postForm(app, '/api/auth/enrollment/process-frame/', tenant, [{ name: 'frame', value: dataFile(OBAMA2) }, { name: 'frame_metadata', value: '{"device_orientation":"portrait"}' }], session.session_token);
      assert.equal(res.statusCode, 200, res.body);
      const frame = res.json();
      assert.equal(frame.face_detected, true);
      assert.equal(frame.frame_accepted, true);
      assert.deepEqual(frame.progress, { current: 1, required: 1, angles_captured: [frame.angle] });
      assert.equal(frame.status, 'ready');
      // Where the face is, in the frame's pixels (a camera page draws its guide there): the same box a
      // one-shot decision reports for the same picture.
      const oneShot = await postForm(app, '/api/auth/authentication/identify/', tenant, [{ name: 'image', value: dataFile(OBAMA2) }]);
      assert.deepEqual(frame.face, oneShot.json().face);
      assert.ok(frame.face.box.width > 40 && frame.face.box.x + frame.face.box.width <= frame.face.image_width + 2, JSON.stringify(frame.face));
      res = await postForm(app, '/api/auth/enrollment/process-frame/', tenant, [{ name: 'frame', value: dataFile(BIDEN) }], session.session_token);
      assert.equal(res.statusCode, 422);
      assert.equal(res.json().code, 'FACE_MISMATCH');
      // JSON convenience form: a data URL
      res = await postJson(app, '/api/auth/enrollment/process-frame/', tenant, { frame: `data:image/jpeg;base64,${dataFile(OBAMA).toString('base64')}` }, session.session_token);
      assert.equal(res.statusCode, 200, res.body);
      res = await postJson(app, '/api/auth/enrollment/complete/', tenant, {}, session.session_token);
      assert.equal(res.statusCode, 201, res.body);
      const done = res.json();
      assert.equal(done.status, 'completed');
      assert.equal(done.user_id, 'EMP002');
      assert.ok(done.quality_metrics.face_count >= 1);
      // After completion the token is spent.
      res = await postForm(app, '/api/auth/enrollment/process-frame/', tenant, [{ name: 'frame', value: dataFile(OBAMA) }], session.session_token);
      assert.equal(res.statusCode, 409);
      assert.equal(res.json().code, 'SESSION_COMPLETED');
      // Re-enrollment: a second enrollment for the same user, then list and delete one.
      res = await postForm(app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: 'EMP002' }, { name: 'image', value: dataFile(OBAMA) }, { name: 'quality_threshold', value: '0.3' }]);
      assert.equal(res.statusCode, 201, res.body);
      res = await app.inject({ method: 'GET', url: '/api/auth/enrollments/?user_id=EMP002', headers: { authorization: tenant.auth } });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().count, 2);
      res = await app.inject({ method: 'DELETE', url: `/api/auth/enrollments/${done.enrollment_id}/`, headers: { authorization: tenant.auth } });
      assert.equal(res.statusCode, 200, res.body);
      assert.ok(res.json().templates_removed >= 1);
      res = await app.inject({ method: 'GET', url: '/api/auth/enrollments/?user_id=EMP002', headers: { authorization: tenant.auth } });
      assert.equal(res.json().count, 1);
      res = await app.inject({ method: 'DELETE', url: `/api/auth/enrollments/${done.enrollment_id}/`, headers: { authorization: tenant.auth } });
      assert.equal(res.statusCode, 404);
      assert.equal(res.json().code, 'ENROLLMENT_NOT_FOUND');
      // Ids that are not UUIDs are unknown ids too, whatever their length (36 dashes reached the database: 500).
      for (const id of ['-'.repeat(36), 'a'.repeat(36), 'not-an-id']) {
        res = await app.inject({ method: 'DELETE', url: `/api/auth/enrollments/${id}/`, headers: { authorization: tenant.auth } });
        assert.equal(res.statusCode, 404, `${id}: ${res.body}`);
        assert.equal(res.json().code, 'ENROLLMENT_NOT_FOUND');
      }
    });

    test('concurrent frames of one session both land (row lock, no lost update)', async () => {
      const { app, container } = t();
      await createUser(app, tenant, 'EMP005');
      const res = await postJson(app, '/api/auth/enrollment/create/', tenant, { user_id: 'EMP005', session_type: 'webcam', quality_threshold: 0.3 });
      const { session_token, session_id } = res.json();
      const [a, b] = await Promise.all([
        postForm(app, '/api/auth/enrollment/process-frame/', tenant, [{ name: 'frame', value: dataFile(OBAMA) }], session_token),
        postForm(app, '/api/auth/enrollment/process-frame/', tenant, [{ name: 'frame', value: dataFile(OBAMA2) }], session_token),
      ]);
      assert.equal(a.statusCode, 200, a.body);
      assert.equal(b.statusCode, 200, b.body);
      assert.deepEqual([a.json().progress.current, b.json().progress.current].sort(), [1, 2]);
      const row = await container.database.db.selectFrom('sessions').select('state').where('id', '=', session_id).executeTakeFirstOrThrow();
      assert.equal((row.state as { received: number }).received, 2);
    });

    test('insufficient frames: INSUFFICIENT_QUALITY and enrollment.failed', async () => {
      const { app, container } = t();
      await createUser(app, tenant, 'EMP003');
      let res = await postJson(app, '/api/auth/enrollment/create/', tenant, { user_id: 'EMP003', session_type: 'webcam', quality_threshold: 0.99 });
      const { session_token, session_id } = res.json();
      res = await postForm(app, '/api/auth/enrollment/process-frame/', tenant, [{ name: 'frame', value: dataFile('quality/obama_240p.jpg') }], session_token);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().status, 'rejected');
      assert.equal(res.json().rejection_reason, 'POOR_IMAGE_QUALITY');
      assert.ok(res.json().feedback.message.length > 0);
      res = await postJson(app, '/api/auth/enrollment/complete/', tenant, {}, session_token);
      assert.equal(res.statusCode, 422);
      assert.equal(res.json().code, 'INSUFFICIENT_QUALITY');
      const ev = await container.database.db.selectFrom('events').select('payload').where('event_type', '=', 'enrollment.failed').execute();
      const p = ev.map((e) => e.payload as { session_id: string; error_code: string; attempts: number }).find((x) => x.session_id === session_id);
      assert.equal(p?.error_code, 'INSUFFICIENT_QUALITY');
      assert.equal(p?.attempts, 1);
    });

    test('tokens: foreign tenant → 404, expired → 410, missing header → 400', async () => {
      const { app, container } = t();
      const other = await createTenant(app, 'Other');
      await createUser(app, tenant, 'EMP004');
      let res = await postJson(app, '/api/auth/enrollment/create/', tenant, { user_id: 'EMP004' });
      const { session_token, session_id } = res.json();
      res = await postForm(app, '/api/auth/enrollment/process-frame/', other, [{ name: 'frame', value: dataFile(OBAMA) }], session_token);
      assert.equal(res.statusCode, 404);
      assert.equal(res.json().code, 'SESSION_NOT_FOUND');
      // Another tenant cannot enroll into this tenant's user either.
      res = await postJson(app, '/api/auth/enrollment/create/', other, { user_id: 'EMP004' });
      assert.equal(res.statusCode, 404);
      await container.database.db.updateTable('sessions').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', session_id).execute();
      res = await postForm(app, '/api/auth/enrollment/process-frame/', tenant, [{ name: 'frame', value: dataFile(OBAMA) }], session_token);
      assert.equal(res.statusCode, 410);
      assert.equal(res.json().code, 'SESSION_EXPIRED');
      const failed = await container.database.db.selectFrom('events').select('payload').where('event_type', '=', 'enrollment.failed').execute();
      assert.equal(failed.filter((e) => (e.payload as { session_id: string; error_code: string }).session_id === session_id && (e.payload as { error_code: string }).error_code === 'SESSION_EXPIRED').length, 1);
      res = await postJson(app, '/api/auth/enrollment/complete/', tenant, {}, session_token);
      assert.equal(res.statusCode, 410);
      res = await postForm(app, '/api/auth/enrollment/process-frame/', tenant, [{ name: 'frame', value: dataFile(OBAMA) }]);
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().code, 'VALIDATION_ERROR');
      assert.match(res.json().message, /x-session-token/);
    });

    if (backend === 'pglite') {
      test('a webcam session from the head-turn video collects front, left and right', async () => {
        const { app } = t();
        await createUser(app, tenant, 'PERSON_A', 'Person A');
        let res = await postJson(app, '/api/auth/enrollment/create/', tenant, { user_id: 'PERSON_A', session_type: 'webcam', require_multiple_angles: true, quality_threshold: 0.3 });
        assert.equal(res.statusCode, 201, res.body);
        const { session_token, requirements } = res.json();
        assert.deepEqual(requirements.required_angles, ['front', 'left', 'right']);
        const frames = readMjpegFrames(path.join(testDataDir(), 'video/fakecam/personA_live_headturn_640x360_15fps.mjpeg'));
        let last: { status: string; progress: { angles_captured: string[] }; feedback: { suggestions: string[] } } | null = null;
        let guided = false;
        for (let i = 0; i < frames.length; i += 6) {
          res = await postForm(app, '/api/auth/enrollment/process-frame/', tenant, [{ name: 'frame', value: frames[i] }], session_token);
          assert.equal(res.statusCode, 200, res.body);
          last = res.json();
          if (last!.feedback.suggestions.some((s) => s === 'turn_left' || s === 'turn_right')) guided = true;
          if (last!.status === 'ready') break;
        }
        assert.ok(guided, 'turn-by-turn guidance toward a missing angle');
        assert.equal(last?.status, 'ready', JSON.stringify(last));
        assert.deepEqual([...last!.progress.angles_captured].sort(), ['front', 'left', 'right']);
        res = await postJson(app, '/api/auth/enrollment/complete/', tenant, {}, session_token);
        assert.equal(res.statusCode, 201, res.body);
        assert.deepEqual([...res.json().quality_metrics.angles_captured].sort(), ['front', 'left', 'right']);
        assert.equal(res.json().quality_metrics.face_count, 3);
      });
    }
  });
}
