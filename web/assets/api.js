// A small fetch wrapper for the Wajah HTTP API. Every failure becomes an ApiError carrying the
// server's stable `code` (docs/errors.md), so pages can show "CODE: message".

/** Where the API lives; the server's default base path. */
export const API_BASE = '/api';

export class ApiError extends Error {
  /** @param {string} code @param {string} message @param {number} status @param {unknown} [details] */
  constructor(code, message, status, details) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

/** `Authorization` value for a client's API key and secret. */
export const clientAuth = (creds) => `ApiKey ${creds.apiKey}:${creds.secretKey}`;
/** `Authorization` value for the operator token (WAJAH_ADMIN_TOKEN). */
export const adminAuth = (token) => `Bearer ${token}`;

/**
 * Calls the API and returns the parsed JSON body (null for 204).
 * @param {string} path e.g. '/clients/users/'
 * `timeoutMs`: a request without an answer by then is abandoned with the code NETWORK_TIMEOUT (a
 * stalled connection would otherwise leave the page waiting for ever).
 * @param {{method?: string, auth?: string, json?: unknown, form?: FormData, query?: Record<string, unknown>, headers?: Record<string,string>, signal?: AbortSignal, timeoutMs?: number}} [opts]
 * @example await api('/clients/users/', { auth: clientAuth(creds), query: { page: 2 } })
 */
export async function api(path, opts = {}) {
  const headers = { ...(opts.headers ?? {}) };
  if (opts.auth) headers.authorization = opts.auth;
  let body;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.form) {
    body = opts.form; // the browser sets the multipart boundary
  }
  let url = API_BASE + path;
  if (opts.query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
    const s = q.toString();
    if (s) url += `?${s}`;
  }
  const timeout = opts.timeoutMs ? AbortSignal.timeout(opts.timeoutMs) : null;
  const signal = timeout && opts.signal ? AbortSignal.any([opts.signal, timeout]) : (timeout ?? opts.signal);
  const timedOut = () => new ApiError('NETWORK_TIMEOUT', `The server did not answer within ${Math.round(opts.timeoutMs / 1000)} s.`, 0);
  let res;
  let text;
  try {
    res = await fetch(url, { method: opts.method ?? (body ? 'POST' : 'GET'), headers, body, signal });
    if (res.status === 204) return null;
    text = await res.text(); // the body can stall too
  } catch (e) {
    if (timeout?.aborted) throw timedOut();
    if (e?.name === 'AbortError') throw e;
    throw new ApiError('NETWORK_ERROR', `The server could not be reached (${e?.message ?? e}).`, 0);
  }
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    throw new ApiError(data?.code ?? `HTTP_${res.status}`, data?.message ?? (res.statusText || 'Request failed'), res.status, data?.details);
  }
  return data;
}
