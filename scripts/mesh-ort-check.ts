/**
 * The face mesh and the iris model on onnxruntime (converted in memory from Human's tfjs models) against
 * the same models on tfjs-wasm: equal outputs, and the time per run, on the crops a tracked stream feeds
 * the mesh and the eye pairs a liveness frame feeds the iris model.
 *
 *   node scripts/mesh-ort-check.ts [--frames N] [--rounds R]
 *
 * Crops: on each fakecam frame (N per clip, 5 clips) the detector finds the face and the crop the
 * tracker would fit on the next frame (`trackCrop`) is cut once (cropResize, not timed). Equality: max
 * |Δ| of the 468 × 3 points (in pixels of the 192 crop input, and in image pixels) and of the face
 * confidence, batch 1 and batch 4. Timing: tensor in → outputs read, tfjs and onnxruntime alternated per
 * crop (the order swapped every other crop) so background load hits both alike; R rounds over the crops.
 * Iris: both eyes of each face (64 × 64 around eye corners 33–133 and 263–362, 2.3 eye widths, as
 * MeshModel.refineEyes cuts them) as one batch of two, as a liveness frame runs it.
 */
import path from 'node:path';
import { createRequire } from 'node:module';
import { byPrimacy, createDetector } from '../src/vision/analyzer.ts';
import { decodeImage } from '../src/vision/decode/decode.ts';
import { HUMAN_MODELS_DIR } from '../src/vision/detector/human/load-human.ts';
import { cropResize, loadTf } from '../src/vision/detector/mesh/mesh-model.ts';
import { IRIS_JSON, OnnxFaceMesh, OnnxIris } from '../src/vision/detector/mesh/mesh-onnx.ts';
import { FAKECAM_CLIPS, streamFrames } from './lib/fakecam.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- tfjs graph model, as in mesh-model.ts */
const require = createRequire(import.meta.url);
const argv = process.argv.slice(2);
const FRAMES = Number(argv[argv.indexOf('--frames') + 1] || 40);
const ROUNDS = Number(argv[argv.indexOf('--rounds') + 1] || 1);
const PER = 192 * 192 * 3;

const tf = await loadTf();
const tfMesh = await require('@tensorflow/tfjs-converter').loadGraphModel(`file://${path.join(HUMAN_MODELS_DIR, 'facemesh.json')}`);
const ortMesh = await OnnxFaceMesh.create();
const detector = await createDetector();

/** What MeshModel did on tfjs: every output computed, confidence and mesh read back. */
async function runTf(pixels: Float32Array, batch: number): Promise<{ confidence: Float32Array; mesh: Float32Array }> {
  const input = tf.tensor4d(pixels, [batch, 192, 192, 3]);
  const outs = tfMesh.execute(input) as any[];
  try {
    const confidence = (await outs.find((t) => t.shape.at(-1) === 1).data()) as Float32Array;
    const mesh = (await outs.find((t) => t.shape.at(-1) === 1404).data()) as Float32Array;
    return { confidence, mesh };
  } finally {
    tf.dispose(outs);
    input.dispose();
  }
}

const crops: Array<{ pixels: Float32Array; side: number }> = [];
/** Both eyes of a face, 64 × 64 × 3 each, end to end. */
const eyePairs: Float32Array[] = [];
for (const clip of FAKECAM_CLIPS) {
  for (const jpeg of streamFrames(clip).slice(0, FRAMES)) {
    const img = await decodeImage(jpeg);
    const faces = await detector.detect(img, { passive: false });
    if (faces.length === 0) continue;
    const face = byPrimacy(faces, img.width, img.height)[0];
    const crop = detector.trackCrop!(face);
    crops.push({ pixels: cropResize(img, crop, 192), side: crop.side });
    const pair = new Float32Array(2 * 64 * 64 * 3);
    [[33, 133], [263, 362]].forEach(([a, b], k) => {
      const [p, q] = [face.mesh[a], face.mesh[b]];
      pair.set(cropResize(img, { cx: (p[0] + q[0]) / 2, cy: (p[1] + q[1]) / 2, side: 2.3 * Math.max(Math.abs(p[0] - q[0]), Math.abs(p[1] - q[1])) }, 64), k * 64 * 64 * 3);
    });
    eyePairs.push(pair);
  }
}

const diff = { b1: { px: 0, img: 0, conf: 0 }, b4: { px: 0, img: 0, conf: 0 } };
const compare = (key: 'b1' | 'b4', a: Awaited<ReturnType<typeof runTf>>, b: typeof a, sides: number[]) => {
  sides.forEach((side, i) => {
    diff[key].conf = Math.max(diff[key].conf, Math.abs(a.confidence[i] - b.confidence[i]));
    for (let j = i * 1404; j < (i + 1) * 1404; j++) {
      const d = Math.abs(a.mesh[j] - b.mesh[j]);
      diff[key].px = Math.max(diff[key].px, d);
      // z is in 1/192 of the crop side as well; x and y scale to image pixels by side / 192.
      diff[key].img = Math.max(diff[key].img, (d * side) / 192);
    }
  });
};

const times: Record<string, number[]> = { 'tfjs b1': [], 'ort b1': [], 'tfjs b4': [], 'ort b4': [] };
const timed = async (label: string, fn: () => Promise<Awaited<ReturnType<typeof runTf>>>) => {
  const t = performance.now();
  const r = await fn();
  times[label].push(performance.now() - t);
  return r;
};
// Warm-up (first-use allocations, JIT) for both, both batch sizes.
for (const b of [1, 4]) {
  const x = new Float32Array(b * PER);
  await runTf(x, b);
  await ortMesh.run(x, b);
}
for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < crops.length; i++) {
    const { pixels, side } = crops[i];
    const tfFirst = i % 2 === 0;
    const a = await (tfFirst ? timed('tfjs b1', () => runTf(pixels, 1)) : timed('ort b1', () => ortMesh.run(pixels, 1)));
    const b = await (tfFirst ? timed('ort b1', () => ortMesh.run(pixels, 1)) : timed('tfjs b1', () => runTf(pixels, 1)));
    const [tfOut, ortOut] = tfFirst ? [a, b] : [b, a];
    if (round === 0) compare('b1', tfOut, ortOut, [side]);
  }
  for (let i = 0; i + 4 <= crops.length; i += 4) {
    const group = crops.slice(i, i + 4);
    const pixels = new Float32Array(4 * PER);
    group.forEach((c, k) => pixels.set(c.pixels, k * PER));
    const tfFirst = (i / 4) % 2 === 0;
    const a = await (tfFirst ? timed('tfjs b4', () => runTf(pixels, 4)) : timed('ort b4', () => ortMesh.run(pixels, 4)));
    const b = await (tfFirst ? timed('ort b4', () => ortMesh.run(pixels, 4)) : timed('tfjs b4', () => runTf(pixels, 4)));
    if (round === 0) compare('b4', tfFirst ? a : b, tfFirst ? b : a, group.map((c) => c.side));
  }
}

console.log(`crops: ${crops.length} (${FAKECAM_CLIPS.length} clips × up to ${FRAMES} frames), ${ROUNDS} round(s)`);
for (const key of ['b1', 'b4'] as const) {
  const d = diff[key];
  console.log(`batch ${key.slice(1)}: max |Δ| points ${d.px.toExponential(2)} px of the 192 input (${d.img.toExponential(2)} image px), confidence ${d.conf.toExponential(2)}`);
}
const stat = (v: number[]) => {
  const s = [...v].sort((p, q) => p - q);
  const q = (f: number) => s[Math.min(s.length - 1, Math.floor(f * s.length))];
  return { mean: s.reduce((p, c) => p + c, 0) / s.length, p50: q(0.5), p95: q(0.95) };
};
console.log('ms per run          mean    p50    p95   (n)');
for (const [label, v] of Object.entries(times)) {
  const s = stat(v);
  console.log(`${label.padEnd(16)} ${s.mean.toFixed(2).padStart(7)} ${s.p50.toFixed(2).padStart(6)} ${s.p95.toFixed(2).padStart(6)}   (${v.length})`);
}
for (const b of ['b1', 'b4']) {
  console.log(`speed-up ${b}: ${(stat(times[`tfjs ${b}`]).mean / stat(times[`ort ${b}`]).mean).toFixed(2)}× (mean), ${(stat(times[`tfjs ${b}`]).p50 / stat(times[`ort ${b}`]).p50).toFixed(2)}× (p50)`);
}

// The iris model, both eyes per run, tfjs and onnxruntime alternated as above.
const tfIris = await require('@tensorflow/tfjs-converter').loadGraphModel(`file://${IRIS_JSON}`);
const ortIris = await OnnxIris.create();
const runTfIris = async (pair: Float32Array) => {
  const input = tf.tensor4d(pair, [2, 64, 64, 3]);
  const out = tfIris.execute(input);
  try {
    return (await out.data()) as Float32Array;
  } finally {
    tf.dispose([input, out]);
  }
};
await runTfIris(eyePairs[0]);
await ortIris.run(eyePairs[0], 2);
const irisTimes: Record<string, number[]> = { tfjs: [], ort: [] };
let irisDiff = 0;
for (let round = 0; round < ROUNDS; round++) {
  for (const [i, pair] of eyePairs.entries()) {
    const order = i % 2 === 0 ? (['tfjs', 'ort'] as const) : (['ort', 'tfjs'] as const);
    const out: Record<string, Float32Array> = {};
    for (const which of order) {
      const t = performance.now();
      out[which] = which === 'tfjs' ? await runTfIris(pair) : await ortIris.run(pair, 2);
      irisTimes[which].push(performance.now() - t);
    }
    for (let j = 0; j < out.tfjs.length; j++) irisDiff = Math.max(irisDiff, Math.abs(out.tfjs[j] - out.ort[j]));
  }
}
console.log(`iris, ${eyePairs.length} pairs of eyes: max |Δ| points ${irisDiff.toExponential(2)} px of the 64 input`);
for (const [label, v] of Object.entries(irisTimes)) {
  const st = stat(v);
  console.log(`iris ${label.padEnd(11)} ${st.mean.toFixed(2).padStart(7)} ${st.p50.toFixed(2).padStart(6)} ${st.p95.toFixed(2).padStart(6)}   (${v.length})`);
}
console.log(`speed-up iris: ${(stat(irisTimes.tfjs).mean / stat(irisTimes.ort).mean).toFixed(2)}× (mean)`);
