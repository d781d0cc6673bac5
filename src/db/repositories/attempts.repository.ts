import crypto from 'node:crypto';
import type { Insertable, Kysely, Transaction } from 'kysely';
import type { Database, EventTable } from '../schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface NewAttempt {
  clientId: string;
  sessionId: string | null;
  userId: string | null;
  mode: string;
  outcome: 'success' | 'failed';
  failureReason: string | null;
  confidence: number | null;
  livenessScore: number | null;
  qualityScore: number | null;
  processingMs: number | null;
  ip: string | null;
  userAgent: string | null;
}

export async function insertAttempt(db: Db, a: NewAttempt): Promise<string> {
  const row = attemptRow(a);
  await db.insertInto('auth_attempts').values(row).execute();
  return row.id;
}

/**
 * An authentication's outcome in ONE statement: its attempt row, its event (`event`, the outbox row) and,
 * for a recognised user, their last authentication (`touch`). One statement is atomic without a
 * transaction around it, and the embedded database answers it in one round trip instead of five
 * (BEGIN, three statements, COMMIT): the one-shot HTTP calls write this on every request.
 */
export async function insertOutcome(db: Db, a: NewAttempt, event: Insertable<EventTable>, touch: { userId: string; at: Date } | null): Promise<string> {
  const row = attemptRow(a);
  const withAttempt = db.with('attempt', (d) => d.insertInto('auth_attempts').values(row));
  if (touch) {
    await withAttempt
      .with('touched', (d) => d.updateTable('users').set({ last_authentication: touch.at }).where('client_id', '=', a.clientId).where('id', '=', touch.userId))
      .insertInto('events')
      .values(event)
      .execute();
  } else {
    await withAttempt.insertInto('events').values(event).execute();
  }
  return row.id;
}

function attemptRow(a: NewAttempt) {
  return {
    id: crypto.randomUUID(),
    client_id: a.clientId,
    session_id: a.sessionId,
    user_id: a.userId,
    mode: a.mode,
    outcome: a.outcome,
    failure_reason: a.failureReason,
    confidence: a.confidence,
    liveness_score: a.livenessScore,
    quality_score: a.qualityScore,
    processing_ms: a.processingMs,
    ip: a.ip,
    user_agent: a.userAgent,
  };
}

/** Number of attempts already recorded for one session (the guide's `attempts` field counts them). */
export async function countSessionAttempts(db: Db, clientId: string, sessionId: string): Promise<number> {
  const row = await db
    .selectFrom('auth_attempts')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('client_id', '=', clientId)
    .where('session_id', '=', sessionId)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}
