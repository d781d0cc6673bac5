import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { parseRetryAfter } from './retry-policy.ts';
import { bareHost, guardedLookup, isMetadataAddress, isPrivateAddress, isRefusedAddress } from './url-guard.ts';

export interface SendOutcome {
  /** 2xx received. */
  ok: boolean;
  statusCode: number | null;
  /** Why it failed (HTTP status with the start of the body, timeout, connection error), or null. */
  error: string | null;
  ms: number;
  /** Aborted by shutdown: the attempt does not count. */
  aborted: boolean;
  /** A failed answer's `Retry-After`, in ms (null or absent: none, or unreadable). */
  retryAfterMs?: number | null;
}

export interface SendOptions {
  timeoutMs: number;
  allowPrivate: boolean;
  signal?: AbortSignal;
}

/** Outbound HTTP of the dispatcher (an interface so tests or other transports can replace it). */
export type WebhookSender = (url: string, body: string, headers: Record<string, string>, options: SendOptions) => Promise<SendOutcome>;

const ERROR_BODY_CHARS = 200;
const allowPrivateLookup = guardedLookup(true);
const publicOnlyLookup = guardedLookup(false);

/**
 * POSTs one delivery with node:http(s): a total deadline (not just socket idle), no redirects
 * followed (a 3xx is a failure: the receiver must give its final URL), and, when private addresses
 * are refused, the address check inside the socket's DNS lookup (no check-then-connect gap).
 */
export const sendWebhook: WebhookSender = (url, body, headers, options) => {
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
  return new Promise<SendOutcome>((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const done = (o: Omit<SendOutcome, 'ms'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ ...o, ms: elapsed() });
    };
    const target = new URL(url);
    const host = bareHost(target.hostname);
    if (net.isIP(host) && isRefusedAddress(host, options.allowPrivate)) {
      const why = isMetadataAddress(host) ? 'a link-local or cloud metadata address' : 'a private address (WAJAH_WEBHOOK_ALLOW_PRIVATE=0)';
      return done({ ok: false, statusCode: null, error: `${host} is ${why}`, aborted: false });
    }
    const lib = target.protocol === 'https:' ? https : http;
    const req = lib.request(target, {
      method: 'POST',
      headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
      agent: false,
      lookup: options.allowPrivate ? allowPrivateLookup : publicOnlyLookup,
    });
    timer = setTimeout(() => {
      req.destroy();
      done({ ok: false, statusCode: null, error: `timeout after ${options.timeoutMs} ms`, aborted: false });
    }, options.timeoutMs);
    const onAbort = () => {
      req.destroy();
      done({ ok: false, statusCode: null, error: 'aborted by shutdown', aborted: true });
    };
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (e: NodeJS.ErrnoException) => done({ ok: false, statusCode: null, error: e.code ? `${e.code}: ${e.message}` : e.message, aborted: false }));
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      const ok = status >= 200 && status < 300;
      // The status decides; keep at most the start of an error body.
      let text = '';
      res.on('error', () => {});
      // A receiver on a private address is the operator's network, not the tenant's: its status is
      // recorded, its body never (a tenant would read internal services' answers through the log).
      const privateTarget = isPrivateAddress(res.socket?.remoteAddress ?? '');
      const finish = () => {
        const snippet = privateTarget ? '' : text.slice(0, ERROR_BODY_CHARS).trim();
        done(
          ok
            ? { ok, statusCode: status, error: null, aborted: false }
            : { ok, statusCode: status, error: `HTTP ${status}${snippet ? `: ${snippet}` : ''}`, aborted: false, retryAfterMs: parseRetryAfter(res.headers['retry-after']) },
        );
        // Drain the rest quietly; a receiver that never ends its body loses the connection.
        res.removeAllListeners('data');
        res.resume();
        setTimeout(() => res.destroy(), 2000).unref();
      };
      if (ok || privateTarget) return finish();
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (text.length >= ERROR_BODY_CHARS) finish();
      });
      res.on('error', finish);
      res.on('end', finish);
    });
    req.end(body);
  });
};
