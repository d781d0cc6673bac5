import crypto from 'node:crypto';
import type { ClientContext } from '../api/request-context.ts';
import type { AnalyzedFace } from '../vision/types.ts';
import { appError } from '../errors.ts';
import { round, type FaceDeps } from './face.ts';
import { SAME_PERSON_CONFIDENCE, ANGLES, awaitsFront, captureScore, captureThreshold, frameResponse, guidanceFor, identityReferences, progressCurrent, rejectFrame, rejectionGuidance, type CapturedFrame, type EnrollParams, type EnrollState } from './enrollment.capture.ts';
import { dot } from './enrollment.store.ts';

/*
 * One enrollment session frame judged against the session's locked state: the capture rules
 * (enrollment.capture.ts) with what they need around them, the identity check against the frames already
 * taken (sealed in the session) and the sealing of a frame that is taken. EnrollmentService owns the
 * session around it.
 */

/**
 * One analysed frame against the session's locked state (`state` already counts it): taken, or rejected with a reason.
 * `face` null: the frame showed no face. Another person's near-frontal face throws FACE_MISMATCH.
 *
 * @example return await judgeFrame(deps, client, locked.id, params, state, face, modelId) // { state, result }
 */
export async function judgeFrame(d: Pick<FaceDeps, 'calibration' | 'vault'>, client: ClientContext, sessionId: string, params: EnrollParams, state: EnrollState, face: AnalyzedFace | null, modelId: string) {
  if (!face) {
    return rejectFrame(params, state, {
      reason: 'NO_FACE_DETECTED',
      quality: 0,
      faceDetected: false,
      message: 'No face detected. Look at the camera.',
      suggestions: ['center_face'],
    });
  }
  const emb = face.embedding!;
  const q = face.quality;
  if (awaitsFront(params, state, q.poseBucket)) {
    return rejectFrame(params, state, {
      reason: 'IDENTITY_UNCERTAIN',
      quality: round(q.score),
      faceDetected: true,
      message: 'Look straight at the camera first, so your face can be recognised.',
      suggestions: ['look_straight'],
      angle: q.poseBucket,
    });
  }
  if (state.frames.length) {
    // Identity: the best match over the front frames already accepted (identityReferences). The
    // recogniser is reliable on near-frontal faces: there a low match is another person
    // (FACE_MISMATCH); on a turned face it may only be the angle, so that frame is rejected with a
    // hint instead of accepted.
    if (state.frames.some((f) => f.model !== modelId)) throw appError('MODEL_MISMATCH');
    let best = -1;
    for (const f of identityReferences(state.frames)) {
      const ref = openFrame(d.vault, client.id, sessionId, f);
      if (ref.length === emb.length) best = Math.max(best, dot(ref, emb));
    }
    const confidence = d.calibration.confidence(best, modelId);
    if (confidence < SAME_PERSON_CONFIDENCE) {
      if (q.poseBucket === 'front') throw appError('FACE_MISMATCH', undefined, { confidence: round(confidence) });
      return rejectFrame(params, state, {
        reason: 'IDENTITY_UNCERTAIN',
        quality: round(q.score),
        faceDetected: true,
        message: 'Turn your head a little less, so your face stays recognisable.',
        suggestions: [q.poseBucket === 'left' ? 'turn_right' : q.poseBucket === 'right' ? 'turn_left' : 'look_straight'],
        angle: q.poseBucket,
      });
    }
  }
  const angle = q.poseBucket;
  const score = captureScore(params, q);
  const quality = round(score);
  if (score < captureThreshold(params, q.poseBucket)) {
    const guidance = rejectionGuidance(params, state, q, face.pose.yaw);
    return rejectFrame(params, state, { reason: 'POOR_IMAGE_QUALITY', quality, faceDetected: true, message: guidance.message, suggestions: guidance.suggestions, angle });
  }
  const frame: CapturedFrame = { emb: '', quality: score, confidence: face.score, angle, model: modelId };
  let accepted = false;
  let reason: string | null = null;
  if (params.require_multiple_angles) {
    const at = state.frames.findIndex((f) => f.angle === angle);
    if (!ANGLES.includes(angle)) reason = 'ANGLE_NOT_NEEDED';
    else if (at < 0) {
      state.frames.push(frame);
      accepted = true;
    } else if (state.frames[at].quality < frame.quality && at > 0) {
      // A better frame of an angle already held replaces it (the first frame stays: it anchors identity).
      state.frames[at] = frame;
      accepted = true;
    } else reason = 'ANGLE_ALREADY_CAPTURED';
  } else if (state.frames.length < params.required) {
    state.frames.push(frame);
    accepted = true;
  } else {
    const worst = state.frames.reduce((w, f, i) => (i > 0 && f.quality < state.frames[w].quality ? i : w), 1);
    if (state.frames.length > 1 && state.frames[worst].quality < frame.quality) {
      state.frames[worst] = frame;
      accepted = true;
    } else reason = 'ENOUGH_FRAMES';
  }
  if (accepted) {
    const label = `frame:${crypto.randomUUID()}`;
    frame.emb = `${label}|${d.vault.sealSession(client.id, sessionId, label, emb)}`;
  }
  const done = progressCurrent(params, state) >= params.required;
  const guidance = guidanceFor(params, state, q.suggestions, q.message);
  return {
    state: { ...state },
    result: frameResponse(params, state, {
      status: done ? 'ready' : 'processing',
      accepted,
      reason,
      quality,
      faceDetected: true,
      message: guidance.message,
      suggestions: guidance.suggestions,
      angle,
    }),
  };
}

/**
 * A captured frame's embedding, opened from its sealed form in the session.
 *
 * @example const embedding = openFrame(deps.vault, client.id, session.id, state.frames[0])
 */
export function openFrame(vault: FaceDeps['vault'], clientId: string, sessionId: string, f: CapturedFrame): Float32Array {
  const [label, blob] = splitSealed(f.emb);
  return vault.openSessionVector(clientId, sessionId, label, blob);
}

function splitSealed(s: string): [string, string] {
  const i = s.indexOf('|');
  return [s.slice(0, i), s.slice(i + 1)];
}
