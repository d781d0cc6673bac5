import { CHALLENGES } from '../services/liveness.service.ts';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { ErrorCode } from '../errors.ts';
import { assertCleanInput } from '../api/input-guard.ts';

/**
 * The `/ws/recognition/` protocol: JSON text frames, each a message keyed by `type`, and binary
 * `process_frame` messages (parseBinaryFrame below: the image bytes, with an optional small header).
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

/**
 * A binary message is a `process_frame` without base64 (docs/realtime.md, "Binary frames"): either the
 * image alone (JPEG/PNG/WebP bytes), or a 4-byte big-endian header length H, H bytes of UTF-8 JSON
 * `{"timestamp"?, "options"?}`, then the image. The two cannot be confused: an image's first four bytes
 * read as a length far beyond any message. Without `options` the frame uses the connection's last ones.
 *
 * @example ws.send(Buffer.concat([u32be(header.length), header, jpeg])) // header = Buffer.from(JSON.stringify({ timestamp: 7 }))
 */
export const BinaryFrameHeader = Type.Object(
  { timestamp: Type.Optional(ClientTimestamp), options: Type.Optional(FrameOptions) },
  { additionalProperties: false },
);
export type BinaryFrameHeader = Static<typeof BinaryFrameHeader>;

/** Longest JSON header of a binary frame. */
export const MAX_BINARY_HEADER = 4096;

export type BinaryParseResult =
  | { ok: true; image: Uint8Array; timestamp: ClientTimestamp | null; options: FrameOptions | undefined }
  | { ok: false; code: 'INVALID_JSON' | 'VALIDATION_ERROR'; message: string; timestamp: ClientTimestamp | null };

const IMAGE_START = [[0xff, 0xd8, 0xff], [0x89, 0x50, 0x4e, 0x47], [0x52, 0x49, 0x46, 0x46]];

/** Splits one binary message into header and image (the image is a view of `data`, not a copy). */
export function parseBinaryFrame(data: Uint8Array): BinaryParseResult {
  if (IMAGE_START.some((sig) => sig.every((b, i) => data[i] === b))) return { ok: true, image: data, timestamp: null, options: undefined };
  const bad = (message: string, timestamp: ClientTimestamp | null = null) => ({ ok: false as const, code: 'VALIDATION_ERROR' as const, message, timestamp });
  if (data.length < 4) return bad('A binary frame is an image (JPEG, PNG or WebP), or a 4-byte header length, a JSON header and the image');
  const length = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
  if (length > MAX_BINARY_HEADER) {
    return bad(`A binary frame starts with the image itself or with a header length of at most ${MAX_BINARY_HEADER} bytes; got ${length}`);
  }
  if (4 + length > data.length) {
    return bad(`The binary frame's header length (${length} bytes) runs past the end of the message (${data.length - 4} bytes after it)`);
  }
  let raw: unknown = {};
  if (length > 0) {
    try {
      raw = JSON.parse(Buffer.from(data.buffer, data.byteOffset + 4, length).toString('utf8'));
    } catch {
      return { ok: false, code: 'INVALID_JSON', message: 'The header of the binary frame is not valid JSON', timestamp: null };
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return bad('The header of a binary frame is a JSON object {"timestamp", "options"}');
  const obj = raw as Record<string, unknown>;
  const timestamp = typeof obj.timestamp === 'number' || (typeof obj.timestamp === 'string' && obj.timestamp.length <= 64) ? obj.timestamp : null;
  try {
    assertCleanInput(raw, 'header');
  } catch (e) {
    return bad((e as Error).message, timestamp);
  }
  if (!Value.Check(BinaryFrameHeader, raw)) {
    const first = [...Value.Errors(BinaryFrameHeader, raw)][0];
    const field = first?.path.replace(/^\//, '').replace(/\//g, '.') || 'header';
    return bad(`binary frame header.${field} ${first?.message ?? 'is invalid'}`, timestamp);
  }
  const header = raw as BinaryFrameHeader;
  if (data.length === 4 + length) return bad('The binary frame has a header but no image after it', header.timestamp ?? null);
  return { ok: true, image: data.subarray(4 + length), timestamp: header.timestamp ?? null, options: header.options };
}

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
