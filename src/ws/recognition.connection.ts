import crypto from 'node:crypto';
import type { ClientContext } from '../api/request-context.ts';
import { appError, isAppError, type ErrorCode } from '../errors.ts';
import type { AccessService } from '../services/access.service.ts';
import type { CredentialChanges } from '../services/credential-changes.ts';
import type { AuditService } from '../services/audit.service.ts';
import type { AuthenticationService } from '../services/authentication.service.ts';
import type { RequestMeta } from '../services/face.ts';
import type { StreamSlots } from '../streaming/stream-slots.ts';
import { TIER_LIMITS } from '../services/tiers.ts';
import { handOver, StreamTrack, withStreamTrack } from '../vision/index.ts';
import { FrameRecognizer, answerFrame, type FrameRecognizerDeps } from './frame-recognizer.ts';
import { StreamDecisions } from './stream-decisions.ts';
import { parseBinaryFrame, parseClientMessage, type AuthenticateMessage, type ClientTimestamp, type DropReason, type FrameOptions, type ServerMessage } from './messages.ts';

/** Per-connection limits of `/ws/recognition/` (defaults in DEFAULT_LIMITS; docs/realtime.md). */
export interface RecognitionLimits {
  /** Frames recognised at once on one connection (liveness frames always one at a time, in order). */
  maxInFlight: number;
  /** Frames waiting behind those; a newer frame replaces the oldest waiting one, which is answered `frame_dropped`/`busy`. */
  maxPending: number;
  /** Frame-rate cap (token bucket, burst of one second); excess frames are answered `frame_dropped`/`rate`. */
  maxFps: number;
  /** Largest message; larger ones close the connection with 1009. */
  maxMessageBytes: number;
  /** Time allowed between connect and a successful `authenticate`. */
  authTimeoutMs: number;
  /** Credentials are checked again this often, so revocation, allow-list changes and disabled clients end a long stream. */
  reauthorizeMs: number;
  /**
   * A WebSocket ping this often; a connection that has not answered the previous one (nor sent anything) since is
   * dropped. A peer gone without closing (a camera whose network died, a laptop shut) otherwise kept its stream,
   * and the stream slot it renews, until TCP gave up on it: about 15 minutes once the server writes to it, hours
   * when it does not. Browsers and WebSocket libraries answer pings by themselves.
   */
  heartbeatMs: number;
}

export const DEFAULT_LIMITS: RecognitionLimits = {
  maxInFlight: 2,
  maxPending: 1,
  maxFps: 30,
  maxMessageBytes: 2 * 1024 * 1024,
  authTimeoutMs: 10_000,
  reauthorizeMs: 5 * 60_000,
  heartbeatMs: 30_000,
};

/**
 * An authenticated stream holds one of its tier's concurrent-stream slots (TIER_LIMITS.concurrentStreams)
 * until it closes. It has no fixed end, so the slot expires STREAM_SLOT_TTL_MS after its last renewal and is
 * renewed every STREAM_SLOT_RENEW_MS: the slot of a stream whose instance died lapses within a minute.
 */
export const STREAM_SLOT_TTL_MS = 60_000;
export const STREAM_SLOT_RENEW_MS = 20_000;
/**
 * The most `details.retry_after` (seconds) of STREAMING_LIMIT_EXCEEDED says (a WebSocket has no Retry-After
 * header). The hint itself is the time until the tenant's first held slot lapses by itself if its stream stops
 * renewing it (StreamSlots.earliestExpiry, across instances with Redis; slotRetryAfter): 40–60 s for live
 * streams, less for the slot of a stream gone without closing. A slot is never renewed further out than
 * STREAM_SLOT_TTL_MS, so beyond that (another instance's clock ahead) the hint is held to it; it is never
 * below 1 s. A stream that closes frees its slot at once, so a client that closes one of its own streams may
 * connect again straight away.
 */
export const STREAM_SLOT_RETRY_AFTER_S = STREAM_SLOT_TTL_MS / 1000;

/**
 * `details.retry_after` for a tenant whose slots are all held: whole seconds until `freesAt` (the earliest
 * expiry of its slots, epoch ms), at least 1 and at most STREAM_SLOT_RETRY_AFTER_S; 1 when none is held any
 * more (one was released since the refusal).
 *
 * @example slotRetryAfter(now + 12_300, now) // 13
 */
export function slotRetryAfter(freesAt: number | null, now = Date.now()): number {
  if (freesAt === null) return 1;
  return Math.min(STREAM_SLOT_RETRY_AFTER_S, Math.max(1, Math.ceil((freesAt - now) / 1000)));
}

/** WebSocket close codes (4xxx mirror the HTTP status of the error). */
export const CLOSE = { goingAway: 1001, tooBig: 1009, serverError: 1011, unauthorized: 4401, forbidden: 4403, authTimeout: 4408, rateLimited: 4429 } as const;

/**
 * Answers a connection may leave unread before it is cut off. Every message gets an answer (an error
 * before authentication too), so a client that sends without reading made the server queue answers
 * without bound: one unauthenticated connection grew the process by gigabytes in seconds and a 1 GiB heap
 * ran out. 4 MiB is minutes of results at 10 frames/s; a client that reads never comes near it.
 */
export const MAX_UNREAD_BYTES = 4 * 1024 * 1024;

/** The part of a `ws` WebSocket this class uses (the `ws` package ships no types here). */
export interface WsSocket {
  readonly readyState: number;
  /** Bytes sent but not yet taken by the peer's connection (answers it has not read). */
  readonly bufferedAmount?: number;
  send(data: string): void;
  /** Drops the connection at once (no closing handshake: a peer that does not read would never finish it). */
  terminate?(): void;
  /** A WebSocket ping frame (the peer answers with a pong). */
  ping?(): void;
  close(code?: number, reason?: string): void;
  on(event: 'message', listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): unknown;
  on(event: 'close' | 'pong', listener: () => void): unknown;
}

export interface ConnectionDeps {
  access: Pick<AccessService, 'authorize'>;
  /** The tenant's credentials changed (here or in another instance): the stream re-checks its own at once. */
  credentials: Pick<CredentialChanges, 'on'>;
  authentication: Pick<AuthenticationService, 'identify' | 'verify' | 'create' | 'processFrame'>;
  sessions: FrameRecognizerDeps['sessions'];
  audit: Pick<AuditService, 'record'>;
  /** The tenants' concurrent streams, counted across instances with Redis (the plugin's own pool, not WebRTC's). */
  slots: Pick<StreamSlots, 'acquire' | 'renew' | 'release' | 'earliestExpiry'>;
  log: { error(obj: unknown, msg?: string): void };
  limits: RecognitionLimits;
  meta: RequestMeta;
}

/** A frame to recognise: from a JSON `process_frame` (data URL) or a binary message (the image bytes). */
interface Frame {
  image: string | Uint8Array;
  timestamp: ClientTimestamp | null;
  options: FrameOptions;
  receivedAt: number;
  liveness: boolean;
}

const OPEN = 1;

/**
 * One `/ws/recognition/` connection: authenticate, then recognise frames with bounded latency.
 * Every `process_frame` gets exactly one answer: `recognition_result`, `error` or `frame_dropped`.
 *
 * @example new RecognitionConnection(socket, deps).start()
 */
export class RecognitionConnection {
  #client: ClientContext | null = null;
  #authorization: string | null = null;
  #authenticating = false;
  #closed = false;
  #timers: NodeJS.Timeout[] = [];
  #unsubscribe: (() => void) | null = null;
  /** The concurrent-stream slot this stream holds (none before authentication, and none for an unlimited tier). */
  #slot: { clientId: string; id: string } | null = null;
  #inFlight = 0;
  #livenessInFlight = false;
  #pending: Frame[] = [];
  #tokens: number;
  /** Frames per second of this stream: the plugin's cap, lowered to the client's tier once authenticated. */
  #maxFps: number;
  #refilledAt = performance.now();
  /** Per-frame recognition (and the liveness session of a liveness stream), set on authentication. */
  #recognizer: FrameRecognizer | null = null;
  #stats = { frames: 0, results: 0, errors: 0, dropped: 0, openedAt: Date.now() };
  /** The face followed from frame to frame (the engine's tracking; `options.tracking: false` opts out). */
  #track = new StreamTrack();
  /** Tracked frames record one decision per person appearance, not one per frame. */
  #decisions: StreamDecisions;
  /** The options of the last frame that carried some: binary frames without a header's options use them. */
  #lastOptions: FrameOptions = {};

  private readonly socket: WsSocket;
  private readonly d: ConnectionDeps;
  constructor(
    socket: WsSocket,
    d: ConnectionDeps,
  ) {
    this.socket = socket; this.d = d;
    this.#maxFps = d.limits.maxFps;
    this.#tokens = d.limits.maxFps;
    this.#decisions = new StreamDecisions({ error: (obj, msg) => d.log.error(obj, msg) });
  }

  start(): void {
    // Anything the peer sends shows it is there, as a pong does.
    let answered = true;
    this.socket.on('message', (data, isBinary) => {
      answered = true;
      this.#onMessage(data, isBinary);
    });
    this.socket.on('close', () => this.#onClose());
    if (this.socket.ping) {
      this.socket.on('pong', () => (answered = true));
      this.#timers.push(
        setInterval(() => {
          if (!answered) {
            // Gone without closing: no closing handshake to wait for. The close event then releases the slot.
            if (this.socket.terminate) this.socket.terminate();
            else this.socket.close(CLOSE.goingAway, 'no answer to ping');
            return;
          }
          answered = false;
          if (this.socket.readyState === OPEN) this.socket.ping!();
        }, this.d.limits.heartbeatMs),
      );
    }
    this.#timers.push(
      setTimeout(() => {
        if (this.#client) return;
        this.#send({ type: 'error', code: 'NOT_AUTHENTICATED', message: `No authenticate message within ${this.d.limits.authTimeoutMs / 1000} s` });
        this.socket.close(CLOSE.authTimeout, 'authentication timeout');
      }, this.d.limits.authTimeoutMs),
    );
  }

  #onMessage(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    // Closing (a refused key, a timeout): the client may keep sending until it answers the close; nothing
    // more of it is recognised or answered.
    if (this.socket.readyState !== OPEN) return;
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (isBinary) {
      this.#onBinary(bytes);
      return;
    }
    const text = bytes.toString('utf8');
    const parsed = parseClientMessage(text);
    if (!parsed.ok) {
      this.#send({ type: 'error', code: parsed.code, message: parsed.message, timestamp: parsed.timestamp });
      return;
    }
    const msg = parsed.message;
    if (msg.type === 'authenticate') {
      void this.#authenticate(msg);
      return;
    }
    if (!this.#client) {
      const message = this.#authenticating ? 'Authentication is in progress: wait for "authenticated"' : 'Send an authenticate message first';
      this.#send({ type: 'error', code: 'NOT_AUTHENTICATED', message, timestamp: msg.timestamp ?? null });
      return;
    }
    switch (msg.type) {
      case 'ping':
        this.#send({ type: 'pong', timestamp: msg.timestamp ?? null });
        return;
      case 'process_frame':
        if (msg.options) this.#lastOptions = msg.options;
        this.#onFrame({ image: msg.frame, timestamp: msg.timestamp ?? null, options: msg.options ?? {} });
        return;
      default: {
        const never: never = msg;
        throw new Error(`unhandled message ${JSON.stringify(never)}`);
      }
    }
  }

  /** A binary `process_frame`: the image bytes go to the engine as they are (no base64, moved, not copied, into the worker). */
  #onBinary(data: Buffer): void {
    const parsed = parseBinaryFrame(data);
    if (!parsed.ok) {
      this.#send({ type: 'error', code: parsed.code, message: parsed.message, timestamp: parsed.timestamp });
      return;
    }
    if (!this.#client) {
      const message = this.#authenticating ? 'Authentication is in progress: wait for "authenticated"' : 'Send an authenticate message first';
      this.#send({ type: 'error', code: 'NOT_AUTHENTICATED', message, timestamp: parsed.timestamp });
      return;
    }
    if (parsed.options) this.#lastOptions = parsed.options;
    // The socket's buffer may hold other data: one copy into a buffer of the frame's own, which then
    // moves into the worker.
    this.#onFrame({ image: handOver(parsed.image), timestamp: parsed.timestamp, options: parsed.options ?? this.#lastOptions });
  }

  async #authenticate(msg: AuthenticateMessage): Promise<void> {
    if (this.#client || this.#authenticating) {
      this.#send({ type: 'error', code: 'VALIDATION_ERROR', message: 'This connection is already authenticated' });
      return;
    }
    this.#authenticating = true;
    const authorization = `ApiKey ${msg.api_key}:${msg.secret_key}`;
    try {
      // One call against the hourly budget (frames are capped per connection instead), counted only once the
      // stream is granted: a refused `authenticate` got no service and costs no call. A tenant at its stream
      // limit lost a call on every refused reconnect. Wrong credentials never reach a count; they count
      // against the address's failed authentications (FailedAuthGuard) inside `authorize`, as over HTTP.
      const access = await this.d.access.authorize(authorization, this.d.meta.ip ?? '', Date.now(), { countCall: false });
      if (this.#closed) return;
      const { client } = access;
      await this.#takeSlot(client);
      if (this.#closed) return;
      // Past the hourly budget: RATE_LIMIT_EXCEEDED, and #refuse gives the slot just taken back.
      await access.countLater?.();
      if (this.#closed) return;
      this.#client = client;
      // The tier's frames per second, as for an HTTP session (docs/foundation.md, "Limits"): a basic
      // tenant streamed 30 frames/s here against its 10 over HTTP.
      this.#maxFps = Math.min(this.d.limits.maxFps, TIER_LIMITS[client.tier].framesPerSecond);
      this.#tokens = Math.min(this.#tokens, this.#maxFps);
      this.#recognizer = new FrameRecognizer({ authentication: this.d.authentication, sessions: this.d.sessions, meta: this.d.meta }, client, { session_type: 'websocket' });
      this.#authorization = authorization;
      this.#send({ type: 'authenticated', client_id: client.id });
      this.#timers.push(setInterval(() => void this.#reauthorize(true), this.d.limits.reauthorizeMs));
      // A key revoked or a client disabled now ends the stream now, not at the next periodic check.
      this.#unsubscribe = this.d.credentials.on((clientId) => {
        if (clientId === null || clientId === client.id) void this.#reauthorize(false);
      });
    } catch (e) {
      this.#refuse(e);
    } finally {
      this.#authenticating = false;
    }
  }

  /**
   * One of the tier's concurrent streams, held until the socket closes: frames do not count as calls, so a
   * basic key could otherwise open hundreds of streams and take the shared inference queue from every tenant.
   */
  async #takeSlot(client: ClientContext): Promise<void> {
    const max = TIER_LIMITS[client.tier].concurrentStreams;
    if (max === null) return;
    const id = crypto.randomUUID();
    if (!(await this.d.slots.acquire(client.id, id, max, Date.now() + STREAM_SLOT_TTL_MS))) {
      // When the first held slot lapses by itself (closing a stream frees its slot at once).
      const retryAfter = slotRetryAfter(await this.d.slots.earliestExpiry(client.id));
      throw appError('STREAMING_LIMIT_EXCEEDED', `The ${client.tier} tier allows ${max} concurrent recognition streams`, { max_sessions: max }, {
        'retry-after': String(retryAfter),
      });
    }
    if (this.#closed) {
      this.d.slots.release(client.id, id);
      return;
    }
    this.#slot = { clientId: client.id, id };
    this.#timers.push(setInterval(() => void this.d.slots.renew(client.id, id, Date.now() + STREAM_SLOT_TTL_MS), STREAM_SLOT_RENEW_MS));
  }

  /** Gives the slot back at once (idempotent): on close, on a refusal, on shutdown, before the close handshake ends. */
  #releaseSlot(): void {
    const slot = this.#slot;
    if (!slot) return;
    this.#slot = null;
    this.d.slots.release(slot.clientId, slot.id);
  }

  /** Server shutdown: the client is told to reconnect elsewhere (1001), and the slot is freed before Redis goes. */
  goAway(): void {
    this.#releaseSlot();
    this.socket.close(CLOSE.goingAway, 'server shutting down');
  }

  /** The periodic check counts one call against the hourly budget; the one a credential change asks for does not. */
  async #reauthorize(countCall: boolean): Promise<void> {
    if (!this.#authorization || this.#closed) return;
    try {
      await this.d.access.authorize(this.#authorization, this.d.meta.ip ?? '', Date.now(), { countCall });
    } catch (e) {
      // A flaky database should not cut every stream: only a definite refusal closes.
      if (isAppError(e) && e.code === 'SERVICE_UNAVAILABLE') return;
      this.#refuse(e);
    }
  }

  /** Sends the refusal and closes with the code matching its HTTP status. */
  #refuse(e: unknown): void {
    const code: ErrorCode = isAppError(e) ? e.code : 'INTERNAL_ERROR';
    if (!isAppError(e)) this.d.log.error({ err: e }, 'ws authentication failed');
    const message = isAppError(e) ? e.message : 'Internal server error';
    const retry = isAppError(e) ? e.headers?.['retry-after'] : undefined;
    const extra = isAppError(e) && typeof e.details === 'object' && e.details !== null ? e.details : {};
    const details = { ...extra, ...(retry ? { retry_after: Number(retry) } : {}) };
    this.#send({ type: 'error', code, message, ...(Object.keys(details).length ? { details } : {}) });
    const close =
      code === 'INVALID_CREDENTIALS' ? CLOSE.unauthorized
      : code === 'IP_NOT_ALLOWED' || code === 'CLIENT_DISABLED' ? CLOSE.forbidden
      : code === 'RATE_LIMIT_EXCEEDED' || code === 'STREAMING_LIMIT_EXCEEDED' ? CLOSE.rateLimited
      : CLOSE.serverError;
    // A closing stream no longer counts, even while a client that does not answer the close keeps the socket.
    this.#releaseSlot();
    this.socket.close(close, code);
  }

  #onFrame(input: Pick<Frame, 'image' | 'timestamp' | 'options'>): void {
    this.#stats.frames++;
    if (!this.#takeToken()) {
      this.#drop(input.timestamp, 'rate');
      return;
    }
    const frame: Frame = { ...input, receivedAt: performance.now(), liveness: input.options.require_liveness === true };
    if (this.#canStart(frame)) {
      this.#run(frame);
      return;
    }
    // Latest frames matter for a live camera: the oldest waiting frame gives way.
    if (this.#pending.length >= this.d.limits.maxPending) this.#drop(this.#pending.shift()!.timestamp, 'busy');
    if (this.d.limits.maxPending > 0) this.#pending.push(frame);
    else this.#drop(frame.timestamp, 'busy');
  }

  #takeToken(): boolean {
    const now = performance.now();
    const max = this.#maxFps;
    this.#tokens = Math.min(max, this.#tokens + ((now - this.#refilledAt) / 1000) * max);
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Liveness frames of one session must be applied in order: they run alone. */
  #canStart(frame: Frame): boolean {
    if (this.#inFlight === 0) return true;
    if (frame.liveness || this.#livenessInFlight) return false;
    return this.#inFlight < this.d.limits.maxInFlight;
  }

  #run(frame: Frame): void {
    this.#inFlight++;
    if (frame.liveness) this.#livenessInFlight = true;
    void this.#recognize(frame).finally(() => {
      this.#inFlight--;
      if (frame.liveness) this.#livenessInFlight = false;
      while (this.#pending.length && !this.#closed && this.#canStart(this.#pending[0])) this.#run(this.#pending.shift()!);
      if (this.#closed && this.#inFlight === 0) void this.#finishDecisions();
    });
  }

  /** After the last frame of a closed stream: the appearance in view ends (its failure is written if it was never recognised). */
  async #finishDecisions(): Promise<void> {
    await this.#decisions.close();
  }

  async #recognize(frame: Frame): Promise<void> {
    const options = frame.options;
    const run =
      options.tracking === false
        ? () => this.#recognizer!.recognize(frame.image, options)
        : () => withStreamTrack(this.#track, () => this.#recognizer!.recognize(frame.image, options, this.#decisions));
    const answer = await answerFrame(run, frame.timestamp, frame.receivedAt, {
      error: (obj) => this.d.log.error(obj, 'ws frame failed'),
    });
    if (answer.type === 'recognition_result') this.#stats.results++;
    else this.#stats.errors++;
    this.#send(answer);
  }

  #drop(timestamp: ClientTimestamp | null, reason: DropReason): void {
    this.#stats.dropped++;
    this.#send({ type: 'frame_dropped', timestamp, reason });
  }

  #send(message: ServerMessage): void {
    if (this.socket.readyState !== OPEN) return;
    if ((this.socket.bufferedAmount ?? 0) > MAX_UNREAD_BYTES) {
      this.d.log.error({ ip: this.d.meta.ip, unread: this.socket.bufferedAmount }, 'WebSocket client does not read its answers: disconnected');
      if (this.socket.terminate) this.socket.terminate();
      else this.socket.close(CLOSE.tooBig, 'answers not read');
      return;
    }
    this.socket.send(JSON.stringify(message));
  }

  #onClose(): void {
    this.#closed = true;
    this.#releaseSlot();
    for (const t of this.#timers) clearTimeout(t);
    this.#unsubscribe?.();
    this.#pending = [];
    if (this.#inFlight === 0) void this.#finishDecisions();
    const client = this.#client;
    if (!client) return;
    // One API-access audit entry per stream (HTTP writes one per request).
    void this.d.audit.record({
      clientId: client.id,
      category: 'api_access',
      action: 'WS /ws/recognition/',
      actor: `key:${client.apiKeyId}`,
      ip: this.d.meta.ip,
      details: {
        frames: this.#stats.frames,
        results: this.#stats.results,
        errors: this.#stats.errors,
        dropped: this.#stats.dropped,
        seconds: Math.round((Date.now() - this.#stats.openedAt) / 100) / 10,
        // Decisions written (one per person appearance on tracked frames) and frames that wrote none.
        decisions: this.#decisions.counts.written,
        frames_without_record: this.#decisions.counts.skipped,
      },
    });
  }
}
