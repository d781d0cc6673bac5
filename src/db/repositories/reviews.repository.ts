import { sql, type ColumnType, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export type ReviewStatus = 'pending' | 'approved' | 'rejected';
export type ReviewOutcome = 'enrolled' | 'manually_verified';

/** Tables of migration 0006 used here (kept beside their queries; see Kysely `withTables`). */
export type ReviewTables = {
  review_requests: {
    id: string;
    client_id: string;
    user_id: string;
    status: ColumnType<ReviewStatus, ReviewStatus | undefined, ReviewStatus>;
    reason: string;
    notes: string | null;
    quality_threshold: number;
    photo_count: number;
    outcome: ReviewOutcome | null;
    enrollment_id: string | null;
    decision_notes: string | null;
    rejection_reason: string | null;
    submitted_by: string | null;
    decided_by: string | null;
    decided_at: Timestamp | null;
    photos_deleted_at: Timestamp | null;
    created_at: Timestamp;
    updated_at: Timestamp;
  };
  review_photos: {
    id: string;
    client_id: string;
    review_id: string;
    position: number;
    content_type: string;
    byte_length: number;
    face_detected: boolean | null;
    quality_score: number | null;
    ciphertext: ColumnType<Uint8Array, Uint8Array, Uint8Array>;
    created_at: Timestamp;
  };
};

type Db = Kysely<Database> | Transaction<Database>;
const t = (db: Db) => db.withTables<ReviewTables>();

/** A review request with its user's public ids (never photo bytes). */
export interface ReviewRow {
  id: string;
  user_id: string;
  external_id: string;
  user_name: string;
  status: ReviewStatus;
  reason: string;
  notes: string | null;
  quality_threshold: number;
  photo_count: number;
  outcome: ReviewOutcome | null;
  enrollment_id: string | null;
  decision_notes: string | null;
  rejection_reason: string | null;
  submitted_by: string | null;
  decided_by: string | null;
  decided_at: Date | null;
  photos_deleted_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface ReviewPhotoInfo {
  id: string;
  review_id: string;
  position: number;
  content_type: string;
  byte_length: number;
  face_detected: boolean | null;
  quality_score: number | null;
}

export interface ReviewPhotoRow extends ReviewPhotoInfo {
  client_id: string;
  ciphertext: Uint8Array;
}

export interface NewReview {
  id: string;
  clientId: string;
  userId: string;
  reason: string;
  notes: string | null;
  qualityThreshold: number;
  submittedBy: string | null;
  photos: Array<{ id: string; position: number; contentType: string; byteLength: number; faceDetected: boolean | null; qualityScore: number | null; ciphertext: Uint8Array }>;
}

function reviewQuery(db: Db, clientId: string) {
  return t(db)
    .selectFrom('review_requests as r')
    .innerJoin('users as u', (j) => j.onRef('u.id', '=', 'r.user_id').onRef('u.client_id', '=', 'r.client_id'))
    .select([
      'r.id',
      'r.user_id',
      'u.external_id',
      'u.name as user_name',
      'r.status',
      'r.reason',
      'r.notes',
      'r.quality_threshold',
      'r.photo_count',
      'r.outcome',
      'r.enrollment_id',
      'r.decision_notes',
      'r.rejection_reason',
      'r.submitted_by',
      'r.decided_by',
      'r.decided_at',
      'r.photos_deleted_at',
      'r.created_at',
      'r.updated_at',
    ])
    .where('r.client_id', '=', clientId);
}

export async function insertReview(db: Db, r: NewReview): Promise<void> {
  await t(db)
    .insertInto('review_requests')
    .values({
      id: r.id,
      client_id: r.clientId,
      user_id: r.userId,
      reason: r.reason,
      notes: r.notes,
      quality_threshold: r.qualityThreshold,
      photo_count: r.photos.length,
      submitted_by: r.submittedBy,
    })
    .execute();
  if (!r.photos.length) return;
  await t(db)
    .insertInto('review_photos')
    .values(
      r.photos.map((p) => ({
        id: p.id,
        client_id: r.clientId,
        review_id: r.id,
        position: p.position,
        content_type: p.contentType,
        byte_length: p.byteLength,
        face_detected: p.faceDetected,
        quality_score: p.qualityScore,
        ciphertext: p.ciphertext,
      })),
    )
    .execute();
}

export async function findReview(db: Db, clientId: string, reviewId: string): Promise<ReviewRow | undefined> {
  return (await reviewQuery(db, clientId).where('r.id', '=', reviewId).executeTakeFirst()) as ReviewRow | undefined;
}

/** The review row locked for a decision. */
export async function lockReview(trx: Transaction<Database>, clientId: string, reviewId: string): Promise<ReviewRow | undefined> {
  return (await reviewQuery(trx, clientId).where('r.id', '=', reviewId).forUpdate('r').executeTakeFirst()) as ReviewRow | undefined;
}

export async function findPendingReviewId(db: Db, clientId: string, userId: string): Promise<string | undefined> {
  const row = await t(db)
    .selectFrom('review_requests')
    .select('id')
    .where('client_id', '=', clientId)
    .where('user_id', '=', userId)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return row?.id;
}

export async function listReviews(
  db: Db,
  clientId: string,
  f: { status?: ReviewStatus; userId?: string },
  limit: number,
  offset: number,
): Promise<{ total: number; rows: ReviewRow[] }> {
  let q = reviewQuery(db, clientId);
  if (f.status) q = q.where('r.status', '=', f.status);
  if (f.userId) q = q.where('r.user_id', '=', f.userId);
  const [count, rows] = await Promise.all([
    q.clearSelect().select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst(),
    // Oldest first: a queue is worked from its head.
    q.orderBy('r.created_at').orderBy('r.id').limit(limit).offset(offset).execute(),
  ]);
  return { total: Number(count?.n ?? 0), rows: rows as ReviewRow[] };
}

export async function listReviewPhotoInfo(db: Db, clientId: string, reviewIds: string[]): Promise<ReviewPhotoInfo[]> {
  if (!reviewIds.length) return [];
  return (await t(db)
    .selectFrom('review_photos')
    .select(['id', 'review_id', 'position', 'content_type', 'byte_length', 'face_detected', 'quality_score'])
    .where('client_id', '=', clientId)
    .where('review_id', 'in', reviewIds)
    .orderBy('review_id')
    .orderBy('position')
    .execute()) as ReviewPhotoInfo[];
}

export async function loadReviewPhotos(db: Db, clientId: string, reviewId: string): Promise<ReviewPhotoRow[]> {
  return (await t(db)
    .selectFrom('review_photos')
    .selectAll()
    .where('client_id', '=', clientId)
    .where('review_id', '=', reviewId)
    .orderBy('position')
    .execute()) as ReviewPhotoRow[];
}

export async function loadReviewPhoto(db: Db, clientId: string, reviewId: string, photoId: string): Promise<ReviewPhotoRow | undefined> {
  return (await t(db)
    .selectFrom('review_photos')
    .selectAll()
    .where('client_id', '=', clientId)
    .where('review_id', '=', reviewId)
    .where('id', '=', photoId)
    .executeTakeFirst()) as ReviewPhotoRow | undefined;
}

/** Records the decision and deletes the review's photos (retention: they served the decision). */
export async function decideReview(
  trx: Transaction<Database>,
  clientId: string,
  reviewId: string,
  d: {
    status: 'approved' | 'rejected';
    outcome: ReviewOutcome | null;
    enrollmentId: string | null;
    decisionNotes: string | null;
    rejectionReason: string | null;
    decidedBy: string | null;
  },
): Promise<number> {
  const now = new Date();
  const deleted = await t(trx).deleteFrom('review_photos').where('client_id', '=', clientId).where('review_id', '=', reviewId).executeTakeFirst();
  await t(trx)
    .updateTable('review_requests')
    .set({
      status: d.status,
      outcome: d.outcome,
      enrollment_id: d.enrollmentId,
      decision_notes: d.decisionNotes,
      rejection_reason: d.rejectionReason,
      decided_by: d.decidedBy,
      decided_at: now,
      photos_deleted_at: now,
      updated_at: sql<Date>`now()`,
    })
    .where('client_id', '=', clientId)
    .where('id', '=', reviewId)
    .execute();
  return Number(deleted.numDeletedRows);
}

/** A user's reviews for the portability export (no photo bytes). */
export async function listUserReviews(db: Db, clientId: string, userId: string): Promise<ReviewRow[]> {
  return (await reviewQuery(db, clientId).where('r.user_id', '=', userId).orderBy('r.created_at').execute()) as ReviewRow[];
}
