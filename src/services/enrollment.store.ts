/**
 * Writing an enrollment: the same-person check against the user's templates, the enrollment row, its
 * sealed templates and opt-in photos, and enrollment.completed, in the caller's transaction; then the
 * new templates reach the 1:N index (after the commit). Shared by sessions, direct and batch enrollment.
 */
import crypto from 'node:crypto';
import type { Transaction } from 'kysely';
import type { ClientContext } from '../api/request-context.ts';
import type { Database } from '../db/schema.ts';
import type { PoseBucket } from '../vision/types.ts';
import { appError } from '../errors.ts';
import { recordEvent } from './events.ts';
import { round, type FaceDeps, type FaceLocation } from './face.ts';
import { SAME_PERSON_CONFIDENCE } from './enrollment.capture.ts';
import { deleteUserEnrollments, insertEnrollment } from '../db/repositories/enrollments.repository.ts';
import { insertPhoto, insertTemplates, loadUserTemplates, lockFaceUser, type FaceUser } from '../db/repositories/templates.repository.ts';

export /** A face to enroll, already analysed and accepted. */
interface AcceptedFace {
  embedding: Float32Array;
  modelId: string;
  quality: number;
  confidence: number;
  angle: PoseBucket;
  photo?: { bytes: Uint8Array; contentType: string };
  /** Where the face is in its picture (direct enrollment answers with it; session frames do not keep it). */
  location?: FaceLocation;
}

/** Writes enrollment + encrypted templates (+ opt-in photos) + enrollment.completed in one transaction. */
export async function storeEnrollment(
d: FaceDeps,
  trx: Transaction<Database>,
  client: ClientContext,
  user: FaceUser,
  faces: AcceptedFace[],
  how: { source: string; sessionId: string | null; replace?: boolean },
) {
  const modelId = faces[0].modelId;
  if (faces.some((f) => f.modelId !== modelId)) throw appError('MODEL_MISMATCH');
  // The new faces are one person among themselves (a batch groups a user's images into one call: with no
  // templates to compare with, two people's photos were both stored, and both then verified as the user).
  assertOnePerson(d, faces, modelId, user.external_id);
  // One enrollment write per user at a time: two completed at once would each find no templates (or the
  // same old ones) and store two people's faces in one account.
  const current = await lockFaceUser(trx, client.id, user.id);
  if (!current) throw appError('USER_NOT_FOUND', `No user ${user.external_id}`);
  if (!current.is_active) throw appError('USER_INACTIVE');
  // The new faces must be the person already enrolled (best match over the user's templates of this
  // model, the same-person rule of sessions); `replace` starts the user's face data over instead.
  let replaced: string[] = [];
  if (how.replace) replaced = await deleteUserEnrollments(trx, client.id, user.id);
  else await assertEnrolledPerson(d, trx, client.id, user, modelId, faces, `The face does not match ${user.external_id}'s enrolled face; pass replace=true to enroll this face instead`);
  const enrollmentId = crypto.randomUUID();
  const quality = faces.reduce((s, f) => s + f.quality, 0) / faces.length;
  const confidence = faces.reduce((s, f) => s + f.confidence, 0) / faces.length;
  const angles = [...new Set(faces.map((f) => f.angle))];
  const createdAt = await insertEnrollment(trx, {
    id: enrollmentId,
    clientId: client.id,
    userId: user.id,
    sessionId: how.sessionId,
    source: how.source,
    modelId,
    qualityScore: quality,
    faceCount: faces.length,
    averageConfidence: confidence,
    angles,
  });
  const templates = faces.map((f) => ({ id: crypto.randomUUID(), face: f }));
  await insertTemplates(trx, d.vault.templateRows({ clientId: client.id, userId: user.id, enrollmentId, modelId }, templates));
  for (const f of faces) {
    if (!f.photo) continue;
    const photoId = crypto.randomUUID();
    await insertPhoto(trx, {
      id: photoId,
      clientId: client.id,
      userId: user.id,
      enrollmentId,
      contentType: f.photo.contentType,
      ciphertext: d.vault.sealPhoto({ clientId: client.id, userId: user.id, enrollmentId }, photoId, f.photo.bytes),
    });
  }
  await recordEvent(trx, client.id, 'enrollment.completed', {
    enrollment_id: enrollmentId,
    user_id: user.external_id,
    user_name: user.name,
    quality_score: round(quality),
    angles_captured: angles.length,
    enrollment_date: createdAt.toISOString(),
  });
  return {
    modelId,
    replaced,
    index: templates.map(({ id, face }) => ({ templateId: id, userId: user.id, vec: face.embedding })),
    response: {
      status: 'completed' as const,
      enrollment_id: enrollmentId,
      user_id: user.external_id,
      quality_metrics: {
        overall_quality: round(quality),
        face_count: faces.length,
        average_confidence: round(confidence),
        angles_captured: angles,
      },
      created_at: createdAt.toISOString(),
    },
  };
}

export async function publishTemplates(d: FaceDeps, clientId: string, saved: { modelId: string; replaced: string[]; index: Array<{ templateId: string; userId: string; vec: Float32Array }> }) {
  if (saved.replaced.length) await d.gallery.removed(clientId, saved.replaced);
  await d.gallery.added(clientId, saved.modelId, saved.index);
}

/**
 * The faces are one person: starting from the first, every face must reach it through same-person matches
 * (the rule of session frames, the best match over the faces already accepted), whatever their order.
 */
function assertOnePerson(d: FaceDeps, faces: AcceptedFace[], modelId: string, externalId: string) {
  const reached = [faces[0].embedding];
  let rest = faces.slice(1);
  while (rest.length) {
    const joined = rest.filter((f) => d.calibration.confidence(bestMatch(reached, f.embedding), modelId) >= SAME_PERSON_CONFIDENCE);
    if (!joined.length) break;
    reached.push(...joined.map((f) => f.embedding));
    rest = rest.filter((f) => !joined.includes(f));
  }
  if (!rest.length) return;
  const confidence = Math.max(...rest.map((f) => d.calibration.confidence(bestMatch(reached, f.embedding), modelId)));
  throw appError('FACE_MISMATCH', `The faces given for ${externalId} are not all the same person; enroll one person's faces at a time`, { confidence: round(confidence) });
}

/** The best dot product of `vec` over `refs` (-1 when none is comparable). */
/**
 * FACE_MISMATCH (with `mismatch` as its message) unless every face is the person the user's templates of
 * `modelId` show (best match, the same-person rule of sessions); a user without such templates passes.
 */
export async function assertEnrolledPerson(
  d: Pick<FaceDeps, 'vault' | 'calibration'>,
  trx: Transaction<Database>,
  clientId: string,
  user: Pick<FaceUser, 'id'>,
  modelId: string,
  faces: Array<{ embedding: Float32Array }>,
  mismatch: string,
): Promise<void> {
  // A template that fails its integrity check is left out (logged and counted by the vault); none opening: NOT_ENROLLED.
  const existing = d.vault.openUserTemplates((await loadUserTemplates(trx, clientId, user.id)).filter((t) => t.model_id === modelId));
  if (!existing.length) return;
  for (const f of faces) {
    const confidence = d.calibration.confidence(bestMatch(existing, f.embedding), modelId);
    if (confidence < SAME_PERSON_CONFIDENCE) throw appError('FACE_MISMATCH', mismatch, { confidence: round(confidence) });
  }
}

function bestMatch(refs: Float32Array[], vec: Float32Array): number {
  let best = -1;
  for (const ref of refs) if (ref.length === vec.length) best = Math.max(best, dot(ref, vec));
  return best;
}

/** Dot product (cosine of two L2-normalised embeddings). */
export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
