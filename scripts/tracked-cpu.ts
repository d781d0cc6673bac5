/**
 * CPU per tracked stream frame in one thread (issue 11): the five fakecam clips played as streams through
 * the worker's own Analyzer.analyzeTracked (no pool, no server, nothing else competing), so two settings
 * of the tracking intervals compare on one machine without the noise of a load test.
 *
 *   node scripts/tracked-cpu.ts [--rounds R] [--detect-every N] [--embed-every N]
 *
 * Plays every clip R times (after one round of warm-up) and prints frames, wall and CPU ms per frame, and
 * a digest of every frame's box, pose, quality, eye openness, tracking record and first embedding values
 * (same digest = same results). `--detect-every` / `--embed-every` override TRACKING.DETECT_EVERY /
 * EMBED_EVERY for the run, e.g. the earlier 5 / 10 against the current 10 / 20, run alternately:
 *
 *   for i in 1 2 3; do node scripts/tracked-cpu.ts --detect-every 5 --embed-every 10; node scripts/tracked-cpu.ts; done
 */
import { createHash } from 'node:crypto';
import { Analyzer } from '../src/vision/analyzer.ts';
import { TRACKING, type TrackState } from '../src/vision/tracking/track-state.ts';
import { FAKECAM_CLIPS, streamFrames } from './lib/fakecam.ts';

const argv = process.argv.slice(2);
const num = (name: string) => (argv.includes(`--${name}`) ? Number(argv[argv.indexOf(`--${name}`) + 1]) : undefined);
const ROUNDS = num('rounds') ?? 3;
// TRACKING is a plain object (`as const` only types it): an override here is what every frame reads.
const tracking = TRACKING as { -readonly [K in keyof typeof TRACKING]: number };
tracking.DETECT_EVERY = num('detect-every') ?? TRACKING.DETECT_EVERY;
tracking.EMBED_EVERY = num('embed-every') ?? TRACKING.EMBED_EVERY;

const analyzer = await Analyzer.create({});
const clips = FAKECAM_CLIPS.map((f) => streamFrames(f).map((b) => Buffer.copyBytesFrom(b)));
const options = { multiple: 'largest', embed: true } as const;

/** One pass over every clip as a stream; the results' fingerprints when `record`. */
async function round(record: string[] | null): Promise<number> {
  let frames = 0;
  for (const jpegs of clips) {
    let prev: TrackState | null = null;
    for (const jpeg of jpegs) {
      try {
        const r = await analyzer.analyzeTracked(new Uint8Array(jpeg), options, prev);
        prev = r.track;
        frames++;
        const f = r.result.faces[0];
        record?.push(JSON.stringify([f.box, f.pose, f.quality.score, f.signals.eyeOpenness, r.result.tracking, Array.from(f.embedding!.slice(0, 4))]));
      } catch {
        prev = null; // no face: the next frame starts a track afresh, as a stream does
      }
    }
  }
  return frames;
}

const digest: string[] = [];
await round(digest);
const t0 = performance.now(), cpu0 = process.cpuUsage();
let frames = 0;
for (let i = 0; i < ROUNDS; i++) frames += await round(null);
const wall = performance.now() - t0, cpu = process.cpuUsage(cpu0);
console.log(
  JSON.stringify({
    detect_every: TRACKING.DETECT_EVERY,
    embed_every: TRACKING.EMBED_EVERY,
    frames,
    wall_ms_per_frame: Math.round((wall / frames) * 1000) / 1000,
    cpu_ms_per_frame: Math.round(((cpu.user + cpu.system) / 1000 / frames) * 1000) / 1000,
    digest: createHash('sha256').update(digest.join('\n')).digest('hex').slice(0, 16),
  }),
);
