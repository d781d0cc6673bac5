import type { Kysely } from 'kysely';
import type { ClientContext } from '../api/request-context.ts';
import type { DB } from '../db/database.ts';
import { appError } from '../errors.ts';
import type { Database } from '../db/schema.ts';
import { countSessionAttempts, insertAttempt, insertOutcome, type NewAttempt } from '../db/repositories/attempts.repository.ts';
import { markSsoAttempt } from '../db/repositories/sso.repository.ts';
import { findFaceUser, type FaceUser } from '../db/repositories/templates.repository.ts';
import type { AuthMode, AuthParams, Decision } from './authentication.params.ts';
import { eventRow, recordEvent } from './events.ts';
import { round, type FaceDeps, type RequestMeta } from './face.ts';
import type { LivenessResult } from './liveness.service.ts';
import type { SecurityMonitor } from './security-monitor.service.ts';

/*
 * What an authentication leaves behind: its auth_attempts row and its event, written together, and
 * who hears of it (the liveness metric, the security monitor). AuthenticationService decides; these write.
 */

/**
 * Who hears of a session's or a one-shot call's outcome besides its rows (recordOutcome).
 *
 * @example const outcomes: OutcomeListeners = { metrics: deps.metrics, monitor: security }
 */
export interface OutcomeListeners {
  /** Counts judged liveness checks. */
  metrics: Pick<FaceDeps['metrics'], 'liveness'>;
  /** Told of every recorded failure (bursts against one user become security events, P6); null: none. */
  monitor: Pick<SecurityMonitor, 'faceFailure'> | null;
}

/** What writeOutcome needs of a decision (the CompreFace-compatible routes build one too). */
export type OutcomeDecision = Pick<Decision, 'mode' | 'success' | 'failureReason' | 'confidence' | 'threshold' | 'quality'> & {
  user: Pick<FaceUser, 'id' | 'external_id' | 'name'> | null;
};

/**
 * The attempt row and its event for a decision (and the user's last authentication), as one statement
 * (insertOutcome): atomic on its own, so a one-shot call passes the database itself. An SSO session's
 * attempt is then marked in a second statement: pass its transaction.
 */
export async function writeOutcome(
  db: Kysely<Database>,
  client: ClientContext,
  sessionId: string | null,
  params: Pick<AuthParams, 'mode' | 'session_type'>,
  decision: OutcomeDecision,
  liveness: LivenessResult | null,
  attempts: number,
  processingMs: number,
  meta: RequestMeta,
): Promise<void> {
  const now = new Date();
  // Sessions of an SSO sign-in (docs/sso.md) mark their attempt and events with method 'sso'.
  const sso = params.session_type === 'sso';
  const method = sso ? { method: 'sso' as const } : {};
  const attempt = {
    clientId: client.id,
    sessionId,
    userId: decision.user?.id ?? null,
    mode: params.mode,
    outcome: decision.success ? 'success' : 'failed',
    failureReason: decision.failureReason,
    confidence: decision.confidence,
    livenessScore: liveness?.score ?? null,
    qualityScore: round(decision.quality),
    processingMs,
    ip: meta.ip,
    userAgent: meta.userAgent,
  } satisfies NewAttempt;
  const event =
    decision.success && decision.user
      ? eventRow(client.id, 'authentication.success', {
          session_id: sessionId,
          user_id: decision.user.external_id,
          user_name: decision.user.name,
          confidence: decision.confidence ?? 0,
          liveness_score: liveness?.score ?? null,
          authentication_time: now.toISOString(),
          timestamp: now.toISOString(),
          device_info: { ip_address: meta.ip, user_agent: meta.userAgent },
          ...method,
        })
      : eventRow(client.id, 'authentication.failed', {
          session_id: sessionId,
          failure_reason: decision.failureReason ?? 'FAILED',
          confidence: decision.confidence,
          threshold: decision.threshold,
          attempts,
          ...(decision.mode === 'verification' && decision.user ? { user_id: decision.user.external_id } : {}),
          ...method,
        });
  const touch = decision.success && decision.user ? { userId: decision.user.id, at: now } : null;
  let attemptId: string;
  try {
    attemptId = await insertOutcome(db, attempt, event, touch);
  } catch (e) {
    // The user was deleted between the decision's read and this write (another request, another instance):
    // the attempt cannot name them, and the decision is about someone who no longer exists.
    if ((e as { code?: string }).code === '23503' && attempt.userId) throw appError('USER_NOT_FOUND', 'The user was deleted while this request was being decided');
    throw e;
  }
  if (sso) await markSsoAttempt(db, client.id, attemptId);
}

/** Attempts that end before a decision (no face): attempt row and authentication.failed event. */
export async function recordFailure(
  db: DB,
  client: ClientContext,
  sessionId: string | null,
  userId: string | null,
  mode: AuthMode,
  reason: string,
  confidence: number | null,
  liveness: number | null,
  quality: number | null,
  started: number,
  meta: RequestMeta,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await insertAttempt(trx, {
      clientId: client.id,
      sessionId,
      userId,
      mode,
      outcome: 'failed',
      failureReason: reason,
      confidence,
      livenessScore: liveness,
      qualityScore: quality,
      processingMs: performance.now() - started,
      ip: meta.ip,
      userAgent: meta.userAgent,
    });
    const attempts = sessionId ? await countSessionAttempts(trx, client.id, sessionId) : 1;
    const user = userId && mode === 'verification' ? await findFaceUser(trx, client.id, userId) : undefined;
    await recordEvent(trx, client.id, 'authentication.failed', {
      session_id: sessionId,
      failure_reason: reason,
      confidence,
      threshold: null,
      attempts,
      ...(user ? { user_id: user.external_id } : {}),
    });
  });
}

/**
 * The outcome's rows (writeOutcome), and the liveness metric when liveness was judged; a failure is
 * told to the monitor.
 *
 * @example await recordOutcome(outcomes, trx, client, sessionId, params, decision, null, attempts, started, meta)
 */
export async function recordOutcome(to: OutcomeListeners, db: Kysely<Database>, client: ClientContext, sessionId: string | null, params: AuthParams, d: Decision, liveness: LivenessResult | null, attempts: number, started: number, meta: RequestMeta): Promise<void> {
  if (liveness) to.metrics.liveness(liveness.passed, liveness.failure_reason ?? null);
  await writeOutcome(db, client, sessionId, params, d, liveness, attempts, performance.now() - started, meta);
  // Counted once its attempt row is written, so a stream's appearance counts once, as it is recorded once.
  // The monitor counts in the background (memory or Redis, never the database): nothing here waits for it.
  if (!d.success) {
    to.monitor?.faceFailure({
      clientId: client.id,
      mode: d.mode,
      user: d.user ? { id: d.user.id, externalId: d.user.external_id } : null,
      reason: d.failureReason,
      livenessReason: liveness?.failure_reason ?? null,
      ip: meta.ip,
    });
  }
}

/**
 * A session's liveness failure: its attempt and authentication.failed, and liveness.failed (naming a verification's target only).
 *
 * @example await recordLivenessFailed(outcomes, trx, client, locked.id, params, failed, liveness, attempts, started, meta, 'BELOW_THRESHOLD')
 */
export async function recordLivenessFailed(to: OutcomeListeners, db: Kysely<Database>, client: ClientContext, sessionId: string, params: AuthParams, failed: Decision, liveness: LivenessResult, attempts: number, started: number, meta: RequestMeta, reason: string): Promise<void> {
  await recordOutcome(to, db, client, sessionId, params, failed, liveness, attempts, started, meta);
  await recordEvent(db, client.id, 'liveness.failed', {
    session_id: sessionId,
    ...(failed.user ? { user_id: failed.user.external_id } : {}),
    liveness_score: liveness.score,
    checks: liveness.checks,
    challenges_completed: liveness.challenges_completed,
    reason: liveness.failure_reason ?? reason,
  });
}
