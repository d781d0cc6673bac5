import crypto from 'node:crypto';
import type { DB } from '../db/database.ts';
import type { ClientContext } from '../api/request-context.ts';
import type { AuditService } from '../services/audit.service.ts';
import { appError } from '../errors.ts';
import { CHALLENGES, HEAD_CHALLENGES, type Challenge } from '../services/liveness.service.ts';
import { deleteSsoClient, findTenantSsoClient, insertSsoClient, listSsoClients } from '../db/repositories/sso.repository.ts';
import type { SecretBox } from './secret-box.ts';

export type TokenAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

export interface RegisterSsoClientInput {
  name: string;
  redirect_uris: string[];
  post_logout_redirect_uris?: string[];
  token_endpoint_auth_method?: TokenAuthMethod;
  liveness_challenges?: Challenge[];
  max_attempts?: number;
}

export const SSO_DEFAULT_CHALLENGES: Challenge[] = ['blink', 'head_movement'];

/**
 * Relying parties (OIDC clients) of one tenant. The secret is returned once and stored sealed
 * (the provider needs it in clear to check client_secret_basic/post and HS256 signatures).
 *
 * @example const rp = await clients.register(client, { name: 'Intranet', redirect_uris: ['https://intranet.example/cb'] });
 */
export class SsoClientsService {
  private readonly d: { db: DB; box: SecretBox; audit: AuditService };
  constructor(d: { db: DB; box: SecretBox; audit: AuditService }) {
    this.d = d;
  }

  async register(client: ClientContext, input: RegisterSsoClientInput, ip: string | null) {
    for (const [field, uris] of [['redirect_uris', input.redirect_uris], ['post_logout_redirect_uris', input.post_logout_redirect_uris ?? []]] as const) {
      uris.forEach((u, i) => checkRedirectUri(u, `${field}.${i}`));
    }
    const challenges = input.liveness_challenges?.length ? [...new Set(input.liveness_challenges)] : SSO_DEFAULT_CHALLENGES;
    if (challenges.some((c) => !CHALLENGES.includes(c))) throw appError('VALIDATION_ERROR', 'body.liveness_challenges has an unknown challenge', { field: 'liveness_challenges' });
    if (!challenges.some((c) => HEAD_CHALLENGES.includes(c))) {
      throw appError('VALIDATION_ERROR', `body.liveness_challenges needs a head movement (one of ${HEAD_CHALLENGES.join(', ')}): blink or smile alone is too weak for a sign-in`, {
        field: 'liveness_challenges',
        allowed: [...HEAD_CHALLENGES],
      });
    }
    const id = `wsso_${crypto.randomBytes(12).toString('base64url')}`;
    const method = input.token_endpoint_auth_method ?? 'client_secret_basic';
    const secret = method === 'none' ? null : `wssos_${crypto.randomBytes(32).toString('base64url')}`;
    await this.d.db.transaction().execute(async (trx) => {
      await insertSsoClient(trx, {
        id,
        client_id: client.id,
        name: input.name,
        redirect_uris: JSON.stringify(input.redirect_uris),
        post_logout_redirect_uris: JSON.stringify(input.post_logout_redirect_uris ?? []),
        token_endpoint_auth_method: method,
        secret_ciphertext: secret ? this.d.box.seal(secret, `sso-client:${id}`) : null,
        liveness_challenges: JSON.stringify(challenges),
        max_attempts: input.max_attempts ?? 3,
      });
      await this.d.audit.record(
        { clientId: client.id, category: 'configuration', action: 'sso_client.created', actor: `key:${client.apiKeyId}`, target: id, details: { name: input.name, redirect_uris: input.redirect_uris }, ip },
        trx,
      );
    });
    const row = await findTenantSsoClient(this.d.db, client.id, id);
    return { ...present(row!), client_secret: secret };
  }

  async list(client: ClientContext, page: number, pageSize: number) {
    const { rows, count } = await listSsoClients(this.d.db, client.id, pageSize, (page - 1) * pageSize);
    return { count, page, page_size: pageSize, total_pages: Math.max(1, Math.ceil(count / pageSize)), results: rows.map(present) };
  }

  async get(client: ClientContext, id: string) {
    const row = await findTenantSsoClient(this.d.db, client.id, id);
    if (!row) throw appError('SSO_CLIENT_NOT_FOUND');
    return present(row);
  }

  /** Removes the RP: its logins stop at once (the provider finds no client); issued tokens expire with their TTL. */
  async remove(client: ClientContext, id: string, ip: string | null): Promise<void> {
    await this.d.db.transaction().execute(async (trx) => {
      if (!(await deleteSsoClient(trx, client.id, id))) throw appError('SSO_CLIENT_NOT_FOUND');
      await this.d.audit.record({ clientId: client.id, category: 'configuration', action: 'sso_client.deleted', actor: `key:${client.apiKeyId}`, target: id, ip }, trx);
    });
  }
}

function checkRedirectUri(value: string, field: string): void {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw appError('VALIDATION_ERROR', `body.${field} is not an absolute URL`, { field });
  }
  if (u.hash) throw appError('VALIDATION_ERROR', `body.${field} must not have a fragment`, { field });
  // https://intranet.example.com@evil.example.net/ reads as the intranet and goes to evil.example.net.
  if (u.username || u.password || /^[^:/?#]+:\/\/[^/?#]*@/.test(value)) throw appError('VALIDATION_ERROR', `body.${field} must not have user information (user:password@)`, { field });
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
  // An allowlist (javascript:, data: and the like have no dot): https everywhere, http only for local development, and a native app's private-use
  // scheme named by a reverse domain name (RFC 8252 §7.1: com.example.app:/callback). Everything else
  // (file:, blob:, vbscript:, a bare custom scheme another app could also claim) is refused.
  if (u.protocol === 'https:') return;
  if (u.protocol === 'http:') {
    if (!loopback) throw appError('VALIDATION_ERROR', `body.${field} must use https (http only for localhost)`, { field });
    return;
  }
  if (!/^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]*[a-z0-9]:$/.test(u.protocol)) {
    throw appError('VALIDATION_ERROR', `body.${field} must use https, http on localhost, or a reverse-domain scheme of a native app (com.example.app:/callback)`, { field });
  }
}

function present(row: {
  id: string;
  name: string;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  token_endpoint_auth_method: string;
  liveness_challenges: string[];
  max_attempts: number;
  created_at: Date;
}) {
  return {
    client_id: row.id,
    name: row.name,
    redirect_uris: row.redirect_uris,
    post_logout_redirect_uris: row.post_logout_redirect_uris,
    token_endpoint_auth_method: row.token_endpoint_auth_method as TokenAuthMethod,
    liveness_challenges: row.liveness_challenges,
    max_attempts: row.max_attempts,
    created_at: new Date(row.created_at).toISOString(),
  };
}
