import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { sql } from 'kysely';
import { describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { as, createClient, type TestClient } from '../helpers/foundation.ts';
import { AUDIT_CATEGORIES } from '../../src/db/repositories/analytics.repository.ts';
import { PERIODS } from '../../src/services/analytics/periods.ts';
import { AuditCategory, PeriodName } from '../../src/api/analytics.schemas.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const ago = (ms: number) => new Date(Date.now() - ms);
/** Like ago(), but never before today's UTC midnight (for assertions on period=today just after midnight). */
const agoToday = (ms: number) => {
  const midnight = new Date();
  midnight.setUTCHours(0, 0, 0, 0);
  return new Date(Math.max(Date.now() - ms, Math.min(Date.now(), midnight.getTime() + 1000)));
};

interface AttemptSeed {
  outcome?: 'success' | 'failed';
  reason?: string | null;
  ms?: number | null;
  at?: Date;
  user?: string | null;
  mode?: string;
  confidence?: number | null;
  quality?: number | null;
  liveness?: number | null;
  ua?: string | null;
}

for (const backend of backendNames()) {
  describe(`analytics API [${backend}]`, () => {
    const t = useTestApp(backend, { rawEvents: true }); // writes partial liveness.failed rows of its own
    const db = () => t().container.database.db;
    const get = (c: TestClient, url: string) => as(t().app, c, { method: 'GET', url });

    async function user(c: TestClient, externalId: string, createdAt = new Date()): Promise<string> {
      const id = crypto.randomUUID();
      await db()
        .insertInto('users')
        .values({ id, client_id: c.client_id, external_id: externalId, name: `Name ${externalId}`, email: null, metadata: '{}', created_at: createdAt, updated_at: createdAt })
        .execute();
      return id;
    }

    async function attempt(c: TestClient, a: AttemptSeed = {}): Promise<void> {
      const outcome = a.outcome ?? 'success';
      await db()
        .insertInto('auth_attempts')
        .values({
          id: crypto.randomUUID(),
          client_id: c.client_id,
          session_id: null,
          user_id: a.user ?? null,
          mode: a.mode ?? 'verification',
          outcome,
          failure_reason: a.reason ?? (outcome === 'failed' ? 'LOW_CONFIDENCE' : null),
          confidence: a.confidence ?? null,
          liveness_score: a.liveness ?? null,
          quality_score: a.quality ?? null,
          processing_ms: a.ms === undefined ? 100 : a.ms,
          ip: '10.0.0.1',
          user_agent: a.ua ?? null,
          created_at: a.at ?? ago(MIN),
        })
        .execute();
    }

    async function session(c: TestClient, s: { from: Date; expires: Date; status?: string; updated?: Date }): Promise<void> {
      await db()
        .insertInto('sessions')
        .values({
          id: crypto.randomUUID(),
          client_id: c.client_id,
          kind: 'authentication',
          token_hash: crypto.randomBytes(16).toString('hex'),
          user_id: null,
          mode: 'verification',
          params: '{}',
          state: '{}',
          status: s.status ?? 'active',
          expires_at: s.expires,
          created_at: s.from,
          updated_at: s.updated ?? s.from,
        })
        .execute();
    }

    async function enrollment(c: TestClient, userId: string, at: Date, quality = 0.9): Promise<void> {
      await db()
        .insertInto('enrollments')
        .values({ id: crypto.randomUUID(), client_id: c.client_id, user_id: userId, source: 'direct', model_id: 'm1', quality_score: quality, face_count: 1, average_confidence: 0.95, angles: '["front"]', created_at: at })
        .execute();
    }

    test('schema literals agree with the service lists', () => {
      assert.deepEqual(PeriodName.anyOf.map((s: { const: string }) => s.const), [...PERIODS]);
      assert.deepEqual(AuditCategory.anyOf.map((s: { const: string }) => s.const), [...AUDIT_CATEGORIES]);
    });

    test('dashboard: exact shape, aggregates, trends, peak sessions, tenant isolation', async () => {
      const a = await createClient(t().app, { name: 'A' });
      const b = await createClient(t().app, { name: 'B' });
      const u1 = await user(a, 'U1');
      const u2 = await user(a, 'U2');
      // Current 7 days: 3 successes (2 distinct users) + 1 failure, 100..400 ms → mean 0.25 s.
      await attempt(a, { user: u1, ms: 100, at: ago(1 * HOUR) });
      await attempt(a, { user: u1, ms: 200, at: ago(2 * DAY) });
      await attempt(a, { user: u2, ms: 300, at: ago(3 * DAY) });
      await attempt(a, { outcome: 'failed', user: u2, ms: 400, at: ago(4 * DAY) });
      // Previous 7 days: 1 success + 1 failure at 1 s each.
      await attempt(a, { user: u1, ms: 1000, at: ago(8 * DAY) });
      await attempt(a, { outcome: 'failed', ms: 1000, at: ago(10 * DAY) });
      // Another tenant's rows never count.
      const ub = await user(b, 'U1');
      for (let i = 0; i < 5; i++) await attempt(b, { user: ub, ms: 5000, at: agoToday(HOUR) });
      await session(b, { from: ago(2 * HOUR), expires: ago(-HOUR) });
      // Sessions: s1 open 3 h ago and still active; s2 and s3 overlap s1 around 85 min ago → peak 3.
      await session(a, { from: ago(3 * HOUR), expires: ago(-HOUR) });
      await session(a, { from: ago(2 * HOUR), expires: ago(-HOUR), status: 'completed', updated: ago(HOUR) });
      await session(a, { from: ago(90 * MIN), expires: ago(-HOUR), status: 'failed', updated: ago(80 * MIN) });
      await session(a, { from: ago(30 * MIN), expires: ago(-HOUR) });

      const res = await get(a, '/api/analytics/dashboard/?period=last_7_days');
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json(), {
        period: 'last_7_days',
        metrics: { total_authentications: 4, successful_rate: 0.75, average_response_time: 0.25, unique_users: 2, peak_concurrent_sessions: 3 },
        trends: { authentications_trend: '+100%', success_rate_trend: '+50%', response_time_trend: '-75%' },
      });

      const other = (await get(b, '/api/analytics/dashboard/?period=today')).json();
      assert.equal(other.metrics.total_authentications, 5);
      assert.equal(other.metrics.unique_users, 1);
      assert.equal(other.metrics.peak_concurrent_sessions, 1);
      assert.equal(other.period, 'today');

      // Default period, and no data at all: zeros and "0%".
      const empty = await createClient(t().app, { name: 'Empty' });
      const e = (await get(empty, '/api/analytics/dashboard/')).json();
      assert.deepEqual(e, {
        period: 'last_30_days',
        metrics: { total_authentications: 0, successful_rate: 0, average_response_time: 0, unique_users: 0, peak_concurrent_sessions: 0 },
        trends: { authentications_trend: '0%', success_rate_trend: '0%', response_time_trend: '0%' },
      });

      // Custom window: the end day is inclusive.
      const custom = (await get(a, `/api/analytics/dashboard/?start_date=${ago(5 * DAY).toISOString().slice(0, 10)}&end_date=${new Date().toISOString().slice(0, 10)}`)).json();
      assert.equal(custom.period, 'custom');
      assert.equal(custom.metrics.total_authentications, 4);
    });

    test('date parameters are validated and name the field', async () => {
      const c = await createClient(t().app);
      const cases: Array<[string, string]> = [
        ['/api/analytics/dashboard/?start_date=2024-02-30', 'start_date'],
        ['/api/analytics/statistics/?start_date=2024-01-10&end_date=2024-01-01', 'end_date'],
        ['/api/analytics/audit-logs/?start_date=2024-01-10&end_date=yesterday', 'end_date'],
        ['/api/analytics/audit-logs/?end_date=2024-01-10', 'start_date'],
        ['/api/analytics/dashboard/?period=last_7_days&start_date=2024-01-01', 'period'],
        ['/api/analytics/dashboard/?period=last_year', 'period'],
        ['/api/analytics/audit-logs/?category=gossip', 'category'],
        ['/api/analytics/statistics/?start_date=2020-01-01&end_date=2024-01-01', 'end_date'],
        // Without end_date the window ends now: the start is what to change.
        ['/api/analytics/statistics/?start_date=2020-01-01', 'start_date'],
        // Every report's window is bounded (a whole history held a pooled connection), and its dates
        // are ones the databases can hold (these answered 500).
        ['/api/analytics/dashboard/?start_date=2020-01-01&end_date=2024-01-01', 'end_date'],
        ['/api/analytics/user-behavior/?start_date=2020-01-01&end_date=2024-01-01', 'end_date'],
        ['/api/analytics/audit-logs/?start_date=2020-01-01&end_date=2024-01-01', 'end_date'],
        ['/api/analytics/dashboard/?start_date=1970-01-01&end_date=9999-12-31', 'end_date'],
        ['/api/analytics/dashboard/?start_date=0001-01-01&end_date=0001-12-31', 'start_date'],
        ['/api/webhooks/logs/?start_date=-271821-04-20&end_date=275760-09-13', 'start_date'],
        // Date-times are calendar dates too (Date rolled these over to 2 March and the next day).
        ['/api/analytics/dashboard/?start_date=2026-02-30T00:00Z', 'start_date'],
        ['/api/analytics/audit-logs/?start_date=2026-01-01&end_date=2026-01-02T24:00Z', 'end_date'],
        ['/api/webhooks/logs/?start_date=2026-02-30T00:00:00Z', 'start_date'],
      ];
      for (const [url, field] of cases) {
        const res = await get(c, url);
        assert.equal(res.statusCode, 400, url);
        const body = res.json();
        assert.equal(body.code, 'VALIDATION_ERROR', url);
        assert.equal(body.details.field, field, `${url}: ${body.message}`);
      }
      // The last day a query may name is a valid end_date everywhere (its day after, year 10000, answered 500).
      for (const path of ['dashboard', 'statistics', 'user-behavior', 'model-performance', 'audit-logs']) {
        const ok = await get(c, `/api/analytics/${path}/?start_date=9999-12-30&end_date=9999-12-31`);
        assert.equal(ok.statusCode, 200, `${path}: ${ok.body}`);
      }
      assert.equal((await get(c, '/api/webhooks/logs/?end_date=9999-12-31')).statusCode, 200);
      assert.equal((await get(c, `/api/webhooks/logs/?end_date=${encodeURIComponent('9999-12-31T23:59:59.999Z')}`)).statusCode, 200);
      const res = await t().app.inject({ method: 'GET', url: '/api/analytics/dashboard/' });
      assert.equal(res.statusCode, 401);
    });

    test('statistics: hourly buckets up to 24 h, daily beyond, enrollments and new users', async () => {
      const c = await createClient(t().app);
      const u = await user(c, 'S1', ago(2 * DAY));
      await user(c, 'S2', ago(HOUR));
      await enrollment(c, u, ago(2 * DAY));
      await attempt(c, { user: u, ms: 200, at: ago(2 * HOUR) });
      await attempt(c, { outcome: 'failed', reason: 'LIVENESS_FAILED', ms: 400, at: ago(2 * HOUR) });
      await attempt(c, { user: u, at: ago(3 * DAY) });
      await attempt(c, { user: u, at: ago(9 * DAY) });

      const day = (await get(c, '/api/analytics/statistics/?period=last_24_hours')).json();
      assert.equal(day.granularity, 'hour');
      assert.ok(day.series.length === 24 || day.series.length === 25);
      assert.equal(day.totals.authentications, 2);
      assert.equal(day.totals.liveness_failures, 1);
      assert.equal(day.totals.new_users, 1);
      assert.equal(day.totals.enrollments, 0);
      assert.equal(day.totals.success_rate, 0.5);
      assert.equal(day.totals.average_response_time, 0.3);
      const hit = day.series.filter((s: { authentications: number }) => s.authentications > 0);
      assert.equal(hit.length, 1);
      const at = ago(2 * HOUR).getTime();
      assert.ok(Date.parse(hit[0].timestamp) <= at && at < Date.parse(hit[0].timestamp) + HOUR);
      assert.deepEqual({ ...hit[0], timestamp: undefined }, {
        timestamp: undefined, authentications: 2, successes: 1, failures: 1, success_rate: 0.5, average_response_time: 0.3, enrollments: 0, new_users: 0, liveness_failures: 1,
      });
      const quiet = day.series.find((s: { authentications: number }) => s.authentications === 0);
      assert.equal(quiet.success_rate, null);

      const week = (await get(c, '/api/analytics/statistics/?period=last_7_days')).json();
      assert.equal(week.granularity, 'day');
      assert.ok(week.series.length === 7 || week.series.length === 8);
      assert.equal(week.totals.authentications, 3);
      assert.equal(week.totals.enrollments, 1);
      assert.equal(week.totals.new_users, 2);
      for (const s of week.series) assert.equal(Date.parse(s.timestamp) % DAY, 0);
    });

    test('statistics: average_response_time of the totals is the mean of the timed attempts, as on the dashboard', async () => {
      const c = await createClient(t().app);
      // Two days: 100 ms and an attempt without a timing (processing_ms is nullable), then 300 ms.
      await attempt(c, { ms: 100, at: ago(2 * DAY) });
      await attempt(c, { ms: null, at: ago(2 * DAY) });
      await attempt(c, { ms: 300, at: ago(HOUR) });
      const stats = (await get(c, '/api/analytics/statistics/?period=last_7_days')).json();
      const dash = (await get(c, '/api/analytics/dashboard/?period=last_7_days')).json();
      assert.equal(dash.metrics.average_response_time, 0.2);
      // Weighting each bucket's mean by all its attempts counted the untimed one as 0 ms (0.133).
      assert.equal(stats.totals.average_response_time, 0.2);
      const hit = stats.series.filter((s: { authentications: number }) => s.authentications > 0);
      assert.deepEqual(hit.map((s: { average_response_time: number }) => s.average_response_time), [0.1, 0.3]);
    });

    test('user behaviour: time patterns, most active users, devices, failure reasons, no geography', async () => {
      const c = await createClient(t().app);
      const u1 = await user(c, 'B1');
      const u2 = await user(c, 'B2');
      const at = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate()) - DAY + 9 * HOUR);
      const iphone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
      const chrome = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
      await attempt(c, { user: u1, at, ua: iphone });
      await attempt(c, { user: u1, at, ua: iphone });
      await attempt(c, { user: u1, at, ua: chrome, outcome: 'failed', reason: 'LOW_CONFIDENCE' });
      await attempt(c, { user: u2, at, ua: 'curl/8.4.0', mode: 'identification' });
      await attempt(c, { at, ua: null, outcome: 'failed', reason: 'NO_FACE_DETECTED', mode: 'identification' });

      const res = await get(c, '/api/analytics/user-behavior/?period=last_7_days');
      assert.equal(res.statusCode, 200, res.body);
      const b = res.json();
      assert.equal(b.timezone, 'UTC');
      assert.equal(b.time_patterns.by_hour_of_day.length, 24);
      assert.equal(b.time_patterns.by_hour_of_day[9].authentications, 5);
      assert.equal(b.time_patterns.peak_hour, 9);
      assert.equal(b.time_patterns.by_day_of_week[at.getUTCDay()].authentications, 5);
      assert.deepEqual(
        b.most_active_users.map((u: { external_id: string; count: number; successes: number }) => [u.external_id, u.count, u.successes]),
        [['B1', 3, 2], ['B2', 1, 1]],
      );
      assert.equal(b.most_active_users[0].id, u1);
      assert.equal(b.most_active_users[0].name, 'Name B1');
      const names = (list: Array<{ name: string; count: number }>) => Object.fromEntries(list.map((x) => [x.name, x.count]));
      assert.deepEqual(names(b.devices.device_types), { mobile: 2, desktop: 1, api_client: 1, unknown: 1 });
      assert.deepEqual(names(b.devices.browsers), { Safari: 2, Chrome: 1, curl: 1, Unknown: 1 });
      assert.deepEqual(names(b.devices.operating_systems), { iOS: 2, Windows: 1, Other: 1, Unknown: 1 });
      assert.deepEqual(b.success_failure.failure_reasons, [
        { reason: 'LOW_CONFIDENCE', count: 1, share: 0.5 },
        { reason: 'NO_FACE_DETECTED', count: 1, share: 0.5 },
      ]);
      assert.equal(b.success_failure.success_rate, 0.6);
      assert.deepEqual(b.success_failure.by_mode, [
        { mode: 'identification', total: 2, successes: 1, success_rate: 0.5 },
        { mode: 'verification', total: 3, successes: 2, success_rate: 0.6667 },
      ]);
      assert.equal(b.geography.available, false);
      assert.deepEqual(b.geography.countries, []);
    });

    test('model performance: confidence histogram, false-reject estimate, quality, liveness', async () => {
      const c = await createClient(t().app);
      const u = await user(c, 'M1');
      await enrollment(c, u, ago(DAY), 0.85);
      // A low-confidence rejection followed a minute later by a success: a likely false reject.
      await attempt(c, { user: u, outcome: 'failed', reason: 'LOW_CONFIDENCE', confidence: 0.55, quality: 0.62, at: ago(3 * HOUR) });
      await attempt(c, { user: u, confidence: 0.95, quality: 0.91, liveness: 0.9, at: ago(3 * HOUR - MIN) });
      // A rejection never retried.
      await attempt(c, { user: u, outcome: 'failed', reason: 'LOW_CONFIDENCE', confidence: 0.41, quality: 0.5, at: ago(HOUR) });
      await attempt(c, { user: u, outcome: 'failed', reason: 'LIVENESS_FAILED', confidence: 0.9, liveness: 0.2, at: ago(2 * HOUR) });

      const res = await get(c, '/api/analytics/model-performance/?period=last_7_days');
      assert.equal(res.statusCode, 200, res.body);
      const m = res.json();
      assert.equal(m.granularity, 'day');
      const hist = m.confidence_distribution.histogram;
      assert.equal(hist.length, 10);
      assert.deepEqual(hist[9], { min: 0.9, max: 1, success: 1, failed: 1, count: 2 });
      assert.deepEqual(hist[5], { min: 0.5, max: 0.6, success: 0, failed: 1, count: 1 });
      assert.equal(hist[4].failed, 1);
      assert.equal(m.confidence_distribution.count, 4);
      assert.deepEqual(
        { ...m.error_rates, note: undefined },
        {
          verification_attempts: 4,
          low_confidence_rejections: 2,
          low_confidence_rejection_rate: 0.5,
          likely_false_rejects: 1,
          false_negative_rate: 0.25,
          false_positive_rate: null,
          retry_window_seconds: 300,
          note: undefined,
        },
      );
      assert.equal(m.quality_distribution.enrollment.count, 1);
      assert.equal(m.quality_distribution.enrollment.histogram[8].count, 1);
      assert.equal(m.quality_distribution.authentication.count, 3);
      assert.deepEqual(
        { ...m.liveness, histogram: undefined },
        { checks: 2, passed: 1, failed: 1, pass_rate: 0.5, average_score: 0.55, average_failed_score: 0.2, histogram: undefined },
      );
      const total = m.accuracy_over_time.reduce((s: number, b: { authentications: number }) => s + b.authentications, 0);
      assert.equal(total, 4);
      const lowConfidence = m.accuracy_over_time.reduce((n: number, b: { low_confidence_failures: number }) => n + b.low_confidence_failures, 0);
      assert.equal(lowConfidence, 2);
    });

    test('system metrics: exact shape, real readings, this client’s active sessions', async () => {
      const c = await createClient(t().app);
      const other = await createClient(t().app);
      await session(c, { from: ago(MIN), expires: ago(-HOUR) });
      await session(c, { from: ago(MIN), expires: ago(-HOUR) });
      await session(c, { from: ago(2 * HOUR), expires: ago(HOUR) }); // expired, never closed
      await session(c, { from: ago(MIN), expires: ago(-HOUR), status: 'completed' });
      await session(other, { from: ago(MIN), expires: ago(-HOUR) });
      for (let i = 0; i < 3; i++) await get(c, '/api/analytics/dashboard/');
      const res = await get(c, '/api/analytics/system-metrics/');
      assert.equal(res.statusCode, 200, res.body);
      const m = res.json();
      assert.deepEqual(Object.keys(m), ['timestamp', 'metrics', 'performance']);
      assert.deepEqual(Object.keys(m.metrics), ['cpu_usage', 'memory_usage', 'disk_usage', 'active_sessions', 'queue_size', 'database_connections']);
      assert.deepEqual(Object.keys(m.performance), ['avg_response_time', 'p95_response_time', 'requests_per_second', 'error_rate']);
      for (const k of ['cpu_usage', 'memory_usage', 'disk_usage'] as const) assert.ok(m.metrics[k] >= 0 && m.metrics[k] <= 1, k);
      assert.ok(m.metrics.memory_usage > 0);
      assert.ok(m.metrics.disk_usage > 0);
      assert.equal(m.metrics.active_sessions, 2);
      assert.equal(m.metrics.queue_size, 0);
      assert.ok(m.metrics.database_connections >= 1);
      assert.ok(m.performance.avg_response_time > 0);
      assert.ok(m.performance.p95_response_time >= m.performance.avg_response_time * 0.5);
      assert.ok(m.performance.requests_per_second > 0);
      assert.equal(m.performance.error_rate, 0);
    });

    test('audit logs: merged sources, date window (end day inclusive), category filter, paging, isolation', async () => {
      const c = await createClient(t().app);
      const other = await createClient(t().app);
      const u = await user(c, 'A1');
      const log = async (client: TestClient, category: string, action: string, at: string) =>
        db()
          .insertInto('audit_logs')
          .values({ id: crypto.randomUUID(), client_id: client.client_id, category, action, actor: 'admin', target: 'x', details: JSON.stringify({ k: 1 }), ip: '10.0.0.9', created_at: new Date(at) })
          .execute();
      await log(c, 'configuration', 'client.updated', '2024-01-05T10:00:00Z');
      await log(c, 'data_access', 'user.exported', '2024-01-31T23:30:00Z');
      await log(c, 'security', 'rate_limit_exceeded', '2024-02-01T00:00:00Z'); // just outside
      await log(c, 'api_access', 'GET /api/clients/users/', '2023-12-31T23:59:59Z'); // just outside
      await log(other, 'configuration', 'client.updated', '2024-01-10T10:00:00Z');
      await attempt(c, { user: u, outcome: 'failed', reason: 'LOW_CONFIDENCE', confidence: 0.4, at: new Date('2024-01-15T08:00:00Z') });
      await attempt(other, { at: new Date('2024-01-15T08:00:00Z') });
      await enrollment(c, u, new Date('2024-01-02T08:00:00Z'));
      await db()
        .insertInto('events')
        .values({ id: crypto.randomUUID(), client_id: c.client_id, event_type: 'liveness.failed', payload: JSON.stringify({ user_id: 'A1', reason: 'STATIC_IMAGE' }), created_at: new Date('2024-01-20T08:00:00Z') })
        .execute();

      const res = await get(c, '/api/analytics/audit-logs/?start_date=2024-01-01&end_date=2024-01-31');
      assert.equal(res.statusCode, 200, res.body);
      const page = res.json();
      assert.equal(page.period, 'custom');
      assert.equal(page.start_date, '2024-01-01T00:00:00.000Z');
      assert.equal(page.end_date, '2024-02-01T00:00:00.000Z');
      assert.equal(page.count, 5);
      assert.deepEqual(
        page.results.map((r: { category: string; action: string }) => `${r.category}:${r.action}`),
        ['face_data_access:user.exported', 'security:liveness.failed', 'authentication:authentication.failed', 'configuration:client.updated', 'enrollment:enrollment.completed'],
      );
      const auth = page.results[2];
      assert.equal(auth.target, 'A1');
      assert.equal(auth.source, 'auth_attempts');
      assert.equal(auth.details.failure_reason, 'LOW_CONFIDENCE');
      assert.equal(auth.details.user_id, u);
      assert.equal(page.results[3].details.k, 1);
      assert.equal(page.results[3].ip, '10.0.0.9');

      const filtered = (await get(c, '/api/analytics/audit-logs/?start_date=2024-01-01&end_date=2024-01-31&category=face_data_access')).json();
      assert.deepEqual(filtered.results.map((r: { action: string }) => r.action), ['user.exported']);
      assert.equal(filtered.category, 'face_data_access');
      const byType = (await get(c, '/api/analytics/audit-logs/?start_date=2024-01-01&end_date=2024-01-31&type=enrollment')).json();
      assert.deepEqual(byType.results.map((r: { action: string }) => r.action), ['enrollment.completed']);

      const p2 = (await get(c, '/api/analytics/audit-logs/?start_date=2024-01-01&end_date=2024-01-31&page=2&page_size=2')).json();
      assert.equal(p2.count, 5);
      assert.equal(p2.total_pages, 3);
      assert.deepEqual(p2.results.map((r: { action: string }) => r.action), ['authentication.failed', 'client.updated']);

      // API-access entries written by the auth hook appear in the default (last 30 days) window.
      await t().container.foundation.audit.flush();
      const recent = (await get(c, '/api/analytics/audit-logs/?category=api_access')).json();
      assert.ok(recent.results.some((r: { action: string }) => r.action === 'GET /api/analytics/audit-logs/'), JSON.stringify(recent.results));
      assert.ok(recent.results.every((r: { actor: string }) => r.actor?.startsWith('key:')));
    });

    test('audit logs: a walk by next_cursor returns every entry that existed when it started exactly once, while entries arrive and go', async () => {
      const c = await createClient(t().app);
      const u = await user(c, 'W1');
      const log = (category: string, action: string, at: Date) =>
        db()
          .insertInto('audit_logs')
          .values({ id: crypto.randomUUID(), client_id: c.client_id, category, action, actor: 'admin', target: 'x', details: '{}', ip: null, created_at: at })
          .execute();
      // Eleven entries of the four sources; six share one instant (three of them in audit_logs), so page
      // boundaries fall inside the tie, which needs a total order (timestamp, source, id).
      const tie = ago(30 * MIN);
      await log('configuration', 'client.updated', ago(10 * MIN));
      await attempt(c, { user: u, at: ago(20 * MIN) });
      for (const action of ['key.created', 'key.rotated', 'key.revoked']) await log('configuration', action, tie);
      await attempt(c, { user: u, outcome: 'failed', at: tie });
      await enrollment(c, u, tie);
      await db()
        .insertInto('events')
        .values({ id: crypto.randomUUID(), client_id: c.client_id, event_type: 'liveness.failed', payload: JSON.stringify({ user_id: 'W1' }), created_at: tie })
        .execute();
      await log('data_access', 'user.exported', ago(40 * MIN));
      await enrollment(c, u, ago(50 * MIN));
      await attempt(c, { user: u, at: ago(60 * MIN) });

      type Entry = { id: string; source: string; timestamp: string; action: string };
      const key = (r: Entry) => `${r.source}:${r.id}`;
      const first = await get(c, '/api/analytics/audit-logs/?page_size=3');
      assert.equal(first.statusCode, 200, first.body);
      const p1 = first.json();
      assert.equal(p1.count, 12, 'the eleven and the client.created entry');
      assert.equal(p1.page, 1);
      assert.equal(typeof p1.next_cursor, 'string');
      const atStart = p1.end_date as string;
      const walked: Entry[] = [...p1.results];
      let cursor: string | null = p1.next_cursor;
      let pages = 1;
      while (cursor) {
        // New entries keep arriving on top (an attempt now; each request adds its own API-access entry), and
        // an entry already read goes (retention): offsets shifted by both, repeating and skipping entries.
        await attempt(c, { user: u, at: new Date() });
        if (pages === 1) await db().deleteFrom('audit_logs').where('client_id', '=', c.client_id).where('action', '=', 'client.updated').execute();
        const res = await get(c, `/api/analytics/audit-logs/?page_size=3&cursor=${encodeURIComponent(cursor)}`);
        assert.equal(res.statusCode, 200, res.body);
        const p = res.json();
        pages += 1;
        assert.equal(p.page, pages);
        assert.equal(p.count, 12);
        assert.equal(p.total_pages, 4);
        assert.deepEqual([p.period, p.start_date, p.end_date, p.category], [p1.period, p1.start_date, p1.end_date, null]);
        assert.ok(p.results.length > 0 && p.results.length <= 3);
        walked.push(...p.results);
        cursor = p.next_cursor;
        assert.ok(pages < 10, 'the walk ends');
      }
      assert.equal(pages, 4);
      const keys = walked.map(key);
      assert.equal(new Set(keys).size, keys.length, `an entry came twice: ${keys.join(' ')}`);
      assert.equal(keys.length, 12, 'every entry of the start of the walk, none skipped');
      assert.ok(walked.every((r) => r.timestamp < atStart), 'nothing newer than the walk');
      // Newest first, ties in one fixed order.
      const sorted = [...walked].sort((a, b) => (b.timestamp.localeCompare(a.timestamp) || (b.source < a.source ? -1 : b.source > a.source ? 1 : 0) || (b.id < a.id ? -1 : 1)));
      assert.deepEqual(keys, sorted.map(key));
      assert.deepEqual(
        walked.filter((r) => r.timestamp === tie.toISOString()).map((r) => r.source),
        ['events', 'enrollments', 'auth_attempts', 'audit_logs', 'audit_logs', 'audit_logs'],
      );

      // Plain page/page_size paging still answers, and with a cursor per page: page 2 (offset) hands on to keyset.
      const byPage = (await get(c, `/api/analytics/audit-logs/?page=2&page_size=3&start_date=${p1.start_date}&end_date=${encodeURIComponent(atStart)}`)).json();
      assert.equal(byPage.page, 2);
      const onward = (await get(c, `/api/analytics/audit-logs/?page_size=3&cursor=${encodeURIComponent(byPage.next_cursor)}`)).json();
      assert.equal(onward.page, 3);
      assert.ok(!onward.results.some((r: Entry) => byPage.results.some((b: Entry) => key(b) === key(r))));

      // A filtered walk stays filtered; the cursor knows its category.
      const auth1 = (await get(c, '/api/analytics/audit-logs/?category=authentication&page_size=2')).json();
      const auth2 = (await get(c, `/api/analytics/audit-logs/?page_size=2&cursor=${encodeURIComponent(auth1.next_cursor)}`)).json();
      assert.equal(auth2.category, 'authentication');
      assert.ok([...auth1.results, ...auth2.results].every((r: { category: string }) => r.category === 'authentication'));
      const conflict = await get(c, `/api/analytics/audit-logs/?category=security&cursor=${encodeURIComponent(auth1.next_cursor)}`);
      assert.equal(conflict.statusCode, 400, conflict.body);
      assert.equal(conflict.json().details.field, 'category');

      // A cursor that is not one: 400 VALIDATION_ERROR naming the field, never a 500 or an unbounded window.
      const forge = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const real = JSON.parse(Buffer.from(p1.next_cursor, 'base64url').toString());
      for (const bad of [
        'garbage',
        forge({ ...real, v: 99 }),
        forge({ ...real, s: '2000-01-01T00:00:00.000Z' }),
        forge({ ...real, k: { ...real.k, id: "1' OR '1'='1" } }),
        forge({ ...real, k: { ...real.k, source: 'users' } }),
        forge({ ...real, k: { ...real.k, at: '2026-13-40T00:00:00.000000Z' } }),
        forge([1, 2]),
      ]) {
        const res = await get(c, `/api/analytics/audit-logs/?cursor=${encodeURIComponent(bad)}`);
        assert.equal(res.statusCode, 400, `${bad}: ${res.body}`);
        assert.equal(res.json().code, 'VALIDATION_ERROR');
        assert.equal(res.json().details.field, 'cursor', res.body);
      }
    });
  });
}

// A report over a large history is cancelled by PostgreSQL instead of holding a connection and its CPU for
// minutes (the embedded database cannot interrupt a statement; its bound is the 366-day window).
if (backendNames().includes('postgres')) {
  describe('analytics query timeout [postgres]', () => {
    const t = useTestApp('postgres', { env: { WAJAH_ANALYTICS_TIMEOUT_MS: '1' } });

    test('a report that runs past WAJAH_ANALYTICS_TIMEOUT_MS is 503 QUERY_TIMEOUT; the server keeps answering', async () => {
      const c = await createClient(t().app);
      // 300 000 attempts in the last year: counting them takes PostgreSQL well over 1 ms.
      await sql`
        INSERT INTO auth_attempts (id, client_id, mode, outcome, processing_ms, created_at)
        SELECT gen_random_uuid(), ${c.client_id}::uuid, 'verification', CASE WHEN g % 3 = 0 THEN 'failed' ELSE 'success' END, g % 500,
               now() - (g % 360) * interval '1 day' - (g % 86400) * interval '1 second'
        FROM generate_series(1, 300000) g`.execute(t().container.database.db);
      const res = await as(t().app, c, { method: 'GET', url: '/api/analytics/dashboard/?period=last_90_days' });
      assert.equal(res.statusCode, 503, res.body);
      assert.equal(res.json().code, 'QUERY_TIMEOUT');
      assert.equal(res.json().details.timeout_ms, 1);
      // Only the report was cancelled: the connection went back to the pool and other calls work.
      const status = await as(t().app, c, { method: 'GET', url: '/api/core/status/' });
      assert.equal(status.statusCode, 200, status.body);
    });
  });
}
