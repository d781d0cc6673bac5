import type { Kysely } from 'kysely';
import { execStatements } from '../exec-statements.ts';

/**
 * The webhook circuit breaker's state moves from each dispatching process's memory into the endpoint's
 * row, so several instances on one database pause a failing endpoint together (services/webhooks/
 * circuit-breaker.ts): the failures in a row, the current pause, until when it lasts, and the claim id
 * of the one delivery that tries the endpoint after a pause.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await execStatements(db, `
    ALTER TABLE webhook_endpoints
      ADD COLUMN circuit_failures integer NOT NULL DEFAULT 0,
      ADD COLUMN circuit_open_ms integer NOT NULL DEFAULT 0,
      ADD COLUMN circuit_open_until timestamptz,
      ADD COLUMN circuit_probe uuid
  `);
}

export async function down(db: Kysely<any>): Promise<void> {
  await execStatements(db, `
    ALTER TABLE webhook_endpoints
      DROP COLUMN circuit_failures,
      DROP COLUMN circuit_open_ms,
      DROP COLUMN circuit_open_until,
      DROP COLUMN circuit_probe
  `);
}
