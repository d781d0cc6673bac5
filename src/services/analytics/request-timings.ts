/**
 * In-process rolling window of HTTP request timings (system-metrics `performance`). A fixed ring
 * buffer: memory stays bounded whatever the traffic; samples older than the window are ignored,
 * and under more than `capacity` requests per window the oldest are overwritten (the figures then
 * describe the most recent `capacity` requests). Per process: behind a load balancer each node
 * reports its own traffic.
 *
 * @example timings.record(12.5, 200); timings.snapshot() // → { count: 1, avgMs: 12.5, … }
 */
export class RequestTimings {
  readonly #at: Float64Array;
  readonly #ms: Float64Array;
  readonly #status: Uint16Array;
  #next = 0;
  #size = 0;
  readonly #startedAt: number;

  private readonly windowMs: number;
  private readonly capacity: number;
  private readonly clock: () => number;
  constructor(
    windowMs = 5 * 60_000,
    capacity = 50_000,
    clock: () => number = Date.now,
  ) {
    this.windowMs = windowMs; this.capacity = capacity; this.clock = clock;
    this.#at = new Float64Array(capacity);
    this.#ms = new Float64Array(capacity);
    this.#status = new Uint16Array(capacity);
    this.#startedAt = clock();
  }

  record(durationMs: number, statusCode: number): void {
    const i = this.#next;
    this.#at[i] = this.clock();
    this.#ms[i] = durationMs;
    this.#status[i] = statusCode;
    this.#next = (i + 1) % this.capacity;
    if (this.#size < this.capacity) this.#size++;
  }

  snapshot(): { count: number; avgMs: number; p95Ms: number; perSecond: number; errorRate: number } {
    const now = this.clock();
    const since = now - this.windowMs;
    const durations: number[] = [];
    let errors = 0;
    let oldest = now;
    for (let k = 1; k <= this.#size; k++) {
      const i = (this.#next - k + this.capacity) % this.capacity;
      const at = this.#at[i];
      if (at < since) break;
      oldest = at;
      durations.push(this.#ms[i]);
      if (this.#status[i] >= 500) errors++;
    }
    const count = durations.length;
    if (!count) return { count: 0, avgMs: 0, p95Ms: 0, perSecond: 0, errorRate: 0 };
    durations.sort((a, b) => a - b);
    const sum = durations.reduce((s, d) => s + d, 0);
    // Nearest-rank percentile.
    const p95 = durations[Math.min(count - 1, Math.ceil(0.95 * count) - 1)];
    // Rate over the observed span: the whole window once the process has run that long (or once the
    // buffer wrapped inside it), else the time since start; never below one second.
    const wrapped = this.#size === this.capacity && oldest > since;
    const spanMs = wrapped ? now - oldest : Math.min(this.windowMs, now - this.#startedAt);
    return { count, avgMs: sum / count, p95Ms: p95, perSecond: count / Math.max(1, spanMs / 1000), errorRate: errors / count };
  }
}
