// Creating a WebRTC stream refuses what creating an HTTP authentication session refuses, with the same
// code and status (both go through AuthenticationService.checkCreate and share the challenge_timeout
// schema). A stream used to accept these and then answer every frame with an error on its data channel.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, dataFile, postForm, postJson, type Tenant } from '../helpers/face-fixtures.ts';

const FACE = 'faces_extra/face_recognition/biden/biden_01.jpg';

for (const backend of backendNames()) {
  describe(`WebRTC session creation checks as HTTP session creation [${backend}]`, () => {
    const t = useTestApp(backend, { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });

    test('unknown, another tenant\'s and deactivated users, challenge_timeout past 120 s: same code and status on both paths', async () => {
      const { app } = t();
      const tenant: Tenant = await createTenant(app, 'Stream create');
      const other: Tenant = await createTenant(app, 'Stream create, other tenant');
      await createUser(app, tenant, 'ENROLLED', 'Enrolled');
      const enrolled = await postForm(app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: 'ENROLLED' }, { name: 'image', value: dataFile(FACE) }, { name: 'quality_threshold', value: '0.3' }]);
      assert.equal(enrolled.statusCode, 201, enrolled.body);
      await createUser(app, tenant, 'NO-FACE', 'Not enrolled');
      await createUser(app, tenant, 'GONE', 'Deactivated');
      assert.equal((await app.inject({ method: 'POST', url: '/api/clients/users/GONE/deactivate/', headers: { authorization: tenant.auth } })).statusCode, 200);
      const theirs = await createUser(app, other, 'THEIRS', 'Another tenant\'s user');

      // [body, the answer expected of both paths; null: whatever HTTP answers, the stream answers the same]
      const cases: Array<[Record<string, unknown>, [number, string] | null]> = [
        [{ mode: 'verification', user_id: 'NOBODY' }, [404, 'USER_NOT_FOUND']],
        [{ user_id: 'THEIRS' }, [404, 'USER_NOT_FOUND']],
        [{ mode: 'verification', user_id: theirs }, [404, 'USER_NOT_FOUND']],
        [{ mode: 'verification', user_id: 'GONE' }, [409, 'USER_INACTIVE']],
        [{ require_liveness: true, challenge_timeout: 121 }, [400, 'VALIDATION_ERROR']],
        [{ mode: 'verification', user_id: 'ENROLLED', require_liveness: true, challenge_timeout: 300 }, [400, 'VALIDATION_ERROR']],
        [{ mode: 'verification' }, [400, 'VALIDATION_ERROR']],
        [{ mode: 'verification', user_id: 'ENROLLED', require_liveness: true, challenge_timeout: 120 }, [201, '']],
        [{ mode: 'identification', require_liveness: true, challenge_timeout: 1.5 }, [201, '']],
        // No enrollment: HTTP session creation does not look at templates (the frames answer NOT_ENROLLED).
        [{ mode: 'verification', user_id: 'NO-FACE' }, null],
      ];
      const answer = (res: { statusCode: number; json(): { code?: string } }) => [res.statusCode, res.statusCode === 201 ? '' : String(res.json().code)];
      for (const [body, expected] of cases) {
        const http = await postJson(app, '/api/auth/authentication/create/', tenant, body);
        const rtc = await postJson(app, '/api/streaming/sessions/', tenant, { session_type: 'webrtc', ...body });
        const label = JSON.stringify(body);
        if (expected) assert.deepEqual(answer(http), expected, `HTTP ${label}: ${http.body}`);
        assert.deepEqual(answer(rtc), answer(http), `WebRTC ${label} answers as HTTP: ${rtc.body}`);
        if (rtc.statusCode === 201) {
          assert.equal((await app.inject({ method: 'DELETE', url: `/api/streaming/sessions/${rtc.json().session_id}/`, headers: { authorization: tenant.auth } })).statusCode, 204);
        }
      }
    });
  });
}
