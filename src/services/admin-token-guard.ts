/**
 * Slows and limits wrong operator tokens per address (issue 9.10): each wrong token is answered
 * after a delay that grows with the address's recent failures, and after `maxFailures` within
 * `windowMs` the address gets 429 for the rest of the window, right or wrong token alike (else the
 * guessing would simply continue). In memory, per process: the limit holds per server instance.
 *
 * @example const wait = guard.check(ip); if (wait) throw 429; … if (!ok) await guard.fail(ip);
 */
export class AdminTokenGuard {
  #failures = new Map<string, number[]>();
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly delayMs: number;
  constructor(options: { maxFailures?: number; windowMs?: number; delayMs?: number } = {}) {
    this.maxFailures = options.maxFailures ?? 10;
    this.windowMs = options.windowMs ?? 60_000;
    this.delayMs = options.delayMs ?? 100;
  }

  /** Seconds until `ip` may try again, or 0 when it may try now. */
  retryAfter(ip: string, now = Date.now()): number {
    const recent = this.#recent(ip, now);
    if (recent.length < this.maxFailures) return 0;
    return Math.max(1, Math.ceil((recent[0]! + this.windowMs - now) / 1000));
  }

  /** Records a wrong token and waits before the answer (the n-th recent failure waits n × delay, at most 1 s). */
  async fail(ip: string, now = Date.now()): Promise<void> {
    const recent = this.#recent(ip, now);
    recent.push(now);
    this.#failures.set(ip, recent);
    if (this.#failures.size > 10_000) this.#prune(now);
    const wait = Math.min(1000, this.delayMs * recent.length);
    await new Promise((resolve) => setTimeout(resolve, wait).unref());
  }

  #recent(ip: string, now: number): number[] {
    return (this.#failures.get(ip) ?? []).filter((t) => now - t < this.windowMs);
  }

  #prune(now: number): void {
    for (const [ip, times] of this.#failures) if (!times.some((t) => now - t < this.windowMs)) this.#failures.delete(ip);
  }
}
