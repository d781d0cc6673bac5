import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { errors, requireJson } from './common.schemas.ts';
import { CreateUserBody, ListUsersQuery, UpdateUserBody, UserExport, UserPage, UserParams, UserSchema } from './users.schemas.ts';
import type { UserActor } from '../services/users.service.ts';

const AUTH_ERRORS = [401, 403, 429] as const;

function actor(request: FastifyRequest): UserActor {
  return { apiKeyId: request.client!.apiKeyId, ip: request.ip };
}

/** Users of the calling client (U1–U4). `{user_id}` is the uuid or the external_id. */
export async function usersRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { users } = app.container.foundation;
  const base = { onRequest: app.authenticateClient } as const;
  const tags = ['users'];

  app.post(
    '/clients/users/',
    {
      ...base,
      preValidation: requireJson,
      schema: { tags, summary: 'Create a user', body: CreateUserBody, response: { 201: UserSchema, ...errors(400, ...AUTH_ERRORS, 409, 413, 415) } },
    },
    async (request, reply) => reply.code(201).send(await users.create(request.client!.id, request.body, actor(request))),
  );

  app.get(
    '/clients/users/',
    { ...base, schema: { tags, summary: 'List users', querystring: ListUsersQuery, response: { 200: UserPage, ...errors(400, ...AUTH_ERRORS) } } },
    async (request) => users.list(request.client!.id, request.query),
  );

  app.get(
    '/clients/users/:user_id/',
    { ...base, schema: { tags, summary: 'Get a user', params: UserParams, response: { 200: UserSchema, ...errors(...AUTH_ERRORS, 404) } } },
    async (request) => users.get(request.client!.id, request.params.user_id),
  );

  app.put(
    '/clients/users/:user_id/',
    {
      ...base,
      preValidation: requireJson,
      schema: { tags, summary: 'Update a user', params: UserParams, body: UpdateUserBody, response: { 200: UserSchema, ...errors(400, ...AUTH_ERRORS, 404, 409, 413, 415) } },
    },
    async (request) => users.update(request.client!.id, request.params.user_id, request.body, actor(request)),
  );

  app.delete(
    '/clients/users/:user_id/',
    {
      ...base,
      schema: {
        tags,
        summary: 'Delete a user and all their face data (right to deletion)',
        params: UserParams,
        response: { 204: Type.Null({ description: 'Deleted' }), ...errors(...AUTH_ERRORS, 404) },
      },
    },
    async (request, reply) => {
      await users.delete(request.client!.id, request.params.user_id, actor(request));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/clients/users/:user_id/deactivate/',
    {
      ...base,
      schema: { tags, summary: 'Deactivate a user (cannot authenticate; data kept)', params: UserParams, response: { 200: UserSchema, ...errors(...AUTH_ERRORS, 404) } },
    },
    async (request) => users.setActive(request.client!.id, request.params.user_id, false, actor(request)),
  );

  app.post(
    '/clients/users/:user_id/activate/',
    { ...base, schema: { tags, summary: 'Reactivate a user', params: UserParams, response: { 200: UserSchema, ...errors(...AUTH_ERRORS, 404) } } },
    async (request) => users.setActive(request.client!.id, request.params.user_id, true, actor(request)),
  );

  app.get(
    '/clients/users/:user_id/export/',
    {
      ...base,
      schema: { tags, summary: "Export everything held on a user, embeddings included (portability)", params: UserParams, response: { 200: UserExport, ...errors(...AUTH_ERRORS, 404) } },
    },
    async (request) => users.export(request.client!.id, request.params.user_id, actor(request)),
  );
}
