// The seal of a stored face template (and of a manual-review photo) is bound to its user (AAD version 2), and
// so is an opted-in enrollment photo's, with its enrollment (version 3): a photo row moved to Biden in SQL was
// listed in Biden's export and served as his CompreFace example image.
// Someone with write access to the database but without the master key moved Obama's template row to Biden
// (`UPDATE face_templates SET user_id = biden`): Obama's photo then verified as Biden, identification returned
// Biden and Biden's export handed out Obama's embedding. A ciphertext copied between rows gave a 500 on every
// verify of that user. Now a moved or copied row does not open: it is left out (an integrity warning, counted),
// and a user none of whose templates opens gets NOT_ENROLLED. Rows sealed in the old form are re-sealed once
// (upgradeSealingAad, run at start), still verify afterwards, and the old form is refused from then on.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { backendNames } from '../helpers/backends.ts';
import { ADMIN_TOKEN, useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, dataFile, postForm, postJson, type Tenant } from '../helpers/face-fixtures.ts';
import {
  legacyPhotoAad,
  legacyReviewPhotoAad,
  legacyTemplateAad,
  photoAad,
  SEALING_AAD_SETTING,
  SEALING_AAD_VERSION,
  TemplateCipher,
  templateAad,
} from '../../src/crypto/template-cipher.ts';
import { upgradeSealingAad } from '../../src/services/master-key-rotation.service.ts';
import { TemplateVault } from '../../src/services/templates.service.ts';

const FR = 'faces_extra/face_recognition';
const OBAMA = [`${FR}/obama/obama_01.jpg`, `${FR}/obama/obama_02.jpg`];
const BIDEN = [`${FR}/biden/biden_01.jpg`, `${FR}/biden/biden_02.jpg`];
const KEY = Buffer.from(TEST_MASTER_KEY, 'hex');
const silent = { warn: () => {} };

for (const backend of backendNames()) {
  describe(`sealed templates are bound to their user [${backend}]`, () => {
    const t = useTestApp(backend, { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
    const db = () => t().container.database.db;
    const verify = (tenant: Tenant, user: string, file: string) => postForm(t().app, '/api/auth/authentication/verify/', tenant, [{ name: 'user_id', value: user }, { name: 'image', value: dataFile(file) }]);
    const identify = async (tenant: Tenant, file: string) => {
      const res = await postForm(t().app, '/api/auth/authentication/identify/', tenant, [{ name: 'image', value: dataFile(file) }]);
      assert.equal(res.statusCode, 200, res.body);
      return (res.json().result.matches as Array<{ user_id: string }>).map((m) => m.user_id);
    };
    const enroll = async (tenant: Tenant, user: string, file: string): Promise<string> => {
      const res = await postForm(t().app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: user }, { name: 'image', value: dataFile(file) }, { name: 'quality_threshold', value: '0.2' }]);
      assert.equal(res.statusCode, 201, res.body);
      return res.json().enrollment_id as string;
    };
    const userId = async (tenant: Tenant, ext: string) =>
      (await db().selectFrom('users').select('id').where('client_id', '=', tenant.clientId).where('external_id', '=', ext).executeTakeFirstOrThrow()).id;
    /** Obama and Biden, each enrolled with their first photo. */
    const pair = async (name: string) => {
      const tenant = await createTenant(t().app, name);
      for (const [ext, file] of [['OBAMA', OBAMA[0]], ['BIDEN', BIDEN[0]]] as const) {
        await createUser(t().app, tenant, ext);
        await enroll(tenant, ext, file);
      }
      return { tenant, obama: await userId(tenant, 'OBAMA'), biden: await userId(tenant, 'BIDEN') };
    };

    test("a template row moved to another user (user_id rewritten in SQL) does not verify, identify or export as that user", async () => {
      const { tenant, obama, biden } = await pair('Sealing move');
      let res = await verify(tenant, 'BIDEN', OBAMA[1]);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().result.authenticated, false, "before: Obama's photo is not Biden");
      const failures = t().container.face.vault.integrityFailures;

      // The attacker: database write access, no master key.
      await sql`DELETE FROM face_templates WHERE client_id = ${tenant.clientId} AND user_id = ${biden}`.execute(db());
      await sql`UPDATE face_templates SET user_id = ${biden} WHERE client_id = ${tenant.clientId} AND user_id = ${obama}`.execute(db());
      t().container.face.gallery.registry.invalidate(tenant.clientId); // as after a restart: the index is loaded from the rows

      res = await verify(tenant, 'BIDEN', OBAMA[1]);
      assert.notEqual(res.statusCode, 500, res.body);
      assert.ok(!(res.statusCode === 200 && res.json().result?.authenticated), `Obama's photo verified as Biden: ${res.body}`);
      assert.equal(res.statusCode, 422, res.body);
      assert.equal(res.json().code, 'NOT_ENROLLED', res.body);
      assert.equal(res.json().details?.reason, 'template_integrity', res.body);
      assert.ok(!(await identify(tenant, OBAMA[1])).includes('BIDEN'), "identification returned Biden for Obama's photo");
      res = await t().app.inject({ method: 'GET', url: '/api/clients/users/BIDEN/export/', headers: { authorization: tenant.auth } });
      assert.ok(!res.body.includes('"embedding"'), `the export handed out the moved embedding as Biden's: ${res.statusCode}`);
      assert.notEqual(res.statusCode, 500, res.body);
      assert.ok(t().container.face.vault.integrityFailures > failures, 'the integrity failures are counted');
    });

    test('a ciphertext copied from another row is a coded NOT_ENROLLED on every verify, not a 500', async () => {
      const { tenant, obama, biden } = await pair('Sealing copy');
      await sql`UPDATE face_templates SET ciphertext = (SELECT ciphertext FROM face_templates WHERE user_id = ${obama} LIMIT 1) WHERE user_id = ${biden}`.execute(db());
      for (const file of [BIDEN[1], OBAMA[1]]) {
        const res = await verify(tenant, 'BIDEN', file);
        assert.equal(res.statusCode, 422, res.body);
        assert.equal(res.json().code, 'NOT_ENROLLED', res.body);
      }
      // Obama's own row is untouched and still verifies.
      const res = await verify(tenant, 'OBAMA', OBAMA[1]);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().result.authenticated, true, res.body);
    });

    test('one tampered template among good ones is left out: the user still verifies with the others', async () => {
      const { tenant, obama, biden } = await pair('Sealing one bad');
      await enroll(tenant, 'OBAMA', OBAMA[1]);
      const rows = await db().selectFrom('face_templates').select('id').where('user_id', '=', obama).orderBy('created_at').execute();
      assert.ok(rows.length >= 2, 'two enrollments of Obama');
      await sql`UPDATE face_templates SET ciphertext = (SELECT ciphertext FROM face_templates WHERE user_id = ${biden} LIMIT 1) WHERE id = ${rows[0]!.id}`.execute(db());
      const res = await verify(tenant, 'OBAMA', OBAMA[1]);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().result.authenticated, true, res.body);
    });

    test("a review moved to another user: its photo does not open as that user's (coded, not enrolled)", async () => {
      const tenant = await createTenant(t().app, 'Sealing review');
      await createUser(t().app, tenant, 'OBAMA');
      await createUser(t().app, tenant, 'BIDEN');
      let res = await postForm(t().app, '/api/auth/enrollment/review/', tenant, [
        { name: 'user_id', value: 'OBAMA' },
        { name: 'reason', value: 'cannot enroll at the kiosk' },
        { name: 'images', value: dataFile(OBAMA[0]), filename: 'a.jpg', type: 'image/jpeg' },
      ]);
      assert.equal(res.statusCode, 201, res.body);
      const review = res.json().id as string;
      const photo = res.json().photos[0].id as string;
      await sql`UPDATE review_requests SET user_id = ${await userId(tenant, 'BIDEN')} WHERE id = ${review}`.execute(db());
      res = await t().app.inject({ method: 'GET', url: `/api/reviews/${review}/photos/${photo}/`, headers: { authorization: tenant.auth } });
      assert.equal(res.statusCode, 404, `Obama's review photo served for Biden's review: ${res.statusCode}`);
      assert.equal(res.json().details?.reason, 'photo_integrity', res.body);
      res = await postJson(t().app, `/api/reviews/${review}/approve/`, tenant, {});
      assert.notEqual(res.statusCode, 500, res.body);
      assert.notEqual(res.statusCode, 200, `Obama's face enrolled for Biden: ${res.body}`);
      const enrolled = await db().selectFrom('face_templates').select('id').where('client_id', '=', tenant.clientId).execute();
      assert.equal(enrolled.length, 0, res.body);
    });

    test("an enrollment photo moved to another user or example is neither exported nor served as theirs; a subject merge carries it along", async () => {
      const tenant = await createTenant(t().app, 'Sealing photos');
      const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
      let res = await t().app.inject({ method: 'PATCH', url: `/api/admin/clients/${tenant.clientId}/`, headers: admin, payload: { settings: { store_photos: true } } });
      assert.equal(res.statusCode, 200, res.body);
      res = await t().app.inject({ method: 'POST', url: `/api/admin/clients/${tenant.clientId}/compreface-keys/`, headers: admin, payload: { service: 'recognition' } });
      assert.equal(res.statusCode, 201, res.body);
      const cf = { 'x-api-key': res.json().api_key as string };
      const image = (enrollmentId: string) => t().app.inject({ method: 'GET', url: `/api/v1/recognition/faces/${enrollmentId}/img`, headers: cf });
      const exported = async (ext: string) => {
        const r = await t().app.inject({ method: 'GET', url: `/api/clients/users/${ext}/export/`, headers: { authorization: tenant.auth } });
        assert.equal(r.statusCode, 200, r.body);
        return (r.json().face_photos as Array<{ id: string }>).map((p) => p.id);
      };
      const enrolled: Record<string, string> = {};
      for (const [ext, file] of [['OBAMA', OBAMA[0]], ['BIDEN', BIDEN[0]]] as const) {
        await createUser(t().app, tenant, ext);
        enrolled[ext] = await enroll(tenant, ext, file);
      }
      const photoRow = (enrollmentId: string) =>
        db().selectFrom('face_photos').select(['id', 'user_id', 'enrollment_id', 'created_at', 'ciphertext']).where('enrollment_id', '=', enrollmentId).executeTakeFirstOrThrow();
      const obamaPhoto = await photoRow(enrolled.OBAMA!);
      const bidenPhoto = await photoRow(enrolled.BIDEN!);
      assert.deepEqual(await exported('BIDEN'), [bidenPhoto.id]);
      const failures = t().container.face.vault.integrityFailures;

      // The attacker (database write access, no master key) moves Obama's photo row to Biden, into Biden's
      // example and dated before Biden's own photo.
      await sql`UPDATE face_photos SET user_id = ${bidenPhoto.user_id}, enrollment_id = ${enrolled.BIDEN!}, created_at = created_at - interval '1 day' WHERE id = ${obamaPhoto.id}`.execute(db());
      assert.deepEqual(await exported('BIDEN'), [bidenPhoto.id], "Biden's export lists Obama's photo as his");
      res = await image(enrolled.BIDEN!);
      assert.equal(res.statusCode, 200, res.body);
      assert.ok(res.rawPayload.equals(dataFile(BIDEN[0])), "Obama's photo was served as Biden's example image");
      // A ciphertext copied over Biden's own row: nothing of Biden's example opens, a coded 404, never a 500.
      await sql`UPDATE face_photos SET ciphertext = ${Buffer.from(obamaPhoto.ciphertext)} WHERE id = ${bidenPhoto.id}`.execute(db());
      assert.deepEqual(await exported('BIDEN'), []);
      res = await image(enrolled.BIDEN!);
      assert.equal(res.statusCode, 404, res.body);
      assert.equal(res.headers['x-wajah-error-code'], 'EXAMPLE_IMAGE_NOT_STORED', res.body);
      assert.ok(t().container.face.vault.integrityFailures > failures, 'the integrity failures are counted');

      // Both rows put back as they were: a CompreFace rename of OBAMA into BIDEN merges the subjects, and the
      // moved photo is re-sealed for its new owner (it still exports and downloads).
      for (const p of [obamaPhoto, bidenPhoto]) {
        await db().updateTable('face_photos').set({ user_id: p.user_id, enrollment_id: p.enrollment_id, created_at: p.created_at, ciphertext: p.ciphertext }).where('id', '=', p.id).execute();
      }
      res = await t().app.inject({ method: 'PUT', url: '/api/v1/recognition/subjects/OBAMA', headers: { ...cf, 'content-type': 'application/json' }, payload: { subject: 'BIDEN' } });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual((await exported('BIDEN')).sort(), [obamaPhoto.id, bidenPhoto.id].sort());
      res = await image(enrolled.OBAMA!);
      assert.equal(res.statusCode, 200, res.body);
      assert.ok(res.rawPayload.equals(dataFile(OBAMA[0])));
    });

    test('rows sealed in the old (version 1) form are re-sealed once, still verify, and the old form is refused afterwards', async () => {
      const { tenant, obama, biden } = await pair('Sealing upgrade');
      const cipher = new TemplateCipher(KEY);
      /** Rewrites every template of the tenant in the version 1 form (as a release before this one sealed it). */
      const toLegacy = async () => {
        const rows = await db().selectFrom('face_templates').select(['id', 'client_id', 'user_id', 'model_id', 'ciphertext']).where('client_id', '=', tenant.clientId).execute();
        for (const r of rows) {
          const vec = cipher.decrypt(Buffer.from(r.ciphertext), templateAad(r.client_id, r.user_id, r.id, r.model_id));
          await db().updateTable('face_templates').set({ ciphertext: cipher.encrypt(vec, legacyTemplateAad(r.client_id, r.id, r.model_id)) }).where('id', '=', r.id).execute();
        }
        return rows.length;
      };
      assert.equal(await toLegacy(), 2);
      // A review photo of the old form too.
      const review = await postForm(t().app, '/api/auth/enrollment/review/', tenant, [
        { name: 'user_id', value: 'BIDEN' },
        { name: 'reason', value: 'cannot enroll at the kiosk' },
        { name: 'images', value: dataFile(BIDEN[1]), filename: 'b.jpg', type: 'image/jpeg' },
      ]);
      assert.equal(review.statusCode, 201, review.body);
      const photo = review.json().photos[0].id as string;
      const bytes = (await t().app.inject({ method: 'GET', url: `/api/reviews/${review.json().id}/photos/${photo}/`, headers: { authorization: tenant.auth } })).rawPayload;
      const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4);
      padded.set(bytes);
      await sql`UPDATE review_photos SET ciphertext = ${cipher.encrypt(new Float32Array(padded.buffer), legacyReviewPhotoAad(tenant.clientId, photo))} WHERE id = ${photo}`.execute(db());
      // And an opted-in enrollment photo of Obama's in the form before version 3 (tenant and photo only).
      const obamaEnrollment = (await db().selectFrom('enrollments').select('id').where('user_id', '=', obama).executeTakeFirstOrThrow()).id;
      const facePhoto = crypto.randomUUID();
      const legacyPhoto = (id: string) => cipher.encrypt(new Float32Array(padded.buffer), legacyPhotoAad(tenant.clientId, id));
      await db()
        .insertInto('face_photos')
        .values({ id: facePhoto, client_id: tenant.clientId, user_id: obama, enrollment_id: obamaEnrollment, content_type: 'image/jpeg', ciphertext: legacyPhoto(facePhoto) })
        .execute();
      const facePhotoOpens = async () => {
        const r = await db().selectFrom('face_photos').select(['ciphertext']).where('id', '=', facePhoto).executeTakeFirstOrThrow();
        return Buffer.from(cipher.decrypt(Buffer.from(r.ciphertext), photoAad(tenant.clientId, obama, obamaEnrollment, facePhoto)).buffer).equals(Buffer.from(padded.buffer));
      };
      await sql`DELETE FROM instance_settings WHERE key = ${SEALING_AAD_SETTING}`.execute(db());

      // Interrupted after its first row (a crash): nothing is lost, and the setting is not written.
      await assert.rejects(
        upgradeSealingAad(db(), cipher, silent, {
          onResealed: () => {
            throw new Error('crash');
          },
        }),
        /crash/,
      );
      assert.equal(await setting(), null);
      // Started again, by two instances at once: every remaining row is re-sealed exactly once.
      const runs = await Promise.all([upgradeSealingAad(db(), cipher, silent), upgradeSealingAad(db(), cipher, silent)]);
      const resealed = runs.reduce((n, r) => n + (r ? Object.values(r.resealed).reduce((a, b) => a + b, 0) : 0), 0);
      assert.equal(resealed, 3, 'the three rows left after the first of four, each once');
      assert.equal(await setting(), String(SEALING_AAD_VERSION));
      assert.equal(await upgradeSealingAad(db(), cipher, silent), null, 'done once: a later start reads the setting only');

      for (const [user, file] of [['OBAMA', OBAMA[1]], ['BIDEN', BIDEN[1]]]) {
        const res = await verify(tenant, user, file);
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.json().result.authenticated, true, `${user} after the upgrade: ${res.body}`);
      }
      const rows = await db().selectFrom('face_templates').select(['id', 'client_id', 'user_id', 'model_id', 'ciphertext']).where('client_id', '=', tenant.clientId).execute();
      for (const r of rows) assert.doesNotThrow(() => cipher.decrypt(Buffer.from(r.ciphertext), templateAad(r.client_id, r.user_id, r.id, r.model_id)));
      const res = await t().app.inject({ method: 'GET', url: `/api/reviews/${review.json().id}/photos/${photo}/`, headers: { authorization: tenant.auth } });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.rawPayload, bytes, 'the review photo opens after its upgrade');
      assert.ok(await facePhotoOpens(), 'the enrollment photo is bound to Obama and his enrollment after its upgrade');

      // After the upgrade the old form is refused: a row written in it (e.g. from a pre-upgrade backup,
      // moved to Biden) does not open, and no start re-seals it around.
      await sql`DELETE FROM face_templates WHERE user_id = ${biden}`.execute(db());
      await sql`UPDATE face_templates SET user_id = ${biden} WHERE user_id = ${obama}`.execute(db());
      const [moved] = await db().selectFrom('face_templates').select(['id', 'client_id', 'user_id', 'model_id', 'ciphertext']).where('user_id', '=', biden).execute();
      const vec = cipher.decrypt(Buffer.from(moved.ciphertext), templateAad(moved.client_id, obama, moved.id, moved.model_id));
      await db().updateTable('face_templates').set({ ciphertext: cipher.encrypt(vec, legacyTemplateAad(moved.client_id, moved.id, moved.model_id)) }).where('id', '=', moved.id).execute();
      assert.equal(await upgradeSealingAad(db(), cipher, silent), null);
      let after = await verify(tenant, 'BIDEN', OBAMA[1]);
      assert.equal(after.statusCode, 422, after.body);
      assert.equal(after.json().code, 'NOT_ENROLLED', after.body);

      // An install that upgraded its templates already (setting 2) still upgrades its enrollment photos, and
      // only those: the template in the old form stays refused.
      await db().updateTable('face_photos').set({ ciphertext: legacyPhoto(facePhoto) }).where('id', '=', facePhoto).execute();
      await sql`UPDATE instance_settings SET value = '2' WHERE key = ${SEALING_AAD_SETTING}`.execute(db());
      const v2 = await upgradeSealingAad(db(), cipher, silent);
      assert.deepEqual(v2, { resealed: { face_photos: 1 }, unreadable: 0 });
      assert.equal(await setting(), String(SEALING_AAD_VERSION));
      assert.ok(await facePhotoOpens());
      after = await verify(tenant, 'BIDEN', OBAMA[1]);
      assert.equal(after.json().code, 'NOT_ENROLLED', after.body);
    });

    const setting = async () => (await sql<{ value: string }>`SELECT value FROM instance_settings WHERE key = ${SEALING_AAD_SETTING}`.execute(db())).rows[0]?.value ?? null;
  });
}

describe('TemplateVault integrity failures', () => {
  test('a template that does not open is left out, warned about once per row and counted; none opening is NOT_ENROLLED', () => {
    const warnings: string[] = [];
    const vault = new TemplateVault(new TemplateCipher(KEY), { warn: (m) => warnings.push(m) });
    const vec = new Float32Array([0.6, 0.8]);
    const good = { id: 't1', client_id: 'c', user_id: 'u1', model_id: 'm', ciphertext: vault.sealTemplate('c', 'u1', 't1', 'm', vec) };
    const moved = { id: 't2', client_id: 'c', user_id: 'u1', model_id: 'm', ciphertext: vault.sealTemplate('c', 'u2', 't2', 'm', vec) };
    assert.deepEqual(vault.openUserTemplates([good, moved]), [vec]);
    assert.deepEqual(vault.openUserTemplates([moved, good]), [vec]);
    assert.equal(vault.integrityFailures, 2);
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0], /integrity: template t2/);
    assert.throws(() => vault.openUserTemplates([moved]), (e: { code?: string; statusCode?: number }) => e.code === 'NOT_ENROLLED' && e.statusCode === 422);
    assert.throws(() => vault.openTemplate(moved), (e: { code?: string }) => e.code === 'NOT_ENROLLED');
    assert.equal(warnings.length, 1);
    assert.deepEqual(vault.openUserTemplates([]), []);
  });
});
