import crypto from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { ClientsRepository } from '../db/repositories/clients.repository.ts';
import type { UserRow, UsersRepository, UserWithCount } from '../db/repositories/users.repository.ts';
import { endSessionsHolding, lockSessionsOfUser } from '../db/repositories/sessions.repository.ts';
import { appError } from '../errors.ts';
import { recordEvent } from './events.ts';
import type { AuditService } from './audit.service.ts';
import { limitsFor } from './tiers.ts';
import { pageOf, type Page } from './paging.ts';

/** The metadata cap (docs/errors.md "Input rules"): every list and webhook carries it. */
export const MAX_METADATA_BYTES = 16 * 1024;

function assertMetadataFits(metadata: Record<string, unknown> | undefined): void {
  if (metadata === undefined) return;
  const bytes = Buffer.byteLength(JSON.stringify(metadata));
  if (bytes > MAX_METADATA_BYTES) {
    throw appError('METADATA_TOO_LARGE', `metadata is ${bytes} bytes as JSON; the limit is ${MAX_METADATA_BYTES}`, { field: 'metadata', bytes, max_bytes: MAX_METADATA_BYTES });
  }
}

/** A user as the API returns it (guide: "Membuat User Baru"). */
export interface UserView {
  id: string;
  external_id: string;
  name: string;
  email: string | null;
  metadata: Record<string, unknown>;
  is_active: boolean;
  created_at: string;
  updated_at: string;
  enrollments_count: number;
  last_authentication: string | null;
}

export interface CreateUserInput {
  external_id: string;
  name: string;
  email?: string | null;
  metadata?: Record<string, unknown>;
}

/** PUT body: the fields given are replaced (metadata as a whole); absent fields are kept. */
export interface UpdateUserInput {
  external_id?: string;
  name?: string;
  email?: string | null;
  metadata?: Record<string, unknown>;
  is_active?: boolean;
}

/** GET .../export/: the guide's portability; contributors may add or replace sections. */
export interface UserExportData {
  format: string;
  exported_at: string;
  user: UserView;
  enrollments: unknown[];
  face_templates: unknown[];
  face_photos: unknown[];
  authentication_attempts: unknown[];
  events: unknown[];
  audit_logs: unknown[];
  [section: string]: unknown;
}

export interface ListUsersQuery {
  page: number;
  page_size: number;
  search?: string;
  is_active?: boolean;
  has_enrollment?: boolean;
}

/** Who acts on a user: the API key of the request (audit actor `key:<id>`), and from where. */
export interface UserActor {
  apiKeyId?: string | null;
  ip?: string | null;
}

export interface UserRef {
  clientId: string;
  /** users.id (uuid) */
  userId: string;
  externalId: string;
}

/** Called after a user is deleted (committed): drop them from search indexes and caches. */
export type UserDeletedListener = (ref: UserRef) => void | Promise<void>;
/** Called after activation or deactivation (committed). */
export type UserActiveListener = (ref: UserRef & { isActive: boolean }) => void | Promise<void>;
/** Adds sections to a user's export, e.g. `{ face_templates: [...decrypted embeddings] }`. Its keys replace the defaults. */
export type ExportContributor = (ref: UserRef) => Promise<Record<string, unknown>>;

/**
 * Users of a tenant (U1–U4). Every method takes the client id and every query is scoped by it, so
 * another tenant's user answers USER_NOT_FOUND exactly like a missing one. `ref` is the uuid or the
 * external_id. user.created / user.updated are written to the outbox in the same transaction.
 *
 * @example const user = await users.getByRef(request.client!.id, 'EMP001')
 */
export class UsersService {
  #deleted: UserDeletedListener[] = [];
  #active: UserActiveListener[] = [];
  #contributors = new Map<string, ExportContributor>();

  private readonly db: Kysely<Database>;
  private readonly users: UsersRepository;
  private readonly clients: ClientsRepository;
  private readonly audit: AuditService;
  private readonly log: { warn(msg: string): void; error(msg: string): void };
  constructor(
    db: Kysely<Database>,
    users: UsersRepository,
    clients: ClientsRepository,
    audit: AuditService,
    log: { warn(msg: string): void; error(msg: string): void },
  ) {
    this.db = db; this.users = users; this.clients = clients; this.audit = audit; this.log = log;
  }

  // ---- hooks for the face layer ----

  onUserDeleted(listener: UserDeletedListener): () => void {
    this.#deleted.push(listener);
    return () => void (this.#deleted = this.#deleted.filter((l) => l !== listener));
  }

  onUserActiveChanged(listener: UserActiveListener): () => void {
    this.#active.push(listener);
    return () => void (this.#active = this.#active.filter((l) => l !== listener));
  }

  /** Registers (or replaces, by name) a section provider for exports. */
  setExportContributor(name: string, contributor: ExportContributor): void {
    this.#contributors.set(name, contributor);
  }

  // ---- lookups (no HTTP shape) ----

  async findByRef(clientId: string, ref: string, trx?: Transaction<Database>): Promise<UserWithCount | null> {
    return (await this.users.findByRef(clientId, ref, trx)) ?? null;
  }

  /** Throws USER_NOT_FOUND. */
  async getByRef(clientId: string, ref: string, trx?: Transaction<Database>, opts: { lock?: boolean } = {}): Promise<UserWithCount> {
    const user = await this.users.findByRef(clientId, ref, trx, opts);
    if (!user) throw appError('USER_NOT_FOUND');
    return user;
  }

  findManyByIds(clientId: string, ids: string[]): Promise<UserRow[]> {
    return this.users.findManyByIds(clientId, ids);
  }

  touchLastAuthentication(clientId: string, userId: string, at = new Date(), trx?: Transaction<Database>): Promise<void> {
    return this.users.touchLastAuthentication(clientId, userId, at, trx);
  }

  // ---- API operations ----

  /**
   * `trx`: create the user inside the caller's transaction, so that the user and its user.created event
   * exist only if the rest of that transaction commits (a CompreFace example that creates its subject).
   */
  async create(clientId: string, input: CreateUserInput, by: UserActor = {}, trx?: Transaction<Database>): Promise<UserView> {
    assertMetadataFits(input.metadata);
    try {
      const insert = async (tx: Transaction<Database>) => {
        // Lock the tenant row: concurrent creations are counted one after another.
        const client = await this.clients.lockForUpdate(tx, clientId);
        if (!client) throw appError('USER_NOT_FOUND');
        const { maxUsers } = limitsFor(client);
        if (maxUsers !== null && (await this.clients.countUsers(clientId, tx)) >= maxUsers) {
          throw appError('USER_LIMIT_EXCEEDED', `The ${client.tier} tier allows ${maxUsers} users`, { max_users: maxUsers });
        }
        if (await this.users.existsExternalId(clientId, input.external_id, tx)) throw appError('USER_EXISTS');
        const user = await this.users.insert(
          {
            id: crypto.randomUUID(),
            client_id: clientId,
            external_id: input.external_id,
            name: input.name,
            email: input.email ?? null,
            metadata: input.metadata ?? {},
          },
          tx,
        );
        await recordEvent(tx, clientId, 'user.created', {
          user_id: user.external_id,
          id: user.id,
          name: user.name,
          email: user.email,
          metadata: user.metadata,
          created_at: user.created_at.toISOString(),
        });
        return user;
      };
      const row = trx ? await insert(trx) : await this.db.transaction().execute(insert);
      void by;
      return userView({ ...row, enrollments_count: 0 });
    } catch (e) {
      if ((e as { code?: string }).code === '23505') throw appError('USER_EXISTS');
      throw e;
    }
  }

  async list(clientId: string, q: ListUsersQuery): Promise<Page<UserView>> {
    const { total, rows } = await this.users.list(
      clientId,
      { search: q.search?.trim() || undefined, isActive: q.is_active, hasEnrollment: q.has_enrollment },
      q.page_size,
      (q.page - 1) * q.page_size,
    );
    return pageOf(rows.map(userView), total, q.page, q.page_size);
  }

  async get(clientId: string, ref: string): Promise<UserView> {
    return userView(await this.getByRef(clientId, ref));
  }

  async update(clientId: string, ref: string, input: UpdateUserInput, by: UserActor = {}): Promise<UserView> {
    const result = await this.#change(clientId, ref, input, by);
    if (result.changes.includes('is_active')) await this.#activeChanged(clientId, result.view, by);
    return result.view;
  }

  /** Deactivated users cannot authenticate; their data is kept. Idempotent. */
  async setActive(clientId: string, ref: string, isActive: boolean, by: UserActor = {}): Promise<UserView> {
    return this.update(clientId, ref, { is_active: isActive }, by);
  }

  async #activeChanged(clientId: string, view: UserView, by: UserActor): Promise<void> {
    void this.audit.record({
      clientId,
      category: 'data_access',
      action: view.is_active ? 'user.activated' : 'user.deactivated',
      actor: actorOf(by),
      target: view.id,
      ip: by.ip ?? null,
    });
    await this.#notify(this.#active, { clientId, userId: view.id, externalId: view.external_id, isActive: view.is_active });
  }

  async #change(clientId: string, ref: string, input: UpdateUserInput, _by: UserActor): Promise<{ view: UserView; changes: string[] }> {
    assertMetadataFits(input.metadata);
    try {
      return await this.db.transaction().execute(async (trx) => {
        // Locked: the same change sent twice at once (deactivate to two instances) each saw the old value and
        // each wrote a user.updated event and an audit entry; now the second sees no change.
        const before = await this.getByRef(clientId, ref, trx, { lock: true });
        const changes = (Object.keys(input) as Array<keyof UpdateUserInput>).filter(
          (k) => input[k] !== undefined && canonicalJson(input[k]) !== canonicalJson(before[k]),
        );
        if (!changes.length) return { view: userView(before), changes };
        if (input.external_id !== undefined && changes.includes('external_id') && (await this.users.existsExternalId(clientId, input.external_id, trx, before.id))) {
          throw appError('USER_EXISTS');
        }
        const patch = Object.fromEntries(changes.map((k) => [k, input[k]]));
        const after = await this.users.update(clientId, before.id, patch, trx);
        if (!after) throw appError('USER_NOT_FOUND');
        await recordEvent(trx, clientId, 'user.updated', {
          user_id: after.external_id,
          id: after.id,
          name: after.name,
          email: after.email,
          metadata: after.metadata,
          is_active: after.is_active,
          updated_at: after.updated_at.toISOString(),
          changes,
        });
        return { view: userView({ ...after, enrollments_count: before.enrollments_count }), changes };
      });
    } catch (e) {
      if ((e as { code?: string }).code === '23505') throw appError('USER_EXISTS');
      throw e;
    }
  }

  /** Right to deletion: the user and all face data (enrollments, templates, photos, sessions cascade). */
  async delete(clientId: string, ref: string, by: UserActor = {}): Promise<void> {
    const user = await this.db.transaction().execute(async (trx) => {
      const u = await this.getByRef(clientId, ref, trx);
      // Sessions first, then the user's row: the order session requests take (no deadlock with them).
      await lockSessionsOfUser(trx, clientId, u.id);
      await this.users.delete(clientId, u.id, trx);
      const sessionsEnded = await endSessionsHolding(trx, clientId, u.id);
      const redacted = await this.users.redactEvents(clientId, u.id, trx);
      await this.audit.record(
        {
          clientId,
          category: 'data_access',
          action: 'user.deleted',
          actor: actorOf(by),
          target: u.id,
          ip: by.ip ?? null,
          details: { external_id: u.external_id, enrollments_deleted: u.enrollments_count, events_redacted: redacted, sessions_ended: sessionsEnded },
        },
        trx,
      );
      return u;
    });
    await this.#notify(this.#deleted, { clientId, userId: user.id, externalId: user.external_id });
  }

  /** Portability: everything held on the user, machine-readable. */
  async export(clientId: string, ref: string, by: UserActor = {}): Promise<UserExportData> {
    const user = await this.getByRef(clientId, ref);
    const [enrollments, templates, photos, attempts, events, audit] = await Promise.all([
      this.users.exportEnrollments(clientId, user.id),
      this.users.exportTemplateInfo(clientId, user.id),
      this.users.exportPhotoInfo(clientId, user.id),
      this.users.exportAuthAttempts(clientId, user.id),
      this.users.exportEvents(clientId, user.id),
      this.audit.listForTarget(clientId, user.id),
    ]);
    const out: UserExportData = {
      format: 'wajah.user-export.v1',
      exported_at: new Date().toISOString(),
      user: userView(user),
      enrollments,
      // Without the face layer's contributor: template metadata only (embeddings stay encrypted).
      face_templates: templates,
      // Metadata only; the face layer's contributor keeps the photos whose seal opens as this user's (photoAad).
      face_photos: photos,
      authentication_attempts: attempts,
      events,
      audit_logs: audit.map(({ client_id: _c, ...rest }) => rest),
    };
    const ref_ = { clientId, userId: user.id, externalId: user.external_id };
    for (const [name, contributor] of this.#contributors) {
      try {
        Object.assign(out, await contributor(ref_));
      } catch (e) {
        this.log.error(`user export: contributor ${name} failed: ${(e as Error).message}`);
        throw e;
      }
    }
    // The export carries face data (the decrypted embeddings): its access is written to the audit log before the
    // data leaves, in its own transaction, as a review photo's is (S2). Queued, the entry was lost when the process
    // stopped within the flush interval, and a failed write did not stop the export.
    await this.db.transaction().execute((trx) =>
      this.audit.record({ clientId, category: 'data_access', action: 'user.exported', actor: actorOf(by), target: user.id, ip: by.ip ?? null }, trx),
    );
    return JSON.parse(JSON.stringify(out)) as UserExportData;
  }

  async #notify<T>(listeners: Array<(v: T) => void | Promise<void>>, value: T): Promise<void> {
    for (const l of listeners) {
      try {
        await l(value);
      } catch (e) {
        this.log.error(`user listener failed: ${(e as Error).message}`);
      }
    }
  }
}

/**
 * JSON text with object keys sorted: PostgreSQL's jsonb keeps metadata keys shorter-first, so the stored
 * metadata and the same object as a client sends it differ in order, never in value.
 */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

function actorOf(by: UserActor): string | null {
  return by.apiKeyId ? `key:${by.apiKeyId}` : null;
}

export function userView(u: UserWithCount): UserView {
  return {
    id: u.id,
    external_id: u.external_id,
    name: u.name,
    email: u.email,
    metadata: u.metadata,
    is_active: u.is_active,
    created_at: u.created_at.toISOString(),
    updated_at: u.updated_at.toISOString(),
    enrollments_count: u.enrollments_count,
    last_authentication: u.last_authentication?.toISOString() ?? null,
  };
}
