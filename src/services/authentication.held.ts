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

/**
 * Who the frames of a liveness session were recognised as: how many frames counted (passed the identity
 * check against the session's first face and were applied to the challenges) and, per user, on how many
 * of them the user was recognised at the session's threshold (verification: the claimed user; identification:
 * each match). User ids only, like HeldDecision.
 */
export interface IdentityVotes {
  frames: number;
  users: Record<string, number>;
}

/** `votes` with one more counted frame, decided as `d`. */
export function addVote(votes: IdentityVotes | null | undefined, d: Decision): IdentityVotes {
  const users = { ...(votes?.users ?? {}) };
  const ids = d.mode === 'verification' ? (d.success && d.user ? [d.user.id] : []) : d.matches.map((m) => m.user.id);
  for (const id of new Set(ids)) users[id] = (users[id] ?? 0) + 1;
  return { frames: (votes?.frames ?? 0) + 1, users };
}

/**
 * The held decision (taken on the session's best frame) stands only for users recognised on at least
 * half of the session's counted frames: the person who performed the challenges. The identity check
 * between frames is a looser "same person" (SAME_PERSON_CONFIDENCE, so a turned head still counts); without
 * this rule an accomplice resembling the victim at that level did the challenges live and one photo of the
 * victim, slipped in among their frames, was the best frame and authenticated as the victim. Sessions
 * stored before the votes existed keep the held decision.
 */
export function backedByVotes(d: Decision, votes: IdentityVotes | null | undefined): Decision {
  if (!votes) return d;
  return keepUsers(d, (id) => (votes.users[id] ?? 0) * 2 >= votes.frames);
}

/**
 * ...and only for users who performed every challenge: each frame that carried a challenge's evidence (the
 * reference a turn, nod or smile is measured from, a blink's closing, a nod's way down, the frame that met
 * it, and for such a change the frame before it) recognised them at least at SAME_PERSON_CONFIDENCE against
 * their own templates (`performers`: the users every such frame so recognised, addPerformers; a turned face
 * scores lower, hence not the decision threshold). Votes alone can be outnumbered: many slightly warped
 * copies of the photo, sent between the accomplice's frames, pass the motion checks and outvote them; and
 * the switch from the accomplice's open eyes to the photo read as a blink's closing (the change was largest
 * in the eye band). Sessions stored before this existed (no `performers`) keep the decision.
 */
export function performedBy(d: Decision, performers: string[] | null | undefined): Decision {
  if (!performers) return d;
  return keepUsers(d, (id) => performers.includes(id));
}

/** The users shown by every evidence frame so far (`performers`), after one more showing `users`. */
export function addPerformers(performers: string[] | null | undefined, users: string[]): string[] {
  return performers ? performers.filter((id) => users.includes(id)) : [...new Set(users)];
}

/**
 * `d` without the users `keep` refuses, answered like a frame below the threshold (verification
 * LOW_CONFIDENCE, identification without those matches, NO_MATCH when none is left), with no confidence
 * of the refused user (it is a photo's, not the performer's).
 */
function keepUsers(d: Decision, keep: (userId: string) => boolean): Decision {
  if (!d.success) return d;
  if (d.mode === 'verification') return d.user && keep(d.user.id) ? d : { ...d, success: false, failureReason: 'LOW_CONFIDENCE', confidence: null };
  const matches = d.matches.filter((m) => keep(m.user.id));
  if (matches.length === d.matches.length) return d;
  const top = matches[0];
  return { ...d, success: matches.length > 0, failureReason: matches.length ? null : 'NO_MATCH', confidence: top?.confidence ?? null, user: top?.user ?? null, matches };
}
