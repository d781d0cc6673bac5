// WebRTC streaming (R2) end to end: a real app on an ephemeral port with the real engine, and a Node
// WebRTC client (child process, test/helpers/webrtc-client.ts) sending a real video as its camera track.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, postForm, type Tenant } from '../helpers/face-fixtures.ts';
import type { ClientEvent, ClientJob } from '../helpers/webrtc-client.ts';
import { testDataDir } from '../../src/config/env.ts';
import { readMjpegFrames } from '../../src/vision/mjpeg.ts';
import { stretchBlink } from '../../scripts/lib/attacks.ts';

const BLINK = path.join(testDataDir(), 'video/fakecam/talking_blink_aoc_512x512_25fps.mjpeg');
const STRANGER = path.join(testDataDir(), 'faces_extra/face_recognition/obama/obama_01.jpg');
const CLIENT = new URL('../helpers/webrtc-client.ts', import.meta.url);

/** Runs the WebRTC client until `done` holds for the events so far (or the timeout); always stops the child. */
async function stream(job: Omit<ClientJob, 'fps'> & { fps?: number }, done: (events: ClientEvent[]) => boolean, timeoutMs = 45_000): Promise<ClientEvent[]> {
  const child = fork(CLIENT, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const events: ClientEvent[] = [];
  const exited = new Promise((r) => child.once('exit', r));
  try {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      child.on('message', (e: ClientEvent) => {
        events.push(e);
        const finished = e.kind === 'failed' || (e.kind === 'session' && e.status !== 201) || (e.kind === 'answer' && e.status !== 200);
        if (finished || done(events)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.send({ fps: 25, ...job });
    });
  } finally {
    if (child.connected) child.send({ stop: true });
    await exited;
  }
  return events;
}

const messages = (events: ClientEvent[]) => events.flatMap((e) => (e.kind === 'message' ? [e.message] : []));

describe('WebRTC streaming /api/streaming/sessions/ [pglite]', () => {
  const t = useTestApp('pglite', { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
  let base = '';
  let tenant: Tenant;
  let other: Tenant;

  before(async () => {
    const { app } = t();
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    tenant = await createTenant(app, 'Streaming');
    other = await createTenant(app, 'Other tenant', 'basic');
    await createUser(app, tenant, 'AOC', 'Talking Blink');
    const res = await postForm(app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: 'AOC' }, { name: 'image', value: readMjpegFrames(BLINK)[0] }, { name: 'quality_threshold', value: '0.3' }]);
    assert.equal(res.statusCode, 201, res.body);
  });

  // node-webrtc crashes if it finalises received tracks while the process exits: collect them now
  // (the app has closed every peer connection and dropped its references).
  after(() => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    gc();
    gc();
  });

  const api = (method: string, url: string, who: Tenant, payload?: unknown) =>
    t().app.inject({ method: method as 'GET', url, headers: { authorization: who.auth, ...(payload ? { 'content-type': 'application/json' } : {}) }, ...(payload ? { payload: payload as object } : {}) });

  test('identification: the enrolled person on the camera track comes back over the data channel, recorded once per appearance', async () => {
    const tracked = t().container.engine!.status().tracking.frames;
    const db = t().container.database.db;
    const attempts = async () => (await db.selectFrom('auth_attempts').select((eb) => eb.fn.countAll<number>().as('n')).where('client_id', '=', tenant.clientId).executeTakeFirstOrThrow()).n;
    const before = Number(await attempts());
    // Five answers that find AOC: the same person continuously in view.
    const events = await stream({ base, auth: tenant.auth, session: { session_type: 'webrtc', mode: 'identification' }, source: { video: BLINK } }, (ev) =>
      messages(ev).filter((m) => m.type === 'recognition_result' && m.result?.result?.matches?.[0]?.user_id === 'AOC').length >= 5,
    );
    const session = events.find((e) => e.kind === 'session') as Extract<ClientEvent, { kind: 'session' }>;
    assert.equal(session.status, 201, JSON.stringify(session.body));
    assert.deepEqual([session.body.session_type, session.body.mode, session.body.ice_servers, session.body.data_channel], ['webrtc', 'identification', [], 'results']);
    assert.ok(Date.parse(session.body.expires_at) > Date.now());
    const answer = events.find((e) => e.kind === 'answer') as Extract<ClientEvent, { kind: 'answer' }>;
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.type, 'answer');
    assert.match(answer.body.sdp, /a=candidate:/, 'non-trickle: the answer carries the server candidates');
    const hit = messages(events).find((m) => m.type === 'recognition_result');
    assert.ok(hit, JSON.stringify(messages(events).slice(0, 5)));
    assert.equal(hit.result.status, 'completed');
    assert.equal(hit.result.result.matches[0].user_id, 'AOC');
    assert.equal(hit.faces_detected, 1);
    assert.equal(typeof hit.timestamp, 'number');
    // The camera track's frames go through the engine as a tracked stream (docs/vision.md, "Tracking in streams").
    assert.ok(t().container.engine!.status().tracking.frames > tracked, 'the stream frames were tracked');
    // The child is gone: the server notices the closed peer, or the test closes the session itself.
    const status = await api('GET', `/api/streaming/sessions/${session.body.session_id}/`, tenant);
    if (status.statusCode === 200) {
      assert.ok(status.json().stats.frames_processed >= 1);
      assert.ok(status.json().stats.frames_received >= status.json().stats.frames_processed);
      assert.equal((await api('DELETE', `/api/streaming/sessions/${session.body.session_id}/`, tenant)).statusCode, 204);
    }
    assert.equal((await api('GET', `/api/streaming/sessions/${session.body.session_id}/`, tenant)).statusCode, 404);
    // One decision for the appearance, not one per frame (docs/realtime.md, "Decisions recorded").
    assert.equal(Number(await attempts()) - before, 1);
  });

  test('require_liveness with the blink challenge: the stream completes the challenge and identifies AOC', async () => {
    const decided = (m: any) => m.type === 'recognition_result' && m.result?.status && m.result.status !== 'processing';
    const events = await stream(
      { base, auth: tenant.auth, session: { session_type: 'webrtc', mode: 'verification', user_id: 'AOC', require_liveness: true, liveness_challenges: ['blink'], challenge_timeout: 60, max_fps: 15 }, source: { video: BLINK } },
      (ev) => messages(ev).some(decided),
      60_000,
    );
    const all = messages(events);
    assert.ok(all.some((m) => m.type === 'recognition_result' && m.result.status === 'processing' && m.result.liveness?.current_challenge === 'blink'), 'challenge progress is streamed');
    const final = all.find(decided);
    assert.ok(final, JSON.stringify(all.slice(-3)));
    assert.equal(final.result.status, 'completed', JSON.stringify(final.result));
    assert.equal(final.result.liveness_result.passed, true);
    assert.deepEqual(final.result.liveness_result.challenges_completed, ['blink']);
    assert.equal(final.result.result.authenticated, true);
  });

  test('attack over WebRTC: a still of AOC with stretch "blinks" and jitter, as the camera track, never passes the blink challenge', async () => {
    // The passive score is not used on WebRTC frames (the codec's artefacts read as a screen): the challenge
    // and motion rules alone must refuse the warped still (docs/streaming.md).
    const still = readMjpegFrames(BLINK)[0]!;
    const attack = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-rtc-attack-')), 'stretch.mjpeg');
    fs.writeFileSync(attack, Buffer.concat(await stretchBlink(still, 1.4, 60)));
    const decided = (m: any) => m.type === 'recognition_result' && m.result?.status && m.result.status !== 'processing';
    const events = await stream(
      { base, auth: tenant.auth, session: { session_type: 'webrtc', mode: 'verification', user_id: 'AOC', require_liveness: true, liveness_challenges: ['blink'], challenge_timeout: 5, max_fps: 12 }, source: { video: attack }, fps: 12 },
      (ev) => messages(ev).some(decided),
      60_000,
    );
    const all = messages(events);
    assert.ok(all.some((m) => m.type === 'recognition_result'), JSON.stringify(all.slice(0, 3)));
    assert.ok(!all.some((m) => m.result?.status === 'completed'), 'the attack was never authenticated');
    const final = all.find(decided);
    assert.ok(final, `decided by the challenge timeout: ${JSON.stringify(all.slice(-2))}`);
    assert.equal(final.result.status, 'failed');
    assert.equal(final.result.liveness_result.passed, false);
    assert.equal(final.result.result.user_id, null, 'a failed liveness names nobody');
  });

  test('an unknown person (another photo as the camera) is not matched', async () => {
    const events = await stream({ base, auth: tenant.auth, session: { session_type: 'webrtc', mode: 'identification' }, source: { image: STRANGER }, fps: 10 }, (ev) =>
      messages(ev).some((m) => m.type === 'recognition_result'),
    );
    const result = messages(events).find((m) => m.type === 'recognition_result');
    assert.ok(result, JSON.stringify(messages(events).slice(0, 3)));
    assert.deepEqual([result.result.status, result.result.result.matches, result.result.result.failure_reason], ['failed', [], 'NO_MATCH']);
  });

  test('a page without the secret: the page token reaches its own session (status, offer, DELETE), not another tenant\'s; no header is 401', async () => {
    const withToken = (method: string, url: string, token: string, payload?: unknown) =>
      t().app.inject({ method: method as 'GET', url, headers: { 'x-stream-token': token, ...(payload ? { 'content-type': 'application/json' } : {}) }, ...(payload ? { payload: payload as object } : {}) });
    const created = await api('POST', '/api/streaming/sessions/', tenant, { session_type: 'webrtc', page_token_ttl: 60 });
    assert.equal(created.statusCode, 201, created.body);
    const { session_id: id, page_token: token, page_token_expires_at: until } = created.json();
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(Math.abs(Date.parse(until) - Date.now() - 60_000) < 5000, until);
    const theirs = (await api('POST', '/api/streaming/sessions/', other, { session_type: 'webrtc' })).json();
    // The page reads what it needs for its peer connection with the token alone.
    const status = await withToken('GET', `/api/streaming/sessions/${id}/`, token);
    assert.equal(status.statusCode, 200, status.body);
    assert.deepEqual([status.json().session_id, status.json().data_channel, status.json().ice_servers], [id, 'results', []]);
    assert.equal(status.json().page_token, undefined, 'the token is given once, at creation');
    // Another tenant's token on this session, and this token on theirs: unknown, exactly like a wrong id.
    for (const [tok, sid] of [[theirs.page_token, id], [token, theirs.session_id]]) {
      for (const [method, url, body] of [['GET', `/api/streaming/sessions/${sid}/`], ['POST', `/api/streaming/sessions/${sid}/offer/`, { type: 'offer', sdp: 'v=0' }], ['DELETE', `/api/streaming/sessions/${sid}/`]] as const) {
        const res = await withToken(method, url, tok, body);
        assert.deepEqual([res.statusCode, res.json().code], [404, 'SESSION_NOT_FOUND'], `${method} ${url}`);
      }
    }
    // Neither a key nor a token: 401 as before.
    assert.equal((await t().app.inject({ method: 'GET', url: `/api/streaming/sessions/${id}/` })).statusCode, 401);
    // The token's offer goes through to the peer (a bad SDP is INVALID_SDP, not an auth error) …
    const sdp = await withToken('POST', `/api/streaming/sessions/${id}/offer/`, token, { type: 'offer', sdp: 'v=0 not an sdp' });
    assert.deepEqual([sdp.statusCode, sdp.json().code], [400, 'INVALID_SDP']);
    // … and it closes its own session; the other tenant's is untouched.
    const fresh = (await api('POST', '/api/streaming/sessions/', tenant, { session_type: 'webrtc' })).json();
    assert.equal((await withToken('DELETE', `/api/streaming/sessions/${fresh.session_id}/`, fresh.page_token)).statusCode, 204);
    assert.equal((await api('GET', `/api/streaming/sessions/${fresh.session_id}/`, tenant)).statusCode, 404);
    assert.equal((await api('GET', `/api/streaming/sessions/${theirs.session_id}/`, other)).statusCode, 200);
    assert.equal((await api('DELETE', `/api/streaming/sessions/${theirs.session_id}/`, other)).statusCode, 204);
    const ttl = await api('POST', '/api/streaming/sessions/', tenant, { session_type: 'webrtc', page_token_ttl: 5 });
    assert.deepEqual([ttl.statusCode, ttl.json().code], [400, 'VALIDATION_ERROR']);
  });

  test('validation, bad SDP, one offer per session, tenant isolation, DELETE, per-tier limit, OpenAPI', async () => {
    const bad = await api('POST', '/api/streaming/sessions/', tenant, { session_type: 'webrtc', mode: 'verification' });
    assert.deepEqual([bad.statusCode, bad.json().code], [400, 'VALIDATION_ERROR']);
    const kind = await api('POST', '/api/streaming/sessions/', tenant, { session_type: 'websocket' });
    assert.deepEqual([kind.statusCode, kind.json().code], [400, 'VALIDATION_ERROR']);
    const fps = await api('POST', '/api/streaming/sessions/', tenant, { session_type: 'webrtc', max_fps: 100 });
    assert.deepEqual([fps.statusCode, fps.json().code], [400, 'VALIDATION_ERROR']);
    assert.equal((await t().app.inject({ method: 'POST', url: '/api/streaming/sessions/', payload: { session_type: 'webrtc' } })).statusCode, 401);
    // Thresholds below the calibrated floor are refused at creation, as on every other path (they were
    // accepted, counted against the stream limits, and then every frame failed on the data channel).
    for (const [body, field] of [
      [{ mode: 'identification', search_threshold: 0.1 }, 'search_threshold'],
      [{ mode: 'verification', user_id: 'AOC', confidence_threshold: 0.1 }, 'confidence_threshold'],
    ] as const) {
      const low = await api('POST', '/api/streaming/sessions/', tenant, { session_type: 'webrtc', ...body });
      assert.deepEqual([low.statusCode, low.json().code, low.json().details?.field], [400, 'VALIDATION_ERROR', field], low.body);
      assert.ok(low.json().details.minimum > 0.1);
    }

    const created = await api('POST', '/api/streaming/sessions/', tenant, { session_type: 'webrtc' });
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json().session_id as string;
    const sdp = await api('POST', `/api/streaming/sessions/${id}/offer/`, tenant, { type: 'offer', sdp: 'v=0 not an sdp' });
    assert.deepEqual([sdp.statusCode, sdp.json().code], [400, 'INVALID_SDP']);
    const again = await api('POST', `/api/streaming/sessions/${id}/offer/`, tenant, { type: 'offer', sdp: 'v=0' });
    assert.equal(again.statusCode, 404, 'a failed offer closes the session');

    const mine = (await api('POST', '/api/streaming/sessions/', tenant, { session_type: 'webrtc' })).json().session_id as string;
    const unknown = await api('GET', '/api/streaming/sessions/00000000-0000-4000-8000-000000000000/', tenant);
    assert.deepEqual([unknown.statusCode, unknown.json().code], [404, 'SESSION_NOT_FOUND']);
    for (const [method, url, body] of [
      ['GET', `/api/streaming/sessions/${mine}/`, undefined],
      ['POST', `/api/streaming/sessions/${mine}/offer/`, { type: 'offer', sdp: 'v=0' }],
      ['DELETE', `/api/streaming/sessions/${mine}/`, undefined],
    ] as const) {
      const res = await api(method, url, other, body);
      assert.deepEqual([res.statusCode, res.json().code], [404, 'SESSION_NOT_FOUND'], `${method} ${url} by another tenant`);
    }
    assert.equal((await api('GET', `/api/streaming/sessions/${mine}/`, tenant)).json().status, 'created');
    assert.equal((await api('DELETE', `/api/streaming/sessions/${mine}/`, tenant)).statusCode, 204);
    assert.equal((await api('GET', `/api/streaming/sessions/${mine}/`, tenant)).statusCode, 404);

    // basic tier: 2 concurrent sessions
    const a = await api('POST', '/api/streaming/sessions/', other, { session_type: 'webrtc' });
    const b = await api('POST', '/api/streaming/sessions/', other, { session_type: 'webrtc' });
    assert.deepEqual([a.statusCode, b.statusCode], [201, 201]);
    const c = await api('POST', '/api/streaming/sessions/', other, { session_type: 'webrtc' });
    assert.deepEqual([c.statusCode, c.json().code, c.json().details.max_sessions], [429, 'STREAMING_LIMIT_EXCEEDED', 2]);
    // When the first of the two ends by its timeout (the default 600 s), as Retry-After and in the details.
    assert.ok(c.json().details.retry_after >= 598 && c.json().details.retry_after <= 600, JSON.stringify(c.json().details));
    assert.equal(c.headers['retry-after'], String(c.json().details.retry_after));
    assert.equal((await api('DELETE', `/api/streaming/sessions/${a.json().session_id}/`, other)).statusCode, 204);
    assert.equal((await api('POST', '/api/streaming/sessions/', other, { session_type: 'webrtc' })).statusCode, 201);

    const paths = Object.keys((await t().app.inject({ method: 'GET', url: '/api/openapi.json' })).json().paths);
    for (const p of ['/api/v1/streaming/sessions/', '/api/v1/streaming/sessions/{session_id}/offer/', '/api/v1/streaming/sessions/{session_id}/']) assert.ok(paths.includes(p), p);
  });
});
