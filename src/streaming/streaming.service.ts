import crypto from 'node:crypto';
import type { ClientContext } from '../api/request-context.ts';
import type { IceServer } from '../config/env.ts';
import type { Tier } from '../db/schema.ts';
import { appError, isAppError } from '../errors.ts';
import type { AccessService } from '../services/access.service.ts';
import type { AuditService } from '../services/audit.service.ts';
import type { CredentialChanges } from '../services/credential-changes.ts';
import type { AuthenticationService } from '../services/authentication.service.ts';
import type { RequestMeta } from '../services/face.ts';
import type { FrameRecognizerDeps } from '../ws/frame-recognizer.ts';
import { StreamSession, type StreamOptions } from './stream-session.ts';
import { StreamSlots } from './stream-slots.ts';
import type { Wrtc } from './wrtc.ts';

/** Concurrent WebRTC streaming sessions per client, by tier (each holds a peer connection and decodes video). */
export const STREAMING_SESSION_LIMITS: Record<Tier, number> = { basic: 2, premium: 10, enterprise: 50 };

export interface CreateStreamInput extends Partial<StreamOptions> {
  session_type?: 'webrtc';
  /** Lifetime in seconds (default 600). */
  timeout?: number;
  /** Seconds within which the page token may send the offer (default 120, never past the session's end). */
  page_token_ttl?: number;
}

/** Default window for a page opened from a link to send its offer. */
export const PAGE_TOKEN_TTL_S = 120;

/**
 * Who is asking for a session: the tenant (its API key), or a page holding the session's page token,
 * which reaches that one session only and never needs the API secret (docs/streaming.md, "A page
 * without the secret").
 */
export type StreamAccess = ClientContext | { pageToken: string };

export interface StreamingServiceDeps {
  /** Frames are recognised with it; `checkCreate` refuses at creation what an HTTP session's creation refuses. */
  authentication: FrameRecognizerDeps['authentication'] & Pick<AuthenticationService, 'checkCreate'>;
  sessions: FrameRecognizerDeps['sessions'];
  audit: Pick<AuditService, 'record'>;
  log: { error(obj: unknown, msg?: string): void; warn(obj: unknown, msg?: string): void };
  iceServers: IceServer[];
  engineAvailable: boolean;
  loadWrtc(): Promise<Wrtc>;
  iceGatheringTimeoutMs?: number;
  /** Re-checks the key a session was opened with (a session keeps no secret). */
  access: Pick<AccessService, 'recheckKey'>;
  /** Credential changes of a tenant, here or in another instance: its sessions re-check their key at once. */
  credentials: Pick<CredentialChanges, 'on'>;
  /** Besides on changes, every session re-checks its key this often (default 5 min, as WebSocket streams do). */
  recheckMs?: number;
  /** The concurrent-session count (shared by the instances through Redis); default: this process's sessions. */
  slots?: StreamSlots;
}

/**
 * WebRTC streaming sessions of this process (the peer connection lives here: see docs/streaming.md
 * for sticky routing). Sessions are tenant-scoped: another client's id answers SESSION_NOT_FOUND.
 * The tier's concurrent-session limit is counted across instances (StreamSlots, with Redis).
 *
 * @example const s = await streaming.create(client, { mode: 'identification' }, meta); await streaming.offer(client, s.session_id, sdp)
 */
export class StreamingService {
  #sessions = new Map<string, { session: StreamSession; timer: NodeJS.Timeout; meta: RequestMeta; pageTokenHash: Buffer; offerBy: number }>();

  readonly #unsubscribe: () => void;
  readonly #recheckTimer: NodeJS.Timeout;
  readonly #slots: StreamSlots;

  private readonly d: StreamingServiceDeps;
  constructor(d: StreamingServiceDeps) {
    this.d = d;
    this.#slots = d.slots ?? new StreamSlots(null, { warn: (m) => d.log.warn(m) });
    // A key revoked, a client disabled or an allow-list narrowed ends the tenant's open streams now, not at expiry.
    this.#unsubscribe = d.credentials.on((clientId) => void this.#recheck((s) => clientId === null || s.client.id === clientId));
    this.#recheckTimer = setInterval(() => void this.#recheck(() => true), d.recheckMs ?? 5 * 60_000);
    this.#recheckTimer.unref();
  }

  async create(client: ClientContext, input: CreateStreamInput, meta: RequestMeta) {
    // The checks of POST /auth/authentication/create/, same codes: a verification of an unknown, another
    // tenant's or a deactivated user is refused here, not frame after frame on the data channel.
    const { mode } = await this.d.authentication.checkCreate(client, input);
    if (!this.d.engineAvailable) throw appError('SERVICE_UNAVAILABLE', 'The face engine is not running on this server');
    let wrtc: Wrtc;
    try {
      wrtc = await this.d.loadWrtc();
    } catch (e) {
      this.d.log.error({ err: e }, 'WebRTC (@roamhq/wrtc) could not be loaded');
      throw appError('SERVICE_UNAVAILABLE', 'WebRTC is not available on this server');
    }
    const id = crypto.randomUUID();
    const timeout = input.timeout ?? 600;
    const expiresAt = new Date(Date.now() + timeout * 1000);
    const max = STREAMING_SESSION_LIMITS[client.tier];
    if (!(await this.#slots.acquire(client.id, id, max, expiresAt.getTime()))) {
      // When one of them ends by itself at the latest (its timeout); closing one frees its slot at once.
      const freesAt = await this.#slots.earliestExpiry(client.id);
      const retryAfter = Math.max(1, Math.ceil(((freesAt ?? Date.now() + 1000) - Date.now()) / 1000));
      throw appError('STREAMING_LIMIT_EXCEEDED', `The ${client.tier} tier allows ${max} concurrent streaming sessions; the first ends by itself within ${retryAfter} s`, { max_sessions: max, retry_after: retryAfter }, { 'retry-after': String(retryAfter) });
    }
    try {
      return this.#open(client, input, meta, { id, wrtc, mode, expiresAt, timeout });
    } catch (e) {
      this.#slots.release(client.id, id);
      throw e;
    }
  }

  /** The session of `create`, once its slot is held. */
  #open(client: ClientContext, input: CreateStreamInput, meta: RequestMeta, { id, wrtc, mode, expiresAt, timeout }: { id: string; wrtc: Wrtc; mode: StreamOptions['mode']; expiresAt: Date; timeout: number }) {
    const options: StreamOptions = {
      mode,
      user_id: input.user_id,
      require_liveness: input.require_liveness ?? false,
      confidence_threshold: input.confidence_threshold,
      search_threshold: input.search_threshold,
      max_results: input.max_results,
      liveness_challenges: input.liveness_challenges,
      challenge_timeout: input.challenge_timeout,
      max_fps: input.max_fps ?? 10,
    };
    const session = new StreamSession(
      id,
      client,
      options,
      expiresAt,
      { wrtc, authentication: this.d.authentication, sessions: this.d.sessions, meta, log: this.d.log, iceServers: this.d.iceServers, iceGatheringTimeoutMs: this.d.iceGatheringTimeoutMs ?? 5000 },
      (s) => this.#forget(s),
    );
    const timer = setTimeout(() => session.close('expired', { type: 'error', code: 'SESSION_EXPIRED', message: 'The streaming session has expired' }), timeout * 1000);
    timer.unref();
    // A bearer secret for this one session, kept only as its hash: the tenant's backend hands it to a page.
    const pageToken = crypto.randomBytes(32).toString('base64url');
    const offerBy = Math.min(expiresAt.getTime(), Date.now() + (input.page_token_ttl ?? PAGE_TOKEN_TTL_S) * 1000);
    this.#sessions.set(id, { session, timer, meta, pageTokenHash: digest(pageToken), offerBy });
    return { ...view(session), ice_servers: this.d.iceServers, page_token: pageToken, page_token_expires_at: new Date(offerBy).toISOString() };
  }

  async offer(access: StreamAccess, id: string, sdp: string) {
    const answer = await this.#get(access, id, { offer: true }).answer(sdp);
    return { ...answer, session_id: id };
  }

  status(access: StreamAccess, id: string) {
    const s = this.#get(access, id);
    return { ...view(s), ice_servers: this.d.iceServers, stats: { ...s.stats } };
  }

  close(access: StreamAccess, id: string): void {
    this.#get(access, id).close('closed by the client');
  }

  /** Closes every peer connection (app shutdown). */
  closeAll(): void {
    this.#unsubscribe();
    clearInterval(this.#recheckTimer);
    for (const { session } of [...this.#sessions.values()]) session.close('server shutdown');
  }

  /**
   * The key of each session `which` picks, checked again: a refusal (revoked or expired key, disabled
   * client, address off an allow-list) closes the session with that error on its data channel. An
   * unreachable database closes nothing.
   */
  async #recheck(which: (s: StreamSession) => boolean): Promise<void> {
    const entries = [...this.#sessions.values()].filter((e) => which(e.session));
    await Promise.all(
      entries.map(async ({ session, meta }) => {
        try {
          await this.d.access.recheckKey(session.client.apiKeyId, meta.ip ?? '');
        } catch (e) {
          if (!isAppError(e) || e.code === 'SERVICE_UNAVAILABLE') return;
          session.close('credentials', { type: 'error', code: e.code, message: e.message });
        }
      }),
    );
  }

  #get(access: StreamAccess, id: string, { offer = false } = {}): StreamSession {
    const entry = this.#sessions.get(id);
    // Another tenant's session, or a token of another session, is indistinguishable from an unknown one.
    if ('pageToken' in access) {
      if (!entry || !crypto.timingSafeEqual(digest(access.pageToken), entry.pageTokenHash)) throw appError('SESSION_NOT_FOUND', `No streaming session ${id}`);
      // The link is short-lived: past its window it can no longer connect (an open stream goes on).
      if (offer && Date.now() > entry.offerBy) throw appError('SESSION_EXPIRED', 'The link to this streaming session has expired: ask for a new one');
      return entry.session;
    }
    if (!entry || entry.session.client.id !== access.id) throw appError('SESSION_NOT_FOUND', `No streaming session ${id}`);
    return entry.session;
  }

  #forget(session: StreamSession): void {
    const entry = this.#sessions.get(session.id);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.#sessions.delete(session.id);
    this.#slots.release(session.client.id, session.id);
    // One API-access audit entry per stream, like the WebSocket.
    void this.d.audit.record({
      clientId: session.client.id,
      category: 'api_access',
      action: 'WEBRTC /api/streaming/sessions/',
      actor: `key:${session.client.apiKeyId}`,
      ip: entry.meta.ip,
      details: { session_id: session.id, ...session.stats, seconds: Math.round((Date.now() - session.createdAt) / 100) / 10 },
    });
  }
}

const digest = (token: string): Buffer => crypto.createHash('sha256').update(token).digest();

function view(s: StreamSession) {
  return {
    session_id: s.id,
    session_type: 'webrtc' as const,
    status: s.status,
    mode: s.options.mode!,
    user_id: s.options.user_id ?? null,
    require_liveness: s.options.require_liveness ?? false,
    max_fps: s.options.max_fps,
    data_channel: 'results',
    offer_url: `/api/streaming/sessions/${s.id}/offer/`,
    expires_at: s.expiresAt.toISOString(),
  };
}
