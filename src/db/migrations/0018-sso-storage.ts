import type { Kysely } from 'kysely';
import { execStatements } from '../exec-statements.ts';

/**
 * The OpenID Provider's storage (docs/sso.md, "At rest" and "Several instances"):
 *
 * - `oidc_payloads_unsealed_idx`: the periodic sweep of rows an earlier version stored in the clear
 *   (`payload->>'sealed' IS NULL`, sso.repository.ts deleteUnsealedPayloads) ran a sequential scan of the
 *   whole table once a minute per instance (about 0.3 s on 200,000 rows); this partial index holds only such
 *   rows (none once an upgrade is over), so the sweep reads an empty index.
 * - An interaction's uid is stored hashed from now on (the provider's Interaction row and `sso_logins`),
 *   as every other provider id is. Rows of sign-ins in progress keyed by the uid itself are deleted: they
 *   live at most 10 minutes, and the person starts the sign-in again from the application.
 * - `sso_logins.decoy`: the face session running is a decoy (a login_hint naming nobody who can sign in),
 *   whose frames do the reads a verification's do, so that their time does not tell (sso-login.service.ts).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await execStatements(db, `
    CREATE INDEX oidc_payloads_unsealed_idx ON oidc_payloads (model) WHERE (payload->>'sealed') IS NULL;
    DELETE FROM oidc_payloads WHERE model = 'Interaction';
    DELETE FROM sso_logins;
    ALTER TABLE sso_logins ADD COLUMN decoy boolean NOT NULL DEFAULT false;
  `);
}

export async function down(db: Kysely<any>): Promise<void> {
  await execStatements(db, `
    ALTER TABLE sso_logins DROP COLUMN decoy;
    DROP INDEX oidc_payloads_unsealed_idx;
  `);
}
