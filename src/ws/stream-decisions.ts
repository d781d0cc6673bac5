import pRetry from 'p-retry';
import type { DecisionRecorder } from '../services/face.ts';
import { currentTrackedFrame } from '../vision/index.ts';

/** When a stream writes a person appearance's decision (docs/realtime.md, "Decisions recorded"). */
export const STREAM_DECISIONS = {
  /** An appearance not recognised after this many frames (1 s at 10 frames/s) is recorded as failed
   * then, rather than when it ends, so an unknown face is reported while it is still in view. */
  FAIL_AFTER_FRAMES: 10,
  /** Appearances remembered as ended, so a late answer of one (two frames in flight) writes nothing. */
  REMEMBER_ENDED: 16,
  /** Within one appearance, a read a decision needs (the matched users' rows, a claimed user's
   * templates) is reused for this long: a change made meanwhile (a user deactivated) reaches that
   * stream's answers at most this late. The first frame of every appearance reads afresh. */
  REUSE_MS: 1000,
  /** A deferred write (an appearance that ended unrecognised) that fails is tried again this many times,
   * 0.2 s, 0.4 s, … apart (about 3 s in all): no frame waits for it, so no client would hear of the loss. */
  DEFERRED_RETRIES: 4,
} as const;

interface Appearance {
  id: string;
  /** Users already recorded as recognised in this appearance. */
  succeeded: Set<string | null>;
  failureRecorded: boolean;
  failedFrames: number;
  /** The latest failed frame's write, held until the appearance ends unrecognised. */
  pending: (() => Promise<void>) | null;
}

/**
 * The decisions of one stream (a WebSocket connection or a WebRTC session), recorded once per person
 * appearance instead of once per frame: a tracked face continuously in view is one decision, as a
 * session is. Per appearance:
 * - recognised: its attempt and `authentication.success` are written on the first frame that
 *   recognises the person (once per recognised user);
 * - never recognised: one failed attempt and `authentication.failed`, written when it has gone
 *   FAIL_AFTER_FRAMES frames unrecognised or when it ends (face lost, another main face, stream closed),
 *   whichever comes first; a later recognition in the same appearance is still written;
 * - a frame without a face writes nothing (as in sessions) and ends the appearance in view.
 * Frames that were not tracked (the engine followed no face) write at once, as one-shot calls do.
 *
 * @example const decisions = new StreamDecisions(log); await service.identify(client, input, meta, decisions); await decisions.close();
 */
export class StreamDecisions implements DecisionRecorder {
  #current: Appearance | null = null;
  /** Reads reused within one appearance (see reuse()). */
  #reads: { appearance: string; entries: Map<string, { at: number; value: Promise<unknown> }> } | null = null;
  #ended: string[] = [];
  #inFlight = new Set<Promise<void>>();
  /** Counters for the stream's audit entry: decisions written, frames that wrote nothing. */
  readonly counts = { written: 0, skipped: 0 };

  private readonly log: { error(obj: unknown, msg?: string): void };
  constructor(log: { error(obj: unknown, msg?: string): void }) {
    this.log = log;
  }

  async record(outcome: { success: boolean; user: string | null } | null, write: () => Promise<void>): Promise<void> {
    const id = currentTrackedFrame()?.appearance ?? null;
    if (outcome === null) {
      // No face in view: whoever was there has gone.
      this.#end();
      this.counts.skipped++;
      return;
    }
    if (id === null) return this.#write(write);
    if (this.#ended.includes(id)) {
      this.counts.skipped++;
      return;
    }
    if (this.#current?.id !== id) {
      this.#end();
      this.#current = { id, succeeded: new Set(), failureRecorded: false, failedFrames: 0, pending: null };
    }
    const a = this.#current;
    if (outcome.success) {
      a.pending = null;
      if (a.succeeded.has(outcome.user)) {
        this.counts.skipped++;
        return;
      }
      a.succeeded.add(outcome.user);
      return this.#write(write);
    }
    if (a.succeeded.size > 0 || a.failureRecorded) {
      this.counts.skipped++;
      return;
    }
    a.failedFrames++;
    if (a.failedFrames < STREAM_DECISIONS.FAIL_AFTER_FRAMES) {
      a.pending = write;
      this.counts.skipped++;
      return;
    }
    a.failureRecorded = true;
    a.pending = null;
    return this.#write(write);
  }

  /**
   * `load`'s answer for `key`, reused from this appearance's last identical read if it is at most
   * REUSE_MS old: the frames of one person in view (the embedded database answers on the main thread,
   * which the streams share). Frames that were not tracked, and the first frame of each appearance, read.
   */
  async reuse<T>(key: string, load: () => Promise<T>): Promise<T> {
    const appearance = currentTrackedFrame()?.appearance ?? null;
    if (appearance === null) return load();
    if (this.#reads?.appearance !== appearance) this.#reads = { appearance, entries: new Map() };
    const now = performance.now();
    const hit = this.#reads.entries.get(key);
    if (hit && now - hit.at <= STREAM_DECISIONS.REUSE_MS) return hit.value as Promise<T>;
    const value = load();
    const entries = this.#reads.entries;
    // Reads past their window are of no further use: only fresh ones are kept.
    for (const [k, e] of entries) if (now - e.at > STREAM_DECISIONS.REUSE_MS) entries.delete(k);
    entries.set(key, { at: now, value });
    // A failed read is not kept: the next frame tries again.
    value.catch(() => entries.get(key)?.value === value && entries.delete(key));
    return value;
  }

  /** Ends the appearance in view (writing its failure if it was never recognised) and waits for every write. */
  async close(): Promise<void> {
    this.#end();
    await Promise.allSettled([...this.#inFlight]);
  }

  #end(): void {
    this.#reads = null;
    const a = this.#current;
    if (!a) return;
    this.#current = null;
    this.#ended.push(a.id);
    if (this.#ended.length > STREAM_DECISIONS.REMEMBER_ENDED) this.#ended.shift();
    if (a.pending && a.succeeded.size === 0 && !a.failureRecorded) {
      // Not awaited by the frame that noticed the end: a failed write is tried again (a database that
      // restarts, a serialization failure), and logged only when every try failed. close() waits for it.
      const write = a.pending;
      this.#write(() => pRetry(write, { retries: STREAM_DECISIONS.DEFERRED_RETRIES, minTimeout: 200, factor: 2 })).catch((err: unknown) =>
        this.log.error({ err }, 'stream decision could not be written'),
      );
    }
  }

  #write(write: () => Promise<void>): Promise<void> {
    this.counts.written++;
    const p = write();
    this.#inFlight.add(p);
    void p.finally(() => this.#inFlight.delete(p)).catch(() => {});
    return p;
  }
}
