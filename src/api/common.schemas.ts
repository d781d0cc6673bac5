import { type TUnsafe, Type, type TSchema } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { appError } from '../errors.ts';

/** The one error shape (src/errors.ts, docs/errors.md). */
export const ErrorSchema = Type.Object(
  {
    code: Type.String({ description: 'Stable error code, see docs/errors.md' }),
    message: Type.String(),
    statusCode: Type.Integer(),
    details: Type.Optional(Type.Any()),
  },
  { description: 'Error' },
);

/** Error responses for the given statuses (documents them in OpenAPI). */
export function errors(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((s) => [s, ErrorSchema]));
}

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/**
 * An integer or null in a REQUEST body. Not `Nullable(Type.Integer())`: with type coercion on, the validator
 * tries the integer branch of the union first and turns a null into 0 (a client's `max_users: null`, meaning
 * "the tier default", became 0). A type list keeps null as null.
 */
export function NullableInteger(options: { minimum?: number; maximum?: number; description?: string } = {}): TUnsafe<number | null> {
  return Type.Unsafe<number | null>({ type: ['integer', 'null'], ...options });
}

export const DateTime = Type.String({ format: 'date-time' });

export function PageSchema<T extends TSchema>(item: T, description: string) {
  return Type.Object(
    {
      count: Type.Integer({ description: 'Total matching items' }),
      page: Type.Integer(),
      page_size: Type.Integer(),
      total_pages: Type.Integer(),
      results: Type.Array(item),
    },
    { description },
  );
}

export const PageQuery = {
  page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1, description: 'Page number (default 1, at most 1,000,000)' }),
  page_size: Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'Items per page (max 100)' }),
};

/**
 * preValidation hook for JSON-body routes: anything but application/json is 415 (Fastify would
 * otherwise accept text/plain and answer with a confusing validation error).
 */
export async function requireJson(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  const type = request.headers['content-type'];
  if (type === undefined && (request.body === undefined || request.body === null)) return;
  if (!type || !/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type)) {
    throw appError('UNSUPPORTED_MEDIA_TYPE', `Send the body as application/json (got ${type ?? 'no content type'})`);
  }
}

/** preValidation for routes whose JSON body is optional (all fields optional): no body means `{}`. */
export async function optionalJson(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  await requireJson(request, reply);
  if (request.body === undefined || request.body === null) request.body = {};
}
