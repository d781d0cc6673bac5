import type { FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';

/**
 * A validation message that says what is allowed: "must be one of: free, basic, enterprise"
 * instead of Ajv's "must be equal to constant" (a union of literals fails on every branch).
 */
export function validationMessage(errors: FastifySchemaValidationError[]): string {
  const first = errors[0];
  if (!first) return 'is invalid';
  const samePath = errors.filter((e) => e.instancePath === first.instancePath);
  const allowed = new Set<unknown>();
  for (const e of samePath) {
    const p = e.params as { allowedValue?: unknown; allowedValues?: unknown[] };
    if (e.keyword === 'const') allowed.add(p.allowedValue);
    if (e.keyword === 'enum') for (const v of p.allowedValues ?? []) allowed.add(v);
  }
  const extra = (first.params as { additionalProperty?: string }).additionalProperty;
  if (first.keyword === 'additionalProperties' && extra !== undefined) return `has an unknown field "${extra.replace(/[^\w.-]/g, '?').slice(0, 64)}"`;
  if (allowed.size) return `must be one of: ${[...allowed].map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ')}`;
  return first.message ?? 'is invalid';
}

/** Properties of database errors that carry statement text, parameters or row values. */
const SENSITIVE = new Set(['detail', 'where', 'query', 'params', 'parameters', 'internalQuery', 'hint', 'position', 'internalPosition', 'file', 'line', 'routine', 'schema', 'table', 'column', 'dataType', 'constraint']);

/**
 * pino's `err` serializer: type, message, stack and the SQLSTATE code only. Database drivers put
 * the failed statement's parameters and row values (names, emails, metadata) on the error; quoted
 * literals in a database message ("invalid input syntax for type uuid: \"…\"") are cut too.
 */
export function errSerializer(err: unknown): { type: string; message: string; stack: string; [key: string]: unknown } {
  if (!(err instanceof Error)) return { type: typeof err, message: String(err), stack: '' };
  const e = err as Error & Record<string, unknown>;
  const isDb = (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) || 'severity' in e || 'internalQuery' in e;
  const out: { type: string; message: string; stack: string; [key: string]: unknown } = {
    type: e.constructor?.name ?? 'Error',
    message: isDb ? scrub(e.message) : e.message,
    stack: isDb ? scrub(e.stack ?? '') : (e.stack ?? ''),
  };
  if (typeof e.code === 'string') out.code = e.code;
  if (typeof e.statusCode === 'number') out.statusCode = e.statusCode;
  for (const [k, v] of Object.entries(e)) {
    if (k in out || SENSITIVE.has(k) || isDb) continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  }
  if (e.cause instanceof Error) out.cause = errSerializer(e.cause);
  return out;
}

function scrub(text: string): string {
  return text.replace(/"(?:[^"\\]|\\.)*"/g, '"…"').replace(/'(?:[^'\\]|\\.)*'/g, "'…'");
}

/** Fastify's own early errors (a path that is not valid percent-encoding): a coded 400 too. */
export function frameworkErrors(error: Error, _request: FastifyRequest, reply: FastifyReply): void {
  void reply.status(400).send({ code: 'VALIDATION_ERROR', message: `The request URL is invalid: ${error.message}`, statusCode: 400 });
}
