import type { Kysely } from 'kysely';
import { execStatements } from '../exec-statements.ts';

/**
 * A session's attempts by index. Every failed attempt of an authentication session counts the session's
 * attempts so far (`countSessionAttempts`, the `attempts` of its authentication.failed event), inside the
 * write transaction that records it. auth_attempts had no index on session_id, so the count read the whole
 * table: 52 ms among 400 000 attempts in the embedded database, which answers nothing else meanwhile
 * (`node scripts/db-bench.ts`, "a session's attempts counted"). Attempts without a session (one-shot calls)
 * stay out of the index.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await execStatements(db, `CREATE INDEX auth_attempts_session_idx ON auth_attempts (session_id) WHERE session_id IS NOT NULL`);
}

export async function down(db: Kysely<any>): Promise<void> {
  await execStatements(db, `DROP INDEX auth_attempts_session_idx`);
}
