import type { ClientContext } from '../../api/request-context.ts';
import type { DB } from '../../db/database.ts';
import { findExample, loadExampleTemplates } from '../../db/repositories/compreface.repository.ts';
import type { FaceUser } from '../../db/repositories/templates.repository.ts';
import { appError } from '../../errors.ts';
import type { AnalyzedFace, AnalyzeResult, FaceEngine } from '../../vision/types.ts';
import { DEFAULTS, IDENTIFICATION_FPIR } from '../authentication.service.ts';
import { writeOutcome } from '../authentication.outcome.ts';
import type { Calibration, RequestMeta } from '../face.ts';
import type { SecurityMonitor } from '../security-monitor.service.ts';
import type { FaceGallery, TemplateVault } from '../templates.service.ts';
import { faceJson, pluginsVersions, round5, selectFaces, type FaceQuery } from './face-format.ts';

export interface RecognitionDeps {
  db: DB;
  engine: FaceEngine | null;
  gallery: FaceGallery;
  vault: TemplateVault;
  calibration: Calibration;
  /** Told of recorded failures, as AuthenticationService tells it (bursts against one user, P6). */
  monitor?: Pick<SecurityMonitor, 'faceFailure'>;
}

/** A recognition outcome worth an auth_attempts row and its webhook event. */
interface Outcome {
  mode: 'identification' | 'verification';
  user: Pick<FaceUser, 'id' | 'external_id' | 'name'> | null;
  success: boolean;
  confidence: number | null;
  quality: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * CompreFace's image endpoints on Wajah's engine and 1:N search: recognize (every face, its top subjects),
 * verify against one example, detect, verify two images. `similarity` is Wajah's calibrated confidence
 * (0.5 = the best-accuracy cosine, 0.8 ≈ 0.1 % false accepts per comparison). Recognize and
 * example-verify write auth_attempts and authentication.success / .failed like Wajah's own one-shot
 * calls (success: similarity ≥ 0.8, and for 1:N above the gallery-size floor), so analytics and webhooks see them.
 *
 * @example await recognition.recognize(client, jpeg, { limit: 0, plugins: new Set(), status: false, predictionCount: 1 }, meta)
 */
export class CompreFaceRecognition {
  private readonly d: RecognitionDeps;
  constructor(d: RecognitionDeps) {
    this.d = d;
  }

  async recognize(client: ClientContext, image: Uint8Array, q: FaceQuery & { predictionCount: number }, meta: RequestMeta) {
    const started = performance.now();
    const { result, faces } = await this.#faces(image, q, true);
    const { modelId } = result;
    const gallerySize = await this.d.gallery.size(client.id, modelId);
    const floor = this.d.calibration.identificationMinCosine(modelId, IDENTIFICATION_FPIR, gallerySize);
    const outcomes: Outcome[] = [];
    const out = [];
    for (const face of faces) {
      const active = (await this.d.gallery.searchActive(client.id, modelId, face.embedding!, q.predictionCount, -1)).slice(0, q.predictionCount);
      const subjects = active.map((h) => ({ subject: h.user.external_id, similarity: round5(this.d.calibration.confidence(h.cosine, modelId)) }));
      const top = active[0];
      const confidence = top ? subjects[0]!.similarity : null;
      outcomes.push({
        mode: 'identification',
        user: top?.user ?? null,
        success: !!top && top.cosine >= floor && confidence! >= DEFAULTS.search_threshold,
        confidence,
        quality: face.quality.score,
      });
      out.push({ ...faceJson(face, result, q), subjects });
    }
    await this.#record(client, outcomes, started, meta);
    return withVersions({ result: out }, result, q);
  }

  /** Every face of the image against one stored example (`image_id`). */
  async verifyExample(client: ClientContext, imageId: string, image: Uint8Array, q: FaceQuery, meta: RequestMeta) {
    const started = performance.now();
    const example = UUID.test(imageId) ? await findExample(this.d.db, client.id, imageId) : undefined;
    if (!example) throw appError('ENROLLMENT_NOT_FOUND', `Image with ID ${imageId} not found`);
    const { result, faces } = await this.#faces(image, q, true);
    const refs = (await loadExampleTemplates(this.d.db, client.id, example.image_id)).filter((t) => t.model_id === result.modelId);
    if (!refs.length) throw appError('MODEL_MISMATCH', `The example was made with ${example.model_id}, the image analysed with ${result.modelId}`);
    const vecs = refs.map((t) => this.d.vault.openTemplate(t));
    const scored = faces.map((face) => {
      const best = Math.max(...vecs.map((v) => this.d.engine!.similarity(v, face.embedding!)));
      return { face, similarity: round5(this.d.calibration.confidence(best, result.modelId)) };
    });
    const best = scored.reduce((a, b) => (b.similarity > a.similarity ? b : a));
    const user = { id: example.user_id, external_id: example.subject, name: example.subject };
    await this.#record(client, [{ mode: 'verification', user, success: example.is_active && best.similarity >= DEFAULTS.confidence_threshold, confidence: best.similarity, quality: best.face.quality.score }], started, meta);
    return withVersions({ result: scored.map((s) => ({ ...faceJson(s.face, result, q), similarity: s.similarity })) }, result, q);
  }

  async detect(image: Uint8Array, q: FaceQuery) {
    const { result, faces } = await this.#faces(image, q, false);
    return withVersions({ result: faces.map((f) => faceJson(f, result, q)) }, result, q);
  }

  /** The main (largest) face of the source against every face of the target. */
  async verifyImages(source: Uint8Array, target: Uint8Array, q: FaceQuery) {
    const src = await this.#faces(source, { ...q, limit: 1 }, true);
    const tgt = await this.#faces(target, q, true);
    if (src.result.modelId !== tgt.result.modelId) throw appError('MODEL_MISMATCH');
    const probe = src.faces[0]!;
    const matches = tgt.faces.map((f) => ({
      ...faceJson(f, tgt.result, q),
      similarity: round5(this.d.calibration.confidence(this.d.engine!.similarity(probe.embedding!, f.embedding!), tgt.result.modelId)),
    }));
    return { result: [withVersions({ source_image_face: faceJson(probe, src.result, q), face_matches: matches }, src.result, q)] };
  }

  async #faces(image: Uint8Array, q: FaceQuery, embed: boolean): Promise<{ result: AnalyzeResult; faces: AnalyzedFace[] }> {
    if (!this.d.engine) throw appError('SERVICE_UNAVAILABLE', 'The face engine is not running on this server');
    const result = await this.d.engine.analyze(image, { multiple: 'all', embed });
    const faces = selectFaces(result, q).filter((f) => !embed || f.embedding);
    if (!faces.length) throw appError('NO_FACE_DETECTED', 'No face is found in the given image');
    return { result, faces };
  }

  /** auth_attempts rows and authentication.success / .failed events, in one transaction (authentication.outcome.ts). */
  async #record(client: ClientContext, outcomes: Outcome[], started: number, meta: RequestMeta): Promise<void> {
    // Each outcome is recorded with its share of the request's time.
    const share = (performance.now() - started) / outcomes.length;
    const decisions = outcomes.map((o) => {
      const verification = o.mode === 'verification';
      return {
        ...o,
        failureReason: o.success ? null : verification ? 'LOW_CONFIDENCE' : 'NO_MATCH',
        threshold: verification ? DEFAULTS.confidence_threshold : DEFAULTS.search_threshold,
      };
    });
    await this.d.db.transaction().execute(async (trx) => {
      for (const d of decisions) await writeOutcome(trx, client, null, { mode: d.mode, session_type: 'api' }, d, null, 1, share, meta);
    });
    // Once written (the transaction committed); the monitor counts in the background.
    for (const d of decisions) {
      if (d.success) continue;
      const user = d.user ? { id: d.user.id, externalId: d.user.external_id } : null;
      this.d.monitor?.faceFailure({ clientId: client.id, mode: d.mode, user, reason: d.failureReason, livenessReason: null, ip: meta.ip });
    }
  }
}

function withVersions<T extends Record<string, unknown>>(body: T, result: AnalyzeResult, q: FaceQuery): T & { plugins_versions?: Record<string, string> } {
  return q.status ? { ...body, plugins_versions: pluginsVersions(result, q) } : body;
}
