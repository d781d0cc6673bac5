/**
 * Measures the server-driven liveness decision (src/services/liveness.service.ts) on real video:
 * `node scripts/liveness-eval.ts [--json] [--refresh] [--tracking]`.
 *
 * Frames come from ../shared/data/video/fakecam/*.mjpeg (the fake-camera files). Each scenario feeds
 * a frame sequence with frame-time timestamps into a liveness state with the given challenges and
 * prints pass/fail, score, checks and the signals behind them. The per-frame engine signals are cached
 * in .tmp/liveness-signals.json (pass --refresh after changing the engine). With --tracking each clip is
 * played as one stream (withStreamTrack, as the WebSocket does; cache .tmp/liveness-signals-tracking.json):
 * the table must be the same as without. With --parallax it also prints the nose-parallax ratio of
 * every pair of a video's frames at least 8° of yaw apart (the numbers behind LIVENESS_TUNING.PARALLAX_K).
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { testDataDir } from '../src/config/env.ts';
import { createFaceEngine, StreamTrack, withStreamTrack } from '../src/vision/index.ts';
import { readMjpegFrames } from '../src/vision/mjpeg.ts';
import { occludeSweep, panZoom, perspectiveTurn, rollStill, stretchBlink } from './lib/attacks.ts';
import { noseParallax } from '../src/vision/liveness-signals/parallax.ts';
import { faceRegion, flatness, regionCrop } from '../src/vision/liveness-signals/planarity.ts';
import { decodeImage, DEFAULT_LIMITS } from '../src/vision/decode/decode.ts';
import type { RgbImage } from '../src/vision/image.ts';
import type { Box, FaceEngine } from '../src/vision/types.ts';
import {
  LIVENESS_TUNING,
  applyLivenessFrame,
  livenessResult,
  newLiveness,
  thumbDiff,
  type Challenge,
  type LivenessFrame,
} from '../src/services/liveness.service.ts';

interface Video {
  name: string;
  file: string;
  fps: number;
}

const VIDEOS: Video[] = [
  { name: 'talking_blink', file: 'video/fakecam/talking_blink_aoc_512x512_25fps.mjpeg', fps: 25 },
  { name: 'personA_live_headturn', file: 'video/fakecam/personA_live_headturn_640x360_15fps.mjpeg', fps: 15 },
  { name: 'liveportrait_d0', file: 'video/fakecam/liveportrait_d0_512x512_25fps.mjpeg', fps: 25 },
  { name: 'liveportrait_d9', file: 'video/fakecam/liveportrait_d9_512x480_30fps.mjpeg', fps: 30 },
  { name: 'liveportrait_d11', file: 'video/fakecam/liveportrait_d11_512x512_25fps.mjpeg', fps: 25 },
];

type Cached = { eye: number; yaw: number; pitch: number; smile: number; thumb: string; passive: number | null; shape: number[]; inFrame: boolean; box: Box } | null;
type Sources = Array<{ name: string; frames: Buffer[] }>;

/** Every frame sequence of the table: the videos, and the attacks built from them and from photos. */
async function buildSources(engine: FaceEngine): Promise<Sources> {
  const sources: Sources = VIDEOS.map((v) => ({ name: v.name, frames: readMjpegFrames(path.join(testDataDir(), v.file)) }));
  // A still photo re-captured: one frame re-encoded at varying JPEG quality and brightness (near-identical, not identical).
  const still = sources[0].frames[0];
  const reencoded: Buffer[] = [];
  for (let i = 0; i < 20; i++) {
    reencoded.push(await sharp(still).modulate({ brightness: 1 + ((i % 5) - 2) * 0.01 }).jpeg({ quality: 70 + (i % 4) * 8 }).toBuffer());
  }
  sources.push({ name: 'talking_blink_frame0_reencoded', frames: reencoded });
  // The phone-screen replay of person A (stills extracted from the replay video, 0.6 s apart).
  const spoofDir = path.join(testDataDir(), 'antispoof/frames');
  const spoof = fs.readdirSync(spoofDir).filter((f) => f.startsWith('personA_spoof_')).sort();
  sources.push({ name: 'personA_spoof_replay_stills', frames: spoof.map((f) => fs.readFileSync(path.join(spoofDir, f))) });
  // Attacks from still photos (scripts/lib/attacks.ts): stretch/squash "blinks" of several strengths on
  // two photos, and a moving crop.
  for (const photo of ATTACK_PHOTOS) {
    const bytes = fs.readFileSync(path.join(testDataDir(), photo.file));
    for (const factor of STRETCH_FACTORS) sources.push({ name: `${photo.name}_stretch_${factor}`, frames: await stretchBlink(bytes, factor, 36) });
    sources.push({ name: `${photo.name}_panzoom`, frames: await panZoom(bytes, 30) });
    // Faking a head turn with the flat photo: turned about its vertical axis with perspective (a normal
    // and a wide-angle lens), rotated in the image plane (which can push the face across the border),
    // and a card swept over half the face (the mesh then guesses a turned head).
    sources.push({ name: `${photo.name}_turn60`, frames: await perspectiveTurn(bytes, 60, 25, 0.8) });
    sources.push({ name: `${photo.name}_turn70wide`, frames: await perspectiveTurn(bytes, 70, 25, 0.4) });
    sources.push({ name: `${photo.name}_roll30`, frames: await rollStill(bytes, 30, 25) });
    const box = (await engine.analyze(bytes, { multiple: 'largest', embed: false })).faces[0].box;
    sources.push({ name: `${photo.name}_occlude`, frames: await occludeSweep(bytes, box, 25) });
  }
  return sources;
}

async function signals(refresh: boolean, engine: FaceEngine, sources: Sources): Promise<Record<string, Cached[]>> {
  const tracking = process.argv.includes('--tracking');
  const cacheFile = path.resolve(import.meta.dirname, `../.tmp/liveness-signals-v3${tracking ? '-tracking' : ''}.json`);
  if (!refresh && fs.existsSync(cacheFile)) return JSON.parse(fs.readFileSync(cacheFile, 'utf8'));
  const out: Record<string, Cached[]> = {};
  {
    for (const v of sources) {
      const frames = v.frames;
      out[v.name] = [];
      const track = new StreamTrack();
      for (const f of frames) {
        try {
          const analyze = () => engine.analyze(f, { multiple: 'largest', embed: false, refineEyes: true, passive: true }); // as session frames with liveness
          const r = tracking ? await withStreamTrack(track, analyze) : await analyze();
          const face = r.faces[0];
          out[v.name].push({
            eye: face.signals.eyeOpenness,
            yaw: face.pose.yaw,
            pitch: face.pose.pitch,
            smile: face.signals.smile,
            thumb: Buffer.from(face.signals.faceThumb).toString('base64'),
            passive: face.signals.passiveLiveScore,
            shape: Array.from(face.signals.shape, (v) => Math.round(v * 100) / 100),
            inFrame: face.signals.faceInFrame,
            box: face.box,
          });
        } catch {
          out[v.name].push(null); // no face in this frame
        }
      }
    }
  }
  fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
  fs.writeFileSync(cacheFile, JSON.stringify(out));
  return out;
}

interface Scenario {
  name: string;
  video: string;
  challenges: Challenge[];
  /** Frame indexes to send, in order. */
  pick: (n: number) => number[];
  /** Sent frames per second (timestamps). */
  fps: number;
  expect: 'pass' | 'fail';
}

const every = (step: number) => (n: number) => Array.from({ length: Math.ceil(n / step) }, (_, i) => i * step);
const repeat = (index: number, times: number) => () => Array.from({ length: times }, () => index);

const ATTACK_PHOTOS = [
  { name: 'obama_720p', file: 'quality/obama_720p.jpg' },
  { name: 'biden_01', file: 'faces_extra/face_recognition/biden/biden_01.jpg' },
];
const STRETCH_FACTORS = [1.15, 1.25, 1.4, 0.75];
const ATTACK_SETS: Challenge[][] = [['blink'], ['blink', 'head_movement'], ['head_movement'], ['turn_left', 'turn_right']];
const TURN_ATTACKS = ['turn60', 'turn70wide', 'roll30', 'occlude'] as const;
const TURN_ATTACK_NAMES: Record<(typeof TURN_ATTACKS)[number], string> = {
  turn60: 'photo turned ±60° with perspective',
  turn70wide: 'photo turned ±70°, wide-angle lens',
  roll30: 'photo rolled ±30° (face crosses the border)',
  occlude: 'card swept over half the face',
};

const SCENARIOS: Scenario[] = [
  { name: 'talking_blink, all frames', video: 'talking_blink', challenges: ['blink'], pick: every(1), fps: 25, expect: 'pass' },
  { name: 'talking_blink, every 2nd frame (12.5 fps)', video: 'talking_blink', challenges: ['blink'], pick: every(2), fps: 12.5, expect: 'pass' },
  { name: 'talking_blink, every 3rd frame (8.3 fps)', video: 'talking_blink', challenges: ['blink'], pick: every(3), fps: 25 / 3, expect: 'pass' },
  { name: 'talking_blink, head_movement challenge', video: 'talking_blink', challenges: ['head_movement'], pick: every(1), fps: 25, expect: 'fail' },
  { name: 'personA_live_headturn, all frames', video: 'personA_live_headturn', challenges: ['head_movement'], pick: every(1), fps: 15, expect: 'pass' },
  { name: 'personA_live_headturn, every 2nd frame (7.5 fps)', video: 'personA_live_headturn', challenges: ['head_movement'], pick: every(2), fps: 7.5, expect: 'pass' },
  { name: 'personA_live_headturn, turn_right then turn_left (the order it performs)', video: 'personA_live_headturn', challenges: ['turn_right', 'turn_left'], pick: every(1), fps: 15, expect: 'pass' },
  { name: 'personA_live_headturn replayed against turn_left then turn_right (out of order)', video: 'personA_live_headturn', challenges: ['turn_left', 'turn_right'], pick: every(1), fps: 15, expect: 'fail' },
  { name: 'personA_live_headturn replayed backwards against turn_right then turn_left', video: 'personA_live_headturn', challenges: ['turn_right', 'turn_left'], pick: (n) => Array.from({ length: n }, (_, i) => n - 1 - i), fps: 15, expect: 'fail' },
  { name: 'liveportrait_d9 (glasses), blink', video: 'liveportrait_d9', challenges: ['blink'], pick: every(1), fps: 30, expect: 'pass' },
  { name: 'liveportrait_d0, blink', video: 'liveportrait_d0', challenges: ['blink'], pick: every(1), fps: 25, expect: 'pass' },
  { name: 'talking_blink, blink + head_movement', video: 'talking_blink', challenges: ['blink', 'head_movement'], pick: every(1), fps: 25, expect: 'fail' },
  { name: 'talking_blink frame 0 repeated ×30', video: 'talking_blink', challenges: ['blink'], pick: repeat(0, 30), fps: 10, expect: 'fail' },
  { name: 'personA frame 0 repeated ×30', video: 'personA_live_headturn', challenges: ['head_movement'], pick: repeat(0, 30), fps: 10, expect: 'fail' },
  { name: 'talking_blink frame 0 re-encoded ×20 (JPEG q70–94, ±2 % brightness)', video: 'talking_blink_frame0_reencoded', challenges: ['blink'], pick: every(1), fps: 10, expect: 'fail' },
  { name: 'personA phone-screen replay, 8 stills 0.6 s apart', video: 'personA_spoof_replay_stills', challenges: ['head_movement'], pick: every(1), fps: 1 / 0.6, expect: 'fail' },
  { name: 'personA frame 60 repeated ×30', video: 'personA_live_headturn', challenges: ['blink', 'head_movement'], pick: repeat(60, 30), fps: 10, expect: 'fail' },
  // Attacks from one photo, 80 ms between frames (12.5 frames/s), against each challenge set.
  ...ATTACK_PHOTOS.flatMap((p) =>
    ATTACK_SETS.flatMap((challenges) => [
      ...STRETCH_FACTORS.map((f): Scenario => ({ name: `${p.name}: ${f > 1 ? 'stretch' : 'squash'} ×${f} "blink" with jitter`, video: `${p.name}_stretch_${f}`, challenges, pick: every(1), fps: 12.5, expect: 'fail' })),
      { name: `${p.name}: moving crop (zoom and pan) with jitter`, video: `${p.name}_panzoom`, challenges, pick: every(1), fps: 12.5, expect: 'fail' } as Scenario,
      ...TURN_ATTACKS.map((a): Scenario => ({ name: `${p.name}: ${TURN_ATTACK_NAMES[a]}, with jitter`, video: `${p.name}_${a}`, challenges, pick: every(1), fps: 12.5, expect: 'fail' })),
    ]),
  ),
];

export interface ScenarioOutcome {
  scenario: string;
  challenges: string;
  frames_sent: number;
  passed: boolean;
  expected: 'pass' | 'fail';
  ok: boolean;
  score: number;
  blink_detected: boolean;
  head_movement: number;
  static_detection: boolean;
  passive_score: number | null;
  spoof_detected: boolean;
  completed: string;
  failure: string | null;
  frames_to_decision: number;
}

/**
 * The texture flatness of frame `cur` against frame `ref` of a sequence (planarity.ts), as the engine
 * measures it for a session frame: the same image region, the reference frame's face region.
 */
const decoded = new Map<Buffer, Promise<RgbImage>>();
async function flatBetween(frames: Buffer[], data: Cached[], ref: number, cur: number) {
  const img = (b: Buffer) => {
    let p = decoded.get(b);
    if (!p) decoded.set(b, (p = decodeImage(b, DEFAULT_LIMITS)));
    return p;
  };
  const region = faceRegion(data[ref]!.box);
  return flatness(regionCrop(await img(frames[ref]), region), regionCrop(await img(frames[cur]), region));
}

async function run(s: Scenario, data: Record<string, Cached[]>, sources: Sources): Promise<ScenarioOutcome> {
  const frames = data[s.video];
  const bytes = sources.find((v) => v.name === s.video)!.frames;
  // A fixed order: challenges as listed (the server shuffles; the table should be reproducible).
  let state = newLiveness(s.challenges, 10_000, 0, () => 0.999);
  let prev: Uint8Array | null = null;
  let sent = 0;
  const applied: number[] = [];
  for (const [k, i] of s.pick(frames.length).entries()) {
    const c = frames[i];
    if (!c) continue;
    const thumb = new Uint8Array(Buffer.from(c.thumb, 'base64'));
    // The engine measures flatness on every liveness frame; only a turned frame's is ever used.
    const refIndex = state.refFrame !== undefined ? applied[state.refFrame - 1] : undefined;
    const turned = state.first && Math.abs(c.yaw - state.first.yaw) >= LIVENESS_TUNING.TURN_DEG;
    const flat = turned && refIndex !== undefined ? await flatBetween(bytes, frames, refIndex, i) : null;
    const frame: LivenessFrame = { at: (k * 1000) / s.fps, eye: c.eye, yaw: c.yaw, pitch: c.pitch, smile: c.smile, thumb, passive: c.passive, shape: c.shape, inFrame: c.inFrame, flat };
    state = applyLivenessFrame(state, frame, prev);
    applied.push(i);
    prev = thumb;
    sent++;
    if (state.failure || state.index >= state.order.length) break;
  }
  const r = livenessResult(state, 0.7);
  return {
    scenario: s.name,
    challenges: s.challenges.join('+'),
    frames_sent: s.pick(frames.length).length,
    passed: r.passed,
    expected: s.expect,
    ok: r.passed === (s.expect === 'pass'),
    score: r.score,
    blink_detected: r.checks.blink_detected,
    head_movement: r.checks.head_movement,
    static_detection: r.checks.static_detection,
    passive_score: r.checks.passive_score,
    spoof_detected: r.checks.spoof_detected,
    completed: r.challenges_completed.join('+') || '-',
    failure: state.failure ?? (state.index < state.order.length ? 'NOT_COMPLETED' : null),
    frames_to_decision: sent,
  };
}

function describe(data: Record<string, Cached[]>): void {
  for (const [name, frames] of Object.entries(data)) {
    const ok = frames.filter((f): f is NonNullable<Cached> => f !== null);
    const eyes = ok.map((f) => f.eye);
    const yaws = ok.map((f) => f.yaw);
    const diffs: number[] = [];
    for (let i = 1; i < ok.length; i++) diffs.push(thumbDiff(Buffer.from(ok[i - 1].thumb, 'base64'), Buffer.from(ok[i].thumb, 'base64')));
    diffs.sort((a, b) => a - b);
    const q = (a: number[], p: number) => a[Math.floor((a.length - 1) * p)];
    console.log(
      `${name}: ${frames.length} frames, ${frames.length - ok.length} without a face; EAR ${Math.min(...eyes).toFixed(3)}..${Math.max(...eyes).toFixed(3)}; ` +
        `yaw ${Math.min(...yaws).toFixed(1)}..${Math.max(...yaws).toFixed(1)}°; thumbnail change p5 ${q(diffs, 0.05).toFixed(2)} median ${q(diffs, 0.5).toFixed(2)}; ` +
        `passive ${passiveRange(ok.map((f) => f.passive))}`,
    );
  }
}

/** The nose-parallax ratio −along / sin Δyaw over every pair of a clip's frames ≥ 8° apart (PARALLAX_K). */
async function parallaxStats(data: Record<string, Cached[]>, sources: Sources): Promise<void> {
  for (const v of VIDEOS) {
    const ok = (data[v.name] ?? []).filter((f): f is NonNullable<Cached> => f !== null && f.inFrame);
    const ratios: number[] = [];
    const still: number[] = [];
    for (let i = 0; i < ok.length; i++) {
      for (let j = i + 1; j < ok.length; j++) {
        const dyaw = ok[j].yaw - ok[i].yaw;
        const p = noseParallax(ok[i].shape, ok[j].shape);
        if (!p) continue;
        if (Math.abs(dyaw) >= 8) ratios.push(-p.along / Math.sin((dyaw * Math.PI) / 180));
        else if (Math.abs(dyaw) < 2) still.push(Math.abs(p.along));
      }
    }
    ratios.sort((a, b) => a - b);
    still.sort((a, b) => a - b);
    const q = (a: number[], p: number) => (a.length ? a[Math.floor((a.length - 1) * p)].toFixed(3) : '-');
    console.log(
      `${v.name}: ${ratios.length} pairs ≥ 8° apart: ratio p1 ${q(ratios, 0.01)} p5 ${q(ratios, 0.05)} median ${q(ratios, 0.5)}, wrong sign ${ratios.filter((r) => r < 0).length}; ` +
        `|parallax| of pairs < 2° apart: median ${q(still, 0.5)} p99 ${q(still, 0.99)}`,
    );
  }
  for (const [name, frames] of Object.entries(data)) {
    if (!TURN_ATTACKS.some((a) => name.endsWith(`_${a}`))) continue;
    const ok = frames.filter((f): f is NonNullable<Cached> => f !== null);
    if (!ok.length) continue;
    let maxYaw = 0, maxAlong = 0, maxYawInFrame = 0;
    for (const f of ok) {
      const dyaw = Math.abs(f.yaw - ok[0].yaw);
      maxYaw = Math.max(maxYaw, dyaw);
      if (f.inFrame) maxYawInFrame = Math.max(maxYawInFrame, dyaw);
      maxAlong = Math.max(maxAlong, Math.abs(noseParallax(ok[0].shape, f.shape)?.along ?? 0));
    }
    console.log(`${name}: ${frames.length - ok.length} frames without a face; max |Δyaw| ${maxYaw.toFixed(1)}° (whole face in the picture: ${maxYawInFrame.toFixed(1)}°), max |parallax| ${maxAlong.toFixed(3)}`);
  }
  // Texture flatness (planarity.ts) of turned frames: each frame ≥ 19° of yaw from a reference (for the
  // videos, every 10th near-frontal frame within the 60 frames before; for the attacks, the first frame),
  // whole face in the picture.
  const fmt = (xs: number[]) => {
    if (!xs.length) return 'no turned frames';
    const v = [...xs].sort((a, b) => a - b);
    const q = (p: number) => v[Math.floor((v.length - 1) * p)].toFixed(2);
    return `${xs.length} pairs, share on one homography min ${q(0)} median ${q(0.5)} p95 ${q(0.95)} max ${q(1)}`;
  };
  for (const v of sources) {
    const d = data[v.name];
    const isAttack = TURN_ATTACKS.some((a) => v.name.endsWith(`_${a}`));
    if (!d || (!isAttack && !VIDEOS.some((x) => x.name === v.name))) continue;
    const shares: number[] = [];
    let evidence = 0;
    const refs = isAttack ? [0] : d.map((_, i) => i).filter((i) => i % 10 === 0);
    for (const r of refs) {
      if (!d[r]?.inFrame) continue;
      for (let j = r + 1; j < (isAttack ? d.length : Math.min(d.length, r + 60)); j++) {
        const c = d[j];
        if (!c?.inFrame || Math.abs(c.yaw - d[r]!.yaw) < 19) continue;
        const f = await flatBetween(v.frames, d, r, j);
        if (f.matches >= LIVENESS_TUNING.FLAT_MIN_MATCHES) (evidence++, shares.push(f.inliers));
      }
    }
    if (isAttack || shares.length) console.log(`${v.name} flatness: ${fmt(shares)} (with ≥ ${LIVENESS_TUNING.FLAT_MIN_MATCHES} matches: ${evidence})`);
  }
}

const args = process.argv.slice(2);
const engine = await createFaceEngine({ workers: 1, queueSize: 256 });
const sources = await buildSources(engine);
const data = await signals(args.includes('--refresh'), engine, sources);
await engine.close();
if (args.includes('--parallax')) {
  await parallaxStats(data, sources);
  console.log('');
}
const rows: ScenarioOutcome[] = [];
for (const sc of SCENARIOS) rows.push(await run(sc, data, sources));
if (args.includes('--json')) console.log(JSON.stringify(rows));
else {
  describe(data);
  console.log('');
  console.log('| scenario | challenges | frames | expected | result | score | blink | head_movement | static | passive (median) | spoof | completed | failure | ok |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.scenario} | ${r.challenges} | ${r.frames_to_decision}/${r.frames_sent} | ${r.expected} | ${r.passed ? 'pass' : 'fail'} | ${r.score} | ${r.blink_detected} | ${r.head_movement} | ${r.static_detection} | ${r.passive_score ?? '-'} | ${r.spoof_detected} | ${r.completed} | ${r.failure ?? '-'} | ${r.ok ? '✓' : '✗'} |`,
    );
  }
}
process.exitCode = rows.every((r) => r.ok) ? 0 : 1;

function passiveRange(xs: Array<number | null>): string {
  const v = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (!v.length) return 'n/a';
  const q = (p: number) => v[Math.floor((v.length - 1) * p)].toFixed(3);
  return `min ${q(0)} p10 ${q(0.1)} median ${q(0.5)}`;
}
