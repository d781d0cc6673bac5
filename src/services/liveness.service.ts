/**
 * Active liveness, decided by the server from per-frame signals of the face engine.
 *
 * The session issues challenges one at a time in a random order; each must be met within
 * `challenge_timeout` seconds of being issued. Everything is relative to the session's own frames,
 * never to absolute constants of one face:
 * - blink: the eye aspect ratio drops below BLINK_CLOSE × the open-eye baseline (a high percentile of
 *   the session's recent EAR values) in a frame whose change from the previous one is local to the eyes
 *   (BLINK_LOCAL: a stretched or squashed picture changes the whole face), and then recovers above
 *   BLINK_REOPEN × baseline;
 * - blink also needs the head still (yaw within BLINK_MAX_YAW between closing and reopening);
 * - head_movement: |yaw − yaw of the challenge's first frame| ≥ TURN_DEG; turn_left/turn_right: the same,
 *   and the head ends up TURN_DEG to that side of the session's first frontal frame (yaw inside the 'front'
 *   pose bucket, |yaw| < 15°; before one is seen neither turn is met), so coming back from the other side is
 *   not a turn, even in a recording that starts turned, and a recording that turns the other way first fails
 *   the issued order; and the
 *   turn is 3-D: the nose tip left the plane homography of the eye corners, mouth corners, chin and forehead
 *   by at least PARALLAX_K × sin|Δyaw| eye widths, toward the turn (noseParallax: a flat picture moved,
 *   rotated or perspective-warped keeps every point on one homography);
 * - every challenge is met only on a frame that shows the whole face (every mesh point inside the picture):
 *   the mesh guesses what it cannot see, and a face cut by the border reads as a turned head;
 * - nod: pitch goes NOD_DEG below the first frame's pitch and comes back within NOD_DEG / 2;
 * - smile: the smile signal rises SMILE_RISE above its first-frame value;
 * - static detection: consecutive 32×32 face thumbnails whose mean absolute difference is below
 *   STATIC_DIFF grey levels are "still"; STATIC_RUN still transitions in a row (a photo sent
 *   again and again), no natural micro-motion over the last MOTION_WINDOW_MS (and at least MOTION_WINDOW
 *   transitions; a re-captured still: median change < MOTION_MIN_DIFF with yaw and pitch steady within
 *   MOTION_MIN_POSE degrees), or a
 *   session that ends with more than half of its transitions still, sets static_detection and fails;
 * - passive check: each frame's passive anti-spoof score (probability of a live face rather than a
 *   print or a screen); a session whose median over at least PASSIVE_MIN_FRAMES frames is below
 *   PASSIVE_MIN_MEDIAN fails, even if a replayed video performs every challenge.
 * The measured pass/fail table is in docs/face-flows.md (scripts/liveness-eval.ts prints it).
 *
 * @example
 *   let s = newLiveness(['blink', 'head_movement'], 10_000, Date.now());
 *   s = applyLivenessFrame(s, frame, prevThumb); livenessResult(s, 0.7).passed
 */
import crypto from 'node:crypto';
import { bandChanges, thumbnailChange } from '../vision/liveness-signals/signals.ts';
import { noseParallax } from '../vision/liveness-signals/parallax.ts';
import { QUALITY } from '../vision/quality/quality.ts';

export const CHALLENGES = ['blink', 'head_movement', 'turn_left', 'turn_right', 'nod', 'smile'] as const;
export type Challenge = (typeof CHALLENGES)[number];
/**
 * Challenges met only by a head that turns in 3-D (the parallax rule). Blink, smile and nod change the
 * picture in ways an edited or animated picture can imitate more easily (a nod's 8° is within the parallax
 * noise, so it is not checked for depth); a set without one of these is weaker, and the SSO face sign-in
 * refuses it (docs/sso.md).
 */
export const HEAD_CHALLENGES: readonly Challenge[] = ['head_movement', 'turn_left', 'turn_right'];

/** A challenge set with a 3-D action: the one given, or it plus head_movement. */
export function withHeadChallenge(challenges: readonly Challenge[]): Challenge[] {
  return challenges.some((c) => HEAD_CHALLENGES.includes(c)) ? [...challenges] : [...challenges, 'head_movement'];
}

export const LIVENESS_TUNING = {
  /** A blink behind glasses can read as only a 25 % drop of the eye aspect ratio (developers' guide). */
  BLINK_CLOSE: 0.75,
  /**
   * A closing counts only when it is local: between the frame before and the closing frame, the eye band
   * of the aligned face thumbnail changes at least BLINK_LOCAL × as much as the forehead and the nose
   * (bandChanges). Physics: eyelids move, the skull does not. A picture stretched or squashed to swing
   * the eye aspect ratio moves the whole face's texture (measured: ratio ≤ 1.14 for stretches of 5–40 %;
   * real blinks 1.35–4.5 on the talking-head video, including talking and head motion).
   */
  BLINK_LOCAL: 1.2,
  /** Below this many grey levels of forehead/nose change, the band is taken as still (sensor noise). */
  BLINK_REST_NOISE: 1.5,
  BLINK_REOPEN: 0.85,
  /** A blink happens with the head still: more yaw change than this between close and reopen is a turn. */
  BLINK_MAX_YAW: 10,
  BASELINE_WINDOW: 30,
  BASELINE_PERCENTILE: 0.8,
  MIN_BASELINE_FRAMES: 3,
  TURN_DEG: 20,
  /**
   * A turn counts when the nose tip's parallax (noseParallax, in outer-eye-corner widths, toward the turn)
   * is at least PARALLAX_K × sin|Δyaw|. Physics: the nose tip stands about 0.45 eye widths in front of the
   * outer eye corners; projected, an average face gives a ratio of ≈ 0.40 and a nose 60 % as deep 0.25
   * (liveness.service.test.ts). Measured with the mesh (`node scripts/liveness-eval.ts --parallax`) over
   * all frame pairs ≥ 8° apart on five people (a child, glasses, a webcam): 1st percentile 0.36–0.58,
   * medians 0.60–1.0, never the wrong sign. Flat pictures turned up to 70° with perspective, rolled or
   * panned: the mesh's yaw stays ≤ 6.4° and |parallax| ≤ 0.09 (live faces without a turn: p99 ≤ 0.08).
   */
  PARALLAX_K: 0.25,
  /**
   * ...and the picture's texture does not say "flat": a turn is refused when, between the challenge's
   * first frame and the turned one, at least FLAT_MIN_MATCHES textured patches of the face region match
   * and at least FLAT_INLIERS of them lie on one plane homography (planarity.ts). This catches what the
   * mesh cannot: a card over half a photo makes the mesh guess a turned head, with self-consistent
   * landmarks. Measured (`node scripts/liveness-eval.ts --parallax`): 221 pairs of a live webcam turn
   * ≥ 19° apart: share on one homography median 0.37, p95 0.50, max 0.60; a card over a photo 0.74–1.0, a photo
   * turned ≈ 21° in perspective 0.63–0.81 (its mesh never reads a turn). Refused only on evidence: too
   * little texture to match (a dim camera, a plain face) is not counted against a live person.
   */
  FLAT_MIN_MATCHES: 12,
  FLAT_INLIERS: 0.7,
  NOD_DEG: 8,
  SMILE_RISE: 0.25,
  STATIC_DIFF: 0.6,
  STATIC_RUN: 2,
  /** "No natural micro-motion": over the last MOTION_WINDOW_MS (and at least MOTION_WINDOW transitions),
   * the median thumbnail change stays below MOTION_MIN_DIFF and yaw and pitch each vary less than
   * MOTION_MIN_POSE degrees. The window is a time, not a frame count: a clean camera at 25–30 frames/s
   * changes little between frames (a live person holding still at 25 fps: median 0.97–1.2, like a
   * re-encoded still's 1.07), but a living head is never still for 1.5 s: its pose spread over 1.5 s
   * was ≥ 1.18° on five people at 8–30 frames/s, a re-encoded still's ≤ 0.5° (mesh noise). */
  MOTION_WINDOW: 10,
  MOTION_WINDOW_MS: 1500,
  /** Measured (scripts/liveness-eval.ts): a live person holding still for 0.7 s at 15 fps gives a median
   * change of 1.88; one photo re-encoded 20× gives 1.07. */
  MOTION_MIN_DIFF: 1.4,
  MOTION_MIN_POSE: 0.8,
  /** Measured (`npm run eval -- spoof`, scripts/liveness-eval.ts): per-frame passive scores of print
   * and screen-replay attacks ≤ 0.003; live webcam frames p10 0.007–0.03, session medians 0.16–0.42. */
  PASSIVE_MIN_MEDIAN: 0.01,
  PASSIVE_MIN_FRAMES: 3,
  /**
   * No decision before this many frames, however early the challenges are met: the passive check's median
   * and the motion checks need several frames to judge (two frames sent at once could otherwise end a
   * session before either check had seen enough). At 10 frames/s this is 0.3 s.
   */
  MIN_FRAMES: 3,
};

/** One frame's evidence (from AnalyzedFace.pose and .signals). */
export interface LivenessFrame {
  /** Milliseconds (server clock in the API; frame time in the evaluation script). */
  at: number;
  eye: number;
  yaw: number;
  pitch: number;
  smile: number;
  thumb: Uint8Array;
  passive: number | null;
  /** 2-D landmark positions (signals.shape), for the depth check of turns; null when not measured. */
  shape?: ArrayLike<number> | null;
  /** The whole face is inside the picture (signals.faceInFrame); a frame that cuts it meets no challenge. */
  inFrame?: boolean;
  /** signals.flatness of this frame against the challenge's first frame (null when not measured). */
  flat?: { matches: number; inliers: number } | null;
  /**
   * The caller measures `flat` on every frame turned far enough from the challenge's reference: a turned
   * frame without the measurement was analysed without the reference, and is no evidence of depth.
   */
  texture?: boolean;
}

export interface LivenessState {
  order: Challenge[];
  index: number;
  issuedAt: number;
  timeoutMs: number;
  completed: Challenge[];
  frames: number;
  ears: number[];
  eyeClosed: boolean;
  closedYaw: number;
  blinks: number;
  first: { yaw: number; pitch: number; smile: number } | null;
  /** The landmark shape of the challenge's first frame (the turn's reference); sealed by the caller at rest. */
  refShape: number[] | null;
  /** `frames` at the frame refShape was taken from (its region crop is the texture reference). */
  refFrame?: number;
  /** Yaw of the session's first frontal frame (|yaw| < QUALITY.bucketYaw): what turn_left / turn_right are measured from. */
  front?: number | null;
  maxYawDelta: number;
  maxPitchDelta: number;
  nodDown: boolean;
  stillRun: number;
  stillTransitions: number;
  transitions: number;
  motion: number;
  recent: { d: number[]; yaw: number[]; pitch: number[]; at?: number[] };
  passive: number[];
  failure: null | 'CHALLENGE_TIMEOUT' | 'STATIC_IMAGE' | 'SPOOF_DETECTED';
}

/**
 * A uniform number in [0, 1) from the operating system's CSPRNG. The challenge order is what a recording
 * of the victim must match: Math.random (xorshift128+) can be predicted from its earlier outputs.
 */
export function secureRandom(): number {
  return crypto.randomBytes(6).readUIntBE(0, 6) / 2 ** 48;
}

export function newLiveness(challenges: Challenge[], timeoutMs: number, now: number, random: () => number = secureRandom): LivenessState {
  const order = [...new Set(challenges)];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return {
    order,
    index: 0,
    issuedAt: now,
    timeoutMs,
    completed: [],
    frames: 0,
    ears: [],
    eyeClosed: false,
    closedYaw: 0,
    blinks: 0,
    first: null,
    refShape: null,
    front: null,
    maxYawDelta: 0,
    maxPitchDelta: 0,
    nodDown: false,
    stillRun: 0,
    stillTransitions: 0,
    transitions: 0,
    motion: 0,
    recent: { d: [], yaw: [], pitch: [], at: [] },
    passive: [],
    failure: null,
  };
}

export function currentChallenge(s: LivenessState): Challenge | null {
  return s.failure || s.index >= s.order.length ? null : s.order[s.index];
}

export function challengeExpiresAt(s: LivenessState): number | null {
  return currentChallenge(s) ? s.issuedAt + s.timeoutMs : null;
}

/** Mean absolute difference of two grey thumbnails after removing each one's brightness (0..255). */
export function thumbDiff(a: Uint8Array, b: Uint8Array): number {
  if (!a.length || a.length !== b.length) return 255;
  return thumbnailChange(a, b);
}

function baseline(ears: number[]): number | null {
  if (ears.length < LIVENESS_TUNING.MIN_BASELINE_FRAMES) return null;
  const sorted = [...ears].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * LIVENESS_TUNING.BASELINE_PERCENTILE))];
}

/** Folds one frame into the state (pure: returns a new state). `prevThumb` is the previous frame's thumbnail. */
export function applyLivenessFrame(state: LivenessState, f: LivenessFrame, prevThumb: Uint8Array | null): LivenessState {
  const s: LivenessState = structuredClone(state);
  if (livenessDone(s)) return s;
  const T = LIVENESS_TUNING;
  if (f.at > s.issuedAt + s.timeoutMs) {
    s.failure = 'CHALLENGE_TIMEOUT';
    return s;
  }
  s.frames++;
  if (f.passive !== null) {
    s.passive.push(f.passive);
    // Fail fast: once the passive check decides print or screen (the same median rule as the final
    // decision, with the last PASSIVE_MIN_FRAMES frames all below it too), no challenge can rescue the
    // session, so it ends at this frame instead of at the challenge timeout.
    const last = s.passive.slice(-T.PASSIVE_MIN_FRAMES);
    if (s.passive.length >= T.PASSIVE_MIN_FRAMES && median(s.passive) < T.PASSIVE_MIN_MEDIAN && last.every((p) => p < T.PASSIVE_MIN_MEDIAN)) {
      s.failure = 'SPOOF_DETECTED';
      return s;
    }
  }

  if (prevThumb) {
    const d = thumbDiff(prevThumb, f.thumb);
    s.transitions++;
    s.motion += d;
    if (d < T.STATIC_DIFF) {
      s.stillRun++;
      s.stillTransitions++;
    } else s.stillRun = 0;
    if (s.stillRun >= T.STATIC_RUN) {
      s.failure = 'STATIC_IMAGE';
      return s;
    }
    const r = s.recent;
    r.at ??= r.d.map(() => f.at);
    r.d.push(d);
    r.yaw.push(f.yaw);
    r.pitch.push(f.pitch);
    r.at.push(f.at);
    // Keep the shortest tail that still spans MOTION_WINDOW_MS with at least MOTION_WINDOW transitions.
    while (r.d.length > T.MOTION_WINDOW && f.at - r.at[1] >= T.MOTION_WINDOW_MS) (r.d.shift(), r.yaw.shift(), r.pitch.shift(), r.at.shift());
    if (r.d.length >= T.MOTION_WINDOW && f.at - r.at[0] >= T.MOTION_WINDOW_MS) {
      const median = [...r.d].sort((a, b) => a - b)[r.d.length >> 1];
      const spread = (a: number[]) => Math.max(...a) - Math.min(...a);
      if (median < T.MOTION_MIN_DIFF && spread(r.yaw) < T.MOTION_MIN_POSE && spread(r.pitch) < T.MOTION_MIN_POSE) {
        s.failure = 'STATIC_IMAGE';
        return s;
      }
    }
  }

  // The frontal reference of turn_left / turn_right: the first frame that faces the camera (the 'front'
  // pose bucket) and shows the whole face. Not simply the first frame sent: a recording that starts turned
  // to the right and comes back to the front would otherwise read as a turn to the left.
  if ((s.front === null || s.front === undefined) && Math.abs(f.yaw) < QUALITY.bucketYaw && f.inFrame !== false) s.front = f.yaw;
  if (!s.first) {
    s.first = { yaw: f.yaw, pitch: f.pitch, smile: f.smile };
    s.refShape = f.shape && f.inFrame !== false ? Array.from(f.shape) : null;
    s.refFrame = s.frames;
  } else if (!s.refShape && f.shape && f.inFrame !== false) {
    // The challenge began on a frame that cut the face: the turn is measured from the first whole one.
    s.refShape = Array.from(f.shape);
    s.refFrame = s.frames;
    s.first.yaw = f.yaw;
  }
  const dyaw = f.yaw - s.first.yaw;
  const dpitch = f.pitch - s.first.pitch;
  s.maxYawDelta = Math.max(s.maxYawDelta, Math.abs(dyaw));
  s.maxPitchDelta = Math.max(s.maxPitchDelta, Math.abs(dpitch));

  // Blink: judged against the open-eye baseline of the frames before this one.
  const base = baseline(s.ears);
  let blinked = false;
  const seen = f.inFrame !== false; // a cut face's eyes may be the mesh's guess: no blink evidence
  if (base !== null && seen) {
    if (!s.eyeClosed && f.eye < base * T.BLINK_CLOSE && localClosing(prevThumb, f.thumb)) {
      s.eyeClosed = true;
      s.closedYaw = f.yaw;
    } else if (s.eyeClosed && f.eye > base * T.BLINK_REOPEN) {
      s.eyeClosed = false;
      if (Math.abs(f.yaw - s.closedYaw) <= T.BLINK_MAX_YAW) {
        s.blinks++;
        blinked = true;
      }
    }
  }
  if (seen) s.ears.push(f.eye);
  if (s.ears.length > T.BASELINE_WINDOW) s.ears.shift();

  // Nod: down then back up, relative to the first frame (pitch sign per src/vision: positive = down).
  let nodded = false;
  if (!s.nodDown && Math.abs(dpitch) >= T.NOD_DEG) s.nodDown = true;
  else if (s.nodDown && Math.abs(dpitch) <= T.NOD_DEG / 2) {
    s.nodDown = false;
    nodded = true;
  }

  const textureSaysDepth = f.texture ? !!f.flat && !looksFlat(f.flat) : !looksFlat(f.flat);
  const turned3d = Math.abs(dyaw) >= T.TURN_DEG && turnHasDepth(s.refShape, f.shape ?? null, dyaw) && textureSaysDepth;
  const met: Record<Challenge, boolean> = {
    blink: blinked,
    head_movement: turned3d,
    turn_left: turned3d && dyaw < 0 && s.front != null && f.yaw - s.front <= -T.TURN_DEG,
    turn_right: turned3d && dyaw > 0 && s.front != null && f.yaw - s.front >= T.TURN_DEG,
    nod: nodded,
    smile: f.smile - s.first.smile >= T.SMILE_RISE,
  };
  const current = s.order[s.index];
  // All challenges met (waiting for MIN_FRAMES): the frame only feeds the passive and motion checks.
  if (current && met[current] && f.inFrame !== false) {
    s.completed.push(current);
    s.index++;
    s.issuedAt = f.at;
    // Each later challenge must be met by movement after it was issued.
    s.nodDown = false;
    s.eyeClosed = false;
    if (s.index < s.order.length) {
      s.first = { yaw: f.yaw, pitch: f.pitch, smile: f.smile };
      s.refShape = f.shape ? Array.from(f.shape) : null;
      s.refFrame = s.frames;
    }
  }
  return s;
}

/** The texture between the challenge's first frame and this one moved as one plane (FLAT_* rule). */
export function looksFlat(flat: { matches: number; inliers: number } | null | undefined): boolean {
  return !!flat && flat.matches >= LIVENESS_TUNING.FLAT_MIN_MATCHES && flat.inliers >= LIVENESS_TUNING.FLAT_INLIERS;
}

/**
 * The turn moved the nose tip off the face plane's homography toward the turn, by at least
 * PARALLAX_K × sin|Δyaw| eye widths (yaw > 0, the person's own right, moves the nose image-left in an
 * unmirrored picture: `along` < 0). Without both shapes there is no depth evidence: not met.
 */
export function turnHasDepth(ref: ArrayLike<number> | null, cur: ArrayLike<number> | null, dyaw: number): boolean {
  if (!ref || !cur) return false;
  const p = noseParallax(ref, cur);
  if (!p) return false;
  return -Math.sign(dyaw) * p.along >= LIVENESS_TUNING.PARALLAX_K * Math.sin((Math.abs(dyaw) * Math.PI) / 180);
}

/** The closing frame changed the eyes, not the whole face (BLINK_LOCAL); without a previous frame, no. */
function localClosing(prev: Uint8Array | null, cur: Uint8Array): boolean {
  if (!prev) return false;
  const b = bandChanges(prev, cur);
  return b.eyes >= LIVENESS_TUNING.BLINK_LOCAL * Math.max(b.forehead, b.nose, LIVENESS_TUNING.BLINK_REST_NOISE);
}

/** Marks a timeout that happened between frames (checked when a frame or the result is requested). */
export function expireLiveness(state: LivenessState, now: number): LivenessState {
  if (state.failure || state.index >= state.order.length || now <= state.issuedAt + state.timeoutMs) return state;
  return { ...state, failure: 'CHALLENGE_TIMEOUT' };
}

export interface LivenessResult {
  passed: boolean;
  score: number;
  checks: {
    blink_detected: boolean;
    head_movement: number;
    static_detection: boolean;
    /** Median passive anti-spoof score of the session's frames (null when not measured). */
    passive_score: number | null;
    /** The passive check judged the frames a print or a screen replay. */
    spoof_detected: boolean;
  };
  challenges_completed: Challenge[];
  /** Why it failed (absent when passed). */
  failure_reason?: 'SPOOF_DETECTED' | 'STATIC_IMAGE' | 'CHALLENGE_TIMEOUT' | 'BELOW_THRESHOLD';
}

function median(a: number[]): number {
  return [...a].sort((x, y) => x - y)[a.length >> 1];
}

/** The session has its decision: a failure, or every challenge met over at least MIN_FRAMES frames. */
export function livenessDone(s: LivenessState): boolean {
  return s.failure !== null || (s.index >= s.order.length && s.frames >= LIVENESS_TUNING.MIN_FRAMES);
}

/**
 * The guide's liveness_result. score: 0.2 + 0.6 × (challenges met / issued) + 0.2 × natural motion
 * (mean thumbnail change, saturating at 4 grey levels); a static session, or one the passive check
 * judges a print or screen, scores at most 0.1.
 */
export function livenessResult(s: LivenessState, threshold: number): LivenessResult {
  const T = LIVENESS_TUNING;
  const passive = s.passive.length ? median(s.passive) : null;
  const spoofDetected = s.failure === 'SPOOF_DETECTED' || (passive !== null && s.passive.length >= T.PASSIVE_MIN_FRAMES && passive < T.PASSIVE_MIN_MEDIAN);
  const staticDetected =
    s.failure === 'STATIC_IMAGE' || (s.transitions >= 4 && s.stillTransitions / s.transitions > 0.5);
  const fraction = s.order.length ? s.completed.length / s.order.length : 0;
  const natural = s.transitions ? Math.min(1, s.motion / s.transitions / 4) : 0;
  let score = 0.2 + 0.6 * fraction + 0.2 * natural;
  if (staticDetected || spoofDetected) score = Math.min(score, 0.1);
  score = Math.round(score * 100) / 100;
  const allMet = s.index >= s.order.length && s.order.length > 0;
  // The passive check must have judged (it has no vote only where the caller measures none: WebRTC frames).
  const enoughFrames = s.frames >= T.MIN_FRAMES && (s.passive.length === 0 || s.passive.length >= T.PASSIVE_MIN_FRAMES);
  const passed = allMet && enoughFrames && !staticDetected && !spoofDetected && !s.failure && score >= threshold;
  const failureReason = passed
    ? undefined
    : spoofDetected
      ? 'SPOOF_DETECTED'
      : staticDetected
        ? 'STATIC_IMAGE'
        : s.failure === 'CHALLENGE_TIMEOUT' || !allMet
          ? 'CHALLENGE_TIMEOUT'
          : 'BELOW_THRESHOLD';
  return {
    passed,
    score,
    checks: {
      blink_detected: s.blinks > 0,
      head_movement: Math.round((Math.max(s.maxYawDelta, s.maxPitchDelta) / 90) * 100) / 100,
      static_detection: staticDetected,
      passive_score: passive === null ? null : Math.round(passive * 1000) / 1000,
      spoof_detected: spoofDetected,
    },
    challenges_completed: [...s.completed],
    ...(failureReason ? { failure_reason: failureReason } : {}),
  };
}
