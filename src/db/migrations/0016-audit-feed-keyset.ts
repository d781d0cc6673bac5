import type { Kysely } from 'kysely';
import { execStatements } from '../exec-statements.ts';

/**
 * Indexes for walking the audit feed (GET /api/analytics/audit-logs/, keyset by (created_at, source, id)).
 * Without a category the existing (client_id, created_at) indexes serve the dense sources; these two are
 * for the sparse ones, which a page otherwise found by filtering a tenant's whole window of rows:
 * one category of audit_logs (a face-data-access export among millions of API-access entries), and the
 * two event types of the feed among every outbox event (one per attempt and enrollment). `id` last, so
 * the position's (created_at, id) bound is an index condition.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await execStatements(db, `
    CREATE INDEX audit_logs_client_category_idx ON audit_logs (client_id, category, created_at, id);
    CREATE INDEX events_client_audit_idx ON events (client_id, created_at, id) WHERE event_type IN ('enrollment.failed', 'liveness.failed');
  `);
}

export async function down(db: Kysely<any>): Promise<void> {
  await execStatements(db, `
    DROP INDEX events_client_audit_idx;
    DROP INDEX audit_logs_client_category_idx;
  `);
}
