/**
 * The approximate path must find the same best user as exact search: recall@1 ≥ 0.99 on 20 000
 * synthetic clustered 512-d templates for the production TenantIndex (i8 HNSW candidates
 * re-scored in f32). ≈ 6–10 s CPU on 2 cores, mostly the graph build.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { ExactIndex } from './exact-index.ts';
import { mulberry32, probeNear, syntheticTemplates, type SyntheticSet } from './synthetic.ts';
import { TenantIndex } from './tenant-index.ts';

const N = 20_000;
const DIM = 512;
const QUERIES = 300;

describe(`recall@1 vs exact on ${N} × ${DIM}`, () => {
  let set: SyntheticSet;
  let exact: ExactIndex;
  let queries: Float32Array[];
  let truth: string[];

  before(() => {
    set = syntheticTemplates(N, DIM, { seed: 21 });
    exact = new ExactIndex(DIM, { initialCapacity: N });
    for (let i = 0; i < N; i++) exact.add(`t${i}`, set.data.subarray(i * DIM, (i + 1) * DIM));
    const rand = mulberry32(5);
    const clusters = set.centres.length / DIM;
    queries = Array.from({ length: QUERIES }, () => probeNear(set, Math.floor(rand() * clusters), rand));
    truth = queries.map((q) => exact.search(q, 1)[0].id);
  });

  it('production TenantIndex (i8 HNSW + exact re-scoring) finds the exact best user', async () => {
    const index = new TenantIndex(null, { annThreshold: 1000 });
    const userOf = (id: string) => `u${set.cluster[Number(id.slice(1))]}`;
    await index.load(
      (function* () {
        for (let i = 0; i < N; i++) yield { templateId: `t${i}`, userId: userOf(`t${i}`), vec: set.data.subarray(i * DIM, (i + 1) * DIM) };
      })(),
    );
    await index.ready();
    assert.equal(index.mode, 'hnsw', 'the approximate path must be under test');
    let hits = 0;
    queries.forEach((q, i) => {
      const [best] = index.search(q, 1);
      if (best.userId === userOf(truth[i])) hits++;
    });
    const recall = hits / QUERIES;
    assert.ok(recall >= 0.99, `recall@1 ${recall}`);
  });
});
