import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, dataFile, postForm, postJson, type Tenant } from '../helpers/face-fixtures.ts';
import { DEFAULT_THRESHOLDS } from '../../src/services/security-monitor.service.ts';

const FR = 'faces_extra/face_recognition';
const OBAMA = [1, 2, 3].map((i) => `${FR}/obama/obama_0${i}.jpg`);
const BIDEN = `${FR}/biden/biden_02.jpg`;
const THRESHOLD = DEFAULT_THRESHOLDS.verifyFailures;

/*
 * P6: someone presenting other faces as one user (docs/foundation.md, "Security monitoring") leaves one
 * `face_verification_failure_burst` security event once the failures against that user reach the threshold
 * within the window, whatever path they came through; successes do not count; nobody is locked out.
 */
for (const backend of backendNames()) {
  describe(`face verification failure bursts [${backend}]`, () => {
    const t = useTestApp(backend, { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
    let tenant: Tenant;

    const verify = (file: string) => postForm(t().app, '/api/auth/authentication/verify/', tenant, [{ name: 'user_id', value: 'EMP001' }, { name: 'image', value: dataFile(file) }]);
    const bursts = async () => {
      await t().container.foundation.security.flush();
      const res = await t().app.inject({ method: 'GET', url: '/api/analytics/audit-logs/?category=security&page_size=100', headers: { authorization: tenant.auth } });
      assert.equal(res.statusCode, 200, res.body);
      const rows = res.json().results as Array<{ category: string; action: string; target: string; source: string; details: Record<string, unknown> }>;
      return rows.filter((r) => r.action === 'face_verification_failure_burst');
    };
    const impostor = async () => {
      const res = await verify(BIDEN);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().result.authenticated, false);
      assert.equal(res.json().result.failure_reason, 'LOW_CONFIDENCE');
    };

    test('another face verifying as an enrolled user: one security event past the threshold, none below', async () => {
      const { app } = t();
      tenant = await createTenant(app, 'Burst');
      await createUser(app, tenant, 'EMP001', 'Barack Obama');
      const enrolled = await postForm(app, '/api/auth/enrollment/direct/', tenant, [
        { name: 'user_id', value: 'EMP001' },
        { name: 'image', value: dataFile(OBAMA[0]) },
        { name: 'quality_threshold', value: '0.3' },
      ]);
      assert.equal(enrolled.statusCode, 201, enrolled.body);

      // THRESHOLD - 1 failures over one-shot verify and a verification batch, with genuine successes among
      // them: had the successes counted, the threshold would be passed here.
      for (let i = 0; i < THRESHOLD - 2; i++) await impostor();
      for (const file of [OBAMA[1], OBAMA[2], OBAMA[1]]) {
        const res = await verify(file);
        assert.equal(res.json().result.authenticated, true, res.body);
      }
      const batch = await postForm(app, '/api/auth/authentication/batch-process/', tenant, [
        { name: 'frames', value: dataFile(BIDEN) },
        { name: 'options', value: JSON.stringify({ mode: 'verification', user_id: 'EMP001' }) },
      ]);
      assert.equal(batch.statusCode, 200, batch.body);
      assert.equal(batch.json().results[0].result.failure_reason, 'LOW_CONFIDENCE');
      assert.deepEqual(await bursts(), []);

      // The threshold-th failure, through a verification session: the event appears, once.
      let res = await postJson(app, '/api/auth/authentication/create/', tenant, { user_id: 'EMP001', mode: 'verification' });
      assert.equal(res.statusCode, 201, res.body);
      res = await postForm(app, '/api/auth/authentication/process-frame/', tenant, [{ name: 'frame', value: dataFile(BIDEN) }], res.json().session_token);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().result.failure_reason, 'LOW_CONFIDENCE');
      let events = await bursts();
      assert.equal(events.length, 1, JSON.stringify(events));
      const [e] = events;
      assert.equal(e.category, 'security');
      assert.equal(e.source, 'audit_logs');
      assert.equal(e.target, 'EMP001');
      assert.deepEqual(e.details, { user_id: 'EMP001', failures: THRESHOLD, window_seconds: DEFAULT_THRESHOLDS.windowMs / 1000, last_reason: 'LOW_CONFIDENCE' });

      // Further failures within the window report nothing new; the user is not locked out.
      await impostor();
      await impostor();
      events = await bursts();
      assert.equal(events.length, 1, JSON.stringify(events));
      res = await verify(OBAMA[1]);
      assert.equal(res.json().result.authenticated, true, res.body);
    });
  });
}
