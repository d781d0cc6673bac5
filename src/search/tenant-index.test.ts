import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAppError } from '../errors.ts';
import { mulberry32, probeNear, syntheticTemplates } from './synthetic.ts';
import { TenantIndex } from './tenant-index.ts';
import { axis } from './vector-index.case.test.ts';

const dim = 16;

function gallery(options = {}): TenantIndex {
  const index = new TenantIndex(null, options);
  // alice: three templates around axis 0; bob: two around axis 0 but further; carol: axis 4.
  index.add('a1', 'alice', axis(dim, 0));
  index.add('a2', 'alice', axis(dim, 0, 0.1));
  index.add('a3', 'alice', axis(dim, 0, 0.2));
  index.add('b1', 'bob', axis(dim, 0, 0.6));
  index.add('b2', 'bob', axis(dim, 0, 0.7));
  index.add('c1', 'carol', axis(dim, 4));
  return index;
}

describe('TenantIndex', () => {
  it('returns the best template per user, top-k users', () => {
    const index = gallery();
    const hits = index.search(axis(dim, 0), 2);
    assert.deepEqual(hits.map((h) => [h.userId, h.templateId]), [['alice', 'a1'], ['bob', 'b1']]);
    assert.equal(index.users, 3);
    // k counts users, not templates: alice's three templates do not crowd out bob and carol.
    assert.deepEqual(index.search(axis(dim, 0), 3).map((h) => h.userId), ['alice', 'bob', 'carol']);
  });

  it('applies minScore to users', () => {
    const index = gallery();
    assert.deepEqual(index.search(axis(dim, 0), 10, 0.9).map((h) => h.userId), ['alice']);
    assert.deepEqual(index.search(axis(dim, 9), 10, 0.5), []);
  });

  it('removes a template, a user, and moves a template between users', () => {
    const index = gallery();
    index.removeTemplate('a1');
    assert.equal(index.search(axis(dim, 0), 1)[0].templateId, 'a2');
    assert.equal(index.removeUser('alice'), 2);
    assert.equal(index.search(axis(dim, 0), 1)[0].userId, 'bob');
    assert.equal(index.size, 3);
    index.add('b1', 'carol', axis(dim, 0, 0.6));
    assert.deepEqual(index.templatesOf('bob'), ['b2']);
    assert.equal(index.search(axis(dim, 0), 1)[0].userId, 'carol');
  });

  it('refuses a probe or template of another model dimension', () => {
    const index = gallery();
    assert.throws(() => index.search(new Float32Array(dim * 2), 1), (e) => isAppError(e) && e.code === 'MODEL_MISMATCH');
    assert.throws(() => index.add('x', 'u', new Float32Array(8)), (e) => isAppError(e) && e.code === 'MODEL_MISMATCH');
  });

  it('switches to HNSW above the threshold, keeps exact scores, and back below half of it', async () => {
    const d = 64;
    const set = syntheticTemplates(600, d, { clusters: 200, seed: 5 });
    const index = new TenantIndex(null, { annThreshold: 400, buildChunk: 100, onError: (e) => assert.fail(e as Error) });
    const exact = new TenantIndex(null, { annThreshold: Infinity });
    for (let i = 0; i < set.count; i++) {
      const vec = set.data.subarray(i * d, (i + 1) * d);
      index.add(`t${i}`, `u${set.cluster[i]}`, vec);
      exact.add(`t${i}`, `u${set.cluster[i]}`, vec);
    }
    await index.ready();
    assert.equal(index.mode, 'hnsw');
    assert.equal(exact.mode, 'exact');
    const rand = mulberry32(1);
    for (let q = 0; q < 30; q++) {
      const probe = probeNear(set, Math.floor(rand() * 200), rand);
      const a = index.search(probe, 5);
      const b = exact.search(probe, 5);
      assert.equal(a[0].userId, b[0].userId);
      assert.ok(Math.abs(a[0].score - b[0].score) < 1e-5, 'scores are re-computed in f32');
      assert.equal(new Set(a.map((h) => h.userId)).size, a.length, 'one row per user');
    }
    // Updates reach the graph too.
    index.add('new', 'newcomer', set.centres.subarray(0, d));
    assert.equal(index.search(set.centres.subarray(0, d), 1)[0].userId, 'newcomer');
    index.removeUser('newcomer');
    assert.notEqual(index.search(set.centres.subarray(0, d), 1)[0].userId, 'newcomer');
    for (let i = 0; i < 450; i++) index.removeTemplate(`t${i}`);
    assert.equal(index.mode, 'exact');
    assert.equal(index.size, 150);
  });

  it('answers exactly while the graph is being built', async () => {
    const d = 32;
    const set = syntheticTemplates(300, d, { seed: 2 });
    const index = new TenantIndex(null, { annThreshold: 100, buildChunk: 10 });
    for (let i = 0; i < set.count; i++) index.add(`t${i}`, `u${i}`, set.data.subarray(i * d, (i + 1) * d));
    assert.equal(index.mode, 'exact');
    // Changes made mid-build must survive into the finished graph.
    index.removeTemplate('t5');
    index.add('late', 'late-user', set.centres.subarray(d, 2 * d));
    assert.equal(index.search(set.data.subarray(7 * d, 8 * d), 1)[0].templateId, 't7');
    await index.ready();
    assert.equal(index.mode, 'hnsw');
    assert.equal(index.search(set.data.subarray(7 * d, 8 * d), 1)[0].templateId, 't7');
    assert.notEqual(index.search(set.data.subarray(5 * d, 6 * d), 1)[0].templateId, 't5');
    assert.equal(index.search(set.centres.subarray(d, 2 * d), 1)[0].userId, 'late-user');
  });
});
