import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { ClientContext } from '../api/request-context.ts';
import type { Database } from '../db/schema.ts';
import type { FaceEngine } from '../vision/types.ts';
import { IMAGE_CONTENT_TYPES, imageContentType, sniffFormat } from '../vision/decode/sniff.ts';
import { appError, isAppError } from '../errors.ts';
import { reviewPhotoAad, TemplateDecryptError } from '../crypto/template-cipher.ts';
import { insertEnrollment } from '../db/repositories/enrollments.repository.ts';
import { insertTemplates, lockFaceUser } from '../db/repositories/templates.repository.ts';
import { assertEnrolledPerson } from './enrollment.store.ts';
import {
  decideReview,
  findPendingReviewId,
  findReview,
  insertReview,
  listReviewPhotoInfo,
  listReviews,
  listUserReviews,
  loadReviewPhoto,
  loadReviewPhotos,
  lockReview,
  type ReviewPhotoInfo,
  type ReviewPhotoRow,
  type ReviewRow,
  type ReviewStatus,
} from '../db/repositories/reviews.repository.ts';
import { recordEvent, type EventPayloads } from './events.ts';
import { analyzeOne, round, type Calibration } from './face.ts';
import { SAME_PERSON_CONFIDENCE } from './enrollment.service.ts';
import type { FaceGallery, TemplateVault } from './templates.service.ts';
import type { AuditService } from './audit.service.ts';
import type { UsersService, UserActor } from './users.service.ts';
import { isUuid, pageOf, type Page } from './paging.ts';

/** Manual review accepts what automatic enrollment refuses: its default quality bar is lower (0.6 there). */
export const REVIEW_QUALITY_THRESHOLD = 0.3;
export const MAX_REVIEW_PHOTOS = 10;

export interface ReviewPhotoInput {
  bytes: Uint8Array;
  contentType: string;
}

export interface SubmitReviewInput {
  user_id: string;
  reason: string;
  notes?: string | null;
  quality_threshold?: number;
  photos: ReviewPhotoInput[];
}

export interface ReviewView {
  id: string;
  user_id: string;
  user_name: string;
  status: ReviewStatus;
  reason: string;
  notes: string | null;
  quality_threshold: number;
  outcome: 'enrolled' | 'manually_verified' | null;
  enrollment_id: string | null;
  decision_notes: string | null;
  rejection_reason: string | null;
  decided_by: string | null;
  decided_at: string | null;
  photos_deleted: boolean;
  photo_count: number;
  photos: Array<{ id: string; position: number; content_type: string; size: number; face_detected: boolean | null; quality_score: number | null }>;
  created_at: string;
  updated_at: string;
}

/** Per-photo result of the analysis done at approval. */
interface PhotoVerdict {
  photo_id: string;
  face_detected: boolean;
  quality_score: number | null;
  used: boolean;
  reason: string | null;
}

type Completed = EventPayloads['enrollment.completed'];
type Failed = EventPayloads['enrollment.failed'];

/**
 * The manual-review queue (C5) for users who cannot enroll: a client submits photos and a reason;
 * a reviewer approves (an enrollment from the usable photos at a lower quality bar, or "manually
 * verified" when no usable face exists) or rejects. Photos are stored only encrypted (AAD
 * reviewPhotoAad: tenant, review, the review's user and the photo), shown only through an audited endpoint, and deleted with
 * the decision. Decisions are audited and emit enrollment.completed / enrollment.failed with
 * `method: 'manual_review'` in their transaction.
 *
 * @example await reviews.approve(client, reviewId, { notes: 'ID card checked at the desk' }, actor)
 */
export class ReviewService {
  private readonly d: {
      db: Kysely<Database>;
      users: UsersService;
      audit: AuditService;
      engine: FaceEngine | null;
      vault: TemplateVault;
      gallery: FaceGallery;
      calibration: Calibration;
    };
  constructor(
    d: {
      db: Kysely<Database>;
      users: UsersService;
      audit: AuditService;
      engine: FaceEngine | null;
      vault: TemplateVault;
      gallery: FaceGallery;
      calibration: Calibration;
    },
  ) {
    this.d = d;
  }

  async submit(client: ClientContext, input: SubmitReviewInput, by: UserActor = {}): Promise<ReviewView> {
    if (!input.photos.length) throw appError('VALIDATION_ERROR', 'body.images: send at least one photo', { field: 'images', location: 'body' });
    if (input.photos.length > MAX_REVIEW_PHOTOS) {
      throw appError('VALIDATION_ERROR', `body.images: at most ${MAX_REVIEW_PHOTOS} photos per review`, { field: 'images', location: 'body' });
    }
    // The stored type is the bytes' own (JPEG, PNG or WebP), never the declared one: the photo is served
    // back with it, and a declared text/html made a download render as a page.
    const photos = input.photos.map((p, i) => {
      const format = sniffFormat(p.bytes);
      if (format === 'unsupported' || format === 'unknown') {
        throw appError('UNSUPPORTED_MEDIA_TYPE', `images[${i}] is not a JPEG, PNG or WebP image`, { field: 'images', index: i });
      }
      return { bytes: p.bytes, contentType: IMAGE_CONTENT_TYPES[format] };
    });
    const user = await this.d.users.getByRef(client.id, input.user_id);
    if (!user.is_active) throw appError('USER_INACTIVE');
    // A first look for the reviewer: is there a face, how good is it? An undecodable file is refused now.
    const analysed: Array<ReviewPhotoInput & { faceDetected: boolean | null; quality: number | null }> = [];
    for (const p of photos) analysed.push({ ...p, ...(await this.#peek(p.bytes)) });
    const id = crypto.randomUUID();
    await this.d.db.transaction().execute(async (trx) => {
      // One submission per user at a time (the user's row locked): two sent at once each found no pending
      // review and both inserted one.
      if (!(await lockFaceUser(trx, client.id, user.id))) throw appError('USER_NOT_FOUND');
      const pending = await findPendingReviewId(trx, client.id, user.id);
      if (pending) throw appError('REVIEW_ALREADY_PENDING', undefined, { review_id: pending });
      await insertReview(trx, {
        id,
        clientId: client.id,
        userId: user.id,
        reason: input.reason,
        notes: input.notes ?? null,
        qualityThreshold: input.quality_threshold ?? REVIEW_QUALITY_THRESHOLD,
        submittedBy: actorOf(by),
        photos: analysed.map((p, position) => {
          const photoId = crypto.randomUUID();
          return {
            id: photoId,
            position,
            contentType: p.contentType,
            byteLength: p.bytes.length,
            faceDetected: p.faceDetected,
            qualityScore: p.quality,
            ciphertext: this.d.vault.sealBytes(p.bytes, reviewPhotoAad(client.id, id, user.id, photoId)),
          };
        }),
      });
      await this.d.audit.record(
        { clientId: client.id, category: 'enrollment', action: 'review.submitted', actor: actorOf(by), target: user.id, ip: by.ip ?? null, details: { review_id: id, photos: input.photos.length } },
        trx,
      );
    });
    return this.get(client.id, id);
  }

  async list(clientId: string, q: { status?: ReviewStatus; user_id?: string; page: number; page_size: number }): Promise<Page<ReviewView>> {
    let userId: string | undefined;
    if (q.user_id) {
      const user = await this.d.users.findByRef(clientId, q.user_id);
      if (!user) return pageOf([], 0, q.page, q.page_size);
      userId = user.id;
    }
    const { total, rows } = await listReviews(this.d.db, clientId, { status: q.status, userId }, q.page_size, (q.page - 1) * q.page_size);
    const photos = await listReviewPhotoInfo(this.d.db, clientId, rows.map((r) => r.id));
    return pageOf(rows.map((r) => view(r, photos)), total, q.page, q.page_size);
  }

  async get(clientId: string, reviewId: string): Promise<ReviewView> {
    const row = await this.#find(clientId, reviewId);
    return view(row, await listReviewPhotoInfo(this.d.db, clientId, [row.id]));
  }

  /** The decrypted bytes of one photo of a pending review; every access is written to the audit log first. */
  async photo(clientId: string, reviewId: string, photoId: string, by: UserActor = {}): Promise<{ bytes: Buffer; contentType: string }> {
    const review = await this.#find(clientId, reviewId);
    const row = isUuid(photoId) ? await loadReviewPhoto(this.d.db, clientId, review.id, photoId) : undefined;
    if (!row) {
      throw appError('NOT_FOUND', review.photos_deleted_at ? 'The photos of a decided review are deleted' : `No photo ${photoId} in this review`);
    }
    await this.d.db.transaction().execute((trx) =>
      this.d.audit.record(
        { clientId, category: 'data_access', action: 'review.photo_viewed', actor: actorOf(by), target: review.user_id, ip: by.ip ?? null, details: { review_id: review.id, photo_id: row.id } },
        trx,
      ),
    );
    const bytes = this.#open(row, review.user_id);
    // Photos stored before the type was taken from the bytes: served by what they are.
    return { bytes, contentType: imageContentType(bytes) };
  }

  async approve(client: ClientContext, reviewId: string, input: { notes?: string | null; quality_threshold?: number }, by: UserActor = {}) {
    const review = await this.#find(client.id, reviewId);
    if (review.status !== 'pending') throw appError('REVIEW_ALREADY_DECIDED');
    const user = await this.d.users.getByRef(client.id, review.user_id);
    if (!user.is_active) throw appError('USER_INACTIVE');
    const threshold = input.quality_threshold ?? review.quality_threshold;
    const { faces, verdicts } = await this.#usableFaces(await loadReviewPhotos(this.d.db, client.id, review.id), review.user_id, threshold);

    const enrollmentId = faces.length ? crypto.randomUUID() : null;
    const templates = faces.map((f) => ({ id: crypto.randomUUID(), face: f }));
    const modelId = faces[0]?.modelId ?? null;
    const quality = faces.length ? faces.reduce((s, f) => s + f.quality, 0) / faces.length : 0;
    const confidence = faces.length ? faces.reduce((s, f) => s + f.confidence, 0) / faces.length : 0;
    const angles = [...new Set(faces.map((f) => f.angle))];
    const outcome = enrollmentId ? ('enrolled' as const) : ('manually_verified' as const);
    const createdAt = await this.d.db.transaction().execute(async (trx) => {
      // The user's row first (the order of enrollment writes and user deletion): an enrollment written
      // meanwhile cannot slip past the same-person check below.
      const current = await lockFaceUser(trx, client.id, user.id);
      if (!current) throw appError('USER_NOT_FOUND');
      if (!current.is_active) throw appError('USER_INACTIVE');
      const locked = await lockReview(trx, client.id, review.id);
      if (!locked) throw appError('REVIEW_NOT_FOUND');
      if (locked.status !== 'pending') throw appError('REVIEW_ALREADY_DECIDED');
      let at = new Date();
      if (enrollmentId && modelId) {
        // The rule of direct and session enrollment: another person's face does not join an enrolled
        // user's account. The review stays pending (reject it, or remove the enrollments and approve).
        await assertEnrolledPerson(this.d, trx, client.id, user, modelId, faces, `The review's face does not match ${user.external_id}'s enrolled face; reject the review, or remove the enrollments first`);
        at = await insertEnrollment(trx, {
          id: enrollmentId,
          clientId: client.id,
          userId: user.id,
          sessionId: null,
          source: 'manual_review',
          modelId,
          qualityScore: quality,
          faceCount: faces.length,
          averageConfidence: confidence,
          angles,
        });
        await insertTemplates(trx, this.d.vault.templateRows({ clientId: client.id, userId: user.id, enrollmentId, modelId }, templates));
      }
      const deleted = await decideReview(trx, client.id, review.id, {
        status: 'approved',
        outcome,
        enrollmentId,
        decisionNotes: input.notes ?? null,
        rejectionReason: null,
        decidedBy: actorOf(by),
      });
      const payload: Completed = {
        enrollment_id: enrollmentId,
        user_id: user.external_id,
        user_name: user.name,
        quality_score: round(quality),
        angles_captured: angles.length,
        enrollment_date: at.toISOString(),
        method: 'manual_review',
        review_id: review.id,
        outcome,
      };
      await recordEvent(trx, client.id, 'enrollment.completed', payload);
      await this.d.audit.record(
        {
          clientId: client.id,
          category: 'enrollment',
          action: 'review.approved',
          actor: actorOf(by),
          target: user.id,
          ip: by.ip ?? null,
          details: { review_id: review.id, outcome, enrollment_id: enrollmentId, faces_used: faces.length, photos_deleted: deleted, quality_threshold: threshold },
        },
        trx,
      );
      return at;
    });
    if (modelId && templates.length) {
      await this.d.gallery.added(client.id, modelId, templates.map(({ id, face }) => ({ templateId: id, userId: user.id, vec: face.embedding })));
    }
    return {
      ...(await this.get(client.id, review.id)),
      enrollment: enrollmentId
        ? {
            enrollment_id: enrollmentId,
            quality_metrics: { overall_quality: round(quality), face_count: faces.length, average_confidence: round(confidence), angles_captured: angles },
            created_at: createdAt.toISOString(),
          }
        : null,
      photos_analyzed: verdicts,
    };
  }

  async reject(client: ClientContext, reviewId: string, input: { reason: string }, by: UserActor = {}): Promise<ReviewView> {
    const review = await this.#find(client.id, reviewId);
    await this.d.db.transaction().execute(async (trx) => {
      const locked = await lockReview(trx, client.id, review.id);
      if (!locked) throw appError('REVIEW_NOT_FOUND');
      if (locked.status !== 'pending') throw appError('REVIEW_ALREADY_DECIDED');
      const deleted = await decideReview(trx, client.id, review.id, {
        status: 'rejected',
        outcome: null,
        enrollmentId: null,
        decisionNotes: null,
        rejectionReason: input.reason,
        decidedBy: actorOf(by),
      });
      const payload: Failed = {
        session_id: null,
        user_id: locked.external_id,
        error_code: 'MANUAL_REVIEW_REJECTED',
        error_message: input.reason,
        attempts: locked.photo_count,
        last_attempt: new Date(locked.created_at).toISOString(),
        method: 'manual_review',
        review_id: locked.id,
      };
      await recordEvent(trx, client.id, 'enrollment.failed', payload);
      await this.d.audit.record(
        {
          clientId: client.id,
          category: 'enrollment',
          action: 'review.rejected',
          actor: actorOf(by),
          target: locked.user_id,
          ip: by.ip ?? null,
          details: { review_id: locked.id, reason: input.reason, photos_deleted: deleted },
        },
        trx,
      );
    });
    return this.get(client.id, review.id);
  }

  /** For the portability export: the user's reviews, without photo bytes. */
  async exportSection(clientId: string, userId: string) {
    const rows = await listUserReviews(this.d.db, clientId, userId);
    const photos = await listReviewPhotoInfo(this.d.db, clientId, rows.map((r) => r.id));
    return { manual_reviews: rows.map((r) => view(r, photos)) };
  }

  async #find(clientId: string, reviewId: string): Promise<ReviewRow> {
    const row = isUuid(reviewId) ? await findReview(this.d.db, clientId, reviewId) : undefined;
    if (!row) throw appError('REVIEW_NOT_FOUND');
    return row;
  }

  async #peek(bytes: Uint8Array): Promise<{ faceDetected: boolean | null; quality: number | null }> {
    if (!this.d.engine) return { faceDetected: null, quality: null };
    try {
      const { face } = await analyzeOne(this.d.engine, bytes);
      return { faceDetected: true, quality: round(face.quality.score) };
    } catch (e) {
      if (isAppError(e) && e.code === 'NO_FACE_DETECTED') return { faceDetected: false, quality: null };
      throw e;
    }
  }

  /** The faces to enroll: above the threshold and the same person as the best one (others are reported, not used). */
  async #usableFaces(photos: ReviewPhotoRow[], userId: string, threshold: number) {
    type Face = { photoId: string; embedding: Float32Array; modelId: string; quality: number; confidence: number; angle: string };
    const verdicts: PhotoVerdict[] = [];
    const candidates: Face[] = [];
    for (const p of photos) {
      try {
        const { face, result } = await analyzeOne(this.d.engine, this.#open(p, userId));
        const q = face.quality.score;
        const ok = q >= threshold;
        verdicts.push({ photo_id: p.id, face_detected: true, quality_score: round(q), used: ok, reason: ok ? null : 'POOR_IMAGE_QUALITY' });
        if (ok) candidates.push({ photoId: p.id, embedding: face.embedding!, modelId: result.modelId, quality: q, confidence: face.score, angle: face.quality.poseBucket });
      } catch (e) {
        if (!isAppError(e) || !['NO_FACE_DETECTED', 'INVALID_IMAGE', 'MULTIPLE_FACES'].includes(e.code)) throw e;
        verdicts.push({ photo_id: p.id, face_detected: e.code !== 'NO_FACE_DETECTED' && e.code !== 'INVALID_IMAGE', quality_score: null, used: false, reason: e.code });
      }
    }
    const anchor = candidates.reduce<Face | null>((best, f) => (!best || f.quality > best.quality ? f : best), null);
    const faces = candidates.filter((f) => {
      if (!anchor || f === anchor) return !!anchor;
      const same =
        f.modelId === anchor.modelId &&
        f.embedding.length === anchor.embedding.length &&
        this.d.calibration.confidence(this.d.engine!.similarity(anchor.embedding, f.embedding), f.modelId) >= SAME_PERSON_CONFIDENCE;
      if (!same) Object.assign(verdicts.find((v) => v.photo_id === f.photoId)!, { used: false, reason: 'FACE_MISMATCH' });
      return same;
    });
    return { faces, verdicts };
  }

  /**
   * The photo's bytes, sealed under its tenant, review, the review's user and its id: a photo moved to another
   * review, or a review moved to another user (user_id rewritten), does not open. That is an integrity
   * failure (logged once, counted) and a coded NOT_FOUND for this photo, never another user's face.
   */
  #open(row: ReviewPhotoRow, userId: string): Buffer {
    try {
      return this.d.vault.openBytes(row.ciphertext, reviewPhotoAad(row.client_id, row.review_id, userId, row.id), row.byte_length);
    } catch (e) {
      if (!(e instanceof TemplateDecryptError)) throw e;
      this.d.vault.integrityFailure('review photo', row.id, `review ${row.review_id}, user ${userId}, client ${row.client_id}`, e);
      throw appError('NOT_FOUND', `Photo ${row.id} of this review fails its integrity check (moved or altered in the database): reject the review and submit the photos again`, {
        reason: 'photo_integrity',
        photo_id: row.id,
      });
    }
  }
}

/** Decodes a `data:image/…;base64,…` URL (the JSON form of an upload). */
export function decodeDataUrl(value: string, field: string): ReviewPhotoInput {
  const m = /^data:([\w.+-]+\/[\w.+-]+)?(?:;[\w-]+=[\w.-]+)*;base64,([A-Za-z0-9+/=\s]+)$/.exec(value);
  if (!m) throw appError('VALIDATION_ERROR', `body.${field} must be a base64 data URL (data:image/jpeg;base64,…)`, { field, location: 'body' });
  return { bytes: Buffer.from(m[2], 'base64'), contentType: m[1] ?? 'application/octet-stream' };
}


function actorOf(by: UserActor): string | null {
  return by.apiKeyId ? `key:${by.apiKeyId}` : null;
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

function view(r: ReviewRow, photos: ReviewPhotoInfo[]): ReviewView {
  return {
    id: r.id,
    user_id: r.external_id,
    user_name: r.user_name,
    status: r.status,
    reason: r.reason,
    notes: r.notes,
    quality_threshold: round(r.quality_threshold),
    outcome: r.outcome,
    enrollment_id: r.enrollment_id,
    decision_notes: r.decision_notes,
    rejection_reason: r.rejection_reason,
    decided_by: r.decided_by,
    decided_at: iso(r.decided_at),
    photos_deleted: !!r.photos_deleted_at,
    photo_count: r.photo_count,
    photos: photos
      .filter((p) => p.review_id === r.id)
      .map((p) => ({ id: p.id, position: p.position, content_type: p.content_type, size: p.byte_length, face_detected: p.face_detected, quality_score: p.quality_score })),
    created_at: iso(r.created_at)!,
    updated_at: iso(r.updated_at)!,
  };
}
