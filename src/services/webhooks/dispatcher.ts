import type { ClaimedDelivery, WebhooksRepository } from '../../db/repositories/webhooks.repository.ts';
import type { SealKeyWatch } from '../../db/seal-key-watch.ts';
import { retryDelayMs, retryWaitMs, shouldRetry } from './retry-policy.ts';
import { secretAad, type SecretBox } from './secret-box.ts';
import type { SendOutcome, WebhookSender } from './sender.ts';
import { serializeBody, signBody } from './signer.ts';
import type { CircuitPolicy, WebhookCircuitsRepository } from '../../db/repositories/webhook-circuits.repository.ts';
import { circuitPolicy } from './circuit-breaker.ts';

export interface DispatcherOptions {
  pollMs: number;
  timeoutMs: number;
  allowPrivate: boolean;
  /** Deliveries in flight at once per process. */
  concurrency?: number;
  /** How long close() lets in-flight sends finish before aborting them. */
  shutdownGraceMs?: number;
  /** Deliveries in flight at once for one client (default a quarter of `concurrency`, at least 2). */
  perClient?: number;
  /** Deliveries in flight at once for one endpoint (default 2). */
  perEndpoint?: number;
  /** Circuit breaker: consecutive failures that open an endpoint's circuit, and for how long (circuit-breaker.ts). */
  breaker?: { failures?: number; openMs?: number; maxOpenMs?: number };
  /** Each finished attempt's outcome (metrics). */
  onOutcome?: (outcome: 'delivered' | 'retry' | 'failed') => void;
  /**
   * Whether another process seals with a master key this one lacks (db/seal-key-watch.ts): then this process
   * claims nothing (an endpoint created there has a secret that does not open here), and a secret that does
   * not open is given back, never failed for good.
   */
  keyWatch?: Pick<SealKeyWatch, 'outdated' | 'check'> | null;
}

export const USER_AGENT = 'Wajah-Webhooks/1.0';
const FAN_OUT_BATCH = 200;
/** Finished deliveries (the logs) are kept this long; pending ones are never pruned. */
export const LOG_RETENTION_DAYS = 30;
const PRUNE_EVERY_MS = 3600_000;

/**
 * Moves events from the outbox to receivers. Each pass: fan out undispatched events into
 * deliveries, then claim due deliveries (up to the free concurrency) and send them without waiting.
 * Runs on a poll timer, on notify(), when a send finishes, and when a scheduled retry falls due.
 * At-least-once: a claim is a lease (timeout + 30 s); a process that dies mid-send leaves the
 * delivery to be retried by whoever runs next, so receivers dedupe on X-Webhook-Id.
 *
 * Fair share (issue 9.8): one client holds at most `perClient` of the slots and one endpoint
 * `perEndpoint`, claims go round-robin over clients, and endpoints that keep failing are paused by
 * a circuit breaker shared by every instance on the database, so a tenant's hanging receivers cannot
 * delay another tenant's deliveries.
 *
 * @example const d = new WebhookDispatcher(repo, circuits, sendWebhook, new SecretBox(masterKey), log, { pollMs: 500, timeoutMs: 10_000, allowPrivate: true }); d.start(); d.notify(); await d.close();
 */
export class WebhookDispatcher {
  readonly #inflight = new Map<string, { abort: AbortController; done: Promise<void>; clientId: string; endpointId: string; ping?: boolean }>();
  /** Slots held for test pings between the check and their send (reservePing), counted like sends in flight. */
  readonly #reserved = new Set<{ clientId: string; endpointId: string }>();
  readonly #concurrency: number;
  readonly #perClient: number;
  readonly #perEndpoint: number;
  readonly breaker: CircuitPolicy;
  readonly #leaseMs: number;
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Infinity;
  #pass: Promise<void> | null = null;
  #again = false;
  #started = false;
  #stopped = false;
  #prunedAt = 0;
  #errorLoggedAt = 0;

  private readonly repo: WebhooksRepository;
  private readonly circuits: WebhookCircuitsRepository;
  private readonly send: WebhookSender;
  private readonly box: SecretBox;
  private readonly log: { info?(msg: string, fields?: Record<string, unknown>): void; warn(msg: string, fields?: Record<string, unknown>): void; error(msg: string): void };
  private readonly options: DispatcherOptions;
  constructor(
    repo: WebhooksRepository,
    circuits: WebhookCircuitsRepository,
    send: WebhookSender,
    box: SecretBox,
    log: { info?(msg: string, fields?: Record<string, unknown>): void; warn(msg: string, fields?: Record<string, unknown>): void; error(msg: string): void },
    options: DispatcherOptions,
  ) {
    this.repo = repo; this.circuits = circuits; this.send = send; this.box = box; this.log = log; this.options = options;
    this.#concurrency = options.concurrency ?? 16;
    this.#perClient = options.perClient ?? Math.max(2, Math.floor(this.#concurrency / 4));
    this.#perEndpoint = options.perEndpoint ?? 2;
    this.breaker = circuitPolicy(options.breaker);
    this.#leaseMs = options.timeoutMs + 30_000;
  }

  get leaseMs(): number {
    return this.#leaseMs;
  }

  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.#wakeIn(0);
  }

  /** Run a pass now (or right after the current one). Cheap; call it after committing an event. */
  notify(): void {
    if (!this.#started || this.#stopped) return;
    if (this.#pass) this.#again = true;
    else this.#wakeIn(0);
  }

  /**
   * Holds a slot for a test ping of `endpointId` within the same fair shares as every delivery (the
   * process's concurrency, the client's and the endpoint's share), and at most one ping per endpoint at
   * a time: pings sent around the shares let one tenant hold every slot with pings to a receiver that
   * never answers, stalling everyone's deliveries. Null when no slot is free; else the slot, to be
   * handed to deliverClaimed or released.
   */
  reservePing(clientId: string, endpointId: string): { release(): void } | null {
    const held = [...this.#inflight.values(), ...this.#reserved];
    if (held.length >= this.#concurrency) return null;
    if (held.filter((f) => f.clientId === clientId).length >= this.#perClient) return null;
    if (held.filter((f) => f.endpointId === endpointId).length >= this.#perEndpoint) return null;
    // One ping per endpoint: reserved, or already being sent (a reservation moves to the in-flight sends).
    const pinging = (f: { endpointId: string }) => f.endpointId === endpointId;
    if ([...this.#reserved].some(pinging) || [...this.#inflight.values()].some((f) => f.ping && pinging(f))) return null;
    const slot = { clientId, endpointId };
    this.#reserved.add(slot);
    return { release: () => void this.#reserved.delete(slot) };
  }

  /** Sends one delivery this process already holds (a test ping, in the slot reservePing gave) and returns when it is recorded. */
  async deliverClaimed(d: ClaimedDelivery, slot: { release(): void }): Promise<void> {
    const done = this.#track(d, true);
    slot.release(); // the send itself now counts in flight
    await done;
  }

  /** Stops polling, lets in-flight sends finish for a moment, aborts the rest (their claims are released). */
  async close(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#pass;
    const pending = [...this.#inflight.values()];
    if (pending.length) {
      const grace = new Promise<void>((r) => setTimeout(r, this.options.shutdownGraceMs ?? 1000).unref());
      await Promise.race([Promise.all(pending.map((p) => p.done)), grace]);
      for (const p of this.#inflight.values()) p.abort.abort();
      await Promise.all([...this.#inflight.values()].map((p) => p.done));
    }
  }

  #wakeIn(ms: number): void {
    if (this.#stopped) return;
    const at = Date.now() + Math.max(0, ms);
    if (this.#timer && this.#timerAt <= at) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#timerAt = Infinity;
      void this.#runPass();
    }, Math.max(0, ms));
    this.#timer.unref();
  }

  async #runPass(): Promise<void> {
    if (this.#pass || this.#stopped) return;
    let next = this.options.pollMs;
    this.#pass = (async () => {
      let first = true;
      do {
        // Between rounds, let I/O run: with the embedded database a round's queries run on this thread, and
        // back-to-back rounds (a backlog being fanned out) would hold the sends just claimed, and requests.
        if (!first) await new Promise<void>((r) => setImmediate(r));
        first = false;
        this.#again = false;
        try {
          // One batch of fan-out, then claims: a backlog of events is fanned out batch by batch between
          // claims, so deliveries already due (another tenant's, retries) are not held until it is gone.
          const fanned = this.#stopped ? 0 : await this.repo.fanOut(FAN_OUT_BATCH);
          const free = this.#concurrency - this.#inflight.size - this.#reserved.size;
          const claimed = this.#stopped || free <= 0 || this.options.keyWatch?.outdated ? [] : await this.#claimFair(free);
          for (const d of claimed) void this.#track(d);
          if (claimed.length > 0 && claimed.length === free) this.#again = true; // more may be due once sends finish
          if (fanned === FAN_OUT_BATCH) this.#again = true; // more events wait for their fan-out
        } catch (e) {
          // While the database is down every poll fails: say so once a minute, not twice a second.
          if (!this.#stopped && Date.now() - this.#errorLoggedAt > 60_000) {
            this.#errorLoggedAt = Date.now();
            this.log.error(`webhooks: dispatcher pass failed: ${(e as Error).message}`);
          }
        }
      } while (this.#again && !this.#stopped && this.#inflight.size < this.#concurrency);
      if (!this.#stopped && Date.now() - this.#prunedAt > PRUNE_EVERY_MS) {
        this.#prunedAt = Date.now();
        await this.repo.pruneFinished(LOG_RETENTION_DAYS).catch((e) => this.log.warn(`webhooks: pruning logs failed: ${(e as Error).message}`));
      }
      // Next pass: the poll interval, or sooner when a retry (possibly scheduled elsewhere) falls due.
      try {
        const due = this.#stopped ? null : await this.repo.msUntilNextDue();
        // Due now but not claimed (a client's or endpoint's share is full, or its circuit is open):
        // finished sends call notify(), so wait the poll interval rather than spin.
        if (due !== null && due > 0) next = Math.min(next, due);
      } catch {
        // the poll timer still runs
      }
    })();
    try {
      await this.#pass;
    } finally {
      this.#pass = null;
    }
    this.#wakeIn(this.#again ? 0 : next);
  }

  /** Picks up to `free` due deliveries round-robin over clients, within the per-client and per-endpoint shares. */
  async #claimFair(free: number): Promise<ClaimedDelivery[]> {
    const candidates = await this.repo.dueCandidates({
      perEndpoint: this.#perEndpoint,
      perClient: this.#perClient,
      limit: 500,
    });
    const byClient = new Map<string, number>();
    const byEndpoint = new Map<string, number>();
    for (const f of [...this.#inflight.values(), ...this.#reserved]) {
      byClient.set(f.clientId, (byClient.get(f.clientId) ?? 0) + 1);
      byEndpoint.set(f.endpointId, (byEndpoint.get(f.endpointId) ?? 0) + 1);
    }
    const queues = new Map<string, typeof candidates>();
    for (const c of candidates) queues.set(c.client_id, [...(queues.get(c.client_id) ?? []), c]);
    const picked: string[] = [];
    let progress = true;
    while (picked.length < free && progress) {
      progress = false;
      for (const [clientId, queue] of queues) {
        if (picked.length >= free) break;
        if ((byClient.get(clientId) ?? 0) >= this.#perClient) continue;
        const i = queue.findIndex((c) => (byEndpoint.get(c.endpoint_id) ?? 0) < this.#perEndpoint);
        if (i < 0) continue;
        const [c] = queue.splice(i, 1);
        picked.push(c!.id);
        byClient.set(clientId, (byClient.get(clientId) ?? 0) + 1);
        byEndpoint.set(c!.endpoint_id, (byEndpoint.get(c!.endpoint_id) ?? 0) + 1);
        progress = true;
      }
    }
    return this.repo.claimIds(picked, this.#leaseMs);
  }

  #track(d: ClaimedDelivery, ping = false): Promise<void> {
    const abort = new AbortController();
    const done = this.#attempt(d, abort.signal)
      .catch((e) => this.log.error(`webhooks: delivery ${d.id} could not be recorded: ${(e as Error).message}`))
      .finally(() => {
        this.#inflight.delete(d.id);
        this.notify();
      });
    this.#inflight.set(d.id, { abort, done, clientId: d.client_id, endpointId: d.endpoint_id, ping });
    return done;
  }

  async #attempt(d: ClaimedDelivery, signal: AbortSignal): Promise<void> {
    if (!d.is_active) {
      await this.repo.markAttemptFailed(d.id, d.claim_id, { statusCode: null, error: 'endpoint is inactive', ms: null, retryInMs: null, countAttempt: false });
      return;
    }
    if (d.payload === null || d.event_created_at === null) {
      await this.repo.markAttemptFailed(d.id, d.claim_id, { statusCode: null, error: 'event no longer exists', ms: null, retryInMs: null, countAttempt: false });
      return;
    }
    let secret: string;
    try {
      secret = this.box.open(d.secret, secretAad(d.client_id, d.endpoint_id));
    } catch {
      if (this.options.keyWatch && (await this.options.keyWatch.check().catch(() => [])).length) {
        // Sealed by a server restarted with a newer master key: it delivers this one (no attempt counted).
        const error = 'the endpoint secret was sealed under a newer master key than this server holds: left to a server restarted with it';
        await this.repo.markAttemptFailed(d.id, d.claim_id, { statusCode: null, error, ms: null, retryInMs: 1000, countAttempt: false });
        return;
      }
      const error = 'the endpoint secret cannot be decrypted (was the master key changed?): set the secret again, then retry';
      await this.repo.markAttemptFailed(d.id, d.claim_id, { statusCode: null, error, ms: null, retryInMs: null, countAttempt: false });
      return;
    }
    const body = serializeBody({ event: d.event_type, data: d.payload, timestamp: new Date(d.event_created_at).toISOString(), webhook_id: d.endpoint_id });
    const headers = {
      'Content-Type': 'application/json',
      'User-Agent': USER_AGENT,
      'X-Signature': signBody(body, secret),
      'X-Event-Type': d.event_type,
      'X-Event-Id': d.event_id,
      'X-Webhook-Id': d.id,
      'X-Webhook-Attempt': String(d.attempts + 1),
      ...(d.request_id ? { 'X-Request-Id': d.request_id } : {}),
    };
    let outcome: SendOutcome;
    try {
      outcome = await this.send(d.url, body, headers, { timeoutMs: this.options.timeoutMs, allowPrivate: this.options.allowPrivate, signal });
    } catch (e) {
      outcome = { ok: false, statusCode: null, error: (e as Error).message, ms: 0, aborted: signal.aborted };
    }
    if (outcome.aborted) return this.repo.releaseClaim(d.id, d.claim_id);
    if (await this.circuits.record(d.endpoint_id, d.claim_id, outcome.ok, this.breaker).catch(() => false)) {
      this.log.warn(`webhooks: endpoint ${d.endpoint_id} failed ${this.breaker.failures} times in a row or again after a pause; its deliveries pause a while (circuit open)`);
    }
    const about = `webhook delivery ${d.id} (${d.event_type}, attempt ${d.attempts + 1}, request ${d.request_id ?? '-'})`;
    const fields = { reqId: d.request_id, webhookDelivery: d.id, event: d.event_type, attempt: d.attempts + 1, statusCode: outcome.statusCode };
    if (outcome.ok) {
      await this.repo.markDelivered(d.id, d.claim_id, { statusCode: outcome.statusCode ?? 200, ms: outcome.ms });
      this.log.info?.(`${about}: delivered, HTTP ${outcome.statusCode ?? 200} in ${Math.round(outcome.ms)} ms`, fields);
      this.options.onOutcome?.('delivered');
      return;
    }
    const attempt = d.attempts + 1;
    // A receiver that answered Retry-After (429, 503) is not asked again before it said it would be ready.
    const retryInMs = shouldRetry(d, attempt) ? retryWaitMs(retryDelayMs(d, attempt), outcome.retryAfterMs) : null;
    this.log.warn(`${about}: failed (${outcome.statusCode ? `HTTP ${outcome.statusCode}` : (outcome.error ?? 'no answer')}); ${retryInMs === null ? 'no retry left' : `retry in ${Math.round(retryInMs / 1000)} s`}`, fields);
    this.options.onOutcome?.(retryInMs === null ? 'failed' : 'retry');
    await this.repo.markAttemptFailed(d.id, d.claim_id, { statusCode: outcome.statusCode, error: outcome.error ?? 'failed', ms: outcome.ms, retryInMs });
    if (retryInMs !== null) this.#wakeIn(retryInMs);
  }
}
