import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, dataFile, postForm, postJson, type Tenant } from '../helpers/face-fixtures.ts';
import type { FallbackTables } from '../../src/db/repositories/fallbacks.repository.ts';
import type { ReviewTables } from '../../src/db/repositories/reviews.repository.ts';
import type { FallbackGuessTables } from '../../src/db/repositories/fallback-guesses.repository.ts';
import type { FastifyInstance } from 'fastify';

const OBAMA = 'faces_extra/face_recognition/obama/obama_01.jpg';
const OBAMA2 = 'faces_extra/face_recognition/obama/obama_02.jpg';
const NO_FACE = 'no_face/skimage_brick.png';

function put(app: FastifyInstance, t: Tenant, url: string, body: unknown) {
  return app.inject({ method: 'PUT', url, payload: body as object, headers: { 'content-type': 'application/json', authorization: t.auth } });
}
function get(app: FastifyInstance, t: Tenant, url: string) {
  return app.inject({ method: 'GET', url, headers: { authorization: t.auth } });
}
function del(app: FastifyInstance, t: Tenant, url: string) {
  return app.inject({ method: 'DELETE', url, headers: { authorization: t.auth } });
}

for (const backend of backendNames()) {
  describe(`fallbacks [${backend}]`, () => {
    const t = useTestApp(backend, { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
    const db = () => t().container.database.db.withTables<FallbackTables & ReviewTables>();
    let tenant: Tenant;
    let other: Tenant;

    const auth = (body: Record<string, unknown>, as: Tenant = tenant) => postJson(t().app, '/api/auth/authentication/fallback/', as, body);
    const events = async (type: string) =>
      (await db().selectFrom('events').select('payload').where('client_id', '=', tenant.clientId).where('event_type', '=', type).orderBy('created_at').execute()).map(
        (e) => e.payload as Record<string, unknown>,
      );

    test('a PIN is validated and stored only as a salted scrypt hash, never returned', async () => {
      const { app } = t();
      tenant = await createTenant(app, 'Fallbacks');
      other = await createTenant(app, 'Other tenant');
      const id = await createUser(app, tenant, 'EMP001', 'John Doe');
      let res = await get(app, tenant, '/api/clients/users/EMP001/fallback/');
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().is_set, false);
      for (const [type, secret] of [['pin', '12a4'], ['pin', '123'], ['pin', '1234567890123'], ['password', 'short']]) {
        res = await put(app, tenant, '/api/clients/users/EMP001/fallback/', { type, secret });
        assert.equal(res.statusCode, 400, `${type} ${secret}`);
        assert.equal(res.json().code, 'VALIDATION_ERROR');
        assert.equal(res.json().details.field, 'secret');
      }
      res = await put(app, tenant, '/api/clients/users/EMP001/fallback', { type: 'pin', secret: '4821' });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().is_set, true);
      assert.equal(res.json().type, 'pin');
      assert.doesNotMatch(res.body, /4821|scrypt/);
      const rows = await db().selectFrom('fallback_credentials').select(['secret_hash', 'kind']).where('user_id', '=', id).execute();
      assert.equal(rows.length, 1);
      assert.match(rows[0].secret_hash, /^scrypt\$1\$16384\$8\$1\$/);
      assert.ok(!rows[0].secret_hash.includes('4821'));
      // Salted: the same PIN set again hashes differently.
      await put(app, tenant, '/api/clients/users/EMP001/fallback/', { type: 'pin', secret: '4821' });
      const again = await db().selectFrom('fallback_credentials').select('secret_hash').where('user_id', '=', id).executeTakeFirstOrThrow();
      assert.notEqual(again.secret_hash, rows[0].secret_hash);
      res = await get(app, tenant, `/api/clients/users/${id}/fallback/`);
      assert.equal(res.json().type, 'pin');
      assert.equal(res.json().user_id, 'EMP001');
    });

    test('the right PIN authenticates: verification result with method, attempt row, success event, last_authentication', async () => {
      const { app } = t();
      const res = await auth({ user_id: 'EMP001', pin: '4821' });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      assert.equal(body.status, 'completed');
      assert.equal(body.result.authenticated, true);
      assert.equal(body.result.user_id, 'EMP001');
      assert.equal(body.result.user_name, 'John Doe');
      assert.equal(body.result.method, 'pin');
      const attempts = await db().selectFrom('auth_attempts').select(['mode', 'method', 'outcome']).where('client_id', '=', tenant.clientId).execute();
      assert.deepEqual(attempts, [{ mode: 'fallback', method: 'pin', outcome: 'success' }]);
      const ok = await events('authentication.success');
      assert.equal(ok.length, 1);
      assert.equal(ok[0].method, 'pin');
      assert.equal(ok[0].user_id, 'EMP001');
      // The guide's event handler reads data.timestamp.
      assert.equal(ok[0].timestamp, ok[0].authentication_time);
      const user = await get(app, tenant, '/api/clients/users/EMP001/');
      assert.ok(user.json().last_authentication, 'last_authentication is set');
    });

    test('a wrong PIN is 401 INVALID_FALLBACK_CREDENTIAL with a failed attempt and authentication.failed', async () => {
      const res = await auth({ user_id: 'EMP001', pin: '0000' });
      assert.equal(res.statusCode, 401, res.body);
      assert.equal(res.json().code, 'INVALID_FALLBACK_CREDENTIAL');
      assert.equal(res.json().details.attempts_remaining, 4);
      const failed = await events('authentication.failed');
      assert.equal(failed.length, 1);
      assert.equal(failed[0].method, 'pin');
      assert.equal(failed[0].failure_reason, 'INVALID_FALLBACK_CREDENTIAL');
      assert.equal(failed[0].user_id, 'EMP001');
      const rows = await db().selectFrom('auth_attempts').select(['method', 'failure_reason']).where('client_id', '=', tenant.clientId).where('outcome', '=', 'failed').execute();
      assert.deepEqual(rows, [{ method: 'pin', failure_reason: 'INVALID_FALLBACK_CREDENTIAL' }]);
      // A success ends the series.
      assert.equal((await auth({ user_id: 'EMP001', pin: '4821' })).statusCode, 200);
      assert.equal((await get(t().app, tenant, '/api/clients/users/EMP001/fallback/')).json().failed_attempts, 0);
    });

    test('five wrong PINs in a row lock the credential (423 FALLBACK_LOCKED, Retry-After) until the lock expires or is cleared', async () => {
      const { app } = t();
      const id = await createUser(app, tenant, 'LOCK1', 'Locked Out');
      await put(app, tenant, '/api/clients/users/LOCK1/fallback/', { type: 'pin', secret: '246810' });
      for (let i = 1; i <= 5; i++) {
        const res = await auth({ user_id: 'LOCK1', pin: '111111' });
        assert.equal(res.statusCode, 401, res.body);
        assert.equal(res.json().details.attempts_remaining, 5 - i);
        if (i === 5) assert.ok(res.json().details.locked_until);
      }
      let res = await auth({ user_id: 'LOCK1', pin: '246810' });
      assert.equal(res.statusCode, 423, res.body);
      assert.equal(res.json().code, 'FALLBACK_LOCKED');
      assert.ok(Number(res.headers['retry-after']) > 0);
      assert.ok(Date.parse(res.json().details.locked_until) > Date.now());
      const state = (await get(app, tenant, '/api/clients/users/LOCK1/fallback/')).json();
      assert.equal(state.locked, true);
      const sec = await db().selectFrom('audit_logs').select(['action']).where('client_id', '=', tenant.clientId).where('category', '=', 'security').where('target', '=', id).execute();
      assert.deepEqual(sec.map((s) => s.action), ['fallback.locked']);
      const locked = await db().selectFrom('auth_attempts').select('failure_reason').where('user_id', '=', id).where('failure_reason', '=', 'FALLBACK_LOCKED').execute();
      assert.equal(locked.length, 1);
      // The lock runs out: the right PIN works again.
      await db().updateTable('fallback_credentials').set({ locked_until: new Date(Date.now() - 1000) }).where('user_id', '=', id).execute();
      res = await auth({ user_id: 'LOCK1', pin: '246810' });
      assert.equal(res.statusCode, 200, res.body);
      // Lock again, then clear it through the API.
      for (let i = 0; i < 5; i++) await auth({ user_id: 'LOCK1', pin: '111111' });
      assert.equal((await auth({ user_id: 'LOCK1', pin: '246810' })).statusCode, 423);
      res = await postJson(app, '/api/clients/users/LOCK1/fallback/unlock/', tenant, {});
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().locked, false);
      assert.equal((await auth({ user_id: 'LOCK1', pin: '246810' })).statusCode, 200);
    });

    test('each lock-out in a row lasts twice the one before (up to a day), so a PIN cannot be guessed at a flat 5 tries per 15 minutes', async () => {
      const { app } = t();
      const id = await createUser(app, tenant, 'LOCK2', 'Guessed At');
      await put(app, tenant, '/api/clients/users/LOCK2/fallback/', { type: 'pin', secret: '9731' });
      // The lock runs out. The day's cap of wrong guesses (fallback-daily-cap.test.ts) is emptied as well, so this
      // test sees the doubling alone: 45 guesses here would otherwise stop at the cap of 10.
      const expire = () =>
        db()
          .withTables<FallbackGuessTables>()
          .updateTable('fallback_credentials')
          .set({ locked_until: new Date(Date.now() - 1000), recent_failures: '[]' })
          .where('user_id', '=', id)
          .execute();
      const lockMinutes: number[] = [];
      for (let series = 0; series < 9; series++) {
        let last = await auth({ user_id: 'LOCK2', pin: '0000' });
        for (let i = 1; i < 5; i++) last = await auth({ user_id: 'LOCK2', pin: String(1000 + series * 5 + i) });
        assert.equal(last.statusCode, 401, last.body);
        lockMinutes.push(Math.round((Date.parse(last.json().details.locked_until) - Date.now()) / 60_000));
        assert.equal((await auth({ user_id: 'LOCK2', pin: '9731' })).statusCode, 423, 'locked, even for the right PIN');
        await expire(); // the lock runs out; the attacker goes on
      }
      assert.deepEqual(lockMinutes, [15, 30, 60, 120, 240, 480, 960, 1440, 1440]);
      // The right PIN ends the series: the next lock-out is short again.
      assert.equal((await auth({ user_id: 'LOCK2', pin: '9731' })).statusCode, 200);
      let last = await auth({ user_id: 'LOCK2', pin: '0000' });
      for (let i = 1; i < 5; i++) last = await auth({ user_id: 'LOCK2', pin: '0000' });
      assert.equal(Math.round((Date.parse(last.json().details.locked_until) - Date.now()) / 60_000), 15);
    });

    test('password fallback; the other kind of secret or none at all is refused', async () => {
      const { app } = t();
      await createUser(app, tenant, 'PW1', 'Pass Word');
      let res = await auth({ user_id: 'PW1', password: 'correct horse' });
      assert.equal(res.statusCode, 422, res.body);
      assert.equal(res.json().code, 'FALLBACK_NOT_SET');
      await put(app, tenant, '/api/clients/users/PW1/fallback/', { type: 'password', secret: 'correct horse' });
      res = await auth({ user_id: 'PW1', password: 'correct horse' });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().result.method, 'password');
      res = await auth({ user_id: 'PW1', pin: '1234' });
      assert.equal(res.statusCode, 401);
      res = await auth({ user_id: 'PW1', pin: '1234', password: 'correct horse' });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().code, 'VALIDATION_ERROR');
      res = await del(app, tenant, '/api/clients/users/PW1/fallback/');
      assert.equal(res.statusCode, 204);
      res = await auth({ user_id: 'PW1', password: 'correct horse' });
      assert.equal(res.json().code, 'FALLBACK_NOT_SET');
    });

    test('a deactivated user is refused with USER_INACTIVE and the attempt is recorded', async () => {
      const { app } = t();
      const id = await createUser(app, tenant, 'OFF1', 'Gone Away');
      await put(app, tenant, '/api/clients/users/OFF1/fallback/', { type: 'pin', secret: '8317' });
      await postJson(app, '/api/clients/users/OFF1/deactivate/', tenant, {});
      const res = await auth({ user_id: 'OFF1', pin: '8317' });
      assert.equal(res.statusCode, 409, res.body);
      assert.equal(res.json().code, 'USER_INACTIVE');
      const rows = await db().selectFrom('auth_attempts').select(['outcome', 'failure_reason', 'method']).where('user_id', '=', id).execute();
      assert.deepEqual(rows, [{ outcome: 'failed', failure_reason: 'USER_INACTIVE', method: 'pin' }]);
    });

    test("another tenant's user answers 404 like an unknown one", async () => {
      const { app } = t();
      const [{ id }] = await db().selectFrom('users').select('id').where('client_id', '=', tenant.clientId).where('external_id', '=', 'EMP001').execute();
      for (const ref of ['EMP001', id, 'NOBODY']) {
        let res = await auth({ user_id: ref, pin: '4821' }, other);
        assert.equal(res.statusCode, 404, res.body);
        assert.equal(res.json().code, 'USER_NOT_FOUND');
        res = await put(app, other, `/api/clients/users/${ref}/fallback/`, { type: 'pin', secret: '1111' });
        assert.equal(res.statusCode, 404);
        res = await get(app, other, `/api/clients/users/${ref}/fallback/`);
        assert.equal(res.statusCode, 404);
        res = await del(app, other, `/api/clients/users/${ref}/fallback/`);
        assert.equal(res.statusCode, 404);
        res = await postJson(app, `/api/clients/users/${ref}/fallback/unlock/`, other, {}); // the support desk's reset
        assert.equal(res.statusCode, 404);
        assert.equal(res.json().code, 'USER_NOT_FOUND');
      }
      // Untouched: the owner's PIN still works.
      assert.equal((await auth({ user_id: 'EMP001', pin: '4821' })).statusCode, 200);
    });

    test('the export says whether a fallback is set (never the hash); deleting the user deletes the credential', async () => {
      const { app } = t();
      const [{ id }] = await db().selectFrom('users').select('id').where('client_id', '=', tenant.clientId).where('external_id', '=', 'EMP001').execute();
      let res = await get(app, tenant, '/api/clients/users/EMP001/export/');
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().fallback_credential.is_set, true);
      assert.equal(res.json().fallback_credential.type, 'pin');
      assert.doesNotMatch(res.body, /scrypt/);
      res = await del(app, tenant, '/api/clients/users/EMP001/');
      assert.equal(res.statusCode, 204);
      const left = await db().selectFrom('fallback_credentials').select('user_id').where('user_id', '=', id).execute();
      assert.equal(left.length, 0);
    });

    // ---- manual review ----
    let noFaceReview: string;
    let faceReview: string;

    test('reviews are submitted with photos (a no-face one and a real face), stored encrypted, one pending per user', async () => {
      const { app } = t();
      await createUser(app, tenant, 'REV1', 'No Face');
      await createUser(app, tenant, 'REV2', 'Barack Obama');
      const brick = dataFile(NO_FACE);
      let res = await postForm(app, '/api/auth/enrollment/review/', tenant, [
        { name: 'user_id', value: 'REV1' },
        { name: 'reason', value: 'Enrollment failed repeatedly' },
        { name: 'images', value: brick, filename: 'brick.png', type: 'image/png' },
      ]);
      assert.equal(res.statusCode, 201, res.body);
      noFaceReview = res.json().id;
      assert.equal(res.json().status, 'pending');
      assert.equal(res.json().user_id, 'REV1');
      assert.equal(res.json().photos.length, 1);
      assert.equal(res.json().photos[0].face_detected, false);
      res = await postForm(app, '/api/auth/enrollment/review/', tenant, [
        { name: 'user_id', value: 'REV2' },
        { name: 'reason', value: 'Low-light camera at the gate' },
        { name: 'quality_threshold', value: '0.2' },
        { name: 'images', value: dataFile(OBAMA), filename: 'a.jpg' },
      ]);
      assert.equal(res.statusCode, 201, res.body);
      faceReview = res.json().id;
      assert.equal(res.json().photos[0].face_detected, true);
      assert.equal(res.json().quality_threshold, 0.2);
      const photos = await db().selectFrom('review_photos').select(['ciphertext', 'review_id']).where('client_id', '=', tenant.clientId).execute();
      assert.equal(photos.length, 2);
      const stored = Buffer.from(photos.find((p) => p.review_id === noFaceReview)!.ciphertext);
      assert.equal(stored.indexOf(brick.subarray(0, 32)), -1, 'no plaintext image bytes in the database');
      res = await postForm(app, '/api/auth/enrollment/review/', tenant, [
        { name: 'user_id', value: 'REV1' },
        { name: 'reason', value: 'again' },
        { name: 'images', value: brick, filename: 'brick.png', type: 'image/png' },
      ]);
      assert.equal(res.statusCode, 409);
      assert.equal(res.json().code, 'REVIEW_ALREADY_PENDING');
      assert.equal(res.json().details.review_id, noFaceReview);
      res = await postForm(app, '/api/auth/enrollment/review/', tenant, [{ name: 'user_id', value: 'REV1' }, { name: 'reason', value: 'no photos' }]);
      assert.equal(res.statusCode, 400);
    });

    test('the queue lists and filters; a photo is decrypted only through its audited endpoint; other tenants get 404', async () => {
      const { app } = t();
      let res = await get(app, tenant, '/api/reviews/?status=pending&page=1&page_size=10');
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().count, 2);
      assert.deepEqual(res.json().results.map((r: { id: string }) => r.id), [noFaceReview, faceReview]);
      res = await get(app, tenant, '/api/reviews?status=approved');
      assert.equal(res.json().count, 0);
      res = await get(app, tenant, '/api/reviews/?user_id=REV2');
      assert.deepEqual(res.json().results.map((r: { id: string }) => r.id), [faceReview]);
      res = await get(app, tenant, `/api/reviews/${noFaceReview}/`);
      assert.equal(res.statusCode, 200);
      const photoId = res.json().photos[0].id;
      res = await get(app, tenant, `/api/reviews/${noFaceReview}/photos/${photoId}/`);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], 'image/png');
      assert.ok(res.rawPayload.equals(dataFile(NO_FACE)), 'the submitted bytes, decrypted');
      const audit = await db().selectFrom('audit_logs').select(['details']).where('client_id', '=', tenant.clientId).where('action', '=', 'review.photo_viewed').execute();
      assert.equal(audit.length, 1);
      assert.equal((audit[0].details as { photo_id: string }).photo_id, photoId);
      for (const url of [`/api/reviews/${noFaceReview}/`, `/api/reviews/${noFaceReview}/photos/${photoId}/`]) {
        res = await get(app, other, url);
        assert.equal(res.statusCode, 404);
        assert.equal(res.json().code, 'REVIEW_NOT_FOUND');
      }
      res = await postJson(app, `/api/reviews/${faceReview}/approve/`, other, {});
      assert.equal(res.json().code, 'REVIEW_NOT_FOUND');
      assert.equal((await get(app, other, '/api/reviews/')).json().count, 0);
    });

    test('approving the real face enrolls the user (method manual_review), deletes the photos, and face verification works', async () => {
      const { app } = t();
      let res = await postJson(app, `/api/reviews/${faceReview}/approve/`, tenant, { notes: 'Checked the ID card at the desk' });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      assert.equal(body.status, 'approved');
      assert.equal(body.outcome, 'enrolled');
      assert.ok(body.enrollment.enrollment_id);
      assert.equal(body.enrollment_id, body.enrollment.enrollment_id);
      assert.equal(body.photos_deleted, true);
      assert.deepEqual(body.photos, []);
      assert.equal(body.decision_notes, 'Checked the ID card at the desk');
      const left = await db().selectFrom('review_photos').select('id').where('review_id', '=', faceReview).execute();
      assert.equal(left.length, 0);
      const completed = await events('enrollment.completed');
      assert.equal(completed.length, 1);
      assert.equal(completed[0].method, 'manual_review');
      assert.equal(completed[0].user_id, 'REV2');
      assert.equal(completed[0].enrollment_id, body.enrollment.enrollment_id);
      res = await get(app, tenant, '/api/auth/enrollments/?user_id=REV2');
      assert.equal(res.json().count, 1);
      assert.equal(res.json().enrollments[0].source, 'manual_review');
      res = await postForm(app, '/api/auth/authentication/verify/', tenant, [{ name: 'user_id', value: 'REV2' }, { name: 'image', value: dataFile(OBAMA2) }]);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().result.authenticated, true);
      const audit = await db().selectFrom('audit_logs').select('action').where('client_id', '=', tenant.clientId).where('action', '=', 'review.approved').execute();
      assert.equal(audit.length, 1);
      res = await postJson(app, `/api/reviews/${faceReview}/approve/`, tenant, {});
      assert.equal(res.statusCode, 409);
      assert.equal(res.json().code, 'REVIEW_ALREADY_DECIDED');
    });

    test('rejecting sets the status, deletes the photos and emits enrollment.failed', async () => {
      const { app } = t();
      const photoId = (await get(app, tenant, `/api/reviews/${noFaceReview}/`)).json().photos[0].id;
      let res = await postJson(app, `/api/reviews/${noFaceReview}/reject/`, tenant, { reason: 'The photo shows no person' });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().status, 'rejected');
      assert.equal(res.json().rejection_reason, 'The photo shows no person');
      assert.equal(res.json().photos_deleted, true);
      const left = await db().selectFrom('review_photos').select('id').where('review_id', '=', noFaceReview).execute();
      assert.equal(left.length, 0);
      res = await get(app, tenant, `/api/reviews/${noFaceReview}/photos/${photoId}/`);
      assert.equal(res.statusCode, 404);
      const failed = (await events('enrollment.failed')).filter((e) => e.review_id === noFaceReview);
      assert.equal(failed.length, 1);
      assert.equal(failed[0].method, 'manual_review');
      assert.equal(failed[0].error_code, 'MANUAL_REVIEW_REJECTED');
      assert.equal(failed[0].user_id, 'REV1');
      res = await get(app, tenant, '/api/reviews/?status=rejected');
      assert.deepEqual(res.json().results.map((r: { id: string }) => r.id), [noFaceReview]);
      res = await postJson(app, `/api/reviews/${noFaceReview}/reject/`, tenant, { reason: 'twice' });
      assert.equal(res.json().code, 'REVIEW_ALREADY_DECIDED');
    });

    test('approving photos without a usable face records the user as manually verified (JSON submission)', async () => {
      const { app } = t();
      const id = await createUser(app, tenant, 'REV3', 'Assisted');
      let res = await postJson(app, '/api/auth/enrollment/review/', tenant, {
        user_id: 'REV3',
        reason: 'Facial difference: automatic enrollment cannot find the face',
        images: [`data:image/png;base64,${dataFile(NO_FACE).toString('base64')}`],
      });
      assert.equal(res.statusCode, 201, res.body);
      res = await postJson(app, `/api/reviews/${res.json().id}/approve/`, tenant, {});
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().outcome, 'manually_verified');
      assert.equal(res.json().enrollment, null);
      assert.equal(res.json().photos_analyzed[0].reason, 'NO_FACE_DETECTED');
      const enrollments = await db().selectFrom('enrollments').select('id').where('user_id', '=', id).execute();
      assert.equal(enrollments.length, 0);
      const ev = (await events('enrollment.completed')).filter((e) => e.user_id === 'REV3');
      assert.equal(ev.length, 1);
      assert.equal(ev[0].method, 'manual_review');
      assert.equal(ev[0].outcome, 'manually_verified');
      assert.equal(ev[0].enrollment_id, null);
      res = await get(app, tenant, '/api/clients/users/REV3/export/');
      assert.equal(res.json().manual_reviews.length, 1);
      assert.equal(res.json().manual_reviews[0].outcome, 'manually_verified');
    });

    test('a photo is stored and served as the image its bytes are, never as the type the submitter declared', async () => {
      // The attack: a JPEG with HTML appended, declared text/html, came back as text/html (no nosniff)
      // from the origin that also serves the sign-in pages.
      const { app } = t();
      await createUser(app, tenant, 'REV4', 'Polyglot');
      const poly = Buffer.concat([dataFile(OBAMA), Buffer.from('<html><script>alert(document.domain)</script></html>')]);
      const html = await postJson(app, '/api/auth/enrollment/review/', tenant, { user_id: 'REV4', reason: 'x', images: [`data:text/html;base64,${Buffer.from('<html><script>alert(1)</script></html>').toString('base64')}`] });
      assert.equal(html.statusCode, 415, html.body);
      assert.equal(html.json().code, 'UNSUPPORTED_MEDIA_TYPE');
      const res = await postJson(app, '/api/auth/enrollment/review/', tenant, { user_id: 'REV4', reason: 'x', images: [`data:text/html;base64,${poly.toString('base64')}`] });
      assert.equal(res.statusCode, 201, res.body);
      const photo = await get(app, tenant, `/api/reviews/${res.json().id}/photos/${res.json().photos[0].id}/`);
      assert.equal(photo.statusCode, 200);
      assert.equal(photo.headers['content-type'], 'image/jpeg');
      assert.equal(photo.headers['x-content-type-options'], 'nosniff');
    });

    test('the new routes are in the OpenAPI document', async () => {
      const paths = (await t().app.inject({ method: 'GET', url: '/api/openapi.json' })).json().paths;
      for (const p of [
        '/api/v1/clients/users/{user_id}/fallback/',
        '/api/v1/clients/users/{user_id}/fallback/unlock/',
        '/api/v1/auth/authentication/fallback/',
        '/api/v1/auth/enrollment/review/',
        '/api/v1/reviews/',
        '/api/v1/reviews/{review_id}/',
        '/api/v1/reviews/{review_id}/photos/{photo_id}/',
        '/api/v1/reviews/{review_id}/approve/',
        '/api/v1/reviews/{review_id}/reject/',
      ]) {
        assert.ok(paths[p], p);
      }
    });
  });
}
