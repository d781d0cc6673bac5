import { after, before } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { loadConfig, type AppConfig } from '../../src/config/env.ts';
import { createContainer, type Container } from '../../src/container.ts';
import { buildApp } from '../../src/app.ts';
import { createBackend, type Backend } from './backends.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestApp {
  app: FastifyInstance;
  container: Container;
  config: AppConfig;
  backend: Backend;
}

/**
 * Registers before/after hooks that build the app on one backend and returns a getter.
 * @example const t = useTestApp('postgres', { engine: false }); test('x', async () => t().app.inject(...))
 */
export function useTestApp(
  backendName: Backend['name'],
  options: { engine?: boolean; env?: NodeJS.ProcessEnv; config?: Partial<AppConfig> } = {},
): () => TestApp {
  let current: TestApp | undefined;
  before(async () => {
    const backend = await createBackend(backendName);
    const config = loadConfig(
      { LOG_LEVEL: 'silent', WAJAH_ADMIN_TOKEN: ADMIN_TOKEN, WAJAH_WORKERS: options.engine ? '1' : '0', ...options.env, ...(backend.databaseUrl ? { DATABASE_URL: backend.databaseUrl } : {}) },
      options.config,
    );
    const container = await createContainer(config, { engine: options.engine ?? false, pgliteDir: 'memory://', log: quietLog });
    const app = await buildApp(config, container);
    await app.ready();
    current = { app, container, config, backend };
  });
  after(async () => {
    if (!current) return;
    await current.app.close();
    await current.container.close();
    await current.backend.cleanup();
  });
  return () => {
    if (!current) throw new Error('test app not started');
    return current;
  };
}

const quietLog = { info: () => {}, warn: () => {}, error: (m: string) => console.error(m) };

/**
 * Registers before/after hooks that start `count` API instances on one fresh PostgreSQL database and one
 * Redis (REDIS_URL), as behind a load balancer, each waiting until its Redis connection is ready; returns
 * their apps and containers (filled in before the first test).
 * @example const { apps } = useInstances(2, { redisUrl: REDIS }); test('x', async () => { const [a, b] = apps; … })
 */
export function useInstances(count: number, options: { redisUrl: string; engine?: boolean; env?: NodeJS.ProcessEnv }): { apps: FastifyInstance[]; containers: Container[] } {
  let backend: Backend | undefined;
  const apps: FastifyInstance[] = [];
  const containers: Container[] = [];
  before(async () => {
    backend = await createBackend('postgres');
    for (let i = 0; i < count; i++) {
      const config = loadConfig({ LOG_LEVEL: 'silent', WAJAH_ADMIN_TOKEN: ADMIN_TOKEN, WAJAH_WORKERS: options.engine ? '1' : '0', ...options.env, DATABASE_URL: backend.databaseUrl!, REDIS_URL: options.redisUrl });
      const container = await createContainer(config, { engine: options.engine ?? false, log: quietLog });
      const app = await buildApp(config, container);
      await app.ready();
      for (let w = 0; w < 50 && container.redis!.status !== 'ready'; w++) await new Promise((r) => setTimeout(r, 50));
      containers.push(container);
      apps.push(app);
    }
  });
  after(async () => {
    for (const app of apps) await app.close();
    for (const c of containers) await c.close();
    await backend?.cleanup();
  });
  return { apps, containers };
}
