import { sql, type Kysely, type QueryResult, type RawBuilder } from 'kysely';
import { appError } from '../../errors.ts';
import type { Database } from '../schema.ts';

/**
 * Read-only aggregate queries for analytics (M1–M6). Every query filters on client_id in its own
 * SQL; windows are half-open [start, end). Counts are cast to int and averages to float8 so both
 * drivers return plain numbers. Portable to PGlite and PostgreSQL ≥ 12 (FILTER, width_bucket,
 * window functions; no date_bin).
 */
export interface Range {
  start: Date;
  end: Date;
}

export interface AttemptSummary {
  total: number;
  successes: number;
  avg_ms: number | null;
  unique_users: number;
}

export interface AttemptBucket {
  bucket: number;
  authentications: number;
  successes: number;
  failures: number;
  avg_ms: number | null;
  /** Attempts with a processing_ms (the ones avg_ms is the mean of; the column is nullable). */
  timed: number;
  liveness_failures: number;
  avg_confidence: number | null;
  low_confidence_failures: number;
}

export interface Histogram {
  bin: number;
  count: number;
}

export interface AuditFeedRow {
  id: string;
  source: AuditFeedSource;
  category: string;
  action: string;
  actor: string | null;
  target: string | null;
  details: Record<string, unknown> | string;
  ip: string | null;
  created_at: Date;
  /** created_at to the microsecond, UTC (the row's AuditFeedPosition.at). */
  at: string;
}

/** Audit-feed categories (the API's names) and what feeds each. */
export const AUDIT_CATEGORIES = ['enrollment', 'authentication', 'configuration', 'security', 'api_access', 'face_data_access'] as const;
export type AuditFeedCategory = (typeof AUDIT_CATEGORIES)[number];

/** The tables merged into the audit feed; the feed's order breaks timestamp ties by these names (byte order). */
export const AUDIT_FEED_SOURCES = ['audit_logs', 'auth_attempts', 'enrollments', 'events'] as const;
export type AuditFeedSource = (typeof AUDIT_FEED_SOURCES)[number];

/**
 * A place in the audit feed, whose order is (created_at, source, id) descending: a total order, since
 * ids are unique within a source. `at` is created_at to the microsecond (the databases' precision;
 * a JavaScript Date would round ties apart), e.g. '2024-01-31T23:30:00.123456Z'.
 */
export interface AuditFeedPosition {
  at: string;
  source: AuditFeedSource;
  id: string;
}

/** Where a page of the feed starts: after `offset` entries (page/page_size), or right after an entry (keyset). */
export type AuditFeedFrom = { offset: number } | { after: AuditFeedPosition };

/** The last instant the databases and the query parameters share (end of 9999, UTC). */
const LAST_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
/** A bound of a query window; one reaching past 9999 (a window ending on its last day, plus a margin) is held at its end. */
const ts = (d: Date) => sql`${new Date(Math.min(d.getTime(), LAST_MS)).toISOString()}::timestamptz`;

export class AnalyticsRepository {
  private readonly db: Kysely<Database>;
  private readonly timeoutMs: number;
  /** `statementTimeoutMs`: each query is cancelled after this long (0: never), see #run. */
  constructor(db: Kysely<Database>, opts: { statementTimeoutMs?: number } = {}) {
    this.db = db;
    this.timeoutMs = opts.statementTimeoutMs ?? 0;
  }

  /**
   * Runs one read under a statement timeout (set_config(…, is_local) in its own transaction): a tenant's
   * year-long window over millions of attempts must not hold a database connection and its CPU for
   * minutes on a server other tenants share. A cancelled query is 503 QUERY_TIMEOUT (ask for a shorter
   * window). Not used on the embedded database (it cannot interrupt a running statement, so the extra
   * transaction would buy nothing): there the 366-day window is the bound.
   */
  async #run<T>(query: RawBuilder<T>): Promise<QueryResult<T>> {
    if (!this.timeoutMs) return query.execute(this.db);
    try {
      return await this.db.transaction().execute(async (trx) => {
        await sql`SELECT set_config('statement_timeout', ${String(this.timeoutMs)}, true)`.execute(trx);
        return query.execute(trx);
      });
    } catch (e) {
      if ((e as { code?: string }).code === '57014') {
        throw appError('QUERY_TIMEOUT', `The analytics query ran longer than ${this.timeoutMs} ms; ask for a shorter window`, { timeout_ms: this.timeoutMs });
      }
      throw e;
    }
  }

  async attemptSummary(clientId: string, r: Range): Promise<AttemptSummary> {
    const { rows } = await this.#run(sql<AttemptSummary>`
      SELECT count(*)::int AS total,
             (count(*) FILTER (WHERE outcome = 'success'))::int AS successes,
             avg(processing_ms)::float8 AS avg_ms,
             (count(DISTINCT user_id) FILTER (WHERE outcome = 'success'))::int AS unique_users
      FROM auth_attempts
      WHERE client_id = ${clientId} AND created_at >= ${ts(r.start)} AND created_at < ${ts(r.end)}`);
    return rows[0];
  }

  /**
   * Most sessions open at the same moment within the window. A session is open from created_at
   * until it ends: expires_at while still active, else the earlier of its last update (completion)
   * and expires_at. Sweep: +1 at each start, −1 at each end (ends first on ties), running sum.
   */
  async peakConcurrentSessions(clientId: string, r: Range): Promise<number> {
    const { rows } = await this.#run(sql<{ peak: number }>`
      WITH s AS (
        SELECT greatest(created_at, ${ts(r.start)}) AS s,
               least(CASE WHEN status = 'active' THEN expires_at ELSE least(updated_at, expires_at) END, ${ts(r.end)}) AS e
        FROM sessions
        WHERE client_id = ${clientId} AND created_at < ${ts(r.end)} AND expires_at > ${ts(r.start)}
      ), ev AS (
        SELECT s AS t, 1 AS d FROM s WHERE e > s
        UNION ALL
        SELECT e AS t, -1 AS d FROM s WHERE e > s
      )
      SELECT coalesce(max(c), 0)::int AS peak
      FROM (SELECT sum(d) OVER (ORDER BY t, d ROWS UNBOUNDED PRECEDING) AS c FROM ev) x`);
    return rows[0]?.peak ?? 0;
  }

  async activeSessions(clientId: string, now: Date): Promise<number> {
    const { rows } = await this.#run(sql<{ n: number }>`
      SELECT count(*)::int AS n FROM sessions
      WHERE client_id = ${clientId} AND status = 'active' AND expires_at > ${ts(now)}`);
    return rows[0]?.n ?? 0;
  }

  /** Attempts grouped into buckets of sizeMs counted from origin (bucket 0 starts at origin). */
  async attemptBuckets(clientId: string, r: Range, origin: Date, sizeMs: number): Promise<AttemptBucket[]> {
    const { rows } = await this.#run(sql<AttemptBucket>`
      SELECT ${bucketExpr('created_at', origin, sizeMs)} AS bucket,
             count(*)::int AS authentications,
             (count(*) FILTER (WHERE outcome = 'success'))::int AS successes,
             (count(*) FILTER (WHERE outcome = 'failed'))::int AS failures,
             avg(processing_ms)::float8 AS avg_ms,
             count(processing_ms)::int AS timed,
             (count(*) FILTER (WHERE failure_reason = 'LIVENESS_FAILED'))::int AS liveness_failures,
             (avg(confidence) FILTER (WHERE outcome = 'success'))::float8 AS avg_confidence,
             (count(*) FILTER (WHERE failure_reason = 'LOW_CONFIDENCE'))::int AS low_confidence_failures
      FROM auth_attempts
      WHERE client_id = ${clientId} AND created_at >= ${ts(r.start)} AND created_at < ${ts(r.end)}
      GROUP BY 1`);
    return rows;
  }

  /** Row counts per bucket of enrollments or new users. */
  async createdBuckets(table: 'enrollments' | 'users', clientId: string, r: Range, origin: Date, sizeMs: number): Promise<Array<{ bucket: number; n: number }>> {
    const { rows } = await this.#run(sql<{ bucket: number; n: number }>`
      SELECT ${bucketExpr('created_at', origin, sizeMs)} AS bucket, count(*)::int AS n
      FROM ${sql.table(table)}
      WHERE client_id = ${clientId} AND created_at >= ${ts(r.start)} AND created_at < ${ts(r.end)}
      GROUP BY 1`);
    return rows;
  }

  async createdCount(table: 'enrollments' | 'users', clientId: string, r: Range): Promise<number> {
    const { rows } = await this.#run(sql<{ n: number }>`
      SELECT count(*)::int AS n FROM ${sql.table(table)}
      WHERE client_id = ${clientId} AND created_at >= ${ts(r.start)} AND created_at < ${ts(r.end)}`);
    return rows[0]?.n ?? 0;
  }

  /** Attempts by UTC hour of day (0–23) or day of week (0 = Sunday). */
  async attemptsByTimeOfDay(clientId: string, r: Range, part: 'hour' | 'dow'): Promise<Array<{ k: number; total: number; successes: number }>> {
    const field = part === 'hour' ? sql`hour` : sql`dow`;
    const { rows } = await this.#run(sql<{ k: number; total: number; successes: number }>`
      SELECT extract(${field} FROM created_at AT TIME ZONE 'UTC')::int AS k,
             count(*)::int AS total,
             (count(*) FILTER (WHERE outcome = 'success'))::int AS successes
      FROM auth_attempts
      WHERE client_id = ${clientId} AND created_at >= ${ts(r.start)} AND created_at < ${ts(r.end)}
      GROUP BY 1`);
    return rows;
  }

  async mostActiveUsers(
    clientId: string,
    r: Range,
    limit: number,
  ): Promise<Array<{ id: string; external_id: string; name: string; count: number; successes: number; last_attempt: Date }>> {
    const { rows } = await this.#run(sql<{ id: string; external_id: string; name: string; count: number; successes: number; last_attempt: Date }>`
      SELECT u.id, u.external_id, u.name, count(*)::int AS count,
             (count(*) FILTER (WHERE a.outcome = 'success'))::int AS successes,
             max(a.created_at) AS last_attempt
      FROM auth_attempts a
      JOIN users u ON u.id = a.user_id AND u.client_id = a.client_id
      WHERE a.client_id = ${clientId} AND a.created_at >= ${ts(r.start)} AND a.created_at < ${ts(r.end)}
      GROUP BY u.id, u.external_id, u.name
      ORDER BY count(*) DESC, u.external_id
      LIMIT ${limit}`);
    return rows;
  }

  /**
   * Attempt counts of the `limit` most frequent User-Agent strings, and the number of all attempts of the
   * window (`total`, from the same statement), so the caller can account for the strings left out.
   */
  async userAgents(clientId: string, r: Range, limit: number, classifiedChars: number): Promise<{ groups: Array<{ user_agent: string | null; n: number }>; total: number }> {
    // sum() OVER () is taken before LIMIT: every attempt of the window, not only the listed strings'.
    // Grouped by the part the classifier reads (`classifiedChars`): up to 1000 headers of 16 KB each were
    // sent over for nothing, and strings differing only after it are one agent to the report anyway.
    const { rows } = await this.#run(sql<{ user_agent: string | null; n: number; total: number }>`
      SELECT left(user_agent, ${classifiedChars}) AS user_agent, count(*)::int AS n, (sum(count(*)) OVER ())::int AS total
      FROM auth_attempts
      WHERE client_id = ${clientId} AND created_at >= ${ts(r.start)} AND created_at < ${ts(r.end)}
      GROUP BY 1
      ORDER BY n DESC, user_agent
      LIMIT ${limit}`);
    return { groups: rows.map(({ user_agent, n }) => ({ user_agent, n })), total: rows[0]?.total ?? 0 };
  }

  async failureReasons(clientId: string, r: Range): Promise<Array<{ reason: string; n: number }>> {
    const { rows } = await this.#run(sql<{ reason: string; n: number }>`
      SELECT coalesce(failure_reason, 'UNKNOWN') AS reason, count(*)::int AS n
      FROM auth_attempts
      WHERE client_id = ${clientId} AND outcome = 'failed' AND created_at >= ${ts(r.start)} AND created_at < ${ts(r.end)}
      GROUP BY 1
      ORDER BY n DESC, reason`);
    return rows;
  }

  async attemptsByMode(clientId: string, r: Range): Promise<Array<{ mode: string; total: number; successes: number }>> {
    const { rows } = await this.#run(sql<{ mode: string; total: number; successes: number }>`
      SELECT mode, count(*)::int AS total, (count(*) FILTER (WHERE outcome = 'success'))::int AS successes
      FROM auth_attempts
      WHERE client_id = ${clientId} AND created_at >= ${ts(r.start)} AND created_at < ${ts(r.end)}
      GROUP BY mode
      ORDER BY mode`);
    return rows;
  }

  /**
   * Histogram of a 0..1 score in `bins` equal bins (bin 1..bins; values ≥ 1 go to the last bin).
   * Scores are `real`: rounded to 4 decimals first so 0.9 (stored 0.89999998) lands in [0.9, 1).
   * `where` narrows to successes or failures.
   */
  async scoreHistogram(
    table: 'auth_attempts' | 'enrollments',
    column: 'confidence' | 'quality_score' | 'liveness_score',
    clientId: string,
    r: Range,
    bins: number,
    outcome?: 'success' | 'failed',
  ): Promise<Histogram[]> {
    const col = sql.ref(column);
    const only = outcome ? sql`AND outcome = ${outcome}` : sql``;
    const { rows } = await this.#run(sql<Histogram>`
      SELECT least(greatest(width_bucket(round(${col}::numeric, 4)::float8, 0, 1, ${bins}), 1), ${bins})::int AS bin, count(*)::int AS count
      FROM ${sql.table(table)}
      WHERE client_id = ${clientId} AND ${col} IS NOT NULL AND created_at >= ${ts(r.start)} AND created_at < ${ts(r.end)} ${only}
      GROUP BY 1`);
    return rows;
  }

  async scoreStats(
    table: 'auth_attempts' | 'enrollments',
    column: 'confidence' | 'quality_score',
    clientId: string,
    r: Range,
  ): Promise<{ n: number; avg: number | null; p50: number | null; p95: number | null }> {
    const col = sql.ref(column);
    const { rows } = await this.#run(sql<{ n: number; avg: number | null; p50: number | null; p95: number | null }>`
      SELECT count(${col})::int AS n, avg(${col})::float8 AS avg,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY ${col})::float8 AS p50,
             percentile_cont(0.95) WITHIN GROUP (ORDER BY ${col})::float8 AS p95
      FROM ${sql.table(table)}
      WHERE client_id = ${clientId} AND created_at >= ${ts(r.start)} AND created_at < ${ts(r.end)}`);
    return rows[0];
  }

  /** Liveness outcomes: attempts that ran a liveness check (liveness_score set) and those it failed. */
  async liveness(clientId: string, r: Range): Promise<{ checks: number; failed: number; avg_score: number | null; avg_failed_score: number | null }> {
    const { rows } = await this.#run(sql<{ checks: number; failed: number; avg_score: number | null; avg_failed_score: number | null }>`
      SELECT (count(*) FILTER (WHERE liveness_score IS NOT NULL OR failure_reason = 'LIVENESS_FAILED'))::int AS checks,
             (count(*) FILTER (WHERE failure_reason = 'LIVENESS_FAILED'))::int AS failed,
             avg(liveness_score)::float8 AS avg_score,
             (avg(liveness_score) FILTER (WHERE failure_reason = 'LIVENESS_FAILED'))::float8 AS avg_failed_score
      FROM auth_attempts
      WHERE client_id = ${clientId} AND created_at >= ${ts(r.start)} AND created_at < ${ts(r.end)}`);
    return rows[0];
  }

  /**
   * Verification rejections for low confidence, and how many of them the same user followed with a
   * successful verification within `retryMs` (a likely false reject: the genuine user tried again).
   */
  async lowConfidenceRejections(clientId: string, r: Range, retryMs: number): Promise<{ verifications: number; rejected: number; retried_ok: number }> {
    const { rows } = await this.#run(sql<{ verifications: number; rejected: number; retried_ok: number }>`
      WITH a AS (
        SELECT outcome, failure_reason, created_at,
               lead(outcome) OVER w AS next_outcome,
               lead(created_at) OVER w AS next_at
        FROM auth_attempts
        WHERE client_id = ${clientId} AND mode = 'verification' AND user_id IS NOT NULL
          AND created_at >= ${ts(r.start)} AND created_at < ${ts(new Date(r.end.getTime() + retryMs))}
        WINDOW w AS (PARTITION BY user_id ORDER BY created_at, id)
      )
      SELECT count(*)::int AS verifications,
             (count(*) FILTER (WHERE failure_reason = 'LOW_CONFIDENCE'))::int AS rejected,
             (count(*) FILTER (WHERE failure_reason = 'LOW_CONFIDENCE' AND next_outcome = 'success'
                                 AND next_at <= created_at + ${retryMs / 1000}::float8 * interval '1 second'))::int AS retried_ok
      FROM a
      WHERE created_at < ${ts(r.end)}`);
    return rows[0];
  }

  /**
   * One chronological feed over audit_logs, auth_attempts, enrollments and the events outbox
   * (enrollment.failed, liveness.failed), newest first. Only the sources of the requested
   * categories are queried. One page of it, and whether entries follow it (`more`). From an
   * offset the page costs offset + limit rows per source; after a position (keyset) only limit rows per
   * source, each an index range scan that starts at the position, however deep the walk is, and entries
   * that arrive or go meanwhile shift nothing. `total` (the window's count, a scan of the window) only
   * when asked for.
   */
  async auditFeed(
    clientId: string,
    r: Range,
    categories: readonly AuditFeedCategory[],
    limit: number,
    from: AuditFeedFrom,
    opts: { count: boolean },
  ): Promise<{ total: number | null; rows: AuditFeedRow[]; more: boolean }> {
    const after = 'after' in from ? from.after : null;
    const offset = 'offset' in from ? from.offset : 0;
    const parts = feedSources(clientId, r, new Set(categories), after);
    if (!parts.length) return { total: opts.count ? 0 : null, rows: [], more: false };
    // One row past the page tells whether another page follows.
    const take = limit + 1;
    // Each source contributes at most its newest offset+take rows (index scans on client_id, created_at),
    // so a page never sorts a whole month of API-access entries. 9 = created_at, 1 = id.
    const top = sql.join(
      parts.map((p) => sql`(${p.query} ORDER BY 9 DESC, 1 DESC LIMIT ${offset + take})`),
      sql` UNION ALL `,
    );
    // Ties on created_at are broken by source (byte order, whatever the database's collation) and id: a
    // total order, which keyset paging needs. `at` keeps the microseconds for the position of a row.
    const page = this.#run(sql<AuditFeedRow>`
      SELECT f.*, to_char(f.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at
      FROM (${top}) f
      ORDER BY f.created_at DESC, f.source COLLATE "C" DESC, f.id DESC
      LIMIT ${take} OFFSET ${offset}`);
    const count = opts.count
      ? this.#run(sql<{ n: number }>`SELECT count(*)::int AS n FROM (${sql.join(parts.map((p) => p.inWindow), sql` UNION ALL `)}) f`)
      : null;
    const [rows, counted] = await Promise.all([page, count]);
    return { total: counted ? (counted.rows[0]?.n ?? 0) : null, rows: rows.rows.slice(0, limit), more: rows.rows.length > limit };
  }
}

function bucketExpr(column: string, origin: Date, sizeMs: number): RawBuilder<number> {
  return sql<number>`floor((extract(epoch FROM ${sql.ref(column)})::float8 - ${origin.getTime() / 1000}::float8) / ${sizeMs / 1000}::float8)::int`;
}

/**
 * The audit feed's sources, each a SELECT of the same columns over the window (`inWindow`, for the count)
 * and, for the page, from `after` on: the entries that follow it in (created_at, source, id) descending
 * order. Per source that is one bound on the index: a source after the position's own (byte order) holds
 * only older entries, one before it also the position's instant, its own the rows below (created_at, id).
 */
function feedSources(clientId: string, r: Range, want: Set<AuditFeedCategory>, after: AuditFeedPosition | null) {
  const parts: Array<{ inWindow: RawBuilder<unknown>; query: RawBuilder<unknown> }> = [];
  const inRange = (alias: string) => sql`${sql.ref(`${alias}.client_id`)} = ${clientId} AND ${sql.ref(`${alias}.created_at`)} >= ${ts(r.start)} AND ${sql.ref(`${alias}.created_at`)} < ${ts(r.end)}`;
  const from = (alias: string, source: AuditFeedSource) => {
    if (!after) return sql``;
    const at = sql`${after.at}::timestamptz`;
    const created = sql.ref(`${alias}.created_at`);
    if (source === after.source) return sql` AND ${created} <= ${at} AND (${created}, ${sql.ref(`${alias}.id`)}) < (${at}, ${after.id}::uuid)`;
    return source < after.source ? sql` AND ${created} <= ${at}` : sql` AND ${created} < ${at}`;
  };
  const add = (alias: string, source: AuditFeedSource, select: (where: RawBuilder<unknown>) => RawBuilder<unknown>) =>
    parts.push({ inWindow: select(inRange(alias)), query: select(sql`${inRange(alias)}${from(alias, source)}`) });
  // audit_logs stores 'data_access'; the API calls it face_data_access.
  const logged = (['configuration', 'security', 'api_access', 'face_data_access', 'enrollment', 'authentication'] as const).filter((c) => want.has(c));
  if (logged.length) {
    const stored = logged.map((c) => (c === 'face_data_access' ? 'data_access' : c));
    add('l', 'audit_logs', (where) => sql`
      SELECT l.id, 'audit_logs' AS source,
             CASE WHEN l.category = 'data_access' THEN 'face_data_access' ELSE l.category END AS category,
             l.action, l.actor, l.target, l.details, l.ip, l.created_at
      FROM audit_logs l
      WHERE ${where} AND l.category IN (${sql.join(stored)})`);
  }
  if (want.has('authentication')) {
    add('a', 'auth_attempts', (where) => sql`
      SELECT a.id, 'auth_attempts' AS source, 'authentication' AS category,
             'authentication.' || a.outcome AS action, NULL::text AS actor, u.external_id AS target,
             jsonb_strip_nulls(jsonb_build_object(
               'user_id', a.user_id, 'session_id', a.session_id, 'mode', a.mode, 'outcome', a.outcome,
               'failure_reason', a.failure_reason, 'confidence', a.confidence, 'liveness_score', a.liveness_score,
               'quality_score', a.quality_score, 'processing_ms', a.processing_ms, 'user_agent', a.user_agent)) AS details,
             a.ip, a.created_at
      FROM auth_attempts a LEFT JOIN users u ON u.id = a.user_id AND u.client_id = a.client_id
      WHERE ${where}`);
  }
  if (want.has('enrollment')) {
    // The tenant in the join too: without it PostgreSQL hashed every tenant's users (Seq Scan on users).
    add('e', 'enrollments', (where) => sql`
      SELECT e.id, 'enrollments' AS source, 'enrollment' AS category,
             'enrollment.completed' AS action, NULL::text AS actor, u.external_id AS target,
             jsonb_strip_nulls(jsonb_build_object(
               'enrollment_id', e.id, 'user_id', e.user_id, 'session_id', e.session_id, 'source', e.source, 'model_id', e.model_id,
               'quality_score', e.quality_score, 'face_count', e.face_count, 'average_confidence', e.average_confidence, 'angles', e.angles)) AS details,
             NULL::text AS ip, e.created_at
      FROM enrollments e JOIN users u ON u.id = e.user_id AND u.client_id = e.client_id
      WHERE ${where}`);
  }
  const events = [...(want.has('enrollment') ? ['enrollment.failed'] : []), ...(want.has('security') ? ['liveness.failed'] : [])];
  if (events.length) {
    add('v', 'events', (where) => sql`
      SELECT v.id, 'events' AS source,
             CASE WHEN v.event_type = 'liveness.failed' THEN 'security' ELSE 'enrollment' END AS category,
             v.event_type AS action, NULL::text AS actor, v.payload->>'user_id' AS target, v.payload AS details,
             NULL::text AS ip, v.created_at
      FROM events v
      WHERE ${where} AND v.event_type IN (${sql.join(events)})`);
  }
  return parts;
}
