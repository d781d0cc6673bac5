import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeTemplateStore } from './fake-template-store.test.ts';
import { IndexRegistry } from './index-registry.ts';
import { axis } from './vector-index.case.test.ts';

const dim = 8;
const M = 'model-a';

function seeded(): FakeTemplateStore {
  const db = new FakeTemplateStore();
  db.put('acme', M, 't1', 'alice', axis(dim, 0));
  db.put('acme', M, 't2', 'bob', axis(dim, 1));
  db.put('acme', 'model-b', 't3', 'alice', axis(dim, 2));
  db.put('other', M, 't4', 'mallory', axis(dim, 0));
  return db;
}

describe('IndexRegistry', () => {
  it('loads a (tenant, model) index lazily, once, and only with its own templates', async () => {
    const db = seeded();
    const registry = new IndexRegistry(db.registryOptions());
    assert.equal(registry.peek('acme', M), undefined);
    const [a, b] = await Promise.all([registry.get('acme', M), registry.get('acme', M)]);
    assert.equal(a, b);
    assert.equal(db.loads, 1);
    assert.equal(a.size, 2);
    const hits = await registry.search('acme', M, axis(dim, 0), 5);
    assert.deepEqual(hits.map((h) => h.userId), ['alice', 'bob']);
    assert.ok(!(await registry.search('acme', M, axis(dim, 0), 5)).some((h) => h.userId === 'mallory'));
    assert.deepEqual((await registry.search('other', M, axis(dim, 0), 5)).map((h) => h.userId), ['mallory']);
  });

  it('applies upserts and removals to loaded indexes and ignores unloaded ones', async () => {
    const db = seeded();
    const registry = new IndexRegistry(db.registryOptions());
    registry.upsert('acme', M, 'early', 'eve', axis(dim, 3)); // not loaded: the load reads the DB
    await registry.get('acme', M);
    assert.equal(registry.peek('acme', M)!.has('early'), false);
    registry.upsert('acme', M, 't5', 'carol', axis(dim, 5));
    assert.equal((await registry.search('acme', M, axis(dim, 5), 1))[0].userId, 'carol');
    registry.removeTemplate('acme', 't5');
    assert.notEqual((await registry.search('acme', M, axis(dim, 5), 1))[0]?.userId, 'carol');
    registry.removeUser('acme', 'alice');
    assert.deepEqual((await registry.search('acme', M, axis(dim, 0), 5)).map((h) => h.userId), ['bob']);
    // Another tenant's removal does not touch this one.
    registry.removeUser('other', 'bob');
    assert.equal(registry.peek('acme', M)!.size, 1);
  });

  it('keeps changes that arrive while the index is loading', async () => {
    const db = seeded();
    const registry = new IndexRegistry(db.registryOptions(5));
    const loading = registry.get('acme', M);
    registry.upsert('acme', M, 't9', 'dave', axis(dim, 6));
    registry.removeTemplate('acme', 't2');
    const index = await loading;
    assert.equal(index.has('t9'), true);
    assert.equal(index.has('t2'), false);
  });

  it('invalidate drops the client so the next search reloads', async () => {
    const db = seeded();
    const registry = new IndexRegistry(db.registryOptions());
    await registry.get('acme', M);
    await registry.get('other', M);
    db.put('acme', M, 't7', 'zed', axis(dim, 7));
    registry.invalidate('acme');
    assert.equal(registry.peek('acme', M), undefined);
    assert.notEqual(registry.peek('other', M), undefined);
    assert.equal((await registry.search('acme', M, axis(dim, 7), 1))[0].userId, 'zed');
    assert.equal(db.loads, 3);
  });

  it('reloadAll brings a loaded index in line with the store in place, fetching only what it lacks', async () => {
    const db = seeded();
    const registry = new IndexRegistry(db.registryOptions());
    const index = await registry.get('acme', M);
    db.put('acme', M, 'missed', 'nina', axis(dim, 4)); // a change whose notice was lost
    db.rows.delete('t2'); // a removal whose notice was lost
    db.put('acme', M, 't1', 'alina', axis(dim, 0)); // a template now owned by another user
    const r = await registry.reloadAll();
    assert.deepEqual(r, { added: 2, removed: 1 });
    assert.equal(registry.peek('acme', M), index, 'the same index, not a rebuilt one');
    assert.equal(index.has('missed'), true);
    assert.equal(index.has('t2'), false);
    assert.equal(index.userOf('t1'), 'alina');
    assert.equal(db.fetched, 2, 'only the missing and the moved template were decrypted');
    assert.equal(db.loads, 1, 'no full reload');
  });

  it('changes that arrive during a resync win over what it read before them', async () => {
    const db = seeded();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const list = db.list;
    const registry = new IndexRegistry({
      ...db.registryOptions(),
      // The comparison has read the store (t1, t2) and waits before going on.
      list: (c, m) => (async function* () { yield* list(c, m); await gate; })(),
    });
    const index = await registry.get('acme', M);
    const resync = registry.reloadAll();
    await new Promise((resolve) => setImmediate(resolve));
    // Meanwhile: a new template (committed after the listing) and a removal of one it listed.
    db.put('acme', M, 'during', 'omar', axis(dim, 3));
    registry.upsert('acme', M, 'during', 'omar', axis(dim, 3));
    db.rows.delete('t1');
    registry.removeTemplate('acme', 't1');
    release();
    await resync;
    assert.equal(index.has('during'), true, 'not removed as unknown to the listing');
    assert.equal(index.has('t1'), false, 'not brought back from the listing');
  });

  it('a large index keeps its graph across resyncs (before, every resync started a new build from scratch)', async () => {
    const db = new FakeTemplateStore();
    for (let i = 0; i < 300; i++) {
      const v = new Float32Array(dim).map(() => Math.random() - 0.5);
      db.put('big', M, `t${i}`, `u${i}`, v);
    }
    const registry = new IndexRegistry({ ...db.registryOptions(), tenant: { annThreshold: 200, buildChunk: 50 } });
    const index = await registry.get('big', M);
    await index.ready();
    assert.equal(index.mode, 'hnsw');
    for (let i = 0; i < 3; i++) assert.deepEqual(await registry.reloadAll(), { added: 0, removed: 0 });
    assert.equal(registry.peek('big', M), index);
    assert.equal(index.mode, 'hnsw', 'queries still take the graph');
    assert.equal(registry.stats().builds, 1, 'loaded once');
  });

  it('propagates loader failures and retries on the next call', async () => {
    let fail = true;
    const db = seeded();
    const ok = db.loader();
    const registry = new IndexRegistry({
      ...db.registryOptions(),
      loader: (c, m) => {
        if (fail) throw new Error('db down');
        return ok(c, m);
      },
    });
    await assert.rejects(registry.get('acme', M), /db down/);
    fail = false;
    assert.equal((await registry.get('acme', M)).size, 2);
  });
});
