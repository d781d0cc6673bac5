import type { ClientContext } from '../api/request-context.ts';
import { appError, isAppError, type ErrorCode } from '../errors.ts';
import type { AuthenticationService } from '../services/authentication.service.ts';
import type { SessionBudget } from '../services/session-budget.service.ts';
import type { DecisionRecorder, ImageInput, RequestMeta } from '../services/face.ts';
import type { Challenge } from '../services/liveness.service.ts';
import type { AuthSessionType } from '../services/authentication.params.ts';
import type { ClientTimestamp, FrameOptions, ServerMessage } from './messages.ts';

const SESSION_GONE = new Set<ErrorCode>(['SESSION_EXPIRED', 'SESSION_COMPLETED', 'SESSION_NOT_FOUND']);

/** How a stream's liveness sessions are created (the WebSocket uses the defaults of `POST …/create/`). */
export interface LivenessSessionDefaults {
  session_type: AuthSessionType;
  liveness_challenges?: Challenge[];
  challenge_timeout?: number;
}

export interface FrameRecognizerDeps {
  authentication: Pick<AuthenticationService, 'identify' | 'verify' | 'create' | 'processFrame'>;
  /** Each liveness session a stream starts draws from the tier's sessions per hour, as `POST …/create/` does. */
  sessions: Pick<SessionBudget, 'sessionStart'>;
  meta: RequestMeta;
}

/**
 * The per-frame recognition of a stream (WebSocket or WebRTC): the same call as the HTTP one-shot
 * identify/verify, or a step of the stream's one liveness session. Callers run liveness frames one
 * at a time and in order.
 *
 * @example const r = new FrameRecognizer(deps, client, { session_type: 'websocket' }); await r.recognize(jpeg, { mode: 'identification' })
 */
export class FrameRecognizer {
  /** The authentication session of a liveness stream, keyed by the options that created it. */
  #live: { key: string; token: string } | null = null;

  private readonly d: FrameRecognizerDeps;
  private readonly client: ClientContext;
  private readonly session: LivenessSessionDefaults;
  constructor(
    d: FrameRecognizerDeps,
    client: ClientContext,
    session: LivenessSessionDefaults,
  ) {
    this.d = d; this.client = client; this.session = session;
  }

  /** `recorder`: how the stream records identify/verify decisions (StreamDecisions); none: every frame writes. */
  async recognize(image: ImageInput, o: FrameOptions, recorder?: DecisionRecorder): Promise<unknown> {
    const mode = o.mode ?? (o.user_id ? 'verification' : 'identification');
    const thresholds = { confidence_threshold: o.confidence_threshold, search_threshold: o.search_threshold, max_results: o.max_results };
    if (mode === 'verification' && !o.user_id) {
      throw appError('VALIDATION_ERROR', 'options.user_id is required for verification', { field: 'options.user_id' });
    }
    if (o.require_liveness) return this.#livenessStep(mode, o.user_id, thresholds, image, o);
    if (mode === 'verification') return this.d.authentication.verify(this.client, { user_id: o.user_id!, image, ...thresholds }, this.d.meta, recorder);
    return this.d.authentication.identify(this.client, { image, ...thresholds }, this.d.meta, recorder);
  }

  async #livenessStep(
    mode: 'identification' | 'verification',
    userId: string | undefined,
    thresholds: Pick<FrameOptions, 'confidence_threshold' | 'search_threshold' | 'max_results'>,
    image: ImageInput,
    o: Pick<FrameOptions, 'liveness_challenges' | 'challenge_timeout' | 'liveness_threshold'> = {},
  ): Promise<unknown> {
    // The frame's own challenge set, timeout and threshold (as for an HTTP session), else the stream's defaults.
    const liveness = {
      ...(o.liveness_challenges ? { liveness_challenges: o.liveness_challenges as Challenge[] } : {}),
      ...(o.challenge_timeout !== undefined ? { challenge_timeout: o.challenge_timeout } : {}),
      ...(o.liveness_threshold !== undefined ? { liveness_threshold: o.liveness_threshold } : {}),
    };
    const key = JSON.stringify([mode, userId ?? null, thresholds.confidence_threshold, thresholds.search_threshold, thresholds.max_results, liveness]);
    if (this.#live?.key !== key) {
      // Throws SESSION_LIMIT_EXCEEDED past the budget: the frame is answered with that error.
      await this.d.sessions.sessionStart(this.client);
      const session = await this.d.authentication.create(this.client, { mode, user_id: userId, require_liveness: true, ...this.session, ...liveness, ...thresholds });
      this.#live = { key, token: session.session_token };
    }
    try {
      const out = (await this.d.authentication.processFrame(this.client, this.#live.token, image, this.d.meta)) as { status?: string };
      // A decision ends the session; the next liveness frame starts a new one.
      if (out.status !== 'processing') this.#live = null;
      return out;
    } catch (e) {
      if (isAppError(e) && SESSION_GONE.has(e.code)) this.#live = null;
      throw e;
    }
  }
}

/**
 * Runs one frame and turns its outcome into the answer both streams send: `recognition_result`,
 * or `error` with the code (INTERNAL_ERROR for anything unexpected, which is logged).
 */
export async function answerFrame(
  run: () => Promise<unknown>,
  timestamp: ClientTimestamp | null,
  receivedAt: number,
  log: { error(obj: unknown, msg?: string): void },
): Promise<Extract<ServerMessage, { type: 'recognition_result' | 'error' }>> {
  try {
    const result = await run();
    return {
      type: 'recognition_result',
      timestamp,
      processing_time: Math.round(performance.now() - receivedAt) / 1000,
      // The face layer recognises the largest face of a frame; frames without one answer NO_FACE_DETECTED.
      faces_detected: 1,
      result,
    };
  } catch (e) {
    if (isAppError(e)) return { type: 'error', code: e.code, message: e.message, timestamp, ...(e.details !== undefined ? { details: e.details } : {}) };
    log.error({ err: e }, 'stream frame failed');
    return { type: 'error', code: 'INTERNAL_ERROR', message: 'Internal server error', timestamp };
  }
}
