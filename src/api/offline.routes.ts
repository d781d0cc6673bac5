import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { errors, requireJson } from './common.schemas.ts';
import { IssueOfflinePackageBody, IssuedOfflinePackage, OfflinePublicKey, OfflineRecall, OfflineRevocationList, OfflineUserParams, RecallOfflineBody } from './offline.schemas.ts';

/** Offline verification (C6): issue a signed package for one user; publish the signing public key; recall packages. */
export async function offlineRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { offline } = app.container;
  const tags = ['offline'];

  app.post(
    '/clients/users/:user_id/offline-package/',
    {
      onRequest: app.authenticateClient,
      preValidation: requireJson,
      schema: {
        tags,
        summary: "Issue a signed offline verification package with the user's encrypted templates",
        params: OfflineUserParams,
        body: IssueOfflinePackageBody,
        response: { 201: IssuedOfflinePackage, ...errors(400, 401, 403, 404, 409, 413, 415, 422, 429) },
      },
    },
    async (request, reply) => reply.code(201).send(await offline.issue(request.client!, request.params.user_id, request.body, { ip: request.ip })),
  );

  // Public on purpose: a device (door reader, kiosk) needs it without API credentials. Pin it in the app.
  app.get(
    '/offline/public-key/',
    { schema: { tags, summary: 'The Ed25519 public key that verifies offline packages (PEM and JWK)', security: [], response: { 200: OfflinePublicKey } } },
    async () => offline.publicKey(),
  );

  app.post(
    '/offline/revocations/',
    {
      onRequest: app.authenticateClient,
      preValidation: requireJson,
      schema: {
        tags,
        summary: "Recall a user's offline packages issued until now (devices refuse them once they hold a newer revocation list)",
        body: RecallOfflineBody,
        response: { 201: OfflineRecall, ...errors(400, 401, 403, 404, 413, 415, 429) },
      },
    },
    async (request, reply) => reply.code(201).send(await offline.recall(request.client!, request.body.user_id, { ip: request.ip })),
  );

  app.get(
    '/offline/revocations/',
    {
      onRequest: app.authenticateClient,
      schema: { tags, summary: "The tenant's offline revocation list, signed with the offline signing key", response: { 200: OfflineRevocationList, ...errors(401, 403, 429) } },
    },
    async (request) => offline.revocationList(request.client!),
  );
}
