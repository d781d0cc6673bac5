import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditEntry } from './audit.service.ts';
import { DEFAULT_THRESHOLDS, SecurityMonitor, type FaceFailure } from './security-monitor.service.ts';

const monitor = (t: Partial<typeof DEFAULT_THRESHOLDS> = {}) => {
  const entries: AuditEntry[] = [];
  const m = new SecurityMonitor({ record: async (e) => void entries.push(e) }, { ...DEFAULT_THRESHOLDS, verifyFailures: 3, livenessFailures: 4, ...t });
  return { m, entries };
};
const ann = { id: 'u-ann', externalId: 'ANN' };
const bob = { id: 'u-bob', externalId: 'BOB' };
const fail = (o: Partial<FaceFailure>): FaceFailure => ({ clientId: 'c1', mode: 'verification', user: ann, reason: 'LOW_CONFIDENCE', livenessReason: null, ip: '10.0.0.9', ...o });

test('face verification failures: counted per (client, user), suspect reasons only, reported once per window', async () => {
  const { m, entries } = monitor();
  const now = 1_000_000;
  m.faceFailure(fail({}), now);
  m.faceFailure(fail({ user: bob }), now); // another user
  m.faceFailure(fail({ clientId: 'c2' }), now); // the same id in another tenant
  for (const reason of ['USER_INACTIVE', 'NO_FACE_DETECTED', null]) m.faceFailure(fail({ reason }), now);
  m.faceFailure(fail({ reason: 'LIVENESS_FAILED', livenessReason: 'SPOOF_DETECTED' }), now + 1);
  await m.flush();
  assert.equal(entries.length, 0);
  m.faceFailure(fail({}), now + 2);
  m.faceFailure(fail({}), now + 3);
  await m.flush();
  assert.equal(entries.length, 1);
  assert.deepEqual(entries[0], {
    clientId: 'c1',
    category: 'security',
    action: 'face_verification_failure_burst',
    actor: 'system',
    target: 'ANN',
    ip: '10.0.0.9',
    details: { user_id: 'ANN', failures: 3, window_seconds: 60, last_reason: 'LOW_CONFIDENCE' },
  });
  // A new window: counted afresh, reported again.
  for (let i = 0; i < 3; i++) m.faceFailure(fail({}), now + 61_000 + i);
  await m.flush();
  assert.equal(entries.length, 2);
});

test("another person's face ending a liveness session (FACE_MISMATCH) counts toward the claimed user's burst", async () => {
  const { m, entries } = monitor();
  for (let i = 0; i < 3; i++) m.faceFailure(fail({ reason: 'FACE_MISMATCH' }), 2_000_000 + i);
  await m.flush();
  assert.equal(entries.length, 1);
  assert.equal(entries[0].action, 'face_verification_failure_burst');
  assert.equal((entries[0].details as { last_reason: string }).last_reason, 'FACE_MISMATCH');
});

test('identification: non-matches are not counted; liveness failures are, per client', async () => {
  const { m, entries } = monitor();
  const now = 2_000_000;
  for (let i = 0; i < 10; i++) m.faceFailure(fail({ mode: 'identification', user: null, reason: 'NO_MATCH' }), now + i);
  await m.flush();
  assert.equal(entries.length, 0);
  for (let i = 0; i < 3; i++) m.faceFailure(fail({ mode: 'identification', user: null, reason: 'LIVENESS_FAILED', livenessReason: 'STATIC_IMAGE' }), now + 20 + i);
  await m.flush();
  assert.equal(entries.length, 0);
  // A verification's liveness failure counts for its user and for the client.
  m.faceFailure(fail({ user: bob, reason: 'LIVENESS_FAILED', livenessReason: 'SPOOF_DETECTED' }), now + 30);
  await m.flush();
  assert.deepEqual(
    entries.map((e) => [e.action, e.target, e.details]),
    [['liveness_failure_burst', 'c1', { failures: 4, window_seconds: 60, last_reason: 'LIVENESS_FAILED', last_liveness_reason: 'SPOOF_DETECTED' }]],
  );
});
