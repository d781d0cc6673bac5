import { appError } from '../errors.ts';
import { alignArcface } from './align/similarity.ts';
import { bytePool } from './buffer-pool.ts';
import { decodeImage, DEFAULT_LIMITS, type DecodeLimits } from './decode/decode.ts';
import type { DetectedFace, FaceDetector, TrackCrop, TrackedFit } from './detector/types.ts';
import type { RgbImage } from './image.ts';
import type { Embedder } from './embedder/types.ts';
import { livenessSignals, planaritySignals } from './liveness-signals/signals.ts';
import { DEFAULT_MODEL, isModelId, MODEL_DLIB, MODEL_FACEPLUGIN, type ModelId } from './models.ts';
import { assessQuality } from './quality/quality.ts';
import { iou, mustEmbed, newTrackSinceDetect, TRACKING, type TrackState } from './tracking/track-state.ts';
import type { AnalyzedFace, AnalyzeOptions, AnalyzeResult, Box } from './types.ts';

/** Build a recogniser backend by id (each loads its weights from node_modules). */
export async function createEmbedder(id: ModelId): Promise<Embedder> {
  switch (id) {
    case MODEL_FACEPLUGIN: {
      const { FacepluginEmbedder } = await import('./embedder/onnx-faceplugin/faceplugin-embedder.ts');
      // Flip-averaging was measured (docs/vision.md) and did not help beyond noise: one pass only.
      return FacepluginEmbedder.create({ id, flip: false });
    }
    case MODEL_DLIB: {
      const { FaceapiDlibEmbedder } = await import('./embedder/dlib-faceapi/faceapi-embedder.ts');
      return FaceapiDlibEmbedder.create();
    }
  }
}

/**
 * Faces ordered main face first: by area, discounted by distance from the image centre (up to −60 % in
 * a corner), so that of two faces of similar size the one in the middle of the frame is the subject,
 * while a clearly larger face still wins.
 */
export function byPrimacy<F extends { box: Box }>(faces: F[], width: number, height: number): F[] {
  const halfDiag = Math.hypot(width, height) / 2;
  const key = (f: F) => {
    const d = Math.hypot(f.box.x + f.box.width / 2 - width / 2, f.box.y + f.box.height / 2 - height / 2) / halfDiag;
    return f.box.width * f.box.height * (1 - 0.6 * Math.min(1, d) ** 2);
  };
  return [...faces].sort((a, b) => key(b) - key(a));
}

/** Detector backends: `ultraface-mesh` (default) or `human` (BlazeFace + mesh + iris, the slower original). */
export type DetectorId = 'ultraface-mesh' | 'human';

export async function createDetector(id: DetectorId = 'ultraface-mesh'): Promise<FaceDetector> {
  if (id === 'human') {
    const { HumanDetector } = await import('./detector/human/human-detector.ts');
    return HumanDetector.create();
  }
  const { UltrafaceMeshDetector } = await import('./detector/mesh/ultraface-mesh-detector.ts');
  return UltrafaceMeshDetector.create();
}

/** One stream frame to analyse following its face (`track`: the stream's state after its previous frame). */
export interface TrackedJob {
  image: Uint8Array | string;
  options: AnalyzeOptions;
  track: TrackState | null;
}

export interface TrackedOutcome {
  result: AnalyzeResult;
  track: TrackState;
}

/** One frame's outcome in analyzeTrackedBatch: each frame succeeds or fails on its own. */
export type TrackedBatchOutcome = { ok: true; value: TrackedOutcome } | { ok: false; error: unknown };

/** A decoded frame on its way through analyzeTrackedBatch. */
interface Prepared {
  job: TrackedJob;
  modelId: ModelId;
  embedder: Embedder | null;
  img: RgbImage;
  /** The stream's state, if it belongs to this model. */
  usable: TrackState | null;
  /** The face is followed on this frame (mesh on the predicted crop) rather than detected. */
  follow: boolean;
  /** The detector's turn on a followed face: its boxes alone confirm the followed fit (TRACKING.DETECT_EVERY). */
  confirm: boolean;
  fit: TrackedFit | null;
  t0: number;
  decodeMs: number;
  trackMs: number;
}

export interface AnalyzerOptions {
  defaultModel?: string;
  detector?: DetectorId;
  limits?: Partial<DecodeLimits>;
  /** Models to load at start (others load on first use). Default: just the default model. */
  preload?: string[];
}

/**
 * The in-thread pipeline: decode → detect → align → quality + signals → embed. Runs inside an
 * inference worker; nothing outside src/vision and src/workers uses it directly.
 *
 * @example const a = await Analyzer.create({}); const r = await a.analyze(bytes, { multiple: 'largest', embed: true });
 */
export class Analyzer {
  private readonly embedders = new Map<string, Promise<Embedder>>();

  private readonly detector: FaceDetector;
  readonly defaultModel: ModelId;
  private readonly limits: DecodeLimits;
  private constructor(
    detector: FaceDetector,
    defaultModel: ModelId,
    limits: DecodeLimits,
  ) {
    this.detector = detector; this.defaultModel = defaultModel; this.limits = limits;
  }

  static async create(opts: AnalyzerOptions = {}): Promise<Analyzer> {
    const defaultModel = opts.defaultModel ?? DEFAULT_MODEL;
    if (!isModelId(defaultModel)) throw new Error(`Unknown recognition model ${defaultModel}`);
    const detector = await createDetector(opts.detector);
    const a = new Analyzer(detector, defaultModel, { ...DEFAULT_LIMITS, ...opts.limits });
    for (const id of opts.preload ?? [defaultModel]) await a.embedder(id);
    return a;
  }

  get loadedModels(): string[] {
    return [...this.embedders.keys()];
  }

  private embedder(id: string): Promise<Embedder> {
    if (!isModelId(id)) throw appError('VALIDATION_ERROR', `Unknown recognition model ${id}`, { model: id });
    let e = this.embedders.get(id);
    if (!e) {
      e = createEmbedder(id);
      this.embedders.set(id, e);
      e.catch(() => this.embedders.delete(id));
    }
    return e;
  }

  async analyze(image: Uint8Array | string, options: AnalyzeOptions): Promise<AnalyzeResult> {
    const t0 = performance.now();
    const modelId = options.model ?? this.defaultModel;
    const embedder = options.embed ? await this.embedder(modelId) : null;
    // The decoded pixels go back to the pool when this frame is done (nothing in the result refers to them).
    const img = await decodeImage(image, this.limits, { pool: bytePool });
    try {
      return await this.#analyzeDecoded(img, options, modelId, embedder, t0);
    } finally {
      bytePool.give(img.data);
    }
  }

  async #analyzeDecoded(img: RgbImage, options: AnalyzeOptions, modelId: string, embedder: Embedder | null, t0: number): Promise<AnalyzeResult> {
    const t1 = performance.now();
    let detected: DetectedFace[] = await this.detector.detect(img, { passive: options.passive ?? false, refineEyes: options.refineEyes ?? false, wide: options.wideSearch ?? true });
    const t2 = performance.now();
    if (detected.length === 0) throw appError('NO_FACE_DETECTED');
    detected = byPrimacy(detected, img.width, img.height);
    if (detected.length > 1 && options.multiple === 'refuse') {
      throw appError('MULTIPLE_FACES', `${detected.length} faces were detected; exactly one is required`, { count: detected.length });
    }
    if (options.multiple === 'largest') detected = detected.slice(0, 1);

    const faces: AnalyzedFace[] = [];
    let qualityMs = 0, embedMs = 0;
    for (const f of detected) {
      const q0 = performance.now();
      const aligned = alignArcface(img, f.five, 112);
      const signals = { ...livenessSignals(f.mesh, aligned, f.passiveLiveScore, img), ...planaritySignals(img, { box: f.box, yaw: f.pose.yaw }, options.refineEyes ?? false, options.planarRef) };
      const quality = assessQuality(img, f, aligned, signals.eyeOpenness);
      const q1 = performance.now();
      const embedding = embedder ? await embedder.embed(img, f, aligned) : null;
      qualityMs += q1 - q0;
      embedMs += performance.now() - q1;
      faces.push({ box: f.box, score: f.score, landmarks: f.five, pose: f.pose, quality, signals, embedding });
    }
    const totalMs = performance.now() - t0;
    return {
      width: img.width,
      height: img.height,
      faces,
      modelId,
      timings: { decodeMs: t1 - t0, detectMs: t2 - t1, embedMs, qualityMs, totalMs },
    };
  }

  /**
   * One frame of a stream, following the main face from the previous frame (`prev`, null for the first):
   * the mesh is fitted on the crop the last frame predicts, and the detector runs only when there is no
   * track, the fit is not confident, or every TRACKING.DETECT_EVERY frames; the embedding is the track's
   * last one unless identity must be confirmed (mustEmbed). Quality and liveness signals come from this
   * frame. Returns the state for the next frame.
   */
  async analyzeTracked(image: Uint8Array | string, options: AnalyzeOptions, prev: TrackState | null): Promise<TrackedOutcome> {
    const [r] = await this.analyzeTrackedBatch([{ image, options, track: prev }]);
    if (!r.ok) throw r.error;
    return r.value;
  }

  /**
   * Several stream frames at once (the frames queued for one worker, usually of different streams): each
   * analysed exactly as by analyzeTracked, with the mesh fits on the predicted crops run as one batch of
   * the mesh model (the same landmarks, less time per frame). Each frame succeeds or fails on its own.
   * `onOutcome` hears each frame's outcome as soon as it is known (the caller can answer it without
   * waiting for the rest of the batch).
   */
  async analyzeTrackedBatch(items: TrackedJob[], onOutcome: (index: number, outcome: TrackedBatchOutcome) => void = () => {}): Promise<TrackedBatchOutcome[]> {
    // 1. Decode, one frame after another (one worker = one core).
    const frames: Array<Prepared | { error: unknown }> = [];
    for (const it of items) {
      const t0 = performance.now();
      try {
        const modelId = (it.options.model ?? this.defaultModel) as ModelId;
        const embedder = it.options.embed ? await this.embedder(modelId) : null;
        const img = await decodeImage(it.image, this.limits, { pool: bytePool });
        const usable = it.track && it.track.modelId === modelId ? it.track : null;
        // On the detector's turn the face is still followed when the backend can confirm the fit from
        // its boxes alone; otherwise that frame runs the whole detector.
        const due = usable !== null && usable.sinceDetect + 1 >= TRACKING.DETECT_EVERY;
        const follow = usable !== null && this.detector.track !== undefined && (!due || this.detector.faceBoxes !== undefined);
        frames.push({ job: it, modelId, embedder, img, usable, follow, confirm: follow && due, fit: null, t0, decodeMs: performance.now() - t0, trackMs: 0 });
      } catch (error) {
        frames.push({ error });
        onOutcome(frames.length - 1, { ok: false, error });
      }
    }
    // 2. The mesh on each followed face's predicted crop: one batch when several frames follow a face.
    const following = frames.filter((f): f is Prepared => !('error' in f) && f.follow);
    const detectOptions = (f: Prepared) => ({ passive: f.job.options.passive ?? false, refineEyes: f.job.options.refineEyes ?? false, wide: f.job.options.wideSearch ?? true });
    if (following.length > 1 && this.detector.trackBatch && following.every((f) => !detectOptions(f).refineEyes)) {
      const t = performance.now();
      const fits = await this.detector.trackBatch(following.map((f) => ({ img: f.img, crop: f.usable!.crop })), { passive: false });
      const share = (performance.now() - t) / following.length;
      following.forEach((f, i) => ((f.fit = fits[i]), (f.trackMs = share)));
    } else {
      for (const f of following) {
        const t = performance.now();
        f.fit = await this.detector.track!(f.img, f.usable!.crop, detectOptions(f));
        f.trackMs = performance.now() - t;
      }
    }
    // 3. The rest of each frame on its own, cheapest first (each is answered as soon as it is done):
    // frames whose fit stands, then those the detector's boxes must confirm, then those that need the
    // whole detector (no track, or the fit lost). Every frame's own result is the same in any order.
    const cost = (f: Prepared) => (f.fit && f.fit.confidence >= TRACKING.MIN_TRACK_CONFIDENCE ? (f.confirm ? 1 : 0) : 2);
    const order = frames.map((_, i) => i).sort((a, b) => {
      const fa = frames[a], fb = frames[b];
      return ('error' in fa ? -1 : cost(fa)) - ('error' in fb ? -1 : cost(fb)) || a - b;
    });
    const out: TrackedBatchOutcome[] = new Array(frames.length);
    for (const i of order) {
      const f = frames[i];
      if ('error' in f) {
        out[i] = { ok: false, error: f.error };
        continue; // already reported
      }
      try {
        out[i] = { ok: true, value: await this.#finishTracked(f, detectOptions(f)) };
      } catch (error) {
        out[i] = { ok: false, error };
      } finally {
        bytePool.give(f.img.data); // the frame is done: its pixels go back to the pool
      }
      onOutcome(i, out[i]);
    }
    return out;
  }

  async #finishTracked(f: Prepared, detectOptions: { passive: boolean; refineEyes: boolean; wide: boolean }): Promise<TrackedOutcome> {
    const { img, usable, modelId, embedder } = f;
    const { options } = f.job;
    const t1 = performance.now();
    let face: DetectedFace | null = null;
    let next: TrackCrop | null = null;
    let faces = usable?.faces ?? 0;
    let detected = false, confirmed = false;
    if (f.fit && f.fit.confidence >= TRACKING.MIN_TRACK_CONFIDENCE) {
      if (!f.confirm) {
        face = { ...f.fit.face, score: usable!.score };
        next = f.fit.next;
      } else {
        // The detector's turn: its main box must be the followed face. A new main face (someone
        // larger or more central stepped in) or none at all runs the whole detector below.
        const boxes = byPrimacy(await this.detector.faceBoxes!(img), img.width, img.height);
        detected = true;
        if (boxes.length > 0 && iou(boxes[0].box, f.fit.face.box) >= TRACKING.SAME_FACE_IOU) {
          face = { ...f.fit.face, score: boxes[0].score };
          next = f.fit.next;
          faces = boxes.length;
          confirmed = true;
        }
      }
    }
    if (!face) {
      const all = byPrimacy(await this.detector.detect(img, detectOptions), img.width, img.height);
      if (all.length === 0) throw appError('NO_FACE_DETECTED');
      face = all[0];
      faces = all.length;
      detected = true;
      next = this.detector.trackCrop?.(face) ?? { cx: face.box.x + face.box.width / 2, cy: face.box.y + face.box.height / 2, side: Math.max(face.box.width, face.box.height) };
    }
    const t2 = performance.now();
    // A detector frame whose main face is elsewhere (another person stepped in, the scene changed)
    // starts a new track: nothing of the old face's identity carries over.
    const base = usable && (!detected || iou(usable.box, face.box) >= TRACKING.SAME_FACE_IOU) ? usable : null;
    const frame = base ? base.frame + 1 : 0;
    const aligned = alignArcface(img, face.five, 112);
    const signals = { ...livenessSignals(face.mesh, aligned, face.passiveLiveScore, img), ...planaritySignals(img, { box: face.box, yaw: face.pose.yaw }, options.refineEyes ?? false, options.planarRef) };
    const quality = assessQuality(img, face, aligned, signals.eyeOpenness);
    const t3 = performance.now();
    const embedNow = embedder !== null && mustEmbed(base, frame, face.pose, signals.faceThumb);
    const embedding = embedNow ? await embedder.embed(img, face, aligned) : embedder ? base!.embedding : null;
    const t4 = performance.now();
    const track: TrackState = {
      modelId,
      frame,
      // A new track's first periodic turn is staggered (newTrackSinceDetect); a detector run on a track restarts its count.
      sinceDetect: detected ? (base ? 0 : newTrackSinceDetect()) : base!.sinceDetect + 1,
      crop: next!,
      box: face.box,
      score: face.score,
      faces,
      embedding: embedNow ? embedding : (base?.embedding ?? null),
      embeddedAt: embedNow ? frame : (base?.embeddedAt ?? -1),
      embeddedPose: embedNow ? { yaw: face.pose.yaw, pitch: face.pose.pitch } : (base?.embeddedPose ?? { yaw: 0, pitch: 0 }),
      embeddedThumb: embedNow ? signals.faceThumb : (base?.embeddedThumb ?? null),
    };
    const detectMs = f.trackMs + (t2 - t1);
    return {
      result: {
        width: img.width,
        height: img.height,
        faces: [{ box: face.box, score: face.score, landmarks: face.five, pose: face.pose, quality, signals, embedding }],
        modelId,
        // A frame's own work (its share of a batched mesh pass included), not the batch's wall time.
        timings: { decodeMs: f.decodeMs, detectMs, embedMs: t4 - t3, qualityMs: t3 - t2, totalMs: f.decodeMs + detectMs + (t4 - t2) },
        tracking: { detected, confirmed, embedded: embedNow, faces, frame },
      },
      track,
    };
  }
}
