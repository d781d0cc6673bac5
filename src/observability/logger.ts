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
    serializers: { err: errSerializer, req: reqSerializer },
  };
  return stream ? pino(options, stream as pino.DestinationStream) : pino(options);
}

/** Query parameters whose values never reach a log line (the API takes none; a page's form might send one). */
const SECRET_PARAM = /token|secret|key|password|passwd|pin|code/i;

/**
 * A request as Fastify logs it, with secret-looking query values censored: a browser that submitted a
 * sign-in form before the page's script had bound it sent `?token=…` in the URL.
 */
function reqSerializer(req: { method?: string; url?: string; host?: string; ip?: string; socket?: { remotePort?: number } }) {
  return { method: req.method, url: censorQuery(req.url ?? ''), host: req.host, remoteAddress: req.ip, remotePort: req.socket?.remotePort };
}

function censorQuery(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  let changed = false;
  for (const name of new Set(params.keys())) {
    if (SECRET_PARAM.test(name)) {
      params.set(name, '[redacted]');
      changed = true;
    }
  }
  return changed ? `${url.slice(0, q)}?${params.toString()}` : url;
}

export function serviceLog(logger: Logger): ServiceLog {
  return {
    info: (msg, fields) => logger.info(fields ?? {}, msg),
    warn: (msg, fields) => logger.warn(fields ?? {}, msg),
    error: (msg, fields) => logger.error(fields ?? {}, msg),
  };
}
