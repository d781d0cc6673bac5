import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClientContext } from '../api/request-context.ts';
import { ConfigError, loadConfig } from '../config/env.ts';
import { isAppError } from '../errors.ts';
import { StreamingService } from './streaming.service.ts';
import type { Wrtc } from './wrtc.ts';

const client = (id: string, tier: ClientContext['tier'] = 'basic'): ClientContext => ({ id, name: id, tier, settings: {} as ClientContext['settings'], apiKeyId: `k-${id}` });
// Sessions that never get an offer hold no peer: the fake module is only loaded, never used.
const fakeWrtc = {} as Wrtc;
const audits: unknown[] = [];
const service = (engineAvailable = true, loadWrtc = async () => fakeWrtc) =>
  new StreamingService({
    authentication: {} as never,
    audit: { record: async (e) => void audits.push(e) },
    log: { error: () => {}, warn: () => {} },
    iceServers: [{ urls: 'stun:stun.example.org:3478' }],
    engineAvailable,
    loadWrtc,
  });
const code = (e: unknown) => (isAppError(e) ? e.code : String(e));

test('a session expires after its timeout: gone (SESSION_NOT_FOUND), one audit entry, the slot is free again', async () => {
  const s = service();
  const c = client('a');
  const created = await s.create(c, { timeout: 0.05 }, { ip: null, userAgent: null });
  assert.deepEqual(created.ice_servers, [{ urls: 'stun:stun.example.org:3478' }]);
  assert.equal(s.status(c, created.session_id).status, 'created');
  await new Promise((r) => setTimeout(r, 120));
  assert.throws(() => s.status(c, created.session_id), (e) => code(e) === 'SESSION_NOT_FOUND');
  assert.equal(audits.length, 1);
});

test('closeAll (app.close) ends every session; limits are per client', async () => {
  const s = service();
  const [a, b] = [client('a'), client('b')];
  const meta = { ip: null, userAgent: null };
  const ids = [(await s.create(a, {}, meta)).session_id, (await s.create(a, {}, meta)).session_id];
  await assert.rejects(s.create(a, {}, meta), (e) => code(e) === 'STREAMING_LIMIT_EXCEEDED');
  const other = (await s.create(b, {}, meta)).session_id;
  assert.throws(() => s.status(b, ids[0]), (e) => code(e) === 'SESSION_NOT_FOUND');
  s.closeAll();
  for (const [who, id] of [[a, ids[0]], [a, ids[1]], [b, other]] as const) assert.throws(() => s.status(who, id), (e) => code(e) === 'SESSION_NOT_FOUND');
});

test('no engine or no WebRTC binary: SERVICE_UNAVAILABLE; verification needs user_id', async () => {
  const meta = { ip: null, userAgent: null };
  await assert.rejects(service(false).create(client('a'), {}, meta), (e) => code(e) === 'SERVICE_UNAVAILABLE');
  await assert.rejects(service(true, () => Promise.reject(new Error('no binary'))).create(client('a'), {}, meta), (e) => code(e) === 'SERVICE_UNAVAILABLE');
  await assert.rejects(service().create(client('a'), { mode: 'verification' }, meta), (e) => code(e) === 'VALIDATION_ERROR');
});

test('WAJAH_ICE_SERVERS: JSON list of STUN/TURN servers; default none; a bad value is a config error', () => {
  assert.deepEqual(loadConfig({}).iceServers, []);
  const list = '[{"urls":"stun:stun.example.org:3478"},{"urls":["turn:turn.example.org"],"username":"u","credential":"p"}]';
  assert.deepEqual(loadConfig({ WAJAH_ICE_SERVERS: list }).iceServers, JSON.parse(list));
  for (const bad of ['nope', '{"urls":"stun:x"}', '[{"urls":"http://x"}]', '[{"urls":[]}]']) {
    assert.throws(() => loadConfig({ WAJAH_ICE_SERVERS: bad }), (e) => e instanceof ConfigError && /WAJAH_ICE_SERVERS/.test(e.message), bad);
  }
});
