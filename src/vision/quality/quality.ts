import type { DetectedFace } from '../detector/types.ts';
import type { RgbImage } from '../image.ts';
import type { PoseBucket, QualityReport, Suggestion } from '../types.ts';

/** Thresholds for the quality components and suggestions (degrees, pixels, grey levels). */
export const QUALITY = {
  /** Inter-ocular distance (pixels, eye centres) mapped to size 0 → 1. */
  ipdMin: 16,
  ipdGood: 48,
  /** Face box larger than this fraction of the image side → move_back. */
  tooBigFraction: 0.8,
  /** Variance of the Laplacian on the 112×112 aligned grey crop mapped 0 → 1. */
  sharpMin: 20,
  sharpGood: 200,
  /** Mean grey level of the face: outside [darkGood, brightGood] the brightness component falls. */
  dark: 35,
  darkGood: 85,
  brightGood: 190,
  bright: 240,
  /** Grey-level standard deviation mapped 0 → 1. */
  contrastMin: 12,
  contrastGood: 40,
  /** Pose: no penalty within ±poseFree degrees, zero at ±poseMax. */
  yawFree: 12,
  yawMax: 45,
  pitchFree: 15,
  pitchMax: 40,
  /** Suggest turning when |yaw| (or |pitch|) exceeds these. */
  yawSuggest: 20,
  pitchSuggest: 22,
  rollSuggest: 20,
  /** Pose buckets for multi-angle enrollment. */
  bucketYaw: 15,
  bucketPitch: 15,
  /**
   * A requested head turn (multi-angle enrollment): a three-quarter view up to turnFree degrees of yaw is
   * what was asked for, so it costs nothing; beyond it the far half of the face self-occludes and the
   * pose component falls to zero at turnMax (a profile).
   */
  turnFree: 35,
  turnMax: 55,
  /** Eye aspect ratio mapped 0 → 1. */
  earClosed: 0.12,
  earOpen: 0.2,
} as const;

const WEIGHTS = { size: 0.2, sharpness: 0.2, brightness: 0.15, contrast: 0.1, pose: 0.15, eyes: 0.1, confidence: 0.1 };

const MESSAGES: Record<Suggestion, string> = {
  move_closer: 'move closer to the camera',
  move_back: 'move back from the camera',
  turn_left: 'turn your head a little to your left',
  turn_right: 'turn your head a little to your right',
  look_up: 'raise your chin a little',
  look_down: 'lower your chin a little',
  look_straight: 'look straight at the camera',
  improve_lighting: 'find better, even lighting',
  hold_still: 'hold still',
  open_eyes: 'keep your eyes open',
  center_face: 'center your face in the frame',
};

/** Weighted geometric mean of the components: one bad component pulls the score down hard. */
function weightedScore(components: Record<keyof typeof WEIGHTS, number>): number {
  let logSum = 0;
  for (const k of Object.keys(WEIGHTS) as Array<keyof typeof WEIGHTS>) logSum += WEIGHTS[k] * Math.log(Math.max(0.02, components[k]));
  return Math.exp(logSum);
}

function ramp(v: number, lo: number, hi: number): number {
  return Math.max(0, Math.min(1, (v - lo) / (hi - lo)));
}

/** Greyscale statistics of the aligned crop's central face region (the black warp border excluded). */
export function cropStats(aligned: RgbImage): { mean: number; std: number; laplacianVar: number } {
  const { width: W, data } = aligned;
  const g = new Float32Array(W * aligned.height);
  for (let i = 0; i < g.length; i++) g[i] = 0.299 * data[i * 3] + 0.587 * data[i * 3 + 1] + 0.114 * data[i * 3 + 2];
  const x0 = Math.round(W * 0.2), x1 = Math.round(W * 0.8), y0 = Math.round(aligned.height * 0.25), y1 = Math.round(aligned.height * 0.9);
  let s = 0, s2 = 0, n = 0, l = 0, l2 = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const v = g[y * W + x];
      s += v; s2 += v * v; n++;
      const lap = g[(y - 1) * W + x] + g[(y + 1) * W + x] + g[y * W + x - 1] + g[y * W + x + 1] - 4 * v;
      l += lap; l2 += lap * lap;
    }
  }
  const mean = s / n;
  return { mean, std: Math.sqrt(Math.max(0, s2 / n - mean * mean)), laplacianVar: l2 / n - (l / n) ** 2 };
}

/**
 * The distance between the eye centres in pixels, the foreshortening of a head turn taken out (it shrinks by
 * cos(yaw), down to half: a three-quarter view is not a smaller face).
 */
export function interOcularPx(landmarks: ReadonlyArray<readonly [number, number]>, yawDeg: number): number {
  const [le, re] = landmarks;
  return Math.hypot(re[0] - le[0], re[1] - le[1]) / Math.max(0.5, Math.cos((yawDeg * Math.PI) / 180));
}

/**
 * Too small to recognise: the eye centres under QUALITY.ipdMin (16 px) apart, the size at which the quality
 * score's size component is zero. The recogniser reads a 112-pixel crop with the eyes about 35 px apart, so such
 * a face is blown up more than twice: the picture holds less than half the detail the model was trained on, and a
 * match on it is closer to a guess than its confidence says.
 */
export function tooSmallToRecognise(landmarks: ReadonlyArray<readonly [number, number]>, yawDeg: number): boolean {
  return interOcularPx(landmarks, yawDeg) < QUALITY.ipdMin;
}

/**
 * Pose bucket from degrees; yaw > 0 = turned to the person's own right, pitch > 0 = looking up.
 * 'left'/'right' name the direction the person turned, from their own point of view.
 */
export function poseBucket(yaw: number, pitch: number): PoseBucket {
  if (Math.abs(yaw) >= QUALITY.bucketYaw && Math.abs(yaw) >= Math.abs(pitch)) return yaw > 0 ? 'right' : 'left';
  if (Math.abs(pitch) >= QUALITY.bucketPitch) return pitch > 0 ? 'up' : 'down';
  return 'front';
}

/**
 * Quality score, components, suggestions and message for one detected face.
 *
 * @example const q = assessQuality(img, face, aligned112, signals.eyeOpenness); // q.score, q.suggestions
 */
export function assessQuality(img: RgbImage, face: DetectedFace, aligned: RgbImage, eyeOpenness: number): QualityReport {
  const [le, re] = face.five;
  const ipd = Math.hypot(re[0] - le[0], re[1] - le[1]);
  const stats = cropStats(aligned);
  const { yaw, pitch, roll } = face.pose;

  // Share of the mesh inside the image: a face cut by the border is only partly visible.
  let inside = 0;
  for (let i = 0; i < 468; i++) {
    const [x, y] = face.mesh[i];
    if (x >= 0 && y >= 0 && x < img.width && y < img.height) inside++;
  }
  const visible = inside / 468;
  const cx = (face.box.x + face.box.width / 2) / img.width, cy = (face.box.y + face.box.height / 2) / img.height;
  const offCentre = Math.max(Math.abs(cx - 0.5), Math.abs(cy - 0.5));
  const tooBig = face.box.width > QUALITY.tooBigFraction * img.width || face.box.height > QUALITY.tooBigFraction * img.height;

  const components = {
    size: ramp(ipd, QUALITY.ipdMin, QUALITY.ipdGood) * (tooBig ? 0.6 : 1),
    sharpness: ramp(stats.laplacianVar, QUALITY.sharpMin, QUALITY.sharpGood),
    brightness: Math.min(ramp(stats.mean, QUALITY.dark, QUALITY.darkGood), 1 - ramp(stats.mean, QUALITY.brightGood, QUALITY.bright)),
    contrast: ramp(stats.std, QUALITY.contrastMin, QUALITY.contrastGood),
    pose: Math.min(
      1 - ramp(Math.abs(yaw), QUALITY.yawFree, QUALITY.yawMax),
      1 - ramp(Math.abs(pitch), QUALITY.pitchFree, QUALITY.pitchMax),
    ),
    eyes: ramp(eyeOpenness, QUALITY.earClosed, QUALITY.earOpen),
    confidence: Math.max(0, Math.min(1, face.score)),
  };
  const frame = visible ** 2 * (offCentre > 0.4 ? 0.8 : 1);
  const score = weightedScore(components) * frame;
  // The same frame judged as a capture of a requested turn: the eyes' distance in the picture shrinks by
  // cos(yaw) (foreshortening, not distance from the camera), and a three-quarter view is not a bad pose.
  const turnComponents = {
    ...components,
    size: ramp(ipd / Math.max(0.5, Math.cos((yaw * Math.PI) / 180)), QUALITY.ipdMin, QUALITY.ipdGood) * (tooBig ? 0.6 : 1),
    pose: Math.min(1 - ramp(Math.abs(yaw), QUALITY.turnFree, QUALITY.turnMax), 1 - ramp(Math.abs(pitch), QUALITY.pitchFree, QUALITY.pitchMax)),
  };
  const turnScore = weightedScore(turnComponents) * frame;

  const suggestions: Suggestion[] = [];
  if (visible < 0.97 || offCentre > 0.4) suggestions.push('center_face');
  if (components.size < 0.6) suggestions.push('move_closer');
  if (tooBig) suggestions.push('move_back');
  if (yaw > QUALITY.yawSuggest) suggestions.push('turn_left');
  else if (yaw < -QUALITY.yawSuggest) suggestions.push('turn_right');
  if (pitch > QUALITY.pitchSuggest) suggestions.push('look_down');
  else if (pitch < -QUALITY.pitchSuggest) suggestions.push('look_up');
  if (Math.abs(roll) > QUALITY.rollSuggest) suggestions.push('look_straight');
  if (components.brightness < 0.6 || components.contrast < 0.5) suggestions.push('improve_lighting');
  // A big, well-lit face that is still soft is most likely motion blur.
  if (components.sharpness < 0.35 && components.size >= 0.6 && components.brightness >= 0.6) suggestions.push('hold_still');
  if (components.eyes < 0.5) suggestions.push('open_eyes');

  return {
    score: Math.max(0, Math.min(1, score)),
    turnScore: Math.max(0, Math.min(1, turnScore)),
    suggestions,
    message: messageFor(suggestions),
    poseBucket: poseBucket(yaw, pitch),
    components,
  };
}

/** One sentence from the suggestions, e.g. "Please move closer to the camera and hold still." */
export function messageFor(suggestions: Suggestion[]): string {
  if (suggestions.length === 0) return 'Good image quality.';
  const parts = suggestions.map((s) => MESSAGES[s]);
  const body = parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
  return `Please ${body}.`;
}
