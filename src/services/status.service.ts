import type { Redis } from 'ioredis';
import type { DatabaseHandle } from '../db/database.ts';
import type { FaceEngine } from '../vision/types.ts';

export type ServiceState = 'online' | 'offline' | 'disabled' | 'starting' | 'degraded';

/** GET /api/core/status/ (guide "Test Connectivity"). */
export interface SystemStatus {
  status: 'healthy' | 'degraded' | 'unhealthy';
  version: string;
  timestamp: string;
  services: { database: ServiceState; redis: ServiceState; face_recognition: ServiceState };
}

/**
 * Real health checks: a database round trip, a Redis PING (bounded by a timeout), and the face
 * engine's own state. unhealthy = the database is down; degraded = a configured dependency is not
 * online; 'disabled' (Redis not configured, or started without the face engine) does not degrade.
 */
export class StatusService {
  private readonly deps: { version: string; database: DatabaseHandle; redis: Redis | null; engine: () => FaceEngine | null };
  private readonly timeoutMs: number;
  constructor(
    deps: { version: string; database: DatabaseHandle; redis: Redis | null; engine: () => FaceEngine | null },
    timeoutMs = 1000,
  ) {
    this.deps = deps; this.timeoutMs = timeoutMs;
  }

  #shuttingDown = false;

  /**
   * The server got SIGTERM/SIGINT (or app.close() began): from now on /readyz answers 503 `shutting_down`,
   * also during WAJAH_SHUTDOWN_DELAY_MS while the server still serves every request. One way only.
   * @example foundation.status.beginShutdown(); foundation.status.shuttingDown // true
   */
  beginShutdown(): void {
    this.#shuttingDown = true;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  async check(): Promise<SystemStatus> {
    const [database, redis] = await Promise.all([this.#database(), this.#redis()]);
    const face = this.#engine();
    const status = database !== 'online' ? 'unhealthy' : [redis, face].every((s) => s === 'online' || s === 'disabled') ? 'healthy' : 'degraded';
    return {
      status,
      version: this.deps.version,
      timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      services: { database, redis, face_recognition: face },
    };
  }

  async #database(): Promise<ServiceState> {
    return (await withTimeout(this.deps.database.ping(), this.timeoutMs, false)) ? 'online' : 'offline';
  }

  async #redis(): Promise<ServiceState> {
    const redis = this.deps.redis;
    if (!redis) return 'disabled';
    try {
      const pong = await withTimeout(redis.ping(), this.timeoutMs, null);
      return pong === 'PONG' ? 'online' : 'offline';
    } catch {
      return 'offline';
    }
  }

  #engine(): ServiceState {
    const engine = this.deps.engine();
    if (!engine) return 'disabled';
    try {
      return engine.status().state;
    } catch {
      return 'offline';
    }
  }
}

function withTimeout<T, F>(p: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(fallback), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      () => {
        clearTimeout(timer);
        resolve(fallback);
      },
    );
  });
}
