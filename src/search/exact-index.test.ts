import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExactIndex, TopK } from './exact-index.ts';
import { mulberry32 } from './synthetic.ts';
import { randomUnit, runVectorIndexContract } from './vector-index.case.test.ts';

runVectorIndexContract('ExactIndex (native kernel)', (dim) => new ExactIndex(dim, { initialCapacity: 2 }));
runVectorIndexContract('ExactIndex (js kernel)', (dim) => new ExactIndex(dim, { initialCapacity: 2, kernel: 'js' }));

describe('ExactIndex', () => {
  it('native and js kernels return the same ranking and scores', () => {
    const rand = mulberry32(9);
    const a = new ExactIndex(64, { kernel: 'native' });
    const b = new ExactIndex(64, { kernel: 'js' });
    for (let i = 0; i < 2000; i++) {
      const v = randomUnit(64, rand);
      a.add(`x${i}`, v);
      b.add(`x${i}`, v);
    }
    for (let q = 0; q < 10; q++) {
      const query = randomUnit(64, rand);
      const ha = a.search(query, 10);
      const hb = b.search(query, 10);
      assert.deepEqual(ha.map((h) => h.id), hb.map((h) => h.id));
      ha.forEach((h, i) => assert.ok(Math.abs(h.score - hb[i].score) < 1e-5));
    }
  });

  it('TopK keeps the k largest', () => {
    const top = new TopK(3);
    [5, 1, 9, 3, 7, 2].forEach((s, i) => top.push(s, i));
    assert.deepEqual(top.sorted(), [[9, 2], [7, 4], [5, 0]]);
  });
});
