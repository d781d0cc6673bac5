import type { FastifyInstance } from 'fastify';
import { authPlugin } from '../auth.plugin.ts';
import { requestTimingPlugin } from '../request-timing.plugin.ts';
import { createCompreFaceServices } from '../../services/compreface/index.ts';
import { compreFaceErrorHandler, repairQuery } from './compreface-http.ts';
import { recognitionRoutes } from './recognition.routes.ts';
import { detectionVerificationRoutes } from './detection-verification.routes.ts';
import { compreFaceKeysRoutes } from './keys.routes.ts';

/**
 * CompreFace's public REST API v1 on Wajah (docs/compreface.md), at CompreFace's absolute paths
 * /api/v1/recognition/…, /api/v1/detection/detect, /api/v1/verification/verify, plus the operator's
 * key issuance under /api/admin/clients/{id}/compreface-keys/. The service routes answer errors in
 * CompreFace's shape; the admin routes in Wajah's.
 *
 * @example await app.register(compreFacePlugin) // in buildApp, at the root (paths are absolute)
 */
export async function compreFacePlugin(app: FastifyInstance): Promise<void> {
  const cf = createCompreFaceServices(app.container);
  // Credentials, the api_access audit entry per request, and request timings, as under /api.
  await app.register(authPlugin);
  await app.register(requestTimingPlugin);
  await app.register(compreFaceKeysRoutes(cf));
  await app.register(async (service) => {
    service.setErrorHandler(compreFaceErrorHandler);
    service.addHook('onRequest', repairQuery);
    await service.register(recognitionRoutes(cf));
    await service.register(detectionVerificationRoutes(cf));
  });
}
