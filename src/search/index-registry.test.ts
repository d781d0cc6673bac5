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
    const registry = new IndexRegistry({ loader: db.loader() });
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
    const registry = new IndexRegistry({ loader: db.loader() });
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
    const registry = new IndexRegistry({ loader: db.loader(5) });
    const loading = registry.get('acme', M);
    registry.upsert('acme', M, 't9', 'dave', axis(dim, 6));
    registry.removeTemplate('acme', 't2');
    const index = await loading;
    assert.equal(index.has('t9'), true);
    assert.equal(index.has('t2'), false);
  });

  it('invalidate drops the client so the next search reloads', async () => {
    const db = seeded();
    const registry = new IndexRegistry({ loader: db.loader() });
    await registry.get('acme', M);
    await registry.get('other', M);
    db.put('acme', M, 't7', 'zed', axis(dim, 7));
    registry.invalidate('acme');
    assert.equal(registry.peek('acme', M), undefined);
    assert.notEqual(registry.peek('other', M), undefined);
    assert.equal((await registry.search('acme', M, axis(dim, 7), 1))[0].userId, 'zed');
    assert.equal(db.loads, 3);
  });

  it('reloadAll swaps in fresh indexes and keeps serving meanwhile', async () => {
    const db = seeded();
    const registry = new IndexRegistry({ loader: db.loader(2) });
    const old = await registry.get('acme', M);
    db.put('acme', M, 'missed', 'nina', axis(dim, 4)); // a change whose notice was lost
    const reloading = registry.reloadAll();
    assert.equal(registry.peek('acme', M), old, 'old index serves during the reload');
    registry.upsert('acme', M, 'during', 'omar', axis(dim, 3));
    await reloading;
    const fresh = registry.peek('acme', M)!;
    assert.notEqual(fresh, old);
    assert.equal(fresh.has('missed'), true);
    assert.equal(fresh.has('during'), true);
  });

  it('propagates loader failures and retries on the next call', async () => {
    let fail = true;
    const db = seeded();
    const ok = db.loader();
    const registry = new IndexRegistry({
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
