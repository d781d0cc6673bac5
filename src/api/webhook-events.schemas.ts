import { Type, type ObjectOptions, type Static, type TObject, type TProperties } from '@sinclair/typebox';
import { DateTime, Nullable } from './common.schemas.ts';

/**
 * The `data` of each webhook event (the user guide's webhook section; docs/webhooks.md, "Events"): the one
 * source of the payload shapes. The server's `EventPayloads` (src/services/events.ts) is the static type of
 * what it writes; the OpenAPI document carries them as delivered (a deleted user's pending events are
 * redacted) in the component `WebhookEventPayloads` (an object keyed by event name), from which the JS
 * SDK's `WebhookEventPayloads` type is generated (npm run sdk:types).
 */

/** Payloads carry exactly these fields (receivers may rely on it; test/helpers/app.ts checks every event a test wrote). */
const Obj = <T extends TProperties>(properties: T, options: ObjectOptions = {}) => Type.Object(properties, { additionalProperties: false, ...options });
const Method = <T extends string>(...values: T[]) => Type.Optional(Type.Union(values.map((v) => Type.Literal(v))));
const Metadata = Type.Record(Type.String(), Type.Unknown());

const EnrollmentCompleted = Obj({
  enrollment_id: Nullable(Type.String({ description: "null only for a manual review approved without a usable face (outcome 'manually_verified')" })),
  user_id: Type.String({ description: 'The external_id' }),
  user_name: Type.String(),
  quality_score: Type.Number(),
  angles_captured: Type.Integer(),
  enrollment_date: DateTime,
  method: Method('manual_review'),
  review_id: Type.Optional(Type.String({ description: 'Present when the enrollment came from the manual-review queue (docs/fallbacks.md)' })),
  outcome: Method('enrolled', 'manually_verified'),
});

const EnrollmentFailed = Obj({
  session_id: Nullable(Type.String({ description: 'null when a manual review was rejected (no session)' })),
  user_id: Type.String(),
  error_code: Type.String(),
  error_message: Type.String(),
  attempts: Type.Integer(),
  last_attempt: DateTime,
  method: Method('manual_review'),
  review_id: Type.Optional(Type.String()),
});

const AuthenticationSuccess = Obj({
  method: Method('pin', 'password', 'sso'),
  session_id: Nullable(Type.String()),
  user_id: Type.String(),
  user_name: Type.String(),
  confidence: Type.Number(),
  liveness_score: Nullable(Type.Number()),
  authentication_time: DateTime,
  timestamp: Type.String({ format: 'date-time', description: "Same instant as authentication_time: the guide's event handler reads data.timestamp" }),
  device_info: Obj({ ip_address: Nullable(Type.String()), user_agent: Nullable(Type.String()) }),
});

const AuthenticationFailed = Obj({
  method: Method('pin', 'password', 'sso'),
  session_id: Nullable(Type.String()),
  failure_reason: Type.String(),
  confidence: Nullable(Type.Number()),
  threshold: Nullable(Type.Number()),
  attempts: Type.Integer(),
  user_id: Type.Optional(Type.String({ description: 'Verification only' })),
});

const LivenessFailed = Obj({
  session_id: Type.String(),
  user_id: Type.Optional(Type.String()),
  liveness_score: Type.Number(),
  checks: Obj({
    blink_detected: Type.Boolean(),
    head_movement: Type.Number(),
    static_detection: Type.Boolean(),
    passive_score: Nullable(Type.Number()),
    spoof_detected: Type.Boolean(),
  }),
  challenges_completed: Type.Array(Type.String()),
  reason: Type.String(),
});

const UserFields = { user_id: Type.String({ description: 'The external_id' }), id: Type.String(), name: Type.String(), email: Nullable(Type.String()), metadata: Metadata };
const UserCreated = Obj({ ...UserFields, created_at: DateTime });
const UserUpdated = Obj({ ...UserFields, is_active: Type.Boolean(), updated_at: DateTime, changes: Type.Array(Type.String()) });

/** The payloads the server writes (src/services/events.ts `EventPayloads`). */
const Written = {
  'enrollment.completed': EnrollmentCompleted,
  'enrollment.failed': EnrollmentFailed,
  'authentication.success': AuthenticationSuccess,
  'authentication.failed': AuthenticationFailed,
  'liveness.failed': LivenessFailed,
  'user.created': UserCreated,
  'user.updated': UserUpdated,
};
export type WrittenEventPayloads = { [E in keyof typeof Written]: Static<(typeof Written)[E]> };

/** The fields a user's deletion removes from their events still in the outbox (users.repository.ts redactEvents). */
const PERSONAL = ['name', 'email', 'metadata', 'user_name'] as const;
type Personal = (typeof PERSONAL)[number];

/** A payload as delivered: as written, or, for a user deleted before the delivery, without the personal fields and with `redacted: true`. */
function Erasable<P extends TProperties>(written: TObject<P>) {
  const kept = Object.fromEntries(Object.entries(written.properties).filter(([k]) => !(PERSONAL as readonly string[]).includes(k))) as Omit<P, Personal>;
  const redacted = Obj({ ...kept, redacted: Type.Literal(true, { description: 'The user was deleted before this delivery: name, email, metadata and user_name are removed' }) });
  return Type.Union([written, redacted]);
}

/** `webhook.test`: the ping of POST /webhooks/endpoints/{id}/test/ (no subscription needed, never redacted). */
const WebhookTest = Obj({ message: Type.String(), endpoint_id: Type.String() });

export const WebhookEventPayloads = Obj(
  {
    ...(Object.fromEntries(Object.entries(Written).map(([event, schema]) => [event, Erasable(schema as TObject)])) as { [E in keyof typeof Written]: ReturnType<typeof Erasable<(typeof Written)[E]['properties']>> }),
    'webhook.test': WebhookTest,
  },
  { description: 'The `data` of each webhook event, by event name (docs/webhooks.md, "Events")' },
);

export type WebhookEventPayloads = Static<typeof WebhookEventPayloads>;
