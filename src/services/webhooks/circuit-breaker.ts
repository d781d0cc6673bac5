/**
 * Per-endpoint circuit breaker of the dispatcher (issue 9.8). After `failures` attempts in a row
 * fail (error, timeout or non-2xx), the endpoint's circuit opens: its deliveries stay pending but
 * are not claimed for `openMs` (doubling while it keeps failing, up to `maxOpenMs`). Then it is
 * half-open: one delivery at a time is tried; a success closes it, a failure opens it again.
 * In memory, per dispatching process.
 *
 * @example if (!breaker.allows(endpointId)) skip; … breaker.record(endpointId, ok)
 */
export class CircuitBreaker {
  #state = new Map<string, { failures: number; openUntil: number; openMs: number }>();
  readonly failures: number;
  readonly openMs: number;
  readonly maxOpenMs: number;
  constructor(options: { failures?: number; openMs?: number; maxOpenMs?: number } = {}) {
    this.failures = options.failures ?? 5;
    this.openMs = options.openMs ?? 30_000;
    this.maxOpenMs = options.maxOpenMs ?? 600_000;
  }

  /** Endpoints whose circuit is open now (their deliveries are not claimed). */
  open(now = Date.now()): string[] {
    return [...this.#state].filter(([, s]) => s.openUntil > now).map(([id]) => id);
  }

  /** True after the circuit opened at least once and has not closed since: one attempt at a time. */
  halfOpen(endpointId: string, now = Date.now()): boolean {
    const s = this.#state.get(endpointId);
    return !!s && s.failures >= this.failures && s.openUntil <= now;
  }

  /** Records an attempt's outcome; returns true when this failure opened the circuit. */
  record(endpointId: string, ok: boolean, now = Date.now()): boolean {
    if (ok) {
      this.#state.delete(endpointId);
      return false;
    }
    const s = this.#state.get(endpointId) ?? { failures: 0, openUntil: 0, openMs: 0 };
    s.failures += 1;
    this.#state.set(endpointId, s);
    if (s.failures < this.failures) return false;
    s.openMs = s.openMs ? Math.min(this.maxOpenMs, s.openMs * 2) : this.openMs;
    s.openUntil = now + s.openMs;
    if (this.#state.size > 10_000) this.#prune(now);
    return true;
  }

  #prune(now: number): void {
    for (const [id, s] of this.#state) if (s.openUntil + this.maxOpenMs < now) this.#state.delete(id);
  }
}
