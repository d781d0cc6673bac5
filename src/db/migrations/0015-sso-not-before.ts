import { sql, type Kysely } from 'kysely';
import { execStatements } from '../exec-statements.ts';

/**
 * `users.sso_not_before` (docs/sso.md, "Deactivation and deletion"): the time of the user's last
 * deactivation or reactivation. The OpenID Provider refuses every token and SSO session of the user issued
 * up to then, so a reactivation never hands back the sessions a deactivation cut off. Set by a trigger on
 * every change of `is_active`, whatever makes it (API, CLI, SQL), in the same transaction: every instance
 * reads it from the database and it survives restarts. clock_timestamp(), not now(): the transaction may
 * have started before tokens that are still issued until it commits.
 */
const FUNCTION = `
    CREATE FUNCTION users_sso_not_before() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.is_active IS DISTINCT FROM OLD.is_active THEN
        NEW.sso_not_before := clock_timestamp();
      END IF;
      RETURN NEW;
    END
    $$
`;

export async function up(db: Kysely<any>): Promise<void> {
  await execStatements(db, `ALTER TABLE users ADD COLUMN sso_not_before timestamptz`);
  // One statement of its own: the function's body holds semicolons (execStatements splits on them).
  await sql.raw(FUNCTION).execute(db);
  await execStatements(db, `CREATE TRIGGER users_sso_not_before BEFORE UPDATE OF is_active ON users FOR EACH ROW EXECUTE FUNCTION users_sso_not_before()`);
}

export async function down(db: Kysely<any>): Promise<void> {
  await execStatements(db, `
    DROP TRIGGER users_sso_not_before ON users;
    DROP FUNCTION users_sso_not_before();
    ALTER TABLE users DROP COLUMN sso_not_before;
  `);
}
