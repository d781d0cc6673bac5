import type { AnalyzedFace } from '../vision/types.ts';
import { challengeExpiresAt, currentChallenge, type Challenge, type LivenessResult, type LivenessState } from './liveness.service.ts';
import type { AuthParams, Decision } from './authentication.params.ts';
import { round } from './face.ts';

/** The response bodies of authentication (sessions and one-shot) and the liveness progress and feedback in them. */
export function authResponse(params: AuthParams, d: Decision, liveness: LivenessResult | null, status: string, started: number, attemptsRemaining: number | undefined) {
  const result =
    d.mode === 'verification'
      ? {
          authenticated: d.success,
          confidence: d.confidence,
          user_id: d.user?.external_id ?? null,
          user_name: d.user?.name ?? null,
          liveness_score: liveness?.score ?? null,
          quality_score: round(d.quality),
          threshold: params.confidence_threshold,
          ...(d.failureReason ? { failure_reason: d.failureReason } : {}),
        }
      : {
          matches: d.matches.map((m) => ({ user_id: m.user.external_id, confidence: m.confidence, name: m.user.name, metadata: m.user.metadata })),
          liveness_score: liveness?.score ?? null,
          quality_score: round(d.quality),
          threshold: params.search_threshold,
          ...(d.failureReason ? { failure_reason: d.failureReason } : {}),
        };
  return {
    status,
    result,
    ...(liveness ? { liveness_result: liveness } : {}),
    ...(attemptsRemaining !== undefined ? { attempts_remaining: attemptsRemaining } : {}),
    processing_time: seconds(started),
    timestamp: new Date().toISOString(),
  };
}

export function livenessProgress(s: LivenessState) {
  const expires = challengeExpiresAt(s);
  return {
    current_challenge: currentChallenge(s),
    challenges_remaining: s.order.length - s.index,
    challenge_expires_at: expires ? new Date(expires).toISOString() : null,
    challenges_completed: [...s.completed],
  };
}

const CHALLENGE_TEXT: Record<Challenge, string> = {
  blink: 'Please blink.',
  head_movement: 'Please turn your head to one side.',
  turn_left: 'Please turn your head to the left.',
  turn_right: 'Please turn your head to the right.',
  nod: 'Please nod: look down, then back up.',
  smile: 'Please smile.',
};

export function livenessFeedback(s: LivenessState): { message: string; suggestions: string[] } {
  const c = currentChallenge(s);
  return { message: c ? CHALLENGE_TEXT[c] : 'Hold still.', suggestions: c ? [c] : [] };
}

export const seconds = (started: number) => round((performance.now() - started) / 1000);

export const NO_FACE_FEEDBACK = { message: 'No face found. Look at the camera.', suggestions: ['center_face'] };

/**
 * The decision recorded when liveness fails: whatever the recogniser found is dropped (confidence,
 * matches, the identified user), so neither the response, nor the attempt row, nor an event tells the
 * presenter of a photo whom it resembles. A verification keeps its target (the caller named it) for the
 * tenant's records; the response omits even that.
 */
export function livenessFailedDecision(d: Decision): Decision {
  return { ...d, success: false, failureReason: 'LIVENESS_FAILED', confidence: null, matches: [], user: d.mode === 'verification' ? d.user : null };
}

/** A liveness frame answered `processing` without being applied (the session state is left as it was). */
export function notCounted(face: AnalyzedFace, liveness: LivenessState, started: number, feedback: { message: string; suggestions: string[] }) {
  return {
    status: 'processing' as const,
    face_detected: true,
    quality_score: round(face.quality.score),
    liveness: livenessProgress(liveness),
    feedback,
    processing_time: seconds(started),
    timestamp: new Date().toISOString(),
  };
}
