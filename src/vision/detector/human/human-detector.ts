import type { RgbImage } from '../../image.ts';
import { boxFromMesh, clamp01, fivePoints, padImage, shiftFace } from '../geometry.ts';
import type { DetectedFace, DetectOptions, FaceDetector } from '../types.ts';
import { HUMAN_MODELS_DIR, WASM_DIR, installFileRouter, requireHuman } from './load-human.ts';

export { fivePoints, MESH } from '../geometry.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- Human's result objects are untyped here */

const RAD = 180 / Math.PI;

/** Minimum blazeface box score and mesh confidence for a detection to count as a face. */
export const MIN_BOX_SCORE = 0.35;
export const MIN_FACE_SCORE = 0.5;

/**
 * Detector backend on @vladmandic/human (blazeface + 468-point mesh + iris + head pose) over
 * tfjs-backend-wasm. Frame caching is off: every call is a fresh detection.
 *
 * @example const det = await HumanDetector.create(); const faces = await det.detect(img, { passive: false });
 */
export class HumanDetector implements FaceDetector {
  readonly id = 'human-blazeface-mesh';

  private readonly human: any;
  private constructor(human: any) {
    this.human = human;
  }

  static async create(opts: { maxFaces?: number } = {}): Promise<HumanDetector> {
    const { Human } = requireHuman();
    const human = new Human({
      backend: 'wasm',
      wasmPath: WASM_DIR,
      modelBasePath: `file://${HUMAN_MODELS_DIR}/`,
      debug: false,
      async: true,
      warmup: 'none',
      cacheSensitivity: 0,
      filter: { enabled: false },
      face: {
        enabled: true,
        detector: { rotation: false, maxDetected: opts.maxFaces ?? 20, skipFrames: 0, skipTime: 0, minConfidence: 0.3, return: false },
        mesh: { enabled: true, keepInvalid: false },
        iris: { enabled: true, skipFrames: 0, skipTime: 0 },
        description: { enabled: false },
        emotion: { enabled: false },
        attention: { enabled: false },
        antispoof: { enabled: true, skipFrames: 0, skipTime: 0 },
        liveness: { enabled: true, skipFrames: 0, skipTime: 0 },
        gear: { enabled: false },
      },
      body: { enabled: false },
      hand: { enabled: false },
      object: { enabled: false },
      gesture: { enabled: false },
      segmentation: { enabled: false },
    });
    installFileRouter(human.tf);
    await human.init();
    await human.load();
    return new HumanDetector(human);
  }

  async detect(img: RgbImage, options: DetectOptions): Promise<DetectedFace[]> {
    const faces = await this.detectOnce(img, options);
    if (faces.length > 0) return faces;
    // Blazeface misses faces that fill the whole frame (tight crops such as face-api's 150 px samples):
    // retry once with a grey border, then map the coordinates back.
    const pad = Math.round(Math.max(img.width, img.height) * 0.3);
    const padded = padImage(img, pad);
    return (await this.detectOnce(padded, options)).map((f) => shiftFace(f, -pad));
  }

  private async detectOnce(img: RgbImage, options: DetectOptions): Promise<DetectedFace[]> {
    const tf = this.human.tf;
    const input = tf.tensor(img.data, [1, img.height, img.width, 3], 'int32');
    let result: any;
    try {
      result = await this.human.detect(input, {
        face: { antispoof: { enabled: options.passive }, liveness: { enabled: options.passive } },
      });
    } finally {
      input.dispose();
    }
    if (result.error) throw new Error(String(result.error));
    const faces: DetectedFace[] = [];
    for (const f of result.face as any[]) {
      const mesh = f.mesh as Array<[number, number, number]>;
      if (!mesh || mesh.length < 468) continue;
      if ((f.boxScore ?? f.score) < MIN_BOX_SCORE || (f.faceScore ?? 1) < MIN_FACE_SCORE) continue;
      const angle = f.rotation?.angle ?? { yaw: 0, pitch: 0, roll: 0 };
      const passive = options.passive && typeof f.real === 'number' && typeof f.live === 'number' ? Math.min(f.real, f.live) : null;
      faces.push({
        box: boxFromMesh(mesh),
        score: clamp01(f.boxScore ?? f.score ?? 0),
        mesh,
        five: fivePoints(mesh),
        // Human's yaw is positive when the face turns toward image-left (the person's own right in an
        // unmirrored frame): that is already our convention. Its pitch is positive looking down; ours is
        // positive looking up, hence the minus.
        pose: { yaw: angle.yaw * RAD, pitch: -angle.pitch * RAD, roll: angle.roll * RAD },
        passiveLiveScore: passive,
      });
    }
    return faces;
  }
}
