import { Type } from '@sinclair/typebox';
import { DateTime, Nullable, PageQuery, PageSchema } from './common.schemas.ts';

// Spelled out (not mapped from PERIODS / AUDIT_CATEGORIES) so the type provider infers the literals;
// the test checks they agree.
export const PeriodName = Type.Union(
  [Type.Literal('today'), Type.Literal('last_24_hours'), Type.Literal('last_7_days'), Type.Literal('last_30_days'), Type.Literal('last_90_days')],
  { description: 'Named window ending now (UTC). Default depends on the endpoint.' },
);
const categoryLiterals = () => [
  Type.Literal('enrollment'),
  Type.Literal('authentication'),
  Type.Literal('configuration'),
  Type.Literal('security'),
  Type.Literal('api_access'),
  Type.Literal('face_data_access'),
];
export const AuditCategory = Type.Union(categoryLiterals(), { description: 'Log type' });

const Granularity = Type.Union([Type.Literal('hour'), Type.Literal('day')], { description: 'Bucket size' });
const Rate = Type.Number({ minimum: 0, maximum: 1 });
const NullableRate = Nullable(Rate);
const Count = Type.Integer({ minimum: 0 });

export const PeriodQuery = Type.Object({
  period: Type.Optional(PeriodName),
  start_date: Type.Optional(Type.String({ maxLength: 40, description: 'YYYY-MM-DD (UTC) or ISO date-time; instead of period' })),
  end_date: Type.Optional(Type.String({ maxLength: 40, description: 'YYYY-MM-DD (inclusive day) or ISO date-time (exclusive); default now' })),
});

const WindowFields = {
  period: Type.String({ description: 'The period name, or "custom" for start_date/end_date' }),
  start_date: DateTime,
  end_date: Type.String({ format: 'date-time', description: 'Exclusive end of the window' }),
};

export const Dashboard = Type.Object({
  period: Type.String(),
  metrics: Type.Object({
    total_authentications: Count,
    successful_rate: Rate,
    average_response_time: Type.Number({ description: 'Seconds (mean processing time of attempts)' }),
    unique_users: Count,
    peak_concurrent_sessions: Count,
  }),
  trends: Type.Object({
    authentications_trend: Nullable(Type.String({ description: 'Signed change against the previous window of equal length, e.g. "+12%"' })),
    success_rate_trend: Nullable(Type.String()),
    response_time_trend: Nullable(Type.String()),
  }),
});

const StatCounts = {
  authentications: Count,
  successes: Count,
  failures: Count,
  success_rate: NullableRate,
  average_response_time: Nullable(Type.Number({ description: 'Seconds' })),
  enrollments: Count,
  new_users: Count,
  liveness_failures: Count,
};

export const Statistics = Type.Object({
  ...WindowFields,
  granularity: Granularity,
  totals: Type.Object(StatCounts),
  series: Type.Array(Type.Object({ timestamp: DateTime, ...StatCounts })),
});

const Slot = { authentications: Count, successes: Count, success_rate: NullableRate };
const Share = Type.Object({ name: Type.String(), count: Count, share: Rate });

export const UserBehavior = Type.Object({
  ...WindowFields,
  timezone: Type.String(),
  time_patterns: Type.Object({
    by_hour_of_day: Type.Array(Type.Object({ hour: Type.Integer(), ...Slot })),
    by_day_of_week: Type.Array(Type.Object({ day: Type.Integer({ description: '0 = Sunday' }), name: Type.String(), ...Slot })),
    peak_hour: Nullable(Type.Integer()),
    peak_day: Nullable(Type.String()),
  }),
  most_active_users: Type.Array(
    Type.Object({ id: Type.String(), external_id: Type.String(), name: Type.String(), count: Count, successes: Count, last_attempt: DateTime }),
  ),
  devices: Type.Object({ browsers: Type.Array(Share), operating_systems: Type.Array(Share), device_types: Type.Array(Share) }),
  success_failure: Type.Object({
    total: Count,
    successes: Count,
    failures: Count,
    success_rate: NullableRate,
    failure_reasons: Type.Array(Type.Object({ reason: Type.String(), count: Count, share: Rate })),
    by_mode: Type.Array(Type.Object({ mode: Type.String(), total: Count, successes: Count, success_rate: NullableRate })),
  }),
  geography: Type.Object({
    available: Type.Boolean(),
    countries: Type.Array(Type.Object({ country: Type.String(), count: Count })),
    note: Type.String(),
  }),
});

export const SystemMetrics = Type.Object({
  timestamp: DateTime,
  metrics: Type.Object({
    cpu_usage: Rate,
    memory_usage: Rate,
    disk_usage: Rate,
    active_sessions: Count,
    queue_size: Count,
    database_connections: Count,
  }),
  performance: Type.Object({
    avg_response_time: Type.Number({ description: 'Seconds, last 5 minutes' }),
    p95_response_time: Type.Number({ description: 'Seconds, last 5 minutes' }),
    requests_per_second: Type.Number(),
    error_rate: Type.Number({ description: 'Share of 5xx responses, last 5 minutes' }),
  }),
});

const Bin = { min: Type.Number(), max: Type.Number() };
const Histogram = Type.Array(Type.Object({ ...Bin, count: Count }));
const Stats = { count: Count, average: Nullable(Type.Number()), median: Nullable(Type.Number()), p95: Nullable(Type.Number()) };

export const ModelPerformance = Type.Object({
  ...WindowFields,
  granularity: Granularity,
  accuracy_over_time: Type.Array(
    Type.Object({ timestamp: DateTime, authentications: Count, success_rate: NullableRate, average_confidence: Nullable(Type.Number()), low_confidence_failures: Count }),
  ),
  confidence_distribution: Type.Object({ ...Stats, histogram: Type.Array(Type.Object({ ...Bin, success: Count, failed: Count, count: Count })) }),
  error_rates: Type.Object({
    verification_attempts: Count,
    low_confidence_rejections: Count,
    low_confidence_rejection_rate: NullableRate,
    likely_false_rejects: Count,
    false_negative_rate: NullableRate,
    false_positive_rate: Type.Null(),
    retry_window_seconds: Type.Integer(),
    note: Type.String(),
  }),
  quality_distribution: Type.Object({
    authentication: Type.Object({ ...Stats, histogram: Histogram }),
    enrollment: Type.Object({ ...Stats, histogram: Histogram }),
  }),
  liveness: Type.Object({
    checks: Count,
    passed: Count,
    failed: Count,
    pass_rate: NullableRate,
    average_score: Nullable(Type.Number()),
    average_failed_score: Nullable(Type.Number()),
    histogram: Histogram,
  }),
});

export const AuditLogQuery = Type.Object({
  ...PeriodQuery.properties,
  category: Type.Optional(AuditCategory),
  type: Type.Optional(Type.Union(categoryLiterals(), { description: 'Alias of category' })),
  ...PageQuery,
  cursor: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 1000,
      description:
        "next_cursor of the previous page: continues that walk after its last entry, over page 1's window and category " +
        '(period, start_date, end_date and page are then not used). Each entry of the window as page 1 saw it comes exactly once, ' +
        'however many entries arrive or go meanwhile.',
    }),
  ),
});

const AuditEntry = Type.Object({
  id: Type.String(),
  timestamp: DateTime,
  category: Type.String(),
  action: Type.String({ description: 'e.g. authentication.failed, enrollment.completed, key.rotated, GET /api/clients/users/' }),
  actor: Nullable(Type.String({ description: "'admin', 'cli', 'key:<id>', 'system'" })),
  target: Nullable(Type.String({ description: 'user external_id, key, client id …' })),
  ip: Nullable(Type.String()),
  source: Type.String({ description: 'audit_logs, auth_attempts, enrollments or events' }),
  details: Type.Object({}, { additionalProperties: true }),
});

const page = PageSchema(AuditEntry, 'Audit log entries, newest first');
export const AuditLogPage = Type.Object({
  ...WindowFields,
  category: Nullable(Type.String()),
  ...page.properties,
  next_cursor: Nullable(
    Type.String({ description: 'Pass as cursor for the next page of this walk (window pinned, keyset: no entry twice or skipped); null on the last page' }),
  ),
});
