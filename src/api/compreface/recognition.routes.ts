import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { parseFaceUpload, requestMeta } from '../face-upload.ts';
import type { CompreFaceServices } from '../../services/compreface/index.ts';
import type { UserActor } from '../../services/users.service.ts';
import { CfError, FaceItem, ImageQuery, PluginsVersions, cfImage, faceQuery, serviceKeyHook } from './compreface-http.ts';

const Subject = Type.String({ minLength: 1, maxLength: 255 });
const SubjectBody = Type.Object({ subject: Subject });
const SubjectParams = Type.Object({ subject: Subject });
const ImageParams = Type.Object({ image_id: Type.String({ minLength: 1, maxLength: 64 }) });
const Example = Type.Object({ image_id: Type.String(), subject: Type.String() });
const errors = { '4xx': CfError, '5xx': CfError };

const actor = (request: FastifyRequest): UserActor => ({ apiKeyId: request.client!.apiKeyId, ip: request.ip });

/** CompreFace's recognition service under /api/v1/recognition/ (docs/compreface.md). */
export function recognitionRoutes(cf: CompreFaceServices) {
  return async function routes(fastify: FastifyInstance): Promise<void> {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const { collection, recognition } = cf;
    const onRequest = serviceKeyHook(cf.keys, 'recognition');
    const tags = ['compreface'];
    const base = '/api/v1/recognition';

    // ---- subjects ----
    app.post(`${base}/subjects`, {
      onRequest,
      schema: { tags, summary: 'Add a subject (a Wajah user, external_id = subject)', body: SubjectBody, response: { 201: Type.Object({ subject: Type.String() }), ...errors } },
      handler: async (request, reply) => reply.status(201).send(await collection.addSubject(request.client!, request.body.subject, actor(request))),
    });
    app.get(`${base}/subjects`, {
      onRequest,
      schema: { tags, summary: 'List subjects', response: { 200: Type.Object({ subjects: Type.Array(Type.String()) }), ...errors } },
      handler: async (request) => collection.listSubjects(request.client!),
    });
    app.put(`${base}/subjects/:subject`, {
      onRequest,
      schema: { tags, summary: 'Rename a subject (merges into an existing one)', params: SubjectParams, body: SubjectBody, response: { 200: Type.Object({ updated: Type.Boolean() }), ...errors } },
      handler: async (request) => collection.renameSubject(request.client!, request.params.subject, request.body.subject, actor(request)),
    });
    app.delete(`${base}/subjects/:subject`, {
      onRequest,
      schema: { tags, summary: 'Delete a subject and its examples', params: SubjectParams, response: { 200: Type.Object({ subject: Type.String() }), ...errors } },
      handler: async (request) => collection.deleteSubject(request.client!, request.params.subject, actor(request)),
    });
    app.delete(`${base}/subjects`, {
      onRequest,
      schema: { tags, summary: 'Delete every subject (every user of the tenant) and their examples', response: { 200: Type.Object({ deleted: Type.Integer() }), ...errors } },
      handler: async (request) => collection.deleteAllSubjects(request.client!, actor(request)),
    });

    // ---- examples ----
    app.post(`${base}/faces`, {
      onRequest,
      preValidation: parseFaceUpload,
      schema: {
        tags,
        summary: 'Add an example of a subject (file part or base64 "file")',
        consumes: ['multipart/form-data', 'application/json'],
        querystring: Type.Object({ subject: Subject, det_prob_threshold: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })) }),
        body: Type.Object({ file: Type.Optional(Type.String()) }),
        response: { 201: Example, ...errors },
      },
      handler: async (request, reply) => {
        const bytes = cfImage(request, 'file');
        const out = await collection.addExample(request.client!, { subject: request.query.subject, image: bytes, detProbThreshold: request.query.det_prob_threshold }, actor(request));
        return reply.status(201).send(out);
      },
    });
    app.get(`${base}/faces`, {
      onRequest,
      schema: {
        tags,
        summary: 'List examples (paged, optionally of one subject)',
        querystring: Type.Object({
          page: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
          size: Type.Integer({ minimum: 1, maximum: 1000, default: 20 }),
          subject: Type.Optional(Subject),
        }),
        response: {
          200: Type.Object({ faces: Type.Array(Example), page_number: Type.Integer(), page_size: Type.Integer(), total_pages: Type.Integer(), total_elements: Type.Integer() }),
          ...errors,
        },
      },
      handler: async (request) => collection.listExamples(request.client!, request.query),
    });
    app.delete(`${base}/faces`, {
      onRequest,
      schema: { tags, summary: "Delete a subject's examples, or every example", querystring: Type.Object({ subject: Type.Optional(Type.String({ maxLength: 255 })) }), response: { 200: Type.Object({ deleted: Type.Integer() }), ...errors } },
      handler: async (request) => collection.deleteExamples(request.client!, request.query.subject || undefined),
    });
    app.delete(`${base}/faces/:image_id`, {
      onRequest,
      schema: { tags, summary: 'Delete an example', params: ImageParams, response: { 200: Example, ...errors } },
      handler: async (request) => collection.deleteExample(request.client!, request.params.image_id),
    });
    app.post(`${base}/faces/delete`, {
      onRequest,
      schema: {
        tags,
        summary: 'Delete several examples (unknown ids are ignored)',
        body: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 1000 }),
        response: { 200: Type.Object({ deleted: Type.Array(Example) }), ...errors },
      },
      handler: async (request) => collection.deleteMany(request.client!, request.body),
    });
    app.get(`${base}/faces/:image_id/img`, {
      onRequest,
      schema: { tags, summary: "Download an example's image (when the client stores photos)", params: ImageParams, response: { 200: Type.Unsafe<Buffer>({ type: 'string', format: 'binary' }), ...errors } },
      handler: async (request, reply) => {
        const img = await collection.exampleImage(request.client!, request.params.image_id, actor(request));
        return reply.type(img.contentType).header('cache-control', 'no-store').send(img.bytes);
      },
    });

    // ---- recognition ----
    app.post(`${base}/recognize`, {
      onRequest,
      preValidation: parseFaceUpload,
      schema: {
        tags,
        summary: 'Recognize every face of an image',
        consumes: ['multipart/form-data', 'application/json'],
        querystring: Type.Composite([ImageQuery, Type.Object({ prediction_count: Type.Integer({ default: 1, minimum: 1, maximum: 100 }) })]),
        body: Type.Object({ file: Type.Optional(Type.String()) }),
        response: {
          200: Type.Object({
            result: Type.Array(Type.Composite([FaceItem, Type.Object({ subjects: Type.Array(Type.Object({ subject: Type.String(), similarity: Type.Number() })) })], { additionalProperties: true })),
            plugins_versions: PluginsVersions,
          }),
          ...errors,
        },
      },
      handler: async (request) => {
        const q = request.query;
        return recognition.recognize(request.client!, cfImage(request, 'file'), { ...faceQuery(q), predictionCount: q.prediction_count }, requestMeta(request));
      },
    });
    app.post(`${base}/faces/:image_id/verify`, {
      onRequest,
      preValidation: parseFaceUpload,
      schema: {
        tags,
        summary: 'Verify the faces of an image against one example',
        consumes: ['multipart/form-data', 'application/json'],
        params: ImageParams,
        querystring: ImageQuery,
        body: Type.Object({ file: Type.Optional(Type.String()) }),
        response: { 200: Type.Object({ result: Type.Array(Type.Composite([FaceItem, Type.Object({ similarity: Type.Number() })], { additionalProperties: true })), plugins_versions: PluginsVersions }), ...errors },
      },
      handler: async (request) => recognition.verifyExample(request.client!, request.params.image_id, cfImage(request, 'file'), faceQuery(request.query), requestMeta(request)),
    });
  };
}

