import { createRequire } from 'node:module';
import Module from 'node:module';
import path from 'node:path';
import type { DetectedFace } from '../../detector/types.ts';
import { NODE_MODULES } from '../../detector/human/load-human.ts';
import type { RgbImage } from '../../image.ts';
import { l2normalize, type Embedder } from '../types.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- face-api's Node build is loaded untyped */

const require = createRequire(import.meta.url);
export const FACEAPI_DIR = path.join(NODE_MODULES, '@vladmandic/face-api');
const SHIM_ID = 'wajah:tfjs-shim';

/**
 * face-api's Node/wasm build requires the umbrella package `@tensorflow/tfjs`, which we do not install
 * (it drags in layers, data and webgl). face-api only needs tfjs-core ops and the converter's IO, so the
 * request is answered with those two, shared with Human: one tfjs engine and one wasm backend per thread.
 */
export function loadFaceapi(): any {
  const M = Module as unknown as { _resolveFilename: (req: string, ...rest: unknown[]) => string; _cache: Record<string, unknown> };
  const core = require('@tensorflow/tfjs-core');
  const converter = require('@tensorflow/tfjs-converter');
  registerChainedOps(core);
  const shim = new Module(SHIM_ID);
  shim.exports = { ...converter, ...core };
  (shim as any).loaded = true;
  M._cache[SHIM_ID] = shim;
  const original = M._resolveFilename;
  M._resolveFilename = function (req: string, ...rest: unknown[]) {
    if (req === '@tensorflow/tfjs') return SHIM_ID;
    return original.call(this, req, ...rest);
  };
  try {
    return require(path.join(FACEAPI_DIR, 'dist/face-api.node-wasm.js'));
  } finally {
    M._resolveFilename = original;
  }
}

/**
 * The umbrella package also registers tfjs's "chained ops" (tensor.as3D(), tensor.expandDims() …), which
 * tfjs-core ships only as ES modules. Add the ones face-api calls as thin wrappers over the functional ops.
 */
function registerChainedOps(core: any): void {
  const proto = core.Tensor.prototype;
  const reshape = (shape: number[]) => function (this: unknown) { return core.reshape(this, shape); };
  const special: Record<string, (this: any, ...a: any[]) => unknown> = {
    as1D() { return core.reshape(this, [-1]); },
    as2D(r: number, c: number) { return reshape([r, c]).call(this); },
    as3D(r: number, c: number, d: number) { return reshape([r, c, d]).call(this); },
    as4D(r: number, c: number, d: number, d2: number) { return reshape([r, c, d, d2]).call(this); },
    asType(dtype: string) { return core.cast(this, dtype); },
    toFloat() { return core.cast(this, 'float32'); },
    toInt() { return core.cast(this, 'int32'); },
  };
  for (const [name, fn] of Object.entries(special)) if (!(name in proto)) proto[name] = fn;
  for (const name of Object.keys(core)) {
    const op = core[name];
    if (typeof op !== 'function' || name in proto || !/^[a-z]/.test(name)) continue;
    proto[name] = function (this: unknown, ...args: unknown[]) { return op(this, ...args); };
  }
}

/**
 * dlib's 128-d ResNet descriptor (public-domain weights, via @vladmandic/face-api, MIT): face-api's
 * 68-point landmark net on a crop around our detector's box, face-api's own aligned box, 150×150 input.
 * Kept as the clean-provenance alternative to the default recogniser.
 *
 * @example const e = await FaceapiDlibEmbedder.create(); const v = await e.embed(img, face); // 128-d
 */
export class FaceapiDlibEmbedder implements Embedder {
  readonly id = 'dlib-faceapi-v1';
  readonly dims = 128;

  private readonly faceapi: any;
  private constructor(faceapi: any) {
    this.faceapi = faceapi;
  }

  static async create(): Promise<FaceapiDlibEmbedder> {
    const faceapi = loadFaceapi();
    const tf = faceapi.tf;
    if (tf.getBackend() !== 'wasm') {
      require('@tensorflow/tfjs-backend-wasm').setWasmPaths(path.join(NODE_MODULES, '@tensorflow/tfjs-backend-wasm/dist') + path.sep);
      await tf.setBackend('wasm');
      await tf.ready();
    }
    const modelDir = path.join(FACEAPI_DIR, 'model');
    await faceapi.nets.faceLandmark68Net.loadFromDisk(modelDir);
    await faceapi.nets.faceRecognitionNet.loadFromDisk(modelDir);
    return new FaceapiDlibEmbedder(faceapi);
  }

  async embed(img: RgbImage, face: DetectedFace): Promise<Float32Array> {
    const { faceapi } = this;
    const tf = faceapi.tf;
    // 1. A square crop around the detector's face box, as face-api's own detectors would give.
    const side = Math.max(face.box.width, face.box.height) * 1.2;
    const cx = face.box.x + face.box.width / 2, cy = face.box.y + face.box.height / 2;
    const crop = cropRgb(img, Math.round(cx - side / 2), Math.round(cy - side / 2), Math.round(side), Math.round(side));
    const cropT = tf.tensor3d(crop.data, [crop.height, crop.width, 3], 'int32');
    let landmarks: any;
    try {
      landmarks = await faceapi.nets.faceLandmark68Net.detectLandmarks(cropT);
    } finally {
      cropT.dispose();
    }
    // 2. face-api's aligned box from the 68 landmarks, mapped back to the image.
    const r = landmarks.align();
    const ax = Math.round(cx - side / 2 + r.x), ay = Math.round(cy - side / 2 + r.y);
    const faceCrop = cropRgb(img, ax, ay, Math.max(1, Math.round(r.width)), Math.max(1, Math.round(r.height)));
    const faceT = tf.tensor3d(faceCrop.data, [faceCrop.height, faceCrop.width, 3], 'int32');
    try {
      const d = (await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(faceT)) as Float32Array;
      return l2normalize(d);
    } finally {
      faceT.dispose();
    }
  }
}

/** Axis-aligned crop with black padding outside the image. */
export function cropRgb(img: RgbImage, x0: number, y0: number, w: number, h: number): RgbImage {
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const sy = y0 + y;
    if (sy < 0 || sy >= img.height) continue;
    for (let x = 0; x < w; x++) {
      const sx = x0 + x;
      if (sx < 0 || sx >= img.width) continue;
      const s = (sy * img.width + sx) * 3, d = (y * w + x) * 3;
      out[d] = img.data[s];
      out[d + 1] = img.data[s + 1];
      out[d + 2] = img.data[s + 2];
    }
  }
  return { data: out, width: w, height: h };
}
