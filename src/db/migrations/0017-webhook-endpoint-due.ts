import type { Kysely } from 'kysely';
import { execStatements } from '../exec-statements.ts';

/**
 * The dispatcher's due deliveries per endpoint (WebhooksRepository.dueCandidates, msUntilNextDue): the
 * pending deliveries of one endpoint in due order, so a pass reads the first few of each endpoint with
 * pending deliveries (found by skipping from one endpoint_id to the next) instead of every due delivery.
 * Before, a replayed backlog of 10,000 deliveries was read and sorted whole on every pass.
 *
 * It replaces webhook_deliveries_due_idx (next_attempt_at, pending only), which nothing else reads: left
 * in place, the planner kept choosing it whenever its statistics predated a bulk replay (it then expects
 * one pending row; the embedded database never analyzes by itself), and walked the whole backlog again.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await execStatements(db, `
    CREATE INDEX webhook_deliveries_endpoint_due_idx ON webhook_deliveries (endpoint_id, next_attempt_at, id) WHERE status = 'pending';
    DROP INDEX webhook_deliveries_due_idx
  `);
}

export async function down(db: Kysely<any>): Promise<void> {
  await execStatements(db, `
    CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
    DROP INDEX webhook_deliveries_endpoint_due_idx
  `);
}
