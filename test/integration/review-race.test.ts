// Manual-review submissions sent at once for one user: each checked "no pending review" before any had
// inserted, and 8 parallel requests left 7 pending reviews. Without the recogniser the first look at the
// photos is instant, so the requests reach the database together.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, dataFile, postForm } from '../helpers/face-fixtures.ts';
import type { ReviewTables } from '../../src/db/repositories/reviews.repository.ts';

for (const backend of backendNames()) {
  describe(`manual review submissions at once [${backend}]`, () => {
    const t = useTestApp(backend, { env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });

    test('leave exactly one pending review per user; the others are REVIEW_ALREADY_PENDING naming it', async () => {
      const { app } = t();
      const tenant = await createTenant(app, 'Review race');
      const photo = dataFile('no_face/skimage_brick.png');
      for (let round = 0; round < 3; round++) {
        const user = `REV_RACE_${round}`;
        await createUser(app, tenant, user, 'Race');
        const answers = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            postForm(app, '/api/auth/enrollment/review/', tenant, [
              { name: 'user_id', value: user },
              { name: 'reason', value: `attempt ${i}` },
              { name: 'images', value: photo, filename: 'photo.png', type: 'image/png' },
            ]),
          ),
        );
        assert.deepEqual(answers.map((r) => r.statusCode).sort(), [201, 409, 409, 409, 409, 409, 409, 409], answers.map((r) => r.body).join('\n'));
        const created = answers.find((r) => r.statusCode === 201)!.json().id;
        for (const r of answers.filter((a) => a.statusCode === 409)) {
          assert.equal(r.json().code, 'REVIEW_ALREADY_PENDING');
          assert.equal(r.json().details.review_id, created);
        }
      }
      const db = t().container.database.db.withTables<ReviewTables>();
      const pending = await db.selectFrom('review_requests').select('id').where('client_id', '=', tenant.clientId).where('status', '=', 'pending').execute();
      assert.equal(pending.length, 3);
    });
  });
}
