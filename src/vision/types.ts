import type { TrackingInfo } from './tracking/track-state.ts';

/**
 * The face engine contract. Everything outside src/vision and src/workers talks to faces
 * only through these types (services never import a model library).
 *
 * @example
 *   const result = await engine.analyze(jpegBytes, { multiple: 'largest', embed: true });
 *   const face = result.faces[0]; // face.embedding, face.quality.score, face.signals.eyeOpenness …
 */

export type Suggestion =
  | 'move_closer'
  | 'move_back'
  | 'turn_left'
  | 'turn_right'
  | 'look_up'
  | 'look_down'
  | 'look_straight'
  | 'improve_lighting'
  | 'hold_still'
  | 'open_eyes'
  | 'center_face';

export type PoseBucket = 'front' | 'left' | 'right' | 'up' | 'down';

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Pose {
  /** Degrees; sign convention documented in src/vision/README.md (mirroring an image flips it). */
  yaw: number;
  pitch: number;
  roll: number;
}

export interface QualityReport {
  /** 0..1, higher is better. */
  score: number;
  /**
   * 0..1: the same frame judged as a requested head turn (multi-angle enrollment's left/right): the
   * inter-ocular size corrected for the turn's foreshortening and no pose penalty up to a three-quarter view.
   */
  turnScore: number;
  suggestions: Suggestion[];
  /** One human sentence built from the suggestions. */
  message: string;
  poseBucket: PoseBucket;
  /** The individual components (each 0..1) that make up the score. */
  components: {
    size: number;
    sharpness: number;
    brightness: number;
    contrast: number;
    pose: number;
    eyes: number;
    confidence: number;
  };
}

/** Per-frame liveness evidence; sessions combine these over time. */
export interface LivenessSignals {
  /** Rotation-invariant eye aspect ratio (3-D mesh distances), mean of both eyes: about 0.10–0.17 closed,
   * 0.20–0.42 open depending on the person; compare with the session's own baseline. */
  eyeOpenness: number;
  leftEyeOpenness: number;
  rightEyeOpenness: number;
  /** 0..1 smile intensity from mouth geometry. */
  smile: number;
  /** 32×32 grey thumbnail of the aligned face (1024 bytes), for frame-to-frame change. */
  faceThumb: Uint8Array;
  /** 2-D image positions of the nose tip and the face-plane landmarks (parallax.ts SHAPE_POINTS), for the
   * depth check of head-turn challenges. */
  shape: Float32Array;
  /** Every mesh point lies inside the picture. A face cut by the border has landmarks the mesh guessed. */
  faceInFrame: boolean;
  /** Liveness frames (`refineEyes`): the face region (planarity.ts faceRegion of the box) as a 64×64 grey
   * crop, the reference a later frame's `flatness` is measured against; null otherwise. */
  regionCrop: Uint8Array | null;
  /** With `planarRef`: how much of the reference crop's texture reaches this frame's same region through
   * one plane homography (a flat picture ≈ all of it, a turned head a minority); null otherwise. */
  flatness: { matches: number; inliers: number } | null;
  /** Passive anti-spoof score 0..1 (1 = live) when a model provides one; reported, not trusted alone. */
  passiveLiveScore: number | null;
}

export interface AnalyzedFace {
  box: Box;
  /** Detector confidence 0..1. */
  score: number;
  /** Five points [x, y]: left eye, right eye, nose tip, left mouth corner, right mouth corner (image-left first). */
  landmarks: Array<[number, number]>;
  pose: Pose;
  quality: QualityReport;
  signals: LivenessSignals;
  /** L2-normalised embedding when requested. */
  embedding: Float32Array | null;
}

export interface AnalyzeOptions {
  /** 'largest': keep only the main face (the largest; of two similar sizes, the one nearer the centre);
   * 'refuse': MULTIPLE_FACES when more than one; 'all': return all, main face first. */
  multiple: 'largest' | 'refuse' | 'all';
  /** Compute embeddings (costs an extra recogniser pass per face). */
  embed: boolean;
  /** Recogniser id; default is the engine's default model. */
  model?: string;
  /** Also run the passive anti-spoof models (≈ +10–40 ms); otherwise signals.passiveLiveScore is null. */
  passive?: boolean;
  /** Re-fit the eye contours with the iris model before measuring eye openness (≈ +10 ms): for the
   * frames of a liveness check, where blinks are looked for. Box, pose, quality pose and embeddings do
   * not depend on it. */
  refineEyes?: boolean;
  /** A liveness session's reference (an earlier frame's `signals.regionCrop` and the region it covers):
   * `signals.flatness` of this frame is measured against it, only when this frame's yaw is at least
   * `minTurn` degrees from `yaw` (the reference's; the check matters only for turned frames). */
  planarRef?: { crop: Uint8Array; region: Box; yaw?: number; minTurn?: number } | null;
  /** false: when the detector finds no face, stop there, without the wider searches (a face filling the
   * whole picture, a picture turned sideways). Streams set it on frames after an empty one (see
   * StreamTrack); default true. */
  wideSearch?: boolean;
  /** Whom the image is analysed for (a tenant's id). Not used by the analysis: the worker pool serves the
   * lanes with images waiting in turn, so one tenant's batch of slow images does not hold up another
   * tenant's requests (src/workers/pool.ts). */
  lane?: string;
}

export interface AnalyzeResult {
  width: number;
  height: number;
  faces: AnalyzedFace[];
  /** Model id of the embeddings (e.g. "faceplugin-r100-v1"). Templates of different models never compare. */
  modelId: string;
  timings: { decodeMs: number; detectMs: number; embedMs: number; qualityMs: number; totalMs: number };
  /** Only on a stream frame that followed its face (src/vision/tracking): what this frame ran. */
  tracking?: TrackingInfo;
}

export interface EngineStatus {
  state: 'online' | 'starting' | 'degraded' | 'offline';
  workers: number;
  busy: number;
  queued: number;
  models: string[];
  /** Stream frames that were tracked since start: detector runs and recogniser runs among them. */
  /** Stream frames tracked; detector runs among them (confirmations: the runs whose boxes alone confirmed the
   * followed face); recogniser runs. */
  tracking: { frames: number; detectorRuns: number; confirmations: number; embeddings: number };
}

export interface FaceEngine {
  /** Decode and analyse one image (JPEG/PNG/WebP bytes or a data URL string). Throws AppError with codes
   * INVALID_IMAGE, UNSUPPORTED_MEDIA_TYPE, IMAGE_TOO_LARGE, NO_FACE_DETECTED, MULTIPLE_FACES, SERVICE_BUSY. */
  analyze(image: Uint8Array | string, options: AnalyzeOptions): Promise<AnalyzeResult>;
  /** Cosine similarity of two L2-normalised embeddings of the same model. */
  similarity(a: Float32Array, b: Float32Array): number;
  status(): EngineStatus;
  readonly defaultModelId: string;
  close(): Promise<void>;
}
