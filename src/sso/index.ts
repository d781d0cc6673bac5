import type Provider from 'oidc-provider';
import type { Core } from '../container.ts';
import type { FoundationServices } from '../services/foundation.ts';
import type { FaceServices } from '../services/face.ts';
import { SecretBox } from './secret-box.ts';
import { createProvider, mountPathOf, type ProviderHost } from './provider.ts';
import { SsoClientsService } from './sso-clients.service.ts';
import { SsoLoginService } from './sso-login.service.ts';

/** Where the provider is mounted in the app; the issuer's path must be this one. */
export const SSO_MOUNT_PATH = '/oidc';

export interface SsoServices {
  /** e.g. https://id.example.com/oidc */
  issuer: string;
  /** The provider serving now (replaced when the signing keys change: `keys`). */
  readonly provider: Provider;
  /** This instance's provider and the signing keys it publishes, kept in step with the database (docs/sso.md, Keys). */
  keys: ProviderHost;
  clients: SsoClientsService;
  login: SsoLoginService;
}

export interface SsoOptions {
  /** WAJAH_SSO_ISSUER: the public URL of the provider; default http://localhost:PORT/oidc. */
  issuer?: string | null;
  /** WAJAH_TRUST_PROXY=1: the provider trusts X-Forwarded-Proto/Host. */
  proxy?: boolean;
}

/** The OpenID Provider (face sign-in for the tenants' applications, docs/sso.md). */
export async function createSsoServices(core: Core, foundation: FoundationServices, face: FaceServices, options: SsoOptions = {}): Promise<SsoServices> {
  const issuer = (options.issuer || `http://localhost:${core.config.port}${SSO_MOUNT_PATH}`).replace(/\/$/, '');
  if (mountPathOf(issuer) !== SSO_MOUNT_PATH) throw new Error(`WAJAH_SSO_ISSUER must end with ${SSO_MOUNT_PATH} (got ${issuer})`);
  const db = core.database.db;
  const box = new SecretBox(core.masterKey(), core.previousMasterKeys);
  const { host, storage } = await createProvider({ issuer, db, box, proxy: options.proxy ?? false, log: core.log });
  return {
    issuer,
    get provider() {
      return host.provider;
    },
    keys: host,
    clients: new SsoClientsService({ db, box, audit: foundation.audit }),
    login: new SsoLoginService({ db, box, storage, audit: foundation.audit, authentication: face.authentication, provider: () => host.provider, budget: foundation.sessionBudget, log: core.log }),
  };
}

