import { thumbnailChange } from '../liveness-signals/signals.ts';
import type { TrackCrop } from '../detector/types.ts';
import type { Box, Pose } from '../types.ts';

/**
 * When a stream frame runs the detector and the recogniser instead of following the face
 * (docs/vision.md, "Tracking in streams"). Measured on the fakecam clips: see the docs for the numbers.
 * The intervals are counted in frames of the stream; they are shorter than the peers' defaults
 * (@vladmandic/human re-runs its face detector at most every 99 frames or 2.5 s and its face
 * description every 99 frames or 3 s; MediaPipe's face landmarker in video mode detects again only when
 * the track is lost).
 */
export const TRACKING = {
  /** The detector runs at least every this many frames of a track: a second face entering the picture is
   * seen on the next detector frame, so at most DETECT_EVERY − 1 frames late (0.9 s at 10 frames/s). */
  DETECT_EVERY: 10,
  /** A stream without a face searches wide (a face filling the picture, a picture turned sideways) on its
   * first empty frame and every this many empty frames after it: such a face is found at most
   * WIDE_EVERY − 1 frames late (0.4 s at 10 frames/s). An upright face is found on the frame it appears. */
  WIDE_EVERY: 5,
  /** Below this mesh confidence the followed fit is not trusted and the detector runs on the same frame. */
  MIN_TRACK_CONFIDENCE: 0.8,
  /** The embedding is computed on the first frames of a track… */
  EMBED_FIRST: 2,
  /** …then again at least every this many frames (2 s at 10 frames/s)… */
  EMBED_EVERY: 20,
  /** …and whenever the head turned this far (degrees of yaw or pitch) from the pose it was embedded at… */
  POSE_CHANGE_DEG: 12,
  /** …or the aligned face changed this much (thumbnailChange, 0..255) since then: a face turned into
   * another, a hand, a scene change. Blinks and speech measure 3–8 from one frame to the next on the clips
   * (18–28 against a frame embedded a few frames earlier on the talking clip: docs/vision.md). */
  THUMB_CHANGE: 18,
  /** A detector frame continues the track when its main face overlaps the followed one this much (IoU). */
  SAME_FACE_IOU: 0.3,
} as const;

/**
 * What one stream remembers between frames. Plain data: it travels with each job to whichever worker
 * runs it (the pool may send consecutive frames of a stream to different workers) and back with the
 * result.
 */
export interface TrackState {
  modelId: string;
  /** Frames analysed on this track (0 = the frame that started it). */
  frame: number;
  /** Frames since the detector last ran on this track. */
  sinceDetect: number;
  /** Where to fit the mesh in the next frame. */
  crop: TrackCrop;
  /** The followed face's box in the last frame. */
  box: Box;
  /** Score of the last detection (tracked frames report it: no detector ran on them). */
  score: number;
  /** Faces found by the last detector run. */
  faces: number;
  /** The last embedding of the followed face, the frame and pose it was computed at, and its thumbnail. */
  embedding: Float32Array | null;
  embeddedAt: number;
  embeddedPose: Pick<Pose, 'yaw' | 'pitch'>;
  embeddedThumb: Uint8Array | null;
}

/** What a tracked frame did (reported on AnalyzeResult.tracking). */
export interface TrackingInfo {
  /** The detector ran on this frame (no track, low mesh confidence, or its turn). */
  detected: boolean;
  /** On the detector's turn, its boxes alone confirmed the followed face: the landmarks are the followed
   * fit's, no mesh was fitted from a detector box. */
  confirmed: boolean;
  /** The recogniser ran on this frame (otherwise the embedding is the track's last one). */
  embedded: boolean;
  /** Faces seen on the last detector run of the stream. */
  faces: number;
  /** Frames of this track so far (0 = the frame that started it). */
  frame: number;
}

export function iou(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

let phase = 0;

/**
 * The `sinceDetect` a new track starts with: 0…DETECT_EVERY − 1, a different one for each track a worker
 * starts (stepping by 3, which meets every value), so its first periodic detector turn comes after 1 to
 * DETECT_EVERY frames and then every DETECT_EVERY. Cameras that connected together (a restart, a network
 * blip) would otherwise run their detector turns on the same frame for as long as they stay in view: a
 * burst of dear frames every DETECT_EVERY frames instead of the same work spread out. The bound for a
 * second face is unchanged (never more than DETECT_EVERY − 1 frames between turns).
 */
export function newTrackSinceDetect(): number {
  phase = (phase + 3) % TRACKING.DETECT_EVERY;
  return phase;
}

/** Whether the followed face must be recognised again on this frame (see TRACKING). */
export function mustEmbed(prev: TrackState | null, frame: number, pose: Pose, thumb: Uint8Array): boolean {
  if (!prev || !prev.embedding || !prev.embeddedThumb) return true;
  if (frame < TRACKING.EMBED_FIRST) return true;
  if (frame - prev.embeddedAt >= TRACKING.EMBED_EVERY) return true;
  if (Math.abs(pose.yaw - prev.embeddedPose.yaw) > TRACKING.POSE_CHANGE_DEG) return true;
  if (Math.abs(pose.pitch - prev.embeddedPose.pitch) > TRACKING.POSE_CHANGE_DEG) return true;
  return thumbnailChange(thumb, prev.embeddedThumb) > TRACKING.THUMB_CHANGE;
}
