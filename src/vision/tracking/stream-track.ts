import { AsyncLocalStorage } from 'node:async_hooks';
import { isAppError } from '../../errors.ts';
import type { AnalyzeOptions, AnalyzeResult } from '../types.ts';
import { TRACKING, type TrackState } from './track-state.ts';

/**
 * The tracking memory of one stream (one WebSocket connection). Frames of a stream may overlap (two in
 * flight): each takes the state left by the newest frame answered so far, and an older frame answered
 * late never overwrites a newer one's state.
 *
 * @example const track = new StreamTrack(); await withStreamTrack(track, () => service.identify(…))
 */
export class StreamTrack {
  #state: TrackState | null = null;
  /** The appearance the state belongs to (see TrackedFrame.appearance); null with no state. */
  #appearance: string | null = null;
  #seq = 0;
  #applied = 0;
  /** Bumped on every state change: names the appearance a frame starting from this state would begin. */
  #version = 0;
  /** Frames without a face in a row (NO_FACE_DETECTED) since the stream last saw one. */
  #empty = 0;

  /**
   * Runs one frame's `job` from the stream's state. `wide` tells the job whether to search wider than
   * the plain detector when it finds no face (a face filling the picture, a picture turned sideways):
   * on the first empty frame and every TRACKING.WIDE_EVERY-th empty frame after it, so an empty
   * picture (a camera watching a door) costs little while such a face is still found at most
   * WIDE_EVERY − 1 frames late.
   */
  async run(job: (state: TrackState | null, wide: boolean) => Promise<{ result: AnalyzeResult; track: TrackState | null }>): Promise<AnalyzeResult> {
    const seq = ++this.#seq;
    const base = { version: this.#version, appearance: this.#appearance };
    try {
      const { result, track } = await job(this.#state, this.#empty % TRACKING.WIDE_EVERY === 0);
      this.#empty = 0;
      // A frame that started a track begins an appearance, named by the state it started from, so two
      // frames in flight that both start from it (both detected the face afresh) share one appearance.
      const appearance = result.tracking?.frame === 0 || !base.appearance ? `${this.#id}:${base.version}` : base.appearance;
      const frame = current.getStore()?.frame;
      if (frame) frame.appearance = appearance;
      this.#apply(seq, track, appearance);
      return result;
    } catch (e) {
      // No face, a bad frame, a dead worker: the next frame starts afresh. A busy engine did not see the
      // frame at all, so the track stays.
      if (!(isAppError(e) && e.code === 'SERVICE_BUSY')) this.#apply(seq, null, null);
      if (isAppError(e) && e.code === 'NO_FACE_DETECTED') this.#empty++;
      throw e;
    }
  }

  readonly #id = (nextTrackId++).toString(36);

  #apply(seq: number, state: TrackState | null, appearance: string | null): void {
    if (seq < this.#applied) return;
    this.#applied = seq;
    this.#state = state;
    this.#appearance = state ? appearance : null;
    this.#version++;
  }

  reset(): void {
    this.#empty = 0;
    this.#applied = this.#seq;
    this.#state = null;
    this.#appearance = null;
    this.#version++;
  }
}

let nextTrackId = 1;

/**
 * What the engine tells the caller of one stream frame (filled in by the tracked analyze inside
 * withStreamTrack).
 */
export interface TrackedFrame {
  /**
   * The person appearance this frame belongs to: the same face followed continuously in view, from the
   * frame the detector found it (a new main face, or the first frame after a frame without a face) to
   * the frame it is lost. Unique per stream; null when the frame was not tracked.
   */
  appearance: string | null;
}

const current = new AsyncLocalStorage<{ track: StreamTrack; frame: TrackedFrame }>();

/**
 * Runs `fn` (a service call that analyses one stream frame) with the stream's track in scope: the face
 * engine's analyze() inside it follows the face instead of running the whole pipeline. The services in
 * between need not know (async context, like the request id of the logs). `frame` receives what the
 * engine knows about this frame (its appearance; currentTrackedFrame() reads it inside `fn`).
 */
export function withStreamTrack<T>(track: StreamTrack, fn: () => Promise<T>, frame: TrackedFrame = { appearance: null }): Promise<T> {
  return current.run({ track, frame }, fn);
}

/** What the engine told about the stream frame in scope (null outside withStreamTrack). */
export function currentTrackedFrame(): TrackedFrame | null {
  return current.getStore()?.frame ?? null;
}

/** The stream track in scope, if the call is trackable: the main face only, no liveness-frame extras
 * (the passive score needs a detector box; eye refinement and per-frame identity belong to sessions). */
export function trackFor(options: AnalyzeOptions): StreamTrack | null {
  const track = current.getStore()?.track;
  if (!track) return null;
  if (options.multiple !== 'largest' || options.passive || options.refineEyes) return null;
  return track;
}
