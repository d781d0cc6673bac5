import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { DB } from '../db/database.ts';
import {
  consumePayload,
  deleteExpiredPayloads,
  destroyPayload,
  findPayload,
  findSsoClient,
  revokePayloadsByGrant,
  deleteUnsealedPayloads,
  upsertPayload,
} from '../db/repositories/sso.repository.ts';
import type { OidcStorage } from './oidc-storage.ts';
import type { SecretBox } from './secret-box.ts';

/** Relying-party metadata as the provider reads it, from a registered `sso_clients` row. */
export async function loadClientMetadata(db: DB, box: SecretBox, clientId: string): Promise<AdapterPayload | undefined> {
  const row = await findSsoClient(db, clientId);
  if (!row || !row.tenant_active) return undefined;
  const secret = row.secret_ciphertext ? box.open(row.secret_ciphertext, `sso-client:${row.id}`).toString('utf8') : undefined;
  return {
    client_id: row.id,
    ...(secret ? { client_secret: secret } : {}),
    client_name: row.name,
    redirect_uris: row.redirect_uris,
    post_logout_redirect_uris: row.post_logout_redirect_uris,
    token_endpoint_auth_method: row.token_endpoint_auth_method,
    // A native app's redirect URI (com.example.app:/callback) is valid only for a native client: as a web
    // client the provider refused the application's metadata, and no sign-in of it could start.
    application_type: row.redirect_uris.some((u) => !/^https?:/i.test(u)) ? 'native' : 'web',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
  } as AdapterPayload;
}

/**
 * oidc-provider storage in our database (table `oidc_payloads`), so that codes, sessions,
 * interactions and tokens created on one instance are found on every other. Clients are not stored
 * here: they come from the tenants' registrations (`sso_clients`).
 *
 * Nothing usable is stored (docs/sso.md, "At rest"): a row's id, uid, user code and grant id are keyed
 * hashes of the provider's values (an access token's id is the token, a session's the cookie value, an
 * authorization code's the code, an interaction's the uid in the sign-in page's URL and cookies), and its
 * payload is sealed.
 *
 * @example new Provider(issuer, { adapter: (name) => new KyselyOidcAdapter(name, db, box, storage) })
 */
export class KyselyOidcAdapter implements Adapter {
  static #lastSweep = 0;

  private readonly model: string;
  private readonly db: DB;
  private readonly box: SecretBox;
  private readonly storage: OidcStorage;
  constructor(
    model: string,
    db: DB,
    box: SecretBox,
    storage: OidcStorage,
  ) {
    this.model = model; this.db = db; this.box = box; this.storage = storage;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    if (this.model === 'Client') return;
    const expiresAt = expiresIn ? new Date(Date.now() + expiresIn * 1000) : null;
    const storedId = this.storage.lookup(id);
    const hashed = (v: unknown) => (typeof v === 'string' ? this.storage.lookup(v) : null);
    await upsertPayload(this.db, {
      model: this.model,
      id: storedId,
      payload: this.storage.seal(this.model, storedId, payload as Record<string, unknown>),
      grant_id: hashed(payload.grantId),
      user_code: hashed(payload.userCode),
      uid: hashed(payload.uid),
      expires_at: expiresAt,
    });
    await this.#sweep();
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (this.model === 'Client') return loadClientMetadata(this.db, this.box, id);
    return this.#read(await findPayload(this.db, this.model, 'id', this.storage.lookup(id)));
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.#read(await findPayload(this.db, this.model, 'user_code', this.storage.lookup(userCode)));
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.#read(await findPayload(this.db, this.model, 'uid', this.storage.lookup(uid)));
  }

  /**
   * Single use, atomically: the provider checks `consumed` on the copy it read, so two token requests
   * with one code (or one refresh token) that arrive together both passed and both got tokens. The
   * second consume now fails, and, as for a replayed code (RFC 6749 4.1.2), the grant's tokens are revoked.
   */
  async consume(id: string): Promise<void> {
    const result = await consumePayload(this.db, this.model, this.storage.lookup(id));
    if (result.consumed) return;
    if (result.grantId) {
      // Stored hashed, as the Grant's own id is.
      await revokePayloadsByGrant(this.db, result.grantId);
      await destroyPayload(this.db, 'Grant', result.grantId);
    }
    throw new errors.InvalidGrant(`${this.model === 'RefreshToken' ? 'refresh token' : 'authorization code'} already consumed`);
  }

  async destroy(id: string): Promise<void> {
    await destroyPayload(this.db, this.model, this.storage.lookup(id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await revokePayloadsByGrant(this.db, this.storage.lookup(grantId));
  }

  #read(row: { id: string; payload: unknown; consumed_at: Date | null } | undefined): AdapterPayload | undefined {
    if (!row) return undefined;
    const payload = this.storage.open(this.model, row.id, row.payload) as AdapterPayload | undefined;
    if (!payload) return undefined;
    // The provider detects a replayed authorization code by this mark.
    return row.consumed_at ? { ...payload, consumed: Math.floor(row.consumed_at.getTime() / 1000) } : payload;
  }

  /** Expired rows (and rows an earlier version stored in the clear) are deleted at most once a minute per process, on a write. */
  async #sweep(): Promise<void> {
    const now = Date.now();
    if (now - KyselyOidcAdapter.#lastSweep < 60_000) return;
    KyselyOidcAdapter.#lastSweep = now;
    await deleteExpiredPayloads(this.db, new Date(now));
    await deleteUnsealedPayloads(this.db);
  }
}
