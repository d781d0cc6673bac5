/**
 * Does batching help? Tracked stream frames through the worker pool with batching off (maxBatch 1) and
 * on (maxBatch 2 and 4), alternating in one run, on the five fakecam clips.
 *
 *   node scripts/batch-bench.ts [--streams S] [--frames F] [--rounds R] [--workers W]
 *
 * S simulated streams each send their next frame as soon as the previous one is answered (the pool's
 * queue stays full: the regime where a worker finds several stream frames waiting). Reports tracked
 * frames/s per setting and checks that every frame's box and embedding are the same bit for bit with
 * and without batching.
 */
import os from 'node:os';
import { StreamTrack } from '../src/vision/tracking/stream-track.ts';
import type { AnalyzeResult } from '../src/vision/types.ts';
import { WorkerPool } from '../src/workers/pool.ts';
import { FAKECAM_CLIPS, streamFrames } from './lib/fakecam.ts';

const argv = process.argv.slice(2);
const num = (name: string, def: number) => (argv.includes(`--${name}`) ? Number(argv[argv.indexOf(`--${name}`) + 1]) : def);
const STREAMS = num('streams', 8);
const FRAMES = num('frames', 40);
const ROUNDS = num('rounds', 3);
const WORKERS = num('workers', Math.max(1, os.availableParallelism()));
const clips = FAKECAM_CLIPS.map(streamFrames);

const fingerprint = (r: AnalyzeResult | null) => (r ? `${r.faces[0].box.x},${r.faces[0].box.y},${r.faces[0].box.width};${Buffer.from(r.faces[0].embedding!.buffer).toString('base64').slice(0, 64)}` : 'error');

async function run(pool: WorkerPool): Promise<{ fps: number; prints: string[][] }> {
  const t = performance.now();
  const prints = await Promise.all(
    Array.from({ length: STREAMS }, async (_, s) => {
      const clip = clips[s % clips.length];
      const offset = Math.floor(s / clips.length) * 7;
      const track = new StreamTrack();
      const out: string[] = [];
      for (let i = 0; i < FRAMES; i++) {
        const jpeg = clip[(offset + i) % clip.length];
        const r = await track.run((state) => pool.analyzeTracked(jpeg, { multiple: 'largest', embed: true }, state)).catch(() => null);
        out.push(fingerprint(r));
      }
      return out;
    }),
  );
  return { fps: (STREAMS * FRAMES) / ((performance.now() - t) / 1000), prints };
}

const settings = [1, 2, 4];
const pools = new Map<number, WorkerPool>();
for (const b of settings) pools.set(b, await WorkerPool.start({ workers: WORKERS, queueSize: 256, maxBatch: b }));
try {
  console.log(`batch-bench: ${WORKERS} workers per setting (pools take turns), ${STREAMS} closed-loop streams × ${FRAMES} tracked frames; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  for (const b of settings) await run(pools.get(b)!); // warm-up
  const fps = new Map<number, number[]>(settings.map((b) => [b, []]));
  let reference: string[][] | null = null;
  let same = true;
  for (let r = 0; r < ROUNDS; r++) {
    for (const b of r % 2 ? [...settings].reverse() : settings) {
      const { fps: f, prints } = await run(pools.get(b)!);
      fps.get(b)!.push(f);
      if (!reference) reference = prints;
      else if (JSON.stringify(prints) !== JSON.stringify(reference)) same = false;
    }
  }
  for (const b of settings) {
    const xs = fps.get(b)!;
    console.log(`maxBatch ${b}: ${xs.map((x) => x.toFixed(1)).join(', ')} tracked frames/s (mean ${(xs.reduce((a, x) => a + x, 0) / xs.length).toFixed(1)})`);
  }
  console.log(`boxes and embeddings identical with and without batching: ${same}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
} finally {
  for (const p of pools.values()) await p.close();
}
