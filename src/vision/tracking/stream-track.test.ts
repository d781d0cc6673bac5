import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appError } from '../../errors.ts';
import type { AnalyzeResult } from '../types.ts';
import { StreamTrack } from './stream-track.ts';
import { TRACKING } from './track-state.ts';

const found = { width: 1, height: 1, faces: [], modelId: 'm', timings: { decodeMs: 0, detectMs: 0, embedMs: 0, qualityMs: 0, totalMs: 0 } } satisfies AnalyzeResult;

test('an empty picture searches wide on its first frame and every WIDE_EVERY-th after; a face found starts over', async () => {
  const track = new StreamTrack();
  const wide: boolean[] = [];
  const frame = (face: boolean) =>
    track
      .run(async (_state, w) => {
        wide.push(w);
        if (!face) throw appError('NO_FACE_DETECTED');
        return { result: found, track: null };
      })
      .catch(() => null);
  for (let i = 0; i < 2 * TRACKING.WIDE_EVERY + 1; i++) await frame(false);
  await frame(true);
  await frame(false);
  const every = (i: number) => i % TRACKING.WIDE_EVERY === 0;
  assert.deepEqual(wide, [...Array.from({ length: 2 * TRACKING.WIDE_EVERY + 1 }, (_, i) => every(i)), false, true]);
});

test('other errors (a corrupt frame, a busy engine) do not count as empty pictures', async () => {
  const track = new StreamTrack();
  const wide: boolean[] = [];
  for (const code of ['NO_FACE_DETECTED', 'INVALID_IMAGE', 'SERVICE_BUSY', 'NO_FACE_DETECTED'] as const) {
    await track.run(async (_s, w) => (wide.push(w), Promise.reject(appError(code)))).catch(() => null);
  }
  assert.deepEqual(wide, [true, false, false, false]);
});
