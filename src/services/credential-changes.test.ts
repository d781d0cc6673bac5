import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InProcessPubSub, type PubSub } from '../search/pubsub.ts';
import { CredentialChanges } from './credential-changes.ts';

const quiet = { warn: () => {} };
const tick = () => new Promise((r) => setImmediate(r));

test('a change reaches this process at once and the other instances on the bus; each hears it once', async () => {
  const shared = new InProcessPubSub();
  const [one, two] = await Promise.all([CredentialChanges.create(null, quiet, shared.connect()), CredentialChanges.create(null, quiet, shared.connect())]);
  const heard: Record<'one' | 'two', Array<string | null>> = { one: [], two: [] };
  one.on((c) => heard.one.push(c));
  two.on((c) => heard.two.push(c));
  one.changed('tenant-a');
  assert.deepEqual(heard.one, ['tenant-a'], 'before changed() returns');
  await tick();
  assert.deepEqual(heard, { one: ['tenant-a'], two: ['tenant-a'] }, 'not twice for the sender');
  await Promise.all([one.close(), two.close()]);
});

test('after the subscription comes back (Redis reconnected), every listener hears null: any tenant may have changed', async () => {
  const hooks: { reconnected?: () => void } = {};
  const inner = new InProcessPubSub().connect();
  const bus: PubSub = { ...inner, onReconnect: (h) => void (hooks.reconnected = h) };
  const changes = await CredentialChanges.create(null, quiet, bus);
  const heard: Array<string | null> = [];
  changes.on((c) => heard.push(c));
  assert.ok(hooks.reconnected, 'it listens for reconnects');
  hooks.reconnected();
  assert.deepEqual(heard, [null]);
  await changes.close();
});
