import { pino, type Logger } from 'pino';
import type { AppConfig } from '../config/env.ts';
import { errSerializer } from '../api/error-format.ts';

/** What services log through (Core.log): a message, and optional fields that become JSON keys. */
export interface ServiceLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * The server's one pino logger: JSON lines, credentials redacted, errors without SQL parameters or
 * row values (docs/errors.md). Fastify logs requests through it (`reqId` on every line of a request);
 * services log through `serviceLog(logger)` with the same format.
 */
export function createLogger(config: Pick<AppConfig, 'logLevel'>, stream?: { write(line: string): void }): Logger {
  const options = {
    level: config.logLevel,
    redact: {
      paths: ['req.headers.authorization', 'req.headers["x-session-token"]', 'req.headers["x-admin-token"]', 'req.headers["x-api-key"]'],
      censor: '[redacted]',
    },
    serializers: { err: errSerializer },
  };
  return stream ? pino(options, stream as pino.DestinationStream) : pino(options);
}

export function serviceLog(logger: Logger): ServiceLog {
  return {
    info: (msg, fields) => logger.info(fields ?? {}, msg),
    warn: (msg, fields) => logger.warn(fields ?? {}, msg),
    error: (msg, fields) => logger.error(fields ?? {}, msg),
  };
}
