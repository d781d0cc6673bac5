import { AuthenticationApi } from './authentication.ts';
import { EnrollmentApi } from './enrollment.ts';
import { HttpTransport, type CallOptions, type FetchLike } from './http.ts';
import { RecognitionSocket, realtimeUrl, type WebSocketConstructor } from './realtime.ts';
import type { AuthDecision, AuthenticateInput, Status } from './types.ts';
import { UsersApi } from './users.ts';
import { WebhooksApi } from './webhooks.ts';

export interface FaceRecognitionClientOptions {
  /** The API base, e.g. `https://faces.example.com/api`; a bare origin means `<origin>/api`. */
  baseUrl: string;
  apiKey: string;
  secretKey: string;
  /** A fetch implementation (default `globalThis.fetch`). */
  fetch?: FetchLike;
  /** Per-request deadline in ms (default 30000); a call past it rejects with code TIMEOUT. */
  timeoutMs?: number;
}

/**
 * The Wajah API client. Sends `Authorization: ApiKey KEY:SECRET` on every call; every failure
 * rejects with a FaceRecognitionError carrying the server's `code`.
 * @example
 * const client = new FaceRecognitionClient({ baseUrl: 'http://localhost:8000/api', apiKey: 'wk_…', secretKey: 'wsk_…' });
 * await client.users.create({ external_id: 'EMP001', name: 'John Doe' });
 * await client.enrollment.direct({ user_id: 'EMP001', image: photoBytes });
 * const { result } = await client.authenticate({ user_id: 'EMP001', image: probeBytes });
 */
export class FaceRecognitionClient {
  readonly users: UsersApi;
  readonly enrollment: EnrollmentApi;
  readonly authentication: AuthenticationApi;
  readonly webhooks: WebhooksApi;
  readonly #http: HttpTransport;
  readonly #options: FaceRecognitionClientOptions;

  constructor(options: FaceRecognitionClientOptions) {
    if (!options.apiKey || !options.secretKey) throw new TypeError('apiKey and secretKey are required');
    this.#options = options;
    this.#http = new HttpTransport(options);
    this.users = new UsersApi(this.#http);
    this.enrollment = new EnrollmentApi(this.#http);
    this.authentication = new AuthenticationApi(this.#http);
    this.webhooks = new WebhooksApi(this.#http);
  }

  /** The resolved API base URL (`…/api`). */
  get baseUrl(): string {
    return this.#http.base;
  }

  /** `GET /api/core/status/`. */
  status(call?: CallOptions): Promise<Status> {
    return this.#http.request('GET', '/core/status/', { call });
  }

  /**
   * One-shot authentication: 1:1 verification when `user_id` is given, 1:N identification otherwise.
   * A face that does not match resolves with `status: 'failed'`; bad images, rate limits and the
   * like reject (e.g. `error.code === 'RATE_LIMIT_EXCEEDED'`, with `error.retryAfter`).
   */
  authenticate(input: AuthenticateInput, call?: CallOptions): Promise<AuthDecision> {
    const { user_id, ...rest } = input;
    return user_id !== undefined ? this.authentication.verify({ ...rest, user_id }, call) : this.authentication.identify(rest, call);
  }

  /** A real-time recognition socket with this client's credentials; call `connect()` on it. */
  realtime(options: { WebSocket?: WebSocketConstructor; url?: string; timeoutMs?: number } = {}): RecognitionSocket {
    return new RecognitionSocket({
      url: options.url ?? realtimeUrl(this.#http.base),
      apiKey: this.#options.apiKey,
      secretKey: this.#options.secretKey,
      WebSocket: options.WebSocket,
      timeoutMs: options.timeoutMs ?? this.#options.timeoutMs,
    });
  }
}
