import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';
import { findFaceUsersByIds, type FaceUser } from '../db/repositories/templates.repository.ts';
import type { Decision } from './authentication.params.ts';

/**
 * A decision as a liveness session keeps it between frames (the session's best confirmed frame): users
 * by id with their scores, nothing about them. Their names and metadata stay in the users table, so a
 * user deleted meanwhile leaves none of it behind in a session row, and a user deactivated meanwhile is
 * not recognised when the challenges end (resumeDecision reads them again).
 */
export interface HeldDecision {
  mode: Decision['mode'];
  success: boolean;
  failureReason: string | null;
  confidence: number | null;
  threshold: number;
  quality: number;
  userId: string | null;
  matches: Array<{ userId: string; confidence: number }>;
}

export function holdDecision(d: Decision): HeldDecision {
  return {
    mode: d.mode,
    success: d.success,
    failureReason: d.failureReason,
    confidence: d.confidence,
    threshold: d.threshold,
    quality: d.quality,
    userId: d.user?.id ?? null,
    matches: d.matches.map((m) => ({ userId: m.user.id, confidence: m.confidence })),
  };
}

/**
 * The held decision with its users as they are now. Verification: the claimed user read for this frame
 * (`claimed`); inactive now → USER_INACTIVE. Identification: matches whose user is gone or inactive
 * drop out, and with none left the decision is NO_MATCH.
 */
export async function resumeDecision(db: Kysely<Database> | Transaction<Database>, clientId: string, held: HeldDecision, claimed: FaceUser | null): Promise<Decision> {
  const base = { mode: held.mode, threshold: held.threshold, quality: held.quality };
  if (held.mode === 'verification') {
    const user = claimed && claimed.id === held.userId ? claimed : null;
    if (!user) return { ...base, success: false, failureReason: 'USER_NOT_FOUND', confidence: held.confidence, user: null, matches: [] };
    if (!user.is_active) return { ...base, success: false, failureReason: 'USER_INACTIVE', confidence: held.confidence, user, matches: [] };
    return { ...base, success: held.success, failureReason: held.failureReason, confidence: held.confidence, user, matches: [] };
  }
  const users = new Map((await findFaceUsersByIds(db, clientId, held.matches.map((m) => m.userId))).map((u) => [u.id, u]));
  const matches = held.matches.flatMap((m) => {
    const user = users.get(m.userId);
    return user?.is_active ? [{ user, confidence: m.confidence }] : [];
  });
  const top = matches[0];
  return {
    ...base,
    success: matches.length > 0,
    failureReason: matches.length ? null : 'NO_MATCH',
    confidence: top?.confidence ?? null,
    user: top?.user ?? null,
    matches,
  };
}
