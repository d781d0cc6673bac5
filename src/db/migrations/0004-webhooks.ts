import type { Kysely } from 'kysely';
import { execStatements } from '../exec-statements.ts';

/**
 * Webhooks: endpoints per client, one delivery row per (endpoint, event), and a fan-out mark on the
 * outbox. `events.dispatched_at` (not a cursor) because outbox rows commit out of created_at order:
 * a cursor would skip an event whose transaction committed after a later one was fanned out.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await execStatements(db, `
    ALTER TABLE events ADD COLUMN dispatched_at timestamptz;
    -- Events written before webhooks existed have no endpoint to go to.
    UPDATE events SET dispatched_at = created_at;
    CREATE INDEX events_undispatched_idx ON events (created_at) WHERE dispatched_at IS NULL;

    CREATE TABLE webhook_endpoints (
      id uuid PRIMARY KEY,
      client_id uuid NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
      url text NOT NULL,
      events jsonb NOT NULL,
      secret text NOT NULL,
      is_active boolean NOT NULL DEFAULT true,
      max_retries integer NOT NULL CHECK (max_retries >= 0),
      backoff_strategy text NOT NULL CHECK (backoff_strategy IN ('exponential', 'linear', 'fixed')),
      retry_delay double precision NOT NULL CHECK (retry_delay >= 0),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX webhook_endpoints_client_idx ON webhook_endpoints (client_id, created_at);

    -- next_attempt_at doubles as the claim lease: a claim pushes it past the send timeout, so a
    -- crashed sender's delivery becomes due again by itself. claim_id fences a stale sender's result.
    CREATE TABLE webhook_deliveries (
      id uuid PRIMARY KEY,
      client_id uuid NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
      endpoint_id uuid NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
      event_id uuid NOT NULL,
      event_type text NOT NULL,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
      attempts integer NOT NULL DEFAULT 0,
      next_attempt_at timestamptz NOT NULL DEFAULT now(),
      claim_id uuid,
      last_status_code integer,
      last_error text,
      response_ms real,
      created_at timestamptz NOT NULL DEFAULT now(),
      delivered_at timestamptz,
      UNIQUE (endpoint_id, event_id)
    );
    CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
    CREATE INDEX webhook_deliveries_client_idx ON webhook_deliveries (client_id, created_at)
  `);
}

export async function down(db: Kysely<any>): Promise<void> {
  await execStatements(db, `
    DROP TABLE webhook_deliveries;
    DROP TABLE webhook_endpoints;
    DROP INDEX events_undispatched_idx;
    ALTER TABLE events DROP COLUMN dispatched_at
  `);
}
