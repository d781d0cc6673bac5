/**
 * Codes the SDK itself produces, when there is no server answer to take a code from. Server codes
 * (docs/errors.md: RATE_LIMIT_EXCEEDED, USER_NOT_FOUND, …) pass through unchanged.
 */
export const SDK_ERROR_CODES = {
  /** The request could not reach the server (DNS, refused connection, reset, CORS). statusCode 0. */
  NETWORK_ERROR: 'NETWORK_ERROR',
  /** No answer within `timeoutMs`. statusCode 0. */
  TIMEOUT: 'TIMEOUT',
  /** The caller's AbortSignal fired. statusCode 0. */
  ABORTED: 'ABORTED',
  /** The server (or a proxy in front of it) answered a non-2xx without the API's JSON error shape. statusCode = the HTTP status. */
  UNEXPECTED_RESPONSE: 'UNEXPECTED_RESPONSE',
  /** WebSocket: the connection closed (or was never open) before the answer came. statusCode 0; details {closeCode, reason}. */
  CONNECTION_CLOSED: 'CONNECTION_CLOSED',
  /** WebSocket: the server dropped the frame (details.reason `rate` or `busy`); send the next one. statusCode 0. */
  FRAME_DROPPED: 'FRAME_DROPPED',
  /** No WebSocket implementation: pass `WebSocket` (e.g. the `ws` package) on Node 20. statusCode 0. */
  WEBSOCKET_UNAVAILABLE: 'WEBSOCKET_UNAVAILABLE',
} as const;

export type SdkErrorCode = keyof typeof SDK_ERROR_CODES;

export interface FaceRecognitionErrorInit {
  code: string;
  message: string;
  /** HTTP status, or 0 when there was no HTTP answer. */
  statusCode: number;
  details?: unknown;
  /** Seconds, from the Retry-After header (or `details.retry_after` over WebSocket). */
  retryAfter?: number | null;
  cause?: unknown;
}

/**
 * Every failed call rejects with this: a server error keeps the API's `{code, message, statusCode, details}`.
 * @example
 * try { await client.users.get('EMP404') } catch (e) {
 *   if (e instanceof FaceRecognitionError && e.code === 'USER_NOT_FOUND') { … }
 *   if (e instanceof FaceRecognitionError && e.code === 'RATE_LIMIT_EXCEEDED') await sleep((e.retryAfter ?? 1) * 1000);
 * }
 */
export class FaceRecognitionError extends Error {
  readonly code: string;
  readonly statusCode: number;
  readonly details: unknown;
  readonly retryAfter: number | null;

  constructor(init: FaceRecognitionErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'FaceRecognitionError';
    this.code = init.code;
    this.statusCode = init.statusCode;
    this.details = init.details;
    this.retryAfter = init.retryAfter ?? null;
  }
}

/** Retry-After is seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === '') return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - now) / 1000));
}
