import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface NewEnrollment {
  id: string;
  clientId: string;
  userId: string;
  sessionId: string | null;
  source: string;
  modelId: string;
  qualityScore: number;
  faceCount: number;
  averageConfidence: number;
  angles: string[];
}

export interface EnrollmentRow {
  id: string;
  user_id: string;
  session_id: string | null;
  source: string;
  model_id: string;
  quality_score: number;
  face_count: number;
  average_confidence: number;
  angles: string[];
  created_at: Date;
}

export async function insertEnrollment(db: Db, e: NewEnrollment): Promise<Date> {
  const row = await db
    .insertInto('enrollments')
    .values({
      id: e.id,
      client_id: e.clientId,
      user_id: e.userId,
      session_id: e.sessionId,
      source: e.source,
      model_id: e.modelId,
      quality_score: e.qualityScore,
      face_count: e.faceCount,
      average_confidence: e.averageConfidence,
      angles: JSON.stringify(e.angles),
    })
    .returning('created_at')
    .executeTakeFirstOrThrow();
  return row.created_at as unknown as Date;
}

export async function listUserEnrollments(db: Db, clientId: string, userId: string): Promise<EnrollmentRow[]> {
  const rows = await db
    .selectFrom('enrollments')
    .select(['id', 'user_id', 'session_id', 'source', 'model_id', 'quality_score', 'face_count', 'average_confidence', 'angles', 'created_at'])
    .where('client_id', '=', clientId)
    .where('user_id', '=', userId)
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .execute();
  return rows as unknown as EnrollmentRow[];
}

export async function findEnrollment(db: Db, clientId: string, enrollmentId: string): Promise<{ id: string; user_id: string; model_id: string } | undefined> {
  return db
    .selectFrom('enrollments')
    .select(['id', 'user_id', 'model_id'])
    .where('client_id', '=', clientId)
    .where('id', '=', enrollmentId)
    .executeTakeFirst();
}

/** Deletes one enrollment (its templates and photos cascade); returns the ids of the removed templates. */
export async function deleteEnrollment(db: Db, clientId: string, enrollmentId: string): Promise<string[]> {
  const templates = await db
    .selectFrom('face_templates')
    .select('id')
    .where('client_id', '=', clientId)
    .where('enrollment_id', '=', enrollmentId)
    .execute();
  await db.deleteFrom('enrollments').where('client_id', '=', clientId).where('id', '=', enrollmentId).execute();
  return templates.map((t) => t.id);
}

/** Deletes every enrollment of a user (templates and photos cascade); returns the removed template ids. */
export async function deleteUserEnrollments(db: Db, clientId: string, userId: string): Promise<string[]> {
  const templates = await db.selectFrom('face_templates').select('id').where('client_id', '=', clientId).where('user_id', '=', userId).execute();
  await db.deleteFrom('enrollments').where('client_id', '=', clientId).where('user_id', '=', userId).execute();
  return templates.map((t) => t.id);
}
