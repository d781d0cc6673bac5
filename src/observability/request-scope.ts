import { requestContext } from '@fastify/request-context';

declare module '@fastify/request-context' {
  interface RequestContextData {
    /** The request id (X-Request-Id in and out; `reqId` in every log line of the request). */
    requestId: string;
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
 * The id for a new request: the caller's `X-Request-Id` when it is a plain token (a load balancer's or
 * a client's id, so logs on both sides join), else a fresh UUID. Anything else is replaced, never
 * copied into logs.
 */
export function requestIdFrom(header: string | string[] | undefined, fresh: () => string): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && SAFE_ID.test(value) ? value : fresh();
}
