import crypto from 'node:crypto';
import type { ClientContext } from '../api/request-context.ts';
import type { AnalyzedFace } from '../vision/types.ts';
import { CROP, faceRegion } from '../vision/liveness-signals/planarity.ts';
import { appError, isAppError } from '../errors.ts';
import { analyzeOne, faceLocation, round, unrecognisable, type DecisionRecorder, type FaceDeps, type FaceLocation, type ImageInput, type RequestMeta } from './face.ts';
import { isRefusedImage, mapLimit, SAME_PERSON_CONFIDENCE } from './enrollment.service.ts';
import { LIVENESS_TUNING, applyLivenessFrame, currentChallenge, expireLiveness, livenessDone, livenessResult, type Challenge, type LivenessResult, type LivenessState } from './liveness.service.ts';
import { assertThresholds, DEFAULTS, IDENTIFICATION_FPIR, oneShotParams, type AuthMode, type AuthOptions, type AuthParams, type AuthState, type CreateAuthInput, type Decision } from './authentication.params.ts';
import { authResponse, livenessFailedDecision, livenessFeedback, livenessProgress, notCounted, seconds } from './authentication.response.ts';
import { recordFailure, recordLivenessFailed, recordOutcome, type OutcomeListeners } from './authentication.outcome.ts';
import { faceMismatch, noFaceFrame } from './authentication.undecided.ts';
import { challengeSetKey, claimLiveness } from './authentication.order.ts';
import { findFaceUser, findFaceUserWithTemplates, loadUserTemplates, type FaceUser, type StoredTemplate } from '../db/repositories/templates.repository.ts';
import { addEvidence, backedByVotes, framePerformers, holdDecision, performedBy, resumeDecision } from './authentication.held.ts';
import type { SecurityMonitor } from './security-monitor.service.ts';

// Callers import these from here (the service's public surface).
export { assertThresholds, DEFAULTS, IDENTIFICATION_FPIR, type AuthMode, type AuthOptions, type CreateAuthInput } from './authentication.params.ts';


/**
 * 1:1 verification and 1:N identification, in sessions (with optional server-driven liveness), one-shot
 * and in batches. Every outcome writes an auth_attempts row and its event in one transaction.
 */
export class AuthenticationService {
  private readonly d: FaceDeps;
  /** Who hears of each outcome: the liveness metric, and the monitor of failures (null: none). */
  readonly #outcomes: OutcomeListeners;
  constructor(d: FaceDeps, monitor: Pick<SecurityMonitor, 'faceFailure'> | null = null) {
    this.d = d;
    this.#outcomes = { metrics: d.metrics, monitor };
  }

  /**
   * What every authentication session checks when it is created, before anything is stored (this
   * service's sessions and WebRTC streams, docs/streaming.md): thresholds not below the calibrated floor;
   * a verification names a user of this tenant (else USER_NOT_FOUND, as for an unknown one) who is active
   * (else USER_INACTIVE).
   *
   * @example const { mode, user } = await authentication.checkCreate(client, { user_id: 'EMP001' }) // verification of EMP001
   */
  async checkCreate(client: ClientContext, input: Pick<CreateAuthInput, 'mode' | 'user_id' | 'confidence_threshold' | 'search_threshold'>): Promise<{ mode: AuthMode; user: FaceUser | null }> {
    assertThresholds(input);
    const mode: AuthMode = input.mode ?? (input.user_id ? 'verification' : 'identification');
    if (mode !== 'verification') return { mode, user: null };
    if (!input.user_id) throw appError('VALIDATION_ERROR', 'body.user_id is required for verification', { field: 'user_id' });
    const user = await findFaceUser(this.d.db, client.id, input.user_id);
    if (!user) throw appError('USER_NOT_FOUND', `No user ${input.user_id}`);
    if (!user.is_active) throw appError('USER_INACTIVE');
    return { mode, user };
  }

  async create(client: ClientContext, input: CreateAuthInput) {
    const { mode, user } = await this.checkCreate(client, input);
    const params: AuthParams = {
      mode,
      session_type: input.session_type ?? 'webcam',
      require_liveness: input.require_liveness ?? false,
      liveness_threshold: input.liveness_threshold ?? DEFAULTS.liveness_threshold,
      confidence_threshold: input.confidence_threshold ?? DEFAULTS.confidence_threshold,
      search_threshold: input.search_threshold ?? DEFAULTS.search_threshold,
      max_results: input.max_results ?? DEFAULTS.max_results,
      max_attempts: input.max_attempts ?? DEFAULTS.max_attempts,
    };
    const now = Date.now();
    const challenges = input.liveness_challenges?.length ? input.liveness_challenges : (['blink', 'head_movement'] as Challenge[]);
    const timeoutMs = (input.challenge_timeout ?? DEFAULTS.challenge_timeout) * 1000;
    const id = crypto.randomUUID();
    const expiresAt = new Date(now + (input.timeout ?? 300) * 1000);
    const base = { id, clientId: client.id, kind: 'authentication' as const, userId: user?.id ?? null, mode, expiresAt };
    // Assigned in the transaction's callback (a cast, so the compiler does not narrow it to null).
    let liveness = null as LivenessState | null;
    let token: string;
    if (params.require_liveness) {
      // The order continues the claim's unjudged earlier session (authentication.order.ts): creating
      // sessions until the first challenge matches a recording gains nothing.
      ({ token } = await this.d.sessions.createWith(async (trx) => {
        liveness = await claimLiveness(trx, { clientId: client.id, userId: user?.id ?? null, challenges, timeoutMs, now });
        const state: AuthState = { attempts: 0, liveness, anchor: null, thumb: null, model: null };
        return { ...base, params: { ...params, liveness_set: challengeSetKey(challenges) }, state: { ...state } };
      }));
    } else {
      const state: AuthState = { attempts: 0, liveness: null, anchor: null, thumb: null, model: null };
      ({ token } = await this.d.sessions.create({ ...base, params: { ...params }, state: { ...state } }));
    }
    return {
      session_id: id,
      session_token: token,
      expires_at: expiresAt.toISOString(),
      status: 'active' as const,
      mode,
      user_id: user?.external_id ?? null,
      require_liveness: params.require_liveness,
      settings: {
        confidence_threshold: params.confidence_threshold,
        search_threshold: params.search_threshold,
        max_results: params.max_results,
        liveness_threshold: params.liveness_threshold,
        max_attempts: params.max_attempts,
      },
      ...(liveness ? { liveness: livenessProgress(liveness) } : {}),
    };
  }

  /** The liveness challenge's texture reference, opened for the engine (null when there is none yet). */
  #planarRef(client: ClientContext, sessionId: string, state: AuthState | null) {
    const p = state?.planar;
    if (!p || !state?.liveness) return null;
    const crop = this.d.vault.openSessionBytes(client.id, sessionId, 'planar', p.crop).slice(0, CROP * CROP);
    // Measured only on frames turned far enough to complete a turn (the rule needs it nowhere else).
    return { crop, region: p.region, ...(state.liveness.first ? { yaw: state.liveness.first.yaw, minTurn: LIVENESS_TUNING.TURN_DEG } : {}) };
  }

  async processFrame(client: ClientContext, token: string | undefined, image: ImageInput, meta: RequestMeta) {
    const started = performance.now();
    const session = await this.d.sessions.open(client.id, 'authentication', token);
    const params = session.params as unknown as AuthParams;
    // The texture reference this frame is analysed against, read before the lock (see below).
    const usedRef = (session.state as unknown as AuthState).planar?.crop ?? null;
    let face: AnalyzedFace;
    let modelId: string;
    let location: FaceLocation;
    try {
      const out = await analyzeOne(this.d.engine, image, { liveness: params.require_liveness, planarRef: this.#planarRef(client, session.id, session.state as unknown as AuthState), lane: client.id });
      ({ face, result: { modelId } } = out);
      location = faceLocation(out.result, out.face);
    } catch (e) {
      if (isAppError(e) && e.code === 'NO_FACE_DETECTED') return noFaceFrame(this.d.sessions, this.#outcomes, client, session.id, params, started, meta);
      // A frame refused as an image (corrupt, truncated, not an image) showed no face either: it counts as a
      // faceless frame does, and is answered with its own error while the session goes on.
      if (isRefusedImage(e)) return noFaceFrame(this.d.sessions, this.#outcomes, client, session.id, params, started, meta, e);
      throw e;
    }
    // A face too small to recognise decides nothing: the frame counts as one without a face would, and is
    // answered with POOR_IMAGE_QUALITY while the session goes on.
    const small = unrecognisable(face);
    if (small) return noFaceFrame(this.d.sessions, this.#outcomes, client, session.id, params, started, meta, small);
    // Recognition needs only reads: done before the short locked update.
    const claimed = session.user_id ? ((await findFaceUser(this.d.db, client.id, session.user_id)) ?? null) : null;
    let decision = await this.#decide(client, params, claimed, face, modelId);
    // Every answer with a face says where it is, so a camera page can draw its guide around it (docs/web.md).
    const answer = await this.d.sessions.update(session.id, async (locked, trx) => {
      const state = structuredClone(locked.state) as unknown as AuthState;
      let liveness: LivenessResult | null = null;
      if (state.liveness) {
        // Frames sent together are analysed together: one analysed before an earlier frame became the
        // challenge's texture reference carries no flatness measurement against it, so a card-swept
        // photo sent in the same instant as the plain one would count as a 3-D turn. Such a frame is
        // answered but not applied; the next one is judged against the reference.
        if ((state.planar?.crop ?? null) !== usedRef) {
          return { result: notCounted(face, state.liveness, started, { message: 'Send one frame at a time: this one arrived with another and was not counted.', suggestions: ['hold_still'] }) };
        }
        if (state.anchor) {
          const ref = this.d.vault.openSessionVector(client.id, locked.id, 'anchor', state.anchor);
          if (state.model !== modelId || ref.length !== face.embedding!.length) throw appError('MODEL_MISMATCH');
          const c = this.d.calibration.confidence(this.d.engine!.similarity(ref, face.embedding!), modelId);
          if (c < SAME_PERSON_CONFIDENCE) {
            // Near-frontal: the recogniser is reliable, so this is another person, and the session ends failed
            // (FACE_MISMATCH). Left open, it would let a presenter try face after face in one session; the
            // answer says only "not the same person", never how similar (no confidence to climb on).
            // Turned far: the angle alone can explain it; the frame does not count (no liveness progress from
            // an unconfirmed face).
            if (face.quality.poseBucket === 'front') return faceMismatch(this.#outcomes, trx, client, locked.id, params, claimed, face, state, started, meta);
            return { result: notCounted(face, state.liveness, started, { message: 'Turn your head a little less, so your face stays recognisable.', suggestions: ['look_straight'] }) };
          }
        } else {
          state.anchor = this.d.vault.sealSession(client.id, locked.id, 'anchor', face.embedding!);
          state.model = modelId;
        }
        const prev = state.thumb ? this.d.vault.openSessionBytes(client.id, locked.id, 'thumb', state.thumb).subarray(0, face.signals.faceThumb.length) : null;
        // The turn's reference landmarks are face geometry: sealed at rest like the thumbnail.
        const refShape = state.shape ? Array.from(this.d.vault.openSessionVector(client.id, locked.id, 'shape', state.shape)) : null;
        const before = { met: state.liveness.completed.length, closed: state.liveness.eyeClosed, down: state.liveness.nodDown };
        state.liveness = applyLivenessFrame(
          { ...state.liveness, refShape },
          {
            at: Date.now(),
            eye: face.signals.eyeOpenness,
            yaw: face.pose.yaw,
            pitch: face.pose.pitch,
            smile: face.signals.smile,
            thumb: face.signals.faceThumb,
            // WebRTC frames come through a lossy real-time codec whose bitrate starts low and follows the
            // network: its block artefacts are the texture the passive model reads as print or screen (a live
            // stream measured a session median of 0.007–0.009, below the 0.01 spoof line). There the passive
            // score is not evidence; the challenges and the motion checks decide.
            passive: params.session_type === 'webrtc' ? null : face.signals.passiveLiveScore,
            shape: face.signals.shape,
            inFrame: face.signals.faceInFrame,
            flat: face.signals.flatness,
            texture: true,
          },
          prev,
        );
        const nextShape = state.liveness.refShape;
        if (!nextShape) {
          state.shape = null;
          state.planar = null;
        } else if (state.liveness.refFrame === state.liveness.frames) {
          // This frame is the challenge's reference (sealed once, like the thumbnail): its landmarks for the
          // nose parallax, its face region for the texture test (a flat picture moves as one plane).
          state.shape = this.d.vault.sealSession(client.id, locked.id, 'shape', Float32Array.from(nextShape));
          const crop = face.signals.regionCrop;
          state.planar = crop ? { crop: this.d.vault.sealSession(client.id, locked.id, 'planar', crop), region: faceRegion(face.box) } : null;
        }
        state.liveness = { ...state.liveness, refShape: null };
        state.thumb = this.d.vault.sealSession(client.id, locked.id, 'thumb', face.signals.faceThumb);
        // The decision is taken on the session's best-matching confirmed frame, not necessarily the
        // last one (a head-turn challenge completes on a turned face, where recognition is weakest).
        if (!state.best || (decision.confidence ?? -1) > (state.best.confidence ?? -1)) state.best = holdDecision(decision);
        // ...and it must be whom most counted frames show (backedByVotes), not one frame slipped in, and whom
        // every frame carrying a challenge's evidence shows (performedBy): the reference a turn, nod or smile is
        // measured from, a blink's closing, a nod's way down, the frame that met it, and the frame before such a
        // change (an accomplice's open eyes followed by the victim's photo read as a closing).
        const l = state.liveness;
        const shown = await framePerformers(this.d, client.id, params, decision, face.embedding!, modelId);
        const changed = l.completed.length > before.met || (l.eyeClosed && !before.closed) || (l.nodDown && !before.down);
        Object.assign(state, addEvidence(state, decision, shown, { changed, reference: l.refFrame === l.frames && currentChallenge(l) !== 'blink' }));
        if (!livenessDone(state.liveness)) {
          return {
            state: { ...state },
            result: {
              status: 'processing',
              face_detected: true,
              quality_score: round(face.quality.score),
              liveness: livenessProgress(state.liveness),
              feedback: livenessFeedback(state.liveness),
              processing_time: seconds(started),
              timestamp: new Date().toISOString(),
            },
          };
        }
        liveness = livenessResult(state.liveness, params.liveness_threshold);
        // Users are read again: one deactivated or deleted while the challenges ran is not recognised.
        if (state.best) decision = performedBy(backedByVotes(await resumeDecision(trx, client.id, state.best, claimed), state.votes), state.performers);
        state.thumb = null;
        state.shape = null;
        state.planar = null;
        state.anchor = null;
        state.best = null;
        state.votes = null;
        state.performers = null;
        state.shown = null;
        if (!liveness.passed) {
          const attempts = state.attempts + 1;
          // A face that failed liveness learns nothing about whom it matches: no confidence, no identification
          // match; only the verification target the caller named is kept for the tenant's records.
          const failed = livenessFailedDecision(decision);
          await recordLivenessFailed(this.#outcomes, trx, client, locked.id, params, failed, liveness, attempts, started, meta, 'BELOW_THRESHOLD');
          return {
            state: { ...state, attempts },
            status: 'failed',
            result: authResponse(params, { ...failed, user: null }, liveness, 'failed', started, 0),
          };
        }
      }
      const attempts = state.attempts + 1;
      await recordOutcome(this.#outcomes, trx, client, locked.id, params, decision, liveness, attempts, started, meta);
      // With liveness the challenge sequence is spent: the session ends with this decision.
      const finished = decision.success || attempts >= params.max_attempts || liveness !== null;
      const status = decision.success ? 'completed' : 'failed';
      return {
        state: { ...state, attempts },
        ...(finished ? { status } : {}),
        result: authResponse(params, decision, liveness, status, started, finished ? 0 : params.max_attempts - attempts),
      };
    });
    return { ...answer, face: location };
  }

  /** One-shot verification (server-to-server, no session). A stream frame passes its `recorder`. */
  async verify(client: ClientContext, input: AuthOptions & { user_id: string; image: ImageInput }, meta: RequestMeta, recorder?: DecisionRecorder) {
    const params = oneShotParams('verification', input);
    if (recorder) {
      // A stream frame: the user's row fresh on every frame, their templates as the stream reuses them.
      const user = await findFaceUser(this.d.db, client.id, input.user_id);
      if (!user) throw appError('USER_NOT_FOUND', `No user ${input.user_id}`);
      return this.#oneShot(client, params, user, input.image, meta, recorder);
    }
    // A one-shot call: the user and their templates in one read.
    const found = await findFaceUserWithTemplates(this.d.db, client.id, input.user_id);
    if (!found) throw appError('USER_NOT_FOUND', `No user ${input.user_id}`);
    return this.#oneShot(client, params, found.user, input.image, meta, undefined, found.templates);
  }

  /** One-shot identification (server-to-server, no session). A stream frame passes its `recorder`. */
  async identify(client: ClientContext, input: AuthOptions & { image: ImageInput }, meta: RequestMeta, recorder?: DecisionRecorder) {
    return this.#oneShot(client, oneShotParams('identification', input), null, input.image, meta, recorder);
  }

  /** Many frames in one request, each verified or identified on its own; concurrency bounded by batch_size. */
  async batch(
    client: ClientContext,
    frames: Array<{ image: ImageInput; filename?: string }>,
    options: AuthOptions & { mode?: AuthMode; user_id?: string; batch_size?: number; parallel_processing?: boolean },
    meta: RequestMeta,
  ) {
    const started = performance.now();
    const mode: AuthMode = options.mode ?? (options.user_id ? 'verification' : 'identification');
    let claimed: FaceUser | null = null;
    if (mode === 'verification') {
      if (!options.user_id) throw appError('VALIDATION_ERROR', 'options.user_id is required for verification', { field: 'options.user_id' });
      claimed = (await findFaceUser(this.d.db, client.id, options.user_id)) ?? null;
      if (!claimed) throw appError('USER_NOT_FOUND', `No user ${options.user_id}`);
    }
    const params = oneShotParams(mode, options);
    const limit = options.parallel_processing === false ? 1 : Math.max(1, Math.min(options.batch_size ?? 10, 32));
    type Item = { index: number; filename: string | null; status: string; error?: { code: string; message: string } } & Partial<Awaited<ReturnType<AuthenticationService['verify']>>>;
    const results: Item[] = [];
    await mapLimit(frames, limit, async (frame, index) => {
      try {
        const r = await this.#oneShot(client, params, claimed, frame.image, meta);
        results[index] = { index, filename: frame.filename ?? null, ...r };
      } catch (e) {
        if (!isAppError(e)) throw e;
        results[index] = { index, filename: frame.filename ?? null, status: 'error', error: { code: e.code, message: e.message } };
      }
    });
    const succeeded = results.filter((r) => r.status === 'completed').length;
    return { mode, total: frames.length, succeeded, failed: frames.length - succeeded, results, processing_time: seconds(started) };
  }

  /** `claimed`: the user a verification names, as the caller just read them (not read again here). */
  async #oneShot(client: ClientContext, params: AuthParams, claimed: FaceUser | null, image: ImageInput, meta: RequestMeta, recorder?: DecisionRecorder, templates?: StoredTemplate[]) {
    const started = performance.now();
    const userId = claimed?.id ?? null;
    let face: AnalyzedFace;
    let modelId: string;
    let location: FaceLocation;
    try {
      let result;
      // The tenant's lane by name: stream frames (WebSocket, WebRTC) come outside any HTTP request.
      ({ face, result } = await analyzeOne(this.d.engine, image, { lane: client.id }));
      modelId = result.modelId;
      location = faceLocation(result, face);
    } catch (e) {
      if (isAppError(e) && e.code === 'NO_FACE_DETECTED') {
        const write = () => recordFailure(this.d.db, client, null, userId, params.mode, 'NO_FACE_DETECTED', null, null, null, started, meta);
        await (recorder ? recorder.record(null, write) : write());
      }
      throw e;
    }
    const small = unrecognisable(face);
    if (small) {
      // Recorded as a failed attempt with its reason, like a picture without a face.
      const write = () => recordFailure(this.d.db, client, null, userId, params.mode, 'POOR_IMAGE_QUALITY', null, null, face.quality.score, started, meta);
      await (recorder ? recorder.record(null, write) : write());
      throw small;
    }
    const decision = await this.#decide(client, params, claimed, face, modelId, recorder, templates);
    // A recorder may write later (a stream's appearance that ends unrecognised): the attempt keeps this
    // frame's processing time.
    const decidedAt = performance.now();
    // One statement (writeOutcome), atomic without a transaction around it.
    const write = () => recordOutcome(this.#outcomes, this.d.db, client, null, params, decision, null, 1, started + performance.now() - decidedAt, meta);
    await (recorder ? recorder.record({ success: decision.success, user: decision.user?.id ?? null }, write) : write());
    // The face the decision was taken on (the largest of the picture), for the caller to draw.
    return { ...authResponse(params, decision, null, decision.success ? 'completed' : 'failed', started, undefined), face: location };
  }

  /**
   * The recognition decision for one analysed face (no writes). `recorder` (a stream's) may answer the
   * reads from its last identical read in the same person appearance (DecisionRecorder.reuse); one-shot
   * calls read every time.
   */
  async #decide(client: ClientContext, params: AuthParams, claimed: FaceUser | null, face: AnalyzedFace, modelId: string, recorder?: DecisionRecorder, loaded?: StoredTemplate[]): Promise<Decision> {
    const probe = face.embedding!;
    const quality = face.quality.score;
    const read = <T>(key: string, load: () => Promise<T>) => (recorder?.reuse ? recorder.reuse(key, load) : load());
    if (params.mode === 'verification') {
      // The claimed user as the caller read them for this request or frame, and their templates (a read a
      // stream reuses, with the decryptions of this model's).
      const user = claimed;
      if (!user) throw appError('USER_NOT_FOUND');
      const enrolled = await read(`verify:${user.id}`, async () => ({ templates: loaded ?? (await loadUserTemplates(this.d.db, client.id, user.id)), opened: new Map<string, Float32Array[]>() }));
      const { templates } = enrolled;
      const base = { mode: params.mode, user, matches: [], quality, threshold: params.confidence_threshold };
      if (!templates.length) throw appError('NOT_ENROLLED', `User ${user.external_id} has no face enrollment`);
      const same = templates.filter((t) => t.model_id === modelId);
      if (!same.length) throw appError('MODEL_MISMATCH', `The user's templates come from ${templates[0].model_id}, the probe from ${modelId}: re-enroll`);
      let vecs = enrolled.opened.get(modelId);
      if (!vecs) enrolled.opened.set(modelId, (vecs = this.d.vault.openUserTemplates(same)));
      let best = -1;
      for (const v of vecs) best = Math.max(best, this.d.engine!.similarity(v, probe));
      const confidence = round(this.d.calibration.confidence(best, modelId));
      if (!user.is_active) return { ...base, success: false, failureReason: 'USER_INACTIVE', confidence };
      const success = confidence >= params.confidence_threshold;
      return { ...base, success, failureReason: success ? null : 'LOW_CONFIDENCE', confidence };
    }
    const gallerySize = await this.d.gallery.size(client.id, modelId);
    const minCosine = this.d.calibration.identificationMinCosine(modelId, IDENTIFICATION_FPIR, gallerySize);
    const active = await this.d.gallery.searchActive(client.id, modelId, probe, params.max_results, minCosine, (hits) =>
      read(`users:${hits.map((h) => h.userId).join(',')}`, () => this.d.gallery.usersOf(client.id, hits)),
    );
    const matches = active
      .map((h) => ({ user: h.user, confidence: round(this.d.calibration.confidence(h.cosine, modelId)) }))
      .filter((m) => m.confidence >= params.search_threshold)
      .slice(0, params.max_results);
    const top = matches[0];
    return {
      mode: params.mode,
      success: matches.length > 0,
      failureReason: matches.length ? null : 'NO_MATCH',
      confidence: top?.confidence ?? null,
      threshold: params.search_threshold,
      user: top?.user ?? null,
      matches,
      quality,
    };
  }

  /** Exposed for the expiry path of liveness (a challenge that timed out between frames). */
  static expire(state: LivenessState, now: number): LivenessState {
    return expireLiveness(state, now);
  }
}
