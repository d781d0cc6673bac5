import { createRequire } from 'node:module';
import { floatPool } from '../../buffer-pool.ts';
import type { RgbImage } from '../../image.ts';
import { WASM_DIR, installFileRouter } from '../human/load-human.ts';
import { OnnxFaceMesh, OnnxIris } from './mesh-onnx.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- tfjs is required as CommonJS so that Human,
   face-api and this module share one engine and one wasm backend per thread */
const require = createRequire(import.meta.url);

/**
 * A square crop of the image in pixels (may reach outside the image: the outside reads as black),
 * optionally turned by `angle` radians (clockwise in image coordinates) so that a tilted face sits
 * upright in it.
 */
export interface Crop {
  cx: number;
  cy: number;
  side: number;
  angle?: number;
}

export type Mesh = Array<[number, number, number]>;

const MESH_INPUT = 192;
const IRIS_INPUT = 64;

/** Eye contours of the mesh that the iris model re-fits (MediaPipe's order, as in Human's facemeshcoords). */
const EYE_CONTOURS: Record<'left' | 'right', Record<string, number[]>> = {
  right: {
    Upper0: [246, 161, 160, 159, 158, 157, 173], Lower0: [33, 7, 163, 144, 145, 153, 154, 155, 133],
    Upper1: [247, 30, 29, 27, 28, 56, 190], Lower1: [130, 25, 110, 24, 23, 22, 26, 112, 243],
    Upper2: [113, 225, 224, 223, 222, 221, 189], Lower2: [226, 31, 228, 229, 230, 231, 232, 233, 244],
    Lower3: [143, 111, 117, 118, 119, 120, 121, 128, 245],
    BrowUpper: [156, 70, 63, 105, 66, 107, 55, 193], BrowLower: [35, 124, 46, 53, 52, 65],
  },
  left: {
    Upper0: [466, 388, 387, 386, 385, 384, 398], Lower0: [263, 249, 390, 373, 374, 380, 381, 382, 362],
    Upper1: [467, 260, 259, 257, 258, 286, 414], Lower1: [359, 255, 339, 254, 253, 252, 256, 341, 463],
    Upper2: [342, 445, 444, 443, 442, 441, 413], Lower2: [446, 261, 448, 449, 450, 451, 452, 453, 464],
    Lower3: [372, 340, 346, 347, 348, 349, 350, 357, 465],
    BrowUpper: [383, 300, 293, 334, 296, 336, 285, 417], BrowLower: [265, 353, 276, 283, 282, 295],
  },
};
/** Which of the iris model's 71 contour points land on each mesh contour. */
const IRIS_TO_MESH: Record<string, number[]> = {
  Upper0: [9, 10, 11, 12, 13, 14, 15], Upper1: [25, 26, 27, 28, 29, 30, 31], Upper2: [41, 42, 43, 44, 45, 46, 47],
  Lower0: [0, 1, 2, 3, 4, 5, 6, 7, 8], Lower1: [16, 17, 18, 19, 20, 21, 22, 23, 24],
  Lower2: [32, 33, 34, 35, 36, 37, 38, 39, 40], Lower3: [54, 55, 56, 57, 58, 59, 60, 61, 62],
  BrowUpper: [63, 64, 65, 66, 67, 68, 69, 70], BrowLower: [48, 49, 50, 51, 52, 53],
};

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
 * MediaPipe FaceMesh (468 points) and, on request, Iris, both on onnxruntime (converted in memory from
 * Human's tfjs models, the same outputs within float rounding; the mesh ≈ 3× and the iris ≈ 3.5× faster
 * than on tfjs-wasm: mesh-onnx.ts), fed with crops we cut ourselves, so the face box can come from any detector. Crop
 * sampling, coordinate mapping and the iris refinement follow Human's facemesh pipeline (MIT) with
 * rotation correction off.
 *
 * @example const m = await MeshModel.create(); const r = await m.run(img, { cx, cy, side }); const eyes = await m.refine(img, crop, r.raw);
 */
export class MeshModel {
  private readonly mesh: OnnxFaceMesh;
  private readonly iris: OnnxIris;
  private constructor(mesh: OnnxFaceMesh, iris: OnnxIris) {
    this.mesh = mesh; this.iris = iris;
  }

  static async create(): Promise<MeshModel> {
    const [mesh, iris] = await Promise.all([OnnxFaceMesh.create(), OnnxIris.create()]);
    return new MeshModel(mesh, iris);
  }

  /**
   * Landmarks of the face in `crop`: 468 mesh points in image pixels (z in 1/192 of the crop side), and
   * the mesh model's face confidence 0..1; `raw`, the same points in pixels of the 192 input (what
   * `refine` takes).
   */
  async run(img: RgbImage, crop: Crop): Promise<{ mesh: Mesh; confidence: number; raw: number[][] }> {
    const pixels = cropResize(img, crop, MESH_INPUT, floatPool.take(MESH_INPUT * MESH_INPUT * 3));
    try {
      const out = await this.mesh.run(pixels, 1);
      const raw = rawPoints(out.mesh, 0);
      return { mesh: meshInImage(raw, crop), confidence: out.confidence[0], raw };
    } finally {
      floatPool.give(pixels);
    }
  }

  /**
   * The mesh `run` found in `crop` (its `raw` points) with its eye contours re-fitted by the iris model
   * plus 10 iris points (478), for finer eye openness (liveness frames, +≈ 3.5 ms). The crop's pixels are
   * cut again (the same floats), so a caller that tries several crops refines only the one it keeps.
   */
  async refine(img: RgbImage, crop: Crop, raw: number[][]): Promise<Mesh> {
    const pixels = cropResize(img, crop, MESH_INPUT, floatPool.take(MESH_INPUT * MESH_INPUT * 3));
    try {
      return meshInImage(await this.refineEyes(raw, pixels), crop);
    } finally {
      floatPool.give(pixels);
    }
  }

  /**
   * `run` on several crops (of one image or several) in one pass of the mesh model, without eye
   * refinement: the same landmarks and confidences as one crop at a time (bit for bit: the model's
   * batch axis is free), for less time per crop (docs/vision.md, "Tracking in streams": batching).
   */
  async runBatch(items: Array<{ img: RgbImage; crop: Crop }>): Promise<Array<{ mesh: Mesh; confidence: number; raw: number[][] }>> {
    const per = MESH_INPUT * MESH_INPUT * 3;
    const pixels = floatPool.take(items.length * per);
    try {
      items.forEach((it, i) => cropResize(it.img, it.crop, MESH_INPUT, pixels.subarray(i * per, (i + 1) * per)));
      const { confidence: conf, mesh: flat } = await this.mesh.run(pixels, items.length);
      return items.map((it, b) => {
        const raw = rawPoints(flat, b);
        return { mesh: meshInImage(raw, it.crop), confidence: conf[b], raw };
      });
    } finally {
      floatPool.give(pixels);
    }
  }

  /** Iris model on both eyes: 64×64 crops of the mesh input, the left eye mirrored as MediaPipe does. */
  private async refineEyes(raw: number[][], face: Float32Array): Promise<number[][]> {
    const eyes = (['left', 'right'] as const).map((side) => {
      const c = EYE_CONTOURS[side].Lower0;
      const a = raw[c[0]], b = raw[c[c.length - 1]];
      const s = Math.round(2.3 * Math.max(Math.abs(a[0] - b[0]), Math.abs(a[1] - b[1])));
      return { side, crop: { cx: (a[0] + b[0]) / 2, cy: (a[1] + b[1]) / 2, side: Math.max(1, s) }, flip: side === 'left' };
    });
    const per = IRIS_INPUT * IRIS_INPUT * 3;
    const batch = new Float32Array(2 * per);
    eyes.forEach((e, i) => batch.set(cropResizeFloat(face, MESH_INPUT, e.crop, IRIS_INPUT, e.flip), i * per));
    const data = await this.iris.run(batch, 2);
    const points = eyes.map((e, i) => {
      const k = e.crop.side / IRIS_INPUT;
      const pts: number[][] = [];
      for (let j = 0; j < 76; j++) {
        const o = i * 76 * 3 + j * 3;
        const u = e.flip ? IRIS_INPUT - data[o] : data[o];
        pts.push([e.crop.cx + k * (u - IRIS_INPUT / 2), e.crop.cy + k * (data[o + 1] - IRIS_INPUT / 2), data[o + 2]]);
      }
      return pts;
    });
    const out = raw.map((p) => [...p]);
    // Turned well away from the camera, the iris fit drifts from the mesh: only the nearer eye's lids move.
    const depthDiff = raw[EYE_CONTOURS.left.Lower0[0]][2] - raw[EYE_CONTOURS.right.Lower0[0]][2];
    eyes.forEach((e, i) => {
      const frontal = Math.abs(depthDiff) < 30;
      if (!frontal && e.side !== (depthDiff < 1 ? 'left' : 'right')) return;
      for (const [key, irisIdx] of Object.entries(IRIS_TO_MESH)) {
        if (!frontal && key !== 'Upper0' && key !== 'Lower0') continue;
        const meshIdx = EYE_CONTOURS[e.side][key];
        irisIdx.forEach((ii, j) => {
          const p = points[i][ii];
          out[meshIdx[j]] = [p[0], p[1], (p[2] + out[meshIdx[j]][2]) / 2];
        });
      }
    });
    eyes.forEach((e, i) => {
      const up = out[EYE_CONTOURS[e.side].Upper0[3]][2], low = out[EYE_CONTOURS[e.side].Lower0[4]][2];
      points[i].slice(71).forEach((p, j) => out.push([p[0], p[1], j === 2 ? up : j === 4 ? low : (up + low) / 2]));
    });
    return out;
  }
}

/** The 468 points of batch item `b` of the mesh model's output (crop pixels of the 192 input). */
function rawPoints(flat: Float32Array, b: number): number[][] {
  const raw: number[][] = [];
  const o = b * 468 * 3;
  for (let i = 0; i < 468; i++) raw.push([flat[o + i * 3], flat[o + i * 3 + 1], flat[o + i * 3 + 2]]);
  return raw;
}

/** Points of the mesh input (192 × 192, the crop turned upright) mapped back to image pixels. */
function meshInImage(pts: number[][], crop: Crop): Mesh {
  const k = crop.side / MESH_INPUT;
  const cos = Math.cos(crop.angle ?? 0), sin = Math.sin(crop.angle ?? 0);
  return pts.map(([x, y, z]) => {
    const du = k * (x - MESH_INPUT / 2), dv = k * (y - MESH_INPUT / 2);
    return [crop.cx + du * cos - dv * sin, crop.cy + du * sin + dv * cos, z];
  });
}

/**
 * Bilinear crop-and-resize of a square region to size×size RGB floats in 0..1 (NHWC), sampling like
 * tf.image.cropAndResize (corner-aligned), black outside the image. Into `out` when given (size × size × 3
 * floats: a pooled buffer, cleared first), else a new array.
 */
export function cropResize(img: RgbImage, crop: Crop, size: number, out: Float32Array = new Float32Array(size * size * 3)): Float32Array {
  out.fill(0);
  if (crop.angle) return cropResizeRotated(img, crop, size, out);
  const { data, width, height } = img;
  const x0 = crop.cx - crop.side / 2, y0 = crop.cy - crop.side / 2;
  const stepX = ((crop.side) * (width - 1)) / width / (size - 1);
  const stepY = ((crop.side) * (height - 1)) / height / (size - 1);
  const baseX = (x0 * (width - 1)) / width, baseY = (y0 * (height - 1)) / height;
  // The columns' sample positions are the same on every row: work them out once (the same arithmetic as
  // per pixel, so the floats are identical), then each row reads its two source rows directly.
  const colA = new Int32Array(size), colB = new Int32Array(size), colF = new Float64Array(size);
  let u0 = size, u1 = -1;
  for (let u = 0; u < size; u++) {
    const sx = baseX + u * stepX;
    if (sx < 0 || sx > width - 1) continue;
    const xi = Math.floor(sx);
    colA[u] = xi * 3;
    colB[u] = Math.min(width - 1, xi + 1) * 3;
    colF[u] = sx - xi;
    if (u < u0) u0 = u;
    u1 = u;
  }
  for (let v = 0; v < size; v++) {
    const sy = baseY + v * stepY;
    if (sy < 0 || sy > height - 1) continue;
    const yi = Math.floor(sy), y1 = Math.min(height - 1, yi + 1), fy = sy - yi;
    const r0 = yi * width * 3, r1 = y1 * width * 3;
    for (let u = u0; u <= u1; u++) {
      const fx = colF[u];
      const a = r0 + colA[u], b = r0 + colB[u], c = r1 + colA[u], d = r1 + colB[u];
      const o = (v * size + u) * 3;
      samplePixel(data, a, b, c, d, fx, fy, out, o);
    }
  }
  return out;
}

/**
 * One RGB pixel of the mesh input: the bilinear blend of source pixels a, b (top) and c, d (bottom) at
 * (fx, fy), scaled to 0..1, into out[o..o+2]. Shared by both crops (V8 inlines it).
 */
function samplePixel(data: Uint8Array, a: number, b: number, c: number, d: number, fx: number, fy: number, out: Float32Array, o: number): void {
  let top = data[a] + (data[b] - data[a]) * fx, bot = data[c] + (data[d] - data[c]) * fx;
  out[o] = (top + (bot - top) * fy) / 255;
  top = data[a + 1] + (data[b + 1] - data[a + 1]) * fx;
  bot = data[c + 1] + (data[d + 1] - data[c + 1]) * fx;
  out[o + 1] = (top + (bot - top) * fy) / 255;
  top = data[a + 2] + (data[b + 2] - data[a + 2]) * fx;
  bot = data[c + 2] + (data[d + 2] - data[c + 2]) * fx;
  out[o + 2] = (top + (bot - top) * fy) / 255;
}

/** Bilinear sampling of a turned square (`crop.angle`), 0..1 floats NHWC, black outside the image. */
function cropResizeRotated(img: RgbImage, crop: Crop, size: number, out: Float32Array): Float32Array {
  const { data, width, height } = img;
  const cos = Math.cos(crop.angle ?? 0), sin = Math.sin(crop.angle ?? 0);
  const k = crop.side / size;
  // Sample position (u, v): sx = cx + du·cos − dv·sin − 0.5, sy = cy + du·sin + dv·cos − 0.5. The terms of
  // a column (cx + du·cos, cy + du·sin) and of a row (dv·sin, dv·cos) are worked out once; each sum is
  // still taken in the same order, so the floats are identical to the per-pixel formula (≈ 2× faster).
  const colX = new Float64Array(size), colY = new Float64Array(size);
  for (let u = 0; u < size; u++) {
    const du = (u + 0.5 - size / 2) * k;
    colX[u] = crop.cx + du * cos;
    colY[u] = crop.cy + du * sin;
  }
  for (let v = 0; v < size; v++) {
    const dv = (v + 0.5 - size / 2) * k;
    const rowX = dv * sin, rowY = dv * cos;
    for (let u = 0; u < size; u++) {
      const sx = colX[u] - rowX - 0.5, sy = colY[u] + rowY - 0.5;
      if (sx < 0 || sy < 0 || sx > width - 1 || sy > height - 1) continue;
      const xi = Math.floor(sx), x1 = Math.min(width - 1, xi + 1), fx = sx - xi;
      const yi = Math.floor(sy), y1 = Math.min(height - 1, yi + 1), fy = sy - yi;
      const a = (yi * width + xi) * 3, b = (yi * width + x1) * 3, c = (y1 * width + xi) * 3, d = (y1 * width + x1) * 3;
      const o = (v * size + u) * 3;
      samplePixel(data, a, b, c, d, fx, fy, out, o);
    }
  }
  return out;
}

/** The same sampling on a float NHWC square image (the mesh input), optionally mirrored. */
function cropResizeFloat(src: Float32Array, srcSize: number, crop: Crop, size: number, flip: boolean): Float32Array {
  const out = new Float32Array(size * size * 3);
  const n = srcSize - 1;
  const x0 = ((crop.cx - crop.side / 2) / srcSize) * n, y0 = ((crop.cy - crop.side / 2) / srcSize) * n;
  const step = ((crop.side / srcSize) * n) / (size - 1);
  for (let v = 0; v < size; v++) {
    const sy = y0 + v * step;
    if (sy < 0 || sy > n) continue;
    const yi = Math.floor(sy), y1 = Math.min(n, yi + 1), fy = sy - yi;
    for (let u = 0; u < size; u++) {
      const sx = x0 + u * step;
      if (sx < 0 || sx > n) continue;
      const xi = Math.floor(sx), x1 = Math.min(n, xi + 1), fx = sx - xi;
      const a = (yi * srcSize + xi) * 3, b = (yi * srcSize + x1) * 3, c = (y1 * srcSize + xi) * 3, d = (y1 * srcSize + x1) * 3;
      const o = (v * size + (flip ? size - 1 - u : u)) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const top = src[a + ch] + (src[b + ch] - src[a + ch]) * fx;
        const bot = src[c + ch] + (src[d + ch] - src[c + ch]) * fx;
        out[o + ch] = top + (bot - top) * fy;
      }
    }
  }
  return out;
}
