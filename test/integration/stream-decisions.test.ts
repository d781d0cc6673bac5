import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import { testDataDir } from '../../src/config/env.ts';
import { readMjpegFrames } from '../../src/vision/mjpeg.ts';
import { STREAM_DECISIONS } from '../../src/ws/stream-decisions.ts';
import { ADMIN_TOKEN, useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, dataFile, postForm, type Tenant } from '../helpers/face-fixtures.ts';
import { WsClient, binaryFrame } from '../helpers/ws-client.ts';

/**
 * Writes per stream frame (issue 11): a tracked WebSocket identification stream records one decision
 * (attempt + event) per person appearance, not one per frame; a second person entering is a second.
 */
const clip = (file: string, count: number) => readMjpegFrames(path.join(testDataDir(), 'video/fakecam', file)).filter((_, i) => i % 2 === 0).slice(0, count);
// 3 s of a camera at 10 frames/s: the talking clip (every 2nd frame of 25 fps), one face in view throughout.
const TALKING = clip('talking_blink_aoc_512x512_25fps.mjpeg', 30);
const PERSON_A = readMjpegFrames(path.join(testDataDir(), 'video/fakecam/personA_live_headturn_640x360_15fps.mjpeg')).slice(0, 20);
const STRANGER = clip('liveportrait_d0_512x512_25fps.mjpeg', 30);
const OBAMA = 'faces_extra/face_recognition/obama/obama_01.jpg';

describe('stream decisions: one per person appearance [pglite]', () => {
  const t = useTestApp('pglite', { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
  let url = '';

  before(async () => {
    const { app } = t();
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/ws/recognition/`;
  });

  /** A tenant of its own (its attempts and events counted alone), with talking, personA and obama enrolled. */
  async function tenant(name: string) {
    const { app } = t();
    const res = await app.inject({ method: 'POST', url: '/api/admin/clients/', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload: { name, tier: 'enterprise' } });
    const key = { api_key: res.json().api_key as string, secret_key: res.json().secret_key as string };
    const ten: Tenant = { clientId: res.json().client_id, auth: `ApiKey ${key.api_key}:${key.secret_key}` };
    for (const [user, image] of [['talking', TALKING[0]], ['personA', PERSON_A[0]], ['obama', dataFile(OBAMA)]] as const) {
      await app.inject({ method: 'POST', url: '/api/clients/users/', headers: { authorization: ten.auth }, payload: { external_id: user, name: user } });
      const enrolled = await postForm(app, '/api/auth/enrollment/direct/', ten, [{ name: 'user_id', value: user }, { name: 'quality_threshold', value: '0.2' }, { name: 'image', value: image, filename: 'a.jpg' }]);
      assert.equal(enrolled.statusCode, 201, enrolled.body);
    }
    return { key, clientId: ten.clientId };
  }

  /** Plays frames at 10 frames/s over one connection (binary, one in flight), closes, and returns the top match per frame. */
  async function play(key: { api_key: string; secret_key: string }, frames: Buffer[], tracking = true): Promise<string[]> {
    const c = await WsClient.authenticated(url, key.api_key, key.secret_key);
    const out: string[] = [];
    for (const [i, f] of frames.entries()) {
      c.send(binaryFrame(f, { timestamp: i, options: { mode: 'identification', tracking } }));
      const m = await c.next(60_000);
      out.push(m.type === 'recognition_result' ? ((m.result as { result: { matches: Array<{ user_id: string }> } }).result.matches[0]?.user_id ?? 'none') : m.type === 'error' ? m.code : m.type);
    }
    c.close();
    await c.closed;
    return out;
  }

  /** The tenant's attempts (oldest first) and authentication events, once the stream's last write has landed. */
  async function records(clientId: string, expected: number) {
    const db = t().container.database.db;
    const read = async () => ({
      attempts: await db.selectFrom('auth_attempts as a').leftJoin('users as u', 'u.id', 'a.user_id').select(['a.outcome', 'a.failure_reason', 'u.external_id']).where('a.client_id', '=', clientId).orderBy('a.created_at').execute(),
      events: (await db.selectFrom('events').select(['event_type']).where('client_id', '=', clientId).where('event_type', 'like', 'authentication.%').execute()).map((e) => e.event_type),
    });
    // The failure of an appearance that ends unrecognised is written after the connection closes.
    for (let i = 0; i < 50; i++) {
      const r = await read();
      if (r.attempts.length >= expected) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    return read();
  }

  test('a 3 s stream of one person writes one identification attempt and one event', async () => {
    const { key, clientId } = await tenant('one-person');
    const seen = await play(key, TALKING);
    assert.ok(seen.filter((u) => u === 'talking').length >= 27, seen.join(' '));
    const r = await records(clientId, 1);
    assert.deepEqual(r.attempts.map((a) => [a.outcome, a.external_id]), [['success', 'talking']]);
    assert.deepEqual(r.events, ['authentication.success']);
  });

  test('a second person entering (the new main face) is a second decision', async () => {
    const { key, clientId } = await tenant('two-people');
    const obama = await sharp(dataFile(OBAMA)).extract({ left: 200, top: 150, width: 520, height: 520 }).resize(300, 300).toBuffer();
    // Person A's camera (640×360); from frame 7 on, a larger face is in the top-left corner.
    const ENTERS = 7;
    const frames = await Promise.all(PERSON_A.map((f, i) => (i < ENTERS ? f : sharp(f).composite([{ input: obama, left: 0, top: 0 }]).jpeg({ quality: 90 }).toBuffer())));
    const seen = await play(key, frames);
    assert.deepEqual(seen.slice(0, ENTERS), Array(ENTERS).fill('personA'));
    assert.equal(seen.at(-1), 'obama', seen.join(' '));
    const r = await records(clientId, 2);
    assert.deepEqual(r.attempts.map((a) => [a.outcome, a.external_id]), [['success', 'personA'], ['success', 'obama']]);
    assert.deepEqual(r.events, ['authentication.success', 'authentication.success']);
  });

  test(`an unknown face is one failed decision (after ${STREAM_DECISIONS.FAIL_AFTER_FRAMES} frames, or when it leaves sooner); tracking: false still writes every frame`, async () => {
    const { key, clientId } = await tenant('stranger');
    const seen = await play(key, STRANGER);
    assert.deepEqual(seen, Array(STRANGER.length).fill('none'));
    const r = await records(clientId, 1);
    assert.deepEqual(r.attempts.map((a) => [a.outcome, a.failure_reason]), [['failed', 'NO_MATCH']]);
    assert.deepEqual(r.events, ['authentication.failed']);
    // Shorter than FAIL_AFTER_FRAMES: written when the stream ends.
    const brief = await tenant('stranger-brief');
    await play(brief.key, STRANGER.slice(0, 4));
    assert.deepEqual((await records(brief.clientId, 1)).attempts.map((a) => [a.outcome, a.failure_reason]), [['failed', 'NO_MATCH']]);
    const full = await tenant('stranger-untracked');
    await play(full.key, STRANGER.slice(0, 10), false);
    const untracked = await records(full.clientId, 10);
    assert.equal(untracked.attempts.length, 10, 'the full pipeline (tracking: false) records every frame, as before');
  });

  test(`within one appearance the users' rows are read at most every ${STREAM_DECISIONS.REUSE_MS} ms; a user deactivated while in view stops being recognised within that`, async () => {
    const { app, container } = t();
    const { key, clientId } = await tenant('reuse');
    const gallery = container.face.gallery;
    const usersOf = gallery.usersOf.bind(gallery);
    let reads = 0;
    gallery.usersOf = (cid, hits) => (cid === clientId && reads++, usersOf(cid, hits));
    try {
      // 10 frames/s of one person in view; 'talking' is deactivated after frame 10.
      const c = await WsClient.authenticated(url, key.api_key, key.secret_key);
      const answers: Array<{ user: string; at: number }> = [];
      let deactivatedAt = Infinity;
      const start = performance.now();
      for (const [i, f] of TALKING.entries()) {
        const wait = start + i * 100 - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (i === 10) {
          const res = await app.inject({ method: 'POST', url: '/api/clients/users/talking/deactivate/', headers: { authorization: `ApiKey ${key.api_key}:${key.secret_key}` } });
          assert.equal(res.statusCode, 200, res.body);
          deactivatedAt = performance.now();
        }
        c.send(binaryFrame(f, { timestamp: i, options: { mode: 'identification' } }));
        const m = await c.next(60_000);
        const user = m.type === 'recognition_result' ? ((m.result as { result: { matches: Array<{ user_id: string }> } }).result.matches[0]?.user_id ?? 'none') : m.type;
        answers.push({ user, at: performance.now() });
      }
      c.close();
      await c.closed;
      const before = answers.slice(0, 10), late = answers.filter((a) => a.at > deactivatedAt + STREAM_DECISIONS.REUSE_MS + 200);
      assert.ok(before.every((a) => a.user === 'talking'), before.map((a) => a.user).join(' '));
      assert.ok(late.length >= 5 && late.every((a) => a.user === 'none'), answers.map((a) => a.user).join(' '));
      // 3 s in view: about one read a second (the appearance's first frame, then each reuse window), not 30.
      assert.ok(reads <= 8, `${reads} reads of the users' rows for ${TALKING.length} frames`);
      const r = await records(clientId, 1);
      assert.deepEqual(r.attempts.map((a) => [a.outcome, a.external_id]), [['success', 'talking']]);
    } finally {
      gallery.usersOf = usersOf;
    }
  });

  test('a verification stream reads the claimed user on every frame: deactivated while in view, the next frame is refused (USER_INACTIVE)', async () => {
    const { app } = t();
    const { key } = await tenant('verify-fresh');
    const c = await WsClient.authenticated(url, key.api_key, key.secret_key);
    const answers: string[] = [];
    for (const [i, f] of TALKING.slice(0, 16).entries()) {
      if (i === 8) {
        const res = await app.inject({ method: 'POST', url: '/api/clients/users/talking/deactivate/', headers: { authorization: `ApiKey ${key.api_key}:${key.secret_key}` } });
        assert.equal(res.statusCode, 200, res.body);
      }
      c.send(binaryFrame(f, { timestamp: i, options: { mode: 'verification', user_id: 'talking' } }));
      const m = await c.next(60_000);
      const r = m.type === 'recognition_result' ? (m.result as { result: { authenticated: boolean; failure_reason?: string } }).result : null;
      answers.push(r ? (r.authenticated ? 'ok' : (r.failure_reason ?? 'refused')) : m.type);
    }
    c.close();
    await c.closed;
    // The templates may be reused within the appearance; the user's row (is_active) never is.
    assert.deepEqual(answers, [...Array(8).fill('ok'), ...Array(8).fill('USER_INACTIVE')], answers.join(' '));
  });
});
