import type { ErrorCode } from '../errors.ts';
import type { TrackState } from '../vision/tracking/track-state.ts';
import type { AnalyzeOptions, AnalyzeResult } from '../vision/types.ts';

/** An error as it crosses the thread boundary (AppError fields, or INTERNAL_ERROR for anything else). */
export interface SerializedError {
  code: ErrorCode;
  message: string;
  details?: unknown;
}

/** Data passed to each worker at start. */
export interface WorkerInit {
  defaultModel?: string;
  /** Face detector backend (default 'ultraface-mesh'). */
  detector?: 'ultraface-mesh' | 'human';
  preload?: string[];
  maxImageBytes?: number;
  maxPixels?: number;
}

/** Messages the pool sends to a worker, keyed by `type`. */
export type ToWorker =
  | { type: 'analyze'; id: number; image: Uint8Array | string; options: AnalyzeOptions }
  /** A stream frame: follow the face from `track` (the stream's state after its previous frame). */
  | { type: 'analyze-tracked'; id: number; image: Uint8Array | string; options: AnalyzeOptions; track: TrackState | null }
  /** Several stream frames queued together (usually of different streams): one `result` or `error` per id. */
  | { type: 'analyze-tracked-batch'; frames: Array<{ id: number; image: Uint8Array | string; options: AnalyzeOptions; track: TrackState | null }> }
  /** Test-only: make the worker exit with `code` (proves dead workers are replaced). */
  | { type: 'test:exit'; id: number; code: number }
  /** Test-only: block the worker thread for `ms` (proves a stuck job is killed and replaced). */
  | { type: 'test:block'; id: number; ms: number };

/** Messages a worker sends back, keyed by `type`. */
export type FromWorker =
  | { type: 'ready'; models: string[]; defaultModel: string }
  | { type: 'init-failed'; error: SerializedError }
  | { type: 'result'; id: number; result: AnalyzeResult; track?: TrackState }
  | { type: 'error'; id: number; error: SerializedError };
