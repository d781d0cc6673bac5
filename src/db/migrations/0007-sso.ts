import type { Kysely } from 'kysely';
import { execStatements } from '../exec-statements.ts';

/**
 * SSO (C4): relying-party applications registered by tenants, the OpenID Provider's own state
 * (grants, codes, sessions, interactions, tokens; one row per stored model instance, so every
 * instance behind a load balancer sees the same state), its encrypted keys, and the face login
 * attached to each interaction.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await execStatements(db, `
    CREATE TABLE sso_clients (
      id text PRIMARY KEY,
      client_id uuid NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
      name text NOT NULL,
      redirect_uris jsonb NOT NULL,
      post_logout_redirect_uris jsonb NOT NULL DEFAULT '[]',
      token_endpoint_auth_method text NOT NULL DEFAULT 'client_secret_basic',
      -- AES-256-GCM under a key derived from the master key (the provider compares it in plaintext).
      secret_ciphertext bytea,
      liveness_challenges jsonb NOT NULL,
      max_attempts integer NOT NULL DEFAULT 3,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX sso_clients_client_idx ON sso_clients (client_id, created_at);

    CREATE TABLE oidc_payloads (
      model text NOT NULL,
      id text NOT NULL,
      payload jsonb NOT NULL,
      grant_id text,
      user_code text,
      uid text,
      expires_at timestamptz,
      consumed_at timestamptz,
      PRIMARY KEY (model, id)
    );
    CREATE INDEX oidc_payloads_grant_idx ON oidc_payloads (grant_id) WHERE grant_id IS NOT NULL;
    CREATE INDEX oidc_payloads_uid_idx ON oidc_payloads (model, uid) WHERE uid IS NOT NULL;
    CREATE INDEX oidc_payloads_expires_idx ON oidc_payloads (expires_at);

    CREATE TABLE sso_keys (
      kind text NOT NULL,
      id text NOT NULL,
      ciphertext bytea NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (kind, id)
    );

    CREATE TABLE sso_logins (
      uid text PRIMARY KEY,
      client_id uuid NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
      sso_client_id text NOT NULL,
      user_id uuid REFERENCES users(id) ON DELETE CASCADE,
      session_id uuid REFERENCES sessions(id) ON DELETE SET NULL,
      session_token_ciphertext bytea,
      sessions_started integer NOT NULL DEFAULT 0,
      status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'succeeded', 'denied')),
      expires_at timestamptz NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX sso_logins_expires_idx ON sso_logins (expires_at);
  `);
}

export async function down(db: Kysely<any>): Promise<void> {
  await execStatements(db, `
    DROP TABLE sso_logins;
    DROP TABLE sso_keys;
    DROP TABLE oidc_payloads;
    DROP TABLE sso_clients;
  `);
}
