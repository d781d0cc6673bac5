import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { DateTime, Nullable, PageQuery, PageSchema, errors, optionalJson, requireJson } from './common.schemas.ts';
import { BATCH_QUOTA, UploadText, unit } from './face-schemas.ts';
import { parseFaceUpload } from './face-upload.ts';
import { appError } from '../errors.ts';
import { decodeDataUrl, MAX_REVIEW_PHOTOS, type ReviewPhotoInput } from '../services/review.service.ts';
import type { UserActor } from '../services/users.service.ts';

const Status = Type.Union([Type.Literal('pending'), Type.Literal('approved'), Type.Literal('rejected')]);
const ReviewSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    user_id: Type.String({ description: 'external_id of the user' }),
    user_name: Type.String(),
    status: Status,
    reason: Type.String({ description: 'Why the user could not enroll (from the submitter)' }),
    notes: Nullable(Type.String()),
    quality_threshold: Type.Number({ description: 'Quality bar used at approval' }),
    outcome: Nullable(Type.Union([Type.Literal('enrolled'), Type.Literal('manually_verified')])),
    enrollment_id: Nullable(Type.String()),
    decision_notes: Nullable(Type.String()),
    rejection_reason: Nullable(Type.String()),
    decided_by: Nullable(Type.String()),
    decided_at: Nullable(DateTime),
    photos_deleted: Type.Boolean({ description: 'true once decided: the photos are deleted with the decision' }),
    photo_count: Type.Integer({ description: 'Photos submitted' }),
    photos: Type.Array(
      Type.Object({
        id: Type.String({ format: 'uuid' }),
        position: Type.Integer(),
        content_type: Type.String(),
        size: Type.Integer({ description: 'bytes' }),
        face_detected: Nullable(Type.Boolean()),
        quality_score: Nullable(Type.Number()),
      }),
      { description: 'Photos still held (encrypted); fetch one with GET …/photos/{photo_id}/' },
    ),
    created_at: DateTime,
    updated_at: DateTime,
  },
  { description: 'A manual-review request' },
);
const ApprovedSchema = Type.Intersect([
  ReviewSchema,
  Type.Object({
    enrollment: Nullable(
      Type.Object({
        enrollment_id: Type.String({ format: 'uuid' }),
        quality_metrics: Type.Object({ overall_quality: Type.Number(), face_count: Type.Integer(), average_confidence: Type.Number(), angles_captured: Type.Array(Type.String()) }),
        created_at: DateTime,
      }),
    ),
    photos_analyzed: Type.Array(
      Type.Object({
        photo_id: Type.String(),
        face_detected: Type.Boolean(),
        quality_score: Nullable(Type.Number()),
        used: Type.Boolean(),
        reason: Nullable(Type.String({ description: 'Why a photo was not used: NO_FACE_DETECTED, POOR_IMAGE_QUALITY, FACE_MISMATCH, INVALID_IMAGE' })),
      }),
    ),
  }),
]);
const ReviewParams = Type.Object({ review_id: Type.String({ minLength: 1, maxLength: 64 }) });
const AUTH_ERRORS = [401, 403, 429] as const;

function actor(request: FastifyRequest): UserActor {
  return { apiKeyId: request.client!.apiKeyId, ip: request.ip };
}

/** Photos of a submission: files `images` (repeated) or `image`; JSON `images` [data URL] or `image`. */
function submittedPhotos(request: FastifyRequest): ReviewPhotoInput[] {
  const files = (request.faceFiles ?? []).filter((f) => f.field === 'images' || f.field === 'image');
  if (files.length) return files.map((f) => ({ bytes: f.data, contentType: f.mimetype }));
  const body = request.body as { images?: unknown; image?: unknown };
  const list = [...(Array.isArray(body.images) ? body.images : body.images !== undefined ? [body.images] : []), ...(body.image !== undefined ? [body.image] : [])];
  if (list.some((v) => typeof v !== 'string')) throw appError('VALIDATION_ERROR', 'body.images must be data URLs', { field: 'images', location: 'body' });
  return (list as string[]).map((v, i) => decodeDataUrl(v, `images.${i}`));
}

/** The manual-review queue (C5) for users who cannot enroll. See docs/fallbacks.md. */
export async function reviewRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const svc = () => app.container.fallbacks.reviews;
  const base = { onRequest: app.authenticateClient } as const;
  const tags = ['reviews'];

  app.post('/auth/enrollment/review/', {
    onRequest: app.authenticateBatch,
    preValidation: parseFaceUpload,
    schema: {
      tags,
      summary: 'Ask for a manual review: photos of a user who cannot enroll',
      description: `Multipart: files \`images\` (repeated, 1-${MAX_REVIEW_PHOTOS}) plus text fields; JSON: \`images\` as data URLs. The photos are stored only encrypted until the review is decided. Each photo is checked for a face, so ${BATCH_QUOTA}`,
      consumes: ['multipart/form-data', 'application/json'],
      body: Type.Object({
        user_id: Type.String({ minLength: 1, description: 'external_id (or uuid) of the user' }),
        reason: Type.String({ minLength: 1, maxLength: 2000, description: 'Why the user cannot enroll (e.g. enrollment failed, disability, assisted enrollment)' }),
        notes: Type.Optional(Type.String({ maxLength: 2000 })),
        quality_threshold: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Quality bar for the enrollment made at approval (default 0.3)' })),
        images: Type.Optional(Type.Union([UploadText('image files (multipart) or data URLs (JSON)'), Type.Array(Type.String(), { maxItems: MAX_REVIEW_PHOTOS })])),
        image: Type.Optional(UploadText('one image (multipart file or data URL)')),
      }),
      response: { 201: ReviewSchema, ...errors(400, ...AUTH_ERRORS, 404, 409, 413, 415, 422, 503) },
    },
    handler: async (request, reply) => {
      const { user_id, reason, notes, quality_threshold } = request.body;
      const photos = submittedPhotos(request);
      // Each photo runs through the face engine: one call each, as a batch (more than the maximum is refused by submit, as one call).
      if (photos.length <= MAX_REVIEW_PHOTOS) await request.countBatch!(photos.length);
      const out = await svc().submit(request.client!, { user_id, reason, notes, quality_threshold, photos }, actor(request));
      return reply.code(201).send(out);
    },
  });

  app.get('/reviews/', {
    ...base,
    schema: {
      tags,
      summary: 'List the manual-review queue (oldest first)',
      querystring: Type.Object({ status: Type.Optional(Status), user_id: Type.Optional(Type.String({ minLength: 1 })), ...PageQuery }),
      response: { 200: PageSchema(ReviewSchema, 'A page of review requests'), ...errors(400, ...AUTH_ERRORS) },
    },
    handler: async (request) => svc().list(request.client!.id, request.query),
  });

  app.get('/reviews/:review_id/', {
    ...base,
    schema: { tags, summary: 'Get one review request', params: ReviewParams, response: { 200: ReviewSchema, ...errors(...AUTH_ERRORS, 404) } },
    handler: async (request) => svc().get(request.client!.id, request.params.review_id),
  });

  app.get('/reviews/:review_id/photos/:photo_id/', {
    ...base,
    schema: {
      tags,
      summary: 'Decrypt and download one photo of a pending review (audited)',
      params: Type.Object({ review_id: Type.String({ minLength: 1, maxLength: 64 }), photo_id: Type.String({ minLength: 1, maxLength: 64 }) }),
      produces: ['image/jpeg', 'image/png', 'image/webp'],
      response: { 200: Type.Unsafe<Buffer>({ type: 'string', format: 'binary', description: 'The image as submitted' }), ...errors(...AUTH_ERRORS, 404) },
    },
    handler: async (request, reply) => {
      const { bytes, contentType } = await svc().photo(request.client!.id, request.params.review_id, request.params.photo_id, actor(request));
      return reply.type(contentType).header('cache-control', 'no-store').header('x-content-type-options', 'nosniff').send(bytes);
    },
  });

  app.post('/reviews/:review_id/approve/', {
    ...base,
    preValidation: optionalJson,
    schema: {
      tags,
      summary: 'Approve: enroll from the usable photos, or record the user as manually verified',
      params: ReviewParams,
      body: Type.Object({
        notes: Type.Optional(Type.String({ maxLength: 2000 })),
        quality_threshold: Type.Optional(unit),
      }),
      response: { 200: ApprovedSchema, ...errors(400, ...AUTH_ERRORS, 404, 409, 413, 415, 422, 503) },
    },
    handler: async (request) => svc().approve(request.client!, request.params.review_id, request.body, actor(request)),
  });

  app.post('/reviews/:review_id/reject/', {
    ...base,
    preValidation: requireJson,
    schema: {
      tags,
      summary: 'Reject a review request (its photos are deleted)',
      params: ReviewParams,
      body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: 2000 }) }),
      response: { 200: ReviewSchema, ...errors(400, ...AUTH_ERRORS, 404, 409, 413, 415) },
    },
    handler: async (request) => svc().reject(request.client!, request.params.review_id, request.body, actor(request)),
  });
}
