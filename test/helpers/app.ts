import { after, before } from 'node:test';
import { FormatRegistry, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { FastifyInstance } from 'fastify';
import { loadConfig, type AppConfig } from '../../src/config/env.ts';
import { createContainer, type Container } from '../../src/container.ts';
import { buildApp } from '../../src/app.ts';
import { WebhookEventPayloads } from '../../src/api/webhook-events.schemas.ts';
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
  options: { engine?: boolean; env?: NodeJS.ProcessEnv; config?: Partial<AppConfig>; /** The test writes partial event rows of its own: skip checkEventPayloads. */ rawEvents?: boolean } = {},
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
    const bad = options.rawEvents ? [] : await eventsOffContract(current.container);
    await current.app.close();
    await current.container.close();
    await current.backend.cleanup();
    // Not thrown: a throwing after hook stops the file's other after hooks (a browser left open kept the file
    // running for minutes). The file fails by its exit code, with the findings printed.
    if (bad.length) {
      console.error(`every event the server wrote must have exactly the fields of its schema (src/api/webhook-events.schemas.ts):\n  ${bad.join('\n  ')}`);
      process.exitCode = 1;
    }
  });
  return () => {
    if (!current) throw new Error('test app not started');
    return current;
  };
}

/**
 * The events a test's flows wrote that do not fit the published payload schemas (the OpenAPI component
 * WebhookEventPayloads, the JS SDK's types): a field added, renamed or of another type on the way out.
 */
async function eventsOffContract(container: Container): Promise<string[]> {
  if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', (v) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(v) && !Number.isNaN(Date.parse(v)));
  checkers ??= new Map(Object.entries(WebhookEventPayloads.properties as Record<string, TSchema>).map(([event, schema]) => [event, TypeCompiler.Compile(schema)]));
  const rows = await container.database.db.selectFrom('events').select(['event_type', 'payload']).execute();
  const bad: string[] = [];
  for (const r of rows) {
    const check = checkers.get(r.event_type);
    const data: unknown = typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload;
    if (!check) bad.push(`${r.event_type}: no schema`);
    else if (!check.Check(data)) bad.push(...[...check.Errors(data)].slice(0, 3).map((e) => `${r.event_type}${e.path}: ${e.message} (${JSON.stringify(e.value)})`));
    if (bad.length >= 10) break; // enough to say what is wrong
  }
  return bad;
}
let checkers: Map<string, TypeCheck<TSchema>> | undefined;

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
