import type { DB } from '../db/database.ts';
import { photoAad, TemplateCipher, TemplateDecryptError, templateAad } from '../crypto/template-cipher.ts';
import { appError } from '../errors.ts';
import type { SealKeyWatch } from '../db/seal-key-watch.ts';
import { upgradeSealingAad } from './master-key-rotation.service.ts';
import { IndexRegistry, type LoadedTemplate } from '../search/index-registry.ts';
import { IndexSync } from '../search/index-sync.ts';
import { connectPubSub, openPubSub, type PubSub } from '../search/pubsub.ts';
import {
  findFaceUsersByIds,
  loadSearchableTemplatesById,
  loadTenantTemplatesPage,
  loadUserTemplates,
  listTenantTemplateIds,
  type FaceUser,
  type NewTemplate,
  type StoredPhoto,
  type StoredTemplate,
} from '../db/repositories/templates.repository.ts';

/** Where a sealed value failed to open: logged once per row, counted (TemplateVault.integrityFailures). */
export interface IntegrityLog {
  warn(msg: string): void;
}

/** At most this many row ids are remembered as already warned about (the warning is once per row). */
const WARNED_MAX = 10_000;

/** Whether another process seals with a master key this one lacks (PostgreSQL only). */
type KeyWatch = Pick<SealKeyWatch, 'outdated' | 'check'>;

/**
 * Encryption of everything biometric the face flows persist: templates (AAD templateAad: tenant, owning
 * user, template id and model, crypto/template-cipher.ts), review photos (reviewPhotoAad), opted-in
 * enrollment photos (photoAad: tenant, user, enrollment, photo id) and the short-lived per-session vectors (AAD `${clientId}:session:${sessionId}:${label}`), so the database never
 * holds a plaintext embedding, and a row moved to another user (user_id rewritten) or given another row's
 * ciphertext does not open.
 *
 * A template that does not open is an integrity failure (a row moved or altered by someone with database
 * access but without the master key, or sealed under a key this server lacks): it is logged as a warning
 * once per row, counted, and left out of the comparison (openUserTemplates); a user none of whose templates
 * opens gets NOT_ENROLLED, never another user's match and never a 500.
 *
 * @example const blob = vault.sealTemplate(clientId, userId, templateId, modelId, embedding);
 */
export class TemplateVault {
  readonly cipher: TemplateCipher;
  #log: IntegrityLog | null;
  readonly #warned = new Set<string>();
  #integrityFailures = 0;
  #keyWatch: KeyWatch | null = null;
  /** Tenants with a template that did not open (what their search gallery may lack). */
  readonly #failedTenants = new Set<string>();

  constructor(cipher: TemplateCipher, log?: IntegrityLog) {
    this.cipher = cipher;
    this.#log = log ?? null;
  }

  /** Sets the logger integrity warnings go to, when none was given to the constructor. */
  attachLog(log: IntegrityLog): void {
    this.#log ??= log;
  }

  /**
   * The master-key watch: while another process seals with a key this one lacks, a template that does not
   * open is taken for one sealed there (not for tampering) and what needs it is refused with
   * MASTER_KEY_OUTDATED instead of being answered from the templates that do open.
   */
  attachKeyWatch(watch: KeyWatch | null | undefined): void {
    this.#keyWatch = watch ?? null;
  }

  /**
   * MASTER_KEY_OUTDATED when a newer master key is in use elsewhere and one of this tenant's templates did not
   * open here: its search gallery may lack the people enrolled on a restarted server (a wrong "no match").
   */
  refuseIfOutdated(clientId: string): void {
    if (this.#keyWatch?.outdated && this.#failedTenants.has(clientId)) throw outdated();
  }

  /** Sealed values that failed to open since this process started (each failed open counts). */
  get integrityFailures(): number {
    return this.#integrityFailures;
  }

  sealTemplate(clientId: string, userId: string, templateId: string, modelId: string, vec: Float32Array): Buffer {
    return this.cipher.encrypt(vec, templateAad(clientId, userId, templateId, modelId));
  }

  /** Rows for insertTemplates: each face's embedding sealed under its template id and owner. */
  templateRows(
    owner: { clientId: string; userId: string; enrollmentId: string; modelId: string },
    templates: ReadonlyArray<{ id: string; face: { embedding: Float32Array; angle: string; quality: number } }>,
  ): NewTemplate[] {
    return templates.map(({ id, face }) => ({
      id,
      ...owner,
      dim: face.embedding.length,
      ciphertext: this.sealTemplate(owner.clientId, owner.userId, id, owner.modelId, face.embedding),
      angle: face.angle,
      quality: face.quality,
    }));
  }

  /**
   * One template, or NOT_ENROLLED (a coded 422, logged and counted as an integrity failure) when it does not
   * open under its row's tenant, user, id and model. Comparisons over a user's templates use openUserTemplates,
   * which leaves such a template out instead.
   */
  openTemplate(row: StoredTemplate): Float32Array {
    const vec = this.tryOpenTemplate(row);
    if (!vec) throw this.#keyWatch?.outdated ? outdated() : notOpened(1);
    return vec;
  }

  /** One template, or null (logged once, counted) when it fails its integrity check. */
  tryOpenTemplate(row: StoredTemplate): Float32Array | null {
    try {
      return this.cipher.decrypt(Buffer.from(row.ciphertext), templateAad(row.client_id, row.user_id, row.id, row.model_id));
    } catch (e) {
      if (!(e instanceof TemplateDecryptError)) throw e;
      this.#failedTenants.add(row.client_id);
      // Sealed by a server with a newer master key (the watch has logged it), not tampered with.
      if (this.#keyWatch?.outdated) return null;
      this.integrityFailure('template', row.id, `user ${row.user_id}, client ${row.client_id}`, e);
      // A server restarted with a new key may have sealed it since the watch last looked: look now.
      void this.#keyWatch?.check().catch(() => {});
      return null;
    }
  }

  /**
   * The templates of `rows` that open (each failing one left out, logged once and counted); NOT_ENROLLED when
   * there are rows and none of them opens, so a user whose data was tampered with gets a clear refusal.
   */
  openUserTemplates(rows: readonly StoredTemplate[]): Float32Array[] {
    const out = rows.flatMap((r) => this.tryOpenTemplate(r) ?? []);
    // Not a comparison over part of the user's templates while some may be sealed under a newer key.
    if (out.length < rows.length && this.#keyWatch?.outdated) throw outdated();
    if (rows.length && !out.length) throw notOpened(rows.length);
    return out;
  }

  /** Logs (once per row) and counts a sealed value that did not open. */
  integrityFailure(kind: string, id: string, owner: string, e: Error): void {
    this.#integrityFailures++;
    const key = `${kind}:${id}`;
    if (this.#warned.has(key)) return;
    if (this.#warned.size >= WARNED_MAX) this.#warned.clear();
    this.#warned.add(key);
    (this.#log ?? console).warn(
      `sealed-data integrity: ${kind} ${id} (${owner}) does not open under its own row (${e.message}): moved between rows or users, altered, or sealed under another key; it is left out. Re-enroll the user (docs/operations-keys.md).`,
    );
  }

  /** Seals a vector (or raw bytes such as a face thumbnail) into a base64 string for session state. */
  sealSession(clientId: string, sessionId: string, label: string, data: Float32Array | Uint8Array): string {
    const vec = data instanceof Float32Array ? data : bytesAsFloats(data);
    return this.cipher.encrypt(vec, `${clientId}:session:${sessionId}:${label}`).toString('base64');
  }

  openSessionVector(clientId: string, sessionId: string, label: string, sealed: string): Float32Array {
    return this.cipher.decrypt(Buffer.from(sealed, 'base64'), `${clientId}:session:${sessionId}:${label}`);
  }

  openSessionBytes(clientId: string, sessionId: string, label: string, sealed: string): Uint8Array {
    const f = this.openSessionVector(clientId, sessionId, label, sealed);
    return new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
  }

  /**
   * Opt-in photo storage (client.settings.store_photos): the image bytes, encrypted like a template and bound
   * to their tenant, owning user, enrollment and photo id (photoAad).
   */
  sealPhoto(owner: { clientId: string; userId: string; enrollmentId: string }, photoId: string, bytes: Uint8Array): Buffer {
    return this.sealBytes(bytes, photoAad(owner.clientId, owner.userId, owner.enrollmentId, photoId));
  }

  /**
   * A stored enrollment photo's bytes (padded with zeros to a multiple of 4: the row keeps no length), or null
   * when it does not open under its own row (moved to another user or enrollment, copied, altered): logged once
   * per row and counted like a template, so a reader leaves it out instead of serving someone else's face.
   */
  tryOpenPhoto(row: StoredPhoto): Buffer | null {
    try {
      const f = this.cipher.decrypt(Buffer.from(row.ciphertext), photoAad(row.client_id, row.user_id, row.enrollment_id, row.id));
      return Buffer.from(f.buffer, f.byteOffset, f.byteLength);
    } catch (e) {
      if (!(e instanceof TemplateDecryptError)) throw e;
      this.integrityFailure('photo', row.id, `user ${row.user_id}, enrollment ${row.enrollment_id}, client ${row.client_id}`, e);
      return null;
    }
  }

  /** The photo re-sealed for `toUserId` (a CompreFace subject merge moves it), or null when it does not open now. */
  resealPhotoFor(row: StoredPhoto, toUserId: string): Buffer | null {
    const padded = this.tryOpenPhoto(row);
    if (!padded) return null;
    return this.cipher.encrypt(new Float32Array(padded.buffer, padded.byteOffset, padded.byteLength / 4), photoAad(row.client_id, toUserId, row.enrollment_id, row.id));
  }

  /** Raw bytes (an image) sealed under `aad`; opening needs the original length (sealing pads to 4). */
  sealBytes(bytes: Uint8Array, aad: string): Buffer {
    return this.cipher.encrypt(bytesAsFloats(bytes), aad);
  }

  openBytes(sealed: Uint8Array, aad: string, byteLength: number): Buffer {
    const f = this.cipher.decrypt(Buffer.from(sealed), aad);
    return Buffer.from(f.buffer, f.byteOffset, byteLength);
  }
}

/** The coded refusal when none of a user's `count` templates opens (each was logged as an integrity failure). */
function outdated() {
  return appError(
    'MASTER_KEY_OUTDATED',
    'A face template was sealed by a server with a newer master key, which this server does not hold yet (an online master-key rotation is under way): retry, a server restarted with the new key answers',
    undefined,
    { 'retry-after': '5' },
  );
}

function notOpened(count: number) {
  return appError('NOT_ENROLLED', `None of the user's ${count} stored face template(s) passes its integrity check (moved or altered in the database): re-enroll the user with replace=true`, {
    reason: 'template_integrity',
    templates: count,
  });
}

/** Pads bytes to a multiple of 4 and views them as floats (the cipher encrypts the raw bytes). */
function bytesAsFloats(bytes: Uint8Array): Float32Array {
  const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4);
  padded.set(bytes);
  return new Float32Array(padded.buffer);
}

export interface GalleryHit {
  userId: string;
  /** Best cosine over the user's templates. */
  cosine: number;
}

/** The widest search for active hits (searchActive): past it, identification answers from the active users among these. */
const MAX_SEARCH_WIDTH = 10_000;

/**
 * The 1:N search of every tenant, on the search layer (src/search): an IndexRegistry of TenantIndex
 * galleries (best template per user; exact below its ANN threshold, usearch HNSW above), loaded
 * lazily per (client, model) from the decrypted templates, updated on each enrollment/deletion, and
 * kept in step across server processes by IndexSync change notices (Redis pub/sub when REDIS_URL is
 * set; ids only: a receiver fetches and decrypts the row itself, so no vector travels over Redis).
 *
 * @example await gallery.search(clientId, modelId, probe, 5, 0.4) // → [{ userId, cosine }]
 */
export class FaceGallery {
  readonly registry: IndexRegistry;
  readonly sync: IndexSync;
  readonly #pubsub: PubSub;

  private readonly deps: { db: DB; vault: TemplateVault; redisUrl: string | null; log: { warn(m: string): void; error(m: string): void } };
  constructor(deps: { db: DB; vault: TemplateVault; redisUrl: string | null; log: { warn(m: string): void; error(m: string): void } }) {
    this.deps = deps;
    deps.vault.attachLog(deps.log);
    this.registry = new IndexRegistry({
      loader: (clientId, modelId) => this.#stream(clientId, modelId),
      list: (clientId, modelId) => this.#list(clientId, modelId),
      fetch: async (clientId, modelId, ids) => (await loadSearchableTemplatesById(deps.db, clientId, ids)).flatMap((row) => (row.model_id === modelId ? this.#open(row) : [])),
      tenant: { onError: (e) => deps.log.warn(`search index build failed: ${String(e)}`) },
    });
    this.#pubsub = openPubSub(deps.redisUrl);
    this.sync = new IndexSync({
      registry: this.registry,
      pubsub: this.#pubsub,
      fetchTemplate: async (clientId, templateId) => {
        const [row] = await loadSearchableTemplatesById(deps.db, clientId, [templateId]);
        const vec = row ? deps.vault.tryOpenTemplate(row) : null;
        // A row that does not open (integrity failure, logged by the vault) is not searchable: as if gone.
        return row && vec ? { userId: row.user_id, modelId: row.model_id, vec } : null;
      },
      resyncIntervalMs: 5 * 60_000,
      log: { warn: (m) => deps.log.warn(m), error: (e, m) => deps.log.error(`${m ?? 'search index'}: ${String(e)}`) },
    });
  }

  /**
   * First the one-time upgrade of stored templates, review photos and enrollment photos to the AAD bound to
   * their user (upgradeSealingAad: a no-op once done), so nothing is served from, or indexed out of, a row in the old form.
   */
  async start(): Promise<void> {
    await upgradeSealingAad(this.deps.db, this.deps.vault.cipher, this.deps.log);
    if (await connectPubSub(this.#pubsub, this.deps.log, 'search index notices reach other instances')) return this.sync.start();
    // Started anyway (status reports redis offline): the subscription is queued until ioredis reconnects,
    // and the periodic resync repairs what other instances changed meanwhile.
    void this.sync.start().catch((err: unknown) => this.deps.log.error(`index sync: ${String(err)}`));
  }

  async close(): Promise<void> {
    await this.sync.close();
    await this.#pubsub.close();
    this.registry.clear();
  }

  async search(clientId: string, modelId: string, probe: Float32Array, k: number, minCosine: number): Promise<GalleryHit[]> {
    const hits = await this.registry.search(clientId, modelId, probe, k, minCosine);
    // After the search: a first search loads the gallery, and a template left out of it then is known.
    this.deps.vault.refuseIfOutdated(clientId);
    return hits.map((m) => ({ userId: m.userId, cosine: m.score }));
  }

  /**
   * Distinct enrolled active users of the tenant for this model: the gallery size for the identification
   * floor. The index holds active users only (a deactivated user cannot be returned, so is no chance for a
   * stranger to match; counting them raised the floor above genuine matches).
   */
  async size(clientId: string, modelId: string): Promise<number> {
    return (await this.registry.get(clientId, modelId)).users;
  }

  /**
   * Call after the enrollment transaction committed. The owners are read again after the templates went
   * in: one deleted or deactivated meanwhile (its listener may have run before this) leaves the index again.
   */
  async added(clientId: string, modelId: string, items: Array<{ templateId: string; userId: string; vec: Float32Array }>): Promise<void> {
    if (!items.length) return;
    for (const it of items) await this.sync.upsert(clientId, modelId, it.templateId, it.userId, it.vec);
    await this.#dropUnsearchable(clientId, [...new Set(items.map((it) => it.userId))]);
  }

  /**
   * Call after a user's activation or deactivation committed: a deactivated user leaves every process's
   * index; a reactivated one comes back with every template (each process re-reads them from a notice).
   */
  async userActiveChanged(clientId: string, userId: string, isActive: boolean): Promise<void> {
    if (!isActive) return this.sync.removeUser(clientId, userId);
    for (const row of await loadUserTemplates(this.deps.db, clientId, userId)) {
      for (const t of this.#open(row)) await this.sync.upsert(clientId, row.model_id, t.templateId, t.userId, t.vec);
    }
    await this.#dropUnsearchable(clientId, [userId]);
  }

  /** Removes those of `userIds` that no longer exist or are not active (a change that raced the caller's). */
  async #dropUnsearchable(clientId: string, userIds: string[]): Promise<void> {
    const found = new Map((await findFaceUsersByIds(this.deps.db, clientId, userIds)).map((u) => [u.id, u]));
    for (const id of userIds) if (!found.get(id)?.is_active) await this.sync.removeUser(clientId, id);
  }

  async removed(clientId: string, templateIds: string[]): Promise<void> {
    for (const id of templateIds) await this.sync.removeTemplate(clientId, id);
  }

  async userRemoved(clientId: string, userId: string): Promise<void> {
    await this.sync.removeUser(clientId, userId);
  }

  /** Pages through the tenant's templates (keyset on id) and decrypts them: the registry's loader. */
  async *#stream(clientId: string, modelId: string): AsyncIterable<LoadedTemplate> {
    let after: string | null = null;
    for (;;) {
      const rows = await loadTenantTemplatesPage(this.deps.db, clientId, modelId, after, 2000);
      for (const row of rows) yield* this.#open(row);
      if (rows.length < 2000) return;
      after = rows[rows.length - 1].id;
    }
  }

  /** The tenant's template ids and owners (keyset pages, nothing decrypted): what a resync compares. */
  async *#list(clientId: string, modelId: string): AsyncIterable<{ templateId: string; userId: string }> {
    let after: string | null = null;
    for (;;) {
      const rows = await listTenantTemplateIds(this.deps.db, clientId, modelId, after, 10_000);
      for (const row of rows) yield { templateId: row.id, userId: row.user_id };
      if (rows.length < 10_000) return;
      after = rows[rows.length - 1].id;
    }
  }

  /** One stored template decrypted, or none when it fails its integrity check (the vault logs and counts it). */
  #open(row: StoredTemplate): LoadedTemplate[] {
    const vec = this.deps.vault.tryOpenTemplate(row);
    return vec ? [{ templateId: row.id, userId: row.user_id, vec }] : [];
  }

  /**
   * The best hits whose users exist and are active, at least `want` of them when the index has them.
   * The index holds active users only, but it learns of a deletion or deactivation after its commit (and
   * another process through a notice that can be lost until the next resync): the database has the last
   * word here, and the search widens until enough active ones are found (a fixed few extra let eleven
   * deactivated look-alikes hide the active match). `loadUsers` lets a stream reuse its reads.
   */
  async searchActive(
    clientId: string,
    modelId: string,
    probe: Float32Array,
    want: number,
    minCosine: number,
    loadUsers: (hits: GalleryHit[]) => Promise<Map<string, FaceUser>> = (hits) => this.usersOf(clientId, hits),
  ) {
    for (let k = want + 10; ; k *= 4) {
      const hits = await this.search(clientId, modelId, probe, k, minCosine);
      const active = this.activeOf(hits, await loadUsers(hits));
      if (active.length >= want || hits.length < k || k >= MAX_SEARCH_WIDTH) return active;
    }
  }

  /** The rows of a hit list's users, by id (a user missing here no longer exists). */
  async usersOf(clientId: string, hits: GalleryHit[]): Promise<Map<string, FaceUser>> {
    const users = await findFaceUsersByIds(this.deps.db, clientId, hits.map((h) => h.userId));
    const byId = new Map(users.map((u) => [u.id, u]));
    // A user deleted without a notice reaching us (e.g. by another tool): drop it here. (Not one found
    // deactivated: that read may predate a reactivation whose templates went back in meanwhile; resync
    // takes a deactivated user out.)
    for (const h of hits) if (!byId.has(h.userId)) this.registry.removeUser(clientId, h.userId);
    return byId;
  }

  /** The hits whose users exist and are active, each with its user (`users` from usersOf). */
  activeOf(hits: GalleryHit[], users: Map<string, FaceUser>) {
    return hits.flatMap((h) => {
      const u = users.get(h.userId);
      return u && u.is_active ? [{ ...h, user: u }] : [];
    });
  }
}
