/**
 * 1:N search benchmark (issue 4 item 15): identification latency over synthetic galleries and the
 * start-up cost of loading encrypted templates.
 *
 *   node scripts/bench-search.ts            10k and 100k (≈ 2 min on 2 cores)
 *   node scripts/bench-search.ts --1m       also 1M (graph build ≈ 10 min on 2 cores)
 *   node scripts/bench-search.ts --json     machine-readable result on the last line
 *
 * Galleries: L2-normalised 512-d templates, three per identity, identity centres in a rank-96
 * subspace (impostor cosine σ ≈ 0.1, like real face embeddings; see src/search/synthetic.ts).
 * Probes: fresh noisy samples of random enrolled identities. k = 5 users, no score floor.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { TemplateCipher, templateAad } from '../src/crypto/template-cipher.ts';
import { clustersInPrefix, mulberry32, probeNear, syntheticTemplates, type SyntheticSet } from '../src/search/synthetic.ts';
import { DEFAULT_ANN_THRESHOLD, TenantIndex } from '../src/search/tenant-index.ts';
import { UsearchIndex } from '../src/search/usearch-index.ts';

const DIM = 512;
const K = 5;

function label(n: number): string {
  return n >= 1_000_000 ? `${n / 1_000_000}m` : `${n / 1000}k`;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function rows(set: SyntheticSet, n: number) {
  return (function* () {
    for (let i = 0; i < n; i++) {
      yield { templateId: `t${i}`, userId: `u${set.cluster[i]}`, vec: set.data.subarray(i * DIM, (i + 1) * DIM) };
    }
  })();
}

function probes(set: SyntheticSet, n: number, count: number, seed: number): Float32Array[] {
  const rand = mulberry32(seed);
  const clusters = clustersInPrefix(set, n);
  return Array.from({ length: count }, () => probeNear(set, Math.floor(rand() * clusters), rand));
}

function latencies(index: TenantIndex, qs: Float32Array[]): { p50: number; p99: number } {
  for (const q of qs.slice(0, 20)) index.search(q, K); // warm up the JIT
  const times: number[] = [];
  for (const q of qs) {
    const t = performance.now();
    index.search(q, K);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
}

function recallAt1(index: TenantIndex, exact: TenantIndex, qs: Float32Array[]): number {
  let hits = 0;
  for (const q of qs) if (index.search(q, 1)[0]?.userId === exact.search(q, 1)[0]?.userId) hits++;
  return hits / qs.length;
}

async function gallery(set: SyntheticSet, n: number, annThreshold = DEFAULT_ANN_THRESHOLD): Promise<{ index: TenantIndex; loadMs: number; readyMs: number }> {
  const index = new TenantIndex(null, { annThreshold, onError: (e) => console.error(e) });
  const t = performance.now();
  await index.load(rows(set, n));
  const loadMs = performance.now() - t;
  await index.ready();
  return { index, loadMs, readyMs: performance.now() - t };
}

/**
 * Start-up: decrypt `n` AES-GCM template blobs and load them into a TenantIndex (searchable on the
 * exact path), then wait for the background graph build unless `waitForGraph` is false.
 */
export async function loadEncrypted(set: SyntheticSet, n: number, waitForGraph = true): Promise<{ searchableMs: number; readyMs: number; decryptMs: number }> {
  const cipher = new TemplateCipher(randomBytes(32));
  const client = randomUUID();
  const model = 'bench-model';
  const blobs = Array.from({ length: n }, (_, i) => cipher.encrypt(set.data.subarray(i * DIM, (i + 1) * DIM), templateAad(client, `u${set.cluster[i]}`, `t${i}`, model)));
  let decryptMs = 0;
  const t = performance.now();
  const index = new TenantIndex(null);
  await index.load(
    (function* () {
      for (let i = 0; i < n; i++) {
        const d = performance.now();
        const vec = cipher.decrypt(blobs[i], templateAad(client, `u${set.cluster[i]}`, `t${i}`, model));
        decryptMs += performance.now() - d;
        yield { templateId: `t${i}`, userId: `u${set.cluster[i]}`, vec };
      }
    })(),
  );
  const searchableMs = performance.now() - t;
  if (waitForGraph) await index.ready();
  else index.clear();
  return { searchableMs, readyMs: performance.now() - t, decryptMs };
}

/**
 * Runs the benchmark over the given gallery sizes (e.g. [10_000, 100_000, 1_000_000]) and returns
 * flat metrics: search_<size>_ms (p99) and _p50, exact_100k_ms, recall_at_1_<size>, build_<size>_s,
 * load_100k_ms. Logs progress to stderr.
 */
export async function runSearchBench(sizes: number[]): Promise<Record<string, number>> {
  const log = (msg: string) => process.stderr.write(`[bench-search] ${msg}\n`);
  const out: Record<string, number> = {};
  const max = Math.max(...sizes, 100_000);
  const probe = new TenantIndex(null);
  log(
    `production index: exact (usearch SIMD kernel) below ${DEFAULT_ANN_THRESHOLD} templates, above it a usearch HNSW graph ` +
      `(${JSON.stringify({ ...new UsearchIndex(DIM, probe.options.usearch).options, threads: undefined })}) proposing ` +
      `${probe.options.candidates} candidates re-scored in f32; no serialized graph (it would store plaintext vectors)`,
  );
  let t = performance.now();
  const set = syntheticTemplates(max, DIM, { seed: 7 });
  log(`generated ${max} synthetic ${DIM}-d templates in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  for (const n of [...sizes].sort((a, b) => a - b)) {
    const name = label(n);
    const { index, loadMs, readyMs } = await gallery(set, n);
    const qs = probes(set, n, n >= 1_000_000 ? 500 : 1000, n);
    const { p50, p99 } = latencies(index, qs);
    out[`search_${name}_ms`] = round(p99);
    out[`search_${name}_ms_p50`] = round(p50);
    out[`build_${name}_s`] = round(readyMs / 1000, 2);
    log(`${name}: mode ${index.mode}, load ${loadMs.toFixed(0)} ms, graph ready after ${(readyMs / 1000).toFixed(1)} s, search p50 ${p50.toFixed(3)} ms p99 ${p99.toFixed(3)} ms`);
    if (index.mode === 'hnsw') {
      const { index: exact } = await gallery(set, n, Infinity);
      const sample = qs.slice(0, n >= 1_000_000 ? 200 : 500);
      const recall = recallAt1(index, exact, sample);
      out[`recall_at_1_${name}`] = round(recall, 4);
      const ex = latencies(exact, qs.slice(0, n >= 1_000_000 ? 50 : 200));
      out[`exact_${name}_ms`] = round(ex.p99);
      out[`exact_${name}_ms_p50`] = round(ex.p50);
      log(`${name}: recall@1 (users) ${recall.toFixed(4)} on ${sample.length} probes; exact search p50 ${ex.p50.toFixed(2)} ms p99 ${ex.p99.toFixed(2)} ms`);
      exact.clear();
    }
    index.clear();
  }

  t = performance.now();
  const start = await loadEncrypted(set, 100_000);
  out.load_100k_ms = round(start.searchableMs, 0);
  out.load_100k_ready_ms = round(start.readyMs, 0);
  out.decrypt_100k_ms = round(start.decryptMs, 0);
  log(`start-up 100k: decrypt ${start.decryptMs.toFixed(0)} ms, searchable (exact) after ${start.searchableMs.toFixed(0)} ms, graph ready after ${start.readyMs.toFixed(0)} ms`);
  out.rss_mb = round(process.memoryUsage().rss / 2 ** 20, 0);
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const sizes = [10_000, 100_000, ...(args.includes('--1m') ? [1_000_000] : [])];
  const result = await runSearchBench(sizes);
  if (args.includes('--json')) console.log(JSON.stringify(result));
  else for (const [k, v] of Object.entries(result)) console.log(`${k.padEnd(24)} ${v}`);
}
