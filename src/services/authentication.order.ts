import type { Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';
import { findLatestLivenessSession, lockLivenessClaim } from '../db/repositories/liveness-order.repository.ts';
import { CHALLENGES, newLiveness, type Challenge, type LivenessState } from './liveness.service.ts';

/*
 * The challenge order of a liveness session is drawn once per claim, not once per session. The order is
 * what a recording of the victim must match, and the create answer names the first challenge (the camera
 * page must tell the person what to do): if every new session drew afresh, an attacker holding a recording
 * of "blink, then turn" would create sessions, at no cost, until one asked for the blink first. So a new
 * session of a claim (the tenant and the claimed user, or the tenant's identifications when none is
 * claimed, with one challenge set) continues the order of the claim's newest earlier session while that
 * session was never judged (still active, abandoned, or expired). A fresh order is drawn only after a
 * session of the claim was judged (completed or failed: a recorded attempt and authentication.failed event
 * each), or after ORDER_PIN_MS without a session of the claim. A new order thus costs a recorded failed
 * attempt, which is no better than playing the recording blindly.
 */

/** How long an unjudged session's order binds the next session of its claim (each such session renews it). */
export const ORDER_PIN_MS = 24 * 60 * 60 * 1000;

/** Session statuses whose liveness was never judged: their order is carried over. */
const UNJUDGED: ReadonlySet<string> = new Set(['active', 'expired']);

/** The challenge set as stored in the session's params (`liveness_set`): sorted, without repeats. */
export function challengeSetKey(challenges: readonly Challenge[]): string {
  return [...new Set(challenges)].sort().join(',');
}

/**
 * The liveness state of a new session of this claim: the claim's carried-over order or a fresh draw.
 * Runs in the transaction that inserts the session, which holds the claim's lock until it commits.
 *
 * @example const liveness = await claimLiveness(trx, { clientId, userId: user?.id ?? null, challenges, timeoutMs: 10_000, now: Date.now() })
 */
export async function claimLiveness(
  trx: Transaction<Database>,
  c: { clientId: string; userId: string | null; challenges: readonly Challenge[]; timeoutMs: number; now: number },
): Promise<LivenessState> {
  const set = challengeSetKey(c.challenges);
  await lockLivenessClaim(trx, `liveness-order:${c.clientId}:${c.userId ?? '-'}:${set}`);
  const last = await findLatestLivenessSession(trx, c.clientId, c.userId, set, new Date(c.now - ORDER_PIN_MS));
  const fresh = newLiveness([...c.challenges], c.timeoutMs, c.now);
  const order = last && UNJUDGED.has(last.status) ? carriedOrder(last.order, set) : null;
  return order ? { ...fresh, order } : fresh;
}

/** The stored order when it is a permutation of this set (else null: draw afresh). */
function carriedOrder(stored: unknown, set: string): Challenge[] | null {
  if (!Array.isArray(stored) || !stored.every((c): c is Challenge => (CHALLENGES as readonly unknown[]).includes(c))) return null;
  return challengeSetKey(stored) === set && stored.length === set.split(',').length ? [...stored] : null;
}
