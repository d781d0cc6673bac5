import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import type { StoredPhoto, StoredTemplate } from './templates.repository.ts';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * Queries of the CompreFace-compatible API (docs/compreface.md), where a subject is a user of the tenant
 * (its external_id) and an example ("image_id") is an enrollment. Every query is scoped by client.
 */

/** Every subject name of the tenant, oldest first. */
export async function listSubjectNames(db: Db, clientId: string): Promise<string[]> {
  const rows = await db.selectFrom('users').select('external_id').where('client_id', '=', clientId).orderBy('created_at').orderBy('id').execute();
  return rows.map((r) => r.external_id);
}

/** One page of examples (enrollments with their subject), optionally of one user, oldest first. */
export async function listExamples(db: Db, clientId: string, opts: { userId?: string; limit: number; offset: number }) {
  let base = db.selectFrom('enrollments').innerJoin('users', 'users.id', 'enrollments.user_id').where('enrollments.client_id', '=', clientId);
  if (opts.userId) base = base.where('enrollments.user_id', '=', opts.userId);
  const [count, rows] = await Promise.all([
    base.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
    base
      .select(['enrollments.id as image_id', 'users.external_id as subject'])
      .orderBy('enrollments.created_at')
      .orderBy('enrollments.id')
      .limit(opts.limit)
      .offset(opts.offset)
      .execute(),
  ]);
  return { total: Number(count.n), rows };
}

/** An example with its subject. */
export async function findExample(db: Db, clientId: string, enrollmentId: string) {
  return db
    .selectFrom('enrollments')
    .innerJoin('users', 'users.id', 'enrollments.user_id')
    .select(['enrollments.id as image_id', 'enrollments.user_id', 'enrollments.model_id', 'users.external_id as subject', 'users.is_active'])
    .where('enrollments.client_id', '=', clientId)
    .where('enrollments.id', '=', enrollmentId)
    .executeTakeFirst();
}

/** The templates of one example (verification against it). */
export async function loadExampleTemplates(db: Db, clientId: string, enrollmentId: string): Promise<StoredTemplate[]> {
  return db
    .selectFrom('face_templates')
    .select(['id', 'client_id', 'user_id', 'model_id', 'ciphertext'])
    .where('client_id', '=', clientId)
    .where('enrollment_id', '=', enrollmentId)
    .execute();
}

/**
 * The stored (opt-in, sealed) images of an example, of its user (`userId`, the enrollment's), oldest first:
 * the caller serves the first that opens under its own row (a row moved in from another example or user does not).
 */
export async function findExamplePhotos(db: Db, clientId: string, enrollmentId: string, userId: string): Promise<StoredPhoto[]> {
  return db
    .selectFrom('face_photos')
    .select(['id', 'client_id', 'user_id', 'enrollment_id', 'ciphertext'])
    .where('client_id', '=', clientId)
    .where('enrollment_id', '=', enrollmentId)
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

/** Deletes every example of the tenant, or of one user (templates and photos cascade). */
export async function deleteExamples(trx: Db, clientId: string, userId?: string): Promise<{ count: number; templateIds: string[] }> {
  let templates = trx.selectFrom('face_templates').select('id').where('client_id', '=', clientId);
  let del = trx.deleteFrom('enrollments').where('client_id', '=', clientId);
  if (userId) {
    templates = templates.where('user_id', '=', userId);
    del = del.where('user_id', '=', userId);
  }
  const ids = await templates.execute();
  const res = await del.executeTakeFirst();
  return { count: Number(res.numDeletedRows), templateIds: ids.map((t) => t.id) };
}

/**
 * Moves every example of one user to another (merging subjects on rename); returns the moved templates.
 * A template's seal names its user (templateAad), and so does a photo's (photoAad), so each moves with the
 * ciphertext `reseal` / `resealPhoto` makes for its new owner: a row moved as it was would no longer open.
 * A photo that does not open now (`resealPhoto` gives null) moves as it is and stays refused: re-sealing it
 * would launder a row someone moved in.
 */
export async function moveExamples(
  trx: Db,
  clientId: string,
  fromUserId: string,
  toUserId: string,
  reseal: (row: StoredTemplate, toUserId: string) => Uint8Array,
  resealPhoto: (row: StoredPhoto, toUserId: string) => Uint8Array | null,
): Promise<StoredTemplate[]> {
  await trx.updateTable('enrollments').set({ user_id: toUserId }).where('client_id', '=', clientId).where('user_id', '=', fromUserId).execute();
  const photos = await trx
    .selectFrom('face_photos')
    .select(['id', 'client_id', 'user_id', 'enrollment_id', 'ciphertext'])
    .where('client_id', '=', clientId)
    .where('user_id', '=', fromUserId)
    .forUpdate()
    .execute();
  for (const photo of photos) {
    const ciphertext = resealPhoto(photo, toUserId);
    await trx
      .updateTable('face_photos')
      .set(ciphertext ? { user_id: toUserId, ciphertext } : { user_id: toUserId })
      .where('id', '=', photo.id)
      .execute();
  }
  const rows = await trx
    .selectFrom('face_templates')
    .select(['id', 'client_id', 'user_id', 'model_id', 'ciphertext'])
    .where('client_id', '=', clientId)
    .where('user_id', '=', fromUserId)
    .forUpdate()
    .execute();
  const moved: StoredTemplate[] = [];
  for (const row of rows) {
    const ciphertext = reseal(row, toUserId);
    await trx.updateTable('face_templates').set({ user_id: toUserId, ciphertext }).where('id', '=', row.id).execute();
    moved.push({ ...row, user_id: toUserId, ciphertext });
  }
  return moved;
}
