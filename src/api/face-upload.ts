import type { FastifyRequest } from 'fastify';
import { appError } from '../errors.ts';
import { assertCleanInput } from './input-guard.ts';

/** One uploaded file part. */
export interface UploadedFile {
  field: string;
  filename: string;
  mimetype: string;
  data: Buffer;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Files of a multipart face upload, read by `parseFaceUpload` (empty for JSON bodies). */
    faceFiles?: UploadedFile[];
  }
}

const IMAGE_TYPES = /^(image\/[a-z0-9.+-]+|application\/octet-stream)$/i;

/** A part that carries JSON (`options`, `frame_metadata`, `user_ids`…): typed by its client, sometimes as a file (a browser's Blob). */
const JSON_TYPE = /^application\/json\b/i;

/** The most a text field may hold (app.ts gives @fastify/multipart the same fieldSize). */
export const MAX_FIELD_BYTES = 1024 * 1024;

/** Images one request may carry: multipart files (app.ts passes it to @fastify/multipart) or a JSON list of data URLs. */
export const MAX_UPLOAD_IMAGES = 64;

/** Text fields one multipart body may carry (app.ts passes it to @fastify/multipart). */
export const MAX_UPLOAD_FIELDS = 32;

/** Multipart parts that carry one image file (our routes and the CompreFace-compatible ones). */
export const FILE_PARTS: ReadonlySet<string> = new Set(['frame', 'image', 'image_a', 'image_b', 'file', 'source_image', 'target_image']);
/** Multipart parts that may be repeated, one image file each. */
export const FILE_LIST_PARTS: ReadonlySet<string> = new Set(['frames', 'images']);

/**
 * preValidation hook of the face upload routes. Multipart: text fields become `request.body` (so the
 * route's TypeBox schema validates and coerces them, e.g. quality_threshold "0.8" → 0.8) and files
 * go to `request.faceFiles`. JSON: the body stays as it is (images as data URLs). Anything else, or a
 * file that is not an image: UNSUPPORTED_MEDIA_TYPE.
 */
export async function parseFaceUpload(request: FastifyRequest): Promise<void> {
  request.faceFiles = [];
  if (request.isMultipart()) {
    // WAJAH_BODY_LIMIT bounds the whole body, as it does for JSON: @fastify/multipart's fileSize is
    // per file, so 64 files of just under the limit each would otherwise all be held in memory.
    const limit = request.server.container.config.bodyLimit;
    let total = 0;
    const tooLarge = () => appError('PAYLOAD_TOO_LARGE', `The multipart body exceeds ${limit} bytes (WAJAH_BODY_LIMIT)`, { limit });
    const fields: Record<string, string | string[]> = {};
    for await (const part of request.parts()) {
      if (part.type === 'file' && JSON_TYPE.test(part.mimetype)) {
        // A JSON value sent as a file part (FormData.append(name, new Blob([json], { type: 'application/json' }))):
        // a text field like any other, held to a text field's size.
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of part.file as AsyncIterable<Buffer>) {
          size += chunk.length;
          total += chunk.length;
          if (total > limit) throw tooLarge();
          if (size > MAX_FIELD_BYTES) throw fieldTooLarge(part.fieldname);
          chunks.push(chunk);
        }
        if (part.file.truncated) throw tooLarge();
        addField(fields, part.fieldname, Buffer.concat(chunks).toString('utf8'));
      } else if (part.type === 'file') {
        // A file on a text field (`options`, `replace`, `user_id` sent as a file) would be dropped without a
        // word, and the request run as if the field were missing; a second image for a one-image field would
        // be ignored, so the first would decide.
        if (!FILE_PARTS.has(part.fieldname) && !FILE_LIST_PARTS.has(part.fieldname)) {
          throw appError('VALIDATION_ERROR', `body.${part.fieldname} is not an image part: send it as a text field, not a file`, { field: part.fieldname, location: 'body' });
        }
        if (FILE_PARTS.has(part.fieldname) && request.faceFiles.some((f) => f.field === part.fieldname)) {
          throw appError('VALIDATION_ERROR', `body.${part.fieldname} takes one image; this request sent more`, { field: part.fieldname, location: 'body' });
        }
        if (!IMAGE_TYPES.test(part.mimetype)) {
          throw appError('UNSUPPORTED_MEDIA_TYPE', `${part.fieldname}: ${part.mimetype} is not an image (JPEG, PNG or WebP)`);
        }
        const chunks: Buffer[] = [];
        for await (const chunk of part.file as AsyncIterable<Buffer>) {
          total += chunk.length;
          if (total > limit) throw tooLarge();
          chunks.push(chunk);
        }
        // Over fileSize the stream ends early and is marked truncated (the total check above fires first
        // unless the two limits differ): never hand a cut image on as if it were whole.
        if (part.file.truncated) throw tooLarge();
        request.faceFiles.push({ field: part.fieldname, filename: part.filename, mimetype: part.mimetype, data: Buffer.concat(chunks) });
      } else {
        // A text field over fieldSize arrives cut short: refuse it rather than validate the stump.
        if (part.valueTruncated) throw fieldTooLarge(part.fieldname);
        // A part typed application/json arrives parsed by @fastify/multipart: its JSON text again (a JSON
        // string is its own text), so that it reads as the same field sent untyped.
        const value = typeof part.value === 'string' ? part.value : JSON.stringify(part.value);
        total += Buffer.byteLength(value);
        if (total > limit) throw tooLarge();
        addField(fields, part.fieldname, value);
      }
    }
    assertCleanInput(fields, 'body');
    request.body = fields;
    return;
  }
  const type = String(request.headers['content-type'] ?? '');
  if (request.body !== undefined && !/^application\/json/i.test(type)) {
    throw appError('UNSUPPORTED_MEDIA_TYPE', 'Send multipart/form-data (image files) or application/json (data URLs)');
  }
  if (request.body === undefined || request.body === null) request.body = {};
}

function fieldTooLarge(field: string) {
  return appError('PAYLOAD_TOO_LARGE', `Field ${field} exceeds the 1 MiB a multipart text field may hold`, { field });
}

/** A repeated field becomes a list, in the order its parts came. */
function addField(fields: Record<string, string | string[]>, name: string, value: string): void {
  const prev = fields[name];
  fields[name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
}

/** The image of `field`: an uploaded file, or a data URL string in the JSON body. Missing: VALIDATION_ERROR naming the field. */
export function imageField(request: FastifyRequest, field: string): { image: Uint8Array | string; contentType?: string; filename?: string } {
  const file = request.faceFiles?.find((f) => f.field === field);
  if (file) return { image: file.data, contentType: file.mimetype, filename: file.filename };
  const value = (request.body as Record<string, unknown> | undefined)?.[field];
  if (typeof value === 'string' && value.length) return { image: value };
  throw appError('VALIDATION_ERROR', `body.${field} is required: upload an image file named "${field}"`, { field, location: 'body' });
}

/** Every image of `field` (repeated file parts or a JSON array of data URLs). */
export function imageList(request: FastifyRequest, field: string): Array<{ image: Uint8Array | string; filename?: string }> {
  const files = (request.faceFiles ?? []).filter((f) => f.field === field).map((f) => ({ image: f.data as Uint8Array | string, filename: f.filename }));
  if (files.length) return files;
  const value = (request.body as Record<string, unknown> | undefined)?.[field];
  const list = Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
  if (!list.length || list.some((v) => typeof v !== 'string')) {
    throw appError('VALIDATION_ERROR', `body.${field} is required: upload one or more image files named "${field}"`, { field, location: 'body' });
  }
  // Multipart stops at MAX_UPLOAD_IMAGES files; the JSON form holds to the same count (each image is a detector run).
  if (list.length > MAX_UPLOAD_IMAGES) {
    throw appError('PAYLOAD_TOO_LARGE', `body.${field} holds ${list.length} images; at most ${MAX_UPLOAD_IMAGES} per request`, { field, location: 'body', max_images: MAX_UPLOAD_IMAGES });
  }
  return list.map((v) => ({ image: v as string }));
}

/**
 * A JSON-valued field (multipart sends it as text; JSON bodies may send the object itself). Its value is held
 * to what a JSON body is (nesting depth, control characters: input-guard.ts).
 */
export function jsonField<T>(request: FastifyRequest, field: string): T | undefined {
  const value = (request.body as Record<string, unknown> | undefined)?.[field];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') return value as T;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw appError('VALIDATION_ERROR', `body.${field} must be a JSON object`, { field, location: 'body' });
  }
  assertCleanInput({ [field]: parsed }, 'body');
  return parsed as T;
}

export function requestMeta(request: FastifyRequest): { ip: string | null; userAgent: string | null } {
  return { ip: request.ip ?? null, userAgent: (request.headers['user-agent'] as string | undefined) ?? null };
}
