import { AUDIT_CATEGORIES, AUDIT_FEED_SOURCES, type AuditFeedCategory, type AuditFeedPosition } from '../../db/repositories/analytics.repository.ts';
import { appError } from '../../errors.ts';
import { isUuid } from '../paging.ts';
import { assertQueryDateRange, MAX_WINDOW_DAYS, PERIODS, type Window } from './periods.ts';

/**
 * Where a walk through the audit feed stands: the window and category it started with (pinned, so entries
 * that arrive later stay out and the window's start does not move on), the position of the last entry
 * returned, the number of the next page and the count at the start. Opaque to clients (base64url JSON),
 * but read back as untrusted input: every field is checked, and the window is bounded like a query's.
 * Reading another tenant's entries is not possible with it: the query names the caller's client.
 *
 * @example decodeAuditCursor(encodeAuditCursor({ window, category: null, after, page: 2, count: 57 }))
 */
export interface AuditCursor {
  window: Pick<Window, 'label' | 'start' | 'end'>;
  category: AuditFeedCategory | null;
  after: AuditFeedPosition;
  /** The number of the page this cursor reads. */
  page: number;
  /** The window's count when the walk started (later pages do not count again). */
  count: number;
}

const VERSION = 1;
const MAX_PAGE = 10_000_000;
const DAY = 86_400_000;
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const ISO_US = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3})\d{3}Z$/;
const LABELS: readonly string[] = [...PERIODS, 'custom'];

interface Wire {
  v: number;
  l: string;
  s: string;
  e: string;
  c: string | null;
  k: { at: string; source: string; id: string };
  p: number;
  n: number;
}

export function encodeAuditCursor(c: AuditCursor): string {
  const wire: Wire = {
    v: VERSION,
    l: c.window.label,
    s: c.window.start.toISOString(),
    e: c.window.end.toISOString(),
    c: c.category,
    k: { at: c.after.at, source: c.after.source, id: c.after.id },
    p: c.page,
    n: c.count,
  };
  return Buffer.from(JSON.stringify(wire)).toString('base64url');
}

/** The cursor of a `cursor` query parameter; anything else is 400 VALIDATION_ERROR on the field `cursor`. */
export function decodeAuditCursor(value: string): AuditCursor {
  let w: Partial<Wire>;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(value)) throw new Error('not base64url');
    w = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as Partial<Wire>;
  } catch {
    throw invalid('not a cursor of this endpoint (pass next_cursor of the previous page unchanged)');
  }
  if (typeof w !== 'object' || w === null || Array.isArray(w)) throw invalid('not a cursor of this endpoint');
  if (w.v !== VERSION) throw invalid('a cursor of another version; start the walk again from page 1');
  const start = instant(w.s, 'window start');
  const end = instant(w.e, 'window end');
  if (end.getTime() < start.getTime() || end.getTime() - start.getTime() > MAX_WINDOW_DAYS * DAY) throw invalid('window out of bounds');
  if (typeof w.l !== 'string' || !LABELS.includes(w.l)) throw invalid('unknown period');
  if (w.c !== null && !(AUDIT_CATEGORIES as readonly unknown[]).includes(w.c)) throw invalid('unknown category');
  const k = w.k;
  if (typeof k !== 'object' || k === null) throw invalid('no position');
  const us = typeof k.at === 'string' ? ISO_US.exec(k.at) : null;
  if (!us) throw invalid('bad position time');
  instant(`${us[1]}Z`, 'position time');
  if (!(AUDIT_FEED_SOURCES as readonly unknown[]).includes(k.source)) throw invalid('bad position source');
  if (typeof k.id !== 'string' || !isUuid(k.id)) throw invalid('bad position id');
  if (!Number.isInteger(w.p) || w.p! < 2 || w.p! > MAX_PAGE) throw invalid('bad page number');
  // A count is a count of rows, well below 2^53: a forged 1e300 came back as count and total_pages 1e+300.
  if (!Number.isSafeInteger(w.n) || w.n! < 0) throw invalid('bad count');
  return {
    window: { label: w.l as Window['label'], start, end },
    category: (w.c ?? null) as AuditFeedCategory | null,
    after: { at: k.at, source: k.source as AuditFeedPosition['source'], id: k.id.toLowerCase() },
    page: w.p!,
    count: w.n!,
  };
}

function instant(v: unknown, what: string): Date {
  const at = typeof v === 'string' && ISO_MS.test(v) ? new Date(v) : null;
  // A rolled-over date (2026-13-40) is NaN or prints differently from what was given.
  if (!at || !Number.isFinite(at.getTime()) || at.toISOString() !== v) throw invalid(`bad ${what}`);
  try {
    assertQueryDateRange(at, 'cursor');
  } catch {
    throw invalid(`${what} out of range`);
  }
  return at;
}

function invalid(why: string) {
  return appError('VALIDATION_ERROR', `querystring.cursor: ${why}`, { field: 'cursor', location: 'querystring' });
}
