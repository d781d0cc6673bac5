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

/** A face box from the detector alone (no landmarks fitted). */
export interface FoundBox {
  box: Box;
  /** Detector confidence 0..1. */
  score: number;
}

export interface DetectOptions {
  /** Run the passive anti-spoof models too (slower). */
  passive: boolean;
  /** Re-fit the eye contours with the iris model (clearer eye openness for blink checks; ≈ +10 ms). */
  refineEyes?: boolean;
  /** false: no face from the plain detector is the answer (no search with a border or sideways). Default true. */
  wide?: boolean;
}

/** Where to fit the face of the next stream frame: a square crop (image pixels), turned by `angle` radians. */
export interface TrackCrop {
  cx: number;
  cy: number;
  side: number;
  angle?: number;
}

/** A face followed from the previous frame's crop (no detector pass). */
export interface TrackedFit {
  face: DetectedFace;
  /** Mesh confidence 0..1 of this fit. */
  confidence: number;
  /** The crop for the frame after this one. */
  next: TrackCrop;
}

/**
 * A face detector backend.
 *
 * @example const faces = await detector.detect(await decodeImage(bytes), { passive: false });
 */
export interface FaceDetector {
  readonly id: string;
  detect(img: RgbImage, options: DetectOptions): Promise<DetectedFace[]>;
  /**
   * Streams: fit the landmarks on the crop predicted from the previous frame, without the detector.
   * Null when the fit fails. Backends without it run `detect` on every frame. `score` of the face is
   * the caller's to set (no detector ran).
   */
  track?(img: RgbImage, crop: TrackCrop, options: DetectOptions): Promise<TrackedFit | null>;
  /** `track` for several frames at once (each its own image and crop): the same fits, batched where the
   * backend can. */
  trackBatch?(items: Array<{ img: RgbImage; crop: TrackCrop }>, options: DetectOptions): Promise<Array<TrackedFit | null>>;
  /**
   * Streams: the face boxes `detect` would start from, without landmarks: on a followed stream's
   * periodic detector frame they tell whether the followed face is still the main one and how many
   * faces are in the picture. Backends without it run `detect` on those frames.
   */
  faceBoxes?(img: RgbImage): Promise<FoundBox[]>;
  /** The crop to follow `face` (one of `detect`'s) in the next frame. */
  trackCrop?(face: DetectedFace): TrackCrop;
}
