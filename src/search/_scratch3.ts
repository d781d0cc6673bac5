import { ExactIndex } from './exact-index.ts';
import { UsearchIndex } from './usearch-index.ts';
import { syntheticTemplates, probeNear, mulberry32 } from './synthetic.ts';
const dim = 512; const N = Number(process.argv[2]); const rank = Number(process.argv[3]);
const set = syntheticTemplates(N, dim, { seed: 7, rank });
const ids = Array.from({ length: N }, (_, i) => `t${i}`);
const ex = new ExactIndex(dim, { initialCapacity: N });
for (let i = 0; i < N; i++) ex.add(ids[i], set.data.subarray(i * dim, (i + 1) * dim));
const rand = mulberry32(3);
const qs = Array.from({ length: 200 }, () => probeNear(set, Math.floor(rand() * set.centres.length / dim), rand));
const truth = qs.map((q) => ex.search(q, 1)[0].id);
const s2 = ex.search(qs[0], 5); console.log('top scores', s2.map(m=>m.score.toFixed(3)).join(' '));
const lat = (f: (q: Float32Array) => unknown) => { const l: number[] = []; for (const q of qs) { const s = performance.now(); f(q); l.push(performance.now() - s); } l.sort((a, b) => a - b); return `p50 ${l[Math.floor(l.length * 0.5)].toFixed(3)} p99 ${l[Math.floor(l.length * 0.99)].toFixed(3)}`; };
for (const quant of process.argv[4].split(',') as ('f16'|'i8'|'f32')[]) {
  const u = new UsearchIndex(dim, { quantization: quant, threads: 2, expansionAdd: Number(process.argv[5] ?? 128) });
  let t = performance.now(); u.addMany(ids, set.data); const b = performance.now() - t;
  for (const k of [1, 64, 256, 512]) {
    let hit = 0; for (let i = 0; i < qs.length; i++) { const r = u.search(qs[i], k); let best = r[0].id, bs = -1; for (const m of r.slice(0, 64)) { const s = ex.score(m.id, qs[i])!; if (s > bs) { bs = s; best = m.id; } } if (best === truth[i]) hit++; }
    console.log(quant, 'rank', rank, 'build', (N / b * 1000).toFixed(0), '/s', 'k', k, 'recall', hit / qs.length, lat((q) => u.search(q, k)));
  }
}
