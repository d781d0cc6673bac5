import { WorkerPool } from '../workers/pool.ts';
import { cosine } from './embedder/types.ts';
import { DEFAULT_MODEL } from './models.ts';
import { trackFor } from './tracking/stream-track.ts';
import type { AnalyzeOptions, AnalyzeResult, EngineStatus, FaceEngine } from './types.ts';

export type * from './types.ts';
export { DEFAULT_MODEL, MODEL_DLIB, MODEL_FACEPLUGIN, MODEL_IDS, isModelId, type ModelId } from './models.ts';
export {
  confidenceFromSimilarity,
  defaultVerifyThreshold,
  identificationThreshold,
} from './calibration.ts';
export { thumbnailChange } from './liveness-signals/signals.ts';
export { StreamTrack, withStreamTrack, currentTrackedFrame, type TrackedFrame } from './tracking/stream-track.ts';
export { TRACKING } from './tracking/track-state.ts';
export { handOver } from '../workers/transfer.ts';

export interface CreateFaceEngineOptions {
  /** Worker threads (one per core is right: each runs single-threaded wasm + onnxruntime). */
  workers: number;
  /** Jobs that may wait when all workers are busy; beyond that analyze() throws SERVICE_BUSY. */
  queueSize: number;
  maxImageBytes?: number;
  maxPixels?: number;
  /** Recogniser id for analyze() calls that name none (default "faceplugin-fr-v1"). */
  defaultModel?: string;
  /** Extra recognisers to load at start (others load on first use inside each worker). */
  preloadModels?: string[];
  /** Kill and replace a worker whose job runs longer than this (default 30 s). */
  jobTimeoutMs?: number;
  /** Face detector backend: 'ultraface-mesh' (default) or 'human' (the slower BlazeFace pipeline). */
  detector?: 'ultraface-mesh' | 'human';
}

/**
 * Start the worker pool and resolve once every worker has loaded its models.
 *
 * @example
 *   const engine = await createFaceEngine({ workers: 2, queueSize: 64 });
 *   const { faces, modelId } = await engine.analyze(jpeg, { multiple: 'refuse', embed: true });
 *   await engine.close();
 */
export async function createFaceEngine(opts: CreateFaceEngineOptions): Promise<FaceEngine> {
  const defaultModel = opts.defaultModel ?? DEFAULT_MODEL;
  const preload = [...new Set([defaultModel, ...(opts.preloadModels ?? [])])];
  const pool = await WorkerPool.start({
    workers: opts.workers,
    queueSize: opts.queueSize,
    jobTimeoutMs: opts.jobTimeoutMs ?? 30_000,
    defaultModel,
    detector: opts.detector,
    preload,
    maxImageBytes: opts.maxImageBytes,
    maxPixels: opts.maxPixels,
  });
  let closed = false;
  const tracking = { frames: 0, detectorRuns: 0, confirmations: 0, embeddings: 0 };
  return {
    defaultModelId: defaultModel,
    async analyze(image: Uint8Array | string, options: AnalyzeOptions): Promise<AnalyzeResult> {
      // A frame of a stream (withStreamTrack) follows the face; one-shot calls run the whole pipeline.
      const track = trackFor(options);
      if (!track) return pool.analyze(image, options);
      const result = await track.run((state, wide) => pool.analyzeTracked(image, wide ? options : { ...options, wideSearch: false }, state));
      tracking.frames++;
      if (result.tracking?.detected) tracking.detectorRuns++;
      if (result.tracking?.confirmed) tracking.confirmations++;
      if (result.tracking?.embedded) tracking.embeddings++;
      return result;
    },
    similarity(a: Float32Array, b: Float32Array): number {
      if (a.length !== b.length) throw new Error(`embedding sizes differ (${a.length} vs ${b.length}): different models`);
      return cosine(a, b);
    },
    status(): EngineStatus {
      const s = pool.stats();
      const state: EngineStatus['state'] = closed
        ? 'offline'
        : s.ready === s.workers
          ? 'online'
          : s.ready === 0
            ? 'starting'
            : 'degraded';
      return { state, workers: s.ready, busy: s.busy, queued: s.queued, models: pool.models, tracking: { ...tracking } };
    },
    async close(): Promise<void> {
      closed = true;
      await pool.close();
    },
  };
}
