import type { Kysely } from 'kysely';
import { execStatements } from '../exec-statements.ts';

/**
 * Indexes for analytics (M1–M5). Time-window counts of enrollments per tenant, and sessions by
 * expiry: open sessions (system-metrics active_sessions) and sessions overlapping a window
 * (dashboard peak_concurrent_sessions) without scanning a tenant's whole session history.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await execStatements(db, `
    CREATE INDEX IF NOT EXISTS enrollments_client_created_idx ON enrollments (client_id, created_at);
    CREATE INDEX IF NOT EXISTS sessions_client_expires_idx ON sessions (client_id, expires_at);
  `);
}

export async function down(db: Kysely<any>): Promise<void> {
  await execStatements(db, `
    DROP INDEX IF EXISTS sessions_client_expires_idx;
    DROP INDEX IF EXISTS enrollments_client_created_idx;
  `);
}
