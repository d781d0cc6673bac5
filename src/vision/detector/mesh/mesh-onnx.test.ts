/**
 * The face mesh converted to ONNX (mesh-onnx.ts) against Human's tfjs model it comes from, on the faces
 * of ../shared/data/multi_face: the same points and confidences within float rounding, upright and
 * turned crops, one at a time and batched. Fails if the conversion (weights, padding, layout) breaks.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { before, test } from 'node:test';
import { testDataDir } from '../../../config/env.ts';
import { createDetector } from '../../analyzer.ts';
import { decodeImage } from '../../decode/decode.ts';
import { cropResize, loadTf } from './mesh-model.ts';
import { FACEMESH_JSON, IRIS_JSON, OnnxFaceMesh, OnnxIris } from './mesh-onnx.ts';
import { halfToFloat } from './tfjs-graph.ts';
import { tfPadding } from './tfjs-to-onnx.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- tfjs graph model, as in mesh-model.ts */
const require = createRequire(import.meta.url);
const PER = 192 * 192 * 3;
const IMAGES = ['faceapi_bbt1.jpg', 'faceapi_bbt3.jpg', 'fr_obama_and_biden.jpg', 'fr_two_people.jpg', 'fr_kit_with_rose.jpg'];

let onnx: OnnxFaceMesh;
let tf: any;
let tfMesh: any;
const crops: Float32Array[] = [];
/** 64 × 64 crops around real eyes (corners 33–133 and 263–362 of the mesh, 2.3 eye widths, as refineEyes cuts). */
const eyes: Float32Array[] = [];
const IRIS_PER = 64 * 64 * 3;

async function runTf(pixels: Float32Array, batch: number): Promise<{ confidence: Float32Array; mesh: Float32Array }> {
  const input = tf.tensor4d(pixels, [batch, 192, 192, 3]);
  const outs = tfMesh.execute(input) as any[];
  try {
    return {
      confidence: (await outs.find((t) => t.shape.at(-1) === 1).data()) as Float32Array,
      mesh: (await outs.find((t) => t.shape.at(-1) === 1404).data()) as Float32Array,
    };
  } finally {
    tf.dispose(outs);
    input.dispose();
  }
}

before(async () => {
  tf = await loadTf();
  tfMesh = await require('@tensorflow/tfjs-converter').loadGraphModel(`file://${FACEMESH_JSON}`);
  onnx = await OnnxFaceMesh.create();
  const detector = await createDetector();
  for (const file of IMAGES) {
    const img = await decodeImage(readFileSync(path.join(testDataDir(), 'multi_face', file)));
    for (const face of (await detector.detect(img, { passive: false })).slice(0, 3)) {
      const crop = detector.trackCrop!(face);
      crops.push(cropResize(img, crop, 192), cropResize(img, { ...crop, angle: 0.6 }, 192));
      for (const [a, b] of [[33, 133], [263, 362]]) {
        const [p, q] = [face.mesh[a], face.mesh[b]];
        eyes.push(cropResize(img, { cx: (p[0] + q[0]) / 2, cy: (p[1] + q[1]) / 2, side: 2.3 * Math.max(Math.abs(p[0] - q[0]), Math.abs(p[1] - q[1])) }, 64));
      }
    }
  }
});

test('onnxruntime mesh equals the tfjs mesh on real faces (float rounding only)', async () => {
  assert.ok(crops.length >= 16, `${crops.length} crops`);
  let maxPoint = 0, maxConf = 0, confident = 0;
  for (const pixels of crops) {
    const [a, b] = [await runTf(pixels, 1), await onnx.run(pixels, 1)];
    assert.equal(b.mesh.length, 1404);
    for (let j = 0; j < 1404; j++) maxPoint = Math.max(maxPoint, Math.abs(a.mesh[j] - b.mesh[j]));
    maxConf = Math.max(maxConf, Math.abs(a.confidence[0] - b.confidence[0]));
    if (a.confidence[0] > 0.9) confident++;
  }
  assert.ok(confident >= crops.length / 2, `${confident} of ${crops.length} crops hold a face`); // real faces, not noise
  assert.ok(maxPoint < 0.01, `max point difference ${maxPoint} px of the 192 input`);
  assert.ok(maxConf < 1e-4, `max confidence difference ${maxConf}`);
});

test('a batch gives each crop exactly what it gets alone, and matches tfjs batched', async () => {
  const batch = crops.slice(0, 4);
  const pixels = new Float32Array(4 * PER);
  batch.forEach((c, i) => pixels.set(c, i * PER));
  const together = await onnx.run(pixels, 4);
  const reference = await runTf(pixels, 4);
  for (let i = 0; i < 4; i++) {
    const alone = await onnx.run(batch[i], 1);
    assert.deepEqual(together.mesh.slice(i * 1404, (i + 1) * 1404), alone.mesh);
    assert.equal(together.confidence[i], alone.confidence[0]);
  }
  let maxPoint = 0;
  for (let j = 0; j < 4 * 1404; j++) maxPoint = Math.max(maxPoint, Math.abs(together.mesh[j] - reference.mesh[j]));
  assert.ok(maxPoint < 0.01, `batched: max point difference ${maxPoint}`);
});

test('onnxruntime iris equals the tfjs iris on real eyes (float rounding only), alone and in pairs', async () => {
  const tfIris = await require('@tensorflow/tfjs-converter').loadGraphModel(`file://${IRIS_JSON}`);
  const iris = await OnnxIris.create();
  assert.ok(eyes.length >= 16, `${eyes.length} eyes`);
  let maxPoint = 0;
  for (let i = 0; i + 1 < eyes.length; i += 2) {
    const pair = new Float32Array(2 * IRIS_PER);
    pair.set(eyes[i], 0);
    pair.set(eyes[i + 1], IRIS_PER);
    const input = tf.tensor4d(pair, [2, 64, 64, 3]);
    const out = tfIris.execute(input);
    const reference = (await out.data()) as Float32Array;
    tf.dispose([input, out]);
    const ours = await iris.run(pair, 2);
    assert.equal(ours.length, 2 * 228);
    for (let j = 0; j < ours.length; j++) maxPoint = Math.max(maxPoint, Math.abs(ours[j] - reference[j]));
    assert.deepEqual(ours.slice(228), await iris.run(eyes[i + 1], 1));
  }
  assert.ok(maxPoint < 0.01, `max iris point difference ${maxPoint} px of the 64 input`);
});

test('a liveness detection runs the iris model once per face, on the crop it keeps', async () => {
  const detector = (await createDetector()) as any;
  let irisRuns = 0, meshRuns = 0;
  const { mesh } = detector;
  const [run, irisRun] = [mesh.run.bind(mesh), mesh.iris.run.bind(mesh.iris)];
  mesh.run = (...a: unknown[]) => (meshRuns++, run(...a));
  mesh.iris.run = (...a: unknown[]) => (irisRuns++, irisRun(...a));
  let faces = 0;
  for (const file of IMAGES) {
    const img = await decodeImage(readFileSync(path.join(testDataDir(), 'multi_face', file)));
    const found = await detector.detect(img, { passive: false, refineEyes: true });
    faces += found.length;
    // The refined mesh: the 468 points plus 10 iris points.
    for (const f of found) assert.equal(f.mesh.length, 478);
  }
  // More crops were tried than faces kept (re-crops, turned crops): each of those used to run the iris model too.
  assert.ok(meshRuns > faces, `${meshRuns} mesh runs for ${faces} faces`);
  assert.equal(irisRuns, faces);
});

test("TF 'SAME' padding: asymmetric at stride 2 (the extra pad after), none for VALID", () => {
  assert.deepEqual(tfPadding('SAME', 192, 3, 2, 1), { out: 96, before: 0, after: 1 });
  assert.deepEqual(tfPadding('SAME', 96, 3, 1, 1), { out: 96, before: 1, after: 1 });
  assert.deepEqual(tfPadding('SAME', 95, 5, 2, 1), { out: 48, before: 2, after: 2 });
  assert.deepEqual(tfPadding('VALID', 3, 3, 3, 1), { out: 1, before: 0, after: 0 });
});

test('float16 weights widen exactly', () => {
  assert.equal(halfToFloat(0x3c00), 1);
  assert.equal(halfToFloat(0xc000), -2);
  assert.equal(halfToFloat(0x3555), 0.333251953125);
  assert.equal(halfToFloat(0x0001), 2 ** -24); // subnormal
  assert.equal(halfToFloat(0x7bff), 65504);
  assert.equal(halfToFloat(0xfc00), -Infinity);
});
