import os from 'node:os';
import path from 'node:path';
import { parseSigningKey } from '../offline/signing-key.ts';

/** Validated, frozen configuration. process.env is read only here. */
export interface AppConfig {
  port: number;
  host: string;
  basePath: '/api';
  dataDir: string;
  /** postgres://… when set; otherwise the embedded PGlite database in `${dataDir}/pg`. */
  databaseUrl: string | null;
  redisUrl: string | null;
  adminToken: string | null;
  /** Bearer token that may read GET /metrics and nothing else (WAJAH_METRICS_TOKEN); the operator token may too. */
  metricsToken: string | null;
  /** 32-byte key (hex or base64) for AES-256-GCM of face templates; generated in dataDir when unset. */
  masterKey: string | null;
  /** Master keys being rotated away (WAJAH_MASTER_KEY_PREVIOUS, comma-separated): opened, never sealed with (docs/operations-keys.md). */
  masterKeyPrevious: string[];
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Inference worker threads (default: one per core). */
  workers: number;
  /** Maximum queued inference jobs before callers get 503 SERVICE_BUSY. */
  queueSize: number;
  /** Maximum request body in bytes (uploads included). */
  bodyLimit: number;
  /** Milliseconds an analytics query may run before PostgreSQL cancels it (WAJAH_ANALYTICS_TIMEOUT_MS, 0: never). */
  analyticsTimeoutMs: number;
  /** Seconds a rotated API key keeps working after its replacement is issued (default 24 h). */
  keyGraceSeconds: number;
  version: string;
  /** Run the webhook dispatcher in this process (WAJAH_WEBHOOKS, default 1). */
  webhooks: boolean;
  /** Webhook URLs may point at loopback/private/link-local addresses (WAJAH_WEBHOOK_ALLOW_PRIVATE, default 1). */
  webhookAllowPrivate: boolean;
  /** Dispatcher poll interval in ms (WAJAH_WEBHOOK_POLL_MS, default 500). */
  webhookPollMs: number;
  /** Timeout of one webhook HTTP attempt in ms (WAJAH_WEBHOOK_TIMEOUT_MS, default 10000). */
  webhookTimeoutMs: number;
  /** After SIGTERM/SIGINT the process exits within this many ms, whatever Redis, PostgreSQL or a receiver does (WAJAH_SHUTDOWN_TIMEOUT_MS, default 10000). */
  shutdownTimeoutMs: number;
  /**
   * After SIGTERM the server keeps serving this many ms while /readyz answers 503, so a load balancer takes it out
   * before it stops accepting (WAJAH_SHUTDOWN_DELAY_MS, default 0; part of shutdownTimeoutMs, at least 1000 ms below it).
   */
  shutdownDelayMs: number;
  /** ICE servers handed to WebRTC streaming sessions and used by the server's peer (WAJAH_ICE_SERVERS, JSON; default none: host candidates only). */
  iceServers: IceServer[];
  /** Behind a TLS-terminating reverse proxy: client IP, protocol and host from X-Forwarded-* (WAJAH_TRUST_PROXY). */
  /**
   * Which proxies in front may name the client in X-Forwarded-For: false (none), a number of hops (1: the
   * one reverse proxy in front), or a comma list of proxy addresses or CIDRs. Never "every hop": the
   * leftmost X-Forwarded-For entry is whatever the caller wrote.
   */
  trustProxy: false | number | string;
  /** Public URL of the OpenID Provider, ending in /oidc (WAJAH_SSO_ISSUER; default http://localhost:PORT/oidc). */
  ssoIssuer: string | null;
  /** Ed25519 key signing offline packages (WAJAH_OFFLINE_SIGNING_KEY; default: generated into the data dir). */
  offlineSigningKey: string | null;
}

/** One RTCIceServer entry, as the browser's RTCPeerConnection takes it. */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** An http(s) URL whose path is the provider's mount, /oidc (src/sso: SSO_MOUNT_PATH). */
function isIssuer(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.pathname.replace(/\/$/, '') === '/oidc';
  } catch {
    return false;
  }
}

function isSigningKey(value: string): boolean {
  try {
    parseSigningKey(value);
    return true;
  } catch {
    return false;
  }
}

export class ConfigError extends Error {
  public readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function int(env: NodeJS.ProcessEnv, name: string, def: number, min: number, max: number, problems: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
    return def;
  }
  return n;
}

/**
 * WAJAH_TRUST_PROXY: 1 / true (the one proxy in front: the client is the address it appended to
 * X-Forwarded-For), a hop count, or a comma list of the proxies' addresses or CIDRs; 0 / false / unset: none.
 */
function proxyTrust(env: NodeJS.ProcessEnv, problems: string[]): false | number | string {
  const raw = env.WAJAH_TRUST_PROXY?.trim();
  if (!raw || /^(0|false|no|off)$/i.test(raw)) return false;
  if (/^(true|yes|on)$/i.test(raw)) return 1;
  if (/^\d{1,2}$/.test(raw)) return Number(raw);
  const list = raw.split(',').map((s) => s.trim());
  if (list.every((a) => /^[0-9a-f.:]+(\/\d{1,3})?$/i.test(a))) return list.join(',');
  problems.push(`WAJAH_TRUST_PROXY must be 1, a number of proxy hops, or a comma list of proxy addresses or CIDRs (got "${raw}")`);
  return false;
}

function bool(env: NodeJS.ProcessEnv, name: string, def: boolean, problems: string[]): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  problems.push(`${name} must be 1 or 0 (got "${raw}")`);
  return def;
}

/** Parse the environment once; every bad variable is listed in one ConfigError. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<AppConfig> = {}): AppConfig {
  const problems: string[] = [];
  const port = int(env, 'PORT', 8000, 0, 65535, problems);
  const databaseUrl = env.DATABASE_URL || null;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL must start with postgres:// or postgresql://');
  }
  const redisUrl = env.REDIS_URL || null;
  if (redisUrl && !/^rediss?:\/\//.test(redisUrl)) problems.push('REDIS_URL must start with redis:// or rediss://');
  const adminToken = env.WAJAH_ADMIN_TOKEN || null;
  if (adminToken && adminToken.length < 16) problems.push('WAJAH_ADMIN_TOKEN must be at least 16 characters');
  const masterKey = env.WAJAH_MASTER_KEY || null;
  if (masterKey && !isKey(masterKey)) {
    problems.push('WAJAH_MASTER_KEY must be 32 bytes as 64 hex characters or base64');
  }
  const masterKeyPrevious = (env.WAJAH_MASTER_KEY_PREVIOUS || '').split(',').map((k) => k.trim()).filter(Boolean);
  if (masterKeyPrevious.some((k) => !isKey(k))) problems.push('WAJAH_MASTER_KEY_PREVIOUS must be a comma-separated list of 32-byte keys (64 hex characters or base64)');
  if (masterKeyPrevious.length && !masterKey) problems.push('WAJAH_MASTER_KEY_PREVIOUS needs WAJAH_MASTER_KEY (the new key) to be set');
  // Checked here, before anything opens: a bad value was a stack trace after the database and the models had loaded.
  const ssoIssuer = env.WAJAH_SSO_ISSUER || null;
  if (ssoIssuer && !isIssuer(ssoIssuer)) problems.push(`WAJAH_SSO_ISSUER must be the provider's public http(s) URL ending in /oidc, e.g. https://id.example.com/oidc (got "${ssoIssuer}")`);
  const offlineSigningKey = env.WAJAH_OFFLINE_SIGNING_KEY || null;
  if (offlineSigningKey && !isSigningKey(offlineSigningKey)) problems.push('WAJAH_OFFLINE_SIGNING_KEY must be an Ed25519 PKCS#8 PEM or its 32-byte seed (64 hex characters or base64)');
  const logLevel = (env.LOG_LEVEL || 'info') as AppConfig['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  const cores = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  const workers = int(env, 'WAJAH_WORKERS', cores, 0, 64, problems);
  const queueSize = int(env, 'WAJAH_QUEUE_SIZE', 64, 1, 100000, problems);
  const bodyLimit = int(env, 'WAJAH_BODY_LIMIT', 10 * 1024 * 1024, 1024, 200 * 1024 * 1024, problems);
  const analyticsTimeoutMs = int(env, 'WAJAH_ANALYTICS_TIMEOUT_MS', 15000, 0, 3600 * 1000, problems);
  const keyGraceSeconds = int(env, 'WAJAH_KEY_GRACE_SECONDS', 24 * 3600, 0, 365 * 24 * 3600, problems);
  const webhooks = bool(env, 'WAJAH_WEBHOOKS', true, problems);
  const webhookAllowPrivate = bool(env, 'WAJAH_WEBHOOK_ALLOW_PRIVATE', true, problems);
  const webhookPollMs = int(env, 'WAJAH_WEBHOOK_POLL_MS', 500, 10, 60000, problems);
  const webhookTimeoutMs = int(env, 'WAJAH_WEBHOOK_TIMEOUT_MS', 10000, 100, 120000, problems);
  const iceServers = iceServerList(env.WAJAH_ICE_SERVERS, problems);
  const trustProxy = proxyTrust(env, problems);
  const shutdownTimeoutMs = int(env, 'WAJAH_SHUTDOWN_TIMEOUT_MS', 10000, 1000, 600000, problems);
  const shutdownDelayMs = int(env, 'WAJAH_SHUTDOWN_DELAY_MS', 0, 0, 600000, problems);
  // The delay is spent inside the deadline; the close after it needs some of the deadline too.
  if (shutdownDelayMs > 0 && shutdownDelayMs > shutdownTimeoutMs - 1000) {
    problems.push(`WAJAH_SHUTDOWN_DELAY_MS (${shutdownDelayMs}) must be at least 1000 below WAJAH_SHUTDOWN_TIMEOUT_MS (${shutdownTimeoutMs}): the delay is part of the shutdown deadline`);
  }
  if (problems.length) throw new ConfigError(problems);
  return Object.freeze({
    port,
    host: env.HOST || '0.0.0.0',
    basePath: '/api' as const,
    dataDir: path.resolve(env.WAJAH_DATA_DIR || './data'),
    databaseUrl,
    redisUrl,
    adminToken,
    metricsToken: env.WAJAH_METRICS_TOKEN || null,
    masterKey,
    masterKeyPrevious,
    logLevel,
    workers,
    queueSize,
    bodyLimit,
    analyticsTimeoutMs,
    keyGraceSeconds,
    version: '1.0.0',
    webhooks,
    webhookAllowPrivate,
    webhookPollMs,
    webhookTimeoutMs,
    iceServers,
    trustProxy,
    ssoIssuer,
    offlineSigningKey,
    shutdownTimeoutMs,
    shutdownDelayMs,
    ...overrides,
  });
}

/** WAJAH_ICE_SERVERS: a JSON array of {urls, username?, credential?} (stun:/turn:/turns: URLs). */
function iceServerList(raw: string | undefined, problems: string[]): IceServer[] {
  if (raw === undefined || raw.trim() === '') return [];
  const bad = () => problems.push('WAJAH_ICE_SERVERS must be a JSON array of {"urls": "stun:…" | ["turn:…"], "username"?, "credential"?}');
  let list: unknown;
  try {
    list = JSON.parse(raw);
  } catch {
    bad();
    return [];
  }
  const url = (u: unknown) => typeof u === 'string' && /^(stun|turn|turns):/.test(u);
  const ok =
    Array.isArray(list) &&
    list.every((s: Record<string, unknown>) =>
      typeof s === 'object' && s !== null &&
      (url(s.urls) || (Array.isArray(s.urls) && s.urls.length > 0 && s.urls.every(url))) &&
      (s.username === undefined || typeof s.username === 'string') &&
      (s.credential === undefined || typeof s.credential === 'string'));
  if (!ok) {
    bad();
    return [];
  }
  return (list as IceServer[]).map((s) => ({ urls: s.urls, ...(s.username !== undefined ? { username: s.username } : {}), ...(s.credential !== undefined ? { credential: s.credential } : {}) }));
}

export function isKey(value: string): boolean {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return true;
  try {
    return Buffer.from(value, 'base64').length === 32;
  } catch {
    return false;
  }
}

/** Where shared face data lives for tests, eval and bench (WAJAH_TEST_DATA overrides). */
export function testDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.WAJAH_TEST_DATA || path.join(import.meta.dirname, '../../../shared/data'));
}
