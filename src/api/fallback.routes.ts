import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { DateTime, Nullable, errors, requireJson } from './common.schemas.ts';
import { UserParams } from './users.schemas.ts';
import { requestMeta } from './face-upload.ts';
import type { UserActor } from '../services/users.service.ts';

const Kind = Type.Union([Type.Literal('pin'), Type.Literal('password')]);
const FallbackSchema = Type.Object(
  {
    user_id: Type.String({ description: 'external_id of the user' }),
    is_set: Type.Boolean(),
    type: Nullable(Kind),
    failed_attempts: Type.Integer({ description: 'Consecutive wrong attempts in the current series' }),
    locked: Type.Boolean(),
    locked_until: Nullable(DateTime),
    last_used_at: Nullable(DateTime),
    created_at: Nullable(DateTime),
    updated_at: Nullable(DateTime),
  },
  { description: "A user's fallback credential (the secret and its hash are never returned)" },
);
const AuthResult = Type.Object(
  {
    status: Type.Literal('completed'),
    result: Type.Object({
      authenticated: Type.Boolean(),
      confidence: Type.Number({ description: 'Always 1: a credential matches exactly' }),
      user_id: Type.String(),
      user_name: Type.String(),
      liveness_score: Type.Null(),
      method: Kind,
    }),
    processing_time: Type.Number({ description: 'seconds' }),
    timestamp: DateTime,
  },
  { description: 'The verification result shape, with the method that proved the identity' },
);
const AUTH_ERRORS = [401, 403, 429] as const;

function actor(request: FastifyRequest): UserActor {
  return { apiKeyId: request.client!.apiKeyId, ip: request.ip };
}

/** PIN/password fallback (C5): the credential of a user, and authentication with it. See docs/fallbacks.md. */
export async function fallbackRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const svc = () => app.container.fallbacks.fallback;
  const base = { onRequest: app.authenticateClient } as const;
  const tags = ['fallbacks'];

  app.get(
    '/clients/users/:user_id/fallback/',
    { ...base, schema: { tags, summary: "Whether a user has a fallback PIN/password, and its lock state", params: UserParams, response: { 200: FallbackSchema, ...errors(...AUTH_ERRORS, 404) } } },
    async (request) => svc().get(request.client!.id, request.params.user_id),
  );

  app.put(
    '/clients/users/:user_id/fallback/',
    {
      ...base,
      preValidation: requireJson,
      schema: {
        tags,
        summary: 'Set or replace the fallback PIN (4-12 digits) or password (at least 8 characters)',
        params: UserParams,
        body: Type.Object({
          type: Kind,
          secret: Type.String({ minLength: 1, maxLength: 256, description: 'The PIN or password; stored only as a salted scrypt hash' }),
        }),
        response: { 200: FallbackSchema, ...errors(400, ...AUTH_ERRORS, 404, 413, 415) },
      },
    },
    async (request) => svc().set(request.client!.id, request.params.user_id, request.body, actor(request)),
  );

  app.delete(
    '/clients/users/:user_id/fallback/',
    {
      ...base,
      schema: { tags, summary: "Remove a user's fallback credential (idempotent)", params: UserParams, response: { 204: Type.Null({ description: 'Removed' }), ...errors(...AUTH_ERRORS, 404) } },
    },
    async (request, reply) => {
      await svc().remove(request.client!.id, request.params.user_id, actor(request));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/clients/users/:user_id/fallback/unlock/',
    {
      ...base,
      schema: { tags, summary: 'Clear a lock-out and the failure count', params: UserParams, response: { 200: FallbackSchema, ...errors(...AUTH_ERRORS, 404, 422) } },
    },
    async (request) => svc().unlock(request.client!.id, request.params.user_id, actor(request)),
  );

  app.post(
    '/auth/authentication/fallback/',
    {
      ...base,
      preValidation: requireJson,
      schema: {
        tags,
        summary: 'Authenticate a user with the fallback PIN or password',
        description:
          'Send exactly one of `pin` or `password`. Writes an authentication attempt (mode `fallback`, method `pin`/`password`) and authentication.success / authentication.failed with `method`. Wrong secrets: 401 INVALID_FALLBACK_CREDENTIAL; after 5 in a row, or 10 within 24 hours: 423 FALLBACK_LOCKED with Retry-After. A secret that failed against more than 5 users of the client within 24 hours: 429 FALLBACK_SPRAY_BLOCKED for every user, with Retry-After.',
        body: Type.Object({
          user_id: Type.String({ minLength: 1, description: 'external_id (or uuid) of the user' }),
          pin: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
          password: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
        }),
        response: { 200: AuthResult, ...errors(400, ...AUTH_ERRORS, 404, 409, 413, 415, 422, 423) },
      },
    },
    async (request) => svc().authenticate(request.client!, request.body, requestMeta(request)),
  );
}
