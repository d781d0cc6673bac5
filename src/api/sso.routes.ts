import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { errors, requireJson } from './common.schemas.ts';
import { SsoClientBody, SsoClientCreated, SsoClientPage, SsoClientParams, SsoClientSchema, SsoListQuery } from './sso.schemas.ts';
import type { Challenge } from '../services/liveness.service.ts';

const AUTH_ERRORS = [401, 403, 429] as const;

/** Relying-party applications of the calling tenant, for face sign-in over OpenID Connect (C4); docs/sso.md. */
export async function ssoRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const sso = () => app.container.sso;
  const base = { onRequest: app.authenticateClient } as const;
  const tags = ['sso'];

  app.post(
    '/sso/clients/',
    {
      ...base,
      preValidation: requireJson,
      schema: { tags, summary: 'Register a relying-party application (OIDC client); the secret is shown once', body: SsoClientBody, response: { 201: SsoClientCreated, ...errors(400, ...AUTH_ERRORS, 415) } },
    },
    async (request, reply) => {
      const created = await sso().clients.register(request.client!, { ...request.body, liveness_challenges: request.body.liveness_challenges as Challenge[] | undefined }, request.ip);
      return reply.code(201).send({ ...created, issuer: sso().issuer });
    },
  );

  app.get(
    '/sso/clients/',
    { ...base, schema: { tags, summary: 'List relying-party applications', querystring: SsoListQuery, response: { 200: SsoClientPage, ...errors(400, ...AUTH_ERRORS) } } },
    async (request) => sso().clients.list(request.client!, request.query.page, request.query.page_size),
  );

  app.get(
    '/sso/clients/:client_id/',
    { ...base, schema: { tags, summary: 'One relying-party application (never its secret)', params: SsoClientParams, response: { 200: SsoClientSchema, ...errors(...AUTH_ERRORS, 404) } } },
    async (request) => sso().clients.get(request.client!, request.params.client_id),
  );

  app.delete(
    '/sso/clients/:client_id/',
    {
      ...base,
      schema: { tags, summary: 'Delete a relying-party application: its sign-ins stop at once', params: SsoClientParams, response: { 204: Type.Null({ description: 'Deleted' }), ...errors(...AUTH_ERRORS, 404) } },
    },
    async (request, reply) => {
      await sso().clients.remove(request.client!, request.params.client_id, request.ip);
      return reply.code(204).send(null);
    },
  );
}
