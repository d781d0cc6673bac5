// Direct enrollment cannot put the wrong face into an account (issue 8): a group photo is refused unless
// the caller says which face; a different person's face is refused for an enrolled user unless the
// caller asks to replace the user's face data.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, dataFile, postForm, postJson, type Tenant } from '../helpers/face-fixtures.ts';

const OBAMA = 'faces_extra/face_recognition/obama/obama_01.jpg';
const OBAMA2 = 'faces_extra/face_recognition/obama/obama_02.jpg';
const BIDEN = 'faces_extra/face_recognition/biden/biden_01.jpg';
const GROUP = 'multi_face/fr_two_people.jpg'; // Obama and Biden side by side

for (const backend of backendNames()) {
  describe(`direct enrollment identity [${backend}]`, () => {
    const t = useTestApp(backend, { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
    let tenant: Tenant;
    const enroll = (user: string, file: string, extra: Array<{ name: string; value: string }> = []) =>
      postForm(t().app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: user }, { name: 'image', value: dataFile(file) }, { name: 'quality_threshold', value: '0.3' }, ...extra]);
    const templates = async (user: string) => {
      const res = await t().app.inject({ method: 'GET', url: `/api/auth/enrollments/?user_id=${user}`, headers: { authorization: tenant.auth } });
      assert.equal(res.statusCode, 200, res.body);
      return res.json().enrollments as Array<{ enrollment_id: string }>;
    };

    test('a group photo is MULTIPLE_FACES with every face; face_index chooses one', async () => {
      const { app } = t();
      tenant = await createTenant(app, 'Identity');
      await createUser(app, tenant, 'BIDEN', 'Joe Biden');
      let res = await enroll('BIDEN', GROUP);
      assert.equal(res.statusCode, 422, res.body);
      assert.equal(res.json().code, 'MULTIPLE_FACES');
      const faces = res.json().details.faces as Array<{ index: number; box: { x: number; y: number; width: number; height: number } }>;
      assert.ok(faces.length >= 2, JSON.stringify(faces));
      assert.deepEqual(await templates('BIDEN'), [], 'nothing written');
      // Choose each face in turn: only Biden's face verifies as Biden afterwards.
      const chosen: number[] = [];
      for (const f of faces.slice(0, 2)) {
        res = await enroll('BIDEN', GROUP, [{ name: 'face_index', value: String(f.index) }, { name: 'replace', value: 'true' }]);
        assert.equal(res.statusCode, 201, res.body);
        // The answer says which face was taken: the chosen one's box, in the picture's pixels.
        assert.deepEqual(res.json().face.box, f.box);
        assert.ok(res.json().face.image_width > f.box.x + f.box.width - 2 && res.json().face.image_height > 0);
        const v = await postForm(app, '/api/auth/authentication/verify/', tenant, [{ name: 'user_id', value: 'BIDEN' }, { name: 'image', value: dataFile(BIDEN) }]);
        assert.equal(v.statusCode, 200, v.body);
        // The one-shot decision names the face it was taken on, too.
        const vb = v.json().face;
        assert.ok(vb.box.width > 20 && vb.box.x >= 0 && vb.box.x + vb.box.width <= vb.image_width + 2, JSON.stringify(vb));
        if (v.json().result.authenticated) chosen.push(f.index);
      }
      assert.equal(chosen.length, 1, 'exactly one face of the group photo is Biden');
      res = await enroll('BIDEN', GROUP, [{ name: 'face_index', value: '7' }]);
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().code, 'VALIDATION_ERROR');
    });

    test("another person's face for an enrolled user is FACE_MISMATCH; the same person is added; replace starts over", async () => {
      const { app } = t();
      await createUser(app, tenant, 'OBAMA', 'Barack Obama');
      assert.equal((await enroll('OBAMA', OBAMA)).statusCode, 201);
      let res = await enroll('OBAMA', BIDEN);
      assert.equal(res.statusCode, 422, res.body);
      assert.equal(res.json().code, 'FACE_MISMATCH');
      assert.ok(res.json().details.confidence < 0.5);
      assert.equal((await templates('OBAMA')).length, 1, 'nothing written');
      res = await enroll('OBAMA', OBAMA2);
      assert.equal(res.statusCode, 201, res.body);
      assert.equal((await templates('OBAMA')).length, 2);
      // Identification does not find Biden as Obama.
      let id = await postForm(app, '/api/auth/authentication/identify/', tenant, [{ name: 'image', value: dataFile(BIDEN) }]);
      assert.ok(!id.json().result.matches.some((m: { user_id: string }) => m.user_id === 'OBAMA'), id.body);
      // On purpose: replace the user's face data with another face.
      res = await enroll('OBAMA', BIDEN, [{ name: 'replace', value: 'true' }]);
      assert.equal(res.statusCode, 201, res.body);
      assert.equal((await templates('OBAMA')).length, 1);
      id = await postForm(app, '/api/auth/authentication/identify/', tenant, [{ name: 'image', value: dataFile(OBAMA2) }]);
      assert.ok(!id.json().result.matches.some((m: { user_id: string }) => m.user_id === 'OBAMA'), 'the old face left the index');
      const session = await postJson(app, '/api/auth/authentication/create/', tenant, { mode: 'verification', user_id: 'OBAMA' });
      assert.equal(session.statusCode, 201);
    });

    test("a batch with two people's photos for one new user stores neither; one person's photos are stored", async () => {
      // Batch enrollment groups a user's images into one enrollment. With no templates yet, nothing
      // compared the images with each other: both people were stored and both verified as the user.
      const { app } = t();
      await createUser(app, tenant, 'BATCH_MIX', 'Mixed');
      await createUser(app, tenant, 'BATCH_ONE', 'One person');
      const batch = (users: string[], files: string[]) =>
        postForm(app, '/api/auth/enrollment/batch/', tenant, [
          ...files.map((f) => ({ name: 'images', value: dataFile(f), filename: f.split('/').pop()!, type: 'image/jpeg' })),
          { name: 'user_ids', value: JSON.stringify(users) },
          { name: 'quality_threshold', value: '0.3' },
        ]);
      let res = await batch(['BATCH_MIX', 'BATCH_MIX', 'BATCH_MIX'], [OBAMA, BIDEN, OBAMA2]);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().completed, 0, res.body);
      for (const r of res.json().results) assert.equal(r.error?.code, 'FACE_MISMATCH', res.body);
      assert.deepEqual(await templates('BATCH_MIX'), [], 'nothing written');
      const v = await postForm(app, '/api/auth/authentication/verify/', tenant, [{ name: 'user_id', value: 'BATCH_MIX' }, { name: 'image', value: dataFile(BIDEN) }]);
      assert.notEqual(v.json().result?.authenticated, true, v.body);
      // Whatever the order, one person's photos go in together.
      res = await batch(['BATCH_ONE', 'BATCH_ONE'], [OBAMA2, OBAMA]);
      assert.equal(res.json().completed, 2, res.body);
      assert.equal((await templates('BATCH_ONE')).length, 1);
    });

    test('two enrollment sessions of different people for one new user, completed at once: one is stored, the other is FACE_MISMATCH', async () => {
      // Both completions read "no templates yet" before either wrote: each passed the same-person check,
      // and the account ended up holding two people's faces (either could then sign in as the user).
      const { app } = t();
      const session = async (user: string, file: string) => {
        const res = await postJson(app, '/api/auth/enrollment/create/', tenant, { user_id: user, session_type: 'upload', quality_threshold: 0.3, timeout: 120 });
        assert.equal(res.statusCode, 201, res.body);
        const token = res.json().session_token as string;
        const frame = await postForm(app, '/api/auth/enrollment/process-frame/', tenant, [{ name: 'frame', value: dataFile(file) }], token);
        assert.equal(frame.json().frame_accepted, true, frame.body);
        return token;
      };
      for (let round = 0; round < 3; round++) {
        const user = `RACE_${round}`;
        await createUser(app, tenant, user, 'Race');
        const tokens = [await session(user, OBAMA), await session(user, BIDEN)];
        const answers = await Promise.all(tokens.map((token) => postJson(app, '/api/auth/enrollment/complete/', tenant, {}, token)));
        assert.deepEqual(answers.map((r) => r.statusCode).sort(), [201, 422], answers.map((r) => r.body).join('\n'));
        assert.equal(answers.find((r) => r.statusCode === 422)!.json().code, 'FACE_MISMATCH');
        assert.equal((await templates(user)).length, 1);
      }
    });
  });
}
