/**
 * Where the time of one tracked stream frame goes (issue 11): every stage of a `/ws/recognition/` frame
 * timed on its own, over the fakecam clips at about 10 frames/s of motion, in this thread (no worker,
 * no contention between frames), so the stages add up and compare with each other.
 *
 *   node scripts/stream-profile.ts [--frames N] [--json]
 *
 * Stages: the main thread's JSON.parse of a `process_frame` text message (the base64 data URL inside),
 * the structured clone of what crosses to a worker and back (what postMessage copies), base64 → bytes,
 * JPEG decode, the mesh fit on the predicted crop (tracked frames) or detector + mesh (detector frames),
 * alignment, liveness signals, quality, the recogniser (on the frames where it is due), and the
 * service's share of an identify call (gallery search and the attempt + event written), measured over a
 * real container with the embedded database.
 */
import os from 'node:os';
import sharp from 'sharp';
import { alignArcface } from '../src/vision/align/similarity.ts';
import { createDetector, createEmbedder, byPrimacy } from '../src/vision/analyzer.ts';
import { bytesFromString, decodeImage } from '../src/vision/decode/decode.ts';
import type { DetectedFace, TrackCrop } from '../src/vision/detector/types.ts';
import { livenessSignals, thumbnailChange } from '../src/vision/liveness-signals/signals.ts';
import { DEFAULT_MODEL } from '../src/vision/models.ts';
import { assessQuality } from '../src/vision/quality/quality.ts';
import { iou, mustEmbed, newTrackSinceDetect, TRACKING, type TrackState } from '../src/vision/tracking/track-state.ts';
import { FAKECAM_CLIPS, streamFrames } from './lib/fakecam.ts';

const argv = process.argv.slice(2);
const FRAMES = Number(argv[argv.indexOf('--frames') + 1] || 60);
const json = argv.includes('--json');

const samples: Record<string, number[]> = {};
const add = (stage: string, ms: number) => (samples[stage] ??= []).push(ms);
async function time<T>(stage: string, fn: () => Promise<T> | T): Promise<T> {
  const t = performance.now();
  const r = await fn();
  add(stage, performance.now() - t);
  return r;
}

const detector = await createDetector();
const embedder = await createEmbedder(DEFAULT_MODEL);
let jpegBytes = 0, jpegs = 0;
const counts = { frames: 0, detectorFrames: 0, embedFrames: 0 };
/** Why the recogniser ran (the first mustEmbed condition that held). */
const embedWhy: Record<string, number> = {};

for (const file of FAKECAM_CLIPS) {
  const frames = streamFrames(file).slice(0, FRAMES);
  let prev: TrackState | null = null;
  // Warm-up on the clip's first frame (JIT, first-use allocations).
  await detector.detect(await decodeImage(frames[0]), { passive: false });
  for (const jpeg of frames) {
    jpegBytes += jpeg.length;
    jpegs++;
    const text = JSON.stringify({ type: 'process_frame', frame: `data:image/jpeg;base64,${jpeg.toString('base64')}`, timestamp: Date.now(), options: { mode: 'identification' } });
    const msg = await time('main: JSON.parse of the text message', () => JSON.parse(text) as { frame: string });
    await time('main→worker: clone of the data URL string', () => structuredClone({ image: msg.frame, track: prev }));
    await time('main→worker: clone of JPEG bytes', () => structuredClone({ image: new Uint8Array(jpeg), track: prev }));
    const bytes = await time('worker: base64 → bytes', () => bytesFromString(msg.frame));
    const img = await time('worker: JPEG decode (libjpeg-turbo directly, decode/turbojpeg.ts)', () => decodeImage(bytes));
    // For comparison, the same pixels through sharp (what every frame took before issue 11's decoder).
    await time('  the same frame through sharp (header read + decode)', () => decodeImage(bytes, undefined, { turbo: false }));
    let face: DetectedFace | null = null;
    let next: TrackCrop | null = null;
    let faces = prev?.faces ?? 0;
    let detected = false;
    if (prev) {
      const fit = await time('worker: mesh fit on the predicted crop', () => detector.track!(img, prev!.crop, { passive: false }));
      if (fit && fit.confidence >= TRACKING.MIN_TRACK_CONFIDENCE) {
        if (prev.sinceDetect + 1 < TRACKING.DETECT_EVERY) {
          face = { ...fit.face, score: prev.score };
          next = fit.next;
        } else {
          // The detector's turn: its boxes alone confirm the followed face (Analyzer, tracked frames).
          const boxes = byPrimacy(await time('worker: detector boxes alone (detector turn, confirming the followed face)', () => detector.faceBoxes!(img)), img.width, img.height);
          if (boxes.length > 0 && iou(boxes[0].box, fit.face.box) >= TRACKING.SAME_FACE_IOU) {
            face = { ...fit.face, score: boxes[0].score };
            next = fit.next;
            faces = boxes.length;
            detected = true;
            counts.detectorFrames++;
          }
        }
      }
    }
    if (!face) {
      const all = await time('worker: detector + mesh (no track, or the followed face lost)', () => detector.detect(img, { passive: false }));
      if (all.length === 0) {
        prev = null;
        continue;
      }
      face = byPrimacy(all, img.width, img.height)[0];
      faces = all.length;
      detected = true;
      next = detector.trackCrop!(face);
      counts.detectorFrames++;
      // What the passive anti-spoof score would add (liveness frames only; stream frames skip it).
      await time('worker: passive anti-spoof (liveness frames only, not run on stream frames)', () => detector.detect(img, { passive: true }));
      samples['worker: passive anti-spoof (liveness frames only, not run on stream frames)'].push(
        samples['worker: passive anti-spoof (liveness frames only, not run on stream frames)'].pop()! - samples['worker: detector + mesh (no track, or the followed face lost)'].at(-1)!,
      );
    }
    counts.frames++;
    const base = prev && (!detected || iou(prev.box, face.box) >= TRACKING.SAME_FACE_IOU) ? prev : null;
    const frame = base ? base.frame + 1 : 0;
    const aligned = await time('worker: alignment 112×112', () => alignArcface(img, face!.five, 112));
    const signals = await time('worker: liveness signals (eyes, smile, thumbnail)', () => livenessSignals(face!.mesh, aligned, null, img));
    const quality = await time('worker: quality', () => assessQuality(img, face!, aligned, signals.eyeOpenness));
    const embedNow = mustEmbed(base, frame, face.pose, signals.faceThumb);
    let embedding = base?.embedding ?? null;
    if (embedNow) {
      embedding = await time('worker: recogniser (frames where due)', () => embedder.embed(img, face!));
      counts.embedFrames++;
      const why = !base?.embedding || !base.embeddedThumb ? 'new track' : frame < TRACKING.EMBED_FIRST ? 'first frames' : frame - base.embeddedAt >= TRACKING.EMBED_EVERY ? `every ${TRACKING.EMBED_EVERY} frames`
        : Math.max(Math.abs(face.pose.yaw - base.embeddedPose.yaw), Math.abs(face.pose.pitch - base.embeddedPose.pitch)) > TRACKING.POSE_CHANGE_DEG ? 'pose change'
        : `appearance change (thumbnail ${Math.round(thumbnailChange(signals.faceThumb, base.embeddedThumb))})`;
      const key = why.startsWith('appearance') ? 'appearance change' : why;
      embedWhy[key] = (embedWhy[key] ?? 0) + 1;
    }
    const track: TrackState = {
      modelId: DEFAULT_MODEL, frame, sinceDetect: detected ? (base ? 0 : newTrackSinceDetect()) : base!.sinceDetect + 1, crop: next!, box: face.box, score: face.score, faces,
      embedding, embeddedAt: embedNow ? frame : base!.embeddedAt, embeddedPose: embedNow ? { yaw: face.pose.yaw, pitch: face.pose.pitch } : base!.embeddedPose,
      embeddedThumb: embedNow ? signals.faceThumb : base!.embeddedThumb,
    };
    const result = { width: img.width, height: img.height, faces: [{ box: face.box, score: face.score, landmarks: face.five, pose: face.pose, quality, signals, embedding }] };
    await time('worker→main: clone of result + track state', () => structuredClone({ result, track }));
    prev = track;
  }
}

// An empty picture (no face): the detector with its wide search (a stream's first empty frame and every
// DETECT_EVERY-th after it) and without (the other empty frames of a stream). Not per tracked frame.
const emptySamples: Record<string, number[]> = {};
{
  const grey = await decodeImage(await sharp({ create: { width: 640, height: 360, channels: 3, background: '#7a7a7a' } }).jpeg().toBuffer());
  for (let i = 0; i < 20; i++) {
    for (const [label, wide] of [['empty frame: detector with the wide search', true], ['empty frame: plain detector (wideSearch: false)', false]] as const) {
      const t = performance.now();
      await detector.detect(grey, { passive: false, wide });
      (emptySamples[label] ??= []).push(performance.now() - t);
    }
  }
}

// The service's share: identify on a real container (embedded database, one worker), engine time
// subtracted: the gallery search and the attempt + event written per frame.
{
  const { loadConfig } = await import('../src/config/env.ts');
  const { createContainer } = await import('../src/container.ts');
  const { buildApp } = await import('../src/app.ts');
  const { StreamTrack, withStreamTrack } = await import('../src/vision/index.ts');
  const { postForm } = await import('../test/helpers/face-fixtures.ts');
  const ADMIN = 'profile-admin-token-0123456789';
  const config = loadConfig({ LOG_LEVEL: 'silent', WAJAH_ADMIN_TOKEN: ADMIN, WAJAH_WORKERS: '1', WAJAH_MASTER_KEY: 'b'.repeat(64) });
  const container = await createContainer(config, { engine: true, pgliteDir: 'memory://', log: { info: () => {}, warn: () => {}, error: (m: string) => console.error(m) } });
  const app = await buildApp(config, container);
  try {
    const created = await app.inject({ method: 'POST', url: '/api/admin/clients/', headers: { authorization: `Bearer ${ADMIN}` }, payload: { name: 'profile', tier: 'enterprise' } });
    const { api_key, secret_key, client_id } = created.json() as { api_key: string; secret_key: string; client_id: string };
    const auth = `ApiKey ${api_key}:${secret_key}`;
    const frames = streamFrames(FAKECAM_CLIPS[1]).slice(0, FRAMES);
    await app.inject({ method: 'POST', url: '/api/clients/users/', headers: { authorization: auth }, payload: { external_id: 'p', name: 'p' } });
    await postForm(app, '/api/auth/enrollment/direct/', { clientId: client_id, auth }, [{ name: 'user_id', value: 'p' }, { name: 'quality_threshold', value: '0.2' }, { name: 'image', value: frames[0], filename: 'a.jpg' }]);
    const { client } = await container.foundation.access.authorize(auth, '127.0.0.1');
    const engine = container.engine! as { analyze: (...a: never[]) => Promise<unknown> };
    const analyze = engine.analyze;
    let engineMs = 0;
    engine.analyze = async (...a: never[]) => {
      const t = performance.now();
      try {
        return await analyze(...a);
      } finally {
        engineMs = performance.now() - t;
      }
    };
    const meta = { ip: '127.0.0.1', userAgent: 'profile' };
    const { StreamDecisions } = await import('../src/ws/stream-decisions.ts');
    // Before issue 11's point 3 every frame wrote its attempt and event; a stream now records per appearance.
    for (const [label, recorder] of [
      ['main: identify service minus engine, a record written per frame (tracking: false)', undefined],
      ['main: identify service minus engine, one record per appearance (tracked streams)', new StreamDecisions(console)],
    ] as const) {
      const track = new StreamTrack();
      for (const [i, f] of frames.entries()) {
        const t = performance.now();
        await withStreamTrack(track, () => container.face.authentication.identify(client, { image: new Uint8Array(f) }, meta, recorder)).catch(() => null);
        if (i > 0) add(label, performance.now() - t - engineMs);
      }
      await recorder?.close();
    }
  } finally {
    await app.close();
    await container.close();
  }
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  return { n: s.length, mean: s.reduce((a, b) => a + b, 0) / s.length, p50: q(0.5), p95: q(0.95) };
};
const r2 = (x: number) => Math.round(x * 100) / 100;
const rows = Object.entries(samples).map(([stage, xs]) => ({ stage, ...stats(xs) }));
const perFrame = (r: (typeof rows)[number]) => r.stage.startsWith('main: identify') ? r.mean : (r.mean * r.n) / counts.frames;
const out = (s: string) => (json ? console.error(s) : console.log(s));
out(`stream-profile: ${counts.frames} tracked frames of ${FAKECAM_CLIPS.length} clips (mean JPEG ${Math.round(jpegBytes / jpegs / 1024)} kB), detector on ${counts.detectorFrames}, recogniser on ${counts.embedFrames}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
out('stage | runs | mean ms | p50 | p95 | ms per frame (mean × runs / frames)');
for (const r of rows) out(`${r.stage} | ${r.n} | ${r2(r.mean)} | ${r2(r.p50)} | ${r2(r.p95)} | ${r2(perFrame(r))}`);
out(`recogniser ran because: ${Object.entries(embedWhy).map(([k, v]) => `${k} ${v}`).join(', ')}`);
const empty = Object.entries(emptySamples).map(([stage, xs]) => ({ stage, ...stats(xs) }));
for (const r of empty) out(`${r.stage} | ${r.n} | ${r2(r.mean)} | ${r2(r.p50)} | ${r2(r.p95)} | –`);
if (json) console.log(JSON.stringify({ counts, embedWhy, rows, empty }));
