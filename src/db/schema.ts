import type { ColumnType, Generated } from 'kysely';

/** Database tables as Kysely sees them. Timestamps come back as Date from both drivers. */
/** Insert may omit it (DEFAULT now()); Generated<> is not wrapped around it because nesting ColumnType breaks select types. */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T = Record<string, unknown>> = ColumnType<T, string | undefined, string>;
type Bytes = ColumnType<Uint8Array, Uint8Array, Uint8Array>;

export type Tier = 'basic' | 'premium' | 'enterprise';

export interface ClientTable {
  id: string;
  name: string;
  tier: Tier;
  max_users: number | null;
  calls_per_hour: number | null;
  ip_allowlist: Json<string[]>;
  settings: Json<ClientSettings>;
  is_active: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** Per-client options that change behaviour (typed defaults in services). */
export interface ClientSettings {
  /** Keep (encrypted) enrollment photos; off by default: only embeddings are stored. */
  store_photos?: boolean;
  /** Days to keep authentication attempts and audit logs (null: forever). */
  retention_days?: number | null;
}

export interface ApiKeyTable {
  id: string;
  client_id: string;
  key: string;
  secret_hash: string;
  name: string | null;
  ip_allowlist: Json<string[]>;
  expires_at: Timestamp | null;
  revoked_at: Timestamp | null;
  replaced_by: string | null;
  last_used_at: Timestamp | null;
  created_at: Timestamp;
}

export interface UserTable {
  id: string;
  client_id: string;
  external_id: string;
  name: string;
  email: string | null;
  metadata: Json;
  is_active: Generated<boolean>;
  last_authentication: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface EnrollmentTable {
  id: string;
  client_id: string;
  user_id: string;
  session_id: string | null;
  source: string;
  model_id: string;
  quality_score: number;
  face_count: number;
  average_confidence: number;
  angles: Json<string[]>;
  created_at: Timestamp;
}

export interface FaceTemplateTable {
  id: string;
  client_id: string;
  user_id: string;
  enrollment_id: string;
  model_id: string;
  dim: number;
  ciphertext: Bytes;
  angle: string | null;
  quality: number | null;
  created_at: Timestamp;
}

export interface FacePhotoTable {
  id: string;
  client_id: string;
  user_id: string;
  enrollment_id: string;
  content_type: string;
  ciphertext: Bytes;
  created_at: Timestamp;
}

export interface SessionTable {
  id: string;
  client_id: string;
  kind: 'enrollment' | 'authentication' | 'streaming';
  token_hash: string;
  user_id: string | null;
  mode: string | null;
  params: Json;
  state: Json;
  status: Generated<string>;
  expires_at: Timestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface AuthAttemptTable {
  id: string;
  client_id: string;
  session_id: string | null;
  user_id: string | null;
  mode: string;
  outcome: 'success' | 'failed';
  failure_reason: string | null;
  confidence: number | null;
  liveness_score: number | null;
  quality_score: number | null;
  processing_ms: number | null;
  ip: string | null;
  user_agent: string | null;
  created_at: Timestamp;
}

export interface EventTable {
  id: string;
  client_id: string;
  event_type: string;
  payload: Json;
  created_at: Timestamp;
  /** Set when the webhook dispatcher has fanned the event out into deliveries (0004). */
  dispatched_at: Timestamp | null;
  /** X-Request-Id of the HTTP request that caused the event (0010); null for background work. */
  request_id: string | null;
  /** The user the event is about, resolved when it was written (0012: a trigger); null for none. */
  subject_user_id: Generated<string | null>;
}

export interface AuditLogTable {
  id: string;
  client_id: string | null;
  category: string;
  action: string;
  actor: string | null;
  target: string | null;
  details: Json;
  ip: string | null;
  created_at: Timestamp;
}

export type WebhookBackoff = 'exponential' | 'linear' | 'fixed';
export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface WebhookEndpointTable {
  id: string;
  client_id: string;
  url: string;
  events: Json<string[]>;
  secret: string;
  is_active: Generated<boolean>;
  max_retries: number;
  backoff_strategy: WebhookBackoff;
  /** Seconds (fractional allowed). */
  retry_delay: number;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** Circuit breaker (services/webhooks/circuit-breaker.ts): failed attempts in a row. */
  circuit_failures: Generated<number>;
  /** The current pause in ms (0: not opened since it last closed). */
  circuit_open_ms: Generated<number>;
  /** Null: closed. Later than now: open. Now or earlier: half-open (the next claim takes the probe). */
  circuit_open_until: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** Claim id of the delivery trying the endpoint after a pause. */
  circuit_probe: string | null;
}

export interface WebhookDeliveryTable {
  id: string;
  client_id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  status: Generated<WebhookDeliveryStatus>;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  claim_id: string | null;
  last_status_code: number | null;
  last_error: string | null;
  response_ms: number | null;
  created_at: Timestamp;
  delivered_at: Timestamp | null;
}

export type OfflineRevocationReason = 'recalled' | 'deactivated' | 'reactivated' | 'deleted';

/** Migration 0021 (docs/offline.md, "Recall"): per tenant and user, the time before which their offline packages are refused. */
export interface OfflineRevocationTable {
  client_id: string;
  user_id: string;
  /** No default: the repository and the trigger on `users` always set it (clock_timestamp(), only forward). */
  revoked_before: ColumnType<Date, Date | string, Date | string>;
  /** What set the time last: an explicit recall (the API), or the trigger on `users`. */
  reason: OfflineRevocationReason;
}

export interface Database {
  clients: ClientTable;
  api_keys: ApiKeyTable;
  users: UserTable;
  enrollments: EnrollmentTable;
  face_templates: FaceTemplateTable;
  face_photos: FacePhotoTable;
  sessions: SessionTable;
  auth_attempts: AuthAttemptTable;
  events: EventTable;
  audit_logs: AuditLogTable;
  webhook_endpoints: WebhookEndpointTable;
  webhook_deliveries: WebhookDeliveryTable;
  offline_revocations: OfflineRevocationTable;
}

