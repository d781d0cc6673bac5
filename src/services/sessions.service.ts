import crypto from 'node:crypto';
import type { Transaction } from 'kysely';
import type { DB } from '../db/database.ts';
import type { Database, SessionTable } from '../db/schema.ts';
import { appError } from '../errors.ts';
import { findSessionByToken, insertSession, lockSession, updateSession, type NewSession, type SessionRow } from '../db/repositories/sessions.repository.ts';

/** A new session token: 32 random bytes, base64url. Only its SHA-256 is stored. */
export function newSessionToken(): { token: string; hash: string } {
  const token = crypto.randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * Session persistence shared by enrollment and authentication. State lives in the database so
 * any API instance behind a load balancer can serve the next frame.
 *
 * @example
 *   const s = await sessions.open(clientId, 'enrollment', token);            // checks, no lock
 *   const out = await engine.analyze(frame, …);                              // slow, outside any transaction
 *   await sessions.update(s.id, (locked, trx) => ({ state: next(locked.state, out) }));
 */
export class SessionStore {
  private readonly db: DB;
  constructor(db: DB) {
    this.db = db;
  }

  async create(s: Omit<NewSession, 'tokenHash'>): Promise<{ token: string }> {
    const { token, hash } = newSessionToken();
    await insertSession(this.db, { ...s, tokenHash: hash });
    return { token };
  }

  /**
   * Inserts the session `build` returns, in the transaction `build` ran in (its reads and locks, e.g. the
   * liveness order carried over from the claim's earlier session, hold until the row is in).
   */
  async createWith<T extends Omit<NewSession, 'tokenHash'>>(build: (trx: Transaction<Database>) => Promise<T>): Promise<{ token: string; session: T }> {
    const { token, hash } = newSessionToken();
    return this.db.transaction().execute(async (trx) => {
      const session = await build(trx);
      await insertSession(trx, { ...session, tokenHash: hash });
      return { token, session };
    });
  }

  /**
   * The active session a token opens for this client. Missing, malformed or another client's token:
   * SESSION_NOT_FOUND (404); past expires_at: SESSION_EXPIRED (410); already finished: SESSION_COMPLETED (409).
   */
  async open(
    clientId: string,
    kind: SessionTable['kind'],
    token: string | undefined,
    onExpired?: (session: SessionRow, trx: Transaction<Database>) => Promise<void>,
  ): Promise<SessionRow> {
    if (!token || token.length > 200) throw appError('SESSION_NOT_FOUND', 'Missing or unknown X-Session-Token');
    const s = await findSessionByToken(this.db, clientId, kind, hashToken(token));
    if (!s) throw appError('SESSION_NOT_FOUND', 'Unknown session token');
    if (s.status === 'active' && s.expires_at.getTime() <= Date.now()) {
      // The first request after expiry closes the session (once, under the row lock) and lets the
      // caller record the outcome, e.g. enrollment.failed with SESSION_EXPIRED.
      await this.db.transaction().execute(async (trx) => {
        const locked = await lockSession(trx, s.id);
        if (locked?.status !== 'active') return;
        await updateSession(trx, s.id, { status: 'expired' });
        await onExpired?.(locked, trx);
      });
      throw appError('SESSION_EXPIRED');
    }
    assertUsable(s, new Date());
    return s;
  }

  /**
   * Applies `change` to the session under a row lock in one short transaction; the callback sees the
   * latest state (another frame may have landed meanwhile) and may write related rows (attempts,
   * events) in the same transaction.
   */
  async update<R extends { state?: object; status?: string; result: unknown }>(
    id: string,
    change: (locked: SessionRow, trx: Transaction<Database>) => Promise<R>,
  ): Promise<R['result']> {
    return this.db.transaction().execute(async (trx) => {
      const locked = await lockSession(trx, id);
      if (!locked) throw appError('SESSION_NOT_FOUND');
      assertUsable(locked, new Date());
      const out = await change(locked, trx);
      if (out.state || out.status) await updateSession(trx, id, { state: out.state as Record<string, unknown> | undefined, status: out.status });
      return out.result;
    });
  }
}

function assertUsable(s: SessionRow, now: Date): void {
  if (s.status === 'expired') throw appError('SESSION_EXPIRED');
  if (s.status !== 'active') {
    throw appError('SESSION_COMPLETED', `The session is already ${s.status === 'completed' ? 'completed' : s.status}`);
  }
  if (s.expires_at.getTime() <= now.getTime()) throw appError('SESSION_EXPIRED');
}
