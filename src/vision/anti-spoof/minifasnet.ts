import type * as Ort from 'onnxruntime-node';
import type { RgbImage } from '../image.ts';
import { createWorkerSession, facepluginModel, ort } from '../onnx/session.ts';

/** The passive anti-spoof model shipped with our detector and recogniser in faceplugin-face-recognition-js (MIT). */
export const PASSIVE_MODEL_PATH = facepluginModel('fr_liveness.onnx');

const SIZE = 128;
/** Context around the detector box, as the vendor's own code crops it (the model sees the face's surroundings). */
const CONTEXT = 2.7;

/** A face box from the detector, in image pixels. */
export interface PassiveBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * Passive (single-frame) anti-spoofing: a MiniFASNet-style classifier, 128×128 BGR input with raw
 * 0..255 values, 3 classes; the score is the softmax probability of class 0 ("live"). It looks at the
 * face with 2.7× its box of context, where print edges, screen moiré and bezels show.
 * `npm run eval -- spoof` measures it; docs/vision.md has the numbers and how sessions use them.
 * ≈ 5 ms per face on one core.
 *
 * @example const p = await PassiveAntiSpoof.create(); const live = await p.score(img, box); // 0..1
 */
export class PassiveAntiSpoof {
  private readonly session: Ort.InferenceSession;
  private constructor(session: Ort.InferenceSession) {
    this.session = session;
  }

  static async create(): Promise<PassiveAntiSpoof> {
    return new PassiveAntiSpoof(await createWorkerSession(PASSIVE_MODEL_PATH, { flushBelow: 1e-12 }));
  }

  /** Probability 0..1 that the face in `box` is a live person rather than a print or a screen. */
  async score(img: RgbImage, box: PassiveBox): Promise<number> {
    const input = contextCrop(img, box);
    const out = await this.session.run({ [this.session.inputNames[0]]: new ort.Tensor('float32', input, [1, 3, SIZE, SIZE]) });
    const logits = out[this.session.outputNames[0]].data as Float32Array;
    const m = Math.max(...logits);
    const e = Array.from(logits, (v) => Math.exp(v - m));
    return e[0] / e.reduce((a, v) => a + v, 0);
  }
}

/**
 * The box widened to CONTEXT× (less when the image is too small), shifted inside the image, resized
 * bilinearly to 128×128, as NCHW BGR floats 0..255.
 */
function contextCrop(img: RgbImage, b: PassiveBox): Float32Array {
  const bw = b.x1 - b.x0, bh = b.y1 - b.y0;
  const k = Math.min((img.height - 1) / bh, (img.width - 1) / bw, CONTEXT);
  const w = bw * k, h = bh * k;
  let x0 = b.x0 + bw / 2 - w / 2, y0 = b.y0 + bh / 2 - h / 2;
  x0 = Math.min(Math.max(0, x0), img.width - 1 - w);
  y0 = Math.min(Math.max(0, y0), img.height - 1 - h);
  const out = new Float32Array(3 * SIZE * SIZE);
  const plane = SIZE * SIZE;
  const { data, width } = img;
  for (let v = 0; v < SIZE; v++) {
    const sy = Math.max(0, y0 + ((v + 0.5) * h) / SIZE - 0.5);
    const yi = Math.floor(sy), y1 = Math.min(img.height - 1, yi + 1), fy = sy - yi;
    for (let u = 0; u < SIZE; u++) {
      const sx = Math.max(0, x0 + ((u + 0.5) * w) / SIZE - 0.5);
      const xi = Math.floor(sx), x1 = Math.min(width - 1, xi + 1), fx = sx - xi;
      const a = (yi * width + xi) * 3, bb = (yi * width + x1) * 3, c = (y1 * width + xi) * 3, d = (y1 * width + x1) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const top = data[a + ch] + (data[bb + ch] - data[a + ch]) * fx;
        const bot = data[c + ch] + (data[d + ch] - data[c + ch]) * fx;
        out[(2 - ch) * plane + v * SIZE + u] = top + (bot - top) * fy; // RGB → BGR planes
      }
    }
  }
  return out;
}
