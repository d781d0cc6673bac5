import { StreamTrack, withStreamTrack } from '../vision/index.ts';
import sharp from 'sharp';
import type { ClientContext } from '../api/request-context.ts';
import { appError, isAppError } from '../errors.ts';
import type { IceServer } from '../config/env.ts';
import { FrameRecognizer, answerFrame, type FrameRecognizerDeps } from '../ws/frame-recognizer.ts';
import { StreamDecisions } from '../ws/stream-decisions.ts';
import type { FrameOptions, ServerMessage } from '../ws/messages.ts';
import type { Challenge } from '../services/liveness.service.ts';
import type { I420Frame, Wrtc, WrtcDataChannel, WrtcPeerConnection, WrtcVideoSink } from './wrtc.ts';

/** What a session recognises, fixed at creation (`POST /api/streaming/sessions/`). */
export interface StreamOptions extends FrameOptions {
  liveness_challenges?: Challenge[];
  challenge_timeout?: number;
  /** Frames sampled per second from the camera track (at most one in flight; the rest are skipped). */
  max_fps: number;
}

export type StreamStatus = 'created' | 'connecting' | 'connected' | 'closed';

export interface StreamSessionDeps extends FrameRecognizerDeps {
  wrtc: Wrtc;
  iceServers: IceServer[];
  log: { error(obj: unknown, msg?: string): void; warn(obj: unknown, msg?: string): void };
  /** How long the answer waits for the server's ICE gathering (non-trickle). */
  iceGatheringTimeoutMs: number;
}

/**
 * One WebRTC streaming session: a server-side peer that receives the browser's camera track,
 * samples decoded I420 frames, recognises them like the WebSocket stream does and answers over the
 * data channel the browser opened, with the WebSocket's messages.
 */
export class StreamSession {
  /** Where the face was in the previous frames of this camera track (tracking). */
  readonly #track = new StreamTrack();
  status: StreamStatus = 'created';
  readonly stats = { frames_received: 0, frames_processed: 0, frames_skipped: 0, results: 0, errors: 0 };
  readonly createdAt = Date.now();
  #pc: WrtcPeerConnection | null = null;
  #sink: WrtcVideoSink | null = null;
  #channel: WrtcDataChannel | null = null;
  #busy = false;
  #lastSampled = 0;
  #recognizer: FrameRecognizer;
  /** Identify/verify decisions recorded once per person appearance, as over the WebSocket (docs/realtime.md). */
  #decisions: StreamDecisions;

  readonly id: string;
  readonly client: ClientContext;
  readonly options: StreamOptions;
  readonly expiresAt: Date;
  private readonly d: StreamSessionDeps;
  private readonly onClosed: (session: StreamSession) => void;
  constructor(
    id: string,
    client: ClientContext,
    options: StreamOptions,
    expiresAt: Date,
    d: StreamSessionDeps,
    onClosed: (session: StreamSession) => void,
  ) {
    this.id = id; this.client = client; this.options = options; this.expiresAt = expiresAt; this.d = d; this.onClosed = onClosed;
    const { liveness_challenges, challenge_timeout } = options;
    this.#decisions = new StreamDecisions({ error: (obj, msg) => d.log.error(obj, msg) });
    this.#recognizer = new FrameRecognizer(d, client, { session_type: 'webrtc', ...(liveness_challenges ? { liveness_challenges } : {}), ...(challenge_timeout ? { challenge_timeout } : {}) });
  }

  /** Applies the browser's offer and returns the answer once the server's ICE candidates are all in it. */
  async answer(sdp: string): Promise<{ type: 'answer'; sdp: string }> {
    if (this.#pc || this.status === 'closed') throw appError('STREAM_ALREADY_CONNECTED');
    this.status = 'connecting';
    const pc = new this.d.wrtc.RTCPeerConnection({ iceServers: this.d.iceServers });
    this.#pc = pc;
    pc.ontrack = ({ track }) => {
      if (track.kind !== 'video' || this.#sink) return;
      const sink = new this.d.wrtc.nonstandard.RTCVideoSink(track);
      sink.onframe = ({ frame }) => this.#onFrame(frame);
      this.#sink = sink;
    };
    pc.ondatachannel = ({ channel }) => {
      // The browser opens one channel (label `results` in the docs); a later one replaces it.
      this.#channel = channel;
      channel.onmessage = (e) => this.#onChannelMessage(e.data);
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'connected') this.status = 'connected';
      if (pc.connectionState === 'failed' || pc.connectionState === 'closed') this.close('peer connection ' + pc.connectionState);
    };
    try {
      await pc.setRemoteDescription({ type: 'offer', sdp });
      await pc.setLocalDescription(await pc.createAnswer());
    } catch (e) {
      this.close('invalid offer');
      throw appError('INVALID_SDP', undefined, { reason: e instanceof Error ? e.message : String(e) });
    }
    await this.#gathered(pc);
    if (!pc.localDescription || (this.status as StreamStatus) === 'closed') throw appError('SESSION_NOT_FOUND', 'The streaming session was closed');
    return { type: 'answer', sdp: pc.localDescription.sdp };
  }

  #gathered(pc: WrtcPeerConnection): Promise<void> {
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.d.iceGatheringTimeoutMs);
      pc.onicegatheringstatechange = () => {
        if (pc.iceGatheringState !== 'complete') return;
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Samples at most max_fps frames per second, one in flight; frames arriving meanwhile are skipped. */
  #onFrame(frame: I420Frame): void {
    this.stats.frames_received++;
    const now = performance.now();
    const open = this.#channel?.readyState === 'open';
    if (this.status === 'closed' || this.#busy || !open || now - this.#lastSampled < 1000 / this.options.max_fps) {
      this.stats.frames_skipped++;
      return;
    }
    this.#busy = true;
    this.#lastSampled = now;
    // The sink reuses its buffer: copy before going async.
    const copy: I420Frame = { width: frame.width, height: frame.height, data: new Uint8Array(frame.data) };
    void this.#process(copy, now, Date.now()).finally(() => {
      this.#busy = false;
      // The stream closed while this frame was in flight: the appearance in view ends now.
      if (this.status === 'closed') void this.#decisions.close();
    });
  }

  async #process(frame: I420Frame, receivedAt: number, timestamp: number): Promise<void> {
    this.stats.frames_processed++;
    const answer = await answerFrame(
      // The camera's frames follow the face (docs/vision.md, "Tracking in streams"), as over the WebSocket.
      async () => {
        const jpeg = await this.#toJpeg(frame);
        return withStreamTrack(this.#track, () => this.#recognizer.recognize(jpeg, this.options, this.#decisions));
      },
      timestamp,
      receivedAt,
      this.d.log,
    );
    if (answer.type === 'recognition_result') this.stats.results++;
    else this.stats.errors++;
    this.#send(answer);
  }

  async #toJpeg(frame: I420Frame): Promise<Buffer> {
    const { width, height } = frame;
    const rgba = new Uint8ClampedArray(width * height * 4);
    this.d.wrtc.nonstandard.i420ToRgba(frame, { width, height, data: rgba });
    return sharp(rgba, { raw: { width, height, channels: 4 } }).removeAlpha().jpeg({ quality: 92 }).toBuffer();
  }

  #onChannelMessage(data: unknown): void {
    let msg: { type?: unknown; timestamp?: unknown } | undefined;
    try {
      msg = typeof data === 'string' ? (JSON.parse(data) as { type?: unknown; timestamp?: unknown } | undefined) : undefined;
    } catch {
      this.#send({ type: 'error', code: 'INVALID_JSON', message: 'The message is not valid JSON' });
      return;
    }
    const ts = msg?.timestamp;
    const timestamp = typeof ts === 'number' || typeof ts === 'string' ? ts : null;
    if (msg?.type === 'ping') this.#send({ type: 'pong', timestamp });
    else this.#send({ type: 'error', code: 'VALIDATION_ERROR', message: 'The results channel takes only {"type":"ping"}; frames come from the video track', timestamp });
  }

  #send(message: ServerMessage): void {
    const channel = this.#channel;
    if (channel?.readyState !== 'open') return;
    try {
      channel.send(JSON.stringify(message));
    } catch (e) {
      if (!isAppError(e)) this.d.log.warn({ err: e }, 'streaming data channel send failed');
    }
  }

  /** Closes the peer connection (idempotent); `reason` goes to the browser as a last error message when it is an expiry. */
  close(reason: string, notice?: ServerMessage): void {
    if (this.status === 'closed') return;
    if (notice) this.#send(notice);
    this.status = 'closed';
    const pc = this.#pc;
    // Stop the sink first: it keeps native frame callbacks alive otherwise. Drop every native reference so
    // the objects are collected while the process runs (node-webrtc crashes if it finalises them at exit).
    this.#sink?.stop();
    if (this.#sink) this.#sink.onframe = null;
    this.#sink = null;
    if (this.#channel) this.#channel.onmessage = null;
    this.#channel = null;
    if (pc) {
      pc.ontrack = null;
      pc.ondatachannel = null;
      pc.onconnectionstatechange = null;
      pc.onicegatheringstatechange = null;
      pc.close();
    }
    this.#pc = null;
    void reason;
    // The appearance in view ends (an unrecognised one writes its failure); with a frame in flight, after it.
    if (!this.#busy) void this.#decisions.close();
    this.onClosed(this);
  }
}
