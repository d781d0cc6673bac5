import path from 'node:path';
import { Redis } from 'ioredis';
import type { AppConfig } from './config/env.ts';
import { loadMasterKey, parseKey } from './crypto/template-cipher.ts';
import { openDatabase, type DatabaseHandle } from './db/database.ts';
import { SealKeyWatch } from './db/seal-key-watch.ts';
import { startPGliteMaintenance } from './db/pglite-maintenance.ts';
import { keyCheckValue, refuseNewKeyBesideData, verifyMasterKey } from './crypto/key-check.ts';
import { readStagedKey } from './crypto/master-key-files.ts';
import type { FaceEngine } from './vision/types.ts';
import { createFoundationServices, type FoundationServices } from './services/foundation.ts';
import { createFaceServices, type FaceServices } from './services/face.ts';
import { createWebhookServices, type WebhookServices } from './services/webhooks/index.ts';
import { createAnalyticsServices, type AnalyticsServices } from './services/analytics.ts';
import { createFallbackServices, type FallbackServices } from './services/fallbacks.ts';
import { createOfflinePackageService, type OfflinePackageService } from './services/offline-package.service.ts';
import { createSsoServices, type SsoServices } from './sso/index.ts';
import { Metrics } from './observability/metrics.ts';
import type { ServiceLog } from './observability/logger.ts';
import { instrumentEngine } from './observability/instrument-engine.ts';

/** Infrastructure every service may use; services receive only the parts they need. */
export interface Core {
  config: AppConfig;
  database: DatabaseHandle;
  /** Null when REDIS_URL is unset: in-process fallbacks are used. */
  redis: Redis | null;
  /** Null when started without the face engine (WAJAH_WORKERS=0 or tests of the plain API). */
  engine: FaceEngine | null;
  /** PostgreSQL: whether another process seals with a master key this one does not hold (db/seal-key-watch.ts). */
  sealKeyWatch?: SealKeyWatch | null;
  log: ServiceLog;
  /**
   * The template master key (WAJAH_MASTER_KEY, or generated into the data directory), read once on
   * first use. Templates use it directly; other secrets use keys derived from it (crypto/sealing-key.ts).
   */
  masterKey(): Buffer;
  /** Keys being rotated away (WAJAH_MASTER_KEY_PREVIOUS): every sealer still opens values sealed with them. */
  previousMasterKeys: Buffer[];
  /** Prometheus metrics of this server (GET /metrics, docs/operations.md). */
  metrics: Metrics;
}

export interface Container extends Core {
  foundation: FoundationServices;
  face: FaceServices;
  webhooks: WebhookServices;
  analytics: AnalyticsServices;
  /** PIN/password fallback and the manual-review queue (C5). */
  fallbacks: FallbackServices;
  /** Offline verification packages (C6, docs/offline.md). */
  offline: OfflinePackageService;
  /** OpenID Provider: face sign-in for the tenants' applications (C4, docs/sso.md). */
  sso: SsoServices;
  close(): Promise<void>;
}

export interface ContainerOptions {
  /** Start the inference workers (default: config.workers > 0). */
  engine?: boolean;
  /** Override the embedded database location ('memory://' in tests). */
  pgliteDir?: string;
  log?: Core['log'];
}

/** Opens database, Redis and the face engine, then builds the services on top. */
export async function createContainer(config: AppConfig, options: ContainerOptions = {}): Promise<Container> {
  const log = options.log ?? consoleLog;
  const metrics = new Metrics();
  // Start-up takes seconds (migrations on a new data directory, model loading): say what is happening.
  const t0 = performance.now();
  const since = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
  log.info(`start-up: opening the ${config.databaseUrl ? 'PostgreSQL' : 'embedded'} database and applying migrations`);
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    pgliteDir: options.pgliteDir ?? path.join(config.dataDir, 'pg'),
    onIdleError: (err) => log.warn(`database connection dropped: ${err.message}`),
    log,
  });
  log.info(`start-up: database ready (${since()})`);
  const redis = config.redisUrl ? createRedis(config.redisUrl) : null;
  let engine: FaceEngine | null = null;
  if (options.engine ?? config.workers > 0) {
    const workers = Math.max(1, config.workers);
    log.info(`start-up: loading the face models in ${workers} inference worker${workers === 1 ? '' : 's'}`);
    const { createFaceEngine } = await import('./vision/index.ts');
    engine = instrumentEngine(await createFaceEngine({ workers, queueSize: config.queueSize, maxImageBytes: config.bodyLimit }), metrics, log);
    log.info(`start-up: face models loaded (${since()})`);
  }
  const core: Core = { config, database, redis, engine, log, masterKey: lazyMasterKey(config, log), previousMasterKeys: config.masterKeyPrevious.map(parseKey), metrics };
  try {
    // The key must fit the data before anything is sealed or opened with it (docs/foundation.md, Master key).
    await refuseNewKeyBesideData(database.db, config);
    // Before the check value is read: an online rotation then either sees this process seal with its key or
    // has already recorded the new key's check value, which this one then reads (docs/operations-keys.md).
    await database.holdSealKey(keyCheckValue(core.masterKey()));
    const check = await verifyMasterKey(database.db, core.masterKey(), config.masterKey ? null : readStagedKeyQuietly(config.dataDir), core.previousMasterKeys);
    if (check.stored) log.info(`master key fingerprint ${check.fingerprint} recorded with the data`);
    if (config.databaseUrl) {
      core.sealKeyWatch = new SealKeyWatch(database.db, [keyCheckValue(core.masterKey()), ...core.previousMasterKeys.map(keyCheckValue)], log);
      await core.sealKeyWatch.check();
      core.sealKeyWatch.start();
    }
    if (check.rotating) log.warn(`master key rotation in progress: the data is recorded under key ${check.rotating} (WAJAH_MASTER_KEY_PREVIOUS); new values are sealed with ${check.fingerprint}. Run \`wajah keys rotate-master --online\` to finish.`);
  } catch (e) {
    core.sealKeyWatch?.stop();
    await engine?.close();
    redis?.disconnect();
    await database.close();
    throw e;
  }
  const foundation = await createFoundationServices(core);
  const face = await createFaceServices(core, foundation);
  const webhooks = await createWebhookServices(core, foundation.audit);
  const analytics = await createAnalyticsServices(core, { flushAudit: () => foundation.audit.flush() });
  const fallbacks = await createFallbackServices(core, foundation, face);
  const offline = createOfflinePackageService(core, foundation.audit, face.vault, config.offlineSigningKey);
  const sso = await createSsoServices(core, foundation, face, { issuer: config.ssoIssuer, proxy: config.trustProxy !== false });
  metrics.setSources({
    engine: () => engine?.status() ?? null,
    index: () => face.gallery.registry.stats(),
    databasePool: () => database.pool(),
  });
  // The embedded database has no autovacuum: VACUUM and ANALYZE on a timer (db/pglite-maintenance.ts).
  const maintenance = startPGliteMaintenance(database, log);
  log.info(`start-up: services ready (${since()})`);
  return {
    ...core,
    foundation,
    face,
    webhooks,
    analytics,
    fallbacks,
    offline,
    sso,
    async close() {
      core.sealKeyWatch?.stop();
      await maintenance?.stop();
      await webhooks.close();
      await analytics.close();
      await face.close?.();
      await foundation.close?.();
      await engine?.close();
      redis?.disconnect();
      await database.close();
    },
  };
}

/** The key a master-key rotation left staged (master.key.next), to name it when the server refuses. */
function readStagedKeyQuietly(dataDir: string): Buffer | null {
  try {
    return readStagedKey(dataDir);
  } catch {
    return null;
  }
}

/** Core.masterKey: loaded (and, the first time, generated with a warning) once per process. */
export function lazyMasterKey(config: AppConfig, log: Core['log']): () => Buffer {
  let key: Buffer | null = null;
  return () => (key ??= loadMasterKey(config, log));
}

/**
 * How long a Redis command may take before it fails (and its caller falls back to this process's own state).
 * Redis answers in well under a millisecond; one that accepts connections but has stopped answering (a paused
 * or partitioned host) held every request that touches it, the admin API included, for as long as TCP kept the
 * connection (102 s measured; minutes under packet loss).
 */
export const REDIS_COMMAND_TIMEOUT_MS = 1000;

export function createRedis(url: string): Redis {
  const redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000, commandTimeout: REDIS_COMMAND_TIMEOUT_MS });
  redis.on('error', () => {
    // Reported through status checks; ioredis reconnects by itself.
  });
  return redis;
}

const consoleLog: Core['log'] = {
  info: (m) => console.log(m),
  warn: (m) => console.warn(m),
  error: (m) => console.error(m),
};
