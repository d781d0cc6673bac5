import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { testDataDir } from '../../config/env.ts';
import { FACEPLUGIN_MODEL_PATH } from '../embedder/onnx-faceplugin/faceplugin-embedder.ts';
import { flushDenormalWeights } from './flush-denormals.ts';
import { encodeOnnxModel, protoFields, protoString } from './onnx-proto.ts';
import { preluAsConvs } from './prelu-as-convs.ts';

const options = { intraOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' } as const;

/** The op types of a model's graph nodes. */
function ops(model: Uint8Array): string[] {
  const graph = protoFields(model).find((f) => f.field === 7)!;
  return protoFields(model, graph.start, graph.end)
    .filter((f) => f.field === 1)
    .map((f) => protoString(model, protoFields(model, f.start, f.end).find((g) => g.field === 4)!));
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

test("issue 11: the recogniser's PRelu as Relu + depthwise Convs gives the same embeddings bit for bit", async () => {
  const flushed = flushDenormalWeights(readFileSync(FACEPLUGIN_MODEL_PATH), 1e-12).bytes;
  const { bytes, rewritten } = preluAsConvs(flushed);
  assert.equal(rewritten, 33);
  assert.equal(ops(flushed).filter((o) => o === 'PRelu').length, 33);
  assert.equal(ops(bytes).filter((o) => o === 'PRelu').length, 0, 'no PRelu left');
  const [before, after] = await Promise.all([ort.InferenceSession.create(flushed, options), ort.InferenceSession.create(bytes, options)]);
  // Real faces (the middle 112×112 of LFW photos, as the embedder normalises them) and their negatives.
  const lfw = path.join(testDataDir(), 'lfw');
  for (const person of readdirSync(lfw).slice(0, 12)) {
    const file = path.join(lfw, person, readdirSync(path.join(lfw, person))[0]);
    const face = await sharp(readFileSync(file)).extract({ left: 69, top: 69, width: 112, height: 112 }).removeAlpha().raw().toBuffer();
    const x = new Float32Array(3 * 112 * 112);
    for (let i = 0; i < 112 * 112; i++) for (let c = 0; c < 3; c++) x[c * 112 * 112 + i] = (face[i * 3 + c] - 127) / 128;
    for (const input of [x, x.map((v) => -v)]) {
      const feeds = { input: new ort.Tensor('float32', input, [1, 3, 112, 112]) };
      const [a, b] = [(await before.run(feeds)).output.data as Float32Array, (await after.run(feeds)).output.data as Float32Array];
      assert.ok(sameBits(a, b), `${person}: the same 512 floats`);
    }
  }
});

test('issue 11: only per-channel PRelu is rewritten; a shared slope stays a PRelu, and both give PRelu\'s values', async () => {
  const model = (slopeDims: number[], slope: Float32Array) =>
    encodeOnnxModel({
      opset: 13,
      nodes: [{ op: 'PRelu', inputs: ['x', 'slope'], outputs: ['y'] }],
      initializers: [{ name: 'slope', dims: slopeDims, data: slope }],
      inputs: [{ name: 'x', shape: [1, 4, 2, 3] }],
      outputs: [{ name: 'y', shape: [1, 4, 2, 3] }],
    });
  const x = Float32Array.from({ length: 24 }, (_, i) => (i % 5 === 0 ? 0 : (i - 11.5) * 0.37));
  const prelu = (slopeOf: (c: number) => number) => x.map((v, i) => (v >= 0 ? v : slopeOf(Math.floor(i / 6)) * v));
  const cases = [
    { dims: [4, 1, 1], slope: Float32Array.of(0.25, -0.5, 1.5, 0), rewritten: 1 },
    { dims: [1, 4, 1, 1], slope: Float32Array.of(0.1, 0.2, 0.3, 0.4), rewritten: 1 },
    { dims: [1], slope: Float32Array.of(0.25), rewritten: 0 },
  ];
  for (const c of cases) {
    const { bytes, rewritten } = preluAsConvs(model(c.dims, c.slope));
    assert.equal(rewritten, c.rewritten, `slope ${JSON.stringify(c.dims)}`);
    const session = await ort.InferenceSession.create(bytes, options);
    const y = (await session.run({ x: new ort.Tensor('float32', x, [1, 4, 2, 3]) })).y.data as Float32Array;
    const want = prelu((ch) => (c.slope.length === 1 ? c.slope[0] : c.slope[ch]));
    assert.deepEqual([...y], [...want], `slope ${JSON.stringify(c.dims)}`);
  }
});
