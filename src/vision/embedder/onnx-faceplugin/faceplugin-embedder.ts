import type * as Ort from 'onnxruntime-node';
import { alignArcface } from '../../align/similarity.ts';
import { floatPool } from '../../buffer-pool.ts';
import { createWorkerSession, facepluginModel, ort } from '../../onnx/session.ts';
import type { DetectedFace } from '../../detector/types.ts';
import { mirrorRgb, type RgbImage } from '../../image.ts';
import { l2normalize, type Embedder } from '../types.ts';

export const FACEPLUGIN_MODEL_PATH = facepluginModel('fr_feature.onnx');

/**
 * The 512-d recogniser `fr_feature.onnx` from the npm package faceplugin-face-recognition-js (MIT), on
 * onnxruntime-node: ArcFace-style 5-point alignment to 112×112, input RGB (x−127)/128 NCHW.
 * With `flip`, the embedding is the normalised sum of the crop's and its mirror's embeddings.
 *
 * @example const emb = await FacepluginEmbedder.create({ flip: true }); await emb.embed(img, face);
 */
export class FacepluginEmbedder implements Embedder {
  readonly dims = 512;

  readonly id: string;
  private readonly session: Ort.InferenceSession;
  private readonly flip: boolean;
  private constructor(
    id: string,
    session: Ort.InferenceSession,
    flip: boolean,
  ) {
    this.id = id; this.session = session; this.flip = flip;
  }

  static async create(opts: { id: string; flip: boolean; threads?: number }): Promise<FacepluginEmbedder> {
    // About 196k of the model's weights are below 1e-12 (dead channels); products with them are denormal
    // floats, which x86 computes on a microcode slow path: 66 ms per pass instead of 9. onnxruntime's
    // `set_denormal_as_zero` reaches only the first thread of the process that creates a session, so
    // every other worker thread stayed slow. Zeroing those weights fixes all threads; the embeddings are
    // unchanged to 5 decimals and the eval numbers are identical (docs/vision.md).
    // Its 33 PRelu run as Relu + depthwise Convs: the same embeddings bit for bit, a pass 8.7 → 3.5 ms
    // (prelu-as-convs.ts; docs/vision.md, "Recogniser speed").
    const session = await createWorkerSession(FACEPLUGIN_MODEL_PATH, { flushBelow: 1e-12, preluAsConvs: true, threads: opts.threads });
    return new FacepluginEmbedder(opts.id, session, opts.flip);
  }

  async embed(img: RgbImage, face: DetectedFace, arcface112?: RgbImage): Promise<Float32Array> {
    const crop = arcface112 ?? alignArcface(img, face.five, 112);
    const a = await this.run(crop);
    if (!this.flip) return l2normalize(a);
    const b = await this.run(mirrorRgb(crop));
    const sum = new Float32Array(a.length);
    for (let i = 0; i < a.length; i++) sum[i] = a[i] + b[i];
    return l2normalize(sum);
  }

  private async run(crop: RgbImage): Promise<Float32Array> {
    const n = crop.width * crop.height;
    const x = floatPool.take(3 * n); // every element written below
    try {
      for (let i = 0; i < n; i++) {
        x[i] = (crop.data[i * 3] - 127) / 128;
        x[n + i] = (crop.data[i * 3 + 1] - 127) / 128;
        x[2 * n + i] = (crop.data[i * 3 + 2] - 127) / 128;
      }
      const out = await this.session.run({ input: new ort.Tensor('float32', x, [1, 3, crop.height, crop.width]) });
      return new Float32Array(out.output.data as Float32Array);
    } finally {
      floatPool.give(x);
    }
  }
}
