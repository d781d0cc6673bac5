// Approving a manual review put its photos' face into the user's account without comparing it with the
// face already enrolled there: direct and session enrollment refuse another person's face (FACE_MISMATCH,
// issue 8), but a review of Biden's photos for an enrolled Obama added Biden, who then verified as Obama.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, dataFile, postForm, postJson, type Tenant } from '../helpers/face-fixtures.ts';

const OBAMA = 'faces_extra/face_recognition/obama/obama_01.jpg';
const OBAMA2 = 'faces_extra/face_recognition/obama/obama_02.jpg';
const BIDEN = 'faces_extra/face_recognition/biden/biden_01.jpg';

for (const backend of backendNames()) {
  describe(`manual review and the enrolled face [${backend}]`, () => {
    const t = useTestApp(backend, { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
    let tenant: Tenant;
    const submit = (user: string, file: string) =>
      postForm(t().app, '/api/auth/enrollment/review/', tenant, [
        { name: 'user_id', value: user },
        { name: 'reason', value: 'cannot enroll at the kiosk' },
        { name: 'images', value: dataFile(file), filename: 'a.jpg', type: 'image/jpeg' },
      ]);
    const enrollments = async (user: string) =>
      (await t().app.inject({ method: 'GET', url: `/api/auth/enrollments/?user_id=${user}`, headers: { authorization: tenant.auth } })).json().count as number;
    const verify = (user: string, file: string) => postForm(t().app, '/api/auth/authentication/verify/', tenant, [{ name: 'user_id', value: user }, { name: 'image', value: dataFile(file) }]);

    test("another person's photos for an enrolled user are FACE_MISMATCH: nothing enrolled, the review stays pending", async () => {
      const { app } = t();
      tenant = await createTenant(app, 'Review identity');
      await createUser(app, tenant, 'OBAMA', 'Barack Obama');
      const direct = await postForm(app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: 'OBAMA' }, { name: 'image', value: dataFile(OBAMA) }, { name: 'quality_threshold', value: '0.3' }]);
      assert.equal(direct.statusCode, 201, direct.body);

      let res = await submit('OBAMA', BIDEN);
      assert.equal(res.statusCode, 201, res.body);
      const review = res.json().id as string;
      res = await postJson(app, `/api/reviews/${review}/approve/`, tenant, {});
      assert.equal(res.statusCode, 422, res.body);
      assert.equal(res.json().code, 'FACE_MISMATCH');
      assert.equal(await enrollments('OBAMA'), 1, 'nothing added');
      res = await verify('OBAMA', BIDEN);
      assert.equal(res.json().result.authenticated, false, "Biden does not verify as Obama: " + res.body);
      res = await app.inject({ method: 'GET', url: `/api/reviews/${review}/`, headers: { authorization: tenant.auth } });
      assert.equal(res.json().status, 'pending', 'the reviewer can still reject it');
      res = await postJson(app, `/api/reviews/${review}/reject/`, tenant, { reason: 'not the enrolled person' });
      assert.equal(res.statusCode, 200, res.body);

      // The same person's photos are still added.
      res = await submit('OBAMA', OBAMA2);
      assert.equal(res.statusCode, 201, res.body);
      res = await postJson(app, `/api/reviews/${res.json().id}/approve/`, tenant, {});
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().outcome, 'enrolled');
      assert.equal(await enrollments('OBAMA'), 2);
    });
  });
}
