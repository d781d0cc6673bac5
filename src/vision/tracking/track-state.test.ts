import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newTrackSinceDetect, TRACKING } from './track-state.ts';

test('tracks started together take their periodic detector turns on different frames, none later than the bound', () => {
  // Ten cameras reconnecting at once (a restart): each new track's first turn comes after
  // DETECT_EVERY − 1 − sinceDetect frames, then every DETECT_EVERY.
  const firstTurn = Array.from({ length: TRACKING.DETECT_EVERY }, () => TRACKING.DETECT_EVERY - newTrackSinceDetect());
  assert.equal(new Set(firstTurn).size, TRACKING.DETECT_EVERY, `first turns on frames ${firstTurn.join(' ')}`);
  assert.ok(firstTurn.every((f) => f >= 1 && f <= TRACKING.DETECT_EVERY));
});
