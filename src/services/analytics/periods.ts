import { appError } from '../../errors.ts';

/** Named reporting windows; every one ends "now". Custom windows come from start_date/end_date. */
export const PERIODS = ['today', 'last_24_hours', 'last_7_days', 'last_30_days', 'last_90_days'] as const;
export type PeriodName = (typeof PERIODS)[number];

const HOUR = 3_600_000;
/** The longest window of any report (a year and a day, so a leap year's calendar year fits). */
export const MAX_WINDOW_DAYS = 366;
const DAY = 24 * HOUR;
const LENGTH: Record<Exclude<PeriodName, 'today'>, number> = {
  last_24_hours: DAY,
  last_7_days: 7 * DAY,
  last_30_days: 30 * DAY,
  last_90_days: 90 * DAY,
};

export interface PeriodQuery {
  period?: PeriodName;
  start_date?: string;
  end_date?: string;
}

/** A half-open window [start, end) in UTC, with a window of equal length before it (trends). */
export interface Window {
  /** The period name, or 'custom' for start_date/end_date. */
  label: PeriodName | 'custom';
  start: Date;
  end: Date;
  previous: { start: Date; end: Date };
}

/**
 * Resolves `?period=` or `?start_date=&end_date=` to a window. Dates are `YYYY-MM-DD` (UTC days;
 * end_date inclusive: the whole day counts) or ISO date-times with a zone (end exclusive).
 *
 * @example resolveWindow({ start_date: '2024-01-01', end_date: '2024-01-31' }, 'last_30_days', now)
 *   // → [2024-01-01T00:00Z, 2024-02-01T00:00Z)
 */
export function resolveWindow(q: PeriodQuery, fallback: PeriodName, now: Date, opts: { maxDays?: number } = {}): Window {
  // Every window is bounded: a query over all of a tenant's history ran a count over every row and
  // held a connection of the pool shared with the other tenants.
  const maxDays = Math.min(opts.maxDays ?? MAX_WINDOW_DAYS, MAX_WINDOW_DAYS);
  const custom = q.start_date !== undefined || q.end_date !== undefined;
  if (custom && q.period !== undefined) {
    throw invalid('period', 'Give either period or start_date/end_date, not both');
  }
  let label: Window['label'];
  let start: Date;
  let end: Date;
  if (custom) {
    if (q.start_date === undefined) throw invalid('start_date', 'start_date is required with end_date');
    label = 'custom';
    start = parseQueryDate(q.start_date, 'start_date').at;
    const last = q.end_date === undefined ? { at: now, dateOnly: false } : parseQueryDate(q.end_date, 'end_date');
    // A date-only end_date names the last day included: compare its exclusive end (the next midnight),
    // so start_date=2024-01-02T12:00Z&end_date=2024-01-02 is that afternoon, not "end before start".
    end = last.dateOnly ? dayAfter(last.at) : last.at;
    if (end.getTime() < start.getTime() || (last.dateOnly && end.getTime() === start.getTime())) {
      throw q.end_date === undefined ? invalid('start_date', 'start_date is in the future') : invalid('end_date', 'end_date must be on or after start_date');
    }
  } else {
    label = q.period ?? fallback;
    end = now;
    start = label === 'today' ? new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())) : new Date(now.getTime() - LENGTH[label]);
  }
  const length = end.getTime() - start.getTime();
  if (length > maxDays * DAY) {
    // Without end_date the window ends now: start_date is the parameter to change.
    throw invalid(custom && q.end_date === undefined ? 'start_date' : 'end_date', `The window may span at most ${maxDays} days`);
  }
  // `today` compares with the same hours of yesterday; every other window with the one just before it.
  const shift = label === 'today' ? DAY : length;
  return { label, start, end, previous: { start: new Date(start.getTime() - shift), end: new Date(end.getTime() - shift) } };
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;
/** The last instant a query may name (end of 9999, UTC): an exclusive end after it is not a date the databases hold. */
const LAST_QUERY_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * A date parameter of a report or log query: `YYYY-MM-DD` (dateOnly) or an ISO date-time with a zone.
 * Calendar dates only (`2024-02-30` is refused, not rolled over to March), 1970 to 9999.
 */
export function parseQueryDate(value: string, field: string): { at: Date; dateOnly: boolean } {
  const m = DATE_ONLY.exec(value) ?? DATE_TIME.exec(value);
  if (!m) throw invalid(field, `${field} must be a date (YYYY-MM-DD) or an ISO date-time with a zone, got ${JSON.stringify(value)}`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const day = new Date(0);
  day.setUTCFullYear(y, mo - 1, d); // not Date.UTC, which reads years 0–99 as 1900–1999
  // Rejects 2024-02-30 and friends (and 24:00 or 10:61), which Date would roll over.
  const [h, mi, s] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    throw invalid(field, `${field} is not a calendar date: ${value}`);
  }
  const at = m.length > 4 && m[4] !== undefined ? new Date(Date.parse(value)) : day;
  if (!Number.isFinite(at.getTime())) throw invalid(field, `${field} is not a date: ${value}`);
  assertQueryDateRange(at, field);
  return { at, dateOnly: at === day };
}

/** The exclusive end of a date-only end_date (the next midnight), kept within the dates a query may name. */
export function dayAfter(day: Date): Date {
  return new Date(Math.min(day.getTime() + DAY, LAST_QUERY_MS));
}

/** The exclusive end of an exact end_date (its next millisecond), kept within the same bounds. */
export function instantAfter(at: Date): Date {
  return new Date(Math.min(at.getTime() + 1, LAST_QUERY_MS));
}

/** Dates a report or log query may name: 1970 to 9999 (the databases' and JavaScript's common ground). */
export function assertQueryDateRange(at: Date, field: string): void {
  const year = at.getUTCFullYear();
  if (!(year >= 1970 && year <= 9999)) throw invalid(field, `${field} must lie between 1970 and 9999`);
}

function invalid(field: string, message: string) {
  return appError('VALIDATION_ERROR', `querystring.${field}: ${message}`, { field, location: 'querystring' });
}

/** Time-series granularity: hours for windows up to a day, days otherwise. */
export function bucketing(w: { start: Date; end: Date }): { unit: 'hour' | 'day'; sizeMs: number; origin: Date; count: number } {
  const unit = w.end.getTime() - w.start.getTime() <= DAY ? 'hour' : 'day';
  const sizeMs = unit === 'hour' ? HOUR : DAY;
  const origin = new Date(Math.floor(w.start.getTime() / sizeMs) * sizeMs);
  const count = Math.max(1, Math.ceil((w.end.getTime() - origin.getTime()) / sizeMs));
  return { unit, sizeMs, origin, count };
}

/**
 * Signed percentage change "+12%", "-5%", "0%"; null when the previous value is missing or zero and
 * the current one is not (growth from nothing has no percentage), and when the current value is
 * missing but the previous one is not: a rate or mean of a window without attempts does not exist,
 * so it did not fall by 100% (counts are passed as 0, never missing, and do fall by 100%).
 */
export function trend(current: number | null, previous: number | null): string | null {
  if (current === null && previous !== null) return null;
  const c = current ?? 0;
  const p = previous ?? 0;
  if (p === 0) return c === 0 ? '0%' : null;
  const pct = Math.round(((c - p) / Math.abs(p)) * 100);
  return pct > 0 ? `+${pct}%` : `${pct}%`;
}
