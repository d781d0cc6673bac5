import type { HeldDecision, IdentityEvidence } from './authentication.held.ts';
import { appError } from '../errors.ts';
import { DEFAULT_MODEL, thresholdFloor } from '../vision/calibration.ts';
import type { FaceUser } from '../db/repositories/templates.repository.ts';
import type { Challenge, LivenessState } from './liveness.service.ts';

// What an authentication is asked to do (session or one-shot), its defaults, and its decision.

export type AuthMode = 'verification' | 'identification';

export interface AuthOptions {
  confidence_threshold?: number;
  search_threshold?: number;
  max_results?: number;
}

/**
 * Where a session's frames come from. A client names webcam, mobile or upload; the others are set by the
 * server itself (they change how frames are judged: `webrtc` takes no passive vote, `sso` records the
 * attempt as an SSO sign-in), so the public route does not accept them.
 */
export type AuthSessionType = 'webcam' | 'mobile' | 'upload' | 'api' | 'websocket' | 'webrtc' | 'sso';

export interface CreateAuthInput extends AuthOptions {
  user_id?: string;
  session_type?: AuthSessionType;
  mode?: AuthMode;
  require_liveness?: boolean;
  liveness_threshold?: number;
  liveness_challenges?: Challenge[];
  challenge_timeout?: number;
  timeout?: number;
  max_attempts?: number;
}

export interface AuthParams {
  mode: AuthMode;
  session_type: AuthSessionType;
  require_liveness: boolean;
  liveness_threshold: number;
  confidence_threshold: number;
  search_threshold: number;
  max_results: number;
  max_attempts: number;
}

/** At most this false-positive identification rate, whatever search_threshold says. */
export const IDENTIFICATION_FPIR = 0.01;
export const DEFAULTS = { confidence_threshold: 0.8, search_threshold: 0.8, max_results: 5, liveness_threshold: 0.7, challenge_timeout: 10, max_attempts: 3 };

/**
 * Frames without a face one authentication session analyses before it ends failed (NO_FACE_DETECTED), as
 * enrollment sessions stop at ENROLLMENT_MAX_FRAMES. A frame with a face uses one of `max_attempts` and a
 * liveness session ends with its challenges' timeouts, but a frame without a face used neither: a session (one
 * call) took faceless frames at the tier's frame rate until it expired, up to an hour of engine runs. 300 is 30 s
 * of an empty picture at 10 frames/s; a person in front of the camera is found long before. A frame refused as an
 * image (corrupt, truncated, not an image: isRefusedImage) counts too, answered with its own error until the
 * frame that ends the session; uncounted, such frames (an upload and a decode attempt each) ran without end.
 */
export const AUTH_MAX_EMPTY_FRAMES = 300;

export interface Decision {
  mode: AuthMode;
  success: boolean;
  failureReason: string | null;
  confidence: number | null;
  threshold: number;
  user: FaceUser | null;
  matches: Array<{ user: FaceUser; confidence: number }>;
  quality: number;
}

/**
 * confidence_threshold and search_threshold may not go below the recogniser's calibrated floor
 * (thresholdFloor: FAR 1 % rounded up, at least 0.5); a lower one would let a different person verify.
 */
export function assertThresholds(o: { confidence_threshold?: number; search_threshold?: number }): void {
  const floor = thresholdFloor(DEFAULT_MODEL);
  for (const field of ['confidence_threshold', 'search_threshold'] as const) {
    const v = o[field];
    if (v !== undefined && !(v >= floor)) {
      throw appError('VALIDATION_ERROR', `${field} must be at least ${floor} (the calibrated floor: below it a different person is accepted more than 1 % of the time); got ${v}`, {
        field,
        minimum: floor,
      });
    }
  }
}

export function oneShotParams(mode: AuthMode, o: AuthOptions): AuthParams {
  assertThresholds(o);
  return {
    mode,
    session_type: 'api',
    require_liveness: false,
    liveness_threshold: DEFAULTS.liveness_threshold,
    confidence_threshold: o.confidence_threshold ?? DEFAULTS.confidence_threshold,
    search_threshold: o.search_threshold ?? DEFAULTS.search_threshold,
    max_results: o.max_results ?? DEFAULTS.max_results,
    max_attempts: 1,
  };
}

/** The state of an authentication session (sessions.state). */
export interface AuthState extends IdentityEvidence {
  attempts: number;
  /** Frames without a face, or refused as an image (sessions without liveness: AUTH_MAX_EMPTY_FRAMES). */
  emptyFrames?: number;
  liveness: LivenessState | null;
  /** Sealed embedding of the session's first face (identity anchor) and the previous face thumbnail. */
  anchor: string | null;
  thumb: string | null;
  /** Sealed landmark shape of the current challenge's first frame (the turn's depth reference). */
  shape?: string | null;
  /** Sealed face-region crop of the same frame and the image region it covers (the texture reference). */
  planar?: { crop: string; region: { x: number; y: number; width: number; height: number } } | null;
  model: string | null;
  /** Liveness sessions: the best decision among the confirmed frames so far (ids and scores only). */
  best?: HeldDecision | null;
}
