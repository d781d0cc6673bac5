import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAppError } from '../../errors.ts';
import { bucketing, resolveWindow, trend } from './periods.ts';

const now = new Date('2024-03-10T15:30:00Z');

test('named periods end now; the previous window has equal length', () => {
  const w = resolveWindow({ period: 'last_7_days' }, 'last_30_days', now);
  assert.equal(w.start.toISOString(), '2024-03-03T15:30:00.000Z');
  assert.equal(w.previous.start.toISOString(), '2024-02-25T15:30:00.000Z');
  assert.equal(w.previous.end.toISOString(), w.start.toISOString());
  const today = resolveWindow({ period: 'today' }, 'last_30_days', now);
  assert.equal(today.start.toISOString(), '2024-03-10T00:00:00.000Z');
  assert.equal(today.previous.start.toISOString(), '2024-03-09T00:00:00.000Z');
  assert.equal(today.previous.end.toISOString(), '2024-03-09T15:30:00.000Z');
  assert.equal(resolveWindow({}, 'last_24_hours', now).label, 'last_24_hours');
});

test('custom dates: end day inclusive, date-times exact, errors name the field', () => {
  const w = resolveWindow({ start_date: '2024-01-01', end_date: '2024-01-31' }, 'last_30_days', now);
  assert.equal(w.label, 'custom');
  assert.equal(w.end.toISOString(), '2024-02-01T00:00:00.000Z');
  const dt = resolveWindow({ start_date: '2024-01-01T10:00:00+07:00', end_date: '2024-01-01T12:00:00Z' }, 'today', now);
  assert.equal(dt.start.toISOString(), '2024-01-01T03:00:00.000Z');
  assert.equal(dt.end.toISOString(), '2024-01-01T12:00:00.000Z');
  for (const [q, field] of [
    [{ start_date: '2024-02-30' }, 'start_date'],
    [{ start_date: '2024-01-02', end_date: '2024-01-01' }, 'end_date'],
    [{ start_date: '2024-01-01T10:00:00' }, 'start_date'],
    [{ end_date: '2024-01-01' }, 'start_date'],
    [{ start_date: '2024-04-01' }, 'start_date'],
    [{ period: 'today', start_date: '2024-01-01' }, 'period'],
    [{ start_date: '2024-02-30T00:00Z' }, 'start_date'],
    [{ start_date: '2024-01-01', end_date: '2024-01-02T24:00Z' }, 'end_date'],
  ] as const) {
    assert.throws(() => resolveWindow(q, 'today', now), (e) => isAppError(e) && e.code === 'VALIDATION_ERROR' && (e.details as { field: string }).field === field);
  }
});

test('the last day a query may name: its exclusive end stays a date the databases hold', () => {
  const w = resolveWindow({ start_date: '9999-12-30', end_date: '9999-12-31' }, 'today', now);
  assert.equal(w.end.toISOString(), '9999-12-31T23:59:59.999Z');
});

test('buckets: hourly up to a day, daily beyond, aligned to UTC', () => {
  const h = bucketing(resolveWindow({ period: 'last_24_hours' }, 'today', now));
  assert.deepEqual([h.unit, h.count, h.origin.toISOString()], ['hour', 25, '2024-03-09T15:00:00.000Z']);
  const d = bucketing(resolveWindow({ start_date: '2024-01-01', end_date: '2024-01-31' }, 'today', now));
  assert.deepEqual([d.unit, d.count], ['day', 31]);
});

test('trend strings', () => {
  assert.equal(trend(112, 100), '+12%');
  assert.equal(trend(95, 100), '-5%');
  assert.equal(trend(100, 100), '0%');
  assert.equal(trend(0, 0), '0%');
  assert.equal(trend(null, null), '0%');
  assert.equal(trend(5, 0), null);
  // No rate or mean in the current window (no attempts): no change to report, not "-100%".
  assert.equal(trend(null, 0.5), null);
  assert.equal(trend(0, 10), '-100%');
  assert.equal(trend(0.2001, 0.2), '0%');
});

test('a date-only end_date includes its whole day, also after a start_date time on that day', () => {
  // The inclusive last day ends at the next midnight: a window from noon that day is half a day, not "end before start".
  const w = resolveWindow({ start_date: '2024-01-02T12:00:00Z', end_date: '2024-01-02' }, 'last_30_days', now);
  assert.equal(w.start.toISOString(), '2024-01-02T12:00:00.000Z');
  assert.equal(w.end.toISOString(), '2024-01-03T00:00:00.000Z');
  assert.throws(
    () => resolveWindow({ start_date: '2024-01-03T00:00:00Z', end_date: '2024-01-02' }, 'last_30_days', now),
    (e: unknown) => isAppError(e) && (e.details as { field?: string }).field === 'end_date',
  );
});

test('a window too long names start_date when end_date was not given', () => {
  assert.throws(
    () => resolveWindow({ start_date: '2022-01-01' }, 'last_30_days', now),
    (e: unknown) => isAppError(e) && e.code === 'VALIDATION_ERROR' && (e.details as { field?: string }).field === 'start_date',
  );
  assert.throws(
    () => resolveWindow({ start_date: '2022-01-01', end_date: '2024-01-01' }, 'last_30_days', now),
    (e: unknown) => isAppError(e) && (e.details as { field?: string }).field === 'end_date',
  );
});
