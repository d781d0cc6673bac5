import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';

/**
 * Feeds every response's duration and status into the analytics rolling window (system-metrics
 * `performance`). fastify-plugin lifts the hook into the scope it is registered in; register it in
 * the /api scope before the route plugins, because a scope's hooks are copied into child plugins
 * when those are created: a hook added after a sibling route plugin never sees its requests.
 *
 * @example await api.register(requestTimingPlugin); await api.register(statusRoutes); …
 */
export const requestTimingPlugin = fp(
  async (app: FastifyInstance) => {
    const { timings } = app.container.analytics;
    app.addHook('onResponse', async (_request, reply) => {
      timings.record(reply.elapsedTime, reply.statusCode);
    });
  },
  { name: 'wajah-request-timing' },
);
