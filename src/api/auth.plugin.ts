import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { appError } from '../errors.ts';
import { rateHeaders } from '../services/access.service.ts';
import { tokensEqual } from '../services/credentials.ts';
import { createRateLimiter } from '../services/rate-limit.service.ts';
import './request-context.ts';

/** Wrong operator tokens allowed per address and window before the admin API answers 429 to it. */
export const ADMIN_FAILURE_LIMIT = 10;
export const ADMIN_FAILURE_WINDOW_MS = 15 * 60_000;

/**
 * Credentials for every route under /api: decorates `request.client` and two hook functions.
 *
 * @example app.get('/x', { onRequest: app.authenticateClient }, async (req) => req.client!.id)
 * @example app.post('/admin/y', { onRequest: app.authenticateAdmin }, handler)
 */
export const authPlugin = fp(
  async (app: FastifyInstance) => {
    const { foundation, config } = app.container;

    app.decorateRequest('client', null);

    app.decorate('authenticateClient', async function authenticateClient(request: FastifyRequest, reply: FastifyReply): Promise<void> {
      const { client, rate } = await foundation.access.authorize(request.headers.authorization, request.ip);
      request.client = client;
      if (rate) reply.headers(rateHeaders(rate));
    });

    // Wrong operator tokens per address: ADMIN_FAILURE_LIMIT per 15-minute window (shared through Redis when
    // configured), then 429 until the window ends, even for the right token: guessing costs the window.
    const adminFailures = createRateLimiter(app.container.redis, app.container.log, ADMIN_FAILURE_WINDOW_MS);
    const adminBlocked = new Map<string, number>();

    app.decorate('authenticateAdmin', async function authenticateAdmin(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
      const configured = config.adminToken;
      const local = foundation.runtime.localAdminToken;
      if (!configured && !local) throw appError('ADMIN_DISABLED');
      const until = adminBlocked.get(request.ip);
      if (until && until > Date.now()) {
        throw appError('ADMIN_TOKEN_LOCKED', undefined, { retry_after: Math.ceil((until - Date.now()) / 1000) }, { 'retry-after': String(Math.ceil((until - Date.now()) / 1000)) });
      }
      const m = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
      const token = m?.[1];
      const ok = !!token && ((!!configured && tokensEqual(token, configured)) || (!!local && tokensEqual(token, local)));
      if (ok) return;
      foundation.security.authFailure(request.ip, { clientId: null, key: null, reason: 'admin_token' });
      if (!configured) throw appError('ADMIN_DISABLED');
      if (!token) throw appError('ADMIN_TOKEN_REQUIRED');
      const d = await adminFailures.hit(`admin-fail:${request.ip}`, ADMIN_FAILURE_LIMIT);
      if (!d.allowed) {
        adminBlocked.set(request.ip, d.resetAt);
        if (adminBlocked.size > 10_000) for (const [ip, t] of adminBlocked) if (t <= Date.now()) adminBlocked.delete(ip);
        throw appError('ADMIN_TOKEN_LOCKED', undefined, { retry_after: d.retryAfter }, { 'retry-after': String(d.retryAfter) });
      }
      // A token was given and it is wrong: say so (not "required").
      throw appError('ADMIN_TOKEN_INVALID');
    });

    // API-access log (M6): one buffered audit entry per authenticated request, written in batches.
    app.addHook('onResponse', async (request, reply) => {
      const client = request.client;
      if (!client) return;
      void foundation.audit.record({
        clientId: client.id,
        category: 'api_access',
        action: `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`,
        actor: `key:${client.apiKeyId}`,
        ip: request.ip,
        details: { status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
      });
    });
  },
  { name: 'wajah-auth' },
);

type AuthHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

declare module 'fastify' {
  interface FastifyInstance {
    /** API-key authentication (`Authorization: ApiKey KEY:SECRET`); sets request.client. */
    authenticateClient: AuthHook;
    /** Operator authentication (`Authorization: Bearer <WAJAH_ADMIN_TOKEN>`). */
    authenticateAdmin: AuthHook;
  }
}
