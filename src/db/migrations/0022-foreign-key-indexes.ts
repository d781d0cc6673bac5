import type { Kysely } from 'kysely';
import { execStatements } from '../exec-statements.ts';

/**
 * An index for every foreign key that had none (test/integration/lookup-indexes.test.ts keeps it so).
 * Deleting a user cascades to their enrollments, photos, sessions, review requests and SSO logins and sets
 * their attempts' user_id to null; deleting an enrollment or a session does the same to the rows that name it.
 * PostgreSQL finds those rows through an index on the referencing column or by reading the whole table,
 * and an index led by client_id does not serve a lookup by user_id alone. So every user deleted (the API,
 * CompreFace's subject deletes, the retention sweeps) read every attempt and every session of the
 * database: 62 ms a user with 400 000 attempts and 200 000 sessions in the embedded database, which
 * answers nothing else meanwhile, and a thousand users deleted took a minute (scripts/db-bench.ts,
 * "user deleted"). The nullable keys get partial indexes (the cascades never look for null).
 * On a large PostgreSQL database the build holds writes to these tables for its duration (docs/operations.md, "Upgrades").
 */
export async function up(db: Kysely<any>): Promise<void> {
  await execStatements(db, `
    CREATE INDEX auth_attempts_user_idx ON auth_attempts (user_id) WHERE user_id IS NOT NULL;
    CREATE INDEX sessions_user_idx ON sessions (user_id) WHERE user_id IS NOT NULL;
    CREATE INDEX enrollments_user_only_idx ON enrollments (user_id);
    CREATE INDEX face_templates_enrollment_idx ON face_templates (enrollment_id);
    CREATE INDEX face_photos_user_idx ON face_photos (user_id);
    CREATE INDEX face_photos_enrollment_idx ON face_photos (enrollment_id);
    CREATE INDEX face_photos_client_idx ON face_photos (client_id);
    CREATE INDEX review_requests_user_only_idx ON review_requests (user_id);
    CREATE INDEX review_requests_enrollment_idx ON review_requests (enrollment_id) WHERE enrollment_id IS NOT NULL;
    CREATE INDEX review_photos_client_idx ON review_photos (client_id);
    CREATE INDEX sso_logins_client_idx ON sso_logins (client_id);
    CREATE INDEX sso_logins_user_idx ON sso_logins (user_id) WHERE user_id IS NOT NULL;
    CREATE INDEX sso_logins_session_idx ON sso_logins (session_id) WHERE session_id IS NOT NULL
  `);
}

export async function down(db: Kysely<any>): Promise<void> {
  await execStatements(db, `
    DROP INDEX auth_attempts_user_idx; DROP INDEX sessions_user_idx; DROP INDEX enrollments_user_only_idx;
    DROP INDEX face_templates_enrollment_idx; DROP INDEX face_photos_user_idx; DROP INDEX face_photos_enrollment_idx;
    DROP INDEX face_photos_client_idx; DROP INDEX review_requests_user_only_idx; DROP INDEX review_requests_enrollment_idx;
    DROP INDEX review_photos_client_idx; DROP INDEX sso_logins_client_idx; DROP INDEX sso_logins_user_idx; DROP INDEX sso_logins_session_idx
  `);
}
