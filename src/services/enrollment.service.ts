import crypto from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';
import { imageContentType } from '../vision/decode/sniff.ts';
import type { ClientContext } from '../api/request-context.ts';
import type { AnalyzedFace } from '../vision/types.ts';
import { isUuid } from './paging.ts';
import { appError, isAppError, type AppError } from '../errors.ts';
import { recordEvent } from './events.ts';
import { analyzeOne, faceLocation, isNoFace, round, type FaceDeps, type FaceLocation, type ImageInput } from './face.ts';
import { deleteEnrollment, findEnrollment, listUserEnrollments } from '../db/repositories/enrollments.repository.ts';
import { findFaceUser, type FaceUser } from '../db/repositories/templates.repository.ts';
import { ENROLLMENT_MAX_FRAMES, ANGLES, isRefusedImage, progressCurrent, type EnrollParams, type EnrollState, type SessionType } from './enrollment.capture.ts';
import { mapLimit } from './map-limit.ts';
import { publishTemplates, storeEnrollment, type AcceptedFace } from './enrollment.store.ts';
import { judgeFrame, openFrame } from './enrollment.judge.ts';
import { recordEnrollmentExpired } from './enrollment.expiry.ts';

export { SAME_PERSON_CONFIDENCE, ENROLLMENT_MAX_FRAMES, isRefusedImage, type SessionType } from './enrollment.capture.ts';
export { mapLimit } from './map-limit.ts';

/** A second face at least this share of the main face's width makes an enrollment picture ambiguous. */
const COMPARABLE_FACE = 0.4;

export interface CreateEnrollmentInput {
  user_id: string;
  session_type?: SessionType;
  quality_threshold?: number;
  require_multiple_angles?: boolean;
  timeout?: number;
  auto_capture?: boolean;
  guidance_enabled?: boolean;
}


export const DEFAULT_QUALITY_THRESHOLD = 0.6;


/**
 * Enrollment: frame sessions (webcam / mobile / upload, optional multi-angle), single-image and batch
 * enrollment, listing and deletion. One encrypted template per accepted frame; the search keeps the
 * best per user.
 */
export class EnrollmentService {
  private readonly d: FaceDeps;
  constructor(d: FaceDeps) {
    this.d = d;
  }

  async create(client: ClientContext, input: CreateEnrollmentInput) {
    const user = await this.#activeUser(client.id, input.user_id);
    const type = input.session_type ?? 'webcam';
    const multi = input.require_multiple_angles ?? false;
    const params: EnrollParams = {
      session_type: type,
      quality_threshold: input.quality_threshold ?? DEFAULT_QUALITY_THRESHOLD,
      require_multiple_angles: multi,
      timeout: input.timeout ?? 300,
      auto_capture: input.auto_capture ?? type === 'mobile',
      guidance_enabled: input.guidance_enabled ?? true,
      required: multi ? ANGLES.length : type === 'upload' ? 1 : 3,
    };
    const id = crypto.randomUUID();
    const expiresAt = new Date(Date.now() + params.timeout * 1000);
    const state: EnrollState = { received: 0, rejected: 0, frames: [], lastAt: null };
    const { token } = await this.d.sessions.create({
      id,
      clientId: client.id,
      kind: 'enrollment',
      userId: user.id,
      mode: type,
      params: { ...params },
      state: { ...state },
      expiresAt,
    });
    return {
      session_id: id,
      session_token: token,
      expires_at: expiresAt.toISOString(),
      status: 'active' as const,
      user_id: user.external_id,
      session_type: type,
      requirements: {
        quality_threshold: params.quality_threshold,
        required_frames: params.required,
        require_multiple_angles: multi,
        required_angles: multi ? ANGLES : [],
        auto_capture: params.auto_capture,
        guidance_enabled: params.guidance_enabled,
        timeout: params.timeout,
      },
    };
  }

  async processFrame(client: ClientContext, token: string | undefined, image: ImageInput) {
    const session = await this.#open(client, token);
    // Past the cap the frame is not analysed at all (checked again under the lock below).
    if (((session.state as unknown as EnrollState).received ?? 0) >= ENROLLMENT_MAX_FRAMES) return this.#frameLimit(client, session.id);
    let face: AnalyzedFace | null = null;
    let modelId = '';
    let location: FaceLocation | null = null;
    // A frame refused as an image (corrupt, truncated, not an image): counted below like any other frame,
    // then answered with its own error. Uncounted, one session took such frames (an upload and a decode
    // attempt each) until it expired.
    let badImage = null as AppError | null;
    try {
      const out = await analyzeOne(this.d.engine, image);
      face = out.face;
      modelId = out.result.modelId;
      location = faceLocation(out.result, out.face);
    } catch (e) {
      if (isRefusedImage(e)) badImage = e;
      else if (!isNoFace(e)) throw e;
    }
    // Set inside the locked update: a frame that came in alongside the one that reached the cap, and a frame
    // refused with an error (FACE_MISMATCH, or the image's own), which is answered with that error once its
    // count is written.
    let overCap = false;
    let refusal = null as AppError | null;
    const answer = await this.d.sessions.update(session.id, async (locked) => {
      const params = locked.params as unknown as EnrollParams;
      const state = structuredClone(locked.state) as unknown as EnrollState;
      if (state.received >= ENROLLMENT_MAX_FRAMES) {
        overCap = true;
        return { result: null };
      }
      state.received++;
      state.lastAt = new Date().toISOString();
      if (badImage) {
        refusal = badImage;
        return { state: { ...state }, result: null };
      }
      // Another person's face was analysed all the same: it counts toward the cap (it was rolled back with
      // the error, so such frames were never capped), and nothing else of it is kept.
      const counted = structuredClone(state);
      try {
        return await judgeFrame(this.d, client, locked.id, params, state, face, modelId);
      } catch (e) {
        if (!isAppError(e) || e.statusCode >= 500) throw e;
        refusal = e;
        return { state: counted, result: null };
      }
    });
    if (overCap) return this.#frameLimit(client, session.id);
    if (refusal) throw refusal;
    // Where the face is, so a camera page can draw its guide around it (docs/web.md).
    return location ? { ...answer!, face: location } : answer!;
  }

  /**
   * A frame past ENROLLMENT_MAX_FRAMES (every frame received counts, unreadable ones too), not analysed:
   * ENROLLMENT_FRAME_LIMIT. A session that holds enough frames to complete stays open for `complete`
   * (nothing captured is lost); any other ends failed at once, as `complete` would end it, with
   * enrollment.failed and its captured frames dropped from the session.
   */
  async #frameLimit(client: ClientContext, sessionId: string): Promise<never> {
    const ended = await this.d.sessions.update(sessionId, async (locked, trx) => {
      const params = locked.params as unknown as EnrollParams;
      const state = locked.state as unknown as EnrollState;
      if (progressCurrent(params, state) >= params.required) return { result: false };
      const user = locked.user_id ? await findFaceUser(trx, client.id, locked.user_id) : undefined;
      await recordEvent(trx, client.id, 'enrollment.failed', {
        session_id: locked.id,
        user_id: user?.external_id ?? '',
        error_code: 'ENROLLMENT_FRAME_LIMIT',
        error_message: `The session received ${ENROLLMENT_MAX_FRAMES} frames without capturing enough good ones`,
        attempts: state.received,
        last_attempt: state.lastAt ?? new Date().toISOString(),
      });
      return { status: 'failed', state: { ...state, frames: [] }, result: true };
    });
    const message = ended
      ? `The session received its ${ENROLLMENT_MAX_FRAMES} frames without capturing enough good ones and has ended: start a new session`
      : `The session has received its ${ENROLLMENT_MAX_FRAMES} frames and holds enough to complete: complete it`;
    throw appError('ENROLLMENT_FRAME_LIMIT', message, { max_frames: ENROLLMENT_MAX_FRAMES, session_status: ended ? 'failed' : 'active' });
  }

  async complete(client: ClientContext, token: string | undefined) {
    const session = await this.#open(client, token);
    const outcome = await this.d.sessions.update(session.id, async (locked, trx) => {
      const params = locked.params as unknown as EnrollParams;
      const state = locked.state as unknown as EnrollState;
      const user = await findFaceUser(trx, client.id, locked.user_id!);
      if (!user) throw appError('USER_NOT_FOUND');
      const angles = [...new Set(state.frames.map((f) => f.angle))];
      const enough = params.require_multiple_angles ? ANGLES.every((a) => angles.includes(a)) : state.frames.length >= 1;
      if (!enough) {
        const message = params.require_multiple_angles
          ? `Unable to capture sufficient quality images (angles captured: ${angles.join(', ') || 'none'}; required: ${ANGLES.join(', ')})`
          : 'Unable to capture sufficient quality images';
        await recordEvent(trx, client.id, 'enrollment.failed', {
          session_id: locked.id,
          user_id: user.external_id,
          error_code: 'INSUFFICIENT_QUALITY',
          error_message: message,
          attempts: state.received,
          last_attempt: state.lastAt ?? new Date().toISOString(),
        });
        return { status: 'failed', result: { failed: message } as const };
      }
      const faces: AcceptedFace[] = state.frames.map((f) => ({
        embedding: openFrame(this.d.vault, client.id, locked.id, f),
        modelId: f.model,
        quality: f.quality,
        confidence: f.confidence,
        angle: f.angle,
      }));
      const saved = await storeEnrollment(this.d, trx, client, user, faces, { source: `session:${params.session_type}`, sessionId: locked.id });
      return { status: 'completed', state: { ...state, frames: [] }, result: { saved } as const };
    });
    if ('failed' in outcome) throw appError('INSUFFICIENT_QUALITY', outcome.failed);
    await publishTemplates(this.d, client.id, outcome.saved);
    return outcome.saved.response;
  }

  /** Single-image enrollment (multipart user_id + image + quality_threshold). */
  async direct(client: ClientContext, input: { user_id: string; image: ImageInput; quality_threshold?: number; face_index?: number; replace?: boolean }) {
    const user = await this.#activeUser(client.id, input.user_id);
    return this.#direct(client, input, async () => user);
  }

  /**
   * Direct enrollment of a user that does not exist yet: the image is judged first, then `createUser`
   * writes the user (and its user.created event) in the transaction that stores the enrollment. A refused
   * image, or a refused store, leaves no user and no event.
   *
   * @example await enrollment.directNewUser(client, { image }, (trx) => users.create(client.id, { external_id: 'obama', name: 'obama' }, by, trx))
   */
  async directNewUser(client: ClientContext, input: { image: ImageInput; quality_threshold?: number; face_index?: number }, createUser: (trx: Transaction<Database>) => Promise<FaceUser>) {
    return this.#direct(client, input, createUser);
  }

  async #direct(client: ClientContext, input: { image: ImageInput; quality_threshold?: number; face_index?: number; replace?: boolean }, userIn: (trx: Transaction<Database>) => Promise<FaceUser>) {
    const face = await this.#acceptImage(input.image, input.quality_threshold ?? DEFAULT_QUALITY_THRESHOLD, client, input.face_index, true);
    const saved = await this.d.db.transaction().execute(async (trx) => storeEnrollment(this.d, trx, client, await userIn(trx), [face], { source: 'direct', sessionId: null, replace: input.replace ?? false }));
    await publishTemplates(this.d, client.id, saved);
    // Which face of the picture was enrolled (with face_index: the chosen one), for the caller to show.
    return { ...saved.response, ...(face.location ? { face: face.location } : {}) };
  }

  /**
   * Many users/images at once: images of the same user become one enrollment with one template each.
   * Each item gets its own result; one bad image does not fail the others.
   */
  async batch(client: ClientContext, items: Array<{ user_id: string; image: ImageInput; filename?: string }>, qualityThreshold?: number, concurrency = 4) {
    const results: BatchItemResult[] = items.map((it, index) => ({ index, user_id: it.user_id, filename: it.filename ?? null, status: 'pending' }));
    const accepted = new Map<string, { user: FaceUser; faces: AcceptedFace[]; indexes: number[] }>();
    const users = new Map<string, FaceUser | AppErrorLike>();
    for (const it of items) {
      if (users.has(it.user_id)) continue;
      try {
        users.set(it.user_id, await this.#activeUser(client.id, it.user_id));
      } catch (e) {
        users.set(it.user_id, toErr(e));
      }
    }
    await mapLimit(items, concurrency, async (it, index) => {
      const user = users.get(it.user_id)!;
      if ('code' in user) {
        Object.assign(results[index], { status: 'failed', error: user });
        return;
      }
      try {
        const face = await this.#acceptImage(it.image, qualityThreshold ?? DEFAULT_QUALITY_THRESHOLD, client);
        let entry = accepted.get(user.id);
        if (!entry) accepted.set(user.id, (entry = { user, faces: [], indexes: [] }));
        entry.faces.push(face);
        entry.indexes.push(index);
        Object.assign(results[index], { quality_score: round(face.quality) });
      } catch (e) {
        Object.assign(results[index], { status: 'failed', error: toErr(e) });
      }
    });
    for (const { user, faces, indexes } of accepted.values()) {
      try {
        const saved = await this.d.db.transaction().execute((trx) => storeEnrollment(this.d, trx, client, user, faces, { source: 'batch', sessionId: null }));
        await publishTemplates(this.d, client.id, saved);
        for (const i of indexes) Object.assign(results[i], { status: 'completed', enrollment_id: saved.response.enrollment_id });
      } catch (e) {
        for (const i of indexes) Object.assign(results[i], { status: 'failed', error: toErr(e) });
      }
    }
    const completed = results.filter((r) => r.status === 'completed').length;
    return { total: items.length, completed, failed: items.length - completed, results };
  }

  async list(client: ClientContext, userIdOrExternal: string) {
    const user = await findFaceUser(this.d.db, client.id, userIdOrExternal);
    if (!user) throw appError('USER_NOT_FOUND');
    const rows = await listUserEnrollments(this.d.db, client.id, user.id);
    return {
      user_id: user.external_id,
      count: rows.length,
      enrollments: rows.map((r) => ({
        enrollment_id: r.id,
        source: r.source,
        model_id: r.model_id,
        quality_score: round(r.quality_score),
        face_count: r.face_count,
        average_confidence: round(r.average_confidence),
        angles_captured: r.angles,
        created_at: r.created_at.toISOString(),
      })),
    };
  }

  async remove(client: ClientContext, enrollmentId: string) {
    if (!isUuid(enrollmentId)) throw appError('ENROLLMENT_NOT_FOUND');
    const found = await findEnrollment(this.d.db, client.id, enrollmentId);
    if (!found) throw appError('ENROLLMENT_NOT_FOUND');
    const templateIds = await this.d.db.transaction().execute((trx) => deleteEnrollment(trx, client.id, enrollmentId));
    await this.d.gallery.removed(client.id, templateIds);
    return { deleted: true, enrollment_id: enrollmentId, templates_removed: templateIds.length };
  }

  /** Opens the session; the first use after expiry closes it with enrollment.failed (SESSION_EXPIRED), unless the session sweep did first. */
  #open(client: ClientContext, token: string | undefined) {
    return this.d.sessions.open(client.id, 'enrollment', token, (session, trx) => recordEnrollmentExpired(trx, session));
  }

  async #activeUser(clientId: string, idOrExternal: string): Promise<FaceUser> {
    const user = await findFaceUser(this.d.db, clientId, idOrExternal);
    if (!user) throw appError('USER_NOT_FOUND', `No user ${idOrExternal}`);
    if (!user.is_active) throw appError('USER_INACTIVE');
    return user;
  }

  /**
   * The one face of an enrollment picture. With `oneFace` (direct enrollment, one person at a time), a
   * second face of comparable size (≥ 40 % of the main face's width: a group photo, not a poster far
   * behind) is MULTIPLE_FACES with every face's box, unless the caller chose one with `faceIndex` (0-based,
   * in the order of that error's `details.faces`). Batch imports of existing photo sets take the main face
   * (largest, most central), as before; the same-person check against existing templates still applies.
   */
  async #acceptImage(image: ImageInput, threshold: number, client: ClientContext, faceIndex?: number, oneFace = false): Promise<AcceptedFace> {
    if (!this.d.engine) throw appError('SERVICE_UNAVAILABLE', 'The face engine is not running on this server');
    const result = await this.d.engine.analyze(image, { multiple: 'all', embed: true, refineEyes: false, passive: false });
    if (!result.faces.length) throw appError('NO_FACE_DETECTED');
    const main = result.faces[0];
    const comparable = result.faces.filter((f) => f.box.width >= COMPARABLE_FACE * main.box.width);
    const boxes = () => result.faces.map((f, index) => ({ index, box: { x: Math.round(f.box.x), y: Math.round(f.box.y), width: Math.round(f.box.width), height: Math.round(f.box.height) } }));
    if (oneFace && faceIndex === undefined && comparable.length > 1) {
      throw appError('MULTIPLE_FACES', `${result.faces.length} faces were detected; pass face_index to choose the one to enroll`, { count: result.faces.length, faces: boxes(), image_width: result.width, image_height: result.height });
    }
    if (faceIndex !== undefined && faceIndex >= result.faces.length) {
      throw appError('VALIDATION_ERROR', `face_index ${faceIndex} is out of range: the picture has ${result.faces.length} face(s)`, { field: 'face_index', faces: boxes() });
    }
    const face = result.faces[faceIndex ?? 0];
    if (!face.embedding) throw appError('NO_FACE_DETECTED');
    if (face.quality.score < threshold) {
      throw appError('POOR_IMAGE_QUALITY', face.quality.message || undefined, {
        quality_score: round(face.quality.score),
        quality_threshold: threshold,
        suggestions: face.quality.suggestions,
      });
    }
    return {
      embedding: face.embedding!,
      modelId: result.modelId,
      quality: face.quality.score,
      confidence: face.score,
      angle: face.quality.poseBucket,
      location: faceLocation(result, face),
      photo: client.settings?.store_photos && typeof image !== 'string' ? { bytes: image, contentType: imageContentType(image) } : undefined,
    };
  }

}

type AppErrorLike = { code: string; message: string };

export interface BatchItemResult {
  index: number;
  user_id: string;
  filename: string | null;
  status: string;
  enrollment_id?: string;
  quality_score?: number;
  error?: AppErrorLike;
}

function toErr(e: unknown): AppErrorLike {
  if (isAppError(e)) return { code: e.code, message: e.message };
  throw e;
}



