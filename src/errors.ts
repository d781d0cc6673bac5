/**
 * The one registry of error codes. Every error the API returns has the shape
 * `{ code, message, statusCode, details? }` with a code from this table; docs/errors.md documents
 * each one (a test checks that).
 *
 * @example throw appError('USER_NOT_FOUND', 'No user with id EMP001');
 */
export const ERROR_CODES = {
  VALIDATION_ERROR: { status: 400, message: 'The request is invalid' },
  INVALID_JSON: { status: 400, message: 'The body is not valid JSON' },
  INVALID_CREDENTIALS: { status: 401, message: 'Missing or invalid API credentials' },
  ADMIN_TOKEN_REQUIRED: { status: 401, message: 'A valid operator token is required' },
  NOT_AUTHENTICATED: { status: 401, message: 'Authenticate the WebSocket connection first' },
  ADMIN_DISABLED: { status: 403, message: 'The admin API is disabled: set WAJAH_ADMIN_TOKEN' },
  IP_NOT_ALLOWED: { status: 403, message: 'This address is not on the client IP allow-list' },
  CLIENT_DISABLED: { status: 403, message: 'This client is disabled' },
  NOT_FOUND: { status: 404, message: 'No such resource' },
  ROUTE_NOT_FOUND: { status: 404, message: 'No such endpoint' },
  CLIENT_NOT_FOUND: { status: 404, message: 'No such client' },
  API_KEY_NOT_FOUND: { status: 404, message: 'No such API key' },
  USER_NOT_FOUND: { status: 404, message: 'No such user' },
  ENROLLMENT_NOT_FOUND: { status: 404, message: 'No such enrollment' },
  SESSION_NOT_FOUND: { status: 404, message: 'No such session' },
  WEBHOOK_NOT_FOUND: { status: 404, message: 'No such webhook endpoint' },
  WEBHOOK_LOG_NOT_FOUND: { status: 404, message: 'No such webhook delivery' },
  INVALID_WEBHOOK_URL: { status: 400, message: 'The webhook URL is not allowed' },
  WEBHOOK_LIMIT_EXCEEDED: { status: 403, message: 'The client has reached its webhook endpoint limit' },
  WEBHOOK_DELIVERY_IN_PROGRESS: { status: 409, message: 'An attempt of this delivery is under way; retry it once that attempt has an outcome' },
  WEBHOOK_TEST_BUSY: { status: 429, message: 'A test ping of this endpoint, or the client\'s share of deliveries, is still in flight' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed' },
  USER_EXISTS: { status: 409, message: 'A user with this external_id already exists' },
  API_KEY_REVOKED: { status: 409, message: 'The API key is revoked or expired' },
  KEY_NOT_ROTATABLE: { status: 409, message: 'A CompreFace service key is not rotated: issue a new key for its service, then revoke this one' },
  USER_INACTIVE: { status: 409, message: 'The user is deactivated' },
  SESSION_EXPIRED: { status: 410, message: 'The session has expired' },
  SESSION_COMPLETED: { status: 409, message: 'The session is already completed' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large' },
  IMAGE_TOO_LARGE: { status: 413, message: 'The image is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Unsupported content type' },
  INVALID_IMAGE: { status: 422, message: 'The image could not be decoded' },
  NO_FACE_DETECTED: { status: 422, message: 'No face was detected in the image' },
  MULTIPLE_FACES: { status: 422, message: 'More than one face was detected' },
  POOR_IMAGE_QUALITY: { status: 422, message: 'The face image quality is too low' },
  INSUFFICIENT_QUALITY: { status: 422, message: 'Unable to capture sufficient quality images' },
  ENROLLMENT_FRAME_LIMIT: { status: 422, message: 'The enrollment session has analysed as many frames as one session may' },
  FACE_MISMATCH: { status: 422, message: "The face does not match the earlier frames of this session, or the user's enrolled face" },
  NOT_ENROLLED: { status: 422, message: 'The user has no face enrollment' },
  MODEL_MISMATCH: { status: 422, message: 'Templates come from different recognition models' },
  LOW_CONFIDENCE: { status: 401, message: 'The face did not match with enough confidence' },
  INVALID_FALLBACK_CREDENTIAL: { status: 401, message: 'The PIN or password is wrong' },
  FALLBACK_NOT_SET: { status: 422, message: 'The user has no fallback credential' },
  FALLBACK_LOCKED: { status: 423, message: 'Too many wrong PIN/password attempts: the fallback credential is locked' },
  FALLBACK_SPRAY_BLOCKED: { status: 429, message: 'This PIN or password was tried against too many users: it is refused for a while' },
  REVIEW_NOT_FOUND: { status: 404, message: 'No such review request' },
  REVIEW_ALREADY_DECIDED: { status: 409, message: 'The review request is already decided' },
  REVIEW_ALREADY_PENDING: { status: 409, message: 'The user already has a pending review request' },
  OFFLINE_PACKAGE_INVALID: { status: 422, message: 'This is not a valid offline verification package' },
  OFFLINE_SIGNATURE_INVALID: { status: 422, message: 'The offline package signature does not verify' },
  OFFLINE_PACKAGE_EXPIRED: { status: 410, message: 'The offline package has expired' },
  OFFLINE_DECRYPTION_FAILED: { status: 401, message: 'The package secret does not decrypt the offline package' },
  OFFLINE_CLIENT_MISMATCH: { status: 403, message: 'The offline package was issued to another tenant than this device serves' },
  OFFLINE_USER_MISMATCH: { status: 403, message: 'The offline package belongs to another user than the one being verified' },
  OFFLINE_PACKAGE_REVOKED: { status: 403, message: 'The offline package was recalled: its user was deactivated, deleted or recalled after it was issued' },
  OFFLINE_REVOCATIONS_OUTDATED: { status: 409, message: 'The offline revocation list is older than the one the device already holds' },
  OFFLINE_REVOCATIONS_STALE: { status: 409, message: 'The offline revocation list is older than this device accepts (or missing)' },
  LIVENESS_FAILED: { status: 401, message: 'Liveness check failed' },
  SSO_CLIENT_NOT_FOUND: { status: 404, message: 'No such SSO relying-party application' },
  SSO_INTERACTION_NOT_FOUND: { status: 404, message: 'No such sign-in interaction in this browser (expired or not started here)' },
  SSO_LOGIN_FINISHED: { status: 409, message: 'This sign-in interaction is already finished' },
  INVALID_SDP: { status: 400, message: 'The SDP offer could not be applied' },
  STREAM_ALREADY_CONNECTED: { status: 409, message: 'This streaming session already has a peer connection' },
  STREAMING_LIMIT_EXCEEDED: { status: 429, message: 'The client has reached its limit of concurrent streaming sessions' },
  USER_LIMIT_EXCEEDED: { status: 403, message: 'The client has reached its user limit' },
  RATE_LIMIT_EXCEEDED: { status: 429, message: 'Rate limit exceeded' },
  FRAME_RATE_EXCEEDED: { status: 429, message: 'Frames of this session arrive faster than the tier allows' },
  SESSION_LIMIT_EXCEEDED: { status: 429, message: 'Sessions started this hour exceed the tier\'s budget' },
  INTERNAL_ERROR: { status: 500, message: 'Internal server error' },
  SERVICE_BUSY: { status: 503, message: 'The face engine is busy, retry shortly' },
  SERVICE_UNAVAILABLE: { status: 503, message: 'A required service is unavailable' },
  QUERY_TIMEOUT: { status: 503, message: 'The analytics query ran longer than the server allows; ask for a shorter window' },
  MASTER_KEY_MISMATCH: { status: 503, message: 'The master key does not fit the stored data' },
  DATA_DIR_LOCKED: { status: 503, message: 'The data directory is in use by another Wajah process' },
  BACKUP_UNAVAILABLE: { status: 409, message: 'This server stores its data in PostgreSQL: back it up with pg_dump' },
  BACKUP_INVALID: { status: 400, message: 'The file is not a Wajah backup of the embedded database' },
  RESTORE_TARGET_NOT_EMPTY: { status: 409, message: 'The data directory already holds a database' },
  DATABASE_IN_USE: { status: 503, message: 'Wajah servers are using the database; this operation needs it alone' },
  MASTER_KEY_IN_USE: { status: 503, message: 'Running Wajah processes still seal with the previous master key' },
  MASTER_KEY_OUTDATED: { status: 503, message: 'This server does not hold the master key other servers now seal with: retry, another server can answer' },
  DATABASE_UNAVAILABLE: { status: 503, message: 'The database cannot be opened' },
  DATABASE_TOO_NEW: { status: 503, message: 'The database was migrated by a newer release and lacks migrations of this one' },
  MIGRATION_FAILED: { status: 503, message: 'A database migration failed; nothing was changed' },
  NEW_MASTER_KEY_INVALID: { status: 400, message: 'The new master key is missing, malformed or the current one' },
  SEALED_DATA_UNREADABLE: { status: 500, message: 'A sealed value does not open with the current master key' },
  INVALID_MULTIPART: { status: 400, message: 'The multipart body is malformed (boundary missing or wrong, or the body is truncated)' },
  METADATA_TOO_LARGE: { status: 413, message: 'The metadata is larger than the 16 KiB limit' },
  ADMIN_TOKEN_INVALID: { status: 401, message: 'The operator token is wrong' },
  COMPREFACE_KEY_MISSING: { status: 400, message: 'Missing header: x-api-key' },
  COMPREFACE_KEY_MALFORMED: { status: 400, message: 'Service API key should be UUID' },
  COMPREFACE_KEY_NOT_FOUND: { status: 404, message: 'No service with this API key' },
  EXAMPLE_IMAGE_NOT_STORED: { status: 404, message: 'The image of this example is not stored' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class AppError extends Error {
  readonly statusCode: number;
  readonly code: ErrorCode;
  readonly details?: unknown;
  readonly headers?: Record<string, string>;
  constructor(
    code: ErrorCode,
    message?: string,
    details?: unknown,
    /** Extra response headers, e.g. Retry-After. */
    headers?: Record<string, string>,
  ) {
    super(message ?? ERROR_CODES[code].message);
    this.code = code; this.details = details; this.headers = headers;
    this.name = 'AppError';
    this.statusCode = ERROR_CODES[code].status;
  }
}

export function appError(code: ErrorCode, message?: string, details?: unknown, headers?: Record<string, string>): AppError {
  return new AppError(code, message, details, headers);
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}
