/**
 * Per-frame liveness signals on real video (../shared/data/video/fakecam/*.mjpeg), in-thread.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, test } from 'node:test';
import { testDataDir } from '../../config/env.ts';
import { Analyzer } from '../analyzer.ts';
import { readMjpegFrames } from '../mjpeg.ts';
import { thumbnailChange } from './signals.ts';

const VIDEO = path.join(testDataDir(), 'video/fakecam');
let analyzer: Analyzer;

before(async () => {
  analyzer = await Analyzer.create();
});

const frameOf = async (bytes: Buffer) => (await analyzer.analyze(bytes, { multiple: 'largest', embed: false })).faces[0];

test('blink video: eye openness drops during a blink and recovers', async () => {
  const frames = readMjpegFrames(path.join(VIDEO, 'talking_blink_aoc_512x512_25fps.mjpeg'));
  assert.equal(frames.length, 200);
  // A blink is annotated around frame 57: look at frames 45..70.
  const ear: number[] = [];
  for (let i = 45; i <= 70; i++) ear.push((await frameOf(frames[i])).signals.eyeOpenness);
  const baseline = [...ear].sort((a, b) => a - b)[Math.floor(ear.length / 2)];
  const minI = ear.indexOf(Math.min(...ear));
  assert.ok(ear[minI] < 0.6 * baseline, `min EAR ${ear[minI].toFixed(3)} vs baseline ${baseline.toFixed(3)}`);
  assert.ok(minI > 0 && minI < ear.length - 1, 'the minimum is inside the window');
  assert.ok(Math.max(...ear.slice(0, minI)) > 0.9 * baseline, 'open before');
  assert.ok(Math.max(...ear.slice(minI + 1)) > 0.9 * baseline, 'open again after');
});

test('re-fitting the eyes (liveness frames) makes the blink dip deeper, leaving pose and alignment alone', async () => {
  const frames = readMjpegFrames(path.join(VIDEO, 'talking_blink_aoc_512x512_25fps.mjpeg'));
  const dip = async (refineEyes: boolean) => {
    const ear: number[] = [];
    for (let i = 45; i <= 70; i++) ear.push((await analyzer.analyze(frames[i], { multiple: 'largest', embed: false, refineEyes })).faces[0].signals.eyeOpenness);
    return Math.min(...ear) / [...ear].sort((a, b) => a - b)[Math.floor(ear.length / 2)];
  };
  const [plain, refined] = [await dip(false), await dip(true)];
  assert.ok(refined < plain - 0.1, `closed/open EAR ratio: refined ${refined.toFixed(2)}, mesh only ${plain.toFixed(2)}`);
  const a = (await analyzer.analyze(frames[57], { multiple: 'largest', embed: false })).faces[0];
  const b = (await analyzer.analyze(frames[57], { multiple: 'largest', embed: false, refineEyes: true })).faces[0];
  assert.deepEqual(b.landmarks, a.landmarks);
  assert.deepEqual(b.pose, a.pose);
});

test('head-turn video: yaw swings both ways past the turn threshold', async () => {
  const frames = readMjpegFrames(path.join(VIDEO, 'personA_live_headturn_640x360_15fps.mjpeg'));
  const yaws: number[] = [];
  // Person A turns to one side around frames 100–135 and to the other around 140–175 (profile views in
  // between are not always detected, which is fine).
  for (let i = 99; i < 180; i += 3) {
    const f = await analyzer.analyze(frames[i], { multiple: 'largest', embed: false }).catch(() => null);
    if (f) yaws.push(f.faces[0].pose.yaw);
  }
  assert.ok(Math.max(...yaws) > 20, `max yaw ${Math.max(...yaws)}`);
  assert.ok(Math.min(...yaws) < -20, `min yaw ${Math.min(...yaws)}`);
});

test('frame-to-frame change: identical frames ≈ 0, a live video moves', async () => {
  const frames = readMjpegFrames(path.join(VIDEO, 'talking_blink_aoc_512x512_25fps.mjpeg'));
  const a = await frameOf(frames[100]);
  const a2 = await frameOf(frames[100]);
  const b = await frameOf(frames[110]);
  assert.equal(a.signals.faceThumb.length, 1024);
  assert.ok(thumbnailChange(a.signals.faceThumb, a2.signals.faceThumb) < 0.5);
  assert.ok(thumbnailChange(a.signals.faceThumb, b.signals.faceThumb) > 1.5);
});
