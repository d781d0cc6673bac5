import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { errors, requireJson } from '../common.schemas.ts';
import type { CompreFaceServices } from '../../services/compreface/index.ts';
import type { CompreFaceService } from '../../services/compreface/keys.service.ts';

const Service = Type.Union([Type.Literal('recognition'), Type.Literal('detection'), Type.Literal('verification')]);
const Params = Type.Object({ client_id: Type.String({ minLength: 1, maxLength: 64 }) });

/**
 * Operator API for CompreFace service keys (docs/compreface.md): issue one per service, list them.
 * Revoke with the ordinary `POST /api/admin/keys/{key}/revoke/`.
 */
export function compreFaceKeysRoutes(cf: CompreFaceServices) {
  return async function routes(fastify: FastifyInstance): Promise<void> {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const tags = ['admin'];
    const security = [{ AdminToken: [] }];
    const by = (h: unknown, ip: string) => ({ actor: h === 'cli' ? ('cli' as const) : ('admin' as const), ip });

    app.post('/api/admin/clients/:client_id/compreface-keys/', {
      onRequest: app.authenticateAdmin,
      preValidation: requireJson,
      schema: {
        tags,
        security,
        summary: 'Issue a CompreFace service key (x-api-key) for a client',
        params: Params,
        body: Type.Object({ service: Service, name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })) }),
        response: {
          201: Type.Object({
            api_key: Type.String({ description: 'The x-api-key value; shown once' }),
            service: Service,
            key: Type.String({ description: 'Wajah key id, for revocation' }),
            client_id: Type.String(),
            name: Type.Union([Type.String(), Type.Null()]),
            created_at: Type.String(),
          }),
          ...errors(400, 401, 403, 404, 415),
        },
      },
      handler: async (request, reply) =>
        reply.status(201).send(await cf.keys.issue(request.params.client_id, request.body.service as CompreFaceService, request.body.name ?? null, by(request.headers['x-wajah-actor'], request.ip))),
    });

    app.get('/api/admin/clients/:client_id/compreface-keys/', {
      onRequest: app.authenticateAdmin,
      schema: {
        tags,
        security,
        summary: "List a client's CompreFace service keys",
        params: Params,
        response: {
          200: Type.Object({
            keys: Type.Array(
              Type.Object({ key: Type.String(), service: Service, name: Type.Union([Type.String(), Type.Null()]), status: Type.String(), created_at: Type.String(), last_used_at: Type.Union([Type.String(), Type.Null()]) }),
            ),
          }),
          ...errors(401, 403, 404),
        },
      },
      handler: async (request) => ({ keys: await cf.keys.list(request.params.client_id) }),
    });
  };
}
