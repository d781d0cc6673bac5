/**
 * Texture flatness (planarity.ts) on real pictures: a flat photo moved as a plane keeps nearly all of its
 * texture on one homography (the liveness rule refuses a turn at ≥ 0.7, LIVENESS_TUNING.FLAT_INLIERS);
 * a real head turned 30°+ does not.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { testDataDir } from '../../config/env.ts';
import { Analyzer } from '../analyzer.ts';
import { decodeImage, DEFAULT_LIMITS } from '../decode/decode.ts';
import { readMjpegFrames } from '../mjpeg.ts';
import { perspectiveTurn, occludeSweep } from '../../../scripts/lib/attacks.ts';
import { faceRegion, flatness, regionCrop, CROP } from './planarity.ts';

let analyzer: Analyzer;
before(async () => {
  analyzer = await Analyzer.create();
});

/** Flatness of `cur` against `ref`, on the reference frame's face region (as a session measures it). */
async function between(ref: Buffer, cur: Buffer) {
  const box = (await analyzer.analyze(ref, { multiple: 'largest', embed: false })).faces[0].box;
  const region = faceRegion(box);
  return flatness(regionCrop(await decodeImage(ref, DEFAULT_LIMITS), region), regionCrop(await decodeImage(cur, DEFAULT_LIMITS), region));
}

test('a real head turned 30°+ leaves most of its texture off any one homography', async () => {
  const frames = readMjpegFrames(path.join(testDataDir(), 'video/fakecam/personA_live_headturn_640x360_15fps.mjpeg'));
  for (const [ref, cur] of [[90, 108], [90, 111], [135, 144]] as const) {
    const f = await between(frames[ref], frames[cur]);
    assert.ok(f.inliers < 0.5, `frames ${ref}→${cur}: ${JSON.stringify(f)}`);
  }
  // The same person barely moving: the texture follows one homography.
  const still = await between(frames[90], frames[92]);
  assert.ok(still.matches >= 20 && still.inliers > 0.5, JSON.stringify(still));
});

test('a flat photo turned with perspective or half covered by a card keeps its texture on one homography', async () => {
  const photo = fs.readFileSync(path.join(testDataDir(), 'faces_extra/face_recognition/biden/biden_01.jpg'));
  const turned = await perspectiveTurn(photo, 30, 9); // frames 1 and 3: the plane turned ≈ 21°
  for (const i of [1, 3]) {
    const f = await between(turned[0], turned[i]);
    assert.ok(f.matches >= 12 && f.inliers >= 0.7, `turned frame ${i}: ${JSON.stringify(f)}`);
  }
  const box = (await analyzer.analyze(photo, { multiple: 'largest', embed: false })).faces[0].box;
  const card = await occludeSweep(photo, box, 25);
  for (const i of [5, 17]) {
    const c = await between(card[0], card[i]);
    assert.ok(c.matches >= 12 && c.inliers >= 0.7, `card frame ${i}: ${JSON.stringify(c)}`);
  }
});

test('no texture, no evidence: a plain crop has no matches', () => {
  const plain = new Uint8Array(CROP * CROP).fill(128);
  assert.deepEqual(flatness(plain, plain), { matches: 0, inliers: 0 });
});
