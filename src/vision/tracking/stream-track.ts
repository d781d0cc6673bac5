import { AsyncLocalStorage } from 'node:async_hooks';
import { isAppError } from '../../errors.ts';
import type { AnalyzeOptions, AnalyzeResult } from '../types.ts';
import type { TrackState } from './track-state.ts';

/**
 * The tracking memory of one stream (one WebSocket connection). Frames of a stream may overlap (two in
 * flight): each takes the state left by the newest frame answered so far, and an older frame answered
 * late never overwrites a newer one's state.
 *
 * @example const track = new StreamTrack(); await withStreamTrack(track, () => service.identify(…))
 */
export class StreamTrack {
  #state: TrackState | null = null;
  #seq = 0;
  #applied = 0;

  async run(job: (state: TrackState | null) => Promise<{ result: AnalyzeResult; track: TrackState | null }>): Promise<AnalyzeResult> {
    const seq = ++this.#seq;
    try {
      const { result, track } = await job(this.#state);
      this.#apply(seq, track);
      return result;
    } catch (e) {
      // No face, a bad frame, a dead worker: the next frame starts afresh. A busy engine did not see the
      // frame at all, so the track stays.
      if (!(isAppError(e) && e.code === 'SERVICE_BUSY')) this.#apply(seq, null);
      throw e;
    }
  }

  #apply(seq: number, state: TrackState | null): void {
    if (seq < this.#applied) return;
    this.#applied = seq;
    this.#state = state;
  }

  reset(): void {
    this.#applied = this.#seq;
    this.#state = null;
  }
}

const current = new AsyncLocalStorage<StreamTrack>();

/**
 * Runs `fn` (a service call that analyses one stream frame) with the stream's track in scope: the face
 * engine's analyze() inside it follows the face instead of running the whole pipeline. The services in
 * between need not know (async context, like the request id of the logs).
 */
export function withStreamTrack<T>(track: StreamTrack, fn: () => Promise<T>): Promise<T> {
  return current.run(track, fn);
}

/** The stream track in scope, if the call is trackable: the main face only, no liveness-frame extras
 * (the passive score needs a detector box; eye refinement and per-frame identity belong to sessions). */
export function trackFor(options: AnalyzeOptions): StreamTrack | null {
  const track = current.getStore();
  if (!track) return null;
  if (options.multiple !== 'largest' || options.passive || options.refineEyes) return null;
  return track;
}
