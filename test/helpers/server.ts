import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import type { AppConfig } from '../../src/config/env.ts';
import { createContainer, type Container } from '../../src/container.ts';

/** A whole server in this process (container + app, not listening), as `npm start` builds it, and its stop. */
export interface Server {
  app: FastifyInstance;
  container: Container;
  stop(): Promise<void>;
}

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

/**
 * Starts a server on `config` (several can share one database: instances behind a load balancer, or a rolling
 * restart with other keys).
 *
 * @example const s = await startServer(loadConfig({ ...process.env, DATABASE_URL: url, WAJAH_MASTER_KEY: key }), { engine: false });
 */
export async function startServer(config: AppConfig, options: { engine: boolean }): Promise<Server> {
  const container = await createContainer(config, { engine: options.engine, log: quiet });
  const app = await buildApp(config, container);
  await app.ready();
  return { app, container, stop: async () => (await app.close(), await container.close()) };
}
