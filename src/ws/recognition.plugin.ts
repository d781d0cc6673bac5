import type { FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import { StreamSlots } from '../streaming/stream-slots.ts';
import { CLOSE, DEFAULT_LIMITS, RecognitionConnection, type RecognitionLimits, type WsSocket } from './recognition.connection.ts';

/**
 * Real-time recognition over WebSocket at `/ws/recognition/` (server root, not under /api): an
 * `authenticate` message, then `process_frame` messages answered with `recognition_result`.
 * Protocol and limits: docs/realtime.md; messages: ./messages.ts.
 *
 * @fastify/websocket is registered inside this (encapsulated) plugin, so its hooks stay off the
 * /api routes; an upgrade request to any other path gets an ordinary 404.
 *
 * @example await app.register(recognitionWsPlugin);
 * @example await app.register(recognitionWsPlugin, { maxFps: 15 });
 */
export async function recognitionWsPlugin(app: FastifyInstance, options: Partial<RecognitionLimits> = {}): Promise<void> {
  const limits: RecognitionLimits = { ...DEFAULT_LIMITS, ...pickLimits(options) };
  const { foundation, face, redis, log } = app.container;
  // Concurrent streams per tenant (TIER_LIMITS.concurrentStreams), counted in Redis when REDIS_URL is set so
  // the limit holds across the instances behind a load balancer; a pool of their own, apart from WebRTC sessions.
  const slots = new StreamSlots(redis, log, { prefix: WS_STREAM_SLOTS_PREFIX, label: 'WebSocket streams' });
  const open = new Set<RecognitionConnection>();
  // ws closes a connection whose message exceeds maxPayload with 1009 (message too big).
  await app.register(websocket, {
    options: { maxPayload: limits.maxMessageBytes },
    // Shutdown (SIGTERM, app.close()): each open stream is told why, 1001 "going away", so a client knows to
    // reconnect (to another instance); the plugin's own hook closed them without a code (the client saw 1005).
    preClose(this: FastifyInstance, done: () => void) {
      // The connections also give their concurrent-stream slots back now, while Redis is still there.
      for (const connection of open) connection.goAway();
      for (const client of this.websocketServer.clients) client.close(CLOSE.goingAway, 'server shutting down');
      this.websocketServer.close();
      done();
    },
  });

  app.get('/ws/recognition/', { websocket: true, schema: { hide: true } }, (socket, request) => {
    const connection = new RecognitionConnection(socket as unknown as WsSocket, {
      access: foundation.access,
      credentials: foundation.credentials,
      authentication: face.authentication,
      sessions: foundation.sessionBudget,
      audit: foundation.audit,
      slots,
      log: request.log,
      limits,
      meta: { ip: request.ip ?? null, userAgent: request.headers['user-agent'] ?? null },
    });
    open.add(connection);
    socket.on('close', () => open.delete(connection));
    connection.start();
  });
}

/** Redis key prefix of the WebSocket streams' slots (the WebRTC sessions' is STREAM_SLOTS_PREFIX). */
export const WS_STREAM_SLOTS_PREFIX = 'wajah:ws-streams:';

/** Only the known limit keys (Fastify passes its own register options alongside). */
function pickLimits(options: Partial<RecognitionLimits>): Partial<RecognitionLimits> {
  const out: Partial<RecognitionLimits> = {};
  for (const k of Object.keys(DEFAULT_LIMITS) as Array<keyof RecognitionLimits>) if (typeof options[k] === 'number') out[k] = options[k];
  return out;
}
