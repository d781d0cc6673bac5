import type { Core } from '../container.ts';
import type { DB } from '../db/database.ts';
import type { AnalyzedFace, AnalyzeOptions, AnalyzeResult, FaceEngine } from '../vision/types.ts';
import { appError, isAppError, type AppError } from '../errors.ts';
import { interOcularPx, QUALITY, tooSmallToRecognise } from '../vision/quality/quality.ts';
import { TemplateCipher } from '../crypto/template-cipher.ts';
import { confidenceFromSimilarity, defaultVerifyThreshold, identificationThreshold } from '../vision/calibration.ts';
import type { FoundationServices } from './foundation.ts';
import { FaceGallery, TemplateVault } from './templates.service.ts';
import { CompareService } from './compare.service.ts';
import { loadUserPhotosForExport, loadUserTemplatesForExport } from '../db/repositories/templates.repository.ts';
import { SessionStore } from './sessions.service.ts';
import { EnrollmentService } from './enrollment.service.ts';
import { AuthenticationService } from './authentication.service.ts';

/** Services of the face layer: enrollment, authentication (with liveness), templates and search. */
export interface FaceServices {
  enrollment: EnrollmentService;
  authentication: AuthenticationService;
  gallery: FaceGallery;
  /** Two photos: the same person? (nothing stored) */
  compare: CompareService;
  /** Seals and opens templates (and opt-in photos) with the master key; shared by every face-data service. */
  vault: TemplateVault;
  close?(): Promise<void>;
}

/** Who called, for attempts and event device_info. */
export interface RequestMeta {
  ip: string | null;
  userAgent: string | null;
}

/**
 * How a stream records the decisions of its frames (src/ws/stream-decisions.ts: one per person
 * appearance, not one per frame). Without one, every call writes its attempt and event at once.
 *
 * @example await recorder.record({ success: true, user: 'uuid' }, write) // write() now, later or never
 */
export interface DecisionRecorder {
  /** `outcome` null: the frame had no face. `write` stores the frame's attempt and event when called. */
  record(outcome: { success: boolean; user: string | null } | null, write: () => Promise<void>): Promise<void>;
  /**
   * A read the decision needs (the matched users' rows, a claimed user's templates), which a stream may
   * answer from its last identical read within the same person appearance (StreamDecisions). Without
   * it, `load` runs on every frame.
   */
  reuse?<T>(key: string, load: () => Promise<T>): Promise<T>;
}

/** An uploaded image: bytes (multipart) or a data URL string (JSON convenience form). */
export type ImageInput = Uint8Array | string;

/** Score calibration of the recognisers (src/vision/calibration.ts), injectable for tests. */
export interface Calibration {
  confidence(cosine: number, modelId: string): number;
  /** Minimum cosine so a stranger matches anyone in a gallery of this size with probability ≤ fpir. */
  identificationMinCosine(modelId: string, fpir: number, gallerySize: number): number;
  verifyCosine(modelId: string): number;
}

export const visionCalibration: Calibration = {
  confidence: (c, m) => confidenceFromSimilarity(c, m),
  identificationMinCosine: (m, f, n) => identificationThreshold(m, f, n),
  verifyCosine: (m) => defaultVerifyThreshold(m),
};

/** What every face service receives. */
export interface FaceDeps {
  db: DB;
  engine: FaceEngine | null;
  vault: TemplateVault;
  gallery: FaceGallery;
  sessions: SessionStore;
  calibration: Calibration;
  log: Core['log'];
  metrics: Core['metrics'];
}

/**
 * Runs the engine on one image, keeping the largest face; no engine → SERVICE_UNAVAILABLE.
 * `liveness`: the frame belongs to a session's liveness check, so eye contours are re-fitted for a
 * clearer blink signal (≈ +10 ms) and the passive anti-spoof score is computed (≈ +5 ms).
 */
export async function analyzeOne(
  engine: FaceEngine | null,
  image: ImageInput,
  opts: { liveness?: boolean; planarRef?: AnalyzeOptions['planarRef']; lane?: string } = {},
): Promise<{ face: AnalyzedFace; result: AnalyzeResult }> {
  if (!engine) throw appError('SERVICE_UNAVAILABLE', 'The face engine is not running on this server');
  const result = await engine.analyze(image, { multiple: 'largest', embed: true, refineEyes: opts.liveness ?? false, passive: opts.liveness ?? false, planarRef: opts.liveness ? opts.planarRef : null, ...(opts.lane ? { lane: opts.lane } : {}) });
  const face = result.faces[0];
  if (!face || !face.embedding) throw appError('NO_FACE_DETECTED');
  return { face, result };
}

/**
 * POOR_IMAGE_QUALITY (422) for a face too small to recognise (tooSmallToRecognise: eyes under 16 px apart), else
 * null: authentication decides nothing on such a face, whatever the match would say. The details say what
 * to change.
 */
export function unrecognisable(face: Pick<AnalyzedFace, 'landmarks' | 'pose' | 'quality'>): AppError | null {
  if (!tooSmallToRecognise(face.landmarks, face.pose.yaw)) return null;
  const px = round(interOcularPx(face.landmarks, face.pose.yaw), 1);
  return appError('POOR_IMAGE_QUALITY', `The face is too small to recognise (eyes ${px} px apart, at least ${QUALITY.ipdMin} needed): move closer to the camera or send a larger picture`, {
    quality_score: round(face.quality.score),
    inter_ocular_px: px,
    min_inter_ocular_px: QUALITY.ipdMin,
    suggestions: ['move_closer'],
  });
}

/** Where the face that was used sits in the picture (pixels of the decoded, EXIF-rotated image): drawn by clients. */
export interface FaceLocation {
  box: { x: number; y: number; width: number; height: number };
  image_width: number;
  image_height: number;
}

export function faceLocation(result: Pick<AnalyzeResult, 'width' | 'height'>, face: Pick<AnalyzedFace, 'box'>): FaceLocation {
  const b = face.box;
  return { box: { x: Math.round(b.x), y: Math.round(b.y), width: Math.round(b.width), height: Math.round(b.height) }, image_width: result.width, image_height: result.height };
}

export function isNoFace(e: unknown): boolean {
  return isAppError(e) && e.code === 'NO_FACE_DETECTED';
}

export const round = (x: number, digits = 3): number => Math.round(x * 10 ** digits) / 10 ** digits;

export async function createFaceServices(core: Core, foundation: FoundationServices): Promise<FaceServices> {
  const vault = new TemplateVault(new TemplateCipher(core.masterKey(), { fallbackKeys: core.previousMasterKeys }));
  vault.attachKeyWatch(core.sealKeyWatch);
  const gallery = new FaceGallery({ db: core.database.db, vault, redisUrl: core.config.redisUrl, log: core.log });
  await gallery.start();
  const deps: FaceDeps = {
    db: core.database.db,
    engine: core.engine,
    vault,
    gallery,
    sessions: new SessionStore(core.database.db),
    calibration: visionCalibration,
    log: core.log,
    metrics: core.metrics,
  };
  // A user deleted through the users API leaves every process's search at once; the portability
  // export carries the decrypted embeddings (U4).
  foundation.users.onUserDeleted(({ clientId, userId }) => gallery.userRemoved(clientId, userId));
  // Identification searches the active users: a deactivated user leaves the index, a reactivated one returns.
  foundation.users.onUserActiveChanged(({ clientId, userId, isActive }) => gallery.userActiveChanged(clientId, userId, isActive));
  foundation.users.setExportContributor('face-templates', async ({ clientId, userId }) => ({
    face_templates: (await loadUserTemplatesForExport(core.database.db, clientId, userId)).map((t) => ({
      id: t.id,
      enrollment_id: t.enrollment_id,
      model_id: t.model_id,
      dim: t.dim,
      angle: t.angle,
      quality: t.quality,
      created_at: new Date(t.created_at as unknown as string).toISOString(),
      embedding: Array.from(vault.openTemplate(t)),
    })),
  }));
  // The user's opted-in photos (metadata, as the foundation lists them), only those sealed as theirs: a photo row
  // moved in from another user or enrollment does not open under its row and is left out (logged, counted).
  foundation.users.setExportContributor('face-photos', async ({ clientId, userId }) => ({
    face_photos: (await loadUserPhotosForExport(core.database.db, clientId, userId)).flatMap((p) =>
      vault.tryOpenPhoto(p) ? [{ id: p.id, enrollment_id: p.enrollment_id, content_type: p.content_type, created_at: new Date(p.created_at as unknown as string).toISOString() }] : [],
    ),
  }));
  return {
    vault,
    enrollment: new EnrollmentService(deps),
    authentication: new AuthenticationService(deps, foundation.security),
    compare: new CompareService(deps),
    gallery,
    close: () => gallery.close(),
  };
}
