import { loadConfig, ConfigError } from './config/env.ts';
import { createContainer } from './container.ts';
import { buildApp } from './app.ts';
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import { removeRuntimeFile, writeRuntimeFile } from './cli/runtime-file.ts';
import { privateUmask, securePrivateDir } from './config/private-files.ts';
import { isAppError } from './errors.ts';
import { createLogger, serviceLog } from './observability/logger.ts';


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
  privateUmask();
  try {
    securePrivateDir(config.dataDir);
    fs.accessSync(config.dataDir, fs.constants.W_OK);
  } catch (e) {
    // A read-only mount, a missing parent or a directory of another user: one line, nothing started.
    console.error(`Invalid configuration:\n  - WAJAH_DATA_DIR (${config.dataDir}) must be a directory this process can create and write: ${(e as Error).message}`);
    process.exit(78);
  }
  // One JSON logger for the HTTP layer and the services (start-up progress, webhook deliveries, …).
  const logger = createLogger(config);
  const container = await createContainer(config, { log: serviceLog(logger) });
  // The CLI reaches this server's admin API with a per-start local token from the runtime file.
  container.foundation.runtime.localAdminToken = crypto.randomBytes(24).toString('base64url');
  const app = await buildApp(config, container, { logger });
  app.addHook('onClose', async () => {
    removeRuntimeFile(config.dataDir);
    await container.close();
  });
  process.on('exit', () => removeRuntimeFile(config.dataDir));
  // serving → delaying (SIGTERM with WAJAH_SHUTDOWN_DELAY_MS: /readyz 503, everything else served) → closing.
  let phase: 'serving' | 'delaying' | 'closing' = 'serving';
  let endDelay = (): void => {};
  const shutdown = async (signal: NodeJS.Signals): Promise<void> => {
    const startedAt = Date.now();
    phase = 'delaying';
    container.foundation.status.beginShutdown();
    // Bounded whatever a dependency does (a Redis that stopped answering, a stuck query, a receiver
    // that holds a webhook open): past the deadline, counted from the signal, the process exits anyway.
    setTimeout(() => {
      app.log.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown did not finish in time; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
    // A load balancer (Kubernetes endpoints, an LB polling /readyz) stops routing here some seconds after the
    // signal: until then the server keeps accepting and serving, and only /readyz says it is leaving. Ctrl-C
    // (SIGINT) in a terminal has no load balancer to wait for; a second signal ends the delay.
    const delayMs = signal === 'SIGTERM' ? config.shutdownDelayMs : 0;
    app.log.info({ signal, delayMs }, 'shutting down');
    if (delayMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        endDelay = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    phase = 'closing';
    // From here as before: stop accepting (open WebSocket streams get 1001 now, in the plugin's preClose).
    // In-flight requests get the first half of what is left of the deadline to finish. A connection still open
    // then (a client trickling an upload, or never reading its answer) is cut, so that the rest of the shutdown
    // (webhook claims handed back, the database closed cleanly) still runs within the deadline.
    const drainMs = Math.floor((config.shutdownTimeoutMs - (Date.now() - startedAt)) / 2);
    const drain = setTimeout(() => {
      app.log.warn({ drainMs }, 'shutdown: requests still open after the drain window; closing their connections');
      app.server.closeAllConnections();
    }, drainMs).unref();
    try {
      await app.close();
    } catch (err) {
      app.log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
    clearTimeout(drain);
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (phase === 'serving') void shutdown(signal);
      else if (phase === 'delaying') {
        app.log.info({ signal }, 'shutting down: second signal, the rest of the delay is skipped');
        endDelay();
      }
    });
  }
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (e) {
    // A port taken by another process (or a HOST this machine does not have): one line naming the variables,
    // after the database and the workers are closed.
    const code = (e as NodeJS.ErrnoException).code;
    const hint = ['ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL'].includes(code ?? '')
      ? `HOST (${config.host}) is not an address of this machine: set HOST to one of its addresses, 0.0.0.0 for all of them, or 127.0.0.1`
      : 'Stop the process that holds the port, or set PORT to a free one';
    console.error(`Cannot listen on ${config.host}:${config.port} (HOST, PORT): ${(e as Error).message}. ${hint}.`);
    await Promise.race([app.close().catch(() => {}), new Promise((r) => setTimeout(r, config.shutdownTimeoutMs).unref())]);
    process.exit(1);
  }
  const port = (app.server.address() as AddressInfo).port;
  writeRuntimeFile(config.dataDir, {
    pid: process.pid,
    port,
    host: config.host,
    token: container.foundation.runtime.localAdminToken,
    database: container.database.dialect,
    started_at: new Date().toISOString(),
  });
  app.log.info(
    `ready: Wajah ${config.version} on http://${config.host}:${port}${config.basePath} (database: ${container.database.dialect}, redis: ${config.redisUrl ? 'on' : 'off'})`,
  );
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    // Found after the configuration was read (the master key file's contents): as a bad variable is.
    console.error(err.message);
    process.exit(78);
  }
  if (isAppError(err)) {
    // A refusal to start (DATA_DIR_LOCKED, a key that does not fit the data, …): one clear line.
    console.error(`${err.code}: ${err.message}`);
    process.exit(1);
  }
  console.error(err);
  process.exit(1);
});
