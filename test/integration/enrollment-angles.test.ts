// Multi-angle enrollment from a webcam at the frame rates real connections give (issue 15.5): the head-turn
// video played at 5 and 10 frames/s, from every starting phase, with a strict quality threshold, must
// capture front, left and right. A normal-pace turn spends only a few frames in each direction, so a rate
// that drops frames must still find a usable turned frame among the ones that arrive.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, postForm, postJson, type Tenant } from '../helpers/face-fixtures.ts';
import { readMjpegFrames } from '../../src/vision/mjpeg.ts';
import { testDataDir } from '../../src/config/env.ts';

const VIDEO = 'video/fakecam/personA_live_headturn_640x360_15fps.mjpeg'; // 15 frames/s source
const SOURCE_FPS = 15;

describe('multi-angle enrollment at 5 and 10 frames/s', () => {
  const t = useTestApp('pglite', { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
  const frames = readMjpegFrames(path.join(testDataDir(), VIDEO));
  let tenant: Tenant;

  /** Frame indexes a camera at `fps` delivers from the 15 frames/s source, starting at `phase`. */
  function sample(fps: number, phase: number): number[] {
    const out: number[] = [];
    for (let k = 0; ; k++) {
      const i = Math.floor(phase + (k * SOURCE_FPS) / fps);
      if (i >= frames.length) return out;
      out.push(i);
    }
  }

  for (const fps of [5, 10]) {
    for (let phase = 0; phase < 3; phase++) {
      test(`${fps} frames/s from source frame ${phase}, quality_threshold 0.8: front, left and right`, async () => {
        const { app } = t();
        tenant ??= await createTenant(app);
        const userId = `PA_${fps}_${phase}`;
        await createUser(app, tenant, userId, 'Person A');
        let res = await postJson(app, '/api/auth/enrollment/create/', tenant, { user_id: userId, session_type: 'webcam', require_multiple_angles: true, quality_threshold: 0.8 });
        assert.equal(res.statusCode, 201, res.body);
        const token = res.json().session_token as string;
        let last: { status: string; progress: { angles_captured: string[] } } | null = null;
        const seen: string[] = [];
        // Paced as the camera would send them: the engine now answers a frame in well under the tier's
        // 1/30 s per session, so frames sent back to back would be refused (FRAME_RATE_EXCEEDED).
        const start = performance.now();
        for (const [k, i] of sample(fps, phase).entries()) {
          const wait = start + (k * 1000) / fps - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          res = await postForm(app, '/api/auth/enrollment/process-frame/', tenant, [{ name: 'frame', value: frames[i] }], token);
          assert.equal(res.statusCode, 200, res.body);
          last = res.json();
          const b = res.json();
          seen.push(`${i}:${b.angle ?? '-'}:${b.frame_accepted ? 'ok' : b.rejection_reason}:${b.quality_score}`);
          if (last!.status === 'ready') break;
        }
        assert.equal(last?.status, 'ready', `angles ${JSON.stringify(last?.progress)}; frames ${seen.join(' ')}`);
        assert.deepEqual([...last!.progress.angles_captured].sort(), ['front', 'left', 'right']);
        res = await postJson(app, '/api/auth/enrollment/complete/', tenant, {}, token);
        assert.equal(res.statusCode, 201, res.body);
        assert.deepEqual([...res.json().quality_metrics.angles_captured].sort(), ['front', 'left', 'right']);
      });
    }
  }
});
