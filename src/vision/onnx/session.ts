import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { flushDenormalWeights } from './flush-denormals.ts';
import { preluAsConvs } from './prelu-as-convs.ts';

const require = createRequire(import.meta.url);
export const ort = require('onnxruntime-node') as typeof Ort;

/**
 * A model shipped in faceplugin-face-recognition-js (MIT; docs/vision.md): the detector
 * `fr_detect.onnx`, the recogniser `fr_feature.onnx`, the passive anti-spoof model `fr_liveness.onnx`.
 */
export function facepluginModel(file: 'fr_detect.onnx' | 'fr_feature.onnx' | 'fr_liveness.onnx'): string {
  return path.join(path.dirname(require.resolve('faceplugin-face-recognition-js/package.json')), 'model', file);
}

/**
 * An onnxruntime session for an inference worker (a model file, or ONNX bytes built in memory): one thread (one worker per core: parallelism comes
 * from workers), sequential, full graph optimisation. With `flushBelow`, weights smaller than that are
 * zeroed in memory first (flush-denormals.ts: denormal products are slow on x86 on every thread, and
 * `set_denormal_as_zero` only reaches the first thread that creates a session in the process). With
 * `preluAsConvs`, per-channel PRelu nodes become Relu and depthwise 1×1 Convs (prelu-as-convs.ts: the same
 * values bit for bit, faster where the model is built of them).
 */
export async function createWorkerSession(model: string | Uint8Array, opts: { flushBelow?: number; preluAsConvs?: boolean; threads?: number } = {}): Promise<Ort.InferenceSession> {
  const options: Ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: opts.threads ?? 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    extra: { session: { set_denormal_as_zero: '1' } },
  };
  // Always bytes: the edits below need them, and create() is overloaded on a path or bytes.
  let bytes = typeof model === 'string' ? readFileSync(model) : model;
  if (opts.flushBelow !== undefined) bytes = flushDenormalWeights(bytes, opts.flushBelow).bytes;
  if (opts.preluAsConvs) bytes = preluAsConvs(bytes).bytes;
  return ort.InferenceSession.create(bytes, options);
}
