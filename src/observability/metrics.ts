import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the collectors read when Prometheus scrapes (gauges are sampled, not pushed). */
export interface MetricsSources {
  engine?: () => { workers: number; busy: number; queued: number } | null;
  index?: () => { tenants: number; vectors: number; builds: number };
  databasePool?: () => { total: number; idle: number; waiting: number } | null;
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The server's Prometheus metrics (prom-client), one registry per running server so that several
 * servers in one process (tests) do not mix their numbers. Exposed at GET /metrics (docs/operations.md).
 * Labels are bounded: route templates (never raw URLs), status codes, stages, reasons and outcomes.
 *
 * @example metrics.httpRequest('POST', '/api/auth/authentication/verify/', 200, 0.084)
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'method' | 'route' | 'status'>;
  readonly #requestSeconds: Histogram<'method' | 'route' | 'status'>;
  readonly #inferenceSeconds: Histogram<'stage'>;
  readonly #serviceBusy: Counter;
  readonly #liveness: Counter<'outcome' | 'reason'>;
  readonly #webhooks: Counter<'outcome'>;
  #sources: MetricsSources = {};

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'wajah_' });
    this.#requests = new Counter({ name: 'wajah_http_requests_total', help: 'HTTP requests by route template and status', labelNames: ['method', 'route', 'status'], registers });
    this.#requestSeconds = new Histogram({ name: 'wajah_http_request_duration_seconds', help: 'HTTP response time by route template and status', labelNames: ['method', 'route', 'status'], buckets: SECONDS, registers });
    this.#inferenceSeconds = new Histogram({ name: 'wajah_inference_duration_seconds', help: 'Face engine time per image by stage (queue = waiting for a worker)', labelNames: ['stage'], buckets: SECONDS, registers });
    this.#serviceBusy = new Counter({ name: 'wajah_service_busy_total', help: 'Images refused with SERVICE_BUSY because the inference queue was full', registers });
    this.#liveness = new Counter({ name: 'wajah_liveness_decisions_total', help: 'Liveness decisions by outcome (passed/failed) and failure reason', labelNames: ['outcome', 'reason'], registers });
    this.#webhooks = new Counter({ name: 'wajah_webhook_deliveries_total', help: 'Webhook delivery attempts by outcome (delivered, failed, retry)', labelNames: ['outcome'], registers });
    const sources = () => this.#sources;
    new Gauge({
      name: 'wajah_inference_queue_depth', help: 'Images waiting for an inference worker', registers,
      collect() { this.set(sources().engine?.()?.queued ?? 0); },
    });
    new Gauge({
      name: 'wajah_inference_workers_busy', help: 'Inference workers processing an image', registers,
      collect() { this.set(sources().engine?.()?.busy ?? 0); },
    });
    new Gauge({
      name: 'wajah_inference_workers', help: 'Inference workers with their models loaded', registers,
      collect() { this.set(sources().engine?.()?.workers ?? 0); },
    });
    new Counter({
      name: 'wajah_search_index_builds_total', help: 'Per-tenant search index builds and rebuilds from the database', registers,
      collect() {
        this.reset();
        this.inc(sources().index?.().builds ?? 0);
      },
    });
    new Gauge({
      name: 'wajah_search_index_vectors', help: 'Face templates held in the in-memory search indexes', registers,
      collect() { this.set(sources().index?.().vectors ?? 0); },
    });
    new Gauge({
      name: 'wajah_search_index_tenants', help: 'Tenants with a loaded search index', registers,
      collect() { this.set(sources().index?.().tenants ?? 0); },
    });
    new Gauge({
      name: 'wajah_db_pool_connections', help: 'PostgreSQL pool connections by state (embedded database: none)', labelNames: ['state'], registers,
      collect() {
        const p = sources().databasePool?.();
        this.set({ state: 'total' }, p?.total ?? 0);
        this.set({ state: 'idle' }, p?.idle ?? 0);
        this.set({ state: 'waiting' }, p?.waiting ?? 0);
      },
    });
  }

  /** Wires the sampled gauges to the running parts (set once the container is built). */
  setSources(sources: MetricsSources): void {
    this.#sources = { ...this.#sources, ...sources };
  }

  httpRequest(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.#requests.inc(labels);
    this.#requestSeconds.observe(labels, seconds);
  }

  inference(stage: 'queue' | 'decode' | 'detect' | 'embed' | 'quality' | 'total', seconds: number): void {
    this.#inferenceSeconds.observe({ stage }, seconds);
  }

  serviceBusy(): void {
    this.#serviceBusy.inc();
  }

  liveness(passed: boolean, reason: string | null): void {
    this.#liveness.inc({ outcome: passed ? 'passed' : 'failed', reason: passed ? 'none' : (reason ?? 'BELOW_THRESHOLD') });
  }

  webhookDelivery(outcome: 'delivered' | 'retry' | 'failed'): void {
    this.#webhooks.inc({ outcome });
  }

  contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
