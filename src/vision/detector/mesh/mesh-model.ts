import { createRequire } from 'node:module';
import path from 'node:path';
import type { RgbImage } from '../../image.ts';
import { HUMAN_MODELS_DIR, WASM_DIR, installFileRouter } from '../human/load-human.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- tfjs is required as CommonJS so that Human,
   face-api and this module share one engine and one wasm backend per thread */
const require = createRequire(import.meta.url);

/** A square crop of the image in pixels (may reach outside the image: the outside reads as black). */
export interface Crop {
  cx: number;
  cy: number;
  side: number;
}

export type Mesh = Array<[number, number, number]>;

const MESH_INPUT = 192;

let tfPromise: Promise<any> | null = null;

/** tfjs-core on the wasm backend (SIMD), models answered from disk by the file:// router. */
export function loadTf(): Promise<any> {
  tfPromise ??= (async () => {
    const tf = require('@tensorflow/tfjs-core');
    require('@tensorflow/tfjs-converter');
    const wasm = require('@tensorflow/tfjs-backend-wasm');
    if (tf.getBackend() !== 'wasm') {
      wasm.setWasmPaths(WASM_DIR);
      await tf.setBackend('wasm');
      await tf.ready();
    }
    installFileRouter(tf);
    return tf;
  })();
  return tfPromise;
}

/**
 * MediaPipe FaceMesh (468 points) on tfjs-wasm, fed with crops we cut ourselves, so the face box can
 * come from any detector. Crop sampling and coordinate mapping follow Human's facemesh pipeline (MIT)
 * with rotation correction off. (Human's iris model, which re-fits the eye contours, is not used: eye
 * openness from the mesh alone detects the blinks of scripts/liveness-eval.ts, and it cost ≈ 10 ms.)
 *
 * @example const m = await MeshModel.create(); const r = await m.run(img, { cx, cy, side }, false);
 */
export class MeshModel {
  private constructor(
    private readonly tf: any,
    private readonly mesh: any,
  ) {}

  static async create(): Promise<MeshModel> {
    const tf = await loadTf();
    const converter = require('@tensorflow/tfjs-converter');
    const mesh = await converter.loadGraphModel(`file://${path.join(HUMAN_MODELS_DIR, 'facemesh.json')}`);
    return new MeshModel(tf, mesh);
  }

  /**
   * Landmarks of the face in `crop`: 468 mesh points in image pixels (z in crop units of 1/192 of its
   * side), plus the mesh model's face confidence 0..1.
   */
  async run(img: RgbImage, crop: Crop): Promise<{ mesh: Mesh; confidence: number }> {
    const { tf } = this;
    const pixels = cropResize(img, crop, MESH_INPUT);
    const input = tf.tensor4d(pixels, [1, MESH_INPUT, MESH_INPUT, 3]);
    let raw: number[][] = [];
    let confidence: number;
    try {
      const outs = this.mesh.execute(input) as any[];
      try {
        const confT = outs.find((t) => t.shape[t.shape.length - 1] === 1);
        const meshT = outs.find((t) => t.shape[t.shape.length - 1] === 1404);
        confidence = (await confT.data())[0];
        const flat = (await meshT.data()) as Float32Array;
        raw = [];
        for (let i = 0; i < 468; i++) raw.push([flat[i * 3], flat[i * 3 + 1], flat[i * 3 + 2]]);
      } finally {
        tf.dispose(outs);
      }
    } finally {
      input.dispose();
    }
    const k = crop.side / MESH_INPUT;
    const mesh: Mesh = raw.map(([x, y, z]) => [crop.cx + k * (x - MESH_INPUT / 2), crop.cy + k * (y - MESH_INPUT / 2), z]);
    return { mesh, confidence };
  }
}

/**
 * Bilinear crop-and-resize of a square region to size×size RGB floats in 0..1 (NHWC), sampling like
 * tf.image.cropAndResize (corner-aligned), black outside the image.
 */
export function cropResize(img: RgbImage, crop: Crop, size: number): Float32Array {
  const { data, width, height } = img;
  const out = new Float32Array(size * size * 3);
  const x0 = crop.cx - crop.side / 2, y0 = crop.cy - crop.side / 2;
  const stepX = ((crop.side) * (width - 1)) / width / (size - 1);
  const stepY = ((crop.side) * (height - 1)) / height / (size - 1);
  const baseX = (x0 * (width - 1)) / width, baseY = (y0 * (height - 1)) / height;
  for (let v = 0; v < size; v++) {
    const sy = baseY + v * stepY;
    if (sy < 0 || sy > height - 1) continue;
    const yi = Math.floor(sy), y1 = Math.min(height - 1, yi + 1), fy = sy - yi;
    for (let u = 0; u < size; u++) {
      const sx = baseX + u * stepX;
      if (sx < 0 || sx > width - 1) continue;
      const xi = Math.floor(sx), x1 = Math.min(width - 1, xi + 1), fx = sx - xi;
      const a = (yi * width + xi) * 3, b = (yi * width + x1) * 3, c = (y1 * width + xi) * 3, d = (y1 * width + x1) * 3;
      const o = (v * size + u) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const top = data[a + ch] + (data[b + ch] - data[a + ch]) * fx;
        const bot = data[c + ch] + (data[d + ch] - data[c + ch]) * fx;
        out[o + ch] = (top + (bot - top) * fy) / 255;
      }
    }
  }
  return out;
}
