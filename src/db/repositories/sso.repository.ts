import { sql, type ColumnType, type Insertable, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T> = ColumnType<T, string, string>;

/** Tables of migration 0007-sso, with 0018-sso-storage's `sso_logins.decoy` (kept here, next to their only queries). */
export type SsoTables = {
  sso_clients: {
    id: string;
    client_id: string;
    name: string;
    redirect_uris: Json<string[]>;
    post_logout_redirect_uris: Json<string[]>;
    token_endpoint_auth_method: string;
    secret_ciphertext: Buffer | null;
    liveness_challenges: Json<string[]>;
    max_attempts: ColumnType<number, number | undefined, number>;
    created_at: ColumnType<Date, undefined, never>;
  };
  oidc_payloads: {
    model: string;
    id: string;
    payload: Json<Record<string, unknown>>;
    grant_id: string | null;
    user_code: string | null;
    uid: string | null;
    expires_at: Timestamp | null;
    consumed_at: Timestamp | null;
  };
  sso_keys: { kind: string; id: string; ciphertext: Buffer; created_at: ColumnType<Date, undefined, never> };
  sso_logins: {
    uid: string;
    client_id: string;
    sso_client_id: string;
    user_id: string | null;
    session_id: string | null;
    session_token_ciphertext: Buffer | null;
    sessions_started: ColumnType<number, number | undefined, number>;
    /** The running face session is a decoy (a login_hint naming nobody who can sign in; migration 0018). */
    decoy: ColumnType<boolean, boolean | undefined, boolean>;
    status: ColumnType<'active' | 'succeeded' | 'denied', 'active' | 'succeeded' | 'denied' | undefined>;
    expires_at: Timestamp;
    created_at: ColumnType<Date, undefined, never>;
  };
};

type Db = Kysely<Database> | Transaction<Database>;
const t = (db: Db) => db.withTables<SsoTables>();

export type SsoClientRow = Awaited<ReturnType<typeof findSsoClient>> & object;

const CLIENT_COLUMNS = ['id', 'client_id', 'name', 'redirect_uris', 'post_logout_redirect_uris', 'token_endpoint_auth_method', 'secret_ciphertext', 'liveness_challenges', 'max_attempts', 'created_at'] as const;

export async function insertSsoClient(db: Db, row: Insertable<SsoTables['sso_clients']>) {
  await t(db).insertInto('sso_clients').values(row).execute();
}

/** A relying party by its OAuth client_id, with its tenant (the provider's client lookup). */
export async function findSsoClient(db: Db, id: string) {
  return t(db)
    .selectFrom('sso_clients')
    .innerJoin('clients', 'clients.id', 'sso_clients.client_id')
    .select(CLIENT_COLUMNS.map((c) => `sso_clients.${c}` as const))
    .select('clients.is_active as tenant_active')
    .where('sso_clients.id', '=', id)
    .executeTakeFirst();
}

export async function listSsoClients(db: Db, clientId: string, limit: number, offset: number) {
  const rows = await t(db)
    .selectFrom('sso_clients')
    .select(CLIENT_COLUMNS)
    .where('client_id', '=', clientId)
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .limit(limit)
    .offset(offset)
    .execute();
  const { count } = await t(db).selectFrom('sso_clients').select((eb) => eb.fn.countAll<number>().as('count')).where('client_id', '=', clientId).executeTakeFirstOrThrow();
  return { rows, count: Number(count) };
}

export async function findTenantSsoClient(db: Db, clientId: string, id: string) {
  return t(db).selectFrom('sso_clients').select(CLIENT_COLUMNS).where('client_id', '=', clientId).where('id', '=', id).executeTakeFirst();
}

export async function deleteSsoClient(db: Db, clientId: string, id: string): Promise<boolean> {
  const rows = await t(db).deleteFrom('sso_clients').where('client_id', '=', clientId).where('id', '=', id).returning('id').execute();
  return rows.length > 0;
}

// --- provider state (oidc-provider adapter) ---

/**
 * Stores one provider model instance. The caller (sso/oidc-adapter.ts) passes the stored forms: keyed
 * hashes for `id`, `grant_id`, `user_code`, `uid`, and the sealed payload.
 */
export async function upsertPayload(db: Db, row: { model: string; id: string; payload: Record<string, unknown>; grant_id: string | null; user_code: string | null; uid: string | null; expires_at: Date | null }) {
  const values = { ...row, payload: JSON.stringify(row.payload) };
  await t(db)
    .insertInto('oidc_payloads')
    .values(values)
    .onConflict((oc) => oc.columns(['model', 'id']).doUpdateSet({ payload: values.payload, grant_id: values.grant_id, user_code: values.user_code, uid: values.uid, expires_at: values.expires_at, consumed_at: null }))
    .execute();
}

/** An unexpired stored instance, looked up by id, uid or user code. */
export async function findPayload(db: Db, model: string, by: 'id' | 'uid' | 'user_code', value: string) {
  return t(db)
    .selectFrom('oidc_payloads')
    .select(['id', 'payload', 'consumed_at'])
    .where('model', '=', model)
    .where(by, '=', value)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', new Date())]))
    .executeTakeFirst();
}

/**
 * Marks an instance consumed, once: true for the call that consumed it; false when it was already
 * consumed (or is gone), with the grant it belongs to.
 */
export async function consumePayload(db: Db, model: string, id: string): Promise<{ consumed: true } | { consumed: false; grantId: string | null }> {
  const row = await t(db)
    .updateTable('oidc_payloads')
    .set({ consumed_at: new Date() })
    .where('model', '=', model)
    .where('id', '=', id)
    .where('consumed_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  if (row) return { consumed: true };
  const found = await t(db).selectFrom('oidc_payloads').select('grant_id').where('model', '=', model).where('id', '=', id).executeTakeFirst();
  return { consumed: false, grantId: found?.grant_id ?? null };
}

export async function destroyPayload(db: Db, model: string, id: string) {
  await t(db).deleteFrom('oidc_payloads').where('model', '=', model).where('id', '=', id).execute();
}

export async function revokePayloadsByGrant(db: Db, grantId: string) {
  await t(db).deleteFrom('oidc_payloads').where('grant_id', '=', grantId).execute();
}

export async function deleteExpiredPayloads(db: Db, now: Date) {
  await t(db).deleteFrom('oidc_payloads').where('expires_at', '<', now).execute();
  await t(db).deleteFrom('sso_logins').where('expires_at', '<', now).execute();
}

/**
 * Rows stored in the clear by a version before payloads were sealed (their ids are the bearer values
 * themselves); unreadable now, so the sign-ins they held end (docs/sso.md, "At rest"). Returns how many.
 * Run once a minute per instance: the partial index oidc_payloads_unsealed_idx (migration 0018) holds only
 * such rows, so it reads no live row (the predicate must stay the index's).
 */
export async function deleteUnsealedPayloads(db: Db): Promise<number> {
  const result = await t(db).deleteFrom('oidc_payloads').where(sql<boolean>`payload->>'sealed' IS NULL`).executeTakeFirst();
  return Number(result.numDeletedRows);
}

// --- keys ---

export async function findSsoKey(db: Db, kind: string, id: string) {
  return t(db).selectFrom('sso_keys').select(['ciphertext']).where('kind', '=', kind).where('id', '=', id).executeTakeFirst();
}

/** Inserts the key unless another instance did first (the caller re-reads). */
export async function insertSsoKeyIfAbsent(db: Db, kind: string, id: string, ciphertext: Buffer) {
  await t(db).insertInto('sso_keys').values({ kind, id, ciphertext }).onConflict((oc) => oc.columns(['kind', 'id']).doNothing()).execute();
}

/**
 * The signing keys (kind `signing`), oldest first, each with its age in seconds by the database's clock: every
 * instance and the CLI date the key schedule (sso/signing-keys.ts) by one clock, whatever their own say.
 */
export async function listSigningKeyAges(db: Db) {
  const rows = await t(db)
    .selectFrom('sso_keys')
    .select(['id', sql<number>`extract(epoch from (now() - created_at))::float8`.as('age')])
    .where('kind', '=', 'signing')
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ id: r.id, age: Number(r.age) }));
}

/** The sealed signing keys of these ids. */
export async function findSigningKeys(db: Db, ids: readonly string[]) {
  if (!ids.length) return [];
  return t(db).selectFrom('sso_keys').select(['id', 'ciphertext']).where('kind', '=', 'signing').where('id', 'in', ids).execute();
}

/** Deletes signing keys past their grace period (idempotent: any instance may do it). */
export async function deleteSigningKeys(db: Db, ids: readonly string[]): Promise<number> {
  if (!ids.length) return 0;
  const result = await t(db).deleteFrom('sso_keys').where('kind', '=', 'signing').where('id', 'in', ids).executeTakeFirst();
  return Number(result.numDeletedRows);
}

// --- face logins attached to interactions ---

export type SsoLoginRow = NonNullable<Awaited<ReturnType<typeof findSsoLogin>>>;

export async function insertSsoLoginIfAbsent(db: Db, row: { uid: string; client_id: string; sso_client_id: string; user_id: string | null; expires_at: Date }) {
  await t(db).insertInto('sso_logins').values(row).onConflict((oc) => oc.column('uid').doNothing()).execute();
}

export async function findSsoLogin(db: Db, uid: string) {
  return t(db)
    .selectFrom('sso_logins')
    .select(['uid', 'client_id', 'sso_client_id', 'user_id', 'session_id', 'session_token_ciphertext', 'sessions_started', 'decoy', 'status', 'expires_at'])
    .where('uid', '=', uid)
    .executeTakeFirst();
}

/** Locks the login row (one frame at a time decides the interaction's outcome). */
export async function lockSsoLogin(trx: Transaction<Database>, uid: string) {
  return t(trx)
    .selectFrom('sso_logins')
    .select(['uid', 'client_id', 'sso_client_id', 'user_id', 'session_id', 'session_token_ciphertext', 'sessions_started', 'decoy', 'status', 'expires_at'])
    .where('uid', '=', uid)
    .forUpdate()
    .executeTakeFirst();
}

export async function updateSsoLogin(db: Db, uid: string, set: { session_id?: string | null; session_token_ciphertext?: Buffer | null; sessions_started?: number; decoy?: boolean; status?: 'active' | 'succeeded' | 'denied' }) {
  await t(db).updateTable('sso_logins').set(set).where('uid', '=', uid).execute();
}

/**
 * The user a relying party may log in: same tenant, by uuid. `sso_not_before` (migration 0015): the time of
 * the user's last deactivation or reactivation, before which nothing the provider issued is honoured.
 */
export async function findSsoAccount(db: Db, clientId: string, userId: string) {
  return db
    .withTables<{ users: { sso_not_before: Date | null } }>()
    .selectFrom('users')
    .select(['id', 'external_id', 'name', 'email', 'is_active', 'sso_not_before'])
    .where('client_id', '=', clientId)
    .where('id', '=', userId)
    .executeTakeFirst();
}

/** The tenant as the face services see it (for sessions created on a relying party's behalf). */
export async function findTenantContext(db: Db, clientId: string) {
  return db.selectFrom('clients').select(['id', 'name', 'tier', 'settings', 'is_active']).where('id', '=', clientId).executeTakeFirst();
}

/** Marks an authentication attempt as made through SSO (auth_attempts.method, migration 0006). */
export async function markSsoAttempt(db: Db, clientId: string, attemptId: string): Promise<void> {
  await db.withTables<{ auth_attempts: { method: string } }>().updateTable('auth_attempts').set({ method: 'sso' }).where('client_id', '=', clientId).where('id', '=', attemptId).execute();
}

/** Takes one face-session attempt of an active login, atomically; null when none is left. */
export async function reserveSsoAttempt(db: Db, uid: string, maxAttempts: number): Promise<number | null> {
  const row = await t(db)
    .updateTable('sso_logins')
    .set((eb) => ({ sessions_started: eb('sessions_started', '+', 1), session_id: null, session_token_ciphertext: null }))
    .where('uid', '=', uid)
    .where('status', '=', 'active')
    .where('sessions_started', '<', maxAttempts)
    .returning('sessions_started')
    .executeTakeFirst();
  return row ? row.sessions_started : null;
}

/** Detaches the ended face session from its login, unless another request already did. */
export async function releaseSsoSession(db: Db, uid: string, sessionId: string): Promise<boolean> {
  const rows = await t(db)
    .updateTable('sso_logins')
    .set({ session_id: null, session_token_ciphertext: null })
    .where('uid', '=', uid)
    .where('status', '=', 'active')
    .where('session_id', '=', sessionId)
    .returning('uid')
    .execute();
  return rows.length > 0;
}
