import { AdminTokenGuard } from './admin-token-guard.ts';
import { SessionBudget } from './session-budget.service.ts';
import type { Core } from '../container.ts';
import { ApiKeysRepository } from '../db/repositories/api-keys.repository.ts';
import { AuditRepository } from '../db/repositories/audit.repository.ts';
import { ClientsRepository } from '../db/repositories/clients.repository.ts';
import { UsersRepository } from '../db/repositories/users.repository.ts';
import { AccessService } from './access.service.ts';
import { AuditService } from './audit.service.ts';
import { ClientsService } from './clients.service.ts';
import { CredentialChanges } from './credential-changes.ts';
import { IpAllowlist } from './ip-allowlist.ts';
import { createRateLimiter, type RateLimiter } from './rate-limit.service.ts';
import { RetentionService } from './retention.service.ts';
import { scrubEndedSessions } from '../db/repositories/sessions.repository.ts';
import { closeExpiredEnrollments } from './enrollment.expiry.ts';
import { DEFAULT_THRESHOLDS, SecurityMonitor } from './security-monitor.service.ts';
import { StatusService } from './status.service.ts';
import { UsersService } from './users.service.ts';

/**
 * Services of the platform layer: tenants and keys, request access (credentials, allow-lists, rate
 * limits), users, audit, status. The face layer receives this object.
 *
 * @example foundation.users.onUserDeleted(({ clientId, userId }) => index.remove(clientId, userId))
 */
export interface FoundationServices {
  clients: ClientsService;
  access: AccessService;
  users: UsersService;
  audit: AuditService;
  security: SecurityMonitor;
  rateLimiter: RateLimiter;
  /** Frames per second of a session and sessions per hour: apart from the hourly calls. */
  sessionBudget: SessionBudget;
  ipAllowlist: IpAllowlist;
  status: StatusService;
  retention: RetentionService;
  /** Credential changes of a tenant, here and (through Redis) in every instance: streams re-check on them. */
  credentials: CredentialChanges;
  /**
   * Operator tokens accepted by the admin API besides WAJAH_ADMIN_TOKEN: the server sets a random
   * local token at start and writes it (mode 0600) to the runtime file read by the CLI.
   */
  runtime: { localAdminToken: string | null };
  /** Wrong operator tokens per address, counted across the admin API and /metrics (and, with Redis, instances). */
  adminGuard: AdminTokenGuard;
  close(): Promise<void>;
}

export async function createFoundationServices(core: Core): Promise<FoundationServices> {
  const db = core.database.db;
  const clientsRepo = new ClientsRepository(db);
  const keysRepo = new ApiKeysRepository(db);
  const usersRepo = new UsersRepository(db);
  const auditRepo = new AuditRepository(db);

  const audit = new AuditService(auditRepo, core.log);
  const security = new SecurityMonitor(audit, DEFAULT_THRESHOLDS, core.redis);
  const rateLimiter = createRateLimiter(core.redis, core.log);
  const ipAllowlist = new IpAllowlist();
  const access = new AccessService(keysRepo, rateLimiter, ipAllowlist, security, core.log);
  const credentials = await CredentialChanges.create(core.config.redisUrl, core.log);
  credentials.on(() => access.invalidate());
  const clients = new ClientsService(db, clientsRepo, keysRepo, audit, {
    keyGraceSeconds: core.config.keyGraceSeconds,
    onCredentialsChanged: (clientId) => credentials.changed(clientId),
  });
  const users = new UsersService(db, usersRepo, clientsRepo, audit, core.log);
  const status = new StatusService({ version: core.config.version, database: core.database, redis: core.redis, engine: () => core.engine });
  const retention = new RetentionService(auditRepo, core.log, (now, since) => scrubEndedSessions(db, now, since), (now) => closeExpiredEnrollments(db, now));
  retention.start();

  return {
    clients,
    access,
    users,
    audit,
    security,
    rateLimiter,
    sessionBudget: new SessionBudget(core.redis, core.log),
    ipAllowlist,
    status,
    retention,
    credentials,
    runtime: { localAdminToken: null },
    adminGuard: new AdminTokenGuard({ redis: core.redis }),
    async close() {
      retention.stop();
      await security.flush();
      await audit.close();
      await credentials.close();
    },
  };
}
