import { Type, type TLiteral, type TUnion } from '@sinclair/typebox';
import { EVENT_NAMES } from '../services/events.ts';
import type { WebhookBackoff, WebhookDeliveryStatus } from '../db/schema.ts';
import { DateTime, Nullable, PageQuery, PageSchema } from './common.schemas.ts';

/**
 * A string enum: `{type: 'string', enum}` gives one clear validation message ("must be equal to one
 * of the allowed values") and a plain enum in OpenAPI, where a union of literals reports "must be
 * equal to constant". Typed as that union, because the type provider (typebox 1.x) does not read
 * @sinclair/typebox's Unsafe static type.
 */
function StringEnum<const A extends readonly string[]>(values: A, description?: string): TUnion<{ -readonly [I in keyof A]: TLiteral<A[I]> }> {
  return Type.Unsafe({ type: 'string', enum: [...values], ...(description ? { description } : {}) }) as never;
}

const EventName = StringEnum(EVENT_NAMES, 'An event name');

const RetryPolicyFields = {
  max_retries: Type.Integer({ minimum: 0, maximum: 20, description: 'Retries after the first attempt (default 3)' }),
  backoff_strategy: StringEnum(
    ['exponential', 'linear', 'fixed'] as const satisfies readonly WebhookBackoff[],
    'exponential: retry_delay·2^(n−1) · linear: retry_delay·n · fixed: retry_delay (default exponential)',
  ),
  retry_delay: Type.Number({ minimum: 0, maximum: 86400, description: 'Seconds, fractions allowed (default 30)' }),
};

const RetryPolicyInput = Type.Partial(Type.Object(RetryPolicyFields), { description: 'Missing fields take their defaults' });

const Secret = Type.String({ minLength: 16, maxLength: 256, description: 'HMAC-SHA256 key for X-Signature; generated (and returned once) when omitted' });
const Url = Type.String({ minLength: 1, maxLength: 2048, description: 'http(s) URL receiving POSTs' });
const Events = Type.Array(EventName, { minItems: 1, maxItems: 32 });

export const EndpointBody = Type.Object({
  url: Url,
  events: Events,
  secret: Type.Optional(Secret),
  is_active: Type.Optional(Type.Boolean({ default: true })),
  retry_policy: Type.Optional(RetryPolicyInput),
});

export const EndpointPatchBody = Type.Partial(EndpointBody, { description: 'Only the fields given change; retry_policy fields merge' });

export const EndpointSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid', description: 'Sent as webhook_id in every delivery body' }),
    url: Type.String(),
    events: Type.Array(Type.String()),
    is_active: Type.Boolean(),
    retry_policy: Type.Object(RetryPolicyFields),
    secret_set: Type.Boolean({ description: 'Always true: the secret is stored and never returned' }),
    created_at: DateTime,
    updated_at: DateTime,
    secret: Type.Optional(Type.String({ description: 'Only in the creation response, when the server generated the secret' })),
  },
  { description: 'A webhook endpoint' },
);

export const EndpointPage = PageSchema(EndpointSchema, 'A page of webhook endpoints');

export const EndpointParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
export const LogParams = Type.Object({ log_id: Type.String({ minLength: 1, maxLength: 64 }) });

const Status = StringEnum(['pending', 'delivered', 'failed'] as const satisfies readonly WebhookDeliveryStatus[]);

export const DeliverySchema = Type.Object(
  {
    id: Type.String({ format: 'uuid', description: 'Also sent as X-Webhook-Id: dedupe on it' }),
    endpoint_id: Type.String({ format: 'uuid' }),
    url: Type.String(),
    event_id: Type.String({ format: 'uuid', description: 'Also sent as X-Event-Id' }),
    event_type: Type.String(),
    status: Status,
    attempts: Type.Integer({ description: 'Attempts since the delivery was (re)queued' }),
    next_attempt_at: Nullable(DateTime),
    last_status_code: Nullable(Type.Integer()),
    last_error: Nullable(Type.String()),
    response_ms: Nullable(Type.Number()),
    created_at: DateTime,
    delivered_at: Nullable(DateTime),
  },
  { description: 'A webhook delivery (log entry)' },
);

export const DeliveryDetailSchema = Type.Composite([
  DeliverySchema,
  Type.Object({
    body: Nullable(
      Type.Object(
        { event: Type.String(), data: Type.Any(), timestamp: DateTime, webhook_id: Type.String() },
        { description: 'The JSON body sent (null when the event left the outbox)' },
      ),
    ),
  }),
]);

export const DeliveryPage = PageSchema(DeliverySchema, 'A page of webhook deliveries, newest first');

export const ListLogsQuery = Type.Object({
  ...PageQuery,
  event_type: Type.Optional(Type.String({ maxLength: 100 })),
  status: Type.Optional(Status),
  endpoint_id: Type.Optional(Type.String({ maxLength: 64 })),
  start_date: Type.Optional(Type.String({ maxLength: 40, description: 'YYYY-MM-DD or ISO 8601; created at or after' })),
  end_date: Type.Optional(Type.String({ maxLength: 40, description: 'YYYY-MM-DD (whole day included) or ISO 8601; created at or before' })),
});

export const ListEndpointsQuery = Type.Object({ ...PageQuery });

const DateFilter = (description: string) => Type.String({ maxLength: 40, description });

export const ReplayBody = Type.Object(
  {
    endpoint_id: Type.Optional(Type.String({ maxLength: 64, description: 'Only this endpoint\'s deliveries (404 WEBHOOK_NOT_FOUND when it is not yours)' })),
    event_type: Type.Optional(Type.String({ maxLength: 100 })),
    start_date: Type.Optional(DateFilter('YYYY-MM-DD or ISO 8601; created at or after')),
    end_date: Type.Optional(DateFilter('YYYY-MM-DD (whole day included) or ISO 8601; created at or before')),
    status: Type.Optional(
      StringEnum(['failed', 'delivered'] as const, 'failed (default), or delivered: send again what a receiver acknowledged and then lost'),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'At most this many this call (default and maximum 10000); see remaining' })),
  },
  { additionalProperties: false, description: 'Which deliveries to replay; every filter is optional' },
);

export const ReplaySchema = Type.Object(
  {
    retried: Type.Integer({ description: 'Deliveries put back to pending, due now, with a fresh retry budget' }),
    remaining: Type.Integer({ description: 'Matching deliveries over the limit: call again to replay them' }),
    skipped_in_progress: Type.Integer({ description: 'Matching deliveries being attempted right now: not touched' }),
    skipped_endpoint_inactive: Type.Integer({ description: 'Matching deliveries of an inactive endpoint: not touched (activate it, then replay)' }),
    skipped_event_gone: Type.Integer({ description: 'Matching deliveries whose event left the outbox: not touched (nothing to send)' }),
    limit: Type.Integer(),
    filters: Type.Object(
      {
        status: Type.String(),
        endpoint_id: Nullable(Type.String()),
        event_type: Nullable(Type.String()),
        created_from: Nullable(DateTime),
        created_before: Nullable(DateTime),
      },
      { description: 'The filters applied; dates as the instants used (created_from inclusive, created_before exclusive)' },
    ),
  },
  { description: 'Outcome of a bulk replay' },
);
