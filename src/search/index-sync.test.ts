import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { FakeTemplateStore } from './fake-template-store.test.ts';
import { IndexRegistry } from './index-registry.ts';
import { IndexSync } from './index-sync.ts';
import { InProcessPubSub, type PubSub, RedisPubSub } from './pubsub.ts';
import { axis } from './vector-index.case.test.ts';

const dim = 8;
const M = 'model-a';

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const start = performance.now();
  while (!(await check())) {
    if (performance.now() - start > timeoutMs) throw new Error(`not visible within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return performance.now() - start;
}

/** Two "server processes": own registry, own bus connection, one shared database. */
async function twoInstances(bus: () => Promise<PubSub>, db: FakeTemplateStore, channel: string) {
  const make = async () => {
    const registry = new IndexRegistry(db.registryOptions());
    const pubsub = await bus();
    const sync = new IndexSync({ registry, pubsub, fetchTemplate: db.fetch, channel });
    await sync.start();
    return { registry, pubsub, sync };
  };
  return [await make(), await make()] as const;
}

function crossInstanceSuite(name: string, bus: () => Promise<PubSub>) {
  it(`${name}: an enrollment, a template deletion and a user deletion on one instance reach the other within 1 s`, async () => {
    const db = new FakeTemplateStore();
    db.put('acme', M, 't1', 'alice', axis(dim, 0));
    const channel = `wajah:index:test:${process.pid}:${Math.random()}`;
    const [a, b] = await twoInstances(bus, db, channel);
    try {
      await a.registry.get('acme', M);
      await b.registry.get('acme', M);
      const search = async (q: Float32Array) => (await b.registry.search('acme', M, q, 5, 0.9)).map((h) => h.userId);

      // Enrollment on A: the service commits the row, then tells the sync.
      const vec = axis(dim, 3);
      db.put('acme', M, 't2', 'bob', vec);
      await a.sync.upsert('acme', M, 't2', 'bob', vec);
      const ms = await until(async () => (await search(vec)).includes('bob'), 1000);
      assert.ok(ms < 1000, `visible after ${ms.toFixed(1)} ms`);

      db.rows.delete('t2');
      await a.sync.removeTemplate('acme', 't2');
      await until(async () => !(await search(vec)).includes('bob'), 1000);

      db.rows.delete('t1');
      await a.sync.removeUser('acme', 'alice');
      await until(async () => !(await search(axis(dim, 0))).includes('alice'), 1000);

      db.put('acme', M, 't3', 'carol', axis(dim, 5));
      await a.sync.invalidate('acme');
      await until(() => b.registry.peek('acme', M) === undefined, 1000);
      assert.deepEqual(await search(axis(dim, 5)), ['carol']);
    } finally {
      await Promise.all([a.sync.close(), b.sync.close()]);
      await Promise.all([a.pubsub.close(), b.pubsub.close()]);
    }
  });
}

describe('IndexSync', () => {
  const shared = new InProcessPubSub();
  crossInstanceSuite('in-process', async () => shared.connect());

  it('refetches an upsert through fetchTemplate (the notice carries no vector) and drops vanished templates', async () => {
    const db = new FakeTemplateStore();
    const bus = new InProcessPubSub();
    const published: string[] = [];
    const spy = bus.connect();
    await spy.subscribe('c', (m) => published.push(m));
    const [a, b] = await twoInstances(async () => bus.connect(), db, 'c');
    await b.registry.get('acme', M);
    const vec = axis(dim, 2);
    // A says t9 was enrolled but the row is gone by the time B fetches it.
    await a.sync.upsert('acme', M, 't9', 'ghost', vec);
    await until(() => published.length === 1, 1000);
    await b.sync.idle();
    assert.equal(b.registry.peek('acme', M)!.has('t9'), false);
    assert.doesNotMatch(published[0], /vec|\d\.\d{4}/, 'no vector in the notice');
    assert.deepEqual(Object.keys(JSON.parse(published[0]).notice).sort(), ['clientId', 'templateId', 'type']);
    // Clients not in memory on B are not fetched at all.
    let fetched = 0;
    const c = new IndexSync({ registry: new IndexRegistry(db.registryOptions()), pubsub: bus.connect(), fetchTemplate: async () => (fetched++, null), channel: 'c' });
    await c.start();
    await a.sync.upsert('other', M, 't10', 'x', vec);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await c.idle();
    assert.equal(fetched, 0);
  });

  it('resyncs periodically when asked to', async () => {
    const db = new FakeTemplateStore();
    db.put('acme', M, 't1', 'alice', axis(dim, 0));
    const registry = new IndexRegistry(db.registryOptions());
    const sync = new IndexSync({ registry, pubsub: new InProcessPubSub(), fetchTemplate: db.fetch, resyncIntervalMs: 20 });
    await sync.start();
    await registry.get('acme', M);
    db.put('acme', M, 'lost', 'bob', axis(dim, 1)); // no notice at all
    await until(() => registry.peek('acme', M)!.has('lost'), 1000);
    await sync.close();
  });

  it('resyncs while its subscription waits for Redis (an instance started with Redis down)', async () => {
    const db = new FakeTemplateStore();
    db.put('acme', M, 't1', 'alice', axis(dim, 0));
    const registry = new IndexRegistry(db.registryOptions());
    // ioredis queues the SUBSCRIBE until Redis is back: it does not resolve meanwhile.
    const waiting: PubSub = { subscribe: () => new Promise(() => {}), publish: async () => {}, onReconnect: () => {}, close: async () => {} };
    const sync = new IndexSync({ registry, pubsub: waiting, fetchTemplate: db.fetch, resyncIntervalMs: 20 });
    void sync.start();
    await registry.get('acme', M);
    db.rows.delete('t1'); // removed on another instance; its notice never reaches this one
    await until(() => !registry.peek('acme', M)!.has('t1'), 1000);
    await sync.close();
  });

  it("a change does not wait for its notice to be published (Redis down: each publish waits through the client's reconnects)", async () => {
    const db = new FakeTemplateStore();
    const registry = new IndexRegistry(db.registryOptions());
    const stuck: PubSub = { subscribe: async () => {}, publish: () => new Promise(() => {}), onReconnect: () => {}, close: async () => {} };
    const sync = new IndexSync({ registry, pubsub: stuck, fetchTemplate: db.fetch });
    await sync.start();
    await registry.get('acme', M);
    const done = (p: Promise<void>) => Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 500))]);
    assert.equal(await done(sync.upsert('acme', M, 't1', 'alice', axis(dim, 0))), true, 'upsert waited for Redis');
    assert.equal(await done(sync.removeTemplate('acme', 't1')), true, 'removeTemplate waited for Redis');
    assert.equal(await done(sync.removeUser('acme', 'alice')), true, 'removeUser waited for Redis');
    assert.equal(registry.peek('acme', M)!.has('t1'), false, 'applied here at once');
    await sync.close();
  });

  it('a reconnect during a running resync compares the index with the database as it is after the gap', async () => {
    // Overlapping calls shared the running resync, which had read the database before the outage.
    const db = new FakeTemplateStore();
    db.put('acme', M, 't1', 'alice', axis(dim, 0));
    let gate: Promise<void> | null = null;
    let release = () => {};
    const list = (clientId: string, modelId: string) => {
      const snapshot = [...db.rows];
      return (async function* () {
        if (gate) await gate;
        for (const [templateId, r] of snapshot) if (r.clientId === clientId && r.modelId === modelId) yield { templateId, userId: r.userId };
      })();
    };
    const registry = new IndexRegistry({ ...db.registryOptions(), list });
    let reconnect = () => {};
    const bus: PubSub = { subscribe: async () => {}, publish: async () => {}, onReconnect: (h) => void (reconnect = h), close: async () => {} };
    const sync = new IndexSync({ registry, pubsub: bus, fetchTemplate: db.fetch });
    await sync.start();
    await registry.get('acme', M);
    gate = new Promise<void>((r) => (release = r));
    const periodic = sync.resync(); // reads the table, then takes its time
    await new Promise((r) => setImmediate(r));
    db.rows.delete('t1'); // deleted on another instance while Redis was down: the notice is lost
    reconnect();
    const afterReconnect = sync.resync();
    release();
    await periodic;
    await afterReconnect;
    assert.deepEqual((await registry.search('acme', M, axis(dim, 0), 5, 0.9)).map((h) => h.userId), []);
    await sync.close();
  });

  it("a removal here while another instance's upsert of the same template is being fetched is not undone by the fetch", async () => {
    const db = new FakeTemplateStore();
    db.put('acme', M, 't1', 'alice', axis(dim, 0));
    const bus = new InProcessPubSub();
    const a = new IndexSync({ registry: new IndexRegistry(db.registryOptions()), pubsub: bus.connect(), fetchTemplate: db.fetch });
    const bRegistry = new IndexRegistry(db.registryOptions());
    let fetchStarted = () => {};
    const started = new Promise<void>((r) => (fetchStarted = r));
    // B's read sees the row (before B's own delete commits); its answer arrives a little later.
    const slowFetch = async (clientId: string, templateId: string) => {
      const row = await db.fetch(clientId, templateId);
      fetchStarted();
      await new Promise((r) => setTimeout(r, 50));
      return row;
    };
    const b = new IndexSync({ registry: bRegistry, pubsub: bus.connect(), fetchTemplate: slowFetch });
    await a.start();
    await b.start();
    await bRegistry.get('acme', M);
    db.put('acme', M, 't2', 'alice', axis(dim, 3));
    await a.upsert('acme', M, 't2', 'alice', axis(dim, 3));
    await started;
    db.rows.delete('t2');
    await b.removeTemplate('acme', 't2');
    await b.idle();
    assert.deepEqual((await bRegistry.search('acme', M, axis(dim, 3), 5, 0.9)).map((h) => h.templateId), []);
    await Promise.all([a.close(), b.close()]);
  });

  it('catches up once its subscription is established late', async () => {
    const db = new FakeTemplateStore();
    db.put('acme', M, 't1', 'alice', axis(dim, 0));
    const registry = new IndexRegistry(db.registryOptions());
    let connect!: () => void;
    const later: PubSub = { subscribe: () => new Promise<void>((resolve) => (connect = resolve)), publish: async () => {}, onReconnect: () => {}, close: async () => {} };
    const sync = new IndexSync({ registry, pubsub: later, fetchTemplate: db.fetch });
    const started = sync.start();
    await registry.get('acme', M);
    db.put('acme', M, 'missed', 'bob', axis(dim, 1)); // published while this instance was not subscribed
    connect();
    await started;
    assert.equal(registry.peek('acme', M)!.has('missed'), true);
    await sync.close();
  });
});

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

async function reachable(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: u.hostname, port: Number(u.port || 6379) });
    socket.setTimeout(500);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(false));
  });
}

const redisUp = await reachable(REDIS_URL);
if (!redisUp && process.env.CI !== 'true') {
  console.warn(`# IndexSync Redis test SKIPPED: ${REDIS_URL} is unreachable (set REDIS_URL; with CI=true this fails instead)`);
}

describe('IndexSync over Redis', { skip: !redisUp && process.env.CI !== 'true' ? `Redis unreachable at ${REDIS_URL}` : false }, () => {
  const opened: RedisPubSub[] = [];
  after(async () => {
    await Promise.all(opened.map((p) => p.close()));
  });

  it('Redis is reachable', () => {
    assert.ok(redisUp, `Redis unreachable at ${REDIS_URL} (CI=true requires it)`);
  });

  crossInstanceSuite('redis (two separate connections per instance)', async () => {
    const bus = new RedisPubSub(REDIS_URL);
    opened.push(bus);
    await bus.connect();
    return bus;
  });
});
