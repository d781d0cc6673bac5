/**
 * Accuracy evaluation of the face engine end-to-end from raw photos.
 *
 *   npm run eval -- verify   --pairs FILE.csv  [--root DIR] [--json]   (columns a,b,same)
 *   npm run eval -- identify --list FILE.csv   [--root DIR] [--json]   (columns path,identity,role)
 *   npm run eval -- spoof    --labels FILE.csv [--root DIR] [--json]   (columns path,label,...)
 *   npm run eval -- calibrate --labels labels.csv --pairs pairs.csv [--root DIR]  (prints calibration.ts tables)
 *
 * Common options: --model ID (recogniser), --detector ultraface-mesh|human (default ultraface-mesh),
 * --workers N (default: one per core), --cache FILE (reuse embeddings between runs). Detection failures count as errors. With --json the last line printed is one
 * JSON object.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isAppError } from '../src/errors.ts';
import { createFaceEngine, DEFAULT_MODEL } from '../src/vision/index.ts';
import type { FaceEngine } from '../src/vision/types.ts';
import { readCsv } from '../src/vision/eval-csv.ts';
import * as M from '../src/vision/eval-metrics.ts';

interface Args {
  cmd: string;
  file: string;
  pairs?: string;
  root: string;
  json: boolean;
  model: string;
  detector: 'ultraface-mesh' | 'human';
  workers: number;
  cache?: string;
}

function parseArgs(argv: string[]): Args {
  const cmd = argv[0] ?? '';
  const opt = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const fileFlag = { verify: 'pairs', identify: 'list', spoof: 'labels', calibrate: 'labels' }[cmd];
  if (!fileFlag) usage(`unknown command "${cmd}"`);
  const file = opt(fileFlag);
  if (!file) usage(`${cmd} needs --${fileFlag} FILE.csv`);
  const cores = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  return {
    cmd,
    file: path.resolve(file),
    pairs: opt('pairs') && path.resolve(opt('pairs')!),
    root: path.resolve(opt('root') ?? path.dirname(path.resolve(file))),
    json: argv.includes('--json'),
    model: opt('model') ?? DEFAULT_MODEL,
    detector: opt('detector') === 'human' ? 'human' : 'ultraface-mesh',
    workers: Number(opt('workers') ?? cores),
    cache: opt('cache'),
  };
}

function usage(problem: string): never {
  console.error(`eval: ${problem}
usage: npm run eval -- verify --pairs FILE.csv [--root DIR] [--json]
       npm run eval -- identify --list FILE.csv [--root DIR] [--json]
       npm run eval -- spoof --labels FILE.csv [--root DIR] [--json]
       npm run eval -- calibrate --labels labels.csv --pairs pairs.csv [--root DIR]`);
  process.exit(2);
}

interface Embedded {
  embedding: Float32Array | null;
  passive: number | null;
  ms: number;
  error?: string;
}

/** Analyse every distinct image once, all workers busy, with a progress line on stderr. */
async function embedAll(engine: FaceEngine, files: string[], args: Args, passive = false): Promise<Map<string, Embedded>> {
  const out = new Map<string, Embedded>();
  const cacheKey = (f: string) => `${args.model}|${args.detector}|${passive ? 'p' : ''}|${f}`;
  const cache: Record<string, { e: number[] | null; p: number | null; ms: number; error?: string }> =
    args.cache && existsSync(args.cache) ? JSON.parse(readFileSync(args.cache, 'utf8')) : {};
  const todo = [...new Set(files)];
  let next = 0, done = 0;
  const worker = async () => {
    while (next < todo.length) {
      const f = todo[next++];
      const hit = cache[cacheKey(f)];
      if (hit) {
        out.set(f, { embedding: hit.e && Float32Array.from(hit.e), passive: hit.p, ms: hit.ms, error: hit.error });
      } else {
        try {
          const r = await engine.analyze(readFileSync(f), { multiple: 'largest', embed: !passive, model: args.model, passive });
          const face = r.faces[0];
          out.set(f, { embedding: face.embedding, passive: face.signals.passiveLiveScore, ms: r.timings.totalMs });
        } catch (e) {
          const error = isAppError(e) ? e.code : e instanceof Error ? e.message : String(e);
          out.set(f, { embedding: null, passive: null, ms: 0, error });
        }
        const v = out.get(f)!;
        cache[cacheKey(f)] = { e: v.embedding && Array.from(v.embedding), p: v.passive, ms: v.ms, error: v.error };
      }
      if (++done % 50 === 0 || done === todo.length) process.stderr.write(`\r  ${done}/${todo.length} images`);
    }
  };
  await Promise.all(Array.from({ length: args.workers + 1 }, worker));
  process.stderr.write('\n');
  if (args.cache) writeFileSync(args.cache, JSON.stringify(cache));
  return out;
}

function meanMs(m: Map<string, Embedded>): number {
  const ms = [...m.values()].filter((v) => v.ms > 0).map((v) => v.ms);
  return ms.reduce((a, b) => a + b, 0) / Math.max(1, ms.length);
}

function failures(m: Map<string, Embedded>): string[] {
  return [...m.entries()].filter(([, v]) => v.error).map(([f, v]) => `${path.basename(f)}: ${v.error}`);
}

const pct = (x: number) => `${(100 * x).toFixed(2)} %`;

async function verify(engine: FaceEngine, args: Args) {
  const rows = readCsv(args.file);
  const pairs = rows.map((r) => ({ a: path.resolve(args.root, r.a), b: path.resolve(args.root, r.b), same: r.same === '1' || r.same === 'true' }));
  const emb = await embedAll(engine, pairs.flatMap((p) => [p.a, p.b]), args);
  const scored = pairs.map((p) => {
    const ea = emb.get(p.a)!.embedding, eb = emb.get(p.b)!.embedding;
    const score = ea && eb ? engine.similarity(ea, eb) : -Infinity;
    return { score, same: p.same, failed: !(ea && eb) };
  });
  const r = M.verificationMetrics(scored);
  const fails = failures(emb);
  const result = {
    accuracy: r.accuracy,
    threshold: r.threshold,
    'tar_at_far_1e-2': r.tarAtFar(1e-2),
    'tar_at_far_1e-3': r.tarAtFar(1e-3),
    eer: r.eer,
    pairs: pairs.length,
    failures: scored.filter((s) => s.failed).length,
    ms_per_image: meanMs(emb),
  };
  console.log(`verify  ${path.relative(process.cwd(), args.file)}  model ${args.model}`);
  console.log(`  pairs                 ${pairs.length} (${pairs.filter((p) => p.same).length} same / ${pairs.filter((p) => !p.same).length} different)`);
  console.log(`  accuracy              ${pct(result.accuracy)} at cosine > ${result.threshold.toFixed(4)}`);
  console.log(`  TAR @ FAR 1 %         ${pct(result['tar_at_far_1e-2'])}`);
  console.log(`  TAR @ FAR 0.1 %       ${pct(result['tar_at_far_1e-3'])}`);
  console.log(`  EER                   ${pct(result.eer)}`);
  console.log(`  failed pairs          ${result.failures} (images without a face: ${fails.length}${fails.length ? `: ${fails.slice(0, 5).join(', ')}` : ''})`);
  console.log(`  ms per image          ${result.ms_per_image.toFixed(1)} (one worker thread, decode → embedding)`);
  return result;
}

async function identify(engine: FaceEngine, args: Args) {
  const rows = readCsv(args.file).map((r) => ({ path: path.resolve(args.root, r.path), identity: r.identity, role: r.role }));
  const emb = await embedAll(engine, rows.map((r) => r.path), args);
  const gallery = rows.filter((r) => r.role === 'enroll' && emb.get(r.path)!.embedding);
  const probes = rows.filter((r) => r.role === 'probe');
  const unknown = rows.filter((r) => r.role === 'probe_unknown');
  const search = (p: string) => {
    const e = emb.get(p)!.embedding;
    if (!e) return null;
    const best = new Map<string, number>();
    for (const g of gallery) {
      const s = engine.similarity(e, emb.get(g.path)!.embedding!);
      if (s > (best.get(g.identity) ?? -Infinity)) best.set(g.identity, s);
    }
    return [...best.entries()].sort((x, y) => y[1] - x[1])[0] ?? null;
  };
  const mated = probes.map((p) => ({ truth: p.identity, top: search(p.path) }));
  const nonMated = unknown.map((p) => search(p.path)?.[1] ?? -Infinity);
  const r = M.identificationMetrics(mated, nonMated, 1e-2);
  const result = {
    rank1: r.rank1,
    'fnir_at_fpir_1e-2': r.fnir,
    'threshold_at_fpir_1e-2': r.threshold,
    probes: probes.length,
    unknown_probes: unknown.length,
    failures: failures(emb).length,
  };
  console.log(`identify  ${path.relative(process.cwd(), args.file)}  model ${args.model}`);
  console.log(`  gallery               ${new Set(gallery.map((g) => g.identity)).size} identities (${gallery.length} images)`);
  console.log(`  probes                ${probes.length} enrolled, ${unknown.length} unknown`);
  console.log(`  rank-1 accuracy       ${pct(result.rank1)}`);
  console.log(`  FNIR @ FPIR 1 %       ${pct(result['fnir_at_fpir_1e-2'])} at cosine > ${result['threshold_at_fpir_1e-2'].toFixed(4)}`);
  console.log(`  failures              ${result.failures}${result.failures ? `: ${failures(emb).slice(0, 5).join(', ')}` : ''}`);
  console.log(`  ms per image          ${meanMs(emb).toFixed(1)}`);
  return result;
}

async function spoof(engine: FaceEngine, args: Args) {
  const rows = readCsv(args.file).map((r) => ({ path: path.resolve(args.root, r.path), live: r.label === 'live' }));
  const res = await embedAll(engine, rows.map((r) => r.path), args, true);
  // No face found: a live image is wrongly rejected (BPCER), a spoof is rightly rejected.
  const scored = rows.map((r) => ({ live: r.live, score: res.get(r.path)!.passive ?? -Infinity }));
  const r = M.spoofMetrics(scored);
  const result = { apcer: r.apcer, bpcer: r.bpcer, live: rows.filter((x) => x.live).length, spoof: rows.filter((x) => !x.live).length };
  console.log(`spoof  ${path.relative(process.cwd(), args.file)}  passive score = faceplugin fr_liveness (MiniFASNet-style), probability of "live"`);
  console.log(`  images                ${result.live} live, ${result.spoof} spoof (failures: ${failures(res).length})`);
  console.log(`  best threshold        live if score > ${r.threshold.toFixed(3)}  (minimises APCER + BPCER)`);
  console.log(`  APCER                 ${pct(result.apcer)}  (spoofs accepted as live)`);
  console.log(`  BPCER                 ${pct(result.bpcer)}  (live people rejected)`);
  console.log(`  live scores           ${scored.filter((s) => s.live).map((s) => s.score.toFixed(2)).join(' ')}`);
  console.log(`  spoof scores          ${scored.filter((s) => !s.live).map((s) => s.score.toFixed(2)).join(' ')}`);
  return result;
}

async function calibrate(engine: FaceEngine, args: Args) {
  if (!args.pairs) usage('calibrate needs --pairs FILE.csv too');
  const labels = readCsv(args.file).map((r) => ({ path: path.resolve(args.root, r.path), identity: r.identity }));
  const pairRows = readCsv(args.pairs).map((r) => ({ a: path.resolve(path.dirname(args.pairs!), r.a), b: path.resolve(path.dirname(args.pairs!), r.b), same: r.same === '1' }));
  const emb = await embedAll(engine, [...labels.map((l) => l.path), ...pairRows.flatMap((p) => [p.a, p.b])], args);
  const ok = labels.filter((l) => emb.get(l.path)!.embedding);
  const impostor: number[] = [], genuine: number[] = [];
  for (let i = 0; i < ok.length; i++) {
    const ei = emb.get(ok[i].path)!.embedding!;
    for (let j = i + 1; j < ok.length; j++) {
      const s = engine.similarity(ei, emb.get(ok[j].path)!.embedding!);
      (ok[i].identity === ok[j].identity ? genuine : impostor).push(s);
    }
  }
  const pairScores = pairRows.map((p) => {
    const a = emb.get(p.a)!.embedding, b = emb.get(p.b)!.embedding;
    return { score: a && b ? engine.similarity(a, b) : -Infinity, same: p.same, failed: !(a && b) };
  });
  const v = M.verificationMetrics(pairScores);
  const c = M.calibrationTables(impostor, v.threshold);
  console.log(`calibrate  model ${args.model}: ${ok.length} images, ${impostor.length} impostor and ${genuine.length} genuine comparisons`);
  console.log(`  best-accuracy threshold on pairs.csv: ${v.threshold.toFixed(4)} (accuracy ${pct(v.accuracy)})`);
  for (const [far, t] of c.farThresholds) console.log(`  FAR ${far.toExponential(0).padEnd(6)} cosine > ${t.toFixed(4)}   TAR (all genuine comparisons) ${pct(genuine.filter((g) => g > t).length / genuine.length)}`);
  console.log('\n  paste into src/vision/calibration.ts:');
  console.log(`  [${JSON.stringify(args.model)}]: {`);
  console.log(`    anchors: ${JSON.stringify(c.anchors)},`);
  console.log(`    verifyThreshold: ${v.threshold.toFixed(4)},`);
  console.log(`    impostorTail: ${JSON.stringify(c.tail)},`);
  console.log(`    source: '${ok.length} images / ${impostor.length} impostor comparisons of ../shared/data/labels.csv; threshold from pairs.csv (${pairRows.length} pairs)',`);
  console.log('  },');
  return { threshold: v.threshold, accuracy: v.accuracy, anchors: c.anchors, impostorTail: c.tail };
}

const args = parseArgs(process.argv.slice(2));
const engine = await createFaceEngine({ workers: args.workers, queueSize: 100_000, defaultModel: DEFAULT_MODEL, preloadModels: [args.model], detector: args.detector });
try {
  const run = { verify, identify, spoof, calibrate }[args.cmd as 'verify']!;
  const result = await run(engine, args);
  if (args.json) console.log(JSON.stringify(result));
} finally {
  await engine.close();
}
