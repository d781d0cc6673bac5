import path from 'node:path';
import { NODE_MODULES } from '../../detector/human/load-human.ts';
import type { RgbImage } from '../../image.ts';
import { FACEAPI_DIR, loadFaceapi } from './faceapi-embedder.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- face-api is loaded untyped */

/**
 * face-api's own full pipeline (SSD MobileNet v1 → 68 landmarks → dlib descriptor), the thing a Node
 * user would reach for instead of this engine. Used only by `npm run bench` for the comparison.
 *
 * @example const run = await createFaceapiPipeline(); const descriptor = await run(img);
 */
export async function createFaceapiPipeline(): Promise<(img: RgbImage) => Promise<Float32Array | null>> {
  const faceapi = loadFaceapi();
  const tf = faceapi.tf;
  if (tf.getBackend() !== 'wasm') {
    const { createRequire } = await import('node:module');
    createRequire(import.meta.url)('@tensorflow/tfjs-backend-wasm').setWasmPaths(path.join(NODE_MODULES, '@tensorflow/tfjs-backend-wasm/dist') + path.sep);
    await tf.setBackend('wasm');
    await tf.ready();
  }
  const dir = path.join(FACEAPI_DIR, 'model');
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(dir);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(dir);
  await faceapi.nets.faceRecognitionNet.loadFromDisk(dir);
  const options = new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5 });
  return async (img: RgbImage) => {
    const t = tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
    try {
      const r = await faceapi.detectSingleFace(t, options).withFaceLandmarks().withFaceDescriptor();
      return r ? (r.descriptor as Float32Array) : null;
    } finally {
      t.dispose();
    }
  };
}
