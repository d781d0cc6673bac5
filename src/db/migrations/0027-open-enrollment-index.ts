import type { Kysely } from 'kysely';
import { execStatements } from '../exec-statements.ts';

/**
 * The enrollment sessions still open, by expiry. The session sweep closes those past their expiry with their
 * `enrollment.failed` (services/enrollment.expiry.ts): a client that gives up sends no further request, so
 * nothing else would. Sessions are kept for analytics; sessions_expires_idx (expires_at) alone would walk
 * every session that ever expired to find the few still open. The sweep closes them within minutes, so this
 * index holds about the enrollments in progress. Its predicate is the query's own (expiredActiveSessions),
 * literals and all.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await execStatements(db, `
    CREATE INDEX sessions_open_enrollment_idx ON sessions (expires_at) WHERE status = 'active' AND kind = 'enrollment'
  `);
}

export async function down(db: Kysely<any>): Promise<void> {
  await execStatements(db, `DROP INDEX sessions_open_enrollment_idx`);
}
