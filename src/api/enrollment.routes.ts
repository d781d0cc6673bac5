import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { BATCH_QUOTA, ErrorResponse, FaceLocationSchema, SessionHeaders, UploadText, unit } from './face-schemas.ts';
import { MAX_UPLOAD_IMAGES, imageField, imageList, jsonField, parseFaceUpload } from './face-upload.ts';
import { appError } from '../errors.ts';
import type { SessionType } from '../services/enrollment.service.ts';

const Angle = Type.Union([Type.Literal('front'), Type.Literal('left'), Type.Literal('right'), Type.Literal('up'), Type.Literal('down')]);
const QualityMetrics = Type.Object({
  overall_quality: Type.Number(),
  face_count: Type.Integer(),
  average_confidence: Type.Number(),
  angles_captured: Type.Array(Type.String()),
});
const EnrollmentCompleted = Type.Object({
  status: Type.Literal('completed'),
  enrollment_id: Type.String({ format: 'uuid' }),
  user_id: Type.String({ description: 'external_id of the user' }),
  quality_metrics: QualityMetrics,
  created_at: Type.String({ format: 'date-time' }),
  face: Type.Optional(FaceLocationSchema),
});
const FrameResponse = Type.Object({
  status: Type.Union([Type.Literal('processing'), Type.Literal('ready'), Type.Literal('rejected')], {
    description: 'processing: more frames needed; ready: call complete; rejected: this frame was not used (see rejection_reason)',
  }),
  quality_score: Type.Number(),
  face_detected: Type.Boolean(),
  frame_accepted: Type.Boolean(),
  rejection_reason: Type.Union([Type.String(), Type.Null()], { description: 'NO_FACE_DETECTED, POOR_IMAGE_QUALITY, IDENTITY_UNCERTAIN (turned too far to confirm the identity), ANGLE_ALREADY_CAPTURED, ANGLE_NOT_NEEDED, ENOUGH_FRAMES' }),
  captured: Type.Boolean({ description: 'This frame was taken into the enrollment (auto-capture on mobile sessions)' }),
  auto_capture: Type.Boolean(),
  angle: Type.Union([Angle, Type.Null()]),
  feedback: Type.Object({ message: Type.String(), suggestions: Type.Array(Type.String()) }),
  progress: Type.Object({ current: Type.Integer(), required: Type.Integer(), angles_captured: Type.Array(Type.String()) }),
  face: Type.Optional(FaceLocationSchema),
});

/** Enrollment: frame sessions, single-image and batch enrollment, listing and deletion (guide: Face Enrollment). */
export async function enrollmentRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const svc = () => app.container.face.enrollment;
  const tags = ['enrollment'];

  app.post('/auth/enrollment/create/', {
    onRequest: app.authenticateSessionStart,
    schema: {
      tags,
      summary: 'Create an enrollment session',
      body: Type.Object({
        user_id: Type.String({ minLength: 1, description: 'external_id (or uuid) of the user' }),
        session_type: Type.Optional(Type.Union([Type.Literal('webcam'), Type.Literal('mobile'), Type.Literal('upload')])),
        quality_threshold: Type.Optional(unit),
        require_multiple_angles: Type.Optional(Type.Boolean()),
        timeout: Type.Optional(Type.Integer({ minimum: 10, maximum: 3600, description: 'seconds' })),
        auto_capture: Type.Optional(Type.Boolean()),
        guidance_enabled: Type.Optional(Type.Boolean()),
      }),
      response: {
        201: Type.Object({
          session_id: Type.String({ format: 'uuid' }),
          session_token: Type.String({ description: 'Send as X-Session-Token; shown once' }),
          expires_at: Type.String({ format: 'date-time' }),
          status: Type.Literal('active'),
          user_id: Type.String(),
          session_type: Type.String(),
          requirements: Type.Object({
            quality_threshold: Type.Number(),
            required_frames: Type.Integer(),
            require_multiple_angles: Type.Boolean(),
            required_angles: Type.Array(Type.String()),
            auto_capture: Type.Boolean(),
            guidance_enabled: Type.Boolean(),
            timeout: Type.Integer(),
          }),
        }),
        '4xx': ErrorResponse,
      },
    },
    handler: async (request, reply) => reply.status(201).send(await svc().create(request.client!, { ...request.body, session_type: request.body.session_type as SessionType | undefined })),
  });

  app.post('/auth/enrollment/process-frame/', {
    onRequest: app.authenticateFrame,
    preValidation: parseFaceUpload,
    schema: {
      tags,
      summary: 'Send one camera frame of an enrollment session',
      consumes: ['multipart/form-data', 'application/json'],
      headers: SessionHeaders,
      body: Type.Object({ frame: Type.Optional(UploadText('image file (multipart) or data URL (JSON)')), frame_metadata: Type.Optional(Type.Unknown()) }),
      response: { 200: FrameResponse, '4xx': ErrorResponse },
    },
    handler: async (request) => {
      const { image } = imageField(request, 'frame');
      jsonField(request, 'frame_metadata'); // validated; device orientation is applied from EXIF by the engine
      return app.sessionFrame(request, () => svc().processFrame(request.client!, request.headers['x-session-token'], image));
    },
  });

  app.post('/auth/enrollment/complete/', {
    onRequest: app.authenticateClient,
    schema: { tags, summary: 'Complete an enrollment session', headers: SessionHeaders, response: { 201: EnrollmentCompleted, '4xx': ErrorResponse } },
    handler: async (request, reply) => reply.status(201).send(await svc().complete(request.client!, request.headers['x-session-token'])),
  });

  app.post('/auth/enrollment/direct/', {
    onRequest: app.authenticateClient,
    preValidation: parseFaceUpload,
    schema: {
      tags,
      summary: 'Enroll from one uploaded image',
      consumes: ['multipart/form-data', 'application/json'],
      body: Type.Object({
        user_id: Type.String({ minLength: 1 }),
        image: Type.Optional(UploadText('image file (multipart) or data URL (JSON)')),
        quality_threshold: Type.Optional(unit),
        face_index: Type.Optional(Type.Integer({ minimum: 0, description: 'Which face of a picture with several (0-based, the order of MULTIPLE_FACES details.faces); without it such a picture is refused' })),
        replace: Type.Optional(Type.Boolean({ description: "true: delete the user's existing enrollments and enroll this face instead; otherwise a face that does not match them is FACE_MISMATCH" })),
      }),
      response: { 201: EnrollmentCompleted, '4xx': ErrorResponse },
    },
    handler: async (request, reply) => {
      const { image } = imageField(request, 'image');
      const { user_id, quality_threshold, face_index, replace } = request.body;
      const out = await svc().direct(request.client!, { user_id, quality_threshold, face_index, replace, image });
      return reply.status(201).send(out);
    },
  });

  app.post('/auth/enrollment/batch/', {
    onRequest: app.authenticateBatch,
    preValidation: parseFaceUpload,
    schema: {
      tags,
      summary: 'Enroll many users/images at once',
      description:
        'Multipart: files `images` (repeated) and `user_ids` (a JSON array, one user per image, or the field repeated). JSON: `items` [{user_id, image (data URL)}]. Images of one user become one enrollment. ' + BATCH_QUOTA,
      consumes: ['multipart/form-data', 'application/json'],
      body: Type.Object({
        images: Type.Optional(Type.Unknown()),
        user_ids: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
        items: Type.Optional(Type.Array(Type.Object({ user_id: Type.String({ minLength: 1 }), image: Type.String() }), { description: `At most ${MAX_UPLOAD_IMAGES} items (more is 413 PAYLOAD_TOO_LARGE)` })),
        quality_threshold: Type.Optional(unit),
      }),
      response: {
        200: Type.Object({
          total: Type.Integer(),
          completed: Type.Integer(),
          failed: Type.Integer(),
          results: Type.Array(
            Type.Object({
              index: Type.Integer(),
              user_id: Type.String(),
              filename: Type.Union([Type.String(), Type.Null()]),
              status: Type.String(),
              enrollment_id: Type.Optional(Type.String()),
              quality_score: Type.Optional(Type.Number()),
              error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
            }),
          ),
        }),
        '4xx': ErrorResponse,
      },
    },
    handler: async (request) => {
      const body = request.body;
      let items: Array<{ user_id: string; image: Uint8Array | string; filename?: string }>;
      if (body.items) {
        // The same bound as the multipart files and the JSON `images` list (face-upload.ts): each item is a detector run.
        if (body.items.length > MAX_UPLOAD_IMAGES) {
          throw appError('PAYLOAD_TOO_LARGE', `body.items holds ${body.items.length} images; at most ${MAX_UPLOAD_IMAGES} per request`, { field: 'items', location: 'body', max_images: MAX_UPLOAD_IMAGES });
        }
        items = body.items;
      } else {
        const images = imageList(request, 'images');
        const raw = typeof body.user_ids === 'string' && body.user_ids.trim().startsWith('[') ? jsonField<string[]>(request, 'user_ids') : body.user_ids;
        const ids: unknown[] = Array.isArray(raw) ? raw : raw ? [raw] : [];
        // Ids as sent, never made into one: [1] would otherwise name the user "1", [null] the user "null".
        if (!ids.every((id): id is string => typeof id === 'string' && id.length > 0)) {
          throw appError('VALIDATION_ERROR', 'body.user_ids must hold user ids: non-empty strings', { field: 'user_ids', location: 'body' });
        }
        if (ids.length !== images.length) {
          throw appError('VALIDATION_ERROR', `body.user_ids must name one user per image (${images.length} images, ${ids.length} user ids)`, { field: 'user_ids' });
        }
        items = images.map((im, i) => ({ user_id: ids[i] as string, image: im.image, filename: im.filename }));
      }
      await request.countBatch!(items.length);
      return svc().batch(request.client!, items, body.quality_threshold);
    },
  });

  app.get('/auth/enrollments/', {
    onRequest: app.authenticateClient,
    schema: {
      tags,
      summary: "List a user's enrollments",
      querystring: Type.Object({ user_id: Type.String({ minLength: 1 }) }),
      response: {
        200: Type.Object({
          user_id: Type.String(),
          count: Type.Integer(),
          enrollments: Type.Array(
            Type.Object({
              enrollment_id: Type.String(),
              source: Type.String(),
              model_id: Type.String(),
              quality_score: Type.Number(),
              face_count: Type.Integer(),
              average_confidence: Type.Number(),
              angles_captured: Type.Array(Type.String()),
              created_at: Type.String({ format: 'date-time' }),
            }),
          ),
        }),
        '4xx': ErrorResponse,
      },
    },
    handler: async (request) => svc().list(request.client!, request.query.user_id),
  });

  app.delete('/auth/enrollments/:enrollment_id/', {
    onRequest: app.authenticateClient,
    schema: {
      tags,
      summary: 'Delete one enrollment (its templates leave the search at once)',
      params: Type.Object({ enrollment_id: Type.String() }),
      response: { 200: Type.Object({ deleted: Type.Boolean(), enrollment_id: Type.String(), templates_removed: Type.Integer() }), '4xx': ErrorResponse },
    },
    handler: async (request) => svc().remove(request.client!, request.params.enrollment_id),
  });
}
