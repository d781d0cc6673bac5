/**
 * Inference worker: loads the detector and recogniser once, then answers `analyze` messages one at a
 * time (tfjs-wasm is single-threaded; throughput comes from running one worker per core).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AppError, ERROR_CODES, type ErrorCode } from '../errors.ts';
import { Analyzer } from '../vision/analyzer.ts';
import type { AnalyzeResult } from '../vision/types.ts';
import type { TrackState } from '../vision/tracking/track-state.ts';
import type { FromWorker, SerializedError, ToWorker, WorkerInit } from './messages.ts';
import { ownedBuffers } from './transfer.ts';

if (!parentPort) throw new Error('inference.worker.ts must run in a worker thread');
const port = parentPort;
const send = (m: FromWorker) => port.postMessage(m);
/** The buffers a result refers to (embeddings, thumbnails), which can be moved back rather than copied. */
const resultBuffers = (result: AnalyzeResult, track?: TrackState) =>
  ownedBuffers(...result.faces.flatMap((f) => [f.embedding, f.signals.faceThumb]), track?.embedding, track?.embeddedThumb);

/**
 * A result goes back with its embeddings and thumbnails moved, not copied (nothing here keeps them),
 * except buffers in `keep` (still referenced by another result of the same batch: two frames of one
 * stream share their track's last embedding). A result that cannot be sent becomes that job's error.
 */
const sendResult = (id: number, result: AnalyzeResult, track?: TrackState, keep: ReadonlySet<ArrayBuffer> = new Set()) => {
  try {
    port.postMessage({ type: 'result', id, result, ...(track ? { track } : {}) } satisfies FromWorker, resultBuffers(result, track).filter((b) => !keep.has(b)));
  } catch (e) {
    send({ type: 'error', id, error: serializeError(e) });
  }
};

export function serializeError(e: unknown): SerializedError {
  if (e instanceof AppError) return { code: e.code, message: e.message, details: e.details };
  const message = e instanceof Error ? e.message : String(e);
  return { code: 'INTERNAL_ERROR' as ErrorCode, message: ERROR_CODES.INTERNAL_ERROR.message, details: { reason: message } };
}

const init = (workerData ?? {}) as WorkerInit;
let analyzer: Analyzer;
try {
  analyzer = await Analyzer.create({
    defaultModel: init.defaultModel,
    detector: init.detector,
    preload: init.preload,
    limits: {
      ...(init.maxImageBytes ? { maxBytes: init.maxImageBytes } : {}),
      ...(init.maxPixels ? { maxPixels: init.maxPixels } : {}),
    },
  });
  send({ type: 'ready', models: analyzer.loadedModels, defaultModel: analyzer.defaultModel });
} catch (e) {
  send({ type: 'init-failed', error: serializeError(e) });
  process.exit(1);
}

port.on('message', (msg: ToWorker) => {
  switch (msg.type) {
    case 'analyze':
      analyzer.analyze(msg.image, msg.options).then(
        (result) => sendResult(msg.id, result),
        (e: unknown) => send({ type: 'error', id: msg.id, error: serializeError(e) }),
      );
      break;
    case 'analyze-tracked':
      analyzer.analyzeTracked(msg.image, msg.options, msg.track).then(
        ({ result, track }) => sendResult(msg.id, result, track),
        (e: unknown) => send({ type: 'error', id: msg.id, error: serializeError(e) }),
      );
      break;
    case 'analyze-tracked-batch': {
      // Each frame is answered as soon as it is finished, not when the whole batch is. Results can
      // share a buffer only through their input states (two frames of one stream in one batch start
      // from the same track, whose last embedding both may report): such buffers are copied, not moved
      // (moving one with the first answer would leave the second pointing at a detached buffer).
      const seen = new Set<ArrayBuffer>(), shared = new Set<ArrayBuffer>();
      for (const f of msg.frames) for (const b of ownedBuffers(f.track?.embedding, f.track?.embeddedThumb)) (seen.has(b) ? shared : seen).add(b);
      const answered = new Set<number>();
      analyzer
        .analyzeTrackedBatch(msg.frames, (i, o) => {
          const id = msg.frames[i].id;
          answered.add(id);
          if (o.ok) sendResult(id, o.value.result, o.value.track, shared);
          else send({ type: 'error', id, error: serializeError(o.error) });
        })
        .catch((e: unknown) => {
          for (const f of msg.frames) if (!answered.has(f.id)) send({ type: 'error', id: f.id, error: serializeError(e) });
        });
      break;
    }
    case 'test:exit':
      process.exit(msg.code);
      break;
    case 'test:block':
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, msg.ms);
      send({ type: 'error', id: msg.id, error: { code: 'INTERNAL_ERROR', message: 'unblocked' } });
      break;
  }
});
