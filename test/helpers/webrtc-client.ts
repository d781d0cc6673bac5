// A Node WebRTC client run as a child process (forked; Node runs the .ts file directly): it plays a real video (or a still
// photo) as a camera track to a Wajah streaming session and forwards every data-channel message to the parent.
// It runs in its own process because node-webrtc's RTCVideoSource keeps the event loop alive and crashes
// when finalised at exit; this process ends with process.exit() instead.
import sharp from 'sharp';
import wrtc from '@roamhq/wrtc';
import { readMjpegFrames } from '../../src/vision/mjpeg.ts';

export interface ClientJob {
  base: string;
  auth: string;
  session: Record<string, unknown>;
  /** An MJPEG video (played in a loop at `fps`) or one image (repeated). */
  source: { video: string } | { image: string };
  fps: number;
}
export type ClientEvent =
  | { kind: 'session'; status: number; body: any }
  | { kind: 'answer'; status: number; body: any }
  | { kind: 'open' }
  | { kind: 'message'; message: any }
  | { kind: 'failed'; error: string };

const send = (e: ClientEvent) => process.send!(e);
const W = 512;
const H = 512;

async function toI420(jpeg: Buffer): Promise<Uint8Array> {
  const rgba = await sharp(jpeg).resize(W, H, { fit: 'cover' }).ensureAlpha().raw().toBuffer();
  const i420 = new Uint8Array((W * H * 3) / 2);
  wrtc.nonstandard.rgbaToI420({ width: W, height: H, data: new Uint8Array(rgba) }, { width: W, height: H, data: i420 });
  return i420;
}

async function run(job: ClientJob): Promise<void> {
  const headers = { authorization: job.auth, 'content-type': 'application/json' };
  const res = await fetch(`${job.base}/api/streaming/sessions/`, { method: 'POST', headers, body: JSON.stringify(job.session) });
  const session = (await res.json()) as any;
  send({ kind: 'session', status: res.status, body: session });
  if (res.status !== 201) return;
  const jpegs = 'video' in job.source ? readMjpegFrames(job.source.video) : [await sharp(job.source.image).jpeg().toBuffer()];
  const frames = await Promise.all(jpegs.map(toI420));
  const pc = new wrtc.RTCPeerConnection({ iceServers: session.ice_servers });
  const source = new wrtc.nonstandard.RTCVideoSource();
  const track = source.createTrack();
  pc.addTrack(track, new wrtc.MediaStream([track]));
  const channel = pc.createDataChannel('results');
  channel.onopen = () => send({ kind: 'open' });
  channel.onmessage = (e: MessageEvent) => send({ kind: 'message', message: JSON.parse(String(e.data)) });
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise<void>((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
  });
  const offer = await fetch(`${job.base}${session.offer_url}`, { method: 'POST', headers, body: JSON.stringify({ type: 'offer', sdp: pc.localDescription!.sdp }) });
  const answer = (await offer.json()) as any;
  send({ kind: 'answer', status: offer.status, body: answer });
  if (offer.status !== 200) return;
  await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
  let i = 0;
  setInterval(() => source.onFrame({ width: W, height: H, data: frames[i++ % frames.length] }), 1000 / job.fps);
  process.on('message', (m: { stop?: boolean }) => {
    if (m.stop) {
      pc.close();
      process.exit(0);
    }
  });
}

process.once('message', (job: ClientJob) => {
  run(job).catch((e: unknown) => send({ kind: 'failed', error: String(e) }));
});
setTimeout(() => process.exit(3), 120_000).unref();
process.on('disconnect', () => process.exit(0));
