import { sql, type Kysely } from 'kysely';
import { execStatements } from '../exec-statements.ts';

/**
 * Right to deletion, made exact:
 * - `events.subject_user_id`: the user an event is about, resolved when the event is written (the
 *   payload names the user by the external id it had then; an external id can change later, so the
 *   deletion's redaction could not find those events by the current one). Filled by a trigger, so every
 *   way an event is written (one statement with its attempt, a plain insert) records it; existing events
 *   are matched once here by the ids their users have now.
 * - `sessions_expires_idx`: the sweep that drops the face state of ended sessions looks only at the
 *   sessions that expired since its last run.
 */
/** user.created and user.updated carry the uuid as payload.id; the other events the external id as user_id. */
const SUBJECT_FUNCTION = `
    CREATE FUNCTION events_subject_user() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.subject_user_id IS NULL THEN
        IF NEW.payload->>'id' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
          SELECT id INTO NEW.subject_user_id FROM users WHERE client_id = NEW.client_id AND id = (NEW.payload->>'id')::uuid;
        END IF;
        IF NEW.subject_user_id IS NULL AND NEW.payload->>'user_id' IS NOT NULL THEN
          SELECT id INTO NEW.subject_user_id FROM users WHERE client_id = NEW.client_id AND external_id = NEW.payload->>'user_id';
        END IF;
      END IF;
      RETURN NEW;
    END
    $$
`;

export async function up(db: Kysely<any>): Promise<void> {
  await execStatements(db, `
    ALTER TABLE events ADD COLUMN subject_user_id uuid;

    UPDATE events e SET subject_user_id = u.id
      FROM users u
      WHERE u.client_id = e.client_id
        AND (u.external_id = e.payload->>'user_id' OR u.id::text = e.payload->>'user_id' OR u.id::text = e.payload->>'id');

    CREATE INDEX events_subject_idx ON events (client_id, subject_user_id) WHERE subject_user_id IS NOT NULL;
  `);
  // One statement of its own: the function's body holds semicolons (execStatements splits on them).
  await sql.raw(SUBJECT_FUNCTION).execute(db);
  await execStatements(db, `
    CREATE TRIGGER events_subject_user BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION events_subject_user();

    CREATE INDEX sessions_expires_idx ON sessions (expires_at);
  `);
}

export async function down(db: Kysely<any>): Promise<void> {
  await execStatements(db, `
    DROP INDEX sessions_expires_idx;
    DROP TRIGGER events_subject_user ON events;
    DROP FUNCTION events_subject_user();
    DROP INDEX events_subject_idx;
    ALTER TABLE events DROP COLUMN subject_user_id;
  `);
}
