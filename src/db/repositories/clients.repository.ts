import { sql, type Kysely, type Transaction } from 'kysely';
import type { ClientSettings, Database, Tier } from '../schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface ClientRow {
  id: string;
  name: string;
  tier: Tier;
  max_users: number | null;
  calls_per_hour: number | null;
  ip_allowlist: string[];
  settings: ClientSettings;
  is_active: boolean;
  created_at: Date;
  updated_at: Date;
}

export interface NewClient {
  id: string;
  name: string;
  tier: Tier;
  max_users: number | null;
  calls_per_hour: number | null;
  ip_allowlist: string[];
  settings: ClientSettings;
}

export type ClientPatch = Partial<Omit<NewClient, 'id'> & { is_active: boolean }>;

const PATCHABLE: ReadonlySet<string> = new Set(['name', 'tier', 'max_users', 'calls_per_hour', 'ip_allowlist', 'settings', 'is_active'] satisfies Array<keyof ClientPatch>);

const COLUMNS = ['id', 'name', 'tier', 'max_users', 'calls_per_hour', 'ip_allowlist', 'settings', 'is_active', 'created_at', 'updated_at'] as const;

/** Tenants. Operator-level queries (not tenant-scoped: the tenant is the row itself). */
export class ClientsRepository {
  private readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.db = db;
  }

  async insert(client: NewClient, trx: Db = this.db): Promise<ClientRow> {
    return (await trx
      .insertInto('clients')
      .values({ ...client, ip_allowlist: JSON.stringify(client.ip_allowlist), settings: JSON.stringify(client.settings) })
      .returning(COLUMNS)
      .executeTakeFirstOrThrow()) as ClientRow;
  }

  async findById(id: string, trx: Db = this.db): Promise<ClientRow | undefined> {
    return (await trx.selectFrom('clients').select(COLUMNS).where('id', '=', id).executeTakeFirst()) as ClientRow | undefined;
  }

  /** Locks the tenant row for the rest of the transaction (serializes user creation per client). */
  async lockForUpdate(trx: Transaction<Database>, id: string): Promise<ClientRow | undefined> {
    return (await trx.selectFrom('clients').select(COLUMNS).where('id', '=', id).forUpdate().executeTakeFirst()) as ClientRow | undefined;
  }

  async listWithUserCounts(limit: number, offset: number): Promise<Array<ClientRow & { users_count: number }>> {
    const rows = await this.db
      .selectFrom('clients')
      .select(COLUMNS)
      .select((eb) =>
        eb.selectFrom('users').select(eb.fn.countAll<number>().as('n')).whereRef('users.client_id', '=', 'clients.id').as('users_count'),
      )
      .orderBy('created_at', 'asc')
      .orderBy('id', 'asc')
      .limit(limit)
      .offset(offset)
      .execute();
    return rows.map((r) => ({ ...r, users_count: Number(r.users_count ?? 0) })) as Array<ClientRow & { users_count: number }>;
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('clients').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async countUsers(clientId: string, trx: Db = this.db): Promise<number> {
    const row = await trx
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('client_id', '=', clientId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async update(id: string, patch: ClientPatch, trx: Db = this.db): Promise<ClientRow | undefined> {
    const values: Record<string, unknown> = { updated_at: sql`now()` };
    for (const [k, v] of Object.entries(patch)) {
      // Only the patchable columns, whatever object the caller hands in (never id or timestamps).
      if (v === undefined || !PATCHABLE.has(k)) continue;
      values[k] = k === 'ip_allowlist' || k === 'settings' ? JSON.stringify(v) : v;
    }
    return (await trx
      .updateTable('clients')
      .set(values)
      .where('id', '=', id)
      .returning(COLUMNS)
      .executeTakeFirst()) as ClientRow | undefined;
  }
}
