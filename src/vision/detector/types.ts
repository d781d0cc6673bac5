import type { RgbImage } from '../image.ts';
import type { Box, Pose } from '../types.ts';

/** One face as a detector backend reports it, before quality, signals and embedding. */
export interface DetectedFace {
  box: Box;
  /** Detector confidence 0..1. */
  score: number;
  /** Dense landmarks in image pixels (the MediaPipe 468-point mesh; Human's detector adds 10 iris points) as [x, y, z]. */
  mesh: Array<[number, number, number]>;
  /** Left eye, right eye, nose tip, left mouth corner, right mouth corner (each pair image-left first). */
  five: Array<[number, number]>;
  /** Degrees; yaw > 0 = the person turned to their own right (see docs/vision.md). */
  pose: Pose;
  /** Passive anti-spoof score 0..1 (1 = live) when requested and available. */
  passiveLiveScore: number | null;
}

export interface DetectOptions {
  /** Run the passive anti-spoof models too (slower). */
  passive: boolean;
  /** Re-fit the eye contours with the iris model (clearer eye openness for blink checks; ≈ +10 ms). */
  refineEyes?: boolean;
}

/**
 * A face detector backend.
 *
 * @example const faces = await detector.detect(await decodeImage(bytes), { passive: false });
 */
export interface FaceDetector {
  readonly id: string;
  detect(img: RgbImage, options: DetectOptions): Promise<DetectedFace[]>;
}
