/**
 * The contract every VectorIndex honours (style of Hono's router/common.case.test.ts): each
 * implementation's own test file calls runVectorIndexContract with a factory.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mulberry32, normalize } from './synthetic.ts';
import type { VectorIndex } from './vector-index.ts';

/** Unit vector along axis `i` tilted slightly toward axis `j`. */
export function axis(dim: number, i: number, tilt = 0, j = (i + 1) % dim): Float32Array {
  const v = new Float32Array(dim);
  v[i] = 1;
  v[j] += tilt;
  normalize(v);
  return v;
}

export function randomUnit(dim: number, rand: () => number): Float32Array {
  const v = new Float32Array(dim);
  for (let i = 0; i < dim; i++) v[i] = rand() - 0.5;
  normalize(v);
  return v;
}

export function runVectorIndexContract(name: string, make: (dim: number) => VectorIndex, opts: { scoreTolerance?: number } = {}): void {
  const tol = opts.scoreTolerance ?? 1e-5;
  const dim = 16;

  describe(`${name}: VectorIndex contract`, () => {
    it('returns nothing from an empty index', () => {
      const index = make(dim);
      assert.equal(index.size, 0);
      assert.deepEqual(index.search(axis(dim, 0), 5), []);
      assert.equal(index.remove('missing'), false);
    });

    it('finds the nearest vectors, best first, with cosine scores', () => {
      const index = make(dim);
      for (let i = 0; i < 8; i++) index.add(`v${i}`, axis(dim, i));
      index.add('near0', axis(dim, 0, 0.2));
      assert.equal(index.size, 9);
      const hits = index.search(axis(dim, 0), 3);
      assert.deepEqual(hits.map((h) => h.id).slice(0, 2), ['v0', 'near0']);
      assert.ok(Math.abs(hits[0].score - 1) < tol, `self score ${hits[0].score}`);
      assert.ok(Math.abs(hits[1].score - 1 / Math.sqrt(1.04)) < Math.max(tol, 1e-3), `tilted score ${hits[1].score}`);
      for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1].score >= hits[i].score);
    });

    it('returns at most size hits when k is larger than the index', () => {
      const index = make(dim);
      for (let i = 0; i < 3; i++) index.add(`v${i}`, axis(dim, i));
      const hits = index.search(axis(dim, 1), 50);
      assert.equal(hits.length, 3);
      assert.equal(hits[0].id, 'v1');
      assert.deepEqual(new Set(hits.map((h) => h.id)), new Set(['v0', 'v1', 'v2']));
    });

    it('filters by minScore', () => {
      const index = make(dim);
      index.add('same', axis(dim, 0));
      index.add('close', axis(dim, 0, 0.5)); // cos ≈ 0.894
      index.add('orthogonal', axis(dim, 5));
      const hits = index.search(axis(dim, 0), 10, 0.8);
      assert.deepEqual(hits.map((h) => h.id), ['same', 'close']);
      assert.deepEqual(index.search(axis(dim, 0), 10, 0.99).map((h) => h.id), ['same']);
      assert.deepEqual(index.search(axis(dim, 9), 10, 0.5), []);
    });

    it('removes, replaces and re-adds', () => {
      const index = make(dim);
      for (let i = 0; i < 6; i++) index.add(`v${i}`, axis(dim, i));
      assert.equal(index.remove('v2'), true);
      assert.equal(index.remove('v2'), false);
      assert.equal(index.size, 5);
      assert.equal(index.has('v2'), false);
      assert.ok(!index.search(axis(dim, 2), 10).some((h) => h.id === 'v2'), 'removed id must not be returned');
      // Removing the first slot must not corrupt the vector swapped into it.
      index.remove('v0');
      assert.equal(index.search(axis(dim, 5), 1)[0].id, 'v5');
      index.add('v2', axis(dim, 2));
      assert.equal(index.search(axis(dim, 2), 1)[0].id, 'v2');
      // Replacing moves the id to its new vector and keeps one entry.
      index.add('v2', axis(dim, 7));
      assert.equal(index.size, 5);
      assert.equal(index.search(axis(dim, 7), 1)[0].id, 'v2');
      assert.equal(index.search(axis(dim, 2), 5).filter((h) => h.id === 'v2').length, 1);
    });

    it('accepts vectors and queries that are views into larger buffers', () => {
      const index = make(dim);
      const rows = new Float32Array(dim * 4);
      for (let i = 0; i < 4; i++) rows.set(axis(dim, i * 2), i * dim);
      for (let i = 0; i < 4; i++) index.add(`row${i}`, rows.subarray(i * dim, (i + 1) * dim));
      for (let i = 0; i < 4; i++) assert.equal(index.search(rows.subarray(i * dim, (i + 1) * dim), 1)[0].id, `row${i}`);
    });

    it('clears', () => {
      const index = make(dim);
      index.add('a', axis(dim, 0));
      index.clear();
      assert.equal(index.size, 0);
      assert.deepEqual(index.search(axis(dim, 0), 1), []);
      index.add('a', axis(dim, 1));
      assert.equal(index.search(axis(dim, 1), 1)[0].id, 'a');
    });

    it('rejects vectors of another dimension', () => {
      const index = make(dim);
      assert.throws(() => index.add('a', new Float32Array(dim + 1)), RangeError);
      assert.throws(() => index.search(new Float32Array(dim - 1), 1), RangeError);
    });

    it('agrees with brute force on random data, through churn', () => {
      const index = make(dim);
      const rand = mulberry32(42);
      const live = new Map<string, Float32Array>();
      for (let i = 0; i < 300; i++) {
        const v = randomUnit(dim, rand);
        index.add(`r${i}`, v);
        live.set(`r${i}`, v);
        if (i % 3 === 0) {
          const victim = `r${Math.floor(rand() * i)}`;
          index.remove(victim);
          live.delete(victim);
        }
      }
      assert.equal(index.size, live.size);
      for (let q = 0; q < 20; q++) {
        const query = randomUnit(dim, rand);
        let best = '';
        let bestScore = -2;
        for (const [id, v] of live) {
          let s = 0;
          for (let j = 0; j < dim; j++) s += v[j] * query[j];
          if (s > bestScore) [best, bestScore] = [id, s];
        }
        const [hit] = index.search(query, 1);
        assert.equal(hit.id, best);
        assert.ok(Math.abs(hit.score - bestScore) < Math.max(tol, 1e-3));
      }
    });
  });
}
