/**
 * Request and response types of the Wajah API, hand-written to mirror the server's TypeBox route
 * schemas (src/api/*). test/sdk/sdk.test.ts checks them against the exported schemas at compile
 * time and against real responses at run time.
 */

/** An image: bytes (sent as a multipart file part) or a string (data URL or raw base64, sent in a JSON body). */
export type ImageInput = Blob | Uint8Array | ArrayBuffer | string;

export type Metadata = Record<string, unknown>;

/** Every list endpoint answers one page of this shape. */
export interface Page<T> {
  /** Total matching items. */
  count: number;
  page: number;
  page_size: number;
  total_pages: number;
  results: T[];
}

export interface PageQuery {
  /** Default 1. */
  page?: number;
  /** Default 20, max 100. */
  page_size?: number;
}

// ---- status ----------------------------------------------------------------------------------

export type ServiceState = 'online' | 'offline' | 'disabled' | 'starting' | 'degraded';

export interface Status {
  status: 'healthy' | 'degraded' | 'unhealthy';
  version: string;
  timestamp: string;
  services: { database: ServiceState; redis: ServiceState; face_recognition: ServiceState };
}

// ---- users -----------------------------------------------------------------------------------

export interface User {
  id: string;
  external_id: string;
  name: string;
  email: string | null;
  metadata: Metadata;
  is_active: boolean;
  created_at: string;
  updated_at: string;
  enrollments_count: number;
  last_authentication: string | null;
}

export interface CreateUserInput {
  /** Your identifier, unique per client. Every `user_id` parameter of the API accepts it. */
  external_id: string;
  name: string;
  email?: string | null;
  metadata?: Metadata;
}

/** Fields given are replaced (metadata as a whole); absent fields are kept. */
export interface UpdateUserInput {
  external_id?: string;
  name?: string;
  email?: string | null;
  metadata?: Metadata;
  is_active?: boolean;
}

export interface ListUsersQuery extends PageQuery {
  /** Case-insensitive match on name or email. */
  search?: string;
  is_active?: boolean;
  has_enrollment?: boolean;
}

/** Everything held on a user (GDPR portability); the server may add more sections. */
export interface UserExport {
  format: string;
  exported_at: string;
  user: User;
  enrollments: unknown[];
  face_templates: unknown[];
  face_photos: unknown[];
  authentication_attempts: unknown[];
  events: unknown[];
  audit_logs: unknown[];
  [section: string]: unknown;
}

// ---- enrollment ------------------------------------------------------------------------------

export type Angle = 'front' | 'left' | 'right' | 'up' | 'down';

export interface CreateEnrollmentSessionInput {
  /** external_id (or uuid) of the user. */
  user_id: string;
  session_type?: 'webcam' | 'mobile' | 'upload';
  quality_threshold?: number;
  require_multiple_angles?: boolean;
  /** Seconds, 10..3600. */
  timeout?: number;
  auto_capture?: boolean;
  guidance_enabled?: boolean;
}

export interface EnrollmentSession {
  session_id: string;
  /** Send it with every frame (`X-Session-Token`); shown once. */
  session_token: string;
  expires_at: string;
  status: 'active';
  user_id: string;
  session_type: string;
  requirements: {
    quality_threshold: number;
    required_frames: number;
    require_multiple_angles: boolean;
    required_angles: string[];
    auto_capture: boolean;
    guidance_enabled: boolean;
    timeout: number;
  };
}

export interface Feedback {
  message: string;
  suggestions: string[];
}

export interface EnrollmentFrameResult {
  /** processing: more frames needed; ready: call complete; rejected: this frame was not used. */
  status: 'processing' | 'ready' | 'rejected';
  quality_score: number;
  face_detected: boolean;
  frame_accepted: boolean;
  rejection_reason: string | null;
  captured: boolean;
  auto_capture: boolean;
  angle: Angle | null;
  feedback: Feedback;
  progress: { current: number; required: number; angles_captured: string[] };
  /** Where the face of this frame is (absent when no face was found): for drawing a guide around it. */
  face?: FaceLocation;
}

export interface QualityMetrics {
  overall_quality: number;
  face_count: number;
  average_confidence: number;
  angles_captured: string[];
}

export interface EnrollmentResult {
  status: 'completed';
  enrollment_id: string;
  /** external_id of the user. */
  user_id: string;
  quality_metrics: QualityMetrics;
  created_at: string;
  /** Direct enrollment: which face of the picture was enrolled. */
  face?: FaceLocation;
}

/** Where the face a result is about sits in the picture (pixels of the decoded, EXIF-rotated image). */
export interface FaceLocation {
  box: { x: number; y: number; width: number; height: number };
  image_width: number;
  image_height: number;
}

export interface DirectEnrollmentInput {
  user_id: string;
  image: ImageInput;
  quality_threshold?: number;
}

export interface BatchEnrollmentItem {
  user_id: string;
  image: ImageInput;
}

export interface BatchEnrollmentResult {
  total: number;
  completed: number;
  failed: number;
  results: Array<{
    index: number;
    user_id: string;
    filename: string | null;
    status: string;
    enrollment_id?: string;
    quality_score?: number;
    error?: { code: string; message: string };
  }>;
}

export interface Enrollment {
  enrollment_id: string;
  source: string;
  model_id: string;
  quality_score: number;
  face_count: number;
  average_confidence: number;
  angles_captured: string[];
  created_at: string;
}

export interface EnrollmentList {
  user_id: string;
  count: number;
  enrollments: Enrollment[];
}

export interface EnrollmentDeleted {
  deleted: boolean;
  enrollment_id: string;
  templates_removed: number;
}

// ---- authentication --------------------------------------------------------------------------

export type AuthMode = 'verification' | 'identification';
export type LivenessChallenge = 'blink' | 'head_movement' | 'turn_left' | 'turn_right' | 'nod' | 'smile';

export interface Thresholds {
  confidence_threshold?: number;
  search_threshold?: number;
  /** 1..50. */
  max_results?: number;
}

export interface CreateAuthenticationSessionInput extends Thresholds {
  /** Required for verification. */
  user_id?: string;
  session_type?: 'webcam' | 'mobile' | 'upload';
  mode?: AuthMode;
  require_liveness?: boolean;
  liveness_threshold?: number;
  liveness_challenges?: LivenessChallenge[];
  /** Seconds per challenge. */
  challenge_timeout?: number;
  /** Session lifetime in seconds, 10..3600. */
  timeout?: number;
  max_attempts?: number;
}

export interface LivenessProgress {
  current_challenge: string | null;
  challenges_remaining: number;
  challenge_expires_at: string | null;
  challenges_completed: string[];
}

export interface AuthenticationSession {
  session_id: string;
  session_token: string;
  expires_at: string;
  status: 'active';
  mode: AuthMode;
  user_id: string | null;
  require_liveness: boolean;
  settings: {
    confidence_threshold: number;
    search_threshold: number;
    max_results: number;
    liveness_threshold: number;
    max_attempts: number;
  };
  liveness?: LivenessProgress;
}

export interface Match {
  /** external_id. */
  user_id: string;
  confidence: number;
  name: string;
  metadata: Metadata;
}

export interface AuthResult {
  /** Verification only. */
  authenticated?: boolean;
  confidence?: number | null;
  user_id?: string | null;
  user_name?: string | null;
  /** Identification only: best first. */
  matches?: Match[];
  liveness_score: number | null;
  quality_score: number;
  threshold: number;
  /** LOW_CONFIDENCE, NO_MATCH, LIVENESS_FAILED, USER_INACTIVE. */
  failure_reason?: string;
}

export interface LivenessChecks {
  blink_detected: boolean;
  head_movement: number;
  static_detection: boolean;
  /** Median passive anti-spoof score of the frames (probability of a live face), on servers that report it. */
  passive_score?: number | null;
  /** The passive check judged the frames a print or a screen replay, on servers that report it. */
  spoof_detected?: boolean;
}

export interface LivenessResult {
  passed: boolean;
  score: number;
  checks: LivenessChecks;
  challenges_completed: string[];
}

/** The answer of process-frame, verify and identify (and `result` of a WebSocket recognition). */
export interface AuthDecision {
  /** completed (authenticated / matched), failed, or processing while liveness challenges run. */
  status: string;
  result?: AuthResult;
  liveness_result?: LivenessResult;
  liveness?: LivenessProgress;
  face_detected?: boolean;
  feedback?: Feedback;
  quality_score?: number;
  attempts_remaining?: number;
  /** Seconds. */
  processing_time: number;
  timestamp: string;
  /** One-shot verify/identify: the face the decision was taken on. */
  face?: FaceLocation;
}

export interface VerifyInput extends Thresholds {
  user_id: string;
  image: ImageInput;
}

export interface IdentifyInput extends Thresholds {
  image: ImageInput;
}

/** `client.authenticate()`: verification when `user_id` is given, identification otherwise. */
export interface AuthenticateInput extends Thresholds {
  user_id?: string;
  image: ImageInput;
}

export interface BatchProcessOptions extends Thresholds {
  mode?: AuthMode;
  user_id?: string;
  /** 1..64. */
  batch_size?: number;
  parallel_processing?: boolean;
}

export interface BatchProcessResult {
  mode: AuthMode;
  total: number;
  succeeded: number;
  failed: number;
  processing_time: number;
  results: Array<{
    index: number;
    filename: string | null;
    status: string;
    result?: AuthResult;
    error?: { code: string; message: string };
    processing_time?: number;
    timestamp?: string;
  }>;
}

// ---- webhooks --------------------------------------------------------------------------------

export const WEBHOOK_EVENTS = [
  'enrollment.completed',
  'enrollment.failed',
  'authentication.success',
  'authentication.failed',
  'liveness.failed',
  'user.created',
  'user.updated',
] as const;

export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number];

/** `data` of each event (docs/webhooks.md, "Events"). */
export interface WebhookEventPayloads {
  'enrollment.completed': {
    /** null only for a manual review approved without a usable face (outcome 'manually_verified'). */
    enrollment_id: string | null;
    user_id: string;
    user_name: string;
    quality_score: number;
    angles_captured: number;
    enrollment_date: string;
    /** Present when the enrollment came from the manual-review queue. */
    method?: 'manual_review';
    review_id?: string;
    outcome?: 'enrolled' | 'manually_verified';
  };
  'enrollment.failed': {
    /** null when a manual review was rejected (no session). */
    session_id: string | null;
    user_id: string;
    error_code: string;
    error_message: string;
    attempts: number;
    last_attempt: string;
    method?: 'manual_review';
    review_id?: string;
  };
  'authentication.success': {
    /** How the identity was proven when not by face alone: PIN/password fallback or SSO sign-in. */
    method?: 'pin' | 'password' | 'sso';
    session_id: string | null;
    user_id: string;
    user_name: string;
    confidence: number;
    liveness_score: number | null;
    authentication_time: string;
    /** Same instant as authentication_time (the user guide's event handler reads `data.timestamp`). */
    timestamp: string;
    device_info: { ip_address: string | null; user_agent: string | null };
  };
  'authentication.failed': {
    method?: 'pin' | 'password' | 'sso';
    session_id: string | null;
    failure_reason: string;
    confidence: number | null;
    threshold: number | null;
    attempts: number;
    user_id?: string;
  };
  'liveness.failed': {
    session_id: string;
    user_id?: string;
    liveness_score: number;
    checks: LivenessChecks;
    challenges_completed: string[];
    reason: string;
  };
  'user.created': { user_id: string; id: string; name: string; email: string | null; metadata: Metadata; created_at: string };
  'user.updated': { user_id: string; id: string; name: string; email: string | null; metadata: Metadata; is_active: boolean; updated_at: string; changes: string[] };
}

/** The JSON body a receiver gets; `webhook.test` is the ping of `webhooks.endpoints.test()`. */
export type WebhookDelivery =
  | { [E in WebhookEventName]: { event: E; data: WebhookEventPayloads[E]; timestamp: string; webhook_id: string } }[WebhookEventName]
  | { event: 'webhook.test'; data: { message: string; endpoint_id: string }; timestamp: string; webhook_id: string };

export interface RetryPolicy {
  /** Retries after the first attempt, 0..20 (default 3). */
  max_retries: number;
  backoff_strategy: 'exponential' | 'linear' | 'fixed';
  /** Seconds (default 30). */
  retry_delay: number;
}

export interface WebhookEndpointInput {
  url: string;
  events: WebhookEventName[];
  /** 16..256 characters; generated (and returned once) when omitted. */
  secret?: string;
  is_active?: boolean;
  retry_policy?: Partial<RetryPolicy>;
}

export interface WebhookEndpoint {
  id: string;
  url: string;
  events: string[];
  is_active: boolean;
  retry_policy: RetryPolicy;
  secret_set: boolean;
  created_at: string;
  updated_at: string;
  /** Only in the creation response, when the server generated the secret. */
  secret?: string;
}

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface WebhookLog {
  /** Also sent as X-Webhook-Id. */
  id: string;
  endpoint_id: string;
  url: string;
  /** Also sent as X-Event-Id. */
  event_id: string;
  event_type: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  response_ms: number | null;
  created_at: string;
  delivered_at: string | null;
}

export interface WebhookLogDetail extends WebhookLog {
  /** The JSON body sent (null when the event left the outbox). */
  body: { event: string; data: unknown; timestamp: string; webhook_id: string } | null;
}

export interface ListWebhookLogsQuery extends PageQuery {
  event_type?: string;
  status?: WebhookDeliveryStatus;
  endpoint_id?: string;
  /** YYYY-MM-DD or ISO 8601. */
  start_date?: string;
  end_date?: string;
}
