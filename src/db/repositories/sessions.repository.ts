import { sql, type ExpressionBuilder, type Kysely, type Transaction } from 'kysely';
import type { Database, SessionTable } from '../schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** A session row as the face services read it (params and state are the parsed jsonb). */
export interface SessionRow {
  id: string;
  client_id: string;
  kind: SessionTable['kind'];
  user_id: string | null;
  mode: string | null;
  params: Record<string, unknown>;
  state: Record<string, unknown>;
  status: string;
  expires_at: Date;
  created_at: Date;
}

const COLUMNS = ['id', 'client_id', 'kind', 'user_id', 'mode', 'params', 'state', 'status', 'expires_at', 'created_at'] as const;

export interface NewSession {
  id: string;
  clientId: string;
  kind: SessionTable['kind'];
  tokenHash: string;
  userId: string | null;
  mode: string | null;
  params: Record<string, unknown>;
  state: Record<string, unknown>;
  expiresAt: Date;
}

export async function insertSession(db: Db, s: NewSession): Promise<void> {
  await db
    .insertInto('sessions')
    .values({
      id: s.id,
      client_id: s.clientId,
      kind: s.kind,
      token_hash: s.tokenHash,
      user_id: s.userId,
      mode: s.mode,
      params: JSON.stringify(s.params),
      state: JSON.stringify(s.state),
      expires_at: s.expiresAt,
    })
    .execute();
}

/** The session a token opens, scoped to the calling client: a foreign token looks exactly like a missing one. */
export async function findSessionByToken(db: Db, clientId: string, kind: SessionTable['kind'], tokenHash: string): Promise<SessionRow | undefined> {
  const row = await db
    .selectFrom('sessions')
    .select(COLUMNS)
    .where('token_hash', '=', tokenHash)
    .where('client_id', '=', clientId)
    .where('kind', '=', kind)
    .executeTakeFirst();
  return row as SessionRow | undefined;
}

/** Re-reads a session under a row lock (SELECT … FOR UPDATE) so concurrent frames serialise their state updates. */
export async function lockSession(trx: Transaction<Database>, id: string): Promise<SessionRow | undefined> {
  const row = await trx.selectFrom('sessions').select(COLUMNS).where('id', '=', id).forUpdate().executeTakeFirst();
  return row as SessionRow | undefined;
}

export async function updateSession(db: Db, id: string, change: { state?: Record<string, unknown>; status?: string; userId?: string }): Promise<void> {
  await db
    .updateTable('sessions')
    .set({
      ...(change.state ? { state: JSON.stringify(change.state) } : {}),
      ...(change.status ? { status: change.status } : {}),
      ...(change.userId ? { user_id: change.userId } : {}),
      updated_at: sql`now()`,
    })
    .where('id', '=', id)
    .execute();
}

/** What a session's state keeps of a face: embeddings, thumbnails, landmarks, crops, held matches (sealed or not). */
const FACE_STATE = sql`ARRAY['anchor', 'thumb', 'shape', 'planar', 'best', 'frames', 'votes', 'performers', 'shown']::text[]`;

/**
 * Active, and the state still keeps something of a face: true of every active session that names a user
 * (holdsUser), and of few besides, since the retention sweep strips ended and expired sessions
 * (scrubEndedSessions). Spelled as the predicate of sessions_face_state_idx (migration 0024), with literals
 * (a generic plan, which the embedded database's driver may use for a statement it prepared once, can only
 * use a partial index whose predicate it sees), so that the sessions holding a user are found through it,
 * not by reading every session the tenant ever had.
 */
const activeWithFace = sql<boolean>`status = 'active' AND jsonb_strip_nulls(state) ?| ${FACE_STATE}`;

/**
 * The conditions under which a session's state names a user: its held decision (best: verification user
 * or identification matches), or whom its liveness frames were recognised as (votes, performers, shown).
 */
function holdsUser(eb: ExpressionBuilder<Database, 'sessions'>, userId: string) {
  return eb.or([
    eb(sql`state->'best'->>'userId'`, '=', userId),
    eb(sql`state->'best'->'matches'`, '@>', sql`jsonb_build_array(jsonb_build_object('userId', ${userId}::text))`),
    eb(sql`state->'votes'->'users'->>${userId}::text`, 'is not', null),
    eb(sql`state->'performers'`, '@>', sql`jsonb_build_array(${userId}::text)`),
    eb(sql`state->'shown'`, '@>', sql`jsonb_build_array(${userId}::text)`),
  ]);
}

/**
 * Right to deletion: ends the client's active sessions whose state names the user (holdsUser: an
 * identification session in the middle of its liveness challenges) and drops their face state. Returns
 * how many. Sessions opened for the user (enrollment, verification) go with the user (FK cascade).
 */
/**
 * Locks (in id order) the sessions a user's deletion touches: theirs, which cascade away, and the active
 * ones holding them as a match, which endSessionsHolding ends. A session request locks its session before
 * the user's row, so the deletion takes the same order; the other way round, the two deadlocked.
 */
export async function lockSessionsOfUser(db: Db, clientId: string, userId: string): Promise<void> {
  await db
    .selectFrom('sessions')
    .select('id')
    .where('client_id', '=', clientId)
    .where((eb) =>
      eb.or([
        eb('user_id', '=', userId),
        eb.and([activeWithFace, holdsUser(eb, userId)]),
      ]),
    )
    .orderBy('id')
    .forUpdate()
    .execute();
}

export async function endSessionsHolding(db: Db, clientId: string, userId: string): Promise<number> {
  const res = await db
    .updateTable('sessions')
    .set({ status: 'expired', state: sql`state - ${FACE_STATE}` as never, updated_at: sql`now()` })
    .where('client_id', '=', clientId)
    .where(activeWithFace)
    .where((eb) => holdsUser(eb, userId))
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}

/**
 * Drops the face state of sessions that have ended (completed, failed, expired, or past their expiry
 * without a request noticing): nothing of a face outlives its session. Status and counters stay, for
 * the answers to late requests (SESSION_EXPIRED, SESSION_COMPLETED) and for analytics. With `since`,
 * only sessions expiring after it are looked at (an earlier sweep did the older ones; a session ends
 * at the latest when it expires). Returns how many.
 */
export async function scrubEndedSessions(db: Db, now: Date, since: Date | null = null): Promise<number> {
  let q = db
    .updateTable('sessions')
    .set({ state: sql`state - ${FACE_STATE}` as never })
    .where((eb) => eb.or([eb('status', '<>', 'active'), eb('expires_at', '<=', now)]))
    .where(sql<boolean>`jsonb_strip_nulls(state) ?| ${FACE_STATE}`);
  if (since) q = q.where('expires_at', '>', since);
  const res = await q.executeTakeFirst();
  return Number(res.numUpdatedRows);
}

/**
 * The ids of open enrollment sessions past their expiry, oldest expiry first (closeExpiredEnrollments). Spelled
 * as the predicate of sessions_open_enrollment_idx (migration 0027), with literals, so that it reads the
 * sessions still open and not every enrollment session the tenants ever had.
 */
export async function expiredOpenEnrollments(db: Db, now: Date, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('sessions')
    .select('id')
    .where(sql<boolean>`status = 'active' AND kind = 'enrollment'`)
    .where('expires_at', '<=', now)
    .orderBy('expires_at')
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}
