import { CHALLENGES } from '../services/liveness.service.ts';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { ErrorCode } from '../errors.ts';
import { assertCleanInput } from '../api/input-guard.ts';

/**
 * The `/ws/recognition/` protocol: JSON text frames, each a message keyed by `type`.
 * Client → server messages are validated against the TypeBox schemas below; server → client
 * messages are plain typed objects. docs/realtime.md documents both with examples.
 *
 * @example ws.send(JSON.stringify({ type: 'authenticate', api_key: 'KEY', secret_key: 'SECRET' }))
 */

const unit = Type.Number({ minimum: 0, maximum: 1 });
/** Echoed back verbatim: clients send Date.now() (number) or an ISO string. */
const ClientTimestamp = Type.Union([Type.Number(), Type.String({ maxLength: 64 })]);

export const AuthenticateMessage = Type.Object({
  type: Type.Literal('authenticate'),
  api_key: Type.String({ minLength: 1, maxLength: 256 }),
  secret_key: Type.String({ minLength: 1, maxLength: 256 }),
});

export const FrameOptions = Type.Object({
  mode: Type.Optional(Type.Union([Type.Literal('identification'), Type.Literal('verification')])),
  user_id: Type.Optional(Type.String({ minLength: 1 })),
  require_liveness: Type.Optional(Type.Boolean()),
  search_threshold: Type.Optional(unit),
  max_results: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
  confidence_threshold: Type.Optional(unit),
  // The same liveness settings as POST /api/v1/auth/authentication/create/ (the server shuffles the order).
  liveness_challenges: Type.Optional(Type.Array(Type.Union(CHALLENGES.map((c) => Type.Literal(c))), { minItems: 1, maxItems: 6 })),
  challenge_timeout: Type.Optional(Type.Number({ minimum: 1, maximum: 120 })),
  liveness_threshold: Type.Optional(unit),
  /** Follow the face from frame to frame (default true): the detector and the recogniser run only when
   * needed (docs/realtime.md, "Tracking"). false: the full pipeline on every frame. */
  tracking: Type.Optional(Type.Boolean()),
});

export const ProcessFrameMessage = Type.Object({
  type: Type.Literal('process_frame'),
  /** `data:image/jpeg;base64,…` (PNG and WebP work too). */
  frame: Type.String({ minLength: 1 }),
  timestamp: Type.Optional(ClientTimestamp),
  options: Type.Optional(FrameOptions),
});

export const PingMessage = Type.Object({ type: Type.Literal('ping'), timestamp: Type.Optional(ClientTimestamp) });

export const ClientMessage = Type.Union([AuthenticateMessage, ProcessFrameMessage, PingMessage]);

export type AuthenticateMessage = Static<typeof AuthenticateMessage>;
export type FrameOptions = Static<typeof FrameOptions>;
export type ProcessFrameMessage = Static<typeof ProcessFrameMessage>;
export type PingMessage = Static<typeof PingMessage>;
export type ClientMessage = Static<typeof ClientMessage>;
export type ClientTimestamp = Static<typeof ClientTimestamp>;

const byType = { authenticate: AuthenticateMessage, process_frame: ProcessFrameMessage, ping: PingMessage } as const;

/** Why a frame got no recognition: over the per-connection frame-rate cap, or replaced by a newer frame while the connection was busy. */
export type DropReason = 'rate' | 'busy';

export type ServerMessage =
  | { type: 'authenticated'; client_id: string }
  | { type: 'recognition_result'; timestamp: ClientTimestamp | null; processing_time: number; faces_detected: number; result: unknown }
  | { type: 'frame_dropped'; timestamp: ClientTimestamp | null; reason: DropReason }
  | { type: 'error'; code: ErrorCode; message: string; timestamp?: ClientTimestamp | null; details?: unknown }
  | { type: 'pong'; timestamp: ClientTimestamp | null };

export type ParseResult = { ok: true; message: ClientMessage } | { ok: false; code: 'INVALID_JSON' | 'VALIDATION_ERROR'; message: string; timestamp: ClientTimestamp | null };

/** Parses and validates one text frame. Errors name the offending field, as the HTTP API does. */
export function parseClientMessage(text: string): ParseResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, code: 'INVALID_JSON', message: 'The message is not valid JSON', timestamp: null };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, code: 'VALIDATION_ERROR', message: 'A message is a JSON object with a "type"', timestamp: null };
  }
  try {
    assertCleanInput(raw, 'message');
  } catch (e) {
    return { ok: false, code: 'VALIDATION_ERROR', message: (e as Error).message, timestamp: null };
  }
  const obj = raw as Record<string, unknown>;
  const ts = obj.timestamp;
  const timestamp = typeof ts === 'number' || (typeof ts === 'string' && ts.length <= 64) ? ts : null;
  const schema = typeof obj.type === 'string' ? byType[obj.type as keyof typeof byType] : undefined;
  if (!schema) {
    return { ok: false, code: 'VALIDATION_ERROR', message: `Unknown message type ${JSON.stringify(obj.type ?? null)}: expected ${Object.keys(byType).join(', ')}`, timestamp };
  }
  if (!Value.Check(schema, raw)) {
    const first = [...Value.Errors(schema, raw)][0];
    const field = first?.path.replace(/^\//, '').replace(/\//g, '.') || 'message';
    return { ok: false, code: 'VALIDATION_ERROR', message: `${obj.type}.${field} ${first?.message ?? 'is invalid'}`, timestamp };
  }
  return { ok: true, message: raw as ClientMessage };
}
