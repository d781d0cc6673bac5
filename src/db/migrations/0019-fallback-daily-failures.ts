import type { Kysely } from 'kysely';
import { execStatements } from '../exec-statements.ts';

/**
 * The times (epoch ms) of a fallback credential's wrong guesses in the last 24 hours, at most the daily cap
 * of them. A success no longer gives an attacker a fresh budget: the cap counts wrong guesses per rolling
 * day whatever happened in between (fallback.service.ts, docs/fallbacks.md). A new secret or an unlock
 * empties it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await execStatements(db, `ALTER TABLE fallback_credentials ADD COLUMN recent_failures jsonb NOT NULL DEFAULT '[]'::jsonb`);
}

export async function down(db: Kysely<any>): Promise<void> {
  await execStatements(db, `ALTER TABLE fallback_credentials DROP COLUMN recent_failures`);
}
