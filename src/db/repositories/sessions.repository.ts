import { sql, type Kysely, type Transaction } from 'kysely';
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
