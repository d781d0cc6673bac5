import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { appError } from '../errors.ts';
import { rateHeaders } from '../services/access.service.ts';
import { setEngineLane } from '../observability/request-scope.ts';
import './request-context.ts';

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
    app.decorateRequest('countFrameAsCall', null);
    app.decorateRequest('countBatch', null);

    app.decorate('authenticateClient', async function authenticateClient(request: FastifyRequest, reply: FastifyReply): Promise<void> {
      const { client, rate } = await foundation.access.authorize(request.headers.authorization, request.ip);
      request.client = client;
      setEngineLane(client.id);
      if (rate) reply.headers(rateHeaders(rate));
    });

    // A batch: one call like any other now (refused here when the hour's calls are spent, before the body is
    // read), then one call per image once the handler knows how many (request.countBatch), all or nothing.
    app.decorate('authenticateBatch', async function authenticateBatch(request: FastifyRequest, reply: FastifyReply): Promise<void> {
      const { client, rate, countBatch } = await foundation.access.authorize(request.headers.authorization, request.ip);
      request.client = client;
      setEngineLane(client.id);
      if (rate) reply.headers(rateHeaders(rate));
      request.countBatch = async (images: number) => {
        const counted = await countBatch?.(images);
        if (counted) reply.headers(rateHeaders(counted));
      };
    });

    // A frame of an enrollment/authentication session: credentials as for any call, then the session's
    // frames-per-second budget instead of the hourly call count (X-Session-Token names the session).
    // A frame without a token names no session: it is an ordinary call (and then refused by the schema).
    app.decorate('authenticateFrame', async function authenticateFrame(request: FastifyRequest, reply: FastifyReply): Promise<void> {
      const header = request.headers['x-session-token'];
      const token = Array.isArray(header) ? header[0] : header;
      const { client, rate, countLater } = await foundation.access.authorize(request.headers.authorization, request.ip, Date.now(), { countCall: !token });
      request.client = client;
      setEngineLane(client.id);
      if (rate) reply.headers(rateHeaders(rate));
      request.countFrameAsCall = async () => {
        const later = await countLater?.();
        if (later) reply.headers(rateHeaders(later));
      };
      reply.headers(await foundation.sessionBudget.frame(client, token));
    });

    // The work of a frame admitted by authenticateFrame: counted as a call after all when its token opens no session.
    app.decorate('sessionFrame', function sessionFrame<T>(request: FastifyRequest, work: () => Promise<T>): Promise<T> {
      return foundation.sessionBudget.sessionFrame(work, request.countFrameAsCall ?? (async () => {}));
    });

    // Starting a session: one call, and one of the tier's sessions per hour.
    app.decorate('authenticateSessionStart', async function authenticateSessionStart(request: FastifyRequest, reply: FastifyReply): Promise<void> {
      const { client, rate } = await foundation.access.authorize(request.headers.authorization, request.ip);
      request.client = client;
      setEngineLane(client.id);
      if (rate) reply.headers(rateHeaders(rate));
      reply.headers(await foundation.sessionBudget.sessionStart(client));
    });

    app.decorate('authenticateAdmin', async function authenticateAdmin(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
      const configured = config.adminToken;
      const local = foundation.runtime.localAdminToken;
      if (!configured && !local) throw appError('ADMIN_DISABLED');
      const m = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
      const token = m?.[1];
      if (!token) throw appError(configured ? 'ADMIN_TOKEN_REQUIRED' : 'ADMIN_DISABLED');
      // A blocked address is refused even with the right token (else the guessing would just go on).
      if (await foundation.adminGuard.check(request.ip, token, [configured, local])) return;
      foundation.security.authFailure(request.ip, { clientId: null, key: null, reason: 'admin_token' });
      throw appError(configured ? 'ADMIN_TOKEN_INVALID' : 'ADMIN_DISABLED');
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
  interface FastifyRequest {
    /** Set by authenticateFrame: counts the frame as one hourly call (X-RateLimit-* on the reply), at most once. */
    countFrameAsCall: (() => Promise<void>) | null;
    /**
     * Set by authenticateBatch: counts the batch's images as calls (the request's own call included), all or nothing;
     * RATE_LIMIT_EXCEEDED, with nothing counted, when they do not all fit in the hour. Call it before any image is processed.
     */
    countBatch: ((images: number) => Promise<void>) | null;
  }
  interface FastifyInstance {
    /** API-key authentication (`Authorization: ApiKey KEY:SECRET`); sets request.client. */
    authenticateClient: AuthHook;
    /**
     * A batch of images (one call per image): API key and one call now, the other images by `request.countBatch`.
     *
     * @example handler: async (request) => { const frames = imageList(request, 'frames'); await request.countBatch!(frames.length); return svc().batch(…) }
     */
    authenticateBatch: AuthHook;
    /** A session frame: API key, then the session's frames-per-second budget (not the hourly calls). */
    authenticateFrame: AuthHook;
    /**
     * Runs the handler's work for a frame admitted by `authenticateFrame`; a token that opens no session makes
     * it an ordinary call (session-budget.service.ts).
     *
     * @example handler: (request) => app.sessionFrame(request, () => svc().processFrame(request.client!, token, image))
     */
    sessionFrame<T>(request: FastifyRequest, work: () => Promise<T>): Promise<T>;
    /** Session creation: API key, one hourly call, one of the tier's sessions per hour. */
    authenticateSessionStart: AuthHook;
    /** Operator authentication (`Authorization: Bearer <WAJAH_ADMIN_TOKEN>`). */
    authenticateAdmin: AuthHook;
  }
}
