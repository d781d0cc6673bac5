import type { AnalyticsRepository, AuditFeedCategory, AuditFeedFrom, AuditFeedRow, Histogram } from '../../db/repositories/analytics.repository.ts';
import { AUDIT_CATEGORIES } from '../../db/repositories/analytics.repository.ts';
import { appError } from '../../errors.ts';
import { pageOf } from '../paging.ts';
import { decodeAuditCursor, encodeAuditCursor } from './audit-cursor.ts';
import { bucketing, resolveWindow, trend, type PeriodQuery, type Window } from './periods.ts';
import { parseUserAgent, USER_AGENT_CLASSIFIED_CHARS, type UserAgentInfo } from './user-agent.ts';

/** A repeat verification of the same user this soon after a low-confidence rejection marks it a likely false reject. */
const RETRY_WINDOW_MS = 5 * 60_000;
const HISTOGRAM_BINS = 10;
const STATISTICS_MAX_DAYS = 366;
const TOP_USERS = 10;
const USER_AGENT_GROUPS = 1000;
const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

export interface AuditLogQuery extends PeriodQuery {
  category?: AuditFeedCategory;
  /** Alias of category (the guide speaks of "log types"). */
  type?: AuditFeedCategory;
  page: number;
  page_size: number;
  /** next_cursor of the previous page: continues that walk (its window and category) after its last entry. */
  cursor?: string;
}

/**
 * Per-tenant analytics over authentication attempts, enrollments, sessions and the audit trail
 * (M1–M3, M5, M6). Every figure comes from SQL scoped to the calling client; times are UTC.
 *
 * @example await analytics.dashboard(client.id, { period: 'last_7_days' })
 */
export class AnalyticsService {
  private readonly repo: AnalyticsRepository;
  private readonly deps: { clock?: () => Date; flushAudit?: () => Promise<void> };
  constructor(
    repo: AnalyticsRepository,
    deps: { clock?: () => Date; flushAudit?: () => Promise<void> } = {},
  ) {
    this.repo = repo; this.deps = deps;
  }

  #now(): Date {
    return this.deps.clock?.() ?? new Date();
  }

  /** M1: headline metrics of the window and their change against the window before it. */
  async dashboard(clientId: string, q: PeriodQuery) {
    const w = resolveWindow(q, 'last_30_days', this.#now());
    const [cur, prev, peak] = await Promise.all([
      this.repo.attemptSummary(clientId, w),
      this.repo.attemptSummary(clientId, w.previous),
      this.repo.peakConcurrentSessions(clientId, w),
    ]);
    const rate = (s: typeof cur) => (s.total ? s.successes / s.total : null);
    const seconds = (s: typeof cur) => (s.avg_ms === null ? null : s.avg_ms / 1000);
    return {
      period: w.label,
      metrics: {
        total_authentications: cur.total,
        successful_rate: round(rate(cur) ?? 0, 4),
        average_response_time: round(seconds(cur) ?? 0, 3),
        unique_users: cur.unique_users,
        peak_concurrent_sessions: peak,
      },
      trends: {
        authentications_trend: trend(cur.total, prev.total),
        success_rate_trend: trend(rate(cur), rate(prev)),
        response_time_trend: trend(seconds(cur), seconds(prev)),
      },
    };
  }

  /** M2: time series, hourly for windows up to 24 h, daily otherwise. */
  async statistics(clientId: string, q: PeriodQuery) {
    const w = resolveWindow(q, 'last_7_days', this.#now(), { maxDays: STATISTICS_MAX_DAYS });
    const b = bucketing(w);
    const [attempts, enrollments, users] = await Promise.all([
      this.repo.attemptBuckets(clientId, w, b.origin, b.sizeMs),
      this.repo.createdBuckets('enrollments', clientId, w, b.origin, b.sizeMs),
      this.repo.createdBuckets('users', clientId, w, b.origin, b.sizeMs),
    ]);
    const byA = new Map(attempts.map((r) => [r.bucket, r]));
    const byE = new Map(enrollments.map((r) => [r.bucket, r.n]));
    const byU = new Map(users.map((r) => [r.bucket, r.n]));
    const totals = { authentications: 0, successes: 0, failures: 0, ms: 0, timed: 0, enrollments: 0, new_users: 0, liveness_failures: 0 };
    const series = Array.from({ length: b.count }, (_, i) => {
      const a = byA.get(i);
      const n = a?.authentications ?? 0;
      const row = {
        timestamp: new Date(b.origin.getTime() + i * b.sizeMs).toISOString(),
        authentications: n,
        successes: a?.successes ?? 0,
        failures: a?.failures ?? 0,
        success_rate: a && n ? round(a.successes / n, 4) : null,
        average_response_time: a?.avg_ms != null ? round(a.avg_ms / 1000, 3) : null,
        enrollments: byE.get(i) ?? 0,
        new_users: byU.get(i) ?? 0,
        liveness_failures: a?.liveness_failures ?? 0,
      };
      totals.authentications += n;
      totals.successes += row.successes;
      totals.failures += row.failures;
      // Weighted by the attempts the bucket's mean is of: one without a processing_ms is no 0 ms attempt.
      totals.ms += (a?.avg_ms ?? 0) * (a?.timed ?? 0);
      totals.timed += a?.timed ?? 0;
      totals.enrollments += row.enrollments;
      totals.new_users += row.new_users;
      totals.liveness_failures += row.liveness_failures;
      return row;
    });
    const { ms, timed, ...sums } = totals;
    return {
      ...windowFields(w),
      granularity: b.unit,
      totals: {
        ...sums,
        success_rate: sums.authentications ? round(sums.successes / sums.authentications, 4) : null,
        average_response_time: timed ? round(ms / timed / 1000, 3) : null,
      },
      series,
    };
  }

  /** M3: when, who, from what device, and why attempts fail. */
  async userBehavior(clientId: string, q: PeriodQuery) {
    const w = resolveWindow(q, 'last_30_days', this.#now());
    const [hours, days, top, agents, reasons, modes] = await Promise.all([
      this.repo.attemptsByTimeOfDay(clientId, w, 'hour'),
      this.repo.attemptsByTimeOfDay(clientId, w, 'dow'),
      this.repo.mostActiveUsers(clientId, w, TOP_USERS),
      this.repo.userAgents(clientId, w, USER_AGENT_GROUPS, USER_AGENT_CLASSIFIED_CHARS),
      this.repo.failureReasons(clientId, w),
      this.repo.attemptsByMode(clientId, w),
    ]);
    const hourMap = new Map(hours.map((h) => [h.k, h]));
    const dayMap = new Map(days.map((d) => [d.k, d]));
    const slot = (r: { total: number; successes: number } | undefined) => ({
      authentications: r?.total ?? 0,
      successes: r?.successes ?? 0,
      success_rate: r?.total ? round(r.successes / r.total, 4) : null,
    });
    const byHour = Array.from({ length: 24 }, (_, hour) => ({ hour, ...slot(hourMap.get(hour)) }));
    const byDay = DAY_NAMES.map((name, day) => ({ day, name, ...slot(dayMap.get(day)) }));
    const total = modes.reduce((s, m) => s + m.total, 0);
    const successes = modes.reduce((s, m) => s + m.successes, 0);
    const failures = total - successes;
    return {
      ...windowFields(w),
      timezone: 'UTC',
      time_patterns: {
        by_hour_of_day: byHour,
        by_day_of_week: byDay,
        peak_hour: total ? peakOf(byHour).hour : null,
        peak_day: total ? peakOf(byDay).name : null,
      },
      most_active_users: top.map((u) => ({
        id: u.id,
        external_id: u.external_id,
        name: u.name,
        count: u.count,
        successes: u.successes,
        last_attempt: u.last_attempt.toISOString(),
      })),
      devices: deviceDistribution(agents),
      success_failure: {
        total,
        successes,
        failures,
        success_rate: total ? round(successes / total, 4) : null,
        failure_reasons: reasons.map((r) => ({ reason: r.reason, count: r.n, share: round(r.n / (failures || 1), 4) })),
        by_mode: modes.map((m) => ({ mode: m.mode, total: m.total, successes: m.successes, success_rate: m.total ? round(m.successes / m.total, 4) : null })),
      },
      geography: {
        available: false,
        countries: [] as Array<{ country: string; count: number }>,
        note: 'No GeoIP database is shipped, so client addresses are not mapped to places.',
      },
    };
  }

  /** M5: proxies of recognition accuracy, score distributions and liveness outcomes. */
  async modelPerformance(clientId: string, q: PeriodQuery) {
    const w = resolveWindow(q, 'last_30_days', this.#now(), { maxDays: STATISTICS_MAX_DAYS });
    const b = bucketing(w);
    const [buckets, confOk, confFail, confStats, qAuth, qAuthStats, qEnr, qEnrStats, live, liveHist, rejections] = await Promise.all([
      this.repo.attemptBuckets(clientId, w, b.origin, b.sizeMs),
      this.repo.scoreHistogram('auth_attempts', 'confidence', clientId, w, HISTOGRAM_BINS, 'success'),
      this.repo.scoreHistogram('auth_attempts', 'confidence', clientId, w, HISTOGRAM_BINS, 'failed'),
      this.repo.scoreStats('auth_attempts', 'confidence', clientId, w),
      this.repo.scoreHistogram('auth_attempts', 'quality_score', clientId, w, HISTOGRAM_BINS),
      this.repo.scoreStats('auth_attempts', 'quality_score', clientId, w),
      this.repo.scoreHistogram('enrollments', 'quality_score', clientId, w, HISTOGRAM_BINS),
      this.repo.scoreStats('enrollments', 'quality_score', clientId, w),
      this.repo.liveness(clientId, w),
      this.repo.scoreHistogram('auth_attempts', 'liveness_score', clientId, w, HISTOGRAM_BINS),
      this.repo.lowConfidenceRejections(clientId, w, RETRY_WINDOW_MS),
    ]);
    const byBucket = new Map(buckets.map((r) => [r.bucket, r]));
    const ok = binsOf(confOk);
    const failed = binsOf(confFail);
    const stats = (s: typeof confStats) => ({ count: s.n, average: r4(s.avg), median: r4(s.p50), p95: r4(s.p95) });
    return {
      ...windowFields(w),
      granularity: b.unit,
      accuracy_over_time: Array.from({ length: b.count }, (_, i) => {
        const r = byBucket.get(i);
        return {
          timestamp: new Date(b.origin.getTime() + i * b.sizeMs).toISOString(),
          authentications: r?.authentications ?? 0,
          success_rate: r?.authentications ? round(r.successes / r.authentications, 4) : null,
          average_confidence: r4(r?.avg_confidence ?? null),
          low_confidence_failures: r?.low_confidence_failures ?? 0,
        };
      }),
      confidence_distribution: {
        ...stats(confStats),
        histogram: binEdges().map((e, i) => ({ ...e, success: ok[i], failed: failed[i], count: ok[i] + failed[i] })),
      },
      error_rates: {
        verification_attempts: rejections.verifications,
        low_confidence_rejections: rejections.rejected,
        low_confidence_rejection_rate: rejections.verifications ? round(rejections.rejected / rejections.verifications, 4) : null,
        likely_false_rejects: rejections.retried_ok,
        false_negative_rate: rejections.verifications ? round(rejections.retried_ok / rejections.verifications, 4) : null,
        false_positive_rate: null,
        retry_window_seconds: RETRY_WINDOW_MS / 1000,
        note:
          'Without ground truth the true error rates are unknown. false_negative_rate is an estimate: verification rejections for low ' +
          'confidence that the same user followed with a successful verification within retry_window_seconds. False accepts look like ' +
          'ordinary successes, so false_positive_rate is null; measure it offline (npm run eval) against labelled images.',
      },
      quality_distribution: {
        authentication: { ...stats(qAuthStats), histogram: histogram(qAuth) },
        enrollment: { ...stats(qEnrStats), histogram: histogram(qEnr) },
      },
      liveness: {
        checks: live.checks,
        passed: live.checks - live.failed,
        failed: live.failed,
        pass_rate: live.checks ? round((live.checks - live.failed) / live.checks, 4) : null,
        average_score: r4(live.avg_score),
        average_failed_score: r4(live.avg_failed_score),
        histogram: histogram(liveHist),
      },
    };
  }

  /**
   * M6: one paginated, newest-first feed of audit entries, attempts, enrollments and failure events.
   * Every page carries `next_cursor`; following it walks the feed as it stood at page 1: the window stays
   * page 1's (so newer entries stay out) and each page starts after the previous page's last entry (keyset,
   * so entries that arrive or go meanwhile shift nothing): each entry of the walk comes exactly once.
   * page/page_size (offset) paging answers as before.
   */
  async auditLogs(clientId: string, q: AuditLogQuery) {
    if (q.category && q.type && q.category !== q.type) {
      throw appError('VALIDATION_ERROR', 'querystring.type: type is an alias of category; give one or the same value', { field: 'type', location: 'querystring' });
    }
    const asked = q.category ?? q.type ?? null;
    const cursor = q.cursor === undefined ? null : decodeAuditCursor(q.cursor);
    if (cursor && asked && asked !== cursor.category) {
      const field = q.category ? 'category' : 'type';
      throw appError('VALIDATION_ERROR', `querystring.${field}: the cursor continues a walk over ${cursor.category ?? 'every category'}; leave ${field} out or start a new walk`, {
        field,
        location: 'querystring',
      });
    }
    const w = cursor?.window ?? resolveWindow(q, 'last_30_days', this.#now());
    const category = cursor ? cursor.category : asked;
    const page = cursor?.page ?? q.page;
    const from: AuditFeedFrom = cursor ? { after: cursor.after } : { offset: (q.page - 1) * q.page_size };
    // Buffered API-access entries of the window are written first (a cursor's window lies in the past:
    // they were written for its first page).
    if (!cursor) await this.deps.flushAudit?.();
    const feed = await this.repo.auditFeed(clientId, w, category ? [category] : AUDIT_CATEGORIES, q.page_size, from, { count: !cursor });
    const count = cursor?.count ?? feed.total ?? 0;
    const last = feed.rows.at(-1);
    const next_cursor =
      feed.more && last ? encodeAuditCursor({ window: w, category, after: { at: last.at, source: last.source, id: last.id }, page: page + 1, count }) : null;
    return { ...windowFields(w), category, ...pageOf(feed.rows.map(auditEntry), count, page, q.page_size), next_cursor };
  }
}

function windowFields(w: Pick<Window, 'label' | 'start' | 'end'>) {
  return { period: w.label, start_date: w.start.toISOString(), end_date: w.end.toISOString() };
}

function auditEntry(r: AuditFeedRow) {
  return {
    id: r.id,
    timestamp: new Date(r.created_at).toISOString(),
    category: r.category,
    action: r.action,
    actor: r.actor,
    target: r.target,
    ip: r.ip,
    source: r.source,
    details: (typeof r.details === 'string' ? JSON.parse(r.details) : r.details) as Record<string, unknown>,
  };
}

/** The attempts whose User-Agent string is rarer than the USER_AGENT_GROUPS classified ones. */
const UNCLASSIFIED = 'Unclassified';

function deviceDistribution(agents: { groups: Array<{ user_agent: string | null; n: number }>; total: number }) {
  const tally = { browser: new Map<string, number>(), os: new Map<string, number>(), device: new Map<string, number>() };
  let classified = 0;
  for (const a of agents.groups) {
    const info: UserAgentInfo = parseUserAgent(a.user_agent);
    for (const k of ['browser', 'os', 'device'] as const) tally[k].set(info[k], (tally[k].get(info[k]) ?? 0) + a.n);
    classified += a.n;
  }
  // Counts add up to every attempt of the window and shares are of all of them, not of the classified ones.
  const total = Math.max(agents.total, classified);
  if (total > classified) for (const k of ['browser', 'os', 'device'] as const) tally[k].set(UNCLASSIFIED, total - classified);
  const list = (m: Map<string, number>) =>
    [...m].map(([name, count]) => ({ name, count, share: round(count / (total || 1), 4) })).sort((x, y) => y.count - x.count || x.name.localeCompare(y.name));
  return { browsers: list(tally.browser), operating_systems: list(tally.os), device_types: list(tally.device) };
}

function binEdges() {
  return Array.from({ length: HISTOGRAM_BINS }, (_, i) => ({ min: round(i / HISTOGRAM_BINS, 2), max: round((i + 1) / HISTOGRAM_BINS, 2) }));
}

function binsOf(rows: Histogram[]): number[] {
  const out = new Array<number>(HISTOGRAM_BINS).fill(0);
  for (const r of rows) out[r.bin - 1] += r.count;
  return out;
}

function histogram(rows: Histogram[]) {
  const counts = binsOf(rows);
  return binEdges().map((e, i) => ({ ...e, count: counts[i] }));
}

function peakOf<T extends { authentications: number }>(slots: T[]): T {
  return slots.reduce((best, s) => (s.authentications > best.authentications ? s : best));
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function r4(x: number | null): number | null {
  return x === null ? null : round(x, 4);
}
