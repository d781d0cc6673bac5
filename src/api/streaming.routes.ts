import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { errors, requireJson } from './common.schemas.ts';
import { AnswerBody, CreateStreamBody, OfferBody, StreamParams, StreamSession, StreamStatus, StreamTokenHeaders } from './streaming.schemas.ts';
import { StreamingService, type StreamAccess } from '../streaming/streaming.service.ts';
import { loadWrtc } from '../streaming/wrtc.ts';
import { StreamSlots } from '../streaming/stream-slots.ts';

/**
 * WebRTC streaming (R2, docs/streaming.md): create a session, post the browser's offer, get the
 * answer; results come back over the browser's data channel. The peer connections live in this
 * process and are closed on expiry, DELETE and app.close().
 */
export async function streamingRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { face, foundation, config, engine, redis, log } = app.container;
  const streaming = new StreamingService({
    authentication: face.authentication,
    sessions: foundation.sessionBudget,
    audit: foundation.audit,
    log: app.log,
    iceServers: config.iceServers,
    engineAvailable: engine !== null,
    loadWrtc,
    access: foundation.access,
    credentials: foundation.credentials,
    // Counted in Redis when REDIS_URL is set: the tier's limit holds across the instances behind a load balancer.
    slots: new StreamSlots(redis, log),
  });
  app.addHook('onClose', async () => streaming.closeAll());
  const tags = ['streaming'];
  const meta = (request: { ip: string; headers: Record<string, unknown> }) => ({ ip: request.ip ?? null, userAgent: (request.headers['user-agent'] as string | undefined) ?? null });
  /** Offer, status and DELETE: the API key, or (without Authorization) the session's page token. */
  const pageToken = (request: FastifyRequest) => (request.headers.authorization ? undefined : (request.headers['x-stream-token'] as string | undefined));
  const keyOrPageToken = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!pageToken(request)) await app.authenticateClient(request, reply);
  };
  const access = (request: FastifyRequest): StreamAccess => request.client ?? { pageToken: pageToken(request)! };

  app.post(
    '/streaming/sessions/',
    {
      onRequest: app.authenticateSessionStart,
      preValidation: requireJson,
      schema: { tags, summary: 'Create a WebRTC streaming session (ICE servers, data-channel label, expiry)', body: CreateStreamBody, response: { 201: StreamSession, ...errors(400, 401, 403, 404, 409, 415, 429, 503) } },
    },
    async (request, reply) => reply.code(201).send(await streaming.create(request.client!, request.body, meta(request))),
  );

  app.post(
    '/streaming/sessions/:session_id/offer/',
    {
      onRequest: keyOrPageToken,
      preValidation: requireJson,
      schema: { tags, summary: "Send the browser's SDP offer (ICE gathering complete); returns the server's complete answer", headers: StreamTokenHeaders, params: StreamParams, body: OfferBody, response: { 200: AnswerBody, ...errors(400, 401, 403, 404, 409, 410, 415, 429) } },
    },
    async (request) => streaming.offer(access(request), request.params.session_id, request.body.sdp),
  );

  app.get(
    '/streaming/sessions/:session_id/',
    { onRequest: keyOrPageToken, schema: { tags, summary: 'Status and frame counters of a streaming session', headers: StreamTokenHeaders, params: StreamParams, response: { 200: StreamStatus, ...errors(401, 403, 404, 429) } } },
    async (request) => streaming.status(access(request), request.params.session_id),
  );

  app.delete(
    '/streaming/sessions/:session_id/',
    { onRequest: keyOrPageToken, schema: { tags, summary: 'Close a streaming session and its peer connection', headers: StreamTokenHeaders, params: StreamParams, response: { 204: Type.Null(), ...errors(401, 403, 404, 429) } } },
    async (request, reply) => {
      streaming.close(access(request), request.params.session_id);
      return reply.code(204).send(null);
    },
  );
}
