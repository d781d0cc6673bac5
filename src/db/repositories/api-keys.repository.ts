import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import type { ClientRow } from './clients.repository.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface ApiKeyRow {
  id: string;
  client_id: string;
  key: string;
  secret_hash: string;
  name: string | null;
  ip_allowlist: string[];
  expires_at: Date | null;
  revoked_at: Date | null;
  replaced_by: string | null;
  last_used_at: Date | null;
  created_at: Date;
}

/** What authentication needs in one round trip: the key and its tenant. */
export interface CredentialRow {
  key: ApiKeyRow;
  client: Pick<ClientRow, 'id' | 'name' | 'tier' | 'max_users' | 'calls_per_hour' | 'ip_allowlist' | 'settings' | 'is_active'>;
}

const KEY_COLUMNS = [
  'api_keys.id',
  'api_keys.client_id',
  'api_keys.key',
  'api_keys.secret_hash',
  'api_keys.name',
  'api_keys.ip_allowlist',
  'api_keys.expires_at',
  'api_keys.revoked_at',
  'api_keys.replaced_by',
  'api_keys.last_used_at',
  'api_keys.created_at',
] as const;

export class ApiKeysRepository {
  private readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.db = db;
  }

  async insert(
    row: { id: string; client_id: string; key: string; secret_hash: string; name: string | null; ip_allowlist: string[]; expires_at: Date | null },
    trx: Db = this.db,
  ): Promise<ApiKeyRow> {
    return (await trx
      .insertInto('api_keys')
      .values({ ...row, ip_allowlist: JSON.stringify(row.ip_allowlist) })
      .returning(KEY_COLUMNS)
      .executeTakeFirstOrThrow()) as ApiKeyRow;
  }

  /** Key and client by the public key string (authentication). */
  async findCredential(key: string): Promise<CredentialRow | undefined> {
    return this.#credential('api_keys.key', key);
  }

  /** Key and client by the key's row id (an open stream re-checking the key it was opened with). */
  async findCredentialById(id: string): Promise<CredentialRow | undefined> {
    return this.#credential('api_keys.id', id);
  }

  async #credential(column: 'api_keys.key' | 'api_keys.id', value: string): Promise<CredentialRow | undefined> {
    const row = await this.db
      .selectFrom('api_keys')
      .innerJoin('clients', 'clients.id', 'api_keys.client_id')
      .select(KEY_COLUMNS)
      .select([
        'clients.name as c_name',
        'clients.tier as c_tier',
        'clients.max_users as c_max_users',
        'clients.calls_per_hour as c_calls_per_hour',
        'clients.ip_allowlist as c_ip_allowlist',
        'clients.settings as c_settings',
        'clients.is_active as c_is_active',
      ])
      .where(column, '=', value)
      .executeTakeFirst();
    if (!row) return undefined;
    const { c_name, c_tier, c_max_users, c_calls_per_hour, c_ip_allowlist, c_settings, c_is_active, ...key_ } = row;
    return {
      key: key_ as ApiKeyRow,
      client: {
        id: key_.client_id,
        name: c_name,
        tier: c_tier,
        max_users: c_max_users,
        calls_per_hour: c_calls_per_hour,
        ip_allowlist: c_ip_allowlist,
        settings: c_settings,
        is_active: c_is_active,
      },
    };
  }

  /** With `lock` (inside a transaction that changes the key): the row locked (FOR UPDATE) until it ends. */
  async findByKey(key: string, trx: Db = this.db, opts: { lock?: boolean } = {}): Promise<ApiKeyRow | undefined> {
    const q = trx.selectFrom('api_keys').select(KEY_COLUMNS).where('key', '=', key);
    return (await (opts.lock ? q.forUpdate() : q).executeTakeFirst()) as ApiKeyRow | undefined;
  }

  async listForClient(clientId: string): Promise<ApiKeyRow[]> {
    return (await this.db
      .selectFrom('api_keys')
      .select(KEY_COLUMNS)
      .where('client_id', '=', clientId)
      .orderBy('created_at', 'asc')
      .orderBy('id', 'asc')
      .execute()) as ApiKeyRow[];
  }

  async revoke(id: string, at: Date, trx: Db = this.db): Promise<ApiKeyRow | undefined> {
    return (await trx
      .updateTable('api_keys')
      .set({ revoked_at: sql<Date>`coalesce(revoked_at, ${at})` })
      .where('id', '=', id)
      .returning(KEY_COLUMNS)
      .executeTakeFirst()) as ApiKeyRow | undefined;
  }

  /** Marks a key as replaced; it keeps working until `expiresAt` (the grace period). */
  async markReplaced(id: string, replacedBy: string, expiresAt: Date, trx: Db = this.db): Promise<ApiKeyRow | undefined> {
    return (await trx
      .updateTable('api_keys')
      .set({
        replaced_by: replacedBy,
        expires_at: sql<Date>`least(coalesce(expires_at, ${expiresAt}), ${expiresAt})`,
      })
      .where('id', '=', id)
      .returning(KEY_COLUMNS)
      .executeTakeFirst()) as ApiKeyRow | undefined;
  }

  async updateAllowlist(id: string, ipAllowlist: string[], name: string | null | undefined, trx: Db = this.db): Promise<ApiKeyRow | undefined> {
    return (await trx
      .updateTable('api_keys')
      .set({ ip_allowlist: JSON.stringify(ipAllowlist), ...(name !== undefined ? { name } : {}) })
      .where('id', '=', id)
      .returning(KEY_COLUMNS)
      .executeTakeFirst()) as ApiKeyRow | undefined;
  }

  async touchLastUsed(ids: string[], at: Date): Promise<void> {
    if (!ids.length) return;
    await this.db.updateTable('api_keys').set({ last_used_at: at }).where('id', 'in', ids).execute();
  }
}
