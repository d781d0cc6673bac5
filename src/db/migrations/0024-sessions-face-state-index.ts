import type { Kysely } from 'kysely';
import { execStatements } from '../exec-statements.ts';

/**
 * The active sessions that still hold a face, by tenant. Deleting a user locks and ends the active sessions
 * whose state names them (sessions.repository.ts, lockSessionsOfUser and endSessionsHolding); sessions are
 * kept for analytics, and abandoned ones stay 'active' past their expiry, so that read every session the
 * tenant ever had: 62 + 64 ms per user deleted at 200 000 sessions in the embedded database. The retention
 * sweep strips the face state of ended and expired sessions within minutes, so this index holds about the
 * sessions in progress. Its predicate is the queries' own condition (activeWithFace in sessions.repository.ts), literals and all.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await execStatements(db, `
    CREATE INDEX sessions_face_state_idx ON sessions (client_id)
      WHERE status = 'active' AND jsonb_strip_nulls(state) ?| ARRAY['anchor', 'thumb', 'shape', 'planar', 'best', 'frames', 'votes', 'performers', 'shown']::text[]
  `);
}

export async function down(db: Kysely<any>): Promise<void> {
  await execStatements(db, `DROP INDEX sessions_face_state_idx`);
}
