import crypto from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { ClientSettings, Database, Tier } from '../db/schema.ts';
import type { ClientPatch, ClientRow, ClientsRepository } from '../db/repositories/clients.repository.ts';
import type { ApiKeyRow, ApiKeysRepository } from '../db/repositories/api-keys.repository.ts';
import { appError } from '../errors.ts';
import { isCompreFaceKey } from './compreface/keys.service.ts';
import type { AuditService } from './audit.service.ts';
import { generateApiKey, generateSecret, hashSecret } from './credentials.ts';
import { validateCidrs } from './ip-allowlist.ts';
import { limitsFor } from './tiers.ts';
import { isUuid, pageOf, type Page } from './paging.ts';

/** Who performs an operator action (audited). */
export interface Actor {
  actor: 'admin' | 'cli' | 'system';
  ip?: string | null;
}

/** Shown once, at creation/rotation: the only time the secret leaves the server. */
export interface IssuedCredentials {
  client_id: string;
  api_key: string;
  secret_key: string;
  tier: Tier;
  name: string;
}

export interface KeyView {
  key: string;
  name: string | null;
  status: 'active' | 'expiring' | 'expired' | 'revoked';
  ip_allowlist: string[];
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  /** The key that replaced this one (rotation). */
  replaced_by: string | null;
}

export interface ClientView {
  client_id: string;
  name: string;
  tier: Tier;
  max_users: number | null;
  calls_per_hour: number | null;
  /** The limits in force (tier defaults unless overridden); null = unlimited. */
  limits: { max_users: number | null; calls_per_hour: number | null };
  ip_allowlist: string[];
  settings: ClientSettings;
  is_active: boolean;
  created_at: string;
  updated_at: string;
  users_count?: number;
  keys?: KeyView[];
}

export interface CreateClientInput {
  name: string;
  tier: Tier;
  max_users?: number | null;
  calls_per_hour?: number | null;
  ip_allowlist?: string[];
  settings?: ClientSettings;
}

export interface NewKeyInput {
  name?: string | null;
  ip_allowlist?: string[];
  expires_at?: string | null;
}

/**
 * Operator administration of tenants and their API keys (P2, P3). Every change is audited in the
 * same transaction (category 'configuration'); secrets are returned once and stored as hashes.
 */
export class ClientsService {
  private readonly db: Kysely<Database>;
  private readonly clients: ClientsRepository;
  private readonly keys: ApiKeysRepository;
  private readonly audit: AuditService;
  private readonly options: { keyGraceSeconds: number; onCredentialsChanged: (clientId: string) => void };
  constructor(
    db: Kysely<Database>,
    clients: ClientsRepository,
    keys: ApiKeysRepository,
    audit: AuditService,
    options: { keyGraceSeconds: number; onCredentialsChanged: (clientId: string) => void },
  ) {
    this.db = db; this.clients = clients; this.keys = keys; this.audit = audit; this.options = options;
  }

  async create(input: CreateClientInput, by: Actor): Promise<IssuedCredentials> {
    const ip_allowlist = validateCidrs(input.ip_allowlist ?? [], 'ip_allowlist');
    const clientId = crypto.randomUUID();
    return this.db.transaction().execute(async (trx) => {
      const client = await this.clients.insert(
        {
          id: clientId,
          name: input.name,
          tier: input.tier,
          max_users: input.max_users ?? null,
          calls_per_hour: input.calls_per_hour ?? null,
          ip_allowlist,
          settings: input.settings ?? {},
        },
        trx,
      );
      const { key, secret } = await this.#issue(trx, clientId, { name: 'default' });
      await this.audit.record(
        {
          clientId,
          category: 'configuration',
          action: 'client.created',
          actor: by.actor,
          target: clientId,
          ip: by.ip ?? null,
          details: { name: client.name, tier: client.tier, max_users: client.max_users, calls_per_hour: client.calls_per_hour, ip_allowlist, api_key: key.key },
        },
        trx,
      );
      return { client_id: clientId, api_key: key.key, secret_key: secret, tier: client.tier, name: client.name };
    });
  }

  async list(page: number, pageSize: number): Promise<Page<ClientView>> {
    const [total, rows] = await Promise.all([this.clients.count(), this.clients.listWithUserCounts(pageSize, (page - 1) * pageSize)]);
    return pageOf(
      rows.map((r) => ({ ...clientView(r), users_count: r.users_count })),
      total,
      page,
      pageSize,
    );
  }

  async get(clientId: string): Promise<ClientView> {
    const client = isUuid(clientId) ? await this.clients.findById(clientId) : undefined;
    if (!client) throw appError('CLIENT_NOT_FOUND');
    const [keys, users] = await Promise.all([this.keys.listForClient(client.id), this.clients.countUsers(client.id)]);
    // replaced_by holds the new key's row id; show its public key string instead.
    const keyById = new Map(keys.map((k) => [k.id, k.key]));
    return { ...clientView(client), users_count: users, keys: keys.map((k) => ({ ...keyView(k), replaced_by: k.replaced_by ? (keyById.get(k.replaced_by) ?? null) : null })) };
  }

  async update(clientId: string, patch: ClientPatch, by: Actor): Promise<ClientView> {
    if (!isUuid(clientId)) throw appError('CLIENT_NOT_FOUND');
    const clean: ClientPatch = { ...patch };
    if (patch.ip_allowlist) clean.ip_allowlist = validateCidrs(patch.ip_allowlist, 'ip_allowlist');
    const updated = await this.db.transaction().execute(async (trx) => {
      const before = await this.clients.findById(clientId, trx);
      if (!before) throw appError('CLIENT_NOT_FOUND');
      const after = await this.clients.update(clientId, clean, trx);
      if (!after) throw appError('CLIENT_NOT_FOUND');
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      for (const k of Object.keys(clean) as Array<keyof ClientPatch>) {
        if (clean[k] === undefined) continue;
        if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) changes[k] = { from: before[k], to: after[k] };
      }
      await this.audit.record(
        { clientId, category: 'configuration', action: 'client.updated', actor: by.actor, target: clientId, ip: by.ip ?? null, details: { changes } },
        trx,
      );
      return after;
    });
    this.options.onCredentialsChanged(clientId);
    return this.get(updated.id);
  }

  async createKey(clientId: string, input: NewKeyInput, by: Actor): Promise<IssuedCredentials & { key: KeyView }> {
    if (!isUuid(clientId)) throw appError('CLIENT_NOT_FOUND');
    const ip_allowlist = validateCidrs(input.ip_allowlist ?? [], 'ip_allowlist');
    const expires_at = input.expires_at ? new Date(input.expires_at) : null;
    if (expires_at && Number.isNaN(expires_at.getTime())) throw appError('VALIDATION_ERROR', 'expires_at is not a date', { field: 'expires_at' });
    return this.db.transaction().execute(async (trx) => {
      const client = await this.clients.findById(clientId, trx);
      if (!client) throw appError('CLIENT_NOT_FOUND');
      const { key, secret } = await this.#issue(trx, clientId, { name: input.name ?? null, ip_allowlist, expires_at });
      await this.audit.record(
        { clientId, category: 'configuration', action: 'key.created', actor: by.actor, target: key.key, ip: by.ip ?? null, details: { name: key.name, ip_allowlist, expires_at } },
        trx,
      );
      return { client_id: clientId, api_key: key.key, secret_key: secret, tier: client.tier, name: client.name, key: keyView(key) };
    });
  }

  async revokeKey(apiKey: string, by: Actor): Promise<KeyView> {
    const revoked = await this.db.transaction().execute(async (trx) => {
      const key = await this.keys.findByKey(apiKey, trx, { lock: true });
      if (!key) throw appError('API_KEY_NOT_FOUND');
      const row = await this.keys.revoke(key.id, new Date(), trx);
      if (!row) throw appError('API_KEY_NOT_FOUND');
      await this.audit.record(
        { clientId: key.client_id, category: 'configuration', action: 'key.revoked', actor: by.actor, target: key.key, ip: by.ip ?? null, details: {} },
        trx,
      );
      return row;
    });
    this.options.onCredentialsChanged(revoked.client_id);
    return keyView(revoked);
  }

  /**
   * Issues a replacement key with the same name, allow-list and expiry; the old key keeps working for the
   * grace period (WAJAH_KEY_GRACE_SECONDS unless given, never past its own expiry), then stops.
   */
  async rotateKey(
    apiKey: string,
    input: { grace_seconds?: number },
    by: Actor,
  ): Promise<IssuedCredentials & { replaces: string; old_key_expires_at: string; key: KeyView }> {
    const grace = input.grace_seconds ?? this.options.keyGraceSeconds;
    const result = await this.db.transaction().execute(async (trx) => {
      // Locked: two rotations at once (one instance or two) each saw no replacement yet and each issued one,
      // leaving two live successors, one of them linked to nothing.
      const old = await this.keys.findByKey(apiKey, trx, { lock: true });
      if (!old) throw appError('API_KEY_NOT_FOUND');
      // A CompreFace service key opens only its service; its "replacement" here would be a Wajah key that
      // opens the whole API (and the service would lose its key after the grace period).
      if (isCompreFaceKey(old.key)) throw appError('KEY_NOT_ROTATABLE');
      const now = new Date();
      if (old.revoked_at || (old.expires_at && old.expires_at <= now)) throw appError('API_KEY_REVOKED', 'A revoked or expired key cannot be rotated');
      const client = await this.clients.findById(old.client_id, trx);
      if (!client) throw appError('API_KEY_NOT_FOUND');
      // A key in its grace period already has a replacement: a second one would leave two live successors
      // (and its expiry is the grace's end, not a lifetime to pass on).
      if (old.replaced_by) throw appError('API_KEY_REVOKED', 'This key was already rotated; rotate its replacement instead');
      // The replacement keeps the key's lifetime: rotating a key that expires must not yield one that never does.
      const { key, secret } = await this.#issue(trx, old.client_id, { name: old.name, ip_allowlist: old.ip_allowlist, expires_at: old.expires_at });
      const expiresAt = new Date(now.getTime() + grace * 1000);
      const updatedOld = await this.keys.markReplaced(old.id, key.id, expiresAt, trx);
      await this.audit.record(
        {
          clientId: old.client_id,
          category: 'configuration',
          action: 'key.rotated',
          actor: by.actor,
          target: old.key,
          ip: by.ip ?? null,
          details: { new_key: key.key, grace_seconds: grace, old_key_expires_at: updatedOld?.expires_at ?? expiresAt },
        },
        trx,
      );
      return {
        client_id: old.client_id,
        api_key: key.key,
        secret_key: secret,
        tier: client.tier,
        name: client.name,
        replaces: old.key,
        old_key_expires_at: (updatedOld?.expires_at ?? expiresAt).toISOString(),
        key: keyView(key),
      };
    });
    this.options.onCredentialsChanged(result.client_id);
    return result;
  }

  async updateKey(apiKey: string, input: { name?: string | null; ip_allowlist?: string[] }, by: Actor): Promise<KeyView> {
    const updated = await this.db.transaction().execute(async (trx) => {
      const key = await this.keys.findByKey(apiKey, trx, { lock: true });
      if (!key) throw appError('API_KEY_NOT_FOUND');
      const ip_allowlist = input.ip_allowlist ? validateCidrs(input.ip_allowlist, 'ip_allowlist') : key.ip_allowlist;
      const row = await this.keys.updateAllowlist(key.id, ip_allowlist, input.name, trx);
      if (!row) throw appError('API_KEY_NOT_FOUND');
      await this.audit.record(
        {
          clientId: key.client_id,
          category: 'configuration',
          action: 'key.updated',
          actor: by.actor,
          target: key.key,
          ip: by.ip ?? null,
          details: { ip_allowlist: { from: key.ip_allowlist, to: ip_allowlist }, ...(input.name !== undefined ? { name: input.name } : {}) },
        },
        trx,
      );
      return row;
    });
    this.options.onCredentialsChanged(updated.client_id);
    return keyView(updated);
  }

  async #issue(
    trx: Transaction<Database>,
    clientId: string,
    opts: { name?: string | null; ip_allowlist?: string[]; expires_at?: Date | null },
  ): Promise<{ key: ApiKeyRow; secret: string }> {
    const secret = generateSecret();
    const key = await this.keys.insert(
      {
        id: crypto.randomUUID(),
        client_id: clientId,
        key: generateApiKey(),
        secret_hash: hashSecret(secret),
        name: opts.name ?? null,
        ip_allowlist: opts.ip_allowlist ?? [],
        expires_at: opts.expires_at ?? null,
      },
      trx,
    );
    return { key, secret };
  }
}

export function clientView(c: ClientRow): ClientView {
  const l = limitsFor(c);
  return {
    client_id: c.id,
    name: c.name,
    tier: c.tier,
    max_users: c.max_users,
    calls_per_hour: c.calls_per_hour,
    limits: { max_users: l.maxUsers, calls_per_hour: l.callsPerHour },
    ip_allowlist: c.ip_allowlist,
    settings: c.settings,
    is_active: c.is_active,
    created_at: c.created_at.toISOString(),
    updated_at: c.updated_at.toISOString(),
  };
}

export function keyView(k: ApiKeyRow, now = new Date()): KeyView {
  const status: KeyView['status'] = k.revoked_at
    ? 'revoked'
    : k.expires_at && k.expires_at <= now
      ? 'expired'
      : k.expires_at
        ? 'expiring'
        : 'active';
  return {
    key: k.key,
    name: k.name,
    status,
    ip_allowlist: k.ip_allowlist,
    created_at: k.created_at.toISOString(),
    expires_at: k.expires_at?.toISOString() ?? null,
    revoked_at: k.revoked_at?.toISOString() ?? null,
    last_used_at: k.last_used_at?.toISOString() ?? null,
    replaced_by: null,
  };
}
