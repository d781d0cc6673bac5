/**
 * Corrections to the OpenAPI document @fastify/swagger generates from the route schemas.
 *
 * The image parts of multipart bodies, as the OpenAPI document shows them.
 *
 * A face route declares one body schema for both of its content types (multipart files, or data URLs in
 * JSON), so the generated document said `frame: string` under multipart/form-data too: interactive docs
 * offered a text box and generated clients sent text where the user guide sends `<binary_image_data>`.
 * This rewrites only the multipart copy: single image parts become `string/binary`, repeatable ones
 * (`frames`, `images`) an array of them. The JSON copy keeps the data-URL strings.
 */

import { FILE_LIST_PARTS, FILE_PARTS } from './face-upload.ts';

type Json = Record<string, unknown>;

/**
 * Returns the document with binary image parts under every multipart/form-data request body.
 * @example swagger({ openapi, transformObject: ({ openapiObject }) => markMultipartUploads(openapiObject) })
 */
export function markMultipartUploads<T>(doc: T): T {
  const paths = (doc as { paths?: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: Json }> } }>> }).paths;
  for (const ops of Object.values(paths ?? {})) {
    for (const op of Object.values(ops)) {
      const contents = op?.requestBody?.content;
      const content = contents?.['multipart/form-data'];
      const props = content?.schema?.properties as Record<string, Json> | undefined;
      if (!contents || !content?.schema || !props) continue;
      // The JSON content shares these objects: rewrite copies.
      const next: Record<string, Json> = { ...props };
      for (const [name, prop] of Object.entries(props)) {
        const description = typeof prop.description === 'string' ? { description: prop.description } : {};
        if (FILE_PARTS.has(name)) next[name] = { ...description, type: 'string', format: 'binary' };
        else if (FILE_LIST_PARTS.has(name)) next[name] = { ...description, type: 'array', items: { type: 'string', format: 'binary' } };
      }
      contents['multipart/form-data'] = { ...content, schema: { ...content.schema, properties: next } };
    }
  }
  return doc;
}

/**
 * Returns the document with every query or header parameter that has a default marked optional.
 *
 * TypeBox parameters with a default are not `Optional` (the handler always sees a value), so the
 * generated document said `page` and `page_size` were required: a client generated from it (the JS
 * SDK's types, for one) had to send them although the server fills them in.
 */
export function markDefaultedParametersOptional<T>(doc: T): T {
  const paths = (doc as { paths?: Record<string, Record<string, { parameters?: Array<{ in?: string; required?: boolean; schema?: Json }> }>> }).paths;
  for (const ops of Object.values(paths ?? {})) {
    for (const op of Object.values(ops)) {
      for (const param of Array.isArray(op?.parameters) ? op.parameters : []) {
        if (param.in !== 'path' && param.required && param.schema?.default !== undefined) param.required = false;
      }
    }
  }
  return doc;
}
