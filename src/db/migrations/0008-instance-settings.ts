import type { Kysely } from 'kysely';
import { execStatements } from '../exec-statements.ts';

/**
 * Settings of the installation itself, kept with its data: today the master key's check value (a keyed
 * fingerprint, never the key), so a server started with another key refuses instead of failing later.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await execStatements(db, `
    CREATE TABLE instance_settings (
      key text PRIMARY KEY,
      value text NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    );
  `);
}

export async function down(db: Kysely<any>): Promise<void> {
  await execStatements(db, `DROP TABLE instance_settings;`);
}
