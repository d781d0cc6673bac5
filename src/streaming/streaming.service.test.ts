import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClientContext } from '../api/request-context.ts';
import { ConfigError, loadConfig } from '../config/env.ts';
import { appError, isAppError } from '../errors.ts';
import { StreamingService, type StreamingServiceDeps } from './streaming.service.ts';
import type { Wrtc } from './wrtc.ts';

const client = (id: string, tier: ClientContext['tier'] = 'basic'): ClientContext => ({ id, name: id, tier, settings: {} as ClientContext['settings'], apiKeyId: `k-${id}` });
// Sessions that never get an offer hold no peer: the fake module is only loaded, never used.
const fakeWrtc = {} as Wrtc;
const audits: unknown[] = [];
/** Keys refused on re-check (by key id), and the credential-change listeners. */
const refused = new Map<string, 'INVALID_CREDENTIALS' | 'CLIENT_DISABLED' | 'SERVICE_UNAVAILABLE'>();
const listeners = new Set<(clientId: string | null) => void>();
const service = (engineAvailable = true, loadWrtc = async () => fakeWrtc, recheckMs?: number) =>
  new StreamingService({
    // The creation checks are AuthenticationService's (test/integration/streaming-create.test.ts): here only
    // that their refusal reaches the caller.
    authentication: {
      checkCreate: async (_client, input) => {
        if (input.mode === 'verification' && !input.user_id) throw appError('VALIDATION_ERROR');
        return { mode: input.mode ?? 'identification', user: null };
      },
    } as StreamingServiceDeps['authentication'],
    sessions: { sessionStart: async () => ({}) },
    audit: { record: async (e) => void audits.push(e) },
    log: { error: () => {}, warn: () => {} },
    iceServers: [{ urls: 'stun:stun.example.org:3478' }],
    engineAvailable,
    loadWrtc,
    access: {
      recheckKey: async (keyId) => {
        const why = refused.get(keyId);
        if (why) throw appError(why);
      },
    },
    credentials: {
      on: (l) => {
        listeners.add(l);
        return () => void listeners.delete(l);
      },
    },
    recheckMs,
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
  const ids = [(await s.create(a, { timeout: 40 }, meta)).session_id, (await s.create(a, {}, meta)).session_id];
  // Past the limit: when the first of them ends by itself (the 40 s one), as Retry-After and details.
  await assert.rejects(s.create(a, {}, meta), (e) => {
    const err = e as { code: string; headers?: Record<string, string>; details?: { retry_after?: number } };
    assert.equal(err.code, 'STREAMING_LIMIT_EXCEEDED');
    assert.ok(err.details?.retry_after !== undefined && err.details.retry_after >= 39 && err.details.retry_after <= 40, JSON.stringify(err.details));
    assert.equal(err.headers?.['retry-after'], String(err.details.retry_after));
    return true;
  });
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

test("page token: reaches its own session only (not another of the tenant's, not another tenant's), connects only within its window", async () => {
  const s = service();
  const [a, b] = [client('a', 'premium'), client('b')];
  const meta = { ip: null, userAgent: null };
  const mine = await s.create(a, { page_token_ttl: 0.05 }, meta);
  const sibling = await s.create(a, {}, meta);
  const theirs = await s.create(b, {}, meta);
  assert.ok(mine.page_token.length >= 40 && mine.page_token !== sibling.page_token);
  assert.ok(Date.parse(mine.page_token_expires_at) <= Date.now() + 100);
  // Its own session: status with the ICE servers a page needs for its peer connection.
  const seen = s.status({ pageToken: mine.page_token }, mine.session_id);
  assert.equal(seen.session_id, mine.session_id);
  assert.deepEqual(seen.ice_servers, [{ urls: 'stun:stun.example.org:3478' }]);
  // Another tenant's token on this session, this token on a sibling or another tenant's session, a made-up one: unknown.
  for (const [token, id] of [[theirs.page_token, mine.session_id], [mine.page_token, sibling.session_id], [mine.page_token, theirs.session_id], ['x'.repeat(43), mine.session_id]] as const) {
    assert.throws(() => s.status({ pageToken: token }, id), (e) => code(e) === 'SESSION_NOT_FOUND');
    await assert.rejects(s.offer({ pageToken: token }, id, 'v=0'), (e) => code(e) === 'SESSION_NOT_FOUND');
    assert.throws(() => s.close({ pageToken: token }, id), (e) => code(e) === 'SESSION_NOT_FOUND');
  }
  // Past its window the link cannot connect any more (SESSION_EXPIRED); the tenant's key still can.
  await new Promise((r) => setTimeout(r, 80));
  await assert.rejects(s.offer({ pageToken: mine.page_token }, mine.session_id, 'v=0'), (e) => code(e) === 'SESSION_EXPIRED');
  // It still closes its own session.
  s.close({ pageToken: mine.page_token }, mine.session_id);
  assert.throws(() => s.status(a, mine.session_id), (e) => code(e) === 'SESSION_NOT_FOUND');
  s.closeAll();
});

test("a credential change of a tenant ends its sessions whose key is refused now; other tenants' and an unreachable database's stay", async () => {
  const listening = listeners.size;
  const s = service();
  assert.equal(listeners.size, listening + 1);
  const [a, b, c] = [client('ra', 'premium'), client('rb'), client('rc')];
  const meta = { ip: '10.0.0.1', userAgent: null };
  const [sa, sb, sc] = [await s.create(a, {}, meta), await s.create(b, {}, meta), await s.create(c, {}, meta)];
  refused.set(a.apiKeyId, 'INVALID_CREDENTIALS');
  refused.set(b.apiKeyId, 'CLIENT_DISABLED');
  refused.set(c.apiKeyId, 'SERVICE_UNAVAILABLE');
  listeners.forEach((l) => l('rc'));
  listeners.forEach((l) => l('ra'));
  await new Promise((r) => setTimeout(r, 10));
  assert.throws(() => s.status(a, sa.session_id), (e) => code(e) === 'SESSION_NOT_FOUND', 'the revoked key ended its session');
  assert.equal(s.status(b, sb.session_id).status, 'created', "another tenant's change is not this one's");
  assert.equal(s.status(c, sc.session_id).status, 'created', 'a database that does not answer ends nothing');
  // Notices may have been missed (Redis reconnected): every tenant's sessions check again.
  listeners.forEach((l) => l(null));
  await new Promise((r) => setTimeout(r, 10));
  assert.throws(() => s.status(b, sb.session_id), (e) => code(e) === 'SESSION_NOT_FOUND', 'the disabled client ended its session');
  s.closeAll();
  assert.equal(listeners.size, listening, 'closeAll stops listening');
});

test('every session re-checks its key periodically too (a notice lost while Redis was away)', async () => {
  const s = service(true, async () => fakeWrtc, 20);
  const d = client('rd');
  const sd = await s.create(d, {}, { ip: null, userAgent: null });
  refused.set(d.apiKeyId, 'CLIENT_DISABLED');
  await new Promise((r) => setTimeout(r, 60));
  assert.throws(() => s.status(d, sd.session_id), (e) => code(e) === 'SESSION_NOT_FOUND');
  s.closeAll();
});
