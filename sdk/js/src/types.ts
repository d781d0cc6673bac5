/**
 * Request and response types of the Wajah API. The wire shapes are picked out of
 * `generated/openapi.ts`, which `npm run sdk:types` generates from the server's OpenAPI document (its
 * TypeBox route schemas): change a schema, regenerate, and these follow. Hand-written here are only
 * what the document does not describe: the image input, the generic page and the webhook envelope. The
 * webhook event payloads come from the document's component `WebhookEventPayloads` (the server's
 * src/api/webhook-events.schemas.ts), which no route answers.
 */
import type { components, paths } from './generated/openapi.ts';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
/** The JSON answer of an operation with status `S`. */
type Answer<P extends keyof paths, M extends Method, S extends number = 200> =
  Operation<P, M> extends { responses: { [K in S]: { content: { 'application/json': infer T } } } } ? T : never;
/** The JSON request body of an operation. */
type JsonBody<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { requestBody?: { content: { 'application/json': infer T } } } ? T : never;
/** The query parameters of an operation. */
type Query<P extends keyof paths, M extends Method> = Operation<P, M> extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;
/** A body whose image travels as bytes (multipart) or as a string (JSON). */
type WithImage<T, K extends string = 'image'> = Omit<T, K> & { [P in K]: ImageInput };

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

export type PageQuery = Query<'/api/v1/webhooks/endpoints/', 'get'>;

// ---- status ----------------------------------------------------------------------------------

export type Status = Answer<'/api/v1/core/status/', 'get'>;
export type ServiceState = Status['services']['database'];

// ---- users -----------------------------------------------------------------------------------

export type User = Answer<'/api/v1/clients/users/{user_id}/', 'get'>;
export type CreateUserInput = JsonBody<'/api/v1/clients/users/', 'post'>;
/** Fields given are replaced (metadata as a whole); absent fields are kept. */
export type UpdateUserInput = JsonBody<'/api/v1/clients/users/{user_id}/', 'put'>;
export type ListUsersQuery = Query<'/api/v1/clients/users/', 'get'>;
/** Everything held on a user (GDPR portability); the server may add more sections. */
export type UserExport = Answer<'/api/v1/clients/users/{user_id}/export/', 'get'>;

// ---- enrollment ------------------------------------------------------------------------------

export type CreateEnrollmentSessionInput = JsonBody<'/api/v1/auth/enrollment/create/', 'post'>;
export type EnrollmentSession = Answer<'/api/v1/auth/enrollment/create/', 'post', 201>;
export type EnrollmentFrameResult = Answer<'/api/v1/auth/enrollment/process-frame/', 'post'>;
export type Angle = NonNullable<EnrollmentFrameResult['angle']>;
export type Feedback = EnrollmentFrameResult['feedback'];
export type EnrollmentResult = Answer<'/api/v1/auth/enrollment/complete/', 'post', 201>;
export type QualityMetrics = EnrollmentResult['quality_metrics'];
/** Where the face a result is about sits in the picture (pixels of the decoded, EXIF-rotated image). */
export type FaceLocation = NonNullable<EnrollmentFrameResult['face']>;
export type DirectEnrollmentInput = WithImage<JsonBody<'/api/v1/auth/enrollment/direct/', 'post'>>;
export type BatchEnrollmentItem = WithImage<NonNullable<JsonBody<'/api/v1/auth/enrollment/batch/', 'post'>['items']>[number]>;
export type BatchEnrollmentResult = Answer<'/api/v1/auth/enrollment/batch/', 'post'>;
export type EnrollmentList = Answer<'/api/v1/auth/enrollments/', 'get'>;
export type Enrollment = EnrollmentList['enrollments'][number];
export type EnrollmentDeleted = Answer<'/api/v1/auth/enrollments/{enrollment_id}/', 'delete'>;

// ---- authentication --------------------------------------------------------------------------

export type CreateAuthenticationSessionInput = JsonBody<'/api/v1/auth/authentication/create/', 'post'>;
export type AuthMode = NonNullable<CreateAuthenticationSessionInput['mode']>;
export type LivenessChallenge = NonNullable<CreateAuthenticationSessionInput['liveness_challenges']>[number];
export type Thresholds = Pick<CreateAuthenticationSessionInput, 'confidence_threshold' | 'search_threshold' | 'max_results'>;
export type AuthenticationSession = Answer<'/api/v1/auth/authentication/create/', 'post', 201>;

/** The answer of process-frame, verify and identify (and `result` of a WebSocket recognition). */
export type AuthDecision = Answer<'/api/v1/auth/authentication/process-frame/', 'post'>;
export type AuthResult = NonNullable<AuthDecision['result']>;
export type Match = NonNullable<AuthResult['matches']>[number];
export type LivenessResult = NonNullable<AuthDecision['liveness_result']>;
export type LivenessChecks = LivenessResult['checks'];
export type LivenessProgress = NonNullable<AuthDecision['liveness']>;

export type VerifyInput = WithImage<JsonBody<'/api/v1/auth/authentication/verify/', 'post'>>;
export type IdentifyInput = WithImage<JsonBody<'/api/v1/auth/authentication/identify/', 'post'>>;
/** `client.authenticate()`: verification when `user_id` is given, identification otherwise. */
export type AuthenticateInput = IdentifyInput & { user_id?: string };
export type BatchProcessOptions = Exclude<NonNullable<JsonBody<'/api/v1/auth/authentication/batch-process/', 'post'>['options']>, string>;
export type BatchProcessResult = Answer<'/api/v1/auth/authentication/batch-process/', 'post'>;

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

/** `data` of each event (docs/webhooks.md, "Events"): the document's component `WebhookEventPayloads`. */
export type WebhookEventPayloads = components['schemas']['WebhookEventPayloads'];

/** The JSON body a receiver gets; `webhook.test` is the ping of `webhooks.endpoints.test()`. */
export type WebhookDelivery =
  | { [E in WebhookEventName]: { event: E; data: WebhookEventPayloads[E]; timestamp: string; webhook_id: string } }[WebhookEventName]
  | { event: 'webhook.test'; data: WebhookEventPayloads['webhook.test']; timestamp: string; webhook_id: string };

export type WebhookEndpointInput = JsonBody<'/api/v1/webhooks/endpoints/', 'post'>;
export type WebhookEndpoint = Answer<'/api/v1/webhooks/endpoints/{id}/', 'get'>;
export type RetryPolicy = WebhookEndpoint['retry_policy'];
/** Also sent as X-Webhook-Id (`id`) and X-Event-Id (`event_id`). */
export type WebhookLog = Answer<'/api/v1/webhooks/logs/', 'get'>['results'][number];
export type WebhookDeliveryStatus = WebhookLog['status'];
/** A delivery with the JSON body sent (null when the event left the outbox). */
export type WebhookLogDetail = Answer<'/api/v1/webhooks/logs/{log_id}/', 'get'>;
export type ListWebhookLogsQuery = Query<'/api/v1/webhooks/logs/', 'get'>;
/** Filters of a bulk replay (all optional; `status` failed by default, or delivered). */
export type ReplayWebhookLogsInput = JsonBody<'/api/v1/webhooks/logs/retry/', 'post'>;
/** What a bulk replay did: `retried`, `remaining` (call again while > 0), the skipped counts and the filters applied. */
export type WebhookReplay = Answer<'/api/v1/webhooks/logs/retry/', 'post', 202>;
