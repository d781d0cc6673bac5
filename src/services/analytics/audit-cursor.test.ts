import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeAuditCursor, encodeAuditCursor, type AuditCursor } from './audit-cursor.ts';

const cursor: AuditCursor = {
  window: { label: 'last_30_days', start: new Date('2026-11-01T10:00:00.123Z'), end: new Date('2026-12-01T10:00:00.123Z') },
  category: 'security',
  after: { at: '2026-11-20T08:00:00.123456Z', source: 'events', id: '0b6f5b0e-8c1e-4a52-9a57-8f6f0d7c4a11' },
  page: 3,
  count: 57,
};

test('a cursor reads back as it was written', () => {
  assert.deepEqual(decodeAuditCursor(encodeAuditCursor(cursor)), cursor);
  assert.match(encodeAuditCursor(cursor), /^[A-Za-z0-9_-]+$/);
});

test('anything but a cursor is VALIDATION_ERROR on the field cursor', () => {
  const wire = JSON.parse(Buffer.from(encodeAuditCursor(cursor), 'base64url').toString());
  const forge = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  for (const bad of [
    '',
    'not a cursor!',
    forge(null),
    forge({ ...wire, e: '2028-01-01T00:00:00.000Z' }), // a window longer than 366 days
    forge({ ...wire, s: '2026-12-02T00:00:00.000Z' }), // start after end
    forge({ ...wire, l: 'forever' }),
    forge({ ...wire, c: 'gossip' }),
    forge({ ...wire, k: { ...wire.k, at: '2026-11-20T08:00:00.123Z' } }), // milliseconds only: ties would drift
    forge({ ...wire, k: { ...wire.k, at: '2026-02-30T08:00:00.000000Z' } }),
    forge({ ...wire, p: 1 }),
    forge({ ...wire, n: -1 }),
    forge({ ...wire, n: 1e300 }), // answered as count 1e+300, total_pages 1e+300 (not integers an SDK can hold)
    forge({ ...wire, n: 2 ** 53 }),
  ]) {
    assert.throws(() => decodeAuditCursor(bad), (e: { code?: string; details?: { field?: string } }) => e.code === 'VALIDATION_ERROR' && e.details?.field === 'cursor', bad);
  }
});
