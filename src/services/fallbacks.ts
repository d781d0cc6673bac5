import type { Core } from '../container.ts';
import type { FoundationServices } from './foundation.ts';
import { visionCalibration, type FaceServices } from './face.ts';
import { SecretHasher } from './fallback-hasher.ts';
import { loadFallbackPepper } from '../crypto/fallback-pepper.ts';
import { DEFAULT_FALLBACK_POLICY, FallbackService, sprayGuardFor } from './fallback.service.ts';
import { ReviewService } from './review.service.ts';

/**
 * Fallbacks (C5): PIN/password credentials and the manual-review queue. Both sit on the users of
 * the foundation layer; reviews enroll into the face layer's search. The user export gains
 * `fallback_credential` (whether one is set, never the hash) and `manual_reviews`; deleting a user
 * removes both (foreign keys cascade).
 *
 * @example const { fallback, reviews } = await createFallbackServices(core, foundation, face)
 */
export interface FallbackServices {
  fallback: FallbackService;
  reviews: ReviewService;
}

export async function createFallbackServices(core: Core, foundation: FoundationServices, face: FaceServices): Promise<FallbackServices> {
  const db = core.database.db;
  const hasher = new SecretHasher(await loadFallbackPepper(db, core.masterKey(), core.previousMasterKeys));
  // One secret tried at many users is counted across instances (Redis), like the per-user lock-out (database).
  const fallback = new FallbackService({ db, users: foundation.users, audit: foundation.audit, hasher, spray: sprayGuardFor(DEFAULT_FALLBACK_POLICY, core.redis) });
  const reviews = new ReviewService({
    db,
    users: foundation.users,
    audit: foundation.audit,
    engine: core.engine,
    vault: face.vault,
    gallery: face.gallery,
    calibration: visionCalibration,
  });
  foundation.users.setExportContributor('fallbacks', async ({ clientId, userId }) => ({
    ...(await fallback.exportSection(clientId, userId)),
    ...(await reviews.exportSection(clientId, userId)),
  }));
  return { fallback, reviews };
}
