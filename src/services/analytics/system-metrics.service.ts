import type { AnalyticsRepository } from '../../db/repositories/analytics.repository.ts';
import type { EngineStatus } from '../../vision/types.ts';
import type { RequestTimings } from './request-timings.ts';
import type { SystemProbe } from './system-probe.ts';

/**
 * M4: live readings of this server process and host, plus the caller's open sessions.
 * Host figures (cpu, memory, disk, queue, connections, performance) are server-wide;
 * active_sessions is the calling client's.
 *
 * @example await systemMetrics.read(client.id) // → { timestamp, metrics: {…}, performance: {…} }
 */
export class SystemMetricsService {
  private readonly d: {
      repo: Pick<AnalyticsRepository, 'activeSessions'>;
      probe: SystemProbe;
      timings: RequestTimings;
      engineStatus: () => EngineStatus | null;
      connections: () => number;
      clock?: () => Date;
    };
  constructor(
    d: {
      repo: Pick<AnalyticsRepository, 'activeSessions'>;
      probe: SystemProbe;
      timings: RequestTimings;
      engineStatus: () => EngineStatus | null;
      connections: () => number;
      clock?: () => Date;
    },
  ) {
    this.d = d;
  }

  async read(clientId: string) {
    const now = this.d.clock?.() ?? new Date();
    const [activeSessions, disk] = await Promise.all([this.d.repo.activeSessions(clientId, now), this.d.probe.disk()]);
    const engine = this.d.engineStatus();
    const perf = this.d.timings.snapshot();
    return {
      timestamp: now.toISOString(),
      metrics: {
        cpu_usage: round(this.d.probe.cpu(), 4),
        memory_usage: round(this.d.probe.memory(), 4),
        disk_usage: round(disk, 4),
        active_sessions: activeSessions,
        queue_size: engine?.queued ?? 0,
        database_connections: this.d.connections(),
      },
      performance: {
        avg_response_time: round(perf.avgMs / 1000, 4),
        p95_response_time: round(perf.p95Ms / 1000, 4),
        requests_per_second: round(perf.perSecond, 2),
        error_rate: round(perf.errorRate, 4),
      },
    };
  }
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
