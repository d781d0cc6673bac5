/**
 * The face engine through its public API (one worker thread): real photos from ../shared/data.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { testDataDir } from '../config/env.ts';
import { AppError } from '../errors.ts';
import { createFaceEngine, defaultVerifyThreshold } from './index.ts';
import type { AnalyzeOptions, AnalyzeResult, FaceEngine } from './types.ts';

const DATA = testDataDir();
const read = (p: string) => readFileSync(path.join(DATA, p));
let engine: FaceEngine;

before(async () => {
  engine = await createFaceEngine({ workers: 1, queueSize: 16 });
});
after(async () => {
  await engine.close();
});

const one = (bytes: Uint8Array | string, o: Partial<AnalyzeOptions> = {}) => engine.analyze(bytes, { multiple: 'largest', embed: false, ...o });

async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    assert.ok(e instanceof AppError, `expected AppError, got ${String(e)}`);
    return e.code;
  }
}

test('same-person pairs match and different-person pairs do not at the default threshold', async () => {
  const t = defaultVerifyThreshold(engine.defaultModelId);
  const emb = async (p: string) => (await one(read(p), { embed: true })).faces[0].embedding!;
  const [o1, o2, b1, k1, k3, r1] = await Promise.all(
    [
      'faces_extra/face_recognition/obama/obama_01.jpg',
      'faces_extra/face_recognition/obama/obama_02.jpg',
      'faces_extra/face_recognition/biden/biden_01.jpg',
      'faces_extra/face_recognition/kit_harington/kit_harington_01.jpeg',
      'faces_extra/face_recognition/kit_harington/kit_harington_03.jpg',
      'faces_extra/face_recognition/rose_leslie/rose_leslie_01.jpg',
    ].map(emb),
  );
  assert.equal(o1.length, 512);
  assert.ok(engine.similarity(o1, o2) > t, 'obama 1 vs 2');
  assert.ok(engine.similarity(k1, k3) > t, 'kit 1 vs 3');
  assert.ok(engine.similarity(o1, b1) < t, 'obama vs biden');
  assert.ok(engine.similarity(k1, r1) < t, 'kit vs rose');
  assert.ok(engine.similarity(o1, r1) < t, 'obama vs rose');
});

test('tight crops cut by the image border still match their own person', async () => {
  // 150 px face-api crops where the face fills the frame and is cut at the edges: the detector re-runs
  // with a grey border so the mesh crop covers the whole face (BlazeFace missed these pairs).
  const t = defaultVerifyThreshold(engine.defaultModelId);
  const emb = async (p: string) => (await one(read(`faces_extra/faceapi_bbt/${p}`), { embed: true })).faces[0].embedding!;
  const [s3, s4, s5, l5, sh3] = await Promise.all(['stuart/stuart3.png', 'stuart/stuart4.png', 'stuart/stuart5.png', 'leonard/leonard5.png', 'sheldon/sheldon3.png'].map(emb));
  assert.ok(engine.similarity(s3, s5) > t, 'stuart 3 vs 5');
  assert.ok(engine.similarity(s3, s4) > t, 'stuart 3 vs 4');
  assert.ok(engine.similarity(s5, l5) < t, 'stuart vs leonard');
  assert.ok(engine.similarity(l5, sh3) < t, 'leonard vs sheldon');
});

test('a tilted head (30°, 45°) and a sideways photo (90°, no EXIF) still match their own person', async () => {
  const t = defaultVerifyThreshold(engine.defaultModelId);
  const ref = (await one(read('faces_extra/face_recognition/obama/obama_01.jpg'), { embed: true })).faces[0].embedding!;
  for (const deg of [30, -45, 90]) {
    const tilted = await sharp(read('faces_extra/face_recognition/obama/obama_02.jpg')).rotate(deg, { background: '#808080' }).jpeg().toBuffer();
    const face = (await one(tilted, { embed: true })).faces[0];
    assert.ok(engine.similarity(ref, face.embedding!) > t, `${deg}°: similarity ${engine.similarity(ref, face.embedding!)}`);
    assert.ok(Math.abs(Math.abs(face.pose.roll) - Math.abs(deg)) < 15, `${deg}°: roll ${face.pose.roll}`);
    // yaw and pitch are measured in the face's upright frame: a sideways photo of a frontal face is frontal.
    assert.ok(Math.abs(face.pose.yaw) < 25 && Math.abs(face.pose.pitch) < 25, `${deg}°: yaw ${face.pose.yaw}, pitch ${face.pose.pitch}`);
  }
});

test('images without a human face give NO_FACE_DETECTED', async () => {
  for (const f of ['skimage_coffee.png', 'skimage_chelsea_cat.png', 'faceapi_white.png']) {
    assert.equal(await errorCode(one(read(`no_face/${f}`))), 'NO_FACE_DETECTED', f);
  }
});

test('multi-face images: every face is found, largest/refuse behave', async () => {
  const two = read('multi_face/fr_kit_with_rose.jpg');
  const all = await one(two, { multiple: 'all' });
  assert.equal(all.faces.length, 2);
  const largest = await one(two, { multiple: 'largest' });
  assert.equal(largest.faces.length, 1);
  assert.deepEqual(largest.faces[0].box, all.faces[0].box);
  assert.equal(await errorCode(one(two, { multiple: 'refuse' })), 'MULTIPLE_FACES');
  // multi_face.csv: bbt1 has 4 people, bbt3 and bbt5 five (one of bbt5's is half-turned).
  for (const [f, n] of [['faceapi_bbt1.jpg', 4], ['faceapi_bbt3.jpg', 5], ['faceapi_bbt5.jpg', 5]] as const) {
    const r = await one(read(`multi_face/${f}`), { multiple: 'all' });
    assert.ok(r.faces.length >= n, `${f}: ${r.faces.length} faces, expected ${n}`);
  }
});

test('quality: a 240p frame and a partial face score lower with the right suggestions', async () => {
  const hi = (await one(read('quality/obama_1080p.jpg'))).faces[0].quality;
  const low = (await one(read('quality/obama_240p.jpg'))).faces[0].quality;
  const partial = (await one(read('quality/obama_partial_face.jpg'))).faces[0].quality;
  assert.ok(hi.score > 0.7, `1080p ${hi.score}`);
  assert.ok(low.score < hi.score - 0.1, `240p ${low.score} vs ${hi.score}`);
  assert.ok(low.suggestions.includes('move_closer'), `240p: ${low.suggestions.join(',')}`);
  assert.ok(partial.score < hi.score - 0.1, `partial ${partial.score}`);
  assert.ok(partial.suggestions.includes('center_face'), `partial: ${partial.suggestions.join(',')}`);
  assert.match(low.message, /closer/);
  assert.deepEqual(hi.suggestions, []);
});

test('quality: a darkened photo scores lower and asks for better lighting', async () => {
  const src = read('faces_extra/face_recognition/obama/obama_01.jpg');
  const dark = await sharp(src).linear(0.18, 0).jpeg().toBuffer();
  const q0 = (await one(src)).faces[0].quality;
  const q1 = (await one(dark)).faces[0].quality;
  assert.ok(q1.score < q0.score - 0.15, `dark ${q1.score} vs ${q0.score}`);
  assert.ok(q1.suggestions.includes('improve_lighting'), q1.suggestions.join(','));
});

test('a mirrored image flips the yaw sign (and the turn suggestion / pose bucket)', async () => {
  // bbt2 holds three people, two of them turned ≈ ±28°; mirroring maps each face to its reflection.
  const src = read('multi_face/faceapi_bbt2.jpg');
  const mirrored = await sharp(src).flop().jpeg().toBuffer();
  const a = (await one(src, { multiple: 'all' })).faces;
  const b = (await one(mirrored, { multiple: 'all' })).faces;
  assert.equal(a.length, b.length);
  const W = (await sharp(src).metadata()).width!;
  for (const fa of a) {
    // The reflection of face fa: its box centre mirrored about the vertical axis.
    const cx = W - (fa.box.x + fa.box.width / 2);
    const fb = b.reduce((best, f) => (Math.abs(f.box.x + f.box.width / 2 - cx) < Math.abs(best.box.x + best.box.width / 2 - cx) ? f : best));
    assert.ok(Math.abs(fa.pose.yaw + fb.pose.yaw) < 8, `yaw ${fa.pose.yaw.toFixed(1)} vs mirrored ${fb.pose.yaw.toFixed(1)}`);
    if (Math.abs(fa.pose.yaw) > 20) {
      assert.equal(Math.sign(fa.pose.yaw), -Math.sign(fb.pose.yaw));
      const turn = (f: typeof fa) => f.quality.suggestions.find((s) => s === 'turn_left' || s === 'turn_right');
      assert.ok(turn(fa) && turn(fb) && turn(fa) !== turn(fb), `${turn(fa)} vs ${turn(fb)}`);
      assert.deepEqual([fa.quality.poseBucket, fb.quality.poseBucket].sort(), ['left', 'right']);
    }
  }
  assert.ok(a.some((f) => Math.abs(f.pose.yaw) > 20), 'bbt2 has a clearly turned face');
});

test('a truncated JPEG gives INVALID_IMAGE and the worker keeps serving', async () => {
  const src = read('faces_extra/face_recognition/obama/obama_01.jpg');
  assert.equal(await errorCode(one(src.subarray(0, Math.floor(src.length * 0.6)))), 'INVALID_IMAGE');
  assert.equal(await errorCode(one(Buffer.from('not an image'))), 'INVALID_IMAGE');
  const ok: AnalyzeResult = await one(src);
  assert.equal(ok.faces.length, 1);
  assert.equal(engine.status().state, 'online');
});
