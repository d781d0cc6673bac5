import type { Kysely } from 'kysely';
import { execStatements } from '../exec-statements.ts';

/**
 * Retention of events (retention.service.ts): an event is deleted only when no delivery of it is still
 * pending, which the sweep looks up by event id among the pending deliveries (a small partial index).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await execStatements(db, `CREATE INDEX webhook_deliveries_pending_event_idx ON webhook_deliveries (event_id) WHERE status = 'pending'`);
}

export async function down(db: Kysely<any>): Promise<void> {
  await execStatements(db, `DROP INDEX webhook_deliveries_pending_event_idx`);
}
