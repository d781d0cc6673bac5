import { Worker } from 'node:worker_threads';
import { appError, AppError } from '../errors.ts';
import type { TrackState } from '../vision/tracking/track-state.ts';
import type { AnalyzeOptions, AnalyzeResult } from '../vision/types.ts';
import type { FromWorker, SerializedError, ToWorker, WorkerInit } from './messages.ts';
import { forWorker } from './transfer.ts';

export interface PoolOptions extends WorkerInit {
  /** Worker threads (≥ 1). */
  workers: number;
  /** Jobs allowed to wait when every worker is busy; beyond that callers get SERVICE_BUSY. */
  queueSize: number;
  /** A job running longer than this kills its worker (which is then replaced). */
  jobTimeoutMs?: number;
  /** Override the worker entry (tests). */
  workerUrl?: URL;
  /** Stream frames a free worker takes from the queue together (their mesh fits run as one batch); 1 turns batching off.
   * Default 2: as many frames/s as 4 with the mesh on onnxruntime, and a batch decodes its frames before its
   * mesh pass, so fewer frames wait less (docs/vision.md, "Batching"). */
  maxBatch?: number;
}

interface Job {
  id: number;
  /** Whom the job is for (AnalyzeOptions.lane; '' when unnamed): the queue serves lanes in turn. */
  lane: string;
  message: ToWorker;
  /** Buffers moved into the worker with the message instead of copied (an image handed over). */
  transfer: ArrayBuffer[];
  resolve: (r: Extract<FromWorker, { type: 'result' }>) => void;
  reject: (e: AppError) => void;
}

interface Slot {
  worker: Worker;
  /** Loaded its models once (never reset). */
  started: boolean;
  /** Accepting jobs (false again while a timed-out worker is being terminated). */
  ready: boolean;
  /** The jobs it is running: none (free), one, or a batch of stream frames. */
  jobs: Job[];
  timer: NodeJS.Timeout | null;
}

const WORKER_URL = new URL('./inference.worker.ts', import.meta.url);

export function deserializeError(e: SerializedError): AppError {
  const headers = e.code === 'SERVICE_BUSY' ? { 'Retry-After': '1' } : undefined;
  return appError(e.code, e.message, e.details, headers);
}

/**
 * A fixed set of inference workers with a bounded queue. Each worker loads its models once at start and
 * runs one job at a time; a worker that dies (or exceeds the job timeout) is replaced and its job fails
 * with INTERNAL_ERROR; a full queue fails fast with SERVICE_BUSY (503, Retry-After: 1).
 *
 * @example const pool = await WorkerPool.start({ workers: 2, queueSize: 64 });
 *          const r = await pool.analyze(bytes, { multiple: 'largest', embed: true });
 */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  /** The lanes with jobs queued, the one served longest ago first (take() moves a lane it serves to the end). */
  private readonly lanes: string[] = [];
  private nextId = 1;
  private closing = false;
  private restarts = 0;
  /** Stream frames that ran in a batch of two or more. */
  private batchedFrames = 0;
  models: string[] = [];
  defaultModel = '';

  private readonly opts: PoolOptions;
  private constructor(opts: PoolOptions) {
    this.opts = opts;
  }

  static async start(opts: PoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool({ ...opts, workers: Math.max(1, Math.floor(opts.workers)) });
    try {
      await Promise.all(Array.from({ length: pool.opts.workers }, () => pool.spawn()));
    } catch (e) {
      await pool.close(); // do not leave the workers that did start running
      throw e;
    }
    return pool;
  }

  /** Resolves when the new worker has loaded its models; rejects if it cannot. */
  private spawn(): Promise<void> {
    const { workers: _w, queueSize: _q, jobTimeoutMs: _t, maxBatch: _b, workerUrl, ...init } = this.opts;
    const worker = new Worker(workerUrl ?? WORKER_URL, { workerData: init });
    const slot: Slot = { worker, started: false, ready: false, jobs: [], timer: null };
    this.slots.push(slot);
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (msg: FromWorker) => {
        switch (msg.type) {
          case 'ready':
            slot.started = true;
            slot.ready = true;
            this.models = msg.models;
            this.defaultModel = msg.defaultModel;
            resolve();
            this.pump();
            break;
          case 'init-failed':
            reject(deserializeError(msg.error));
            break;
          case 'result':
          case 'error': {
            const i = slot.jobs.findIndex((j) => j.id === msg.id);
            if (i < 0) break;
            const [job] = slot.jobs.splice(i, 1);
            if (slot.jobs.length === 0) this.finish(slot);
            if (msg.type === 'result') job.resolve(msg);
            else job.reject(deserializeError(msg.error));
            this.pump();
            break;
          }
        }
      });
      worker.on('error', () => {
        /* the 'exit' handler below does the cleanup */
      });
      worker.on('exit', (code) => {
        const jobs = slot.jobs;
        this.finish(slot);
        this.slots.splice(this.slots.indexOf(slot), 1);
        if (!slot.started) reject(new Error(`inference worker exited during start (code ${code})`));
        for (const job of jobs) job.reject(appError('INTERNAL_ERROR', 'The face engine worker stopped while processing this image', { exitCode: code }));
        if (!this.closing && slot.started) this.replace();
      });
    });
  }

  private replace(): void {
    this.restarts++;
    this.spawn().catch(() => {
      // Could not start a replacement (models missing?): fail whatever waits if nobody is left to serve it.
      if (this.slots.length === 0) for (const j of this.queue.splice(0)) j.reject(appError('SERVICE_UNAVAILABLE'));
    });
  }

  private finish(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    slot.jobs = [];
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (!slot.ready || slot.jobs.length) continue;
      const jobs = this.take();
      slot.jobs = jobs;
      if (this.opts.jobTimeoutMs) {
        slot.timer = setTimeout(() => {
          for (const job of slot.jobs) job.reject(appError('INTERNAL_ERROR', 'The face engine timed out on this image'));
          slot.jobs = [];
          slot.ready = false; // no new job for a worker that is being killed; 'exit' replaces it
          void slot.worker.terminate();
        }, this.opts.jobTimeoutMs);
      }
      if (jobs.length === 1) {
        slot.worker.postMessage(jobs[0].message, jobs[0].transfer);
        continue;
      }
      this.batchedFrames += jobs.length;
      const frames = jobs.map((j) => {
        const m = j.message as Extract<ToWorker, { type: 'analyze-tracked' }>;
        return { id: m.id, image: m.image, options: m.options, track: m.track };
      });
      slot.worker.postMessage({ type: 'analyze-tracked-batch', frames } satisfies ToWorker, jobs.flatMap((j) => j.transfer));
    }
  }

  /**
   * The next job for a free worker: the oldest job of the lane served longest ago, so that lanes (tenants)
   * with images waiting take turns. In a plain first-come queue, one tenant's batch of 64 slow images (each
   * a few seconds: a 36-megapixel picture without a face) held every other tenant's requests until their
   * timeouts. When the job is a stream frame, also the stream frames queued behind it (up to maxBatch, in
   * queue order, of any lane: they are cheap), which the worker runs as one batch.
   */
  private take(): Job[] {
    let first: Job | undefined;
    while (!first) {
      const lane = this.lanes.shift();
      if (lane === undefined) {
        first = this.queue.shift()!; // not reached: every queued job's lane is in `lanes`
        break;
      }
      const at = this.queue.findIndex((j) => j.lane === lane);
      if (at < 0) continue; // its jobs left the queue (taken along in a batch, or rejected)
      first = this.queue.splice(at, 1)[0];
      if (this.queue.some((j) => j.lane === lane)) this.lanes.push(lane);
    }
    const max = Math.max(1, this.opts.maxBatch ?? 2);
    if (first.message.type !== 'analyze-tracked' || max === 1) return [first];
    const jobs = [first];
    for (let i = 0; i < this.queue.length && jobs.length < max; ) {
      if (this.queue[i].message.type === 'analyze-tracked') jobs.push(...this.queue.splice(i, 1));
      else i++;
    }
    return jobs;
  }

  private submit<T extends ToWorker>(make: (id: number) => T, transfer: ArrayBuffer[] = []): Promise<Extract<FromWorker, { type: 'result' }>> {
    if (this.closing) return Promise.reject(appError('SERVICE_UNAVAILABLE', 'The face engine is shutting down'));
    const idle = this.slots.some((s) => s.ready && s.jobs.length === 0);
    if (!idle && this.queue.length >= this.opts.queueSize) {
      return Promise.reject(appError('SERVICE_BUSY', undefined, { queued: this.queue.length }, { 'Retry-After': '1' }));
    }
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const message = make(id);
      const lane = ('options' in message ? message.options.lane : undefined) ?? '';
      this.queue.push({ id, lane, message, transfer, resolve, reject });
      if (!this.lanes.includes(lane)) this.lanes.push(lane);
      this.pump();
    });
  }

  async analyze(image: Uint8Array | string, options: AnalyzeOptions): Promise<AnalyzeResult> {
    const job = forWorker(image);
    return (await this.submit((id) => ({ type: 'analyze', id, image: job.image, options }), job.transfer)).result;
  }

  /**
   * A stream frame that follows the face from `track`. The state travels with the job, so any free
   * worker can take the next frame of a stream (no stream is stuck behind a busy worker).
   */
  async analyzeTracked(image: Uint8Array | string, options: AnalyzeOptions, track: TrackState | null): Promise<{ result: AnalyzeResult; track: TrackState | null }> {
    const job = forWorker(image);
    const msg = await this.submit((id) => ({ type: 'analyze-tracked', id, image: job.image, options, track }), job.transfer);
    return { result: msg.result, track: msg.track ?? null };
  }

  /** Test-only: the next free worker exits with `code`. */
  async crashOneWorker(code = 7): Promise<AnalyzeResult> {
    return (await this.submit((id) => ({ type: 'test:exit', id, code }))).result;
  }

  /** Test-only: the next free worker blocks its thread for `ms`. */
  async blockOneWorker(ms: number): Promise<AnalyzeResult> {
    return (await this.submit((id) => ({ type: 'test:block', id, ms }))).result;
  }

  stats(): { workers: number; ready: number; busy: number; queued: number; restarts: number; batchedFrames: number } {
    return {
      workers: this.opts.workers,
      ready: this.slots.filter((s) => s.ready).length,
      busy: this.slots.filter((s) => s.jobs.length).length,
      queued: this.queue.length,
      restarts: this.restarts,
      batchedFrames: this.batchedFrames,
    };
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const j of this.queue.splice(0)) j.reject(appError('SERVICE_UNAVAILABLE', 'The face engine is shutting down'));
    this.lanes.length = 0;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

