import type { Kysely } from 'kysely';
import { execStatements } from '../exec-statements.ts';

/**
 * Fallbacks (C5): one PIN/password credential per user (scrypt hash only, with its lock-out
 * counters), the method of each authentication attempt, and the manual-review queue for users who
 * cannot enroll, whose photos are kept encrypted only until the review is decided.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await execStatements(db, `
    CREATE TABLE fallback_credentials (
      user_id uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
      client_id uuid NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
      kind text NOT NULL CHECK (kind IN ('pin', 'password')),
      secret_hash text NOT NULL,
      failed_attempts integer NOT NULL DEFAULT 0,
      locked_until timestamptz,
      last_used_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX fallback_credentials_client_idx ON fallback_credentials (client_id);

    -- face (every row before this migration), pin or password.
    ALTER TABLE auth_attempts ADD COLUMN method text NOT NULL DEFAULT 'face';

    CREATE TABLE review_requests (
      id uuid PRIMARY KEY,
      client_id uuid NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
      reason text NOT NULL,
      notes text,
      quality_threshold real NOT NULL,
      photo_count integer NOT NULL,
      outcome text CHECK (outcome IN ('enrolled', 'manually_verified')),
      enrollment_id uuid REFERENCES enrollments(id) ON DELETE SET NULL,
      decision_notes text,
      rejection_reason text,
      submitted_by text,
      decided_by text,
      decided_at timestamptz,
      photos_deleted_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX review_requests_client_status_idx ON review_requests (client_id, status, created_at);
    CREATE INDEX review_requests_user_idx ON review_requests (client_id, user_id);

    -- Encrypted like templates (AAD names tenant and photo); deleted once the review is decided.
    CREATE TABLE review_photos (
      id uuid PRIMARY KEY,
      client_id uuid NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
      review_id uuid NOT NULL REFERENCES review_requests(id) ON DELETE CASCADE,
      position integer NOT NULL,
      content_type text NOT NULL,
      byte_length integer NOT NULL,
      face_detected boolean,
      quality_score real,
      ciphertext bytea NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX review_photos_review_idx ON review_photos (review_id, position);
  `);
}

export async function down(db: Kysely<any>): Promise<void> {
  await execStatements(db, `
    DROP TABLE review_photos;
    DROP TABLE review_requests;
    ALTER TABLE auth_attempts DROP COLUMN method;
    DROP TABLE fallback_credentials;
  `);
}
