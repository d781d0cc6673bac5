import { isAppError } from '../errors.ts';
import type { FaceEngine } from '../vision/types.ts';
import type { Metrics } from './metrics.ts';
import { currentEngineLane, currentRequestId } from './request-scope.ts';

/**
 * The face engine with its work measured: per-stage inference time (decode, detect, embed, quality, and
 * the time an image waited for a worker), SERVICE_BUSY refusals, and a warning naming the request when
 * an image fails inside a worker or takes longer than `slowMs`. An image analysed for an HTTP request goes
 * in its tenant's lane (setEngineLane) unless its caller named one.
 */
export function instrumentEngine(engine: FaceEngine, metrics: Metrics, log: { warn(msg: string): void }, slowMs = 5000): FaceEngine {
  const analyze: FaceEngine['analyze'] = async (image, options) => {
    const started = performance.now();
    // The request's tenant, unless the caller named one: tenants' images take turns in the engine's queue.
    const lane = options.lane ?? currentEngineLane();
    try {
      const result = await engine.analyze(image, lane === null || lane === options.lane ? options : { ...options, lane });
      const wall = performance.now() - started;
      const t = result.timings;
      metrics.inference('decode', t.decodeMs / 1000);
      metrics.inference('detect', t.detectMs / 1000);
      metrics.inference('embed', t.embedMs / 1000);
      metrics.inference('quality', t.qualityMs / 1000);
      metrics.inference('total', t.totalMs / 1000);
      metrics.inference('queue', Math.max(0, wall - t.totalMs) / 1000);
      if (wall > slowMs) log.warn(`face engine: one image took ${Math.round(wall)} ms (request ${currentRequestId() ?? '-'})`);
      return result;
    } catch (e) {
      if (isAppError(e) && e.code === 'SERVICE_BUSY') metrics.serviceBusy();
      else if (isAppError(e) && e.code === 'INTERNAL_ERROR') log.warn(`face engine: ${e.message} (request ${currentRequestId() ?? '-'})`);
      throw e;
    }
  };
  return {
    analyze,
    similarity: (a, b) => engine.similarity(a, b),
    status: () => engine.status(),
    close: () => engine.close(),
    get defaultModelId() {
      return engine.defaultModelId;
    },
  };
}
