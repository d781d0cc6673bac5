import { FaceRecognitionError, parseRetryAfter } from './errors.ts';
import { fileName, toBlob } from './images.ts';
import type { ImageInput } from './types.ts';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** Per-call options every method takes as its last argument. */
export interface CallOptions {
  /** Cancels the request (rejects with code ABORTED). */
  signal?: AbortSignal;
  /** Overrides the client's timeoutMs for this call. */
  timeoutMs?: number;
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface RequestSpec {
  query?: Query;
  json?: unknown;
  form?: FormData;
  headers?: Record<string, string>;
  call?: CallOptions;
}

export interface HttpConfig {
  baseUrl: string;
  apiKey: string;
  secretKey: string;
  fetch?: FetchLike;
  timeoutMs?: number;
}

/** `http://host:8000` and `http://host:8000/` mean the default base path `/api`; any other path is kept. */
export function apiBase(baseUrl: string): string {
  const url = new URL(baseUrl);
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.origin}${path === '' ? '/api' : path}`;
}

/** The one place requests are made: credentials, timeouts, error mapping. */
export class HttpTransport {
  readonly base: string;
  readonly #authorization: string;
  readonly #fetch: FetchLike;
  readonly #timeoutMs: number;

  constructor(config: HttpConfig) {
    this.base = apiBase(config.baseUrl);
    this.#authorization = `ApiKey ${config.apiKey}:${config.secretKey}`;
    if (!config.fetch && typeof globalThis.fetch !== 'function') throw new TypeError('No fetch implementation: pass options.fetch');
    // Unbound window.fetch throws "Illegal invocation" in browsers.
    this.#fetch = config.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#timeoutMs = config.timeoutMs ?? 30_000;
  }

  async request<T>(method: string, path: string, spec: RequestSpec = {}): Promise<T> {
    const url = this.base + path + queryString(spec.query);
    const headers: Record<string, string> = { authorization: this.#authorization, accept: 'application/json', ...spec.headers };
    let body: BodyInit | undefined;
    if (spec.form) body = spec.form; // fetch sets multipart/form-data with its boundary
    else if (spec.json !== undefined) {
      body = JSON.stringify(spec.json);
      headers['content-type'] = 'application/json';
    }

    const timeoutMs = spec.call?.timeoutMs ?? this.#timeoutMs;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const userSignal = spec.call?.signal;
    const onAbort = () => controller.abort();
    if (userSignal?.aborted) controller.abort();
    userSignal?.addEventListener('abort', onAbort);

    try {
      const res = await this.#fetch(url, { method, headers, body, signal: controller.signal });
      const text = await res.text();
      if (!res.ok) throw responseError(res, text);
      if (text === '') return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch (e) {
        throw new FaceRecognitionError({ code: 'UNEXPECTED_RESPONSE', message: `${method} ${path}: the answer is not JSON`, statusCode: res.status, cause: e });
      }
    } catch (e) {
      if (e instanceof FaceRecognitionError) throw e;
      if (timedOut) throw new FaceRecognitionError({ code: 'TIMEOUT', message: `${method} ${path}: no answer within ${timeoutMs} ms`, statusCode: 0, cause: e });
      if (userSignal?.aborted) throw new FaceRecognitionError({ code: 'ABORTED', message: `${method} ${path}: aborted`, statusCode: 0, cause: e });
      throw new FaceRecognitionError({ code: 'NETWORK_ERROR', message: `${method} ${path}: ${(e as Error)?.message ?? String(e)}`, statusCode: 0, cause: e });
    } finally {
      clearTimeout(timer);
      userSignal?.removeEventListener('abort', onAbort);
    }
  }
}

function responseError(res: Response, text: string): FaceRecognitionError {
  const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (parsed && typeof parsed === 'object' && typeof (parsed as { code?: unknown }).code === 'string') {
    const p = parsed as { code: string; message?: unknown; details?: unknown };
    return new FaceRecognitionError({ code: p.code, message: typeof p.message === 'string' ? p.message : p.code, statusCode: res.status, details: p.details, retryAfter });
  }
  return new FaceRecognitionError({ code: 'UNEXPECTED_RESPONSE', message: `HTTP ${res.status}: ${text.slice(0, 200)}`, statusCode: res.status, retryAfter });
}

function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null) params.append(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** Path segment: ids may be external ids with any characters. */
export const seg = (id: string): string => encodeURIComponent(id);

/**
 * A multipart body: text fields (objects and arrays as JSON text, which the server parses) and image files.
 * @example multipart({ user_id: 'EMP001' }, [['image', bytes]])
 */
export function multipart(fields: Record<string, unknown>, files: Array<[field: string, image: ImageInput]>): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    form.append(k, typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v));
  }
  files.forEach(([field, image], i) => {
    const blob = toBlob(image);
    form.append(field, blob, fileName(blob, field, i));
  });
  return form;
}
