import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';
import { expiredOpenEnrollments, lockSession, updateSession, type SessionRow } from '../db/repositories/sessions.repository.ts';
import { findFaceUser } from '../db/repositories/templates.repository.ts';
import type { EnrollState } from './enrollment.capture.ts';
import { recordEvent } from './events.ts';

/** Sessions one sweep closes at most (the next sweep takes the rest). */
const CLOSE_BATCH = 500;

/**
 * `enrollment.failed` with `SESSION_EXPIRED` for an enrollment session that expired before it was completed:
 * written once, by whichever comes first, the session's first request after its expiry (EnrollmentService)
 * or the session sweep (closeExpiredEnrollments).
 */
export async function recordEnrollmentExpired(trx: Transaction<Database>, session: SessionRow): Promise<void> {
  const state = session.state as unknown as EnrollState;
  const user = session.user_id ? await findFaceUser(trx, session.client_id, session.user_id) : undefined;
  await recordEvent(trx, session.client_id, 'enrollment.failed', {
    session_id: session.id,
    user_id: user?.external_id ?? '',
    error_code: 'SESSION_EXPIRED',
    error_message: 'The enrollment session expired before it was completed',
    attempts: state.received ?? 0,
    last_attempt: state.lastAt ?? session.expires_at.toISOString(),
  });
}

/**
 * Closes the enrollment sessions still open past their expiry, each with its `enrollment.failed`: a client
 * that gives up (the tab closed, the phone locked) sends no further request, and without this its
 * integrator would never hear that the enrollment failed. Each session is closed under its row lock and only
 * while still active, so a request arriving at the same moment, or another instance's sweep, cannot write the
 * event twice. Returns how many it closed.
 */
export async function closeExpiredEnrollments(db: Kysely<Database>, now: Date): Promise<number> {
  let closed = 0;
  for (const id of await expiredOpenEnrollments(db, now, CLOSE_BATCH)) {
    const done = await db.transaction().execute(async (trx) => {
      const locked = await lockSession(trx, id);
      if (locked?.status !== 'active' || locked.expires_at.getTime() > now.getTime()) return false;
      await updateSession(trx, id, { status: 'expired' });
      await recordEnrollmentExpired(trx, locked);
      return true;
    });
    if (done) closed++;
  }
  return closed;
}
