import type { Kysely } from 'kysely';
import type { ClientContext } from '../api/request-context.ts';
import type { Database } from '../db/schema.ts';
import type { AnalyzedFace } from '../vision/types.ts';
import type { AppError } from '../errors.ts';
import type { FaceDeps, RequestMeta } from './face.ts';
import { expireLiveness, livenessDone, livenessResult } from './liveness.service.ts';
import { AUTH_MAX_EMPTY_FRAMES, type AuthParams, type AuthState, type Decision } from './authentication.params.ts';
import { authResponse, livenessProgress, NO_FACE_FEEDBACK, seconds } from './authentication.response.ts';
import { recordLivenessFailed, recordOutcome, type OutcomeListeners } from './authentication.outcome.ts';
import { findFaceUser, type FaceUser } from '../db/repositories/templates.repository.ts';

/*
 * Authentication session frames answered without a recognition decision: a frame without a face (or
 * refused as an image), and a face that is not the session's first. AuthenticationService.processFrame
 * hands them here.
 */

/**
 * A session frame without a face (docs/face-flows.md, "No face in a frame"): 200 with face_detected
 * false, as in enrollment sessions; no attempt is counted (a camera sends such frames while the person
 * sits down). The liveness clock keeps running: past the challenge's window the session fails.
 * `refused`: the frame was refused as an image (isRefusedImage). It counts the same (AUTH_MAX_EMPTY_FRAMES,
 * the liveness clock), with its count written, and is answered with that error while the session goes
 * on; the frame that ends the session is answered as a faceless one would be.
 *
 * @example return noFaceFrame(d.sessions, outcomes, client, session.id, params, started, meta) // the frame's answer
 */
export async function noFaceFrame(sessions: FaceDeps['sessions'], to: OutcomeListeners, client: ClientContext, sessionId: string, params: AuthParams, started: number, meta: RequestMeta, refused: AppError | null = null) {
  // Set inside the locked update when the session goes on after a refused image.
  let answerRefusal = false;
  const answer = await sessions.update(sessionId, async (locked, trx) => {
    const state = structuredClone(locked.state) as unknown as AuthState;
    const base = { face_detected: false, quality_score: 0, processing_time: seconds(started), timestamp: new Date().toISOString() };
    if (state.liveness) {
      state.liveness = expireLiveness(state.liveness, Date.now());
      if (livenessDone(state.liveness)) {
        const liveness = livenessResult(state.liveness, params.liveness_threshold);
        const attempts = state.attempts + 1;
        // A verification keeps the target the caller named, as when the timeout falls on a frame with a face.
        const target = params.mode === 'verification' && locked.user_id ? ((await findFaceUser(trx, client.id, locked.user_id)) ?? null) : null;
        const failed: Decision = { mode: params.mode, success: false, failureReason: 'LIVENESS_FAILED', confidence: null, threshold: params.mode === 'verification' ? params.confidence_threshold : params.search_threshold, user: target, matches: [], quality: 0 };
        await recordLivenessFailed(to, trx, client, locked.id, params, failed, liveness, attempts, started, meta, 'CHALLENGE_TIMEOUT');
        return { state: { ...state, attempts }, status: 'failed', result: authResponse(params, { ...failed, user: null }, liveness, 'failed', started, 0) };
      }
      answerRefusal = refused !== null;
      return { state: { ...state }, result: { status: 'processing', ...base, liveness: livenessProgress(state.liveness), feedback: NO_FACE_FEEDBACK } };
    }
    const emptyFrames = (state.emptyFrames ?? 0) + 1;
    if (emptyFrames < AUTH_MAX_EMPTY_FRAMES) {
      answerRefusal = refused !== null;
      return { state: { ...state, emptyFrames }, result: { status: 'processing', ...base, feedback: NO_FACE_FEEDBACK } };
    }
    // No face in AUTH_MAX_EMPTY_FRAMES frames: the session ends failed, one recorded attempt.
    const attempts = state.attempts + 1;
    const target = params.mode === 'verification' && locked.user_id ? ((await findFaceUser(trx, client.id, locked.user_id)) ?? null) : null;
    const failed: Decision = { mode: params.mode, success: false, failureReason: 'NO_FACE_DETECTED', confidence: null, threshold: params.mode === 'verification' ? params.confidence_threshold : params.search_threshold, user: target, matches: [], quality: 0 };
    await recordOutcome(to, trx, client, locked.id, params, failed, null, attempts, started, meta);
    return { state: { ...state, attempts, emptyFrames }, status: 'failed', result: { ...authResponse(params, { ...failed, user: null }, null, 'failed', started, 0), face_detected: false } };
  });
  if (answerRefusal) throw refused!;
  return answer;
}

/**
 * A near-frontal face that is not the session's first face: the session ends failed with FACE_MISMATCH,
 * its attempt and authentication.failed recorded as for any failed session (no confidence: neither
 * against the anchor nor against the claimed user; a verification's target kept for the tenant's records).
 * Called inside the session's locked update; returns that update's answer.
 *
 * @example if (face.quality.poseBucket === 'front') return faceMismatch(outcomes, trx, client, locked.id, params, claimed, face, state, started, meta)
 */
export async function faceMismatch(to: OutcomeListeners, trx: Kysely<Database>, client: ClientContext, sessionId: string, params: AuthParams, claimed: FaceUser | null, face: AnalyzedFace, state: AuthState, started: number, meta: RequestMeta) {
  const attempts = state.attempts + 1;
  const failed: Decision = {
    mode: params.mode,
    success: false,
    failureReason: 'FACE_MISMATCH',
    confidence: null,
    threshold: params.mode === 'verification' ? params.confidence_threshold : params.search_threshold,
    user: params.mode === 'verification' ? claimed : null,
    matches: [],
    quality: face.quality.score,
  };
  await recordOutcome(to, trx, client, sessionId, params, failed, null, attempts, started, meta);
  const cleared = { ...state, attempts, thumb: null, shape: null, planar: null, anchor: null, best: null, votes: null, performers: null, shown: null };
  return { state: cleared, status: 'failed', result: authResponse(params, { ...failed, user: null }, null, 'failed', started, 0) };
}
