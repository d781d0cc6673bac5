import { FaceRecognitionError } from './errors.ts';
import { toDataUrl } from './images.ts';
import type { AuthDecision, ImageInput } from './types.ts';

/** The part of the WHATWG WebSocket this helper uses (browsers' `WebSocket`, Node 22's, or the `ws` package). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** `options` of a `process_frame` message (docs/realtime.md). */
export interface FrameOptions {
  /** Default: verification when `user_id` is given, identification otherwise. */
  mode?: 'identification' | 'verification';
  /** external_id, for verification. */
  user_id?: string;
  require_liveness?: boolean;
  search_threshold?: number;
  max_results?: number;
  confidence_threshold?: number;
}

/** A `recognition_result`: `result` has the shape of the HTTP identify/verify answer. */
export interface RecognitionResult {
  type: 'recognition_result';
  timestamp: number | string | null;
  /** Seconds from the frame's arrival to the answer. */
  processing_time: number;
  faces_detected: number;
  result: AuthDecision;
}

export type ServerMessage =
  | { type: 'authenticated'; client_id: string }
  | RecognitionResult
  | { type: 'frame_dropped'; timestamp: number | string | null; reason: 'rate' | 'busy' }
  | { type: 'error'; code: string; message: string; timestamp?: number | string | null; details?: unknown }
  | { type: 'pong'; timestamp: number | string | null };

export interface RealtimeEvents {
  /** Errors not tied to a pending call (e.g. the server closing a stream whose key was revoked). */
  error: FaceRecognitionError;
  close: { code: number; reason: string };
  /** Every server message, raw. */
  message: ServerMessage;
}

export interface RealtimeOptions {
  /** `ws(s)://host/ws/recognition/`. */
  url: string;
  apiKey: string;
  secretKey: string;
  /** A WebSocket class; default `globalThis.WebSocket`. On Node 20 pass the `ws` package's. */
  WebSocket?: WebSocketConstructor;
  /** How long connect() and each frame may wait for their answer (default 30000 ms). */
  timeoutMs?: number;
}

interface Pending {
  resolve(m: ServerMessage): void;
  reject(e: FaceRecognitionError): void;
  timer: ReturnType<typeof setTimeout>;
}

const OPEN = 1;

/**
 * Real-time recognition over `/ws/recognition/`: one socket, authenticated once, then frames.
 * Each `processFrame` resolves with its own `recognition_result` (matched on `timestamp`) or rejects
 * with a FaceRecognitionError (NO_FACE_DETECTED, FRAME_DROPPED, CONNECTION_CLOSED, TIMEOUT, …).
 * @example
 * const rt = client.realtime();            // or new RecognitionSocket({ url, apiKey, secretKey })
 * await rt.connect();
 * const { result } = await rt.processFrame(canvas.toDataURL('image/jpeg', 0.8), { mode: 'identification' });
 * rt.close();
 */
export class RecognitionSocket {
  #socket: WebSocketLike | null = null;
  #pending = new Map<string, Pending>();
  #listeners: { [K in keyof RealtimeEvents]: Set<(e: RealtimeEvents[K]) => void> } = { error: new Set(), close: new Set(), message: new Set() };
  #lastTimestamp = 0;
  #clientId: string | null = null;
  readonly #options: RealtimeOptions;

  constructor(options: RealtimeOptions) {
    this.#options = options;
  }

  /** The authenticated client id (null before connect()). */
  get clientId(): string | null {
    return this.#clientId;
  }

  get isOpen(): boolean {
    return this.#socket?.readyState === OPEN && this.#clientId !== null;
  }

  /** Subscribes; returns the unsubscribe function. */
  on<K extends keyof RealtimeEvents>(event: K, listener: (e: RealtimeEvents[K]) => void): () => void {
    this.#listeners[event].add(listener);
    return () => this.#listeners[event].delete(listener);
  }

  /** Opens the socket and authenticates; rejects with the server's code (INVALID_CREDENTIALS, …). */
  connect(): Promise<{ client_id: string }> {
    const Ctor = this.#options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Ctor) {
      return Promise.reject(new FaceRecognitionError({ code: 'WEBSOCKET_UNAVAILABLE', message: 'No WebSocket implementation: pass options.WebSocket (e.g. the ws package)', statusCode: 0 }));
    }
    if (this.#socket) return Promise.reject(new FaceRecognitionError({ code: 'VALIDATION_ERROR', message: 'connect() was already called', statusCode: 0 }));
    let socket: WebSocketLike;
    try {
      socket = new Ctor(this.#options.url);
    } catch (e) {
      // A malformed URL (or a refused scheme) throws from the constructor: a rejection like any other
      // failure to connect, not an exception out of a function that returns a promise.
      return Promise.reject(new FaceRecognitionError({ code: 'NETWORK_ERROR', message: `WebSocket ${this.#options.url}: ${(e as Error)?.message ?? String(e)}`, statusCode: 0, cause: e }));
    }
    this.#socket = socket;
    const authenticated = this.#expect('authenticate');
    socket.addEventListener('open', () => socket.send(JSON.stringify({ type: 'authenticate', api_key: this.#options.apiKey, secret_key: this.#options.secretKey })));
    socket.addEventListener('message', (event) => this.#onMessage(event.data));
    socket.addEventListener('error', () => {
      // A failed handshake fires error then close; close carries the code, so only note it here.
    });
    socket.addEventListener('close', (event) => this.#onClose(event.code, event.reason));
    return authenticated.then(
      (m) => {
        this.#clientId = (m as { client_id: string }).client_id;
        return { client_id: this.#clientId };
      },
      (e: unknown) => {
        // Refused or timed out: do not leave a half-open socket behind.
        if (socket.readyState <= OPEN) socket.close();
        throw e;
      },
    );
  }

  /**
   * Sends one frame and resolves with its recognition result.
   * `frame`: a data URL (`canvas.toDataURL('image/jpeg')`) or image bytes, which are turned into one.
   */
  async processFrame(frame: ImageInput, options?: FrameOptions): Promise<RecognitionResult> {
    const dataUrl = await toDataUrl(frame);
    const timestamp = this.#nextTimestamp();
    const answer = this.#expect(String(timestamp));
    this.#send({ type: 'process_frame', frame: dataUrl, timestamp, ...(options ? { options } : {}) }, String(timestamp));
    return answer as Promise<RecognitionResult>;
  }

  /** Round trip to the server. */
  async ping(): Promise<void> {
    const timestamp = `ping-${this.#nextTimestamp()}`;
    const answer = this.#expect(timestamp);
    this.#send({ type: 'ping', timestamp }, timestamp);
    await answer;
  }

  /** Closes the socket; pending calls reject with CONNECTION_CLOSED. */
  close(code = 1000, reason = ''): void {
    this.#socket?.close(code, reason);
  }

  /** Unique per connection, so answers match their frame even when they come back out of order. */
  #nextTimestamp(): number {
    this.#lastTimestamp = Math.max(Date.now(), this.#lastTimestamp + 1);
    return this.#lastTimestamp;
  }

  #send(message: object, key: string): void {
    if (!this.#socket || this.#socket.readyState !== OPEN) {
      this.#settle(key, new FaceRecognitionError({ code: 'CONNECTION_CLOSED', message: 'The WebSocket is not open: call connect() first', statusCode: 0 }));
      return;
    }
    this.#socket.send(JSON.stringify(message));
  }

  #expect(key: string): Promise<ServerMessage> {
    return new Promise((resolve, reject) => {
      const ms = this.#options.timeoutMs ?? 30_000;
      const timer = setTimeout(() => this.#settle(key, new FaceRecognitionError({ code: 'TIMEOUT', message: `No answer within ${ms} ms`, statusCode: 0 })), ms);
      this.#pending.set(key, { resolve, reject, timer });
    });
  }

  #settle(key: string, outcome: ServerMessage | FaceRecognitionError): boolean {
    const p = this.#pending.get(key);
    if (!p) return false;
    this.#pending.delete(key);
    clearTimeout(p.timer);
    if (outcome instanceof FaceRecognitionError) p.reject(outcome);
    else p.resolve(outcome);
    return true;
  }

  #onMessage(data: unknown): void {
    let m: ServerMessage;
    try {
      m = JSON.parse(typeof data === 'string' ? data : String(data)) as ServerMessage;
    } catch {
      return;
    }
    this.#emit('message', m);
    const key = 'timestamp' in m && m.timestamp !== null && m.timestamp !== undefined ? String(m.timestamp) : null;
    switch (m.type) {
      case 'authenticated':
        this.#settle('authenticate', m);
        return;
      case 'recognition_result':
      case 'pong':
        if (key) this.#settle(key, m);
        return;
      case 'frame_dropped':
        if (key) this.#settle(key, new FaceRecognitionError({ code: 'FRAME_DROPPED', message: `Frame dropped (${m.reason})`, statusCode: 0, details: { reason: m.reason } }));
        return;
      case 'error': {
        const details = m.details as { retry_after?: unknown } | undefined;
        const err = new FaceRecognitionError({
          code: m.code,
          message: m.message,
          statusCode: 0,
          details: m.details,
          retryAfter: typeof details?.retry_after === 'number' ? details.retry_after : null,
        });
        // A frame's error names its timestamp; an error before `authenticated` answers connect().
        if (key && this.#settle(key, err)) return;
        if (this.#clientId === null && this.#settle('authenticate', err)) return;
        this.#emit('error', err);
        return;
      }
    }
  }

  #onClose(code: number, reason: string): void {
    this.#clientId = null;
    for (const key of [...this.#pending.keys()]) {
      this.#settle(key, new FaceRecognitionError({ code: 'CONNECTION_CLOSED', message: `The WebSocket closed (${code}${reason ? ` ${reason}` : ''})`, statusCode: 0, details: { closeCode: code, reason } }));
    }
    this.#emit('close', { code, reason });
  }

  #emit<K extends keyof RealtimeEvents>(event: K, value: RealtimeEvents[K]): void {
    for (const l of this.#listeners[event]) l(value);
  }
}

/** `ws(s)://origin/ws/recognition/` for an API base URL (the socket sits at the server root, not under /api). */
export function realtimeUrl(baseUrl: string): string {
  const u = new URL(baseUrl);
  return `${u.protocol === 'https:' ? 'wss:' : 'ws:'}//${u.host}/ws/recognition/`;
}
