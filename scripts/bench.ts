/**
 * Speed benchmark of the face engine on this machine.
 *
 *   npm run bench [-- --json] [--frames N] [--workers N] [--brute-search] [--detector ultraface-mesh|human]
 *
 * Per-stage latency p50/p95 of one 640×480 JPEG with one worker (decode, detect+mesh, align+embed,
 * quality, total), frames/s with 1…N workers, peak memory, exact 1:N search latency over synthetic
 * embeddings, and face-api's full pipeline on the same image for comparison. With --json the last line
 * is one JSON object.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { testDataDir } from '../src/config/env.ts';
import { decodeImage } from '../src/vision/decode/decode.ts';
import { createFaceapiPipeline } from '../src/vision/embedder/dlib-faceapi/faceapi-pipeline.ts';
import { createFaceEngine } from '../src/vision/index.ts';
import type { AnalyzeResult } from '../src/vision/types.ts';

const argv = process.argv.slice(2);
if (argv.includes('--streams')) {
  // Concurrent camera streams over the real WebSocket endpoint: scripts/stream-bench.ts.
  await import('./stream-bench.ts');
  process.exit(0);
}
const opt = (name: string, def: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
const json = argv.includes('--json');
const detectorArg = argv[argv.indexOf('--detector') + 1];
const detector = argv.includes('--detector') && detectorArg === 'human' ? 'human' : 'ultraface-mesh';
const cores = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
const maxWorkers = opt('workers', cores);
const FRAMES = opt('frames', 40);

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
};
const r1 = (x: number) => Math.round(x * 10) / 10;

/** A 640×480 JPEG of a real face (obama_480p cropped to 4:3). */
async function testFrame(): Promise<Buffer> {
  const src = path.join(testDataDir(), 'quality/obama_480p.jpg');
  return sharp(readFileSync(src)).resize(640, 480, { fit: 'cover' }).jpeg({ quality: 90 }).toBuffer();
}

async function stageLatency(frame: Buffer) {
  const engine = await createFaceEngine({ workers: 1, queueSize: 8, detector });
  try {
    for (let i = 0; i < 5; i++) await engine.analyze(frame, { multiple: 'largest', embed: true }); // warm-up
    const runs: AnalyzeResult['timings'][] = [];
    const roundTrip: number[] = [];
    for (let i = 0; i < FRAMES; i++) {
      const t = performance.now();
      const r = await engine.analyze(frame, { multiple: 'largest', embed: true });
      roundTrip.push(performance.now() - t);
      runs.push(r.timings);
    }
    const stage = (k: keyof AnalyzeResult['timings']) => ({ p50: quantile(runs.map((r) => r[k]), 0.5), p95: quantile(runs.map((r) => r[k]), 0.95) });
    // A liveness frame (session frames of a liveness check): the same plus the iris re-fit of the eye
    // contours and the passive anti-spoof score.
    const liveness: number[] = [];
    const live = { multiple: 'largest', embed: true, refineEyes: true, passive: true } as const;
    for (let i = 0; i < 3; i++) await engine.analyze(frame, live);
    for (let i = 0; i < FRAMES; i++) liveness.push((await engine.analyze(frame, live)).timings.totalMs);
    return {
      decode: stage('decodeMs'),
      detect: stage('detectMs'),
      embed: stage('embedMs'),
      quality: stage('qualityMs'),
      total: stage('totalMs'),
      roundTrip: { p50: quantile(roundTrip, 0.5), p95: quantile(roundTrip, 0.95) },
      'liveness frame (+ iris, passive)': { p50: quantile(liveness, 0.5), p95: quantile(liveness, 0.95) },
    };
  } finally {
    await engine.close();
  }
}

async function throughput(frame: Buffer, workers: number): Promise<number> {
  const engine = await createFaceEngine({ workers, queueSize: 1000, detector });
  try {
    await Promise.all(Array.from({ length: workers * 3 }, () => engine.analyze(frame, { multiple: 'largest', embed: true })));
    const n = FRAMES * workers;
    const t = performance.now();
    await Promise.all(Array.from({ length: n }, () => engine.analyze(frame, { multiple: 'largest', embed: true })));
    return n / ((performance.now() - t) / 1000);
  } finally {
    await engine.close();
  }
}

async function faceapiLatency(frame: Buffer): Promise<{ p50: number; p95: number; found: boolean }> {
  const run = await createFaceapiPipeline();
  const ms: number[] = [];
  let found = false;
  for (let i = 0; i < 3 + Math.min(FRAMES, 20); i++) {
    const t = performance.now();
    const img = await decodeImage(frame); // same decode as ours, so the comparison is end-to-end
    found = (await run(img)) !== null;
    if (i >= 3) ms.push(performance.now() - t);
  }
  return { p50: quantile(ms, 0.5), p95: quantile(ms, 0.95), found };
}

/** Exact 1:N search over normalised random vectors (used when scripts/bench-search.ts is absent). */
function bruteForceSearch(sizes: number[], dims = 512): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of sizes) {
    const data = new Float32Array(n * dims);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let d = 0; d < dims; d++) { const v = Math.random() - 0.5; data[i * dims + d] = v; s += v * v; }
      const k = 1 / Math.sqrt(s);
      for (let d = 0; d < dims; d++) data[i * dims + d] *= k;
    }
    const q = data.slice(0, dims);
    const times: number[] = [];
    for (let r = 0; r < 7; r++) {
      const t = performance.now();
      let best = -2, bestI = -1;
      for (let i = 0; i < n; i++) {
        let s = 0;
        const o = i * dims;
        for (let d = 0; d < dims; d++) s += data[o + d] * q[d];
        if (s > best) { best = s; bestI = i; }
      }
      if (bestI < 0) throw new Error('unreachable');
      times.push(performance.now() - t);
    }
    out[`search_${n >= 1000 ? `${n / 1000}k` : n}_ms`] = r1(quantile(times, 0.5));
  }
  return out;
}

async function searchBench(): Promise<Record<string, number>> {
  const file = path.join(import.meta.dirname, 'bench-search.ts');
  // --brute-search: skip the index benchmark (minutes for its 100k graph) and time a plain scan.
  if (existsSync(file) && !argv.includes('--brute-search')) {
    try {
      const mod = (await import('./bench-search.ts' as string)) as { runSearchBench?: (sizes: number[]) => Promise<Record<string, number>> };
      if (mod.runSearchBench) return { ...(await mod.runSearchBench([10_000, 100_000])), search_source: 0 };
    } catch (e) {
      console.error(`bench-search.ts failed (${e instanceof Error ? e.message : String(e)}); using brute force`);
    }
  }
  return bruteForceSearch([10_000, 100_000]);
}

const frame = await testFrame();
console.log(`bench  ${os.cpus()[0]?.model ?? 'cpu'} × ${cores}, node ${process.version}, 640×480 JPEG (${frame.length} bytes), ${FRAMES} frames per run, detector ${detector}`);
// Other processes on the machine distort every number below: say how busy it was.
console.log(`load average at start: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);

const lat = await stageLatency(frame);
console.log('\nper-stage latency, one worker (ms)      p50     p95');
for (const [k, v] of Object.entries(lat)) console.log(`  ${k.padEnd(36)} ${v.p50.toFixed(1).padStart(6)}  ${v.p95.toFixed(1).padStart(6)}`);

const fps: number[] = [];
console.log('\nthroughput (detect + mesh + embed per frame)');
for (let w = 1; w <= maxWorkers; w++) {
  fps.push(await throughput(frame, w));
  console.log(`  ${w} worker${w > 1 ? 's' : ' '}                            ${fps[w - 1].toFixed(1)} frames/s`);
}

const fa = await faceapiLatency(frame);
console.log(`\nface-api full pipeline (SSD + 68 landmarks + dlib descriptor), main thread: p50 ${fa.p50.toFixed(1)} ms, p95 ${fa.p95.toFixed(1)} ms${fa.found ? '' : ' (no face found!)'}`);
console.log(`  ratio face-api / ours (p50): ${(fa.p50 / lat.total.p50).toFixed(2)}×`);

const search = await searchBench();
console.log('\nexact 1:N search (median ms)');
for (const [k, v] of Object.entries(search)) if (k !== 'search_source') console.log(`  ${k.padEnd(36)} ${v}`);

const rssMb = process.resourceUsage().maxRSS / 1024;
console.log(`\npeak RSS (main + worker threads): ${rssMb.toFixed(0)} MB`);

if (json) {
  const { search_source: _s, ...searchKeys } = search;
  console.log(
    JSON.stringify({
      // bench-search's own keys first, so that ours (rss_mb in particular) win on a name clash
      ...searchKeys,
      frame_ms_p50: r1(lat.total.p50),
      frame_ms_p95: r1(lat.total.p95),
      liveness_frame_ms_p50: r1(lat['liveness frame (+ iris, passive)'].p50),
      fps_all_workers: r1(fps[fps.length - 1]),
      workers: maxWorkers,
      rss_mb: Math.round(rssMb),
      faceapi_frame_ms_p50: r1(fa.p50),
      decode_ms_p50: r1(lat.decode.p50),
      detect_ms_p50: r1(lat.detect.p50),
      embed_ms_p50: r1(lat.embed.p50),
      quality_ms_p50: r1(lat.quality.p50),
      fps_by_workers: fps.map(r1),
      load_avg_1m: r1(os.loadavg()[0]),
    }),
  );
}
