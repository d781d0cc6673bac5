import type { Kysely } from 'kysely';
import { execStatements } from '../exec-statements.ts';

/**
 * A tenant's audit entries about one target (a user): counted on every offline package issued
 * (offline-packages.repository.ts, the per-user cap), listed by a user's export and by the audit log's
 * `target` filter. With only (client_id, created_at) and (client_id, category, created_at, id) each of these
 * read every audit entry of the tenant, and the audit log grows with every API request: 37 ms among
 * 300 000 entries in the embedded database, 0.08 ms through this index (`node scripts/db-bench.ts`,
 * "offline packages of a user counted").
 */
export async function up(db: Kysely<any>): Promise<void> {
  await execStatements(db, `CREATE INDEX audit_logs_target_idx ON audit_logs (client_id, target, created_at) WHERE target IS NOT NULL`);
}

export async function down(db: Kysely<any>): Promise<void> {
  await execStatements(db, `DROP INDEX audit_logs_target_idx`);
}
