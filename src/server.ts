import { loadConfig, ConfigError } from './config/env.ts';
import { createContainer } from './container.ts';
import { buildApp } from './app.ts';

/** Entry point: validate config, open the container, listen, and shut down cleanly on signals. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(78);
    }
    throw e;
  }
  const container = await createContainer(config);
  const app = await buildApp(config, container);
  app.addHook('onClose', async () => container.close());
  let closing = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (closing) return;
      closing = true;
      app.log.info({ signal }, 'shutting down');
      app.close().then(
        () => process.exit(0),
        (err: unknown) => {
          app.log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
  await app.listen({ port: config.port, host: config.host });
  app.log.info(
    `Wajah ${config.version} on http://${config.host}:${config.port}${config.basePath} (database: ${container.database.dialect}, redis: ${config.redisUrl ? 'on' : 'off'})`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
