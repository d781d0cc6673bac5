import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { errors } from './common.schemas.ts';

const State = Type.Union([Type.Literal('online'), Type.Literal('offline'), Type.Literal('disabled'), Type.Literal('starting'), Type.Literal('degraded')]);

const StatusSchema = Type.Object({
  status: Type.Union([Type.Literal('healthy'), Type.Literal('degraded'), Type.Literal('unhealthy')]),
  version: Type.String(),
  timestamp: Type.String({ format: 'date-time' }),
  services: Type.Object({ database: State, redis: State, face_recognition: State }),
});

/** GET /api/core/status/ (P4). */
export async function statusRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { status } = app.container.foundation;
  app.get(
    '/core/status/',
    {
      onRequest: app.authenticateClient,
      schema: {
        tags: ['core'],
        summary: 'Service status with real checks of database, Redis and the face engine',
        response: { 200: StatusSchema, ...errors(401, 403, 429) },
      },
    },
    async () => status.check(),
  );
}
