import type { DetectedFace } from '../detector/types.ts';
import type { RgbImage } from '../image.ts';

/**
 * A face recogniser backend. Each backend aligns the face its own way from the detector's output and
 * returns an L2-normalised embedding; embeddings of different `id`s never compare.
 *
 * @example const e = await embedder.embed(img, faces[0]); // Float32Array(embedder.dims), ‖e‖ = 1
 */
export interface Embedder {
  readonly id: string;
  readonly dims: number;
  /** `arcface112`: the face already warped to the ArcFace 112×112 template (alignArcface), when the caller
   * has it; a backend that aligns that way uses it instead of warping again. */
  embed(img: RgbImage, face: DetectedFace, arcface112?: RgbImage): Promise<Float32Array>;
}

export function l2normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const n = Math.sqrt(s) || 1;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] / n;
  return out;
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
