import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mulberry32 } from './synthetic.ts';
import { UsearchIndex } from './usearch-index.ts';
import { randomUnit, runVectorIndexContract } from './vector-index.case.test.ts';

// Scores come from the f16 / f32 graph, so they are compared with a looser tolerance.
runVectorIndexContract('UsearchIndex (f16)', (dim) => new UsearchIndex(dim, { quantization: 'f16' }), { scoreTolerance: 2e-3 });
runVectorIndexContract('UsearchIndex (f32)', (dim) => new UsearchIndex(dim, { quantization: 'f32' }));

describe('UsearchIndex', () => {
  it('mixes single adds, multi-threaded batches, removals and re-adds without losing entries', () => {
    const dim = 32;
    const rand = mulberry32(11);
    const index = new UsearchIndex(dim, { threads: 2 });
    for (let round = 0; round < 5; round++) {
      index.add(`single${round}`, randomUnit(dim, rand));
      const ids = Array.from({ length: 300 }, (_, i) => `b${round}-${i}`);
      const data = new Float32Array(ids.length * dim);
      for (let i = 0; i < ids.length; i++) data.set(randomUnit(dim, rand), i * dim);
      index.addMany(ids, data);
      for (let i = 0; i < 100; i++) index.remove(`b${round}-${i}`);
      index.addMany(ids.slice(0, 50), data.subarray(0, 50 * dim));
    }
    assert.equal(index.size, 5 * (1 + 250));
    const probe = randomUnit(dim, rand);
    index.add('probe', probe);
    assert.equal(index.search(probe, 1)[0].id, 'probe');
  });
});
