import type { Kysely } from 'kysely';
import { execStatements } from '../exec-statements.ts';

/** The initial schema: tenants, keys, users, enrollments, encrypted templates, sessions, attempts, outbox, audit. */
export async function up(db: Kysely<any>): Promise<void> {
  await execStatements(db, `
    CREATE TABLE clients (
      id uuid PRIMARY KEY,
      name text NOT NULL,
      tier text NOT NULL CHECK (tier IN ('basic', 'premium', 'enterprise')),
      max_users integer,
      calls_per_hour integer,
      ip_allowlist jsonb NOT NULL DEFAULT '[]'::jsonb,
      settings jsonb NOT NULL DEFAULT '{}'::jsonb,
      is_active boolean NOT NULL DEFAULT true,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE api_keys (
      id uuid PRIMARY KEY,
      client_id uuid NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
      key text NOT NULL UNIQUE,
      secret_hash text NOT NULL,
      name text,
      ip_allowlist jsonb NOT NULL DEFAULT '[]'::jsonb,
      expires_at timestamptz,
      revoked_at timestamptz,
      replaced_by uuid,
      last_used_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX api_keys_client_idx ON api_keys (client_id);

    CREATE TABLE users (
      id uuid PRIMARY KEY,
      client_id uuid NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
      external_id text NOT NULL,
      name text NOT NULL,
      email text,
      metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
      is_active boolean NOT NULL DEFAULT true,
      last_authentication timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (client_id, external_id)
    );
    CREATE INDEX users_client_created_idx ON users (client_id, created_at, id);

    CREATE TABLE enrollments (
      id uuid PRIMARY KEY,
      client_id uuid NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      session_id uuid,
      source text NOT NULL,
      model_id text NOT NULL,
      quality_score real NOT NULL,
      face_count integer NOT NULL,
      average_confidence real NOT NULL,
      angles jsonb NOT NULL DEFAULT '[]'::jsonb,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX enrollments_user_idx ON enrollments (client_id, user_id);

    -- Embeddings only, AES-256-GCM encrypted (src/crypto/template-cipher.ts); never plaintext.
    CREATE TABLE face_templates (
      id uuid PRIMARY KEY,
      client_id uuid NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      enrollment_id uuid NOT NULL REFERENCES enrollments(id) ON DELETE CASCADE,
      model_id text NOT NULL,
      dim integer NOT NULL,
      ciphertext bytea NOT NULL,
      angle text,
      quality real,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX face_templates_client_model_idx ON face_templates (client_id, model_id);
    CREATE INDEX face_templates_user_idx ON face_templates (user_id);

    -- Only when a client opts in (settings.store_photos); encrypted like templates.
    CREATE TABLE face_photos (
      id uuid PRIMARY KEY,
      client_id uuid NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      enrollment_id uuid NOT NULL REFERENCES enrollments(id) ON DELETE CASCADE,
      content_type text NOT NULL,
      ciphertext bytea NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE sessions (
      id uuid PRIMARY KEY,
      client_id uuid NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
      kind text NOT NULL CHECK (kind IN ('enrollment', 'authentication', 'streaming')),
      token_hash text NOT NULL UNIQUE,
      user_id uuid REFERENCES users(id) ON DELETE CASCADE,
      mode text,
      params jsonb NOT NULL DEFAULT '{}'::jsonb,
      state jsonb NOT NULL DEFAULT '{}'::jsonb,
      status text NOT NULL DEFAULT 'active',
      expires_at timestamptz NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX sessions_client_idx ON sessions (client_id, created_at);

    CREATE TABLE auth_attempts (
      id uuid PRIMARY KEY,
      client_id uuid NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
      session_id uuid,
      user_id uuid REFERENCES users(id) ON DELETE SET NULL,
      mode text NOT NULL,
      outcome text NOT NULL CHECK (outcome IN ('success', 'failed')),
      failure_reason text,
      confidence real,
      liveness_score real,
      quality_score real,
      processing_ms real,
      ip text,
      user_agent text,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX auth_attempts_client_idx ON auth_attempts (client_id, created_at);

    -- Transactional outbox: every domain event is written here in the same transaction as its cause.
    CREATE TABLE events (
      id uuid PRIMARY KEY,
      client_id uuid NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
      event_type text NOT NULL,
      payload jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX events_client_idx ON events (client_id, created_at);

    CREATE TABLE audit_logs (
      id uuid PRIMARY KEY,
      client_id uuid REFERENCES clients(id) ON DELETE CASCADE,
      category text NOT NULL,
      action text NOT NULL,
      actor text,
      target text,
      details jsonb NOT NULL DEFAULT '{}'::jsonb,
      ip text,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX audit_logs_client_idx ON audit_logs (client_id, created_at);
  `);
}

export async function down(db: Kysely<any>): Promise<void> {
  await execStatements(db, `
    DROP TABLE audit_logs; DROP TABLE events; DROP TABLE auth_attempts; DROP TABLE sessions;
    DROP TABLE face_photos; DROP TABLE face_templates; DROP TABLE enrollments; DROP TABLE users;
    DROP TABLE api_keys; DROP TABLE clients;
  `);
}
