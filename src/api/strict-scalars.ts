import type { FastifyInstance, FastifyRequest, RouteOptions, preValidationHookHandler } from 'fastify';
import { appError } from '../errors.ts';
import { isCompreFacePath } from './compreface/compreface-http.ts';

/**
 * Values that Ajv's type coercion (`coerceTypes`, which multipart text fields and query strings need:
 * "0.8" → 0.8) would silently turn into something the caller did not send:
 * - `null` for a field whose schema does not allow null becomes 0, "" or false: `{"quality_threshold": null}`
 *   switched enrollment's quality check off, `{"is_active": null}` deactivated a user;
 * - a number field given text that is not a plain decimal number: `" "` and `""` became 0, `"0x1"` 1,
 *   `"1e"` … (what `Number()` makes of them).
 * Both are refused as `400 VALIDATION_ERROR` naming the field, before validation. Only the top-level fields of
 * the body and the query string are looked at: that is where the API takes thresholds, flags and pages
 * (nested objects such as `metadata` are free-form and not coerced). The CompreFace-compatible routes keep the
 * lenient behaviour their clients were written against.
 */
export function strictScalars(app: FastifyInstance): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const schema = route.schema as { body?: unknown; querystring?: unknown } | undefined;
    if (!schema || (!schema.body && !schema.querystring) || isCompreFacePath(route.url)) return;
    const check: preValidationHookHandler = function strictScalarsHook(request, _reply, done) {
      try {
        checkPart(request, 'body', schema.body);
        checkPart(request, 'querystring', schema.querystring);
        done();
      } catch (e) {
        done(e as Error);
      }
    };
    // Last, after any hook that fills request.body (the face upload routes' multipart parsing).
    const existing = route.preValidation;
    route.preValidation = existing === undefined ? [check] : Array.isArray(existing) ? [...existing, check] : [existing, check];
  });
}

/** A plain decimal number as text (what a form or a query string carries): 1, -2, 0.8, .5, 1e-3. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

interface JsonSchemaLike {
  type?: string | string[];
  anyOf?: JsonSchemaLike[];
  oneOf?: JsonSchemaLike[];
  properties?: Record<string, JsonSchemaLike>;
}

/** The JSON types a schema accepts at its top (through anyOf/oneOf); null when it says nothing (free-form). */
function typesOf(s: JsonSchemaLike): Set<string> | null {
  if (typeof s.type === 'string') return new Set([s.type]);
  if (Array.isArray(s.type)) return new Set(s.type);
  const branches = s.anyOf ?? s.oneOf;
  if (!branches) return null;
  const out = new Set<string>();
  for (const b of branches) {
    const t = typesOf(b);
    if (!t) return null;
    for (const x of t) out.add(x);
  }
  return out;
}

function checkPart(request: FastifyRequest, location: 'body' | 'querystring', schema: unknown): void {
  const props = (schema as JsonSchemaLike | undefined)?.properties;
  const data = location === 'body' ? request.body : request.query;
  if (!props || !data || typeof data !== 'object' || Array.isArray(data)) return;
  for (const [field, value] of Object.entries(data as Record<string, unknown>)) {
    const prop = props[field];
    const types = prop ? typesOf(prop) : null;
    if (!types) continue;
    if (value === null && !types.has('null')) {
      throw appError('VALIDATION_ERROR', `${location}.${field} must not be null: leave the field out for its default`, { field, location });
    }
    const numeric = types.has('number') || types.has('integer');
    if (numeric && !types.has('string') && typeof value === 'string' && !DECIMAL.test(value)) {
      throw appError('VALIDATION_ERROR', `${location}.${field} must be a number`, { field, location });
    }
  }
}
