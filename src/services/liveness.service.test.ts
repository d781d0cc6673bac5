import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyLivenessFrame, LIVENESS_TUNING, livenessResult, newLiveness, type LivenessFrame } from './liveness.service.ts';

/**
 * A head turn that meets the head_movement challenge, with natural frame-to-frame change: what a
 * replayed video of a real person would also produce. Only the passive scores differ between runs.
 */
function headTurnSession(passive: number | null) {
  let s = newLiveness(['head_movement'], 10_000, 0, () => 0.5);
  let prev: Uint8Array | null = null;
  for (let i = 0; i < 12; i++) {
    const thumb = new Uint8Array(1024).map((_, k) => (k * 7 + i * 13 * (k % 5)) % 256);
    const frame: LivenessFrame = { at: i * 100, eye: 0.3, yaw: i * 3, pitch: (i % 3) - 1, smile: 0, thumb, passive };
    s = applyLivenessFrame(s, frame, prev);
    prev = thumb;
  }
  return livenessResult(s, 0.7);
}

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
