import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { appError } from '../errors.ts';

/** The API's major version: `/api/v1/…` paths and the `X-API-Version` response header. */
export const API_VERSION = '1';

/**
 * `/api/v1/…` → `/api/…` (routes are registered once, under the unversioned prefix, which stays as the
 * alias of the guide's examples). Used as Fastify's rewriteUrl, so both spellings reach the same route.
 */
export function apiVersionAlias(url: string, basePath: string): string {
  const versioned = `${basePath}/v${API_VERSION}`;
  // CompreFace's API lives at its own /api/v1/{recognition,detection,verification}/ paths (docs/compreface.md).
  if (COMPREFACE_PATH.test(url)) return url;
  if (url === versioned || url.startsWith(`${versioned}/`) || url.startsWith(`${versioned}?`)) return basePath + url.slice(versioned.length);
  return url;
}

const COMPREFACE_PATH = /^\/api\/v1\/(recognition|detection|verification)(\/|\?|$)/;

/** The documented (OpenAPI) path of a route registered under `basePath`: its /api/v1/ spelling. */
export function versionedOpenApiPath(url: string, basePath: string): string {
  if (url.startsWith(`${basePath}/v${API_VERSION}/`)) return url;
  return url === basePath || url.startsWith(`${basePath}/`) ? `${basePath}/v${API_VERSION}${url.slice(basePath.length)}` : url;
}

const Check = Type.Union([Type.Literal('online'), Type.Literal('offline'), Type.Literal('disabled'), Type.Literal('starting'), Type.Literal('degraded')]);
const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready'), Type.Literal('shutting_down')]),
  version: Type.String(),
  checks: Type.Object({ database: Check, face_engine: Check, redis: Check }),
});

/**
 * What an orchestrator and a monitoring system call (docs/operations.md). No API key, no tenant budget:
 * - GET /healthz: the process answers (liveness probe).
 * - GET /readyz: the database answers and the face engine's workers have their models (readiness probe);
 *   503 otherwise, and `shutting_down` from the shutdown signal on (the server keeps serving through
 *   WAJAH_SHUTDOWN_DELAY_MS, so a load balancer takes it out before it stops accepting). Redis down is
 *   reported but does not make an instance unready: it keeps serving with in-process fallbacks.
 * - GET /metrics: Prometheus text, behind `Authorization: Bearer <WAJAH_METRICS_TOKEN or operator token>`.
 */
export const operationsRoutes = fp(async function operationsRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { config, foundation, metrics } = app.container;
  // server.ts marks the shutdown at the signal; an app.close() without a signal (tests, a failed listen) here.
  app.addHook('preClose', async () => {
    foundation.status.beginShutdown();
  });

  app.get(
    '/healthz',
    { schema: { tags: ['operations'], summary: 'Liveness probe: the process answers (no credentials)', security: [], response: { 200: Type.Object({ status: Type.Literal('ok'), version: Type.String() }) } } },
    async () => ({ status: 'ok' as const, version: config.version }),
  );

  app.get(
    '/readyz',
    { schema: { tags: ['operations'], summary: 'Readiness probe: database reachable, face engine loaded, migrations applied (no credentials)', security: [], response: { 200: Readiness, 503: Readiness } } },
    async (_request, reply) => {
      const s = await foundation.status.check();
      const engineReady = s.services.face_recognition === 'online' || s.services.face_recognition === 'degraded' || s.services.face_recognition === 'disabled';
      const shuttingDown = foundation.status.shuttingDown;
      const ready = !shuttingDown && s.services.database === 'online' && engineReady;
      return reply.status(ready ? 200 : 503).send({
        status: shuttingDown ? 'shutting_down' : ready ? 'ready' : 'not_ready',
        version: config.version,
        checks: { database: s.services.database, face_engine: s.services.face_recognition, redis: s.services.redis },
      });
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics of this instance (Bearer WAJAH_METRICS_TOKEN or the operator token)',
        security: [{ AdminToken: [] }],
        produces: ['text/plain'],
        response: { 200: Type.String() },
      },
    },
    async (request, reply) => {
      const tokens = [config.metricsToken, config.adminToken, foundation.runtime.localAdminToken].filter((t): t is string => !!t);
      if (tokens.length === 0) throw appError('ADMIN_DISABLED', 'Set WAJAH_METRICS_TOKEN (or WAJAH_ADMIN_TOKEN) to read /metrics');
      const token = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
      if (!token) throw appError('ADMIN_TOKEN_REQUIRED', 'GET /metrics needs Authorization: Bearer <WAJAH_METRICS_TOKEN or operator token>');
      if (!(await foundation.adminGuard.check(request.ip, token, tokens))) {
        foundation.security.authFailure(request.ip, { clientId: null, key: null, reason: 'admin_token' });
        throw appError('ADMIN_TOKEN_INVALID', 'The metrics token is wrong');
      }
      return reply.type(metrics.contentType()).send(await metrics.text());
    },
  );

  // Every response: method, route template (never the raw URL: ids would explode the label set), status.
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    if (route === '/metrics') return;
    metrics.httpRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  });
}, { name: 'wajah-operations' });
