import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, dataFile, postForm, postJson, type Tenant } from '../helpers/face-fixtures.ts';
import { testDataDir } from '../../src/config/env.ts';
import { readMjpegFrames } from '../../src/vision/mjpeg.ts';

const video = (name: string) => readMjpegFrames(path.join(testDataDir(), 'video/fakecam', name));

// The engine-heavy liveness runs once, on the embedded database (sessions behave the same on both).
if (backendNames().includes('pglite')) {
  describe('liveness sessions on real video [pglite]', () => {
    const t = useTestApp('pglite', { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
    const blink = video('talking_blink_aoc_512x512_25fps.mjpeg');
    const headturn = video('personA_live_headturn_640x360_15fps.mjpeg');
    let tenant: Tenant;

    const frame = (token: string, bytes: Buffer) => postForm(t().app, '/api/auth/authentication/process-frame/', tenant, [{ name: 'frame', value: bytes }], token);
    const create = async (body: Record<string, unknown>) => {
      const res = await postJson(t().app, '/api/auth/authentication/create/', tenant, { require_liveness: true, ...body });
      assert.equal(res.statusCode, 201, res.body);
      return res.json() as { session_token: string; session_id: string; liveness: { current_challenge: string; challenges_remaining: number; challenge_expires_at: string } };
    };
    /** Sends frames until the session leaves 'processing'; returns the last response body. */
    const run = async (token: string, frames: Buffer[]) => {
      let body: Record<string, any> = {};
      for (const f of frames) {
        const res = await frame(token, f);
        assert.equal(res.statusCode, 200, res.body);
        body = res.json();
        if (body.status !== 'processing') break;
        assert.ok(body.liveness.current_challenge, 'each processing response names the current challenge');
      }
      return body;
    };

    test('setup: enroll the two people of the videos', async () => {
      const { app } = t();
      tenant = await createTenant(app, 'Liveness');
      await createUser(app, tenant, 'AOC', 'Talking Blink');
      await createUser(app, tenant, 'PERSON_A', 'Person A');
      for (const [user, bytes] of [['AOC', blink[0]], ['PERSON_A', headturn[0]]] as const) {
        const res = await postForm(app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: user }, { name: 'image', value: bytes }, { name: 'quality_threshold', value: '0.3' }]);
        assert.equal(res.statusCode, 201, res.body);
      }
    });

    test('talking_blink passes a blink challenge (verification)', async () => {
      const s = await create({ user_id: 'AOC', mode: 'verification', liveness_challenges: ['blink'], challenge_timeout: 60 });
      assert.equal(s.liveness.current_challenge, 'blink');
      assert.equal(s.liveness.challenges_remaining, 1);
      assert.ok(Date.parse(s.liveness.challenge_expires_at) > Date.now());
      const body = await run(s.session_token, blink.filter((_, i) => i > 0 && i % 2 === 0));
      assert.equal(body.status, 'completed', JSON.stringify(body));
      assert.equal(body.result.authenticated, true);
      assert.equal(body.liveness_result.passed, true);
      assert.equal(body.liveness_result.checks.blink_detected, true);
      assert.equal(body.liveness_result.checks.static_detection, false);
      // Liveness frames carry the passive anti-spoof score: a live face, well above the spoof bar.
      assert.ok(body.liveness_result.checks.passive_score > 0.1, `passive_score ${body.liveness_result.checks.passive_score}`);
      assert.equal(body.liveness_result.checks.spoof_detected, false);
      assert.deepEqual(body.liveness_result.challenges_completed, ['blink']);
      assert.equal(body.result.liveness_score, body.liveness_result.score);
      assert.ok(body.liveness_result.score >= 0.7);
    });

    test('personA_live_headturn passes head movement (identification)', async () => {
      const s = await create({ mode: 'identification', liveness_challenges: ['head_movement'], challenge_timeout: 60 });
      assert.equal(s.liveness.current_challenge, 'head_movement');
      const body = await run(s.session_token, headturn.filter((_, i) => i > 0 && i % 2 === 0));
      assert.equal(body.status, 'completed', JSON.stringify(body));
      assert.equal(body.liveness_result.passed, true);
      assert.ok(body.liveness_result.checks.head_movement >= 0.2);
      assert.equal(body.result.matches[0].user_id, 'PERSON_A');
    });

    test('a single frame sent again and again fails: static_detection, liveness.failed, attempt recorded', async () => {
      const { container } = t();
      const s = await create({ user_id: 'AOC', mode: 'verification', liveness_challenges: ['blink', 'head_movement'], challenge_timeout: 60 });
      const body = await run(s.session_token, Array.from({ length: 6 }, () => blink[40]));
      assert.equal(body.status, 'failed', JSON.stringify(body));
      assert.equal(body.result.authenticated, false);
      assert.equal(body.result.failure_reason, 'LIVENESS_FAILED');
      assert.equal(body.liveness_result.passed, false);
      assert.equal(body.liveness_result.checks.static_detection, true);
      const db = container.database.db;
      const ev = await db.selectFrom('events').select('payload').where('event_type', '=', 'liveness.failed').execute();
      const p = ev.map((e) => e.payload as Record<string, any>).find((x) => x.session_id === s.session_id);
      assert.equal(p?.reason, 'STATIC_IMAGE');
      assert.equal(p?.checks.static_detection, true);
      assert.equal(p?.user_id, 'AOC');
      const a = await db.selectFrom('auth_attempts').select(['outcome', 'failure_reason', 'liveness_score']).where('session_id', '=', s.session_id).execute();
      assert.equal(a.length, 1);
      assert.equal(a[0].failure_reason, 'LIVENESS_FAILED');
      const again = await frame(s.session_token, blink[41]);
      assert.equal(again.statusCode, 409);
    });

    test('a challenge not met within challenge_timeout fails', async () => {
      const { container } = t();
      const s = await create({ user_id: 'AOC', mode: 'verification', liveness_challenges: ['smile'], challenge_timeout: 1 });
      await new Promise((r) => setTimeout(r, 1100));
      const body = await run(s.session_token, [blink[10]]);
      assert.equal(body.status, 'failed');
      const ev = await container.database.db.selectFrom('events').select('payload').where('event_type', '=', 'liveness.failed').execute();
      assert.equal(ev.map((e) => e.payload as Record<string, any>).find((x) => x.session_id === s.session_id)?.reason, 'CHALLENGE_TIMEOUT');
    });

    test("a verification that times out on a frame without a face keeps its target in the attempt and the events", async () => {
      // The no-face path built its failure with no user: the attempt had no user_id and neither event named
      // the user, so the tenant's records (and the user's export) could not tell whose verification failed.
      const { container } = t();
      const db = container.database.db;
      const s = await create({ user_id: 'AOC', mode: 'verification', liveness_challenges: ['blink'], challenge_timeout: 1 });
      await new Promise((r) => setTimeout(r, 1100));
      const body = await run(s.session_token, [dataFile('no_face/skimage_brick.png')]);
      assert.equal(body.status, 'failed', JSON.stringify(body));
      assert.equal(body.liveness_result.failure_reason, 'CHALLENGE_TIMEOUT');
      const attempt = await db.selectFrom('auth_attempts').innerJoin('users', 'users.id', 'auth_attempts.user_id').select('users.external_id').where('session_id', '=', s.session_id).executeTakeFirst();
      assert.equal(attempt?.external_id, 'AOC');
      for (const type of ['liveness.failed', 'authentication.failed'] as const) {
        const ev = await db.selectFrom('events').select('payload').where('event_type', '=', type).execute();
        assert.equal(ev.map((e) => e.payload as Record<string, any>).find((x) => x.session_id === s.session_id)?.user_id, 'AOC', type);
      }
    });

    test('another person in the middle of a session: the session ends failed (FACE_MISMATCH)', async () => {
      const s = await create({ mode: 'identification', liveness_challenges: ['blink'], challenge_timeout: 60 });
      assert.equal((await frame(s.session_token, blink[2])).statusCode, 200);
      const res = await frame(s.session_token, headturn[4]);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().status, 'failed');
      assert.equal(res.json().result.failure_reason, 'FACE_MISMATCH');
      assert.equal((await frame(s.session_token, blink[4])).json().code, 'SESSION_COMPLETED');
    });
  });
}
