import path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { HUMAN_MODELS_DIR } from '../human/load-human.ts';
import { createWorkerSession, ort } from '../../onnx/session.ts';
import { encodeOnnxModel } from '../../onnx/onnx-proto.ts';
import { readTfjsGraph } from './tfjs-graph.ts';
import { tfjsToOnnx } from './tfjs-to-onnx.ts';

/** Human's MediaPipe FaceMesh as shipped in node_modules (tfjs graph model, float16 weights). */
export const FACEMESH_JSON = path.join(HUMAN_MODELS_DIR, 'facemesh.json');

/** Human's MediaPipe Iris (eye contours, brows and iris of one 64 × 64 eye crop), as shipped in node_modules. */
export const IRIS_JSON = path.join(HUMAN_MODELS_DIR, 'iris.json');

/** The graph outputs the mesh needs (model.json signature: output_faceflag, output_mesh); contours are left out. */
const OUTPUTS = { confidence: 'Identity_1', mesh: 'Identity_2' };

/**
 * FaceMesh as ONNX bytes, converted in memory from the tfjs model in node_modules (nothing downloaded
 * or written): the same weights and arithmetic, for onnxruntime (≈ 3× faster than tfjs-wasm here, docs/vision.md).
 */
export function facemeshOnnx(jsonPath = FACEMESH_JSON): Uint8Array {
  const model = tfjsToOnnx(readTfjsGraph(jsonPath), OUTPUTS);
  const dims = model.outputs.map((o) => o.shape.at(-1));
  if (dims[0] !== 1 || dims[1] !== 1404) throw new Error(`facemesh: unexpected outputs ${JSON.stringify(model.outputs)}`);
  return encodeOnnxModel(model);
}

/**
 * FaceMesh on onnxruntime (one thread, like the other worker models): NHWC float input
 * [batch, 192, 192, 3] in 0..1, as tfjs took it; per item the face confidence and 468 × 3 points in
 * pixels of the 192 input.
 *
 * @example const m = await OnnxFaceMesh.create(); const { confidence, mesh } = await m.run(pixels, 1);
 */
export class OnnxFaceMesh {
  private readonly session: Ort.InferenceSession;
  private constructor(session: Ort.InferenceSession) {
    this.session = session;
  }

  static async create(jsonPath = FACEMESH_JSON): Promise<OnnxFaceMesh> {
    return new OnnxFaceMesh(await createWorkerSession(facemeshOnnx(jsonPath)));
  }

  /** One pass over `batch` crops laid end to end in `pixels` (NHWC, 192 × 192 × 3 each). */
  async run(pixels: Float32Array, batch: number): Promise<{ confidence: Float32Array; mesh: Float32Array }> {
    const input = new ort.Tensor('float32', pixels, [batch, 192, 192, 3]);
    const out = await this.session.run({ [this.session.inputNames[0]]: input });
    return { confidence: out.confidence.data as Float32Array, mesh: out.mesh.data as Float32Array };
  }
}

/**
 * Iris on onnxruntime, converted in memory like the mesh: NHWC float input [batch, 64, 64, 3] in 0..1;
 * per item 76 points × 3 (71 eye contour and brow points, then 5 iris points) in pixels of the 64 input,
 * as tfjs's model gave them (within float rounding: mesh-onnx.test.ts). On tfjs-wasm the pair of eyes
 * took ≈ 11 ms per liveness frame.
 */
export class OnnxIris {
  private readonly session: Ort.InferenceSession;
  private constructor(session: Ort.InferenceSession) {
    this.session = session;
  }

  static async create(jsonPath = IRIS_JSON): Promise<OnnxIris> {
    const model = tfjsToOnnx(readTfjsGraph(jsonPath), { points: 'Identity' });
    if (model.outputs[0].shape.at(-1) !== 228) throw new Error(`iris: unexpected output ${JSON.stringify(model.outputs)}`);
    return new OnnxIris(await createWorkerSession(encodeOnnxModel(model)));
  }

  /** One pass over `batch` eye crops laid end to end in `pixels` (NHWC, 64 × 64 × 3 each): 228 floats each. */
  async run(pixels: Float32Array, batch: number): Promise<Float32Array> {
    const input = new ort.Tensor('float32', pixels, [batch, 64, 64, 3]);
    const out = await this.session.run({ [this.session.inputNames[0]]: input });
    return out.points.data as Float32Array;
  }
}
