import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { appError, ERROR_CODES, isAppError, type ErrorCode } from '../../errors.ts';
import { rateHeaders } from '../../services/access.service.ts';
import { setEngineLane } from '../../observability/request-scope.ts';
import type { CompreFaceKeysService, CompreFaceService } from '../../services/compreface/keys.service.ts';
import { parsePlugins, type FaceQuery } from '../../services/compreface/face-format.ts';

/**
 * HTTP pieces of the CompreFace-compatible API (docs/compreface.md): error shape, x-api-key hook,
 * query repair, image bodies.
 */

/** CompreFace's numeric codes (its CommonExceptionCode) and statuses for Wajah's codes. */
const CF_CODES: Partial<Record<ErrorCode, [number, number]>> = {
  COMPREFACE_KEY_MISSING: [20, 400],
  COMPREFACE_KEY_MALFORMED: [26, 400],
  COMPREFACE_KEY_NOT_FOUND: [10, 404],
  VALIDATION_ERROR: [26, 400],
  INVALID_JSON: [26, 400],
  INVALID_MULTIPART: [26, 400],
  NO_FACE_DETECTED: [28, 400],
  MULTIPLE_FACES: [31, 400],
  USER_NOT_FOUND: [42, 404],
  USER_EXISTS: [43, 400],
  ENROLLMENT_NOT_FOUND: [11, 404],
  EXAMPLE_IMAGE_NOT_STORED: [11, 404],
  UNSUPPORTED_MEDIA_TYPE: [21, 400],
  INVALID_IMAGE: [21, 400],
  POOR_IMAGE_QUALITY: [36, 400],
  FACE_MISMATCH: [36, 400],
  USER_INACTIVE: [36, 400],
  MODEL_MISMATCH: [36, 400],
};

/**
 * CompreFace's error body `{ message, code }` (code: its number), with CompreFace's status where it has
 * one; Wajah's own code goes in the `x-wajah-error-code` header so nothing of it is lost.
 */
export function compreFaceErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  let code: ErrorCode;
  let message = error.message;
  let headers: Record<string, string> | undefined;
  let details: unknown;
  if (isAppError(error)) {
    ({ code, headers, details } = error);
  } else if (error.validation) {
    code = 'VALIDATION_ERROR';
    const first = error.validation[0];
    const field = (first?.instancePath || '').replace(/^\//, '') || (first?.params as { missingProperty?: string } | undefined)?.missingProperty || '';
    message = `${field ? `${field} ` : ''}${first?.message ?? 'is invalid'}`;
    details = { field };
  } else if (!error.statusCode && /multipart|boundary/i.test(error.message)) {
    // Broken multipart framing (busboy: "Unexpected end of multipart data", no status): the client's body, as in app.ts.
    code = 'INVALID_MULTIPART';
    message = `The multipart body is malformed: ${error.message}`;
  } else if (error.statusCode === 413 || /too large/i.test(error.message)) {
    code = 'PAYLOAD_TOO_LARGE';
  } else if (error.statusCode === 415) {
    code = 'UNSUPPORTED_MEDIA_TYPE';
  } else if (error.statusCode === 400) {
    code = /json/i.test(error.code ?? '') ? 'INVALID_JSON' : /multipart|boundary/i.test(error.message) ? 'INVALID_MULTIPART' : 'VALIDATION_ERROR';
  } else {
    request.log.error({ err: error }, 'unhandled error');
    code = 'INTERNAL_ERROR';
    message = ERROR_CODES.INTERNAL_ERROR.message;
  }
  const status = ERROR_CODES[code].status;
  let [cf, cfStatus] = CF_CODES[code] ?? [status >= 500 ? 41 : 0, status];
  // CompreFace: INCORRECT_PREDICTION_COUNT (12).
  if (code === 'VALIDATION_ERROR' && (details as { field?: string } | undefined)?.field === 'prediction_count') cf = 12;
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  if (headers) reply.headers(headers);
  if (status === 429 || status >= 500) cfStatus = status;
  return reply.status(cfStatus).header('x-wajah-error-code', code).send({ message, code: cf });
}

/** CompreFace's service paths (absolute, as CompreFace serves them): unknown ones answer in its shape too. */
export function isCompreFacePath(path: string): boolean {
  return /^\/api\/v1\/(recognition|detection|verification)(\/|$)/.test(path);
}

/**
 * onRequest hook: the x-api-key of this service → request.client (and the rate-limit headers). One call is
 * counted now; a route whose request carries several images counts them all with `request.countBatch`
 * (one call per image, docs/foundation.md "Limits"), before the engine runs.
 */
export function serviceKeyHook(keys: CompreFaceKeysService, service: CompreFaceService) {
  return async function authenticateServiceKey(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const { client, rate, countBatch } = await keys.authorize(service, request.headers['x-api-key'], request.ip);
    request.client = client;
    setEngineLane(client.id);
    if (rate) reply.headers(rateHeaders(rate));
    request.countBatch = async (images: number) => {
      const counted = await countBatch?.(images);
      if (counted) reply.headers(rateHeaders(counted));
    };
  };
}

const CF_PARAMS = 'subject|limit|det_prob_threshold|prediction_count|face_plugins|status|page|size';
const STRAY = new RegExp(`\\?(?=(?:${CF_PARAMS})=)`, 'g');

/**
 * CompreFace's JavaScript SDK joins some parameters with a second `?` instead of `&`
 * (`faces?subject=x?det_prob_threshold=0.8`); CompreFace itself then reads a subject named
 * `x?det_prob_threshold=0.8`. A `?` directly before a known parameter name is read as `&` here.
 */
export async function repairQuery(request: FastifyRequest): Promise<void> {
  const at = request.url.indexOf('?');
  if (at < 0) return;
  const raw = request.url.slice(at + 1);
  if (!STRAY.test(raw)) return;
  STRAY.lastIndex = 0;
  const query: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(raw.replace(STRAY, '&'))) query[k] = v;
  request.query = query;
}

/** The query parameters of the image endpoints. */
export const ImageQuery = Type.Object({
  limit: Type.Integer({ minimum: 0, default: 0, description: 'largest faces first; 0 = every face' }),
  det_prob_threshold: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'minimum detection probability of a face' })),
  face_plugins: Type.Optional(Type.String({ maxLength: 200, description: 'comma-separated: landmarks, pose (others are accepted and ignored)' })),
  status: Type.Boolean({ default: false, description: 'add execution_time and plugins_versions' }),
});

export function faceQuery(q: { limit: number; det_prob_threshold?: number; face_plugins?: string; status: boolean }): FaceQuery {
  return { limit: q.limit, detProbThreshold: q.det_prob_threshold, plugins: parsePlugins(q.face_plugins), status: q.status };
}

/** A JSON body's image: base64 (CompreFace) or a data URL. */
export function decodeBase64Image(value: unknown, field: string): Buffer {
  if (typeof value !== 'string' || !value.length) throw appError('VALIDATION_ERROR', `${field} is required: a file part (multipart) or base64 (JSON)`, { field });
  const b64 = value.startsWith('data:') ? value.slice(value.indexOf(',') + 1) : value;
  const clean = b64.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(clean)) throw appError('VALIDATION_ERROR', `${field} is not valid base64`, { field });
  const bytes = Buffer.from(clean, 'base64');
  if (!bytes.length) throw appError('VALIDATION_ERROR', `${field} is empty`, { field });
  return bytes;
}

/** The image of `field`: an uploaded file part, or base64 in the JSON body. */
export function cfImage(request: FastifyRequest, field: string): Uint8Array {
  const file = request.faceFiles?.find((f) => f.field === field);
  if (file) return file.data;
  return decodeBase64Image((request.body as Record<string, unknown> | undefined)?.[field], field);
}

export const CfError = Type.Object({ message: Type.String(), code: Type.Integer() }, { description: "CompreFace's error shape" });
export const FaceItem = Type.Object(
  {
    box: Type.Object({ probability: Type.Number(), x_max: Type.Integer(), y_max: Type.Integer(), x_min: Type.Integer(), y_min: Type.Integer() }),
    landmarks: Type.Optional(Type.Array(Type.Array(Type.Integer()))),
    pose: Type.Optional(Type.Object({ pitch: Type.Number(), roll: Type.Number(), yaw: Type.Number() })),
    execution_time: Type.Optional(Type.Record(Type.String(), Type.Number())),
  },
  { additionalProperties: true },
);
export const PluginsVersions = Type.Optional(Type.Record(Type.String(), Type.String()));
