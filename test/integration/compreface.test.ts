import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { CompreFace } from '@exadel/compreface-js-sdk';
import { backendNames } from '../helpers/backends.ts';
import { ADMIN_TOKEN, useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, type Tenant } from '../helpers/face-fixtures.ts';
import { testDataDir } from '../../src/config/env.ts';

/**
 * CompreFace's own JavaScript SDK against a real Wajah server on a port (issue 13, docs/compreface.md):
 * every assertion is on what the SDK parsed. The SDK reads files only by a path starting with "." (its
 * isPathRelative), so photos are passed relative to the working directory.
 */
const file = (rel: string) => {
  const r = path.relative(process.cwd(), path.join(testDataDir(), rel));
  return r.startsWith('.') ? r : `./${r}`;
};
const FR = 'faces_extra/face_recognition';

interface Example { image_id: string; subject: string }
interface RecognizedFace {
  box: { probability: number; x_min: number; y_min: number; x_max: number; y_max: number };
  subjects: Array<{ subject: string; similarity: number }>;
  landmarks?: number[][];
  pose?: { pitch: number; roll: number; yaw: number };
  execution_time?: Record<string, number>;
}
type Rejection = { response: { status: number; data: { message: string; code: number }; headers: Record<string, string> } };

async function rejected(p: Promise<unknown>): Promise<Rejection['response']> {
  try {
    await p;
  } catch (e) {
    return (e as Rejection).response;
  }
  assert.fail('the SDK call should have been rejected');
}

if (backendNames().includes('pglite')) {
  describe('CompreFace REST API v1 through the official JavaScript SDK [pglite]', () => {
    const t = useTestApp('pglite', { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
    let tenant: Tenant;
    let base: string;
    let port: number;
    const keys: Record<'recognition' | 'detection' | 'verification', string> = { recognition: '', detection: '', verification: '' };
    const ids: Record<string, string> = {};
    const storedKeys: Record<string, string> = {};

    before(async () => {
      const { app } = t();
      await app.listen({ port: 0, host: '127.0.0.1' });
      port = (app.server.address() as { port: number }).port;
      base = `http://127.0.0.1:${port}`;
      tenant = await createTenant(app, 'CompreFace switcher');
      const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
      const patched = await app.inject({ method: 'PATCH', url: `/api/admin/clients/${tenant.clientId}/`, headers: admin, payload: { settings: { store_photos: true } } });
      assert.equal(patched.statusCode, 200, patched.body);
      for (const service of ['recognition', 'detection', 'verification'] as const) {
        const res = await app.inject({ method: 'POST', url: `/api/admin/clients/${tenant.clientId}/compreface-keys/`, headers: admin, payload: { service } });
        assert.equal(res.statusCode, 201, res.body);
        const body = res.json() as { api_key: string; key: string; service: string };
        assert.match(body.api_key, /^[0-9a-f-]{36}$/);
        assert.equal(body.service, service);
        keys[service] = body.api_key;
        storedKeys[service] = body.key;
      }
    });

    const cf = () => new CompreFace('http://127.0.0.1', port);
    const recognition = () => cf().initFaceRecognitionService(keys.recognition);
    // The SDK's collection and subject helpers append to a URL they keep: a fresh one per call.
    const faces = () => recognition().getFaceCollection();
    const subjects = () => (recognition() as unknown as { getSubjects(): ReturnType<ReturnType<typeof recognition>['subjectFunctions']> }).getSubjects();

    test('subjects: add and list', async () => {
      assert.deepEqual(await subjects().add('obama'), { subject: 'obama' });
      const listed = (await subjects().list()) as { subjects: string[] };
      assert.deepEqual(listed.subjects, ['obama']);
      const dup = await rejected(subjects().add('obama'));
      assert.equal(dup.status, 400);
      assert.equal(dup.data.code, 43);
    });

    test('examples: add by file (with det_prob_threshold) and by base64, list them', async () => {
      for (const [subject, rel] of [
        ['obama', `${FR}/obama/obama_01.jpg`],
        ['biden', `${FR}/biden/biden_01.jpg`],
        ['kit_harington', `${FR}/kit_harington/kit_harington_01.jpeg`],
      ] as const) {
        const added = (await faces().add(file(rel), subject, { det_prob_threshold: '0.5' })) as Example;
        assert.equal(added.subject, subject);
        assert.match(added.image_id, /^[0-9a-f-]{36}$/);
        ids[subject] = added.image_id;
      }
      const b64 = fs.readFileSync(path.join(testDataDir(), `${FR}/rose_leslie/rose_leslie_01.jpg`)).toString('base64');
      const rose = (await faces().add(b64, 'rose_leslie')) as Example;
      assert.equal(rose.subject, 'rose_leslie');
      ids.rose_leslie = rose.image_id;

      const listed = (await faces().list()) as { faces: Example[]; total_elements: number; page_number: number };
      assert.equal(listed.total_elements, 4);
      assert.deepEqual(new Set(listed.faces.map((f) => f.subject)), new Set(['obama', 'biden', 'kit_harington', 'rose_leslie']));
      assert.ok(listed.faces.some((f) => f.image_id === ids.obama));
      assert.deepEqual(((await subjects().list()) as { subjects: string[] }).subjects.sort(), ['biden', 'kit_harington', 'obama', 'rose_leslie']);

      const noFace = await rejected(faces().add(file('no_face/skimage_coffee.png'), 'coffee'));
      assert.equal(noFace.status, 400);
      assert.equal(noFace.data.code, 28);
      assert.ok(!((await subjects().list()) as { subjects: string[] }).subjects.includes('coffee'), 'a refused example leaves no subject behind');
    });

    test('recognize group photos: every face, its subject, landmarks, pose, status', async () => {
      const res = (await recognition().recognize(file('multi_face/fr_obama_and_biden.jpg'), {
        limit: 0,
        prediction_count: 2,
        face_plugins: 'landmarks,pose,age',
        status: true,
      })) as { result: RecognizedFace[]; plugins_versions: Record<string, string> };
      assert.ok(res.result.length >= 2, `faces: ${res.result.length}`);
      const top = res.result.map((f) => f.subjects[0]);
      for (const who of ['obama', 'biden']) {
        const hit = top.find((s) => s?.subject === who);
        assert.ok(hit && hit.similarity >= 0.8, `${who} recognised: ${JSON.stringify(top)}`);
      }
      for (const f of res.result) {
        assert.ok(f.subjects.length <= 2);
        assert.ok(f.box.x_max > f.box.x_min && f.box.y_max > f.box.y_min && f.box.probability > 0);
        assert.equal(f.landmarks?.length, 5);
        assert.equal(typeof f.pose?.yaw, 'number');
        assert.equal(typeof f.execution_time?.detector, 'number');
        assert.ok(!('age' in f), 'age is not offered');
      }
      assert.match(res.plugins_versions.calculator, /^wajah\./);

      const kit = (await recognition().recognize(file('multi_face/fr_kit_with_rose.jpg'), { limit: 1 })) as { result: RecognizedFace[] };
      assert.equal(kit.result.length, 1, 'limit=1: the largest face only');
      const both = (await recognition().recognize(file('multi_face/fr_kit_with_rose.jpg'), { limit: 0 })) as { result: RecognizedFace[] };
      const names = both.result.filter((f) => f.subjects[0]!.similarity >= 0.8).map((f) => f.subjects[0]!.subject);
      assert.ok(names.includes('kit_harington') && names.includes('rose_leslie'), JSON.stringify(both.result.map((f) => f.subjects)));

      const none = await rejected(recognition().recognize(file('no_face/skimage_brick.png'), { limit: 0 }));
      assert.equal(none.data.code, 28);
      const badCount = await rejected(recognition().recognize(file(`${FR}/obama/obama_02.jpg`), { limit: 0, prediction_count: 0 }));
      assert.equal(badCount.data.code, 12);
    });

    test('verify a picture against one stored example', async () => {
      const same = (await faces().verify(file(`${FR}/obama/obama_02.jpg`), ids.obama!, { limit: 0 })) as { result: Array<{ similarity: number }> };
      assert.ok(same.result[0]!.similarity >= 0.8, `same person: ${same.result[0]!.similarity}`);
      const other = (await faces().verify(file(`${FR}/biden/biden_02.jpg`), ids.obama!, { limit: 0 })) as { result: Array<{ similarity: number }> };
      assert.ok(other.result[0]!.similarity < 0.5, `different person: ${other.result[0]!.similarity}`);
    });

    test('detection service: boxes and landmarks of every face; keys are per service', async () => {
      const detection = cf().initFaceDetectionService(keys.detection);
      const res = (await detection.detect(file('multi_face/faceapi_bbt4.jpg'), { limit: 0, face_plugins: 'landmarks' })) as { result: RecognizedFace[] };
      assert.ok(res.result.length >= 5, `faces: ${res.result.length}`);
      for (const f of res.result) assert.equal(f.landmarks?.length, 5);
      assert.ok(!('subjects' in res.result[0]!));
      const wrong = await rejected(cf().initFaceDetectionService(keys.recognition).detect(file('multi_face/faceapi_bbt4.jpg'), { limit: 0 }));
      assert.equal(wrong.status, 404);
      assert.equal(wrong.data.code, 10);
      assert.equal(wrong.headers['x-wajah-error-code'], 'COMPREFACE_KEY_NOT_FOUND');
    });

    test('verification service: the source face against every face of the target', async () => {
      const verification = cf().initFaceVerificationService(keys.verification);
      const res = (await verification.verify(file(`${FR}/obama/obama_03.jpg`), file('multi_face/fr_obama_and_biden.jpg'), { limit: 0 })) as {
        result: Array<{ source_image_face: { box: object }; face_matches: Array<{ similarity: number; box: object }> }>;
      };
      assert.equal(res.result.length, 1);
      const sims = res.result[0]!.face_matches.map((m) => m.similarity).sort((a, b) => b - a);
      assert.ok(sims.length >= 2);
      assert.ok(sims[0]! >= 0.8 && sims[1]! < 0.5, JSON.stringify(sims));
      const b64 = (rel: string) => fs.readFileSync(path.join(testDataDir(), rel)).toString('base64');
      const json = (await verification.verify(b64(`${FR}/biden/biden_01.jpg`), b64(`${FR}/biden/biden_02.jpg`), { limit: 0 })) as { result: Array<{ face_matches: Array<{ similarity: number }> }> };
      assert.ok(json.result[0]!.face_matches[0]!.similarity >= 0.8);
    });

    test('rename a subject, merge into an existing one, page and filter, download an example image', async () => {
      assert.deepEqual(await subjects().rename('kit_harington', 'kit'), { updated: true });
      const barack = (await faces().add(file(`${FR}/obama/obama_04.jpg`), 'barack')) as Example;
      assert.deepEqual(await subjects().rename('barack', 'obama'), { updated: true });
      const names = ((await subjects().list()) as { subjects: string[] }).subjects;
      assert.ok(names.includes('kit') && !names.includes('kit_harington') && !names.includes('barack'));
      const headers = { 'x-api-key': keys.recognition };
      const page = (await (await fetch(`${base}/api/v1/recognition/faces?subject=obama&page=0&size=1`, { headers })).json()) as { faces: Example[]; total_elements: number; total_pages: number; page_size: number };
      assert.equal(page.total_elements, 2, 'the merged example now belongs to obama');
      assert.equal(page.total_pages, 2);
      assert.equal(page.faces.length, 1);
      const rec = (await recognition().recognize(file(`${FR}/obama/obama_05.jpg`), { limit: 1 })) as { result: RecognizedFace[] };
      assert.equal(rec.result[0]!.subjects[0]!.subject, 'obama');

      const img = await fetch(`${base}/api/v1/recognition/faces/${barack.image_id}/img`, { headers });
      assert.equal(img.status, 200);
      assert.deepEqual(Buffer.from(await img.arrayBuffer()), fs.readFileSync(path.join(testDataDir(), `${FR}/obama/obama_04.jpg`)));
      assert.equal(img.headers.get('content-type'), 'image/jpeg');
      // The stored photo is served as what its bytes are, never as the type its uploader declared: a JPEG
      // sent as text/html came back as text/html, a page of this origin for whoever opened the link.
      for (const declared of ['text/html', 'image/svg+xml', 'application/octet-stream']) {
        const form = new FormData();
        form.append('file', new Blob([fs.readFileSync(path.join(testDataDir(), `${FR}/obama/obama_05.jpg`))], { type: declared }), 'face.html');
        const added = await fetch(`${base}/api/v1/recognition/faces?subject=declared`, { method: 'POST', headers, body: form });
        if (added.status !== 201) {
          // Refusing the declared type outright is as good.
          assert.ok([400, 415].includes(added.status), `${declared}: ${added.status} ${await added.text()}`);
          continue;
        }
        const served = await fetch(`${base}/api/v1/recognition/faces/${((await added.json()) as Example).image_id}/img`, { headers });
        assert.equal(served.status, 200);
        assert.equal(served.headers.get('content-type'), 'image/jpeg', declared);
        assert.equal(served.headers.get('x-content-type-options'), 'nosniff');
      }
      await subjects().delete('declared');
      const missing = await fetch(`${base}/api/v1/recognition/faces`, {});
      assert.equal(missing.status, 400);
      assert.deepEqual(await missing.json(), { message: 'Missing header: x-api-key', code: 20 });
    });

    test('a merge whose removal of the old subject fails still answers with the new subject for the moved examples', async () => {
      // The examples moved in one transaction, the old subject was deleted after it, and only then was the
      // search index told: when that delete failed, recognition went on naming the old subject for the
      // moved examples until the next resync.
      await faces().add(file(`${FR}/lin_manuel_miranda/lin_manuel_miranda_01.png`), 'merge-target');
      await faces().add(file(`${FR}/alex_lacamoire/alex_lacamoire_02.jpg`), 'merge-source');
      const users = t().container.foundation.users;
      const remove = users.delete;
      users.delete = async () => {
        throw new Error('the database went away');
      };
      try {
        assert.equal((await rejected(subjects().rename('merge-source', 'merge-target'))).status, 500);
      } finally {
        users.delete = remove;
      }
      const rec = (await recognition().recognize(file(`${FR}/alex_lacamoire/alex_lacamoire_03.jpg`), { limit: 1 })) as { result: RecognizedFace[] };
      assert.equal(rec.result[0]!.subjects[0]!.subject, 'merge-target');
      // Renaming again finishes the merge: the emptied old subject goes.
      assert.deepEqual(await subjects().rename('merge-source', 'merge-target'), { updated: true });
      assert.ok(!((await subjects().list()) as { subjects: string[] }).subjects.includes('merge-source'));
      await subjects().delete('merge-target');
    });

    test('Wajah adds its own: enrollment.completed and authentication events, api_access audit', async () => {
      const { container } = t();
      const db = container.database.db;
      const events = await db.selectFrom('events').select(['event_type', 'payload']).where('client_id', '=', tenant.clientId).execute();
      const payload = (e: { payload: unknown }) => (typeof e.payload === 'string' ? JSON.parse(e.payload) : e.payload) as Record<string, unknown>;
      assert.ok(events.some((e) => e.event_type === 'enrollment.completed' && payload(e).user_id === 'rose_leslie'));
      assert.ok(events.some((e) => e.event_type === 'authentication.success' && payload(e).user_id === 'biden'));
      const attempts = await db.selectFrom('auth_attempts').select(['mode', 'outcome']).where('client_id', '=', tenant.clientId).execute();
      assert.ok(attempts.some((a) => a.mode === 'verification' && a.outcome === 'success'));
      await container.foundation.audit.flush();
      const audit = await db.selectFrom('audit_logs').select('action').where('client_id', '=', tenant.clientId).where('category', '=', 'api_access').execute();
      assert.ok(audit.some((a) => a.action === 'POST /api/v1/recognition/recognize'), 'api_access audit for CompreFace calls');
    });

    test('delete examples: one, several, by subject, all; delete subjects', async () => {
      assert.deepEqual(await faces().delete(ids.biden!), { image_id: ids.biden, subject: 'biden' });
      const many = (await faces().delete_multiple_images([ids.rose_leslie!, '00000000-0000-4000-8000-000000000000'])) as { deleted: Example[] };
      assert.deepEqual(many.deleted, [{ image_id: ids.rose_leslie, subject: 'rose_leslie' }]);
      assert.deepEqual(await faces().delete_all_subject('obama'), { deleted: 2 });
      const left = (await faces().list()) as { faces: Example[] };
      assert.deepEqual(left.faces.map((f) => f.subject), ['kit']);
      const gone = await rejected(faces().verify(file(`${FR}/obama/obama_02.jpg`), ids.obama!, { limit: 0 }));
      assert.equal(gone.data.code, 11);
      assert.deepEqual(await subjects().delete('kit'), { subject: 'kit' });
      const unknown = await rejected(subjects().delete('kit'));
      assert.equal(unknown.data.code, 42);
      assert.deepEqual(await faces().delete_all(), { deleted: 0 });
      const all = (await subjects().deleteAll()) as { deleted: number };
      assert.equal(all.deleted, 3); // obama, biden, rose_leslie (examples gone, subjects kept until now)
      assert.deepEqual(((await subjects().list()) as { subjects: string[] }).subjects, []);
    });

    test("an unknown path or a wrong method under CompreFace's paths answers in CompreFace's shape; elsewhere in Wajah's", async () => {
      const { app } = t();
      const headers = { 'x-api-key': keys.detection };
      const unknown = await app.inject({ method: 'POST', url: '/api/v1/recognition/no-such-thing', headers });
      assert.equal(unknown.statusCode, 404);
      assert.equal(unknown.headers['x-wajah-error-code'], 'ROUTE_NOT_FOUND');
      assert.deepEqual(Object.keys(unknown.json()).sort(), ['code', 'message']);
      assert.equal(unknown.json().code, 0);
      assert.match(unknown.json().message, /No endpoint POST \/api\/v1\/recognition\/no-such-thing/);
      const wrongMethod = await app.inject({ method: 'GET', url: '/api/v1/detection/detect', headers });
      assert.equal(wrongMethod.statusCode, 405);
      assert.equal(wrongMethod.headers.allow, 'POST');
      assert.equal(wrongMethod.headers['x-wajah-error-code'], 'METHOD_NOT_ALLOWED');
      assert.deepEqual(wrongMethod.json(), { message: 'GET is not allowed on /api/v1/detection/detect; use POST', code: 0 });
      // Wajah's own paths (versioned or not) keep Wajah's shape.
      for (const url of ['/api/v1/no-such-thing', '/api/no-such-thing']) {
        const wajah = await app.inject({ method: 'GET', url });
        assert.equal(wajah.statusCode, 404);
        assert.equal(wajah.json().code, 'ROUTE_NOT_FOUND');
      }
      const wajahMethod = await app.inject({ method: 'DELETE', url: '/api/clients/users/' });
      assert.equal(wajahMethod.statusCode, 405);
      assert.equal(wajahMethod.json().code, 'METHOD_NOT_ALLOWED');
      assert.ok(wajahMethod.headers.allow);
    });

    test('a revoked service key stops working; it never opens Wajah\'s own API', async () => {
      const { app } = t();
      const asWajahKey = await app.inject({ method: 'GET', url: '/api/clients/users/', headers: { authorization: `ApiKey ${storedKeys.detection}:${keys.detection}` } });
      assert.equal(asWajahKey.statusCode, 401);
      const listed = await app.inject({ method: 'GET', url: `/api/admin/clients/${tenant.clientId}/compreface-keys/`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      assert.deepEqual((listed.json() as { keys: Array<{ service: string }> }).keys.map((k) => k.service).sort(), ['detection', 'recognition', 'verification']);
      const revoked = await app.inject({ method: 'POST', url: `/api/admin/keys/${encodeURIComponent(storedKeys.detection!)}/revoke/`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      assert.equal(revoked.statusCode, 200, revoked.body);
      const after = await rejected(cf().initFaceDetectionService(keys.detection).detect(file(`${FR}/obama/obama_01.jpg`), { limit: 0 }));
      assert.equal(after.data.code, 10);
    });

    test('an example whose subject is another user\'s uuid neither reaches nor deletes that user', async () => {
      const { app } = t();
      // A subject is an external id; the lookup also answered to uuids, so this found Alice, and the
      // refused image then deleted her with all her face data (and left a stray user named by her uuid).
      const created = await app.inject({ method: 'POST', url: '/api/clients/users/', headers: { authorization: tenant.auth }, payload: { external_id: 'alice-cf', name: 'Alice' } });
      assert.equal(created.statusCode, 201, created.body);
      const aliceId = (created.json() as { id: string }).id;
      const form = new FormData();
      form.append('file', new Blob([Buffer.from('not an image at all')], { type: 'image/jpeg' }), 'x.jpg');
      const res = await fetch(`${base}/api/v1/recognition/faces?subject=${aliceId}`, { method: 'POST', headers: { 'x-api-key': keys.recognition }, body: form });
      assert.equal(res.status, 400);
      const alice = await app.inject({ method: 'GET', url: '/api/clients/users/alice-cf/', headers: { authorization: tenant.auth } });
      assert.equal(alice.statusCode, 200, 'Alice is still there');
      const stray = await app.inject({ method: 'GET', url: `/api/clients/users/?search=${aliceId}`, headers: { authorization: tenant.auth } });
      assert.equal((stray.json() as { count: number }).count, 0, 'the subject created for the refused example is removed again');
    });
  });
}
