import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';
import { findFaceUsersByIds, type FaceUser } from '../db/repositories/templates.repository.ts';
import type { AuthParams, Decision } from './authentication.params.ts';
import { SAME_PERSON_CONFIDENCE } from './enrollment.service.ts';
import type { FaceDeps } from './face.ts';

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

/** What a liveness session keeps of whom its counted frames showed (backedByVotes, performedBy). */
export interface IdentityEvidence {
  votes?: IdentityVotes | null;
  /** The users every frame carrying a challenge's evidence showed at SAME_PERSON_CONFIDENCE. */
  performers?: string[] | null;
  /** The users the previous counted frame showed (its half of a change's evidence). */
  shown?: string[] | null;
}

/**
 * The evidence after one more counted frame decided as `d` and showing `shown` (framePerformers): `changed`
 * when the frame carried a challenge's change (one met, a blink's closing, a nod's way down; the frame before
 * it counts too), `reference` when it is the reference a turn, nod or smile is measured from.
 */
export function addEvidence(e: IdentityEvidence, d: Decision, shown: string[], frame: { changed: boolean; reference: boolean }): Required<IdentityEvidence> {
  let performers = e.performers ?? null;
  if (frame.changed || frame.reference) performers = addPerformers(performers, shown);
  if (frame.changed && e.shown) performers = addPerformers(performers, e.shown);
  return { votes: addVote(e.votes, d), performers, shown };
}

/** How many of the gallery's nearest users a challenge's frame is checked against (framePerformers). */
const PERFORMER_HITS = 50;

/**
 * The users a counted liveness frame shows, at SAME_PERSON_CONFIDENCE (a turned face scores lower than the
 * decision needs): verification, the claimed user when its confidence reaches it; identification, the
 * gallery's users that do (the nearest PERFORMER_HITS; one in-memory search per frame).
 */
export async function framePerformers(deps: Pick<FaceDeps, 'gallery' | 'calibration'>, clientId: string, params: AuthParams, d: Decision, embedding: Float32Array, modelId: string): Promise<string[]> {
  if (params.mode === 'verification') return d.user && (d.confidence ?? -1) >= SAME_PERSON_CONFIDENCE ? [d.user.id] : [];
  const hits = await deps.gallery.search(clientId, modelId, embedding, Math.max(PERFORMER_HITS, params.max_results), -1);
  return hits.filter((h) => deps.calibration.confidence(h.cosine, modelId) >= SAME_PERSON_CONFIDENCE).map((h) => h.userId);
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
