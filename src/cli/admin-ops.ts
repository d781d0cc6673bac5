import { parseKey } from '../crypto/template-cipher.ts';
import { Metrics } from '../observability/metrics.ts';
import fs from 'node:fs';
import path from 'node:path';
import type { AppConfig } from '../config/env.ts';
import { lazyMasterKey, type Core } from '../container.ts';
import { openDatabase } from '../db/database.ts';
import { lockOwner } from '../db/data-dir-lock.ts';
import { isAppError } from '../errors.ts';
import { createFoundationServices } from '../services/foundation.ts';
import type { ClientView, CreateClientInput, IssuedCredentials, KeyView, NewKeyInput } from '../services/clients.service.ts';
import { findRunningServer, localUrl, type RuntimeInfo } from './runtime-file.ts';
import { createCompreFaceKeys, type CompreFaceKeysService, type CompreFaceService, type IssuedCompreFaceKey } from '../services/compreface/keys.service.ts';

/** A CompreFace service key as listed (never its secret). */
export type CompreFaceKeyView = Awaited<ReturnType<CompreFaceKeysService['list']>>[number];

/** The operator operations the CLI offers, either through a running server's admin API or directly on the database. */
export interface AdminOps {
  readonly mode: 'api' | 'direct';
  readonly target: string;
  createClient(input: CreateClientInput): Promise<IssuedCredentials>;
  listClients(): Promise<ClientView[]>;
  createKey(clientId: string, input: NewKeyInput): Promise<IssuedCredentials>;
  revokeKey(key: string): Promise<KeyView>;
  rotateKey(key: string, graceSeconds?: number): Promise<IssuedCredentials & { replaces: string; old_key_expires_at: string }>;
  /** CompreFace-compatible API keys (docs/compreface.md): one per service; revoked like any key (revokeKey). */
  issueCompreFaceKey(clientId: string, service: CompreFaceService, name: string | null): Promise<IssuedCompreFaceKey>;
  listCompreFaceKeys(clientId: string): Promise<CompreFaceKeyView[]>;
  close(): Promise<void>;
}

export class CliError extends Error {
  readonly code: string;
  constructor(
    code: string,
    message: string,
  ) {
    super(message);
    this.code = code;
  }
}

/**
 * The rule: `--url`/WAJAH_URL → that server's admin API. Otherwise, if a server is running on this
 * data directory (its runtime file `server.json` names a live pid) → its admin API on 127.0.0.1
 * with WAJAH_ADMIN_TOKEN or the local token from that file. Otherwise → the database directly
 * (embedded PGlite in WAJAH_DATA_DIR, or DATABASE_URL).
 */
export async function connectAdmin(config: AppConfig, opts: { url?: string; env?: NodeJS.ProcessEnv; init?: boolean; waitMs?: number }): Promise<AdminOps> {
  const env = opts.env ?? process.env;
  const url = opts.url || env.WAJAH_URL;
  if (url) {
    if (!config.adminToken) throw new CliError('ADMIN_TOKEN_REQUIRED', 'Set WAJAH_ADMIN_TOKEN to use the admin API of a remote server');
    return new ApiOps(url.replace(/\/+$/, '').replace(/(\/api)?$/, '/api'), config.adminToken);
  }
  let running = findRunningServer(config.dataDir) ?? (await waitForStartingServer(config.dataDir, opts.waitMs ?? 120_000));
  if (!running && !config.databaseUrl && !opts.init && !fs.existsSync(path.join(config.dataDir, 'pg', 'PG_VERSION'))) {
    // No database yet: a server launched a moment ago (`npm start &` then the CLI) may not hold the lock
    // yet. Give it a few seconds to appear before saying there is no database here.
    const until = Date.now() + (Number(env.WAJAH_CLI_START_WAIT_MS) || 10_000);
    while (Date.now() < until && !lockOwner(config.dataDir)) await new Promise((r) => setTimeout(r, 250));
    running = await waitForStartingServer(config.dataDir, opts.waitMs ?? 120_000);
  }
  if (running) return new ApiOps(localUrl(running), config.adminToken ?? running.token, running.token);
  return DirectOps.open(config, opts.init ?? false);
}

/**
 * A server that holds the data directory's lock but has not written server.json yet is starting
 * (migrations, models): wait for it rather than open its database behind its back.
 */
async function waitForStartingServer(dataDir: string, waitMs: number): Promise<RuntimeInfo | null> {
  const owner = lockOwner(dataDir);
  if (!owner || owner.kind !== 'server') return null;
  console.error(`wajah: the server (pid ${owner.pid}) on ${dataDir} is starting; waiting for it…`);
  const until = Date.now() + waitMs;
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 250));
    const running = findRunningServer(dataDir);
    if (running) return running;
    if (!lockOwner(dataDir)) return null; // it stopped: open the database ourselves
  }
  throw new CliError('SERVER_NOT_READY', `The server (pid ${owner.pid}) on ${dataDir} did not become ready within ${Math.round(waitMs / 1000)} s`);
}

/** A JSON object, or null for anything else (not JSON, or JSON that is not an object). */
function parseObject(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

class ApiOps implements AdminOps {
  readonly mode = 'api' as const;
  private readonly base: string;
  private readonly token: string;
  private readonly fallbackToken?: string;
  constructor(
    base: string,
    token: string,
    fallbackToken?: string,
  ) {
    this.base = base; this.token = token; this.fallbackToken = fallbackToken;
  }

  get target(): string {
    return this.base;
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const attempt = async (token: string) => {
      try {
        return await fetch(`${this.base}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            'x-wajah-actor': 'cli',
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          body: body !== undefined ? JSON.stringify(body) : undefined,
        });
      } catch (e) {
        throw new CliError('SERVER_UNREACHABLE', `Cannot reach the server at ${this.base} (${(e as Error).message})`);
      }
    };
    let res = await attempt(this.token);
    // WAJAH_ADMIN_TOKEN of this shell may differ from the server's: the local token still works.
    if (res.status === 401 && this.fallbackToken && this.fallbackToken !== this.token) res = await attempt(this.fallbackToken);
    const text = await res.text();
    const json = text ? parseObject(text) : {};
    if (!json) {
      // A proxy's error page, a wrong --url: say so with a stable code, never a JSON parser's stack trace.
      throw new CliError('UNEXPECTED_RESPONSE', `${method} ${this.base}${path} answered HTTP ${res.status} without the admin API's JSON (${text.slice(0, 120).replace(/\s+/g, ' ').trim()}); check --url / WAJAH_URL`);
    }
    if (!res.ok) throw new CliError(String(json.code ?? res.status), String(json.message ?? text));
    return json as T;
  }

  createClient(input: CreateClientInput) {
    return this.#call<IssuedCredentials>('POST', '/admin/clients/', input);
  }

  async listClients() {
    const all: ClientView[] = [];
    for (let page = 1; ; page++) {
      const res = await this.#call<{ results: ClientView[]; total_pages: number }>('GET', `/admin/clients/?page=${page}&page_size=100`);
      all.push(...res.results);
      if (page >= res.total_pages) return all;
    }
  }

  createKey(clientId: string, input: NewKeyInput) {
    return this.#call<IssuedCredentials>('POST', `/admin/clients/${encodeURIComponent(clientId)}/keys/`, input);
  }

  revokeKey(key: string) {
    return this.#call<KeyView>('POST', `/admin/keys/${encodeURIComponent(key)}/revoke/`);
  }

  rotateKey(key: string, graceSeconds?: number) {
    return this.#call<IssuedCredentials & { replaces: string; old_key_expires_at: string }>(
      'POST',
      `/admin/keys/${encodeURIComponent(key)}/rotate/`,
      graceSeconds === undefined ? {} : { grace_seconds: graceSeconds },
    );
  }

  issueCompreFaceKey(clientId: string, service: CompreFaceService, name: string | null) {
    return this.#call<IssuedCompreFaceKey>('POST', `/admin/clients/${encodeURIComponent(clientId)}/compreface-keys/`, { service, ...(name ? { name } : {}) });
  }

  async listCompreFaceKeys(clientId: string) {
    return (await this.#call<{ keys: CompreFaceKeyView[] }>('GET', `/admin/clients/${encodeURIComponent(clientId)}/compreface-keys/`)).keys;
  }

  async close() {}
}

class DirectOps implements AdminOps {
  readonly mode = 'direct' as const;
  readonly target: string;
  private readonly core: Core;
  private readonly services: Awaited<ReturnType<typeof createFoundationServices>>;
  private constructor(
    target: string,
    core: Core,
    services: Awaited<ReturnType<typeof createFoundationServices>>,
  ) {
    this.target = target; this.core = core; this.services = services;
  }

  static async open(config: AppConfig, init: boolean): Promise<DirectOps> {
    const pgDir = `${config.dataDir}/pg`;
    // Never create a database by accident (a mistyped --data-dir): the server's first start does, or --init.
    if (!config.databaseUrl && !init && !fs.existsSync(path.join(pgDir, 'PG_VERSION'))) {
      throw new CliError('NO_DATABASE', `No Wajah database in ${path.resolve(config.dataDir)}: start the server once there (npm start), check --data-dir / WAJAH_DATA_DIR, or pass --init to create one`);
    }
    let database;
    try {
      database = await openDatabase({ databaseUrl: config.databaseUrl, pgliteDir: pgDir, lockKind: 'cli' });
    } catch (e) {
      if (isAppError(e) && e.code === 'DATA_DIR_LOCKED') throw new CliError('DATA_DIR_LOCKED', e.message);
      throw e;
    }
    const log = { info: () => {}, warn: (m: string) => console.error(m), error: (m: string) => console.error(m) };
    const core: Core = { config, database, redis: null, engine: null, log, masterKey: lazyMasterKey(config, log), previousMasterKeys: config.masterKeyPrevious.map(parseKey), metrics: new Metrics({ defaultMetrics: false }) };
    const services = await createFoundationServices(core);
    return new DirectOps(database.dialect === 'postgres' ? 'PostgreSQL (DATABASE_URL)' : `${config.dataDir}/pg`, core, services);
  }

  #by = { actor: 'cli' as const, ip: null };

  createClient(input: CreateClientInput) {
    return this.services.clients.create(input, this.#by);
  }

  async listClients() {
    const all: ClientView[] = [];
    for (let page = 1; ; page++) {
      const res = await this.services.clients.list(page, 100);
      all.push(...res.results);
      if (page >= res.total_pages) return all;
    }
  }

  async createKey(clientId: string, input: NewKeyInput) {
    const { key: _k, ...rest } = await this.services.clients.createKey(clientId, input, this.#by);
    return rest;
  }

  revokeKey(key: string) {
    return this.services.clients.revokeKey(key, this.#by);
  }

  async rotateKey(key: string, graceSeconds?: number) {
    const { key: _k, ...rest } = await this.services.clients.rotateKey(key, { grace_seconds: graceSeconds }, this.#by);
    return rest;
  }

  get #compreFaceKeys() {
    return createCompreFaceKeys(this.core.database.db, this.services);
  }

  issueCompreFaceKey(clientId: string, service: CompreFaceService, name: string | null) {
    return this.#compreFaceKeys.issue(clientId, service, name, this.#by);
  }

  listCompreFaceKeys(clientId: string) {
    return this.#compreFaceKeys.list(clientId);
  }

  async close() {
    await this.services.close();
    await this.core.database.close();
  }
}
