import Fastify, { type FastifyInstance, type FastifyError, type FastifyBaseLogger } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import multipart from '@fastify/multipart';
import type { AppConfig } from './config/env.ts';
import { AppError, ERROR_CODES, appError, isAppError } from './errors.ts';
import type { Container } from './container.ts';
import { authPlugin } from './api/auth.plugin.ts';
import { statusRoutes } from './api/status.routes.ts';
import { adminRoutes } from './api/admin.routes.ts';
import { backupRoutes } from './api/backup.routes.ts';
import { usersRoutes } from './api/users.routes.ts';
import { enrollmentRoutes } from './api/enrollment.routes.ts';
import { authenticationRoutes } from './api/authentication.routes.ts';
import { webhooksRoutes } from './api/webhooks.routes.ts';
import { analyticsRoutes } from './api/analytics.routes.ts';
import { offlineRoutes } from './api/offline.routes.ts';
import { fallbackRoutes } from './api/fallback.routes.ts';
import { reviewRoutes } from './api/review.routes.ts';
import { ssoRoutes } from './api/sso.routes.ts';
import { streamingRoutes } from './api/streaming.routes.ts';
import { oidcPlugin } from './sso/oidc.plugin.ts';
import { requestTimingPlugin } from './api/request-timing.plugin.ts';
import { recognitionWsPlugin } from './ws/recognition.plugin.ts';
import fastifyStatic from '@fastify/static';
import { SECURITY_HEADERS } from './api/security-headers.ts';
import { fileURLToPath } from 'node:url';
import { createReadStream } from 'node:fs';
import { assertCleanInput } from './api/input-guard.ts';
import { allowedMethods, methodNotAllowedPlugin } from './api/method-not-allowed.ts';
import { frameworkErrors, validationMessage } from './api/error-format.ts';
import crypto from 'node:crypto';
import type { Logger } from 'pino';
import { fastifyRequestContext } from '@fastify/request-context';
import { createLogger } from './observability/logger.ts';
import { requestIdFrom } from './observability/request-scope.ts';
import { API_VERSION, apiVersionAlias, operationsRoutes, versionedOpenApiPath } from './api/operations.routes.ts';
import { markDefaultedParametersOptional, markMultipartUploads } from './api/openapi-transforms.ts';
import { compreFacePlugin } from './api/compreface/compreface.plugin.ts';
import { compreFaceErrorHandler, isCompreFacePath } from './api/compreface/compreface-http.ts';
import { MAX_FIELD_BYTES, MAX_UPLOAD_FIELDS, MAX_UPLOAD_IMAGES } from './api/face-upload.ts';
import { strictScalars } from './api/strict-scalars.ts';
import { WebhookEventPayloads } from './api/webhook-events.schemas.ts';

export type App = FastifyInstance;

/** The longest path parameter (an external_id: 255 characters of up to 4 UTF-8 bytes, each `%XX`). */
const MAX_PATH_PARAM_ENCODED = 255 * 4 * 3;

/** Builds the HTTP application around an already-opened container. Never listens (server.ts does). */
export async function buildApp(
  config: AppConfig,
  container: Container,
  options: {
    /** Where logs go instead of stdout (tests read them). */
    logStream?: { write(line: string): void };
    /** The process's logger (server.ts shares it with the services). */
    logger?: Logger;
  } = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: (options.logger ?? createLogger(config, options.logStream)) as FastifyBaseLogger,
    // X-Request-Id: the caller's (a load balancer's) when it is a plain token, else a fresh UUID; sent back
    // on every response and stamped on the events (hence webhook deliveries) the request causes.
    requestIdHeader: false,
    genReqId: (req) => requestIdFrom(req.headers['x-request-id'], crypto.randomUUID),
    // /api/v1/… is the documented path of the API; /api/… stays as its alias (the guide's examples).
    rewriteUrl: (req) => apiVersionAlias(req.url ?? '/', config.basePath),
    // A path that is not valid percent-encoding is a coded 400 like every other bad input.
    frameworkErrors,
    bodyLimit: config.bodyLimit,
    // A hop count as proxy-addr's function (Fastify's types take no number): trust that many proxies in front.
    trustProxy: typeof config.trustProxy === 'number' ? trustHops(config.trustProxy) : config.trustProxy,
    // maxParamLength: the router measures a path parameter percent-encoded, and its default (100) refused
    // external ids the API accepts (up to 255 characters; one non-ASCII character is up to 12 encoded).
    // The route schemas bound every parameter's decoded length.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PATH_PARAM_ENCODED },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorate('container', container);
  // Before any route: null and non-numeric text are refused instead of coerced to 0 / "" / false.
  strictScalars(app);
  await app.register(fastifyRequestContext, { defaultStoreValues: (request) => ({ requestId: request.id }) });
  // Behind a reverse proxy without WAJAH_TRUST_PROXY every caller has the proxy's address: one caller's failed
  // keys or admin tokens then lock out all of them, and allow-lists see only the proxy. Said once, in the log.
  let proxyUnseen = config.trustProxy === false;
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    reply.header('x-api-version', API_VERSION);
    if (proxyUnseen && request.headers['x-forwarded-for'] !== undefined) {
      proxyUnseen = false;
      container.log.warn(
        `requests carry X-Forwarded-For but WAJAH_TRUST_PROXY is unset: every caller is seen as ${request.ip}, so IP allow-lists, audit addresses and the failed-sign-in lockouts treat them all as one. Behind a reverse proxy set WAJAH_TRUST_PROXY=1 (docs/foundation.md).`,
      );
    }
  });

  // Action endpoints (deactivate, complete, retry…) have no body, but many HTTP clients still send
  // `Content-Type: application/json` with an empty one: treat that as no body instead of INVALID_JSON.
  const defaultJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (typeof body === 'string' && body.trim() === '') return done(null, undefined);
    return defaultJson(request, body as string, (err, parsed) => {
      if (err) return done(err, undefined);
      try {
        assertCleanInput(parsed, 'body');
      } catch (e) {
        return done(e as Error, undefined);
      }
      return done(null, parsed);
    });
  });
  // Path ids and query strings: no control characters (a NUL cannot even reach the database).
  app.addHook('onRequest', async (request) => {
    assertCleanInput(request.params, 'params', true);
    assertCleanInput(request.query, 'query');
  });
  await app.register(methodNotAllowedPlugin);

  // Browser security headers on every response: CSP, no framing, nosniff (src/api/security-headers.ts).
  await app.register(helmet, SECURITY_HEADERS);

  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    if (isAppError(error)) {
      if (error.statusCode >= 500) request.log.error({ err: error }, 'request failed');
      if (error.headers) reply.headers(error.headers);
      const body: Record<string, unknown> = { code: error.code, message: error.message, statusCode: error.statusCode };
      if (error.details !== undefined) body.details = error.details;
      return reply.status(error.statusCode).send(body);
    }
    const fe = error as FastifyError;
    if (fe.validation) {
      const first = fe.validation[0];
      const field =
        (first?.instancePath || '').replace(/^\//, '').replace(/\//g, '.') ||
        (first?.params as { missingProperty?: string } | undefined)?.missingProperty ||
        (first?.params as { additionalProperty?: string } | undefined)?.additionalProperty ||
        '';
      const where = fe.validationContext ?? 'body';
      return reply.status(400).send({
        code: 'VALIDATION_ERROR',
        message: `${where}${field ? `.${field}` : ''} ${validationMessage(fe.validation)}`,
        statusCode: 400,
        details: { field: field || null, location: where, errors: fe.validation.map((v) => ({ path: v.instancePath, message: v.message })) },
      });
    }
    const mapped = mapFastifyError(fe);
    if (mapped) {
      return reply.status(mapped.statusCode).send({ code: mapped.code, message: mapped.message, statusCode: mapped.statusCode, ...(mapped.details ? { details: mapped.details } : {}) });
    }
    const unavailable = databaseUnavailable(error);
    if (unavailable) {
      request.log.error({ err: error }, 'database unavailable');
      return reply.status(503).header('Retry-After', '30').send({ code: 'SERVICE_UNAVAILABLE', message: unavailable, statusCode: 503 });
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.status(500).send({ code: 'INTERNAL_ERROR', message: ERROR_CODES.INTERNAL_ERROR.message, statusCode: 500 });
  });

  app.setNotFoundHandler((request, reply) => {
    const allow = allowedMethods(app, request.url);
    const path = request.url.split('?')[0];
    const error =
      allow.length && !allow.includes(request.method)
        ? appError('METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${path}; use ${allow.join(', ')}`, undefined, { allow: allow.join(', ') })
        : appError('ROUTE_NOT_FOUND', `No endpoint ${request.method} ${path}`);
    // Under CompreFace's service paths, in CompreFace's shape (docs/compreface.md, "Errors").
    if (isCompreFacePath(path)) return compreFaceErrorHandler(error, request, reply);
    if (error.headers) reply.headers(error.headers);
    return reply.status(ERROR_CODES[error.code].status).send({ code: error.code, message: error.message, statusCode: ERROR_CODES[error.code].status });
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Wajah API',
        version: config.version,
        description:
          'Self-hosted face recognition: users, enrollment, authentication, liveness, webhooks. ' +
          `Version ${API_VERSION} of the API lives under ${config.basePath}/v${API_VERSION}/; every path is also served without the version ` +
          `(${config.basePath}/…, the user guide's spelling) with the same behaviour. Every response carries X-API-Version and X-Request-Id. ` +
          'Compatible changes (new fields, new endpoints) keep the version; a breaking change gets a new one beside it.',
      },
      components: {
        securitySchemes: {
          ApiKey: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'ApiKey KEY:SECRET' },
          AdminToken: { type: 'http', scheme: 'bearer', description: 'Operator token (WAJAH_ADMIN_TOKEN)' },
        },
        // What receivers get: no route answers it, so it is named here (the SDKs' webhook types come from it).
        schemas: { WebhookEventPayloads },
      },
      security: [{ ApiKey: [] }],
    },
    // Routes are registered once under /api; the document names their versioned spelling.
    transform: ({ schema, url }) => ({ schema: schema as never, url: versionedOpenApiPath(url, config.basePath) }),
    // Image parts of multipart bodies are files (the guide's `frame: <binary_image_data>`), not text;
    // parameters with a default (page, page_size, …) are optional for the caller.
    transformObject: (documentObject) =>
      markDefaultedParametersOptional(markMultipartUploads('openapiObject' in documentObject ? documentObject.openapiObject : documentObject.swaggerObject)),
  });
  // /healthz, /readyz, /metrics and the per-request metrics hook (after swagger: it documents them).
  await app.register(operationsRoutes);
  await app.register(multipart, {
    limits: { fileSize: config.bodyLimit, files: MAX_UPLOAD_IMAGES, fields: MAX_UPLOAD_FIELDS, fieldSize: MAX_FIELD_BYTES },
  });
  await app.register(recognitionWsPlugin);
  // --- web pages (C3): console and camera page, static files from web/ under /app/ (docs/web.md) ---
  // decorateReply: false, because swagger-ui registers its own @fastify/static instance.
  await app.register(fastifyStatic, { root: fileURLToPath(new URL('../web/', import.meta.url)), prefix: '/app/', decorateReply: false, redirect: true });
  // The console's chart library, served locally from node_modules (no CDN; docs/web.md).
  await app.register(fastifyStatic, { root: fileURLToPath(new URL('../node_modules/chart.js/dist/', import.meta.url)), prefix: '/app/vendor/chart.js/', decorateReply: false });
  // ignoreTrailingSlash routes "/app/" as "/app", which the static wildcard "/app/*" does not match.
  const webIndex = new URL('../web/index.html', import.meta.url);
  app.get('/app/', { schema: { hide: true } }, (_request, reply) => reply.type('text/html; charset=utf-8').send(createReadStream(webIndex)));
  app.get('/', { schema: { hide: true } }, (_request, reply) => reply.redirect('/app/'));
  // --- end web pages ---
  // OpenID Provider and the face sign-in page under /oidc (C4, docs/sso.md).
  await app.register(oidcPlugin);

  await app.register(
    async (api) => {
      api.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
      await api.register(swaggerUi, { routePrefix: '/docs' });
      await api.register(authPlugin);
      await api.register(requestTimingPlugin);
      await api.register(statusRoutes);
      await api.register(adminRoutes);
      await api.register(backupRoutes);
      await api.register(usersRoutes);
      await api.register(enrollmentRoutes);
      await api.register(authenticationRoutes);
      await api.register(webhooksRoutes);
      await api.register(analyticsRoutes);
      await api.register(offlineRoutes);
      await api.register(fallbackRoutes);
      await api.register(reviewRoutes);
      await api.register(ssoRoutes);
      await api.register(streamingRoutes);
    },
    { prefix: config.basePath },
  );
  // CompreFace's REST API v1 at its own absolute paths (docs/compreface.md).
  await app.register(compreFacePlugin);
  return app;
}

/**
 * The server's condition rather than the request's, as the caller should hear it (503, try again later): the
 * database out of disk space or memory (SQLSTATE class 53; the embedded database's file system full), or its
 * connection lost (class 08, 57P: shut down). A full disk was a 500 "Internal server error" that told the caller
 * nothing, where only the log said "No space left on device".
 */
function databaseUnavailable(e: unknown): string | null {
  const code = (e as { code?: unknown }).code;
  const message = e instanceof Error ? e.message : '';
  if ((typeof code === 'string' && code.startsWith('53')) || code === 'ENOSPC' || /No space left on device/i.test(message)) {
    return 'The database cannot write: it is out of disk space or memory. Try again once the operator has freed some';
  }
  if (typeof code === 'string' && (code.startsWith('08') || code.startsWith('57P'))) return 'The database is unavailable';
  return null;
}

function mapFastifyError(e: FastifyError): { code: keyof typeof ERROR_CODES; message: string; statusCode: number; details?: Record<string, unknown> } | null {
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_REQ_FILE_TOO_LARGE':
    case 'FST_PARTS_LIMIT':
      return { code: 'PAYLOAD_TOO_LARGE', message: e.message, statusCode: 413 };
    case 'FST_FILES_LIMIT':
      return { code: 'PAYLOAD_TOO_LARGE', message: `A request carries at most ${MAX_UPLOAD_IMAGES} image files`, statusCode: 413, details: { max_images: MAX_UPLOAD_IMAGES } };
    case 'FST_FIELDS_LIMIT':
      return { code: 'PAYLOAD_TOO_LARGE', message: `A multipart body carries at most ${MAX_UPLOAD_FIELDS} text fields`, statusCode: 413, details: { max_fields: MAX_UPLOAD_FIELDS } };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return { code: 'UNSUPPORTED_MEDIA_TYPE', message: e.message, statusCode: 415 };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { code: 'INVALID_JSON', message: e.message, statusCode: 400 };
    case 'FST_INVALID_JSON_FIELD_ERROR':
      // A multipart part typed application/json whose text is not JSON (@fastify/multipart parses it).
      return { code: 'INVALID_JSON', message: 'A multipart part typed application/json does not hold valid JSON', statusCode: 400 };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { code: 'VALIDATION_ERROR', message: e.message, statusCode: 400 };
    default:
      // Broken multipart framing (busboy: missing boundary, truncated body).
      if (/multipart|boundary/i.test(e.message ?? '') && !e.statusCode) return { code: 'INVALID_MULTIPART', message: `The multipart body is malformed: ${e.message}`, statusCode: 400 };
      // @fastify/static refuses paths outside web/ (traversal): answer as for any unknown path.
      if (e.statusCode === 403 || e.statusCode === 404) return { code: 'ROUTE_NOT_FOUND', message: 'No such endpoint', statusCode: 404 };
      if (e.statusCode === 413) return { code: 'PAYLOAD_TOO_LARGE', message: e.message, statusCode: 413 };
      if (e.statusCode === 415) return { code: 'UNSUPPORTED_MEDIA_TYPE', message: e.message, statusCode: 415 };
      if (e.statusCode === 400) return { code: 'VALIDATION_ERROR', message: e.message, statusCode: 400 };
      return null;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    container: Container;
  }
}

/** Trusts the `hops` nearest proxies: the client is the address the outermost of them saw. */
function trustHops(hops: number) {
  return (_address: string, hop: number) => hop < hops;
}
