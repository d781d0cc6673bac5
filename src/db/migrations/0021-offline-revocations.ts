import { sql, type Kysely } from 'kysely';
import { execStatements } from '../exec-statements.ts';

/**
 * `offline_revocations` (docs/offline.md, "Recall"): per tenant and user, the time before which the user's
 * offline packages are refused by a device holding the signed revocation list (GET /api/offline/revocations/).
 * A trigger on `users` records every deactivation, reactivation and deletion, whatever makes it (API, CLI,
 * SQL), in the same transaction; POST /api/offline/revocations/ records an explicit recall. A reactivation
 * moves the time forward to the reactivation: every package issued before it dates from before the
 * deactivation (a deactivated user gets none), and only packages issued after it verify again.
 * clock_timestamp(), not now(): the transaction may have started before packages still issued until it commits.
 * The time only moves forward (GREATEST). The deletion of a whole client (its users cascade) records nothing:
 * the client row is already gone, and its rows here go with it.
 */
const FUNCTION = `
    CREATE FUNCTION users_offline_revocation() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      u users%ROWTYPE;
      why text;
    BEGIN
      IF TG_OP = 'DELETE' THEN
        u := OLD;
        why := 'deleted';
        IF NOT EXISTS (SELECT 1 FROM clients WHERE id = OLD.client_id) THEN
          RETURN OLD;
        END IF;
      ELSIF NEW.is_active IS DISTINCT FROM OLD.is_active THEN
        u := NEW;
        why := CASE WHEN NEW.is_active THEN 'reactivated' ELSE 'deactivated' END;
      ELSE
        RETURN NEW;
      END IF;
      INSERT INTO offline_revocations (client_id, user_id, revoked_before, reason)
        VALUES (u.client_id, u.id, clock_timestamp(), why)
        ON CONFLICT (client_id, user_id) DO UPDATE
          SET revoked_before = GREATEST(offline_revocations.revoked_before, EXCLUDED.revoked_before), reason = EXCLUDED.reason;
      IF TG_OP = 'DELETE' THEN
        RETURN OLD;
      END IF;
      RETURN NEW;
    END
    $$
`;

export async function up(db: Kysely<any>): Promise<void> {
  await execStatements(db, `
    CREATE TABLE offline_revocations (
      client_id uuid NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
      user_id uuid NOT NULL,
      revoked_before timestamptz NOT NULL,
      reason text NOT NULL,
      PRIMARY KEY (client_id, user_id)
    )
  `);
  // One statement of its own: the function's body holds semicolons (execStatements splits on them).
  await sql.raw(FUNCTION).execute(db);
  await execStatements(db, `
    CREATE TRIGGER users_offline_revocation AFTER UPDATE OF is_active OR DELETE ON users FOR EACH ROW EXECUTE FUNCTION users_offline_revocation()
  `);
}

export async function down(db: Kysely<any>): Promise<void> {
  await execStatements(db, `
    DROP TRIGGER users_offline_revocation ON users;
    DROP FUNCTION users_offline_revocation();
    DROP TABLE offline_revocations;
  `);
}
