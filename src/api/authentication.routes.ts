import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { BATCH_QUOTA, ChallengeTimeout, ErrorResponse, FaceLocationSchema, SessionHeaders, UploadText, unit } from './face-schemas.ts';
import { imageField, imageList, jsonField, parseFaceUpload, requestMeta } from './face-upload.ts';
import { appError } from '../errors.ts';
import { CHALLENGES, type Challenge } from '../services/liveness.service.ts';
import { Value } from '@sinclair/typebox/value';

const Mode = Type.Union([Type.Literal('verification'), Type.Literal('identification')]);
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const LivenessProgress = Type.Object({
  current_challenge: Nullable(Type.String()),
  challenges_remaining: Type.Integer(),
  challenge_expires_at: Nullable(Type.String({ format: 'date-time' })),
  challenges_completed: Type.Array(Type.String()),
});
const LivenessResult = Type.Object({
  passed: Type.Boolean(),
  score: Type.Number(),
  checks: Type.Object({
    blink_detected: Type.Boolean(),
    head_movement: Type.Number(),
    static_detection: Type.Boolean(),
    passive_score: Nullable(Type.Number({ description: 'Median passive anti-spoof score of the frames (probability of a live face)' })),
    spoof_detected: Type.Boolean({ description: 'The passive check judged the frames a print or a screen replay' }),
  }),
  challenges_completed: Type.Array(Type.String()),
  failure_reason: Type.Optional(
    Type.Union([Type.Literal('SPOOF_DETECTED'), Type.Literal('STATIC_IMAGE'), Type.Literal('CHALLENGE_TIMEOUT'), Type.Literal('BELOW_THRESHOLD')], {
      description: 'Why liveness failed (only when passed is false). SPOOF_DETECTED and STATIC_IMAGE end the session at the frame that decided them.',
    }),
  ),
});
const Match = Type.Object({
  user_id: Type.String(),
  confidence: Type.Number(),
  name: Type.String(),
  metadata: Type.Record(Type.String(), Type.Unknown()),
});
const AuthResult = Type.Object({
  authenticated: Type.Optional(Type.Boolean()),
  confidence: Type.Optional(Nullable(Type.Number())),
  user_id: Type.Optional(Nullable(Type.String())),
  user_name: Type.Optional(Nullable(Type.String())),
  matches: Type.Optional(Type.Array(Match)),
  liveness_score: Nullable(Type.Number()),
  quality_score: Type.Number(),
  threshold: Type.Number(),
  failure_reason: Type.Optional(Type.String({ description: 'LOW_CONFIDENCE, NO_MATCH, LIVENESS_FAILED, USER_INACTIVE, FACE_MISMATCH (a liveness session ended by another person\'s face)' })),
});
const Decision = Type.Object({
  status: Type.String({ description: 'completed (authenticated / matched), failed, or processing while liveness challenges run' }),
  result: Type.Optional(AuthResult),
  liveness_result: Type.Optional(LivenessResult),
  liveness: Type.Optional(LivenessProgress),
  face_detected: Type.Optional(Type.Boolean()),
  feedback: Type.Optional(Type.Object({ message: Type.String(), suggestions: Type.Array(Type.String()) })),
  quality_score: Type.Optional(Type.Number()),
  attempts_remaining: Type.Optional(Type.Integer()),
  processing_time: Type.Number({ description: 'seconds' }),
  timestamp: Type.String({ format: 'date-time' }),
  face: Type.Optional(FaceLocationSchema),
});
const Thresholds = {
  confidence_threshold: Type.Optional(unit),
  search_threshold: Type.Optional(unit),
  max_results: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
};

/** Authentication: sessions (1:1 / 1:N, server-driven liveness), one-shot verify/identify and batches. */
export async function authenticationRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const svc = () => app.container.face.authentication;
  const tags = ['authentication'];

  app.post('/auth/authentication/create/', {
    onRequest: app.authenticateSessionStart,
    schema: {
      tags,
      summary: 'Create a verification (1:1) or identification (1:N) session',
      body: Type.Object({
        user_id: Type.Optional(Type.String({ minLength: 1 })),
        session_type: Type.Optional(
          Type.Union([Type.Literal('webcam'), Type.Literal('mobile'), Type.Literal('upload')], {
            description: 'Where the frames come from (recorded with each attempt). WebRTC and SSO sessions are started by the server only.',
          }),
        ),
        mode: Type.Optional(Mode),
        require_liveness: Type.Optional(Type.Boolean()),
        liveness_threshold: Type.Optional(unit),
        liveness_challenges: Type.Optional(Type.Array(Type.Union(CHALLENGES.map((c) => Type.Literal(c))), { minItems: 1, maxItems: 6 })),
        challenge_timeout: Type.Optional(ChallengeTimeout),
        timeout: Type.Optional(Type.Integer({ minimum: 10, maximum: 3600 })),
        max_attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
        ...Thresholds,
      }),
      response: {
        201: Type.Object({
          session_id: Type.String({ format: 'uuid' }),
          session_token: Type.String(),
          expires_at: Type.String({ format: 'date-time' }),
          status: Type.Literal('active'),
          mode: Mode,
          user_id: Nullable(Type.String()),
          require_liveness: Type.Boolean(),
          settings: Type.Object({
            confidence_threshold: Type.Number(),
            search_threshold: Type.Number(),
            max_results: Type.Integer(),
            liveness_threshold: Type.Number(),
            max_attempts: Type.Integer(),
          }),
          liveness: Type.Optional(LivenessProgress),
        }),
        '4xx': ErrorResponse,
      },
    },
    handler: async (request, reply) =>
      reply.status(201).send(await svc().create(request.client!, { ...request.body, liveness_challenges: request.body.liveness_challenges as Challenge[] | undefined })),
  });

  app.post('/auth/authentication/process-frame/', {
    onRequest: app.authenticateFrame,
    preValidation: parseFaceUpload,
    schema: {
      tags,
      summary: 'Send one frame of an authentication session',
      consumes: ['multipart/form-data', 'application/json'],
      headers: SessionHeaders,
      body: Type.Object({ frame: Type.Optional(UploadText('image file (multipart) or data URL (JSON)')), frame_metadata: Type.Optional(Type.Unknown()) }),
      response: { 200: Decision, '4xx': ErrorResponse },
    },
    handler: async (request) => {
      const { image } = imageField(request, 'frame');
      jsonField(request, 'frame_metadata');
      return app.sessionFrame(request, () => svc().processFrame(request.client!, request.headers['x-session-token'], image, requestMeta(request)));
    },
  });

  app.post('/auth/authentication/verify/', {
    onRequest: app.authenticateClient,
    preValidation: parseFaceUpload,
    schema: {
      tags,
      summary: 'One-shot 1:1 verification without a session (server to server)',
      consumes: ['multipart/form-data', 'application/json'],
      body: Type.Object({ user_id: Type.String({ minLength: 1 }), image: Type.Optional(UploadText('image file or data URL')), ...Thresholds }),
      response: { 200: Decision, '4xx': ErrorResponse },
    },
    handler: async (request) => {
      const { image } = imageField(request, 'image');
      return svc().verify(request.client!, { ...request.body, image }, requestMeta(request));
    },
  });

  app.post('/auth/authentication/identify/', {
    onRequest: app.authenticateClient,
    preValidation: parseFaceUpload,
    schema: {
      tags,
      summary: 'One-shot 1:N identification without a session (server to server)',
      consumes: ['multipart/form-data', 'application/json'],
      body: Type.Object({ image: Type.Optional(UploadText('image file or data URL')), ...Thresholds }),
      response: { 200: Decision, '4xx': ErrorResponse },
    },
    handler: async (request) => {
      const { image } = imageField(request, 'image');
      return svc().identify(request.client!, { ...request.body, image }, requestMeta(request));
    },
  });

  app.post('/auth/authentication/compare/', {
    onRequest: app.authenticateClient,
    preValidation: parseFaceUpload,
    schema: {
      tags,
      summary: 'Two photos: the same person? (nothing stored, no user involved)',
      consumes: ['multipart/form-data', 'application/json'],
      body: Type.Object({
        image_a: Type.Optional(UploadText('first image file or data URL')),
        image_b: Type.Optional(UploadText('second image file or data URL')),
        confidence_threshold: Thresholds.confidence_threshold,
      }),
      response: {
        200: Type.Object({
          same_person: Type.Boolean(),
          confidence: Type.Number({ description: 'Calibrated as for verification: 0.8 ≈ 0.1 % false accepts per comparison' }),
          threshold: Type.Number(),
          faces: Type.Array(Type.Composite([FaceLocationSchema, Type.Object({ quality_score: Type.Number() })]), { minItems: 2, maxItems: 2 }),
          processing_time: Type.Number({ description: 'seconds' }),
        }),
        '4xx': ErrorResponse,
      },
    },
    handler: async (request) =>
      app.container.face.compare.compare({ image_a: imageField(request, 'image_a').image, image_b: imageField(request, 'image_b').image, confidence_threshold: request.body.confidence_threshold }),
  });

  const BatchOptions = Type.Object({
    mode: Type.Optional(Mode),
    user_id: Type.Optional(Type.String({ minLength: 1 })),
    batch_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
    parallel_processing: Type.Optional(Type.Boolean()),
    ...Thresholds,
  });
  app.post('/auth/authentication/batch-process/', {
    onRequest: app.authenticateBatch,
    preValidation: parseFaceUpload,
    schema: {
      tags,
      summary: 'Verify or identify many frames in one request',
      description: 'Multipart: files `frames` (repeated) and an `options` JSON field {mode, user_id, batch_size, parallel_processing, confidence_threshold, search_threshold, max_results}. JSON: frames as data URLs. ' + BATCH_QUOTA,
      consumes: ['multipart/form-data', 'application/json'],
      body: Type.Object({
        frames: Type.Optional(Type.Unknown()),
        options: Type.Optional(Type.Union([BatchOptions, Type.String({ description: 'The same object as JSON text (the multipart form)' })])),
      }),
      response: {
        200: Type.Object({
          mode: Mode,
          total: Type.Integer(),
          succeeded: Type.Integer(),
          failed: Type.Integer(),
          processing_time: Type.Number(),
          results: Type.Array(
            Type.Object({
              index: Type.Integer(),
              filename: Nullable(Type.String()),
              status: Type.String(),
              result: Type.Optional(AuthResult),
              error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
              processing_time: Type.Optional(Type.Number()),
              timestamp: Type.Optional(Type.String()),
            }),
          ),
        }),
        '4xx': ErrorResponse,
      },
    },
    handler: async (request) => {
      const frames = imageList(request, 'frames');
      const options = Value.Convert(BatchOptions, jsonField<Record<string, unknown>>(request, 'options') ?? {});
      if (!Value.Check(BatchOptions, options)) {
        const first = [...Value.Errors(BatchOptions, options)][0];
        throw appError('VALIDATION_ERROR', `body.options${first?.path.replace(/\//g, '.') ?? ''} ${first?.message ?? 'is invalid'}`, { field: 'options' });
      }
      await request.countBatch!(frames.length);
      return svc().batch(request.client!, frames, options, requestMeta(request));
    },
  });
}
