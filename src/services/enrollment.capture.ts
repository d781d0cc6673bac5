/**
 * Enrollment sessions' capture rules, pure: what a session asks for (params, state), how a frame is
 * judged (its quality score and threshold, by angle), the progress and guidance toward the next missing
 * angle, and the frame answer. The service (enrollment.service.ts, a frame's judging in
 * enrollment.judge.ts) owns the I/O around them.
 */
import type { PoseBucket, Suggestion } from '../vision/types.ts';
import { QUALITY, messageFor } from '../vision/quality/quality.ts';
import { isAppError, type AppError, type ErrorCode } from '../errors.ts';

export type SessionType = 'webcam' | 'mobile' | 'upload';
export const ANGLES: PoseBucket[] = ['front', 'left', 'right'];
/** A frame of a different person than the session's first accepted frame: below this calibrated confidence. */
export const SAME_PERSON_CONFIDENCE = 0.5;

/**
 * The most frames one enrollment session analyses (single-angle and multi-angle alike; docs/face-flows.md,
 * "Frames per session"). Every frame runs the face engine, and a session that never completes (every frame
 * rejected, or another person's face) otherwise kept analysing until it expired: up to 9,000 frames in the
 * default 300 s at 30 frames/s. A person finishes in a few seconds (3 good frames, or front, left and
 * right); 300 frames is 30 s of tries at 10 frames/s, 45 s at the camera page's pace (one frame per 150 ms).
 * As an authentication session ends failed after its attempts, a session past this ends failed
 * (ENROLLMENT_FRAME_LIMIT) unless it already holds enough frames to complete. A frame refused as an image
 * (isRefusedImage) counts too: it cost an upload and a decode attempt, and uncounted, one session took
 * such frames without end.
 */
export const ENROLLMENT_MAX_FRAMES = 300;

/**
 * A session frame the engine refused as an image (corrupt, truncated, not an image, a data URL of another
 * type, too large): the client's error, after the upload was read and a decode was tried. Session frames
 * count these like analysed frames (enrollment: ENROLLMENT_MAX_FRAMES; authentication: AUTH_MAX_EMPTY_FRAMES)
 * while the client is still answered with the image's own error. An engine that is busy or down
 * (SERVICE_BUSY, SERVICE_UNAVAILABLE) is the server's condition, not the frame's, and is never counted.
 */
export function isRefusedImage(e: unknown): e is AppError {
  return isAppError(e) && REFUSED_IMAGE.has(e.code);
}
const REFUSED_IMAGE: ReadonlySet<ErrorCode> = new Set(['INVALID_IMAGE', 'UNSUPPORTED_MEDIA_TYPE', 'IMAGE_TOO_LARGE']);

export interface EnrollParams {
  session_type: SessionType;
  quality_threshold: number;
  require_multiple_angles: boolean;
  timeout: number;
  auto_capture: boolean;
  guidance_enabled: boolean;
  required: number;
}

/** One accepted frame; the embedding is sealed (never plaintext in the session row). */
export interface CapturedFrame {
  emb: string;
  quality: number;
  confidence: number;
  angle: PoseBucket;
  model: string;
}

export interface EnrollState {
  /** Frames the session received: analysed (taken, rejected, without a face, or refused as another person) or refused as an image (isRefusedImage). ENROLLMENT_MAX_FRAMES caps it. */
  received: number;
  rejected: number;
  frames: CapturedFrame[];
  lastAt: string | null;
}

/**
 * The quality a captured frame is judged by: in a multi-angle session a left or right frame is the turn
 * that was asked for, so it is judged as one (QualityReport.turnScore: no pose penalty up to a
 * three-quarter view, size corrected for foreshortening); a turn too far to recognise is caught by the
 * identity check above, not by quality.
 */
export function captureScore(params: EnrollParams, q: { score: number; turnScore: number; poseBucket: PoseBucket }): number {
  return isTurnCapture(params, q.poseBucket) ? q.turnScore : q.score;
}

/**
 * A turn is captured while the head moves: a normal-pace turn (≈ 90°/s) blurs a webcam frame by several
 * pixels and lasts only a few frames at 5 frames/s, so turn frames get a 20 % allowance on the threshold
 * (sharpness alone is 20 % of the score's weight). Front frames are held still and meet it in full.
 */
export function captureThreshold(params: EnrollParams, angle: PoseBucket): number {
  return isTurnCapture(params, angle) ? params.quality_threshold * 0.8 : params.quality_threshold;
}

export function isTurnCapture(params: EnrollParams, angle: PoseBucket): boolean {
  return params.require_multiple_angles && (angle === 'left' || angle === 'right');
}

export function progressCurrent(params: EnrollParams, state: EnrollState): number {
  return params.require_multiple_angles ? new Set(state.frames.map((f) => f.angle)).size : state.frames.length;
}

const TURN_HINT: Record<string, { s: Suggestion; m: string }> = {
  front: { s: 'look_straight', m: 'Please look straight at the camera.' },
  left: { s: 'turn_left', m: 'Please turn your head slightly to the left.' },
  right: { s: 'turn_right', m: 'Please turn your head slightly to the right.' },
};

/** Turn-by-turn guidance toward the next missing angle, after the frame's own quality suggestions. */
export function guidanceFor(params: EnrollParams, state: EnrollState, suggestions: Suggestion[], message: string) {
  const out = new Set<Suggestion>();
  let text = message || 'Good quality.';
  if (params.require_multiple_angles && params.guidance_enabled) {
    const have = new Set(state.frames.map((f) => f.angle));
    const missing = ANGLES.find((a) => !have.has(a));
    if (missing) {
      out.add(TURN_HINT[missing].s);
      text = `Good quality. ${TURN_HINT[missing].m}`;
    } else text = 'All angles captured. Complete the enrollment.';
  } else if (progressCurrent(params, state) >= params.required) text = 'Enough good frames captured. Complete the enrollment.';
  else text = suggestions.length ? text : 'Good quality. Hold still.';
  for (const s of suggestions) if (s !== 'turn_left' && s !== 'turn_right' && s !== 'look_straight') out.add(s);
  return { message: text, suggestions: [...out] };
}

/**
 * The accepted frames a new frame's identity is judged against: the session's front frames when it holds
 * any, else every accepted frame. A turned face is a weak reference: strangers' turns match it far more
 * often than a front face (a stranger's left turn scored cosine 0.29, confidence > 0.5, against person A's
 * right turn, and then filled A's "left"; test/integration/enrollment-guard.test.ts).
 */
export function identityReferences(frames: CapturedFrame[]): CapturedFrame[] {
  const fronts = frames.filter((f) => f.angle === 'front');
  return fronts.length ? fronts : frames;
}

/**
 * A multi-angle session anchors identity on its front frame: until it holds one, a turned (or raised,
 * lowered) face is not taken, since there is nothing reliable to compare it with, and a turned first frame
 * would let a second person's turn match it.
 */
export function awaitsFront(params: EnrollParams, state: EnrollState, angle: PoseBucket): boolean {
  return params.require_multiple_angles && angle !== 'front' && !state.frames.some((f) => f.angle === 'front');
}

/**
 * Guidance for a frame refused for its quality. In a multi-angle session the engine's own turn hints
 * (turn back toward the front when |yaw| > 20°) would contradict the session: a left turn that is still
 * missing was asked for, and up to a three-quarter view (QUALITY.turnFree) it costs nothing, so the
 * frame's other suggestions stand alone; beyond that the hint to turn a little less is kept. A frame at
 * an angle already held (or not needed) is guided toward the next missing angle.
 */
export function rejectionGuidance(params: EnrollParams, state: EnrollState, q: { suggestions: Suggestion[]; message: string; poseBucket: PoseBucket }, yaw: number) {
  if (!params.require_multiple_angles || !params.guidance_enabled) return { message: q.message || 'Image quality is too low.', suggestions: q.suggestions };
  const have = new Set(state.frames.map((f) => f.angle));
  const missing = ANGLES.find((a) => !have.has(a));
  const out: Suggestion[] = [];
  if (ANGLES.includes(q.poseBucket) && !have.has(q.poseBucket)) {
    if (q.poseBucket !== 'front' && Math.abs(yaw) > QUALITY.turnFree) out.push(q.poseBucket === 'left' ? 'turn_right' : 'turn_left');
  } else if (missing) out.push(TURN_HINT[missing].s);
  for (const s of q.suggestions) if (s !== 'turn_left' && s !== 'turn_right' && s !== 'look_straight') out.push(s);
  return { message: out.length ? messageFor(out) : 'Image quality is too low.', suggestions: out };
}

/**
 * A frame the session does not take: counted as rejected, answered with its reason and guidance, the
 * session's state otherwise unchanged.
 */
export function rejectFrame(
  params: EnrollParams,
  state: EnrollState,
  f: { reason: string; quality: number; faceDetected: boolean; message: string; suggestions: Suggestion[]; angle?: PoseBucket },
) {
  state.rejected++;
  return { state: { ...state }, result: frameResponse(params, state, { status: 'rejected', accepted: false, ...f }) };
}

export function frameResponse(
  params: EnrollParams,
  state: EnrollState,
  f: { status: 'processing' | 'ready' | 'rejected'; accepted: boolean; reason: string | null; quality: number; faceDetected: boolean; message: string; suggestions: Suggestion[]; angle?: PoseBucket },
) {
  return {
    status: f.status,
    quality_score: f.quality,
    face_detected: f.faceDetected,
    frame_accepted: f.accepted,
    rejection_reason: f.reason,
    captured: f.accepted,
    auto_capture: params.auto_capture,
    angle: f.angle ?? null,
    feedback: { message: f.message, suggestions: f.suggestions },
    progress: {
      current: progressCurrent(params, state),
      required: params.required,
      angles_captured: [...new Set(state.frames.map((s) => s.angle))],
    },
  };
}
