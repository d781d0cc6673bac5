/**
 * The analyzer's frame buffers come from this thread's pools and go back when the frame is done
 * (buffer-pool.ts): frames of a stream reuse them instead of allocating about 1.5 MB each, and frames
 * in flight together never share one. Real clips, in-thread.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, test } from 'node:test';
import { testDataDir } from '../config/env.ts';
import { Analyzer } from './analyzer.ts';
import { bytePool, floatPool } from './buffer-pool.ts';
import { readMjpegFrames } from './mjpeg.ts';
import type { TrackState } from './tracking/track-state.ts';
import type { AnalyzeResult } from './types.ts';

const VIDEO = path.join(testDataDir(), 'video/fakecam');
let analyzer: Analyzer;
before(async () => {
  analyzer = await Analyzer.create();
});

const options = { multiple: 'largest', embed: true } as const;
const bytesOf = (r: AnalyzeResult) => Buffer.from(r.faces[0].embedding!.buffer).toString('base64') + JSON.stringify(r.faces[0].landmarks);

test('two streams of different frame sizes: every frame decodes into a pooled buffer, and the pools stop allocating', async () => {
  const a = readMjpegFrames(path.join(VIDEO, 'personA_live_headturn_640x360_15fps.mjpeg')).slice(0, 30);
  const b = readMjpegFrames(path.join(VIDEO, 'talking_blink_aoc_512x512_25fps.mjpeg')).slice(0, 30);
  const tracks: Array<TrackState | null> = [null, null];
  const warm = async (i: number) => {
    for (const [s, frames] of [a, b].entries()) {
      const out = await analyzer.analyzeTracked(frames[i], options, tracks[s]);
      tracks[s] = out.track;
    }
  };
  for (let i = 0; i < 5; i++) await warm(i); // first frames: a buffer of each kind gets made
  const bytes = { ...bytePool.counts }, floats = { ...floatPool.counts };
  for (let i = 5; i < 30; i++) await warm(i);
  assert.ok(bytePool.counts.taken - bytes.taken >= 50, `${bytePool.counts.taken - bytes.taken} decodes into the pool for 50 frames`);
  assert.ok(floatPool.counts.taken - floats.taken >= 50, 'the mesh input of every frame comes from the pool');
  assert.equal(bytePool.counts.allocated - bytes.allocated, 0, 'no new pixel buffer once both sizes were seen');
  assert.ok(floatPool.counts.allocated - floats.allocated <= 1, `${floatPool.counts.allocated - floats.allocated} new model-input buffers in 50 frames`);
});

test('frames analysed at the same time each keep their own buffers: the same results as one at a time', async () => {
  const clips = ['personA_live_headturn_640x360_15fps.mjpeg', 'talking_blink_aoc_512x512_25fps.mjpeg', 'liveportrait_d9_512x480_30fps.mjpeg'];
  const frames = clips.flatMap((c) => readMjpegFrames(path.join(VIDEO, c)).filter((_, k) => k % 20 === 0).slice(0, 3));
  const alone: string[] = [];
  for (const f of frames) alone.push(bytesOf(await analyzer.analyze(f, options)));
  // Each started a moment after the one before, so that a frame decodes while the others are inside
  // their model runs (a buffer given back too early would be taken and overwritten then).
  const together = await Promise.all(frames.map(async (f, i) => {
    await new Promise((r) => setTimeout(r, i));
    return analyzer.analyze(f, options);
  }));
  assert.deepEqual(together.map(bytesOf), alone);
  // And as one batch of tracked frames (the mesh fits share one pass, each frame its own decode).
  const batch = await analyzer.analyzeTrackedBatch(frames.map((image) => ({ image, options, track: null })));
  assert.deepEqual(batch.map((o) => (o.ok ? bytesOf(o.value.result) : String(o.error))), alone);
});
