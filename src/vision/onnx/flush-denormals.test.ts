import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { testDataDir } from '../../config/env.ts';
import { FACEPLUGIN_MODEL_PATH } from '../embedder/onnx-faceplugin/faceplugin-embedder.ts';
import { flushDenormalWeights } from './flush-denormals.ts';

test("the recogniser's negligible weights are zeroed without changing its embeddings", async () => {
  const original = readFileSync(FACEPLUGIN_MODEL_PATH);
  const before = createHash('sha256').update(original).digest('hex');
  const denormalOnly = flushDenormalWeights(original);
  const { bytes, flushed } = flushDenormalWeights(original, 1e-12);
  assert.equal(createHash('sha256').update(original).digest('hex'), before, 'the input buffer is left alone');
  assert.equal(bytes.length, original.length, 'edited in place: same length');
  assert.ok(denormalOnly.flushed > 1_000, `denormal weights: ${denormalOnly.flushed}`);
  assert.ok(flushed > 100_000, `weights below 1e-12: ${flushed}`);

  // A real face, 112×112, through both models: the same embedding.
  const face = await sharp(readFileSync(path.join(testDataDir(), 'lfw/Ai_Sugiyama/Ai_Sugiyama_0001.jpg')))
    .extract({ left: 69, top: 69, width: 112, height: 112 })
    .removeAlpha()
    .raw()
    .toBuffer();
  const x = new Float32Array(3 * 112 * 112);
  for (let i = 0; i < 112 * 112; i++) for (let c = 0; c < 3; c++) x[c * 112 * 112 + i] = (face[i * 3 + c] - 127) / 128;
  const embed = async (model: string | Uint8Array) => {
    const s = await ort.InferenceSession.create(model as Uint8Array, { intraOpNumThreads: 1 });
    const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, [1, 3, 112, 112]) });
    await s.release();
    const v = out[s.outputNames[0]].data as Float32Array;
    const n = Math.hypot(...v);
    return Array.from(v, (e) => e / n);
  };
  const a = await embed(FACEPLUGIN_MODEL_PATH);
  const b = await embed(bytes);
  const cos = a.reduce((acc, v, i) => acc + v * b[i], 0);
  assert.ok(cos > 0.99999, `cosine between the two embeddings ${cos}`);
});
