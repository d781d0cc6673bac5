import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyLivenessFrame, LIVENESS_TUNING, livenessResult, newLiveness, type Challenge, type LivenessFrame } from './liveness.service.ts';

/**
 * The SHAPE_POINTS of a face (nose tip, eye corners, mouth corners, chin, forehead) in eye-width units
 * with depth toward the camera, from anthropometric proportions (the nose tip ≈ 0.45 eye widths in front
 * of the eye corners); `depth` 0 flattens it into a picture.
 */
function faceShape(yawDeg: number, depth = 1): number[] {
  const pts: Array<[number, number, number]> = [
    [0, 0.35, 0.45], // nose tip
    [-0.5, 0, 0], [-0.17, 0, 0.06], [0.17, 0, 0.06], [0.5, 0, 0], // eye corners, image-left first
    [-0.27, 0.7, 0.08], [0.27, 0.7, 0.08], // mouth corners
    [0, 1.05, 0.1], // chin
    [0, -0.6, 0.1], // forehead
  ];
  const a = (yawDeg * Math.PI) / 180;
  // yaw > 0 (the person's own right) brings the nose toward image-left in an unmirrored picture.
  return pts.flatMap(([x, y, z]) => [300 + 120 * (x * Math.cos(a) - z * depth * Math.sin(a)), 300 + 120 * y]);
}

/**
 * A head turn that meets the head_movement challenge, with natural frame-to-frame change: what a
 * replayed video of a real person would also produce. Only the passive scores differ between runs.
 */
function headTurnSession(passive: number | null, opts: { depth?: number; yaws?: number[]; challenges?: Challenge[]; inFrame?: (i: number) => boolean; flat?: LivenessFrame['flat']; texture?: boolean } = {}) {
  let s = newLiveness(opts.challenges ?? ['head_movement'], 10_000, 0, () => 0.999);
  let prev: Uint8Array | null = null;
  const yaws = opts.yaws ?? Array.from({ length: 12 }, (_, i) => i * 3);
  for (const [i, yaw] of yaws.entries()) {
    const thumb = new Uint8Array(1024).map((_, k) => (k * 7 + i * 13 * (k % 5)) % 256);
    const frame: LivenessFrame = {
      at: i * 100, eye: 0.3, yaw, pitch: (i % 3) - 1, smile: 0, thumb, passive,
      shape: faceShape(yaw, opts.depth ?? 1), inFrame: opts.inFrame?.(i) ?? true, flat: opts.flat ?? null, texture: opts.texture,
    };
    s = applyLivenessFrame(s, frame, prev);
    prev = thumb;
  }
  return livenessResult(s, 0.7);
}

test('a turn counts only with depth: the same reported yaw from a flat picture does not meet head_movement', () => {
  assert.equal(headTurnSession(null).passed, true);
  // The mesh can report a turn for a flat picture (a face cut or covered, a warped photo); its landmarks
  // still move as one plane, so the nose tip shows no parallax.
  const flat = headTurnSession(null, { depth: 0 });
  assert.deepEqual(flat.challenges_completed, []);
  assert.equal(flat.passed, false);
  // A nose 70 % as deep as this average face (children, flat noses) still passes; a very shallow relief
  // (a photo bent or embossed) does not.
  assert.equal(headTurnSession(null, { depth: 0.7 }).passed, true);
  assert.equal(headTurnSession(null, { depth: 0.4 }).passed, false);
});

test('a turn whose texture moved as one plane (a photo under a card) is refused; too little texture is no evidence', () => {
  const flat = headTurnSession(null, { flat: { matches: 30, inliers: 0.95 } });
  assert.deepEqual(flat.challenges_completed, []);
  assert.equal(flat.passed, false);
  assert.equal(headTurnSession(null, { flat: { matches: 30, inliers: 0.3 } }).passed, true); // a real turn
  assert.equal(headTurnSession(null, { flat: { matches: 6, inliers: 1 } }).passed, true); // a plain face in dim light
});

test('where the caller measures texture, a turned frame without the measurement is no evidence (it was analysed without the reference)', () => {
  const unmeasured = headTurnSession(null, { texture: true, flat: null });
  assert.deepEqual(unmeasured.challenges_completed, []);
  assert.equal(unmeasured.passed, false);
  assert.equal(headTurnSession(null, { texture: true, flat: { matches: 30, inliers: 0.3 } }).passed, true);
  assert.equal(headTurnSession(null, { texture: true, flat: { matches: 6, inliers: 1 } }).passed, true);
});

test('no decision before MIN_FRAMES frames, however early the challenges are met (two frames sent at once)', () => {
  // A turn met on the second frame: the session waits for the passive and motion checks.
  const twoFrames = headTurnSession(0.4, { yaws: [0, 25] });
  assert.deepEqual(twoFrames.challenges_completed, ['head_movement']);
  assert.equal(twoFrames.passed, false);
  // The frames after the last challenge still count toward the checks; a third live frame decides.
  assert.equal(headTurnSession(0.4, { yaws: [0, 25, 24] }).passed, true);
  // ...and a third frame the passive check reads as a print fails it.
  let s = newLiveness(['head_movement'], 10_000, 0, () => 0.999);
  let prev: Uint8Array | null = null;
  for (const [i, [yaw, passive]] of [[0, 0.002], [25, 0.002], [24, 0.002]].entries()) {
    const thumb = new Uint8Array(1024).map((_, k) => (k * 7 + i * 13 * (k % 5)) % 256);
    s = applyLivenessFrame(s, { at: i * 100, eye: 0.3, yaw, pitch: 0, smile: 0, thumb, passive, shape: faceShape(yaw), inFrame: true, flat: null }, prev);
    prev = thumb;
  }
  assert.equal(livenessResult(s, 0.7).failure_reason, 'SPOOF_DETECTED');
});

test('a frame that cuts the face meets no challenge', () => {
  const cut = headTurnSession(null, { inFrame: (i) => i < 7 }); // the turn beyond 20° happens with the face cut
  assert.deepEqual(cut.challenges_completed, []);
  assert.equal(cut.passed, false);
});

test('turn_left / turn_right are judged from the frontal pose, in the issued order', () => {
  // A recording that turns to the person's right, then back through the front to the left.
  const yaws = [0, 5, 12, 22, 30, 22, 10, 0, -10, -22, -30, -22, -10, 0];
  assert.equal(headTurnSession(null, { yaws, challenges: ['turn_right', 'turn_left'] }).passed, true);
  // Issued the other way round, the same recording fails: coming back from the right is not a left turn.
  const wrongOrder = headTurnSession(null, { yaws, challenges: ['turn_left', 'turn_right'] });
  assert.deepEqual(wrongOrder.challenges_completed, ['turn_left']);
  assert.equal(wrongOrder.passed, false);
});

test('a session the passive check judges a print or screen fails even when every challenge is met', () => {
  const live = headTurnSession(0.4);
  assert.equal(live.passed, true);
  assert.equal(live.checks.spoof_detected, false);
  assert.equal(live.checks.passive_score, 0.4);

  const replay = headTurnSession(0.002); // the phone-replay frames score ≤ 0.003 (npm run eval -- spoof)
  // Fail fast: the session ends at the frame the passive check decides, before the turn is even made.
  assert.deepEqual(replay.challenges_completed, []);
  assert.equal(replay.failure_reason, 'SPOOF_DETECTED');
  assert.equal(replay.checks.spoof_detected, true);
  assert.equal(replay.passed, false);
  assert.ok(replay.score <= 0.1);
});

test('without passive scores (not measured) the check neither passes nor fails anything', () => {
  const r = headTurnSession(null);
  assert.equal(r.checks.passive_score, null);
  assert.equal(r.checks.spoof_detected, false);
  assert.equal(r.passed, true);
  assert.ok(LIVENESS_TUNING.PASSIVE_MIN_FRAMES >= 3);
});
