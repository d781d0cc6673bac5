import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { parseFaceUpload } from '../face-upload.ts';
import type { CompreFaceServices } from '../../services/compreface/index.ts';
import { CfError, FaceItem, ImageQuery, PluginsVersions, cfImage, faceQuery, serviceKeyHook } from './compreface-http.ts';

const errors = { '4xx': CfError, '5xx': CfError };

/** CompreFace's detection and verification services (docs/compreface.md). */
export function detectionVerificationRoutes(cf: CompreFaceServices) {
  return async function routes(fastify: FastifyInstance): Promise<void> {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const tags = ['compreface'];

    app.post('/api/v1/detection/detect', {
      onRequest: serviceKeyHook(cf.keys, 'detection'),
      preValidation: parseFaceUpload,
      schema: {
        tags,
        summary: 'Detect faces: boxes, and landmarks / pose plugins',
        consumes: ['multipart/form-data', 'application/json'],
        querystring: ImageQuery,
        body: Type.Object({ file: Type.Optional(Type.String()) }),
        response: { 200: Type.Object({ result: Type.Array(FaceItem), plugins_versions: PluginsVersions }), ...errors },
      },
      handler: async (request) => cf.recognition.detect(cfImage(request, 'file'), faceQuery(request.query)),
    });

    app.post('/api/v1/verification/verify', {
      onRequest: serviceKeyHook(cf.keys, 'verification'),
      preValidation: parseFaceUpload,
      schema: {
        tags,
        summary: 'Compare the face of a source image with every face of a target image',
        consumes: ['multipart/form-data', 'application/json'],
        querystring: ImageQuery,
        body: Type.Object({ source_image: Type.Optional(Type.String()), target_image: Type.Optional(Type.String()) }),
        response: {
          200: Type.Object({
            result: Type.Array(
              Type.Object({
                source_image_face: FaceItem,
                face_matches: Type.Array(Type.Composite([FaceItem, Type.Object({ similarity: Type.Number() })], { additionalProperties: true })),
                plugins_versions: PluginsVersions,
              }),
            ),
          }),
          ...errors,
        },
      },
      handler: async (request) => {
        const source = cfImage(request, 'source_image');
        const target = cfImage(request, 'target_image');
        // Two images, two calls of the hourly budget (all or nothing), before either is analysed.
        await request.countBatch!(2);
        return cf.recognition.verifyImages(source, target, faceQuery(request.query));
      },
    });
  };
}
