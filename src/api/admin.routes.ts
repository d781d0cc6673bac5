import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Actor } from '../services/clients.service.ts';
import { errors, optionalJson, requireJson } from './common.schemas.ts';
import {
  ClientListQuery,
  ClientPage,
  ClientParams,
  ClientSchema,
  CreateClientBody,
  CreateKeyBody,
  CredentialsSchema,
  KeyParams,
  KeySchema,
  RotateKeyBody,
  RotatedSchema,
  UpdateClientBody,
  UpdateKeyBody,
} from './admin.schemas.ts';

/** The CLI sends X-Wajah-Actor: cli so audit entries say where a change came from. */
function actor(request: FastifyRequest): Actor {
  return { actor: request.headers['x-wajah-actor'] === 'cli' ? 'cli' : 'admin', ip: request.ip };
}

/** Operator administration (P3) under /api/admin/, `Authorization: Bearer <WAJAH_ADMIN_TOKEN>`. */
export async function adminRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { clients } = app.container.foundation;
  const base = { onRequest: app.authenticateAdmin } as const;
  const json = { ...base, preValidation: requireJson } as const;
  const maybeJson = { ...base, preValidation: optionalJson } as const;
  const tags = ['admin'];
  const security = [{ AdminToken: [] }];
  const AUTH = [401, 403] as const;

  app.post(
    '/admin/clients/',
    {
      ...json,
      schema: { tags, security, summary: 'Create a client and its first API key', body: CreateClientBody, response: { 201: CredentialsSchema, ...errors(400, ...AUTH, 415) } },
    },
    // (NullableInteger limits are typed `unknown` by the type provider; the schema guarantees integer | null.)
    async (request, reply) => reply.code(201).send(await clients.create(request.body as Parameters<typeof clients.create>[0], actor(request))),
  );

  app.get(
    '/admin/clients/',
    { ...base, schema: { tags, security, summary: 'List clients', querystring: ClientListQuery, response: { 200: ClientPage, ...errors(400, ...AUTH) } } },
    async (request) => clients.list(request.query.page, request.query.page_size),
  );

  app.get(
    '/admin/clients/:client_id/',
    { ...base, schema: { tags, security, summary: 'Get a client with its keys', params: ClientParams, response: { 200: ClientSchema, ...errors(...AUTH, 404) } } },
    async (request) => clients.get(request.params.client_id),
  );

  app.patch(
    '/admin/clients/:client_id/',
    {
      ...json,
      schema: {
        tags,
        security,
        summary: 'Change tier, limits, allow-list, settings or is_active',
        params: ClientParams,
        body: UpdateClientBody,
        response: { 200: ClientSchema, ...errors(400, ...AUTH, 404, 415) },
      },
    },
    async (request) => clients.update(request.params.client_id, request.body as Parameters<typeof clients.update>[1], actor(request)),
  );

  app.post(
    '/admin/clients/:client_id/keys/',
    {
      ...maybeJson,
      schema: {
        tags,
        security,
        summary: 'Issue another API key for a client',
        params: ClientParams,
        body: CreateKeyBody,
        response: { 201: CredentialsSchema, ...errors(400, ...AUTH, 404, 415) },
      },
    },
    async (request, reply) => {
      const { key: _key, ...credentials } = await clients.createKey(request.params.client_id, request.body ?? {}, actor(request));
      return reply.code(201).send(credentials);
    },
  );

  app.patch(
    '/admin/keys/:key/',
    {
      ...json,
      schema: { tags, security, summary: "Change a key's name or IP allow-list", params: KeyParams, body: UpdateKeyBody, response: { 200: KeySchema, ...errors(400, ...AUTH, 404, 415) } },
    },
    async (request) => clients.updateKey(request.params.key, request.body, actor(request)),
  );

  app.post(
    '/admin/keys/:key/revoke/',
    { ...base, schema: { tags, security, summary: 'Revoke a key at once', params: KeyParams, response: { 200: KeySchema, ...errors(...AUTH, 404) } } },
    async (request) => clients.revokeKey(request.params.key, actor(request)),
  );

  app.post(
    '/admin/keys/:key/rotate/',
    {
      ...maybeJson,
      schema: {
        tags,
        security,
        summary: 'Issue a replacement key; the old one works for a grace period, then stops',
        params: KeyParams,
        body: RotateKeyBody,
        response: { 200: RotatedSchema, ...errors(400, ...AUTH, 404, 409, 415) },
      },
    },
    async (request) => {
      const { key: _key, ...rotated } = await clients.rotateKey(request.params.key, request.body ?? {}, actor(request));
      return rotated;
    },
  );
}
