import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { ApiKeysRepository } from '../../db/repositories/api-keys.repository.ts';
import { ClientsRepository } from '../../db/repositories/clients.repository.ts';
import { appError } from '../../errors.ts';
import type { AccessResult, AccessService } from '../access.service.ts';
import type { AuditService } from '../audit.service.ts';
import type { Actor } from '../clients.service.ts';
import { hashSecret } from '../credentials.ts';

/** CompreFace's three service types; a key works for exactly one. */
export type CompreFaceService = 'recognition' | 'detection' | 'verification';
export const COMPREFACE_SERVICES: readonly CompreFaceService[] = ['recognition', 'detection', 'verification'];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The stored public key of a CompreFace service key: `cf:<service>:<32 hex>`, derived from the secret
 * x-api-key value. The `:` makes it unusable as `Authorization: ApiKey KEY:SECRET` (the key part of that
 * header cannot contain one), so a CompreFace key never reaches Wajah's own API; the service in the
 * stored key makes a recognition key unknown to the detection and verification services.
 *
 * @example storedKeyFor('recognition', '6b135f5b-a365-4522-b1f1-4c9ac2dd0728') // 'cf:recognition:3f…'
 */
export function storedKeyFor(service: CompreFaceService, apiKey: string): string {
  const id = crypto.createHash('sha256').update(`wajah-compreface-key:${apiKey.toLowerCase()}`).digest('hex').slice(0, 32);
  return `cf:${service}:${id}`;
}

/** A CompreFace service key's stored key (storedKeyFor), as opposed to a Wajah `wk_…` key. */
export function isCompreFaceKey(key: string): boolean {
  return key.startsWith('cf:');
}

export interface IssuedCompreFaceKey {
  /** The x-api-key value (a random UUID, as CompreFace issues them); shown once, stored only hashed. */
  api_key: string;
  service: CompreFaceService;
  /** The Wajah key id to revoke it with (`POST /api/admin/keys/{key}/revoke/`). */
  key: string;
  client_id: string;
  name: string | null;
  created_at: string;
}

/**
 * CompreFace service keys (docs/compreface.md): ordinary Wajah API keys of a tenant whose secret is a
 * random UUID, sent alone as `x-api-key`, and whose stored key names the one service they open. They
 * share everything else with Wajah keys: revocation, the tenant's rate limit and IP allow-lists, the
 * api_access audit trail, the admin API's key list.
 *
 * @example const { api_key } = await keys.issue(clientId, 'recognition', 'door camera', { actor: 'admin' })
 */
/** The keys service on a database and the foundation's access and audit services (the server's, or the CLI's). */
export function createCompreFaceKeys(db: Kysely<Database>, foundation: { access: AccessService; audit: AuditService }): CompreFaceKeysService {
  return new CompreFaceKeysService({ keys: new ApiKeysRepository(db), clients: new ClientsRepository(db), access: foundation.access, audit: foundation.audit });
}

export class CompreFaceKeysService {
  private readonly keys: ApiKeysRepository;
  private readonly clients: ClientsRepository;
  private readonly access: AccessService;
  private readonly audit: AuditService;
  constructor(deps: { keys: ApiKeysRepository; clients: ClientsRepository; access: AccessService; audit: AuditService }) {
    this.keys = deps.keys; this.clients = deps.clients; this.access = deps.access; this.audit = deps.audit;
  }

  async issue(clientId: string, service: CompreFaceService, name: string | null, by: Actor): Promise<IssuedCompreFaceKey> {
    if (!UUID.test(clientId) || !(await this.clients.findById(clientId))) throw appError('CLIENT_NOT_FOUND');
    const apiKey = crypto.randomUUID();
    const row = await this.keys.insert({
      id: crypto.randomUUID(),
      client_id: clientId,
      key: storedKeyFor(service, apiKey),
      secret_hash: hashSecret(apiKey),
      name: name ?? `CompreFace ${service}`,
      ip_allowlist: [],
      expires_at: null,
    });
    await this.audit.record({ clientId, category: 'configuration', action: 'compreface_key.created', actor: by.actor, target: row.key, ip: by.ip ?? null, details: { service } });
    this.access.invalidate();
    return { api_key: apiKey, service, key: row.key, client_id: clientId, name: row.name, created_at: row.created_at.toISOString() };
  }

  /** The tenant's CompreFace keys (never their secrets). */
  async list(clientId: string) {
    if (!UUID.test(clientId) || !(await this.clients.findById(clientId))) throw appError('CLIENT_NOT_FOUND');
    const rows = await this.keys.listForClient(clientId);
    return rows
      .filter((k) => isCompreFaceKey(k.key))
      .map((k) => ({
        key: k.key,
        service: k.key.split(':')[1] as CompreFaceService,
        name: k.name,
        status: k.revoked_at ? ('revoked' as const) : ('active' as const),
        created_at: k.created_at.toISOString(),
        last_used_at: k.last_used_at?.toISOString() ?? null,
      }));
  }

  /**
   * Authorizes a request of `service` by its x-api-key: missing → COMPREFACE_KEY_MISSING, not a UUID →
   * COMPREFACE_KEY_MALFORMED, unknown for this service (or revoked) → COMPREFACE_KEY_NOT_FOUND; then the
   * usual client checks (disabled, allow-list, rate limit) with their own codes.
   */
  async authorize(service: CompreFaceService, header: string | string[] | undefined, ip: string): Promise<AccessResult> {
    const apiKey = (Array.isArray(header) ? header[0] : header)?.trim().toLowerCase();
    if (!apiKey) throw appError('COMPREFACE_KEY_MISSING');
    if (apiKey.length < 36 || !UUID.test(apiKey)) throw appError('COMPREFACE_KEY_MALFORMED');
    try {
      return await this.access.authorizeKey(storedKeyFor(service, apiKey), apiKey, ip);
    } catch (e) {
      if ((e as { code?: string }).code === 'INVALID_CREDENTIALS') {
        throw appError('COMPREFACE_KEY_NOT_FOUND', `${service[0]!.toUpperCase()}${service.slice(1)} service with API Key ${apiKey} not found`);
      }
      throw e;
    }
  }
}
