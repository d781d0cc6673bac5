import type { Kysely } from 'kysely';
import { execStatements } from '../exec-statements.ts';

/**
 * Statistics on a session's liveness challenge set, so that the planner takes sessions_liveness_claim_idx
 * (migration 0020) for the newest session of a claim (liveness-order.repository.ts). PostgreSQL keeps no
 * statistics for the expression of a partial index, so it guessed that 0.5 % of a tenant's sessions belong
 * to any set, and for `ORDER BY created_at DESC LIMIT 1` walked the tenant's sessions backwards by time,
 * filtering, instead: every session of the day when the claim had none recently (0.93 ms for 5 000
 * sessions against 0.06 through the index; lookup-indexes.test.ts reads the plan).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await execStatements(db, `CREATE STATISTICS sessions_liveness_set_stats ON (params->>'liveness_set') FROM sessions`);
}

export async function down(db: Kysely<any>): Promise<void> {
  await execStatements(db, `DROP STATISTICS sessions_liveness_set_stats`);
}
