/**
 * The part of `@roamhq/wrtc` (maintained node-webrtc) the streaming layer uses, loaded lazily: the
 * native binary is an optional dependency, so the API starts without it and only streaming answers
 * SERVICE_UNAVAILABLE.
 *
 * @example const w = await loadWrtc(); const pc = new w.RTCPeerConnection({ iceServers: [] });
 */
export interface I420Frame {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface WrtcDataChannel {
  readonly label: string;
  readonly readyState: 'connecting' | 'open' | 'closing' | 'closed';
  onopen: (() => void) | null;
  onclose: (() => void) | null;
  onmessage: ((e: { data: unknown }) => void) | null;
  send(data: string): void;
  close(): void;
}

export interface WrtcTrack {
  readonly kind: string;
}

export interface WrtcPeerConnection {
  readonly iceGatheringState: 'new' | 'gathering' | 'complete';
  readonly connectionState: string;
  readonly localDescription: { type: string; sdp: string } | null;
  ontrack: ((e: { track: WrtcTrack }) => void) | null;
  ondatachannel: ((e: { channel: WrtcDataChannel }) => void) | null;
  onicegatheringstatechange: (() => void) | null;
  onconnectionstatechange: (() => void) | null;
  setRemoteDescription(d: { type: 'offer'; sdp: string }): Promise<void>;
  createAnswer(): Promise<{ type: string; sdp: string }>;
  setLocalDescription(d: { type: string; sdp: string }): Promise<void>;
  close(): void;
}

export interface WrtcVideoSink {
  onframe: ((e: { frame: I420Frame }) => void) | null;
  stop(): void;
}

export interface Wrtc {
  RTCPeerConnection: new (config: { iceServers: unknown[] }) => WrtcPeerConnection;
  nonstandard: {
    RTCVideoSink: new (track: WrtcTrack) => WrtcVideoSink;
    i420ToRgba(src: I420Frame, dst: { width: number; height: number; data: Uint8ClampedArray }): void;
  };
}

let loaded: Promise<Wrtc> | null = null;

/** Loads the native module once; rejects when the platform has no binary. */
export function loadWrtc(): Promise<Wrtc> {
  loaded ??= import('@roamhq/wrtc').then((m) => ((m as { default?: unknown }).default ?? m) as Wrtc);
  return loaded;
}
