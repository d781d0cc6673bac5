import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { errors, optionalJson, requireJson } from './common.schemas.ts';
import {
  DeliveryDetailSchema,
  DeliveryPage,
  EndpointBody,
  EndpointPage,
  EndpointParams,
  EndpointPatchBody,
  EndpointSchema,
  ListEndpointsQuery,
  ListLogsQuery,
  LogParams,
  ReplayBody,
  ReplaySchema,
} from './webhooks.schemas.ts';
import type { WebhookActor } from '../services/webhooks/webhooks.service.ts';

const AUTH_ERRORS = [401, 403, 429] as const;

function actor(request: FastifyRequest): WebhookActor {
  return { apiKeyId: request.client!.apiKeyId, ip: request.ip };
}

/** Webhook endpoints and delivery logs of the calling client (W1, W4); docs/webhooks.md. */
export async function webhooksRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { webhooks } = app.container.webhooks;
  const base = { onRequest: app.authenticateClient } as const;
  const tags = ['webhooks'];

  app.post(
    '/webhooks/endpoints/',
    {
      ...base,
      preValidation: requireJson,
      schema: { tags, summary: 'Create a webhook endpoint', body: EndpointBody, response: { 201: EndpointSchema, ...errors(400, ...AUTH_ERRORS, 413, 415) } },
    },
    async (request, reply) => reply.code(201).send(await webhooks.create(request.client!.id, request.body)),
  );

  app.get(
    '/webhooks/endpoints/',
    { ...base, schema: { tags, summary: 'List webhook endpoints', querystring: ListEndpointsQuery, response: { 200: EndpointPage, ...errors(400, ...AUTH_ERRORS) } } },
    async (request) => webhooks.list(request.client!.id, request.query),
  );

  app.get(
    '/webhooks/endpoints/:id/',
    { ...base, schema: { tags, summary: 'Get a webhook endpoint', params: EndpointParams, response: { 200: EndpointSchema, ...errors(...AUTH_ERRORS, 404) } } },
    async (request) => webhooks.get(request.client!.id, request.params.id),
  );

  app.put(
    '/webhooks/endpoints/:id/',
    {
      ...base,
      preValidation: requireJson,
      schema: {
        tags,
        summary: 'Replace a webhook endpoint (omitted secret is kept, omitted options reset)',
        params: EndpointParams,
        body: EndpointBody,
        response: { 200: EndpointSchema, ...errors(400, ...AUTH_ERRORS, 404, 413, 415) },
      },
    },
    async (request) => webhooks.replace(request.client!.id, request.params.id, request.body),
  );

  app.patch(
    '/webhooks/endpoints/:id/',
    {
      ...base,
      preValidation: requireJson,
      schema: {
        tags,
        summary: 'Change some fields of a webhook endpoint',
        params: EndpointParams,
        body: EndpointPatchBody,
        response: { 200: EndpointSchema, ...errors(400, ...AUTH_ERRORS, 404, 413, 415) },
      },
    },
    async (request) => webhooks.patch(request.client!.id, request.params.id, request.body),
  );

  app.delete(
    '/webhooks/endpoints/:id/',
    {
      ...base,
      schema: {
        tags,
        summary: 'Delete a webhook endpoint and its delivery logs',
        params: EndpointParams,
        response: { 204: Type.Null({ description: 'Deleted' }), ...errors(...AUTH_ERRORS, 404) },
      },
    },
    async (request, reply) => {
      await webhooks.delete(request.client!.id, request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/webhooks/endpoints/:id/test/',
    {
      ...base,
      schema: {
        tags,
        summary: 'Send a signed webhook.test ping now; returns the delivery after its first attempt',
        params: EndpointParams,
        response: { 200: DeliveryDetailSchema, ...errors(...AUTH_ERRORS, 404, 429) },
      },
    },
    async (request) => webhooks.test(request.client!.id, request.params.id),
  );

  app.get(
    '/webhooks/logs/',
    {
      ...base,
      schema: { tags, summary: 'List webhook deliveries (newest first)', querystring: ListLogsQuery, response: { 200: DeliveryPage, ...errors(400, ...AUTH_ERRORS) } },
    },
    async (request) => webhooks.listDeliveries(request.client!.id, request.query),
  );

  app.get(
    '/webhooks/logs/:log_id/',
    { ...base, schema: { tags, summary: 'Get a webhook delivery with its body', params: LogParams, response: { 200: DeliveryDetailSchema, ...errors(...AUTH_ERRORS, 404) } } },
    async (request) => webhooks.getDelivery(request.client!.id, request.params.log_id),
  );

  // The static segment wins over /webhooks/logs/:log_id/… in find-my-way, so `retry` is never read as a log id.
  app.post(
    '/webhooks/logs/retry/',
    {
      ...base,
      preValidation: optionalJson,
      schema: {
        tags,
        summary: 'Re-queue every matching delivery (default: failed ones) for an immediate attempt, up to 10000 a call',
        body: ReplayBody,
        response: { 202: ReplaySchema, ...errors(400, ...AUTH_ERRORS, 404, 413, 415) },
      },
    },
    async (request, reply) => reply.code(202).send(await webhooks.replayDeliveries(request.client!.id, request.body, actor(request))),
  );

  app.post(
    '/webhooks/logs/:log_id/retry/',
    {
      ...base,
      schema: {
        tags,
        summary: 'Re-queue a delivery for an immediate attempt (fresh retry budget)',
        params: LogParams,
        response: { 202: DeliveryDetailSchema, ...errors(...AUTH_ERRORS, 404, 409) },
      },
    },
    async (request, reply) => reply.code(202).send(await webhooks.retryDelivery(request.client!.id, request.params.log_id)),
  );
}
