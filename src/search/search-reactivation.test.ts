import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeTemplateStore } from './fake-template-store.test.ts';
import { IndexRegistry } from './index-registry.ts';
import { IndexSync } from './index-sync.ts';
import { InProcessPubSub } from './pubsub.ts';
import { axis } from './vector-index.case.test.ts';

const dim = 8;
const M = 'model-a';

/**
 * The index holds active users only (docs/search.md): a deactivation removes the user, a reactivation
 * upserts the user's templates again. Both can happen on this instance while it is still fetching another
 * instance's upsert of one of those templates; the fetch must not undo the later of them.
 */
describe('IndexSync: removals and upserts here while another instance’s upsert is fetched', () => {
  async function setup() {
    const db = new FakeTemplateStore();
    db.put('acme', M, 't1', 'alice', axis(dim, 0));
    const bus = new InProcessPubSub();
    const a = new IndexSync({ registry: new IndexRegistry(db.registryOptions()), pubsub: bus.connect(), fetchTemplate: db.fetch });
    const bRegistry = new IndexRegistry(db.registryOptions());
    let fetchStarted = () => {};
    const started = new Promise<void>((r) => (fetchStarted = r));
    let release = () => {};
    const released = new Promise<void>((r) => (release = r));
    // B's read sees the row as it was; its answer arrives after B's own changes below.
    const slowFetch = async (clientId: string, templateId: string) => {
      const row = await db.fetch(clientId, templateId);
      fetchStarted();
      await released;
      return row;
    };
    const b = new IndexSync({ registry: bRegistry, pubsub: bus.connect(), fetchTemplate: slowFetch });
    await a.start();
    await b.start();
    await bRegistry.get('acme', M);
    db.put('acme', M, 't2', 'alice', axis(dim, 3));
    await a.upsert('acme', M, 't2', 'alice', axis(dim, 3));
    await started;
    const held = async () => (await bRegistry.get('acme', M)).templatesOf('alice').sort();
    return { db, a, b, release, held };
  }

  it('a deactivation and then a reactivation here: the reactivated templates stay', async () => {
    const { a, b, release, held } = await setup();
    await b.removeUser('acme', 'alice'); // deactivated
    await b.upsert('acme', M, 't1', 'alice', axis(dim, 0)); // reactivated: every template again
    await b.upsert('acme', M, 't2', 'alice', axis(dim, 3));
    release();
    await b.idle();
    assert.deepEqual(await held(), ['t1', 't2']);
    await Promise.all([a.close(), b.close()]);
  });

  it('a reactivation and then a deactivation here: the user stays out', async () => {
    const { a, b, release, held } = await setup();
    await b.upsert('acme', M, 't2', 'alice', axis(dim, 3));
    await b.removeUser('acme', 'alice');
    release();
    await b.idle();
    assert.deepEqual(await held(), []);
    await Promise.all([a.close(), b.close()]);
  });
});
