import { requestContext } from '@fastify/request-context';

declare module '@fastify/request-context' {
  interface RequestContextData {
    /** The request id (X-Request-Id in and out; `reqId` in every log line of the request). */
    requestId: string;
    /** The tenant the request works for, once its key is checked (setEngineLane). */
    lane?: string;
  }
}

const SAFE_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/**
 * The id of the HTTP request whose work is running now (AsyncLocalStorage through
 * @fastify/request-context), or null outside a request (timers, the webhook dispatcher).
 * Services stamp it on what outlives the request: outbox events, hence webhook deliveries.
 */
export function currentRequestId(): string | null {
  return requestContext.get('requestId') ?? null;
}

/**
 * Names the tenant the rest of this request works for: its images take turns with other tenants' in the
 * face engine's queue (AnalyzeOptions.lane, src/workers/pool.ts). Called where a request's key is checked.
 */
export function setEngineLane(clientId: string): void {
  requestContext.set('lane', clientId);
}

/** The tenant of the HTTP request whose work is running now (setEngineLane), or null. */
export function currentEngineLane(): string | null {
  return requestContext.get('lane') ?? null;
}

/**
 * The id for a new request: the caller's `X-Request-Id` when it is a plain token (a load balancer's or
 * a client's id, so logs on both sides join), else a fresh UUID. Anything else is replaced, never
 * copied into logs.
 */
export function requestIdFrom(header: string | string[] | undefined, fresh: () => string): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && SAFE_ID.test(value) ? value : fresh();
}
