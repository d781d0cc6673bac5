import type { Kysely } from 'kysely';
import { execStatements } from '../exec-statements.ts';

/**
 * Lock-outs of a fallback credential in a row (since its last success, a new secret or a support
 * unlock): each lasts twice the one before, so guessing a PIN is no longer a flat 5 tries per
 * 15 minutes (fallback.service.ts, docs/fallbacks.md).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await execStatements(db, `ALTER TABLE fallback_credentials ADD COLUMN lockouts integer NOT NULL DEFAULT 0`);
}

export async function down(db: Kysely<any>): Promise<void> {
  await execStatements(db, `ALTER TABLE fallback_credentials DROP COLUMN lockouts`);
}
