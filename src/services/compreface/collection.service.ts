import type { ClientContext } from '../../api/request-context.ts';
import { imageContentType } from '../../vision/decode/sniff.ts';
import type { DB } from '../../db/database.ts';
import {
  deleteExamples,
  findExample,
  findExamplePhotos,
  listExamples,
  listSubjectNames,
  moveExamples,
} from '../../db/repositories/compreface.repository.ts';
import { findFaceUserByExternalId, type StoredPhoto, type StoredTemplate } from '../../db/repositories/templates.repository.ts';
import { appError } from '../../errors.ts';
import type { FaceEngine } from '../../vision/types.ts';
import type { AuditService } from '../audit.service.ts';
import type { EnrollmentService } from '../enrollment.service.ts';
import type { FaceGallery, TemplateVault } from '../templates.service.ts';
import type { UserActor, UsersService } from '../users.service.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface CollectionDeps {
  db: DB;
  users: UsersService;
  enrollment: EnrollmentService;
  gallery: FaceGallery;
  vault: TemplateVault;
  engine: FaceEngine | null;
  audit: AuditService;
}

/**
 * CompreFace's face collection on Wajah's model: a subject is a user of the tenant named by its
 * external_id (created with name = subject), an example (`image_id`) is an enrollment of one image.
 * Adding an example is Wajah's direct enrollment (quality gate, same-person check, encrypted template,
 * enrollment.completed webhook); deleting subjects is Wajah's user deletion (audit, search index).
 *
 * @example await collection.addExample(client, { subject: 'obama', image: bytes }, actor) // → { image_id, subject }
 */
export class CompreFaceCollection {
  private readonly d: CollectionDeps;
  constructor(d: CollectionDeps) {
    this.d = d;
  }

  async addSubject(client: ClientContext, subject: string, by: UserActor) {
    await this.d.users.create(client.id, { external_id: subject, name: subject }, by);
    return { subject };
  }

  async listSubjects(client: ClientContext) {
    return { subjects: await listSubjectNames(this.d.db, client.id) };
  }

  /**
   * Renames a subject; when the new name is taken, merges as CompreFace does: the examples move to
   * the existing subject and the old one is deleted.
   */
  async renameSubject(client: ClientContext, from: string, to: string, by: UserActor) {
    const source = await this.#subject(client.id, from);
    if (from === to) return { updated: true };
    const target = await findFaceUserByExternalId(this.d.db, client.id, to);
    if (!target) {
      const name = source.name === source.external_id ? to : undefined;
      await this.d.users.update(client.id, source.id, { external_id: to, ...(name ? { name } : {}) }, by);
      return { updated: true };
    }
    const reseal = (row: StoredTemplate, toUserId: string) => this.d.vault.sealTemplate(row.client_id, toUserId, row.id, row.model_id, this.d.vault.openTemplate(row));
    const resealPhoto = (row: StoredPhoto, toUserId: string) => this.d.vault.resealPhotoFor(row, toUserId);
    const moved = await this.d.db.transaction().execute((trx) => moveExamples(trx, client.id, source.id, target.id, reseal, resealPhoto));
    // The index learns the move as soon as it is committed, before the emptied subject is deleted: a delete
    // that fails (the request answers 500, a rename again finishes it) must not leave the index naming it.
    const byModel = new Map<string, Array<{ templateId: string; userId: string; vec: Float32Array }>>();
    for (const t of moved) {
      const list = byModel.get(t.model_id) ?? [];
      list.push({ templateId: t.id, userId: target.id, vec: this.d.vault.openTemplate(t) });
      byModel.set(t.model_id, list);
    }
    for (const [modelId, items] of byModel) await this.d.gallery.added(client.id, modelId, items);
    await this.d.users.delete(client.id, source.id, by);
    return { updated: true };
  }

  async deleteSubject(client: ClientContext, subject: string, by: UserActor) {
    const user = await this.#subject(client.id, subject);
    await this.d.users.delete(client.id, user.id, by);
    return { subject: user.external_id };
  }

  /** Every user of the tenant and their face data, one by one through the users service (audit, index). */
  async deleteAllSubjects(client: ClientContext, by: UserActor) {
    let deleted = 0;
    for (const name of await listSubjectNames(this.d.db, client.id)) {
      const user = await findFaceUserByExternalId(this.d.db, client.id, name);
      if (!user) continue;
      await this.d.users.delete(client.id, user.id, by);
      deleted++;
    }
    return { deleted };
  }

  /**
   * One example from one image. A missing subject is created with it, in the transaction that stores the
   * example: a refused image leaves no subject and no user.created event (creating the subject first and
   * deleting it on refusal left the event, announcing a user who never came to be). `detProbThreshold`:
   * the face must be detected with at least this probability.
   */
  async addExample(client: ClientContext, input: { subject: string; image: Uint8Array; detProbThreshold?: number }, by: UserActor) {
    if (input.detProbThreshold !== undefined) await this.#assertDetected(input.image, input.detProbThreshold);
    // A subject is an external id, never looked up as a uuid (every subject lookup here): one that happened
    // to be another user's uuid found that user, the example went to them, and a refused image deleted them.
    const existing = await findFaceUserByExternalId(this.d.db, client.id, input.subject);
    const saved = existing
      ? await this.d.enrollment.direct(client, { user_id: existing.id, image: input.image })
      : await this.d.enrollment.directNewUser(client, { image: input.image }, (trx) => this.d.users.create(client.id, { external_id: input.subject, name: input.subject }, by, trx));
    return { image_id: saved.enrollment_id, subject: input.subject };
  }

  async listExamples(client: ClientContext, q: { page: number; size: number; subject?: string }) {
    let userId: string | undefined;
    if (q.subject) {
      const user = await findFaceUserByExternalId(this.d.db, client.id, q.subject);
      if (!user) return page([], 0, q.page, q.size);
      userId = user.id;
    }
    const { total, rows } = await listExamples(this.d.db, client.id, { userId, limit: q.size, offset: q.page * q.size });
    return page(rows, total, q.page, q.size);
  }

  /** The examples of one subject, or with no subject every example of the tenant. */
  async deleteExamples(client: ClientContext, subject: string | undefined) {
    let userId: string | undefined;
    if (subject) {
      const user = await findFaceUserByExternalId(this.d.db, client.id, subject);
      if (!user) return { deleted: 0 };
      userId = user.id;
    }
    const { count, templateIds } = await this.d.db.transaction().execute((trx) => deleteExamples(trx, client.id, userId));
    await this.d.gallery.removed(client.id, templateIds);
    return { deleted: count };
  }

  async deleteExample(client: ClientContext, imageId: string) {
    const example = await this.#example(client.id, imageId);
    await this.d.enrollment.remove(client, example.image_id);
    return { image_id: example.image_id, subject: example.subject };
  }

  /** Deletes the examples that exist among `imageIds` (others are ignored, as CompreFace does). */
  async deleteMany(client: ClientContext, imageIds: string[]) {
    const deleted: Array<{ image_id: string; subject: string }> = [];
    for (const id of new Set(imageIds)) {
      if (!UUID.test(id)) continue;
      const example = await findExample(this.d.db, client.id, id);
      if (!example) continue;
      await this.d.enrollment.remove(client, id);
      deleted.push({ image_id: example.image_id, subject: example.subject });
    }
    return { deleted };
  }

  /**
   * The stored image of an example (only when the client opts in to `settings.store_photos`). Face data:
   * every download is written to the audit log (data_access, the subject's user as target) before the bytes
   * are sent, as a review photo is (docs/foundation.md S2). Only a photo of the example's own user that opens
   * under its row (photoAad: tenant, user, example, photo) is served; one moved in from another user or example
   * is left out (an integrity warning), and with none left the image is not stored (404, CompreFace code 11).
   */
  async exampleImage(client: ClientContext, imageId: string, by: UserActor = {}): Promise<{ bytes: Buffer; contentType: string }> {
    const example = await this.#example(client.id, imageId);
    const stored = await findExamplePhotos(this.d.db, client.id, example.image_id, example.user_id);
    if (!stored.length) throw appError('EXAMPLE_IMAGE_NOT_STORED');
    let opened: { id: string; padded: Buffer } | null = null;
    for (const row of stored) {
      const padded = this.d.vault.tryOpenPhoto(row);
      if (padded) {
        opened = { id: row.id, padded };
        break;
      }
    }
    if (!opened) {
      throw appError('EXAMPLE_IMAGE_NOT_STORED', 'The image of this example does not pass its integrity check (moved or altered in the database)', { reason: 'photo_integrity' });
    }
    // In a transaction: written now, not buffered (a buffered entry could be lost after the bytes left).
    await this.d.db.transaction().execute((trx) =>
      this.d.audit.record(
        {
          clientId: client.id,
          category: 'data_access',
          action: 'compreface.photo_viewed',
          actor: by.apiKeyId ? `key:${by.apiKeyId}` : null,
          target: example.user_id,
          ip: by.ip ?? null,
          details: { image_id: example.image_id, photo_id: opened.id },
        },
        trx,
      ),
    );
    const bytes = trimPadding(opened.padded);
    // Served as what the bytes are (also rows stored with an uploader's declared type before this rule).
    return { bytes, contentType: imageContentType(bytes) };
  }

  async #subject(clientId: string, subject: string) {
    const user = await findFaceUserByExternalId(this.d.db, clientId, subject);
    if (!user) throw appError('USER_NOT_FOUND', `Subject ${subject} not found`);
    return user;
  }

  async #example(clientId: string, imageId: string) {
    const example = UUID.test(imageId) ? await findExample(this.d.db, clientId, imageId) : undefined;
    if (!example) throw appError('ENROLLMENT_NOT_FOUND', `Image with ID ${imageId} not found`);
    return example;
  }

  async #assertDetected(image: Uint8Array, threshold: number): Promise<void> {
    if (!this.d.engine) throw appError('SERVICE_UNAVAILABLE', 'The face engine is not running on this server');
    const result = await this.d.engine.analyze(image, { multiple: 'all', embed: false });
    if (!result.faces.some((f) => f.score >= threshold)) {
      throw appError('NO_FACE_DETECTED', `No face is found in the given image with a detection probability of at least ${threshold}`);
    }
  }
}

function page<T>(faces: T[], total: number, pageNumber: number, size: number) {
  return { faces, page_number: pageNumber, page_size: size, total_pages: Math.ceil(total / size), total_elements: total };
}

/**
 * Sealing pads an image to a multiple of 4 bytes with zeros; the stored row has no length, so the
 * padding is cut by the format's own end: the RIFF size for WebP, else trailing zeros (a JPEG ends with
 * FFD9, a PNG with the IEND CRC, neither with a zero byte).
 */
export function trimPadding(b: Buffer): Buffer {
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF') return b.subarray(0, Math.min(b.length, 8 + b.readUInt32LE(4)));
  let end = b.length;
  while (end > 0 && b.length - end < 3 && b[end - 1] === 0) end--;
  return b.subarray(0, end);
}

