import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface NewTemplate {
  id: string;
  clientId: string;
  userId: string;
  enrollmentId: string;
  modelId: string;
  dim: number;
  ciphertext: Uint8Array;
  angle: string | null;
  quality: number | null;
}

/** An encrypted template as read back (bytea is a Buffer under pg and a Uint8Array under PGlite). */
export interface StoredTemplate {
  id: string;
  client_id: string;
  user_id: string;
  model_id: string;
  ciphertext: Uint8Array;
}

/** A sealed enrollment photo as read back: the columns its seal is bound to (photoAad) and the ciphertext. */
export interface StoredPhoto {
  id: string;
  client_id: string;
  user_id: string;
  enrollment_id: string;
  ciphertext: Uint8Array;
}

export async function insertTemplates(db: Db, rows: NewTemplate[]): Promise<void> {
  if (!rows.length) return;
  await db
    .insertInto('face_templates')
    .values(
      rows.map((t) => ({
        id: t.id,
        client_id: t.clientId,
        user_id: t.userId,
        enrollment_id: t.enrollmentId,
        model_id: t.modelId,
        dim: t.dim,
        ciphertext: t.ciphertext,
        angle: t.angle,
        quality: t.quality,
      })),
    )
    .execute();
}

/** An opted-in enrollment photo; `ciphertext` sealed under photoAad(clientId, userId, enrollmentId, id). */
export async function insertPhoto(db: Db, p: { id: string; clientId: string; userId: string; enrollmentId: string; contentType: string; ciphertext: Uint8Array }): Promise<void> {
  await db
    .insertInto('face_photos')
    .values({ id: p.id, client_id: p.clientId, user_id: p.userId, enrollment_id: p.enrollmentId, content_type: p.contentType, ciphertext: p.ciphertext })
    .execute();
}

/**
 * The templates 1:N search holds: those of the tenant's active users. A deactivated user cannot be
 * identified, so their templates stay out of the search index and of the gallery size that sets
 * identification's false-positive floor (docs/search.md).
 */
function searchable(db: Db, clientId: string) {
  return db
    .selectFrom('face_templates as t')
    .innerJoin('users as u', (j) => j.onRef('u.id', '=', 't.user_id').onRef('u.client_id', '=', 't.client_id'))
    .where('t.client_id', '=', clientId)
    .where('u.is_active', '=', true);
}

/** One page (keyset on id) of a tenant's searchable templates of one model: the loader of its search index. */
export async function loadTenantTemplatesPage(db: Db, clientId: string, modelId: string, afterId: string | null, limit: number): Promise<StoredTemplate[]> {
  let q = searchable(db, clientId).select(['t.id', 't.client_id', 't.user_id', 't.model_id', 't.ciphertext']).where('t.model_id', '=', modelId);
  if (afterId) q = q.where('t.id', '>', afterId);
  return q.orderBy('t.id').limit(limit).execute();
}

/** One page of a tenant's searchable template ids and owners for one model (keyset on id), nothing decrypted: what a search-index resync compares. */
export async function listTenantTemplateIds(db: Db, clientId: string, modelId: string, afterId: string | null, limit: number): Promise<Array<{ id: string; user_id: string }>> {
  let q = searchable(db, clientId).select(['t.id', 't.user_id']).where('t.model_id', '=', modelId);
  if (afterId) q = q.where('t.id', '>', afterId);
  return q.orderBy('t.id').limit(limit).execute();
}

/**
 * Searchable templates by id within one tenant: how another process fetches what a change notice names,
 * and a resync what an index lacks (a template of a deactivated user is not returned).
 */
export async function loadSearchableTemplatesById(db: Db, clientId: string, ids: string[]): Promise<StoredTemplate[]> {
  if (!ids.length) return [];
  return searchable(db, clientId).select(['t.id', 't.client_id', 't.user_id', 't.model_id', 't.ciphertext']).where('t.id', 'in', ids).execute();
}

/** One user's templates (all models): verification compares against these directly. */
export async function loadUserTemplates(db: Db, clientId: string, userId: string): Promise<StoredTemplate[]> {
  return db
    .selectFrom('face_templates')
    .select(['id', 'client_id', 'user_id', 'model_id', 'ciphertext'])
    .where('client_id', '=', clientId)
    .where('user_id', '=', userId)
    .execute();
}

/** The user fields the face flows show (name, metadata) and decide on (is_active). */
export interface FaceUser {
  id: string;
  external_id: string;
  name: string;
  metadata: Record<string, unknown>;
  is_active: boolean;
}

const USER_COLUMNS = ['id', 'external_id', 'name', 'metadata', 'is_active'] as const;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A user of this tenant by uuid or external_id (the guide passes the external id as `user_id`). */
export async function findFaceUser(db: Db, clientId: string, idOrExternal: string): Promise<FaceUser | undefined> {
  let q = db.selectFrom('users').select(USER_COLUMNS).where('client_id', '=', clientId);
  q = UUID.test(idOrExternal)
    ? q.where((eb) => eb.or([eb('id', '=', idOrExternal), eb('external_id', '=', idOrExternal)]))
    : q.where('external_id', '=', idOrExternal);
  const rows = (await q.limit(2).execute()) as FaceUser[];
  // A uuid-shaped external_id of one user could equal another user's id: the id wins.
  return rows.find((r) => r.id === idOrExternal) ?? rows[0];
}

/**
 * Locks a user's row for the rest of the transaction (SELECT … FOR UPDATE) and reads it again: writes
 * that check the user's face data before adding to it (enrollment's same-person rule) run one at a time
 * per user. Undefined when the user was deleted meanwhile.
 */
export async function lockFaceUser(trx: Db, clientId: string, userId: string): Promise<FaceUser | undefined> {
  return (await trx.selectFrom('users').select(USER_COLUMNS).where('client_id', '=', clientId).where('id', '=', userId).forUpdate().executeTakeFirst()) as FaceUser | undefined;
}

/**
 * A user of this tenant by external_id only: for names that come from a recognition result or a
 * CompreFace subject, which are external ids. (findFaceUser would let one that spells another user's
 * uuid find that other user.)
 */
export async function findFaceUserByExternalId(db: Db, clientId: string, externalId: string): Promise<FaceUser | undefined> {
  return (await db.selectFrom('users').select(USER_COLUMNS).where('client_id', '=', clientId).where('external_id', '=', externalId).executeTakeFirst()) as FaceUser | undefined;
}

/**
 * findFaceUser and that user's templates (loadUserTemplates) in one read: a one-shot verification needs
 * both, and the embedded database answers one joined query in one round trip instead of two.
 */
export async function findFaceUserWithTemplates(db: Db, clientId: string, idOrExternal: string): Promise<{ user: FaceUser; templates: StoredTemplate[] } | undefined> {
  let q = db
    .selectFrom('users as u')
    .leftJoin('face_templates as t', (j) => j.onRef('t.user_id', '=', 'u.id').onRef('t.client_id', '=', 'u.client_id'))
    .select(['u.id', 'u.external_id', 'u.name', 'u.metadata', 'u.is_active', 't.id as template_id', 't.model_id', 't.ciphertext'])
    .where('u.client_id', '=', clientId);
  q = UUID.test(idOrExternal)
    ? q.where((eb) => eb.or([eb('u.id', '=', idOrExternal), eb('u.external_id', '=', idOrExternal)]))
    : q.where('u.external_id', '=', idOrExternal);
  const rows = await q.execute();
  // As findFaceUser: a uuid-shaped external_id of one user could equal another user's id; the id wins.
  const first = rows.find((r) => r.id === idOrExternal) ?? rows[0];
  if (!first) return undefined;
  const mine = rows.filter((r) => r.id === first.id);
  const user = { id: first.id, external_id: first.external_id, name: first.name, metadata: first.metadata, is_active: first.is_active } as FaceUser;
  const templates = mine.flatMap((r) => (r.template_id && r.model_id && r.ciphertext ? [{ id: r.template_id, client_id: clientId, user_id: first.id, model_id: r.model_id, ciphertext: r.ciphertext }] : []));
  return { user, templates };
}

export async function findFaceUsersByIds(db: Db, clientId: string, ids: string[]): Promise<FaceUser[]> {
  if (!ids.length) return [];
  return (await db.selectFrom('users').select(USER_COLUMNS).where('client_id', '=', clientId).where('id', 'in', ids).execute()) as FaceUser[];
}

/** A user's templates with their metadata, for the portability export (decrypted by the caller). */
/** A user's opted-in enrollment photos with their seals, oldest first (the export keeps those that open). */
export async function loadUserPhotosForExport(db: Db, clientId: string, userId: string) {
  return db
    .selectFrom('face_photos')
    .select(['id', 'client_id', 'user_id', 'enrollment_id', 'content_type', 'created_at', 'ciphertext'])
    .where('client_id', '=', clientId)
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

export async function loadUserTemplatesForExport(db: Db, clientId: string, userId: string) {
  return db
    .selectFrom('face_templates')
    .select(['id', 'client_id', 'user_id', 'enrollment_id', 'model_id', 'dim', 'angle', 'quality', 'created_at', 'ciphertext'])
    .where('client_id', '=', clientId)
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .execute();
}
