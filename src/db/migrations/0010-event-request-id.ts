import type { Kysely } from 'kysely';
import { execStatements } from '../exec-statements.ts';

/**
 * The id of the HTTP request that caused an event (X-Request-Id): webhook deliveries send it on and log
 * it, so one id joins the API log, the delivery log and the receiver's log (docs/operations.md).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await execStatements(db, `ALTER TABLE events ADD COLUMN request_id text;`);
}

export async function down(db: Kysely<any>): Promise<void> {
  await execStatements(db, `ALTER TABLE events DROP COLUMN request_id;`);
}
