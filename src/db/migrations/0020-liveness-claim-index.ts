import type { Kysely } from 'kysely';
import { execStatements } from '../exec-statements.ts';

/**
 * The newest liveness session of a claim (src/services/authentication.order.ts: the challenge order is held per
 * tenant, claimed user and challenge set until a session is judged) is looked up on every new liveness session.
 * With only (client_id, created_at) that walked back through all of the tenant's sessions of the last day until
 * one of the claim: a busy tenant's identifications, or a user without a recent session, read every row of it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await execStatements(db, `
    CREATE INDEX sessions_liveness_claim_idx ON sessions (client_id, user_id, (params->>'liveness_set'), created_at)
      WHERE kind = 'authentication'
  `);
}

export async function down(db: Kysely<any>): Promise<void> {
  await execStatements(db, `DROP INDEX sessions_liveness_claim_idx`);
}
