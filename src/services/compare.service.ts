import { appError } from '../errors.ts';
import { analyzeOne, faceLocation, round, type FaceDeps, type FaceLocation, type ImageInput } from './face.ts';
import { assertThresholds, DEFAULTS } from './authentication.service.ts';

export interface CompareResult {
  /** Whether the two photos show the same person at `threshold`. */
  same_person: boolean;
  /** Calibrated like verification (0.8 ≈ 0.1 % false accepts per comparison). */
  confidence: number;
  threshold: number;
  /** The face each decision was taken on (the largest of each photo). */
  faces: [FaceLocation & { quality_score: number }, FaceLocation & { quality_score: number }];
  processing_time: number;
}

/**
 * Two photos, one question: the same person? For operators checking a document photo against a selfie, or
 * a console user comparing two pictures. Nothing is stored and no user is involved: no template, no attempt,
 * no event (the API-access audit entry records the call).
 *
 * @example await compare.compare(client, { image_a, image_b }) // → { same_person: true, confidence: 0.97, … }
 */
export class CompareService {
  private readonly d: Pick<FaceDeps, 'engine' | 'calibration'>;
  constructor(d: Pick<FaceDeps, 'engine' | 'calibration'>) {
    this.d = d;
  }

  async compare(input: { image_a: ImageInput; image_b: ImageInput; confidence_threshold?: number }): Promise<CompareResult> {
    assertThresholds({ confidence_threshold: input.confidence_threshold });
    const started = performance.now();
    const [a, b] = await Promise.all([analyzeOne(this.d.engine, input.image_a), analyzeOne(this.d.engine, input.image_b)]);
    if (a.result.modelId !== b.result.modelId) throw appError('MODEL_MISMATCH', 'The two photos were analysed by different recognisers');
    const cosine = this.d.engine!.similarity(a.face.embedding!, b.face.embedding!);
    const confidence = round(this.d.calibration.confidence(cosine, a.result.modelId));
    const threshold = input.confidence_threshold ?? DEFAULTS.confidence_threshold;
    const where = (x: typeof a) => ({ ...faceLocation(x.result, x.face), quality_score: round(x.face.quality.score) });
    return { same_person: confidence >= threshold, confidence, threshold, faces: [where(a), where(b)], processing_time: round((performance.now() - started) / 1000) };
  }
}
