import type { Core } from '../container.ts';
import { AnalyticsRepository } from '../db/repositories/analytics.repository.ts';
import { AnalyticsService } from './analytics/analytics.service.ts';
import { RequestTimings } from './analytics/request-timings.ts';
import { SystemMetricsService } from './analytics/system-metrics.service.ts';
import { SystemProbe } from './analytics/system-probe.ts';

/**
 * Analytics, system metrics and audit-log queries (M1–M6).
 *
 * @example const { analytics, systemMetrics, timings } = await createAnalyticsServices(core, { flushAudit: () => audit.flush() })
 */
export interface AnalyticsServices {
  /** Dashboard, statistics, user behaviour, model performance, audit feed (per tenant, SQL). */
  analytics: AnalyticsService;
  /** Host and process readings for GET /api/analytics/system-metrics/. */
  systemMetrics: SystemMetricsService;
  /** Rolling window of request timings; fed by requestTimingPlugin (src/api/request-timing.plugin.ts). */
  timings: RequestTimings;
  close(): Promise<void>;
}

export interface AnalyticsDeps {
  /**
   * Writes buffered audit entries before the audit feed is read (AuditService.flush), so the
   * newest API-access entries show at once; without it they appear within the writer's flush
   * interval (1 s).
   */
  flushAudit?: () => Promise<void>;
}

export async function createAnalyticsServices(core: Core, deps: AnalyticsDeps = {}): Promise<AnalyticsServices> {
  const repo = new AnalyticsRepository(core.database.db, { statementTimeoutMs: core.config.databaseUrl ? core.config.analyticsTimeoutMs : 0 });
  const timings = new RequestTimings();
  const analytics = new AnalyticsService(repo, { flushAudit: deps.flushAudit });
  const systemMetrics = new SystemMetricsService({
    repo,
    probe: new SystemProbe(core.config.dataDir),
    timings,
    engineStatus: () => core.engine?.status() ?? null,
    connections: () => core.database.connections(),
  });
  return { analytics, systemMetrics, timings, close: async () => {} };
}
