import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import { testDataDir } from '../../src/config/env.ts';
import { StreamTrack, TRACKING, withStreamTrack } from '../../src/vision/index.ts';
import { readMjpegFrames } from '../../src/vision/mjpeg.ts';
import type { AnalyzeResult, FaceEngine } from '../../src/vision/types.ts';
import { ADMIN_TOKEN, useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, dataFile, postForm, type Tenant } from '../helpers/face-fixtures.ts';
import { WsClient, jpegDataUrl } from '../helpers/ws-client.ts';

/**
 * Tracking in streams (issue 11): a WebSocket stream follows its face, so the detector and the
 * recogniser run on a fraction of the frames, with the same identities as the full pipeline; a second
 * face entering the picture is seen within TRACKING.DETECT_EVERY frames.
 */
const clip = (file: string, step: number, count: number) =>
  readMjpegFrames(path.join(testDataDir(), 'video/fakecam', file)).filter((_, i) => i % step === 0).slice(0, count);
const PERSON_A = clip('personA_live_headturn_640x360_15fps.mjpeg', 1, 30);
const TALKING = clip('talking_blink_aoc_512x512_25fps.mjpeg', 2, 30);
const OBAMA = 'faces_extra/face_recognition/obama/obama_01.jpg';

describe('tracking in streams [pglite]', () => {
  const t = useTestApp('pglite', { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
  let url = '';
  let key = { api_key: '', secret_key: '' };
  let engine: FaceEngine;

  before(async () => {
    const { app, container } = t();
    engine = container.engine!;
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/ws/recognition/`;
    const res = await app.inject({ method: 'POST', url: '/api/admin/clients/', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload: { name: 'tracking', tier: 'enterprise' } });
    key = { api_key: res.json().api_key, secret_key: res.json().secret_key };
    const tenant: Tenant = { clientId: res.json().client_id, auth: `ApiKey ${key.api_key}:${key.secret_key}` };
    for (const [user, image] of [['personA', PERSON_A[0]], ['talking', TALKING[0]], ['obama', dataFile(OBAMA)]] as const) {
      await app.inject({ method: 'POST', url: '/api/clients/users/', headers: { authorization: tenant.auth }, payload: { external_id: user, name: user } });
      const enrolled = await postForm(app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: user }, { name: 'quality_threshold', value: '0.2' }, { name: 'image', value: image, filename: 'a.jpg' }]);
      assert.equal(enrolled.statusCode, 201, enrolled.body);
    }
  });

  /** Plays frames over one connection, one at a time; returns each frame's top match (or error code). */
  async function play(frames: Buffer[], tracking: boolean): Promise<string[]> {
    const c = await WsClient.authenticated(url, key.api_key, key.secret_key);
    const out: string[] = [];
    for (let i = 0; i < frames.length; i++) {
      c.send({ type: 'process_frame', frame: jpegDataUrl(frames[i]), timestamp: i, options: { mode: 'identification', tracking } });
      const m = await c.next(60_000);
      if (m.type === 'recognition_result') out.push((m.result as { result?: { matches?: Array<{ user_id: string }> } }).result?.matches?.[0]?.user_id ?? 'none');
      else out.push(m.type === 'error' ? m.code : m.type);
    }
    c.close();
    return out;
  }

  test('a tracked stream runs the detector and the recogniser on a fraction of its frames, with the same identities', async () => {
    for (const [frames, person] of [[PERSON_A, 'personA'], [TALKING, 'talking']] as const) {
      const before = engine.status().tracking;
      const tracked = await play(frames, true);
      const after = engine.status().tracking;
      const full = await play(frames, false);
      assert.equal(engine.status().tracking.frames, after.frames, 'tracking: false runs the full pipeline');
      assert.deepEqual(tracked, full, `${person}: the identity on every frame is the same with tracking on and off`);
      assert.ok(full.filter((u) => u === person).length >= frames.length * 0.9, `${person} is recognised: ${full.join(' ')}`);
      const n = after.frames - before.frames;
      const detectorRuns = after.detectorRuns - before.detectorRuns;
      const embeddings = after.embeddings - before.embeddings;
      assert.equal(n, frames.length, 'every frame of the stream was tracked');
      assert.ok(detectorRuns <= Math.ceil(frames.length / TRACKING.DETECT_EVERY) + 2, `${person}: detector ran on ${detectorRuns} of ${n} frames`);
      // On the detector's turn the followed face is confirmed by the boxes alone (no landmarks fitted
      // afresh): every periodic turn but those where the fit was lost.
      const confirmations = after.confirmations - before.confirmations;
      assert.ok(confirmations >= Math.floor(frames.length / TRACKING.DETECT_EVERY) - 2, `${person}: ${confirmations} of ${detectorRuns} detector runs confirmed the followed face`);
      assert.ok(embeddings <= frames.length / 2, `${person}: recogniser ran on ${embeddings} of ${n} frames`);
    }
  });

  test(`a second face entering the picture is seen within ${TRACKING.DETECT_EVERY} frames; a new main face is recognised afresh`, async () => {
    const obama = dataFile(OBAMA);
    // Person A's stream; from frame ENTERS on, a second person is in the top-left corner: small (a
    // bystander), or large (the new main face). Frame 0 ran the detector and the track's next turn comes
    // within DETECT_EVERY frames (each track's phase differs: newTrackSinceDetect), so a face entering on
    // frame 1 can meet the longest wait, the bound itself.
    const ENTERS = 1;
    const withSecond = async (frame: Buffer, side: number) => {
      const face = await sharp(obama).extract({ left: 200, top: 150, width: 520, height: 520 }).resize(side, side).toBuffer();
      return sharp(frame).composite([{ input: face, left: 0, top: 0 }]).jpeg({ quality: 90 }).toBuffer();
    };
    for (const side of [100, 300]) {
      const frames = await Promise.all(PERSON_A.slice(0, TRACKING.DETECT_EVERY + 4).map((f, i) => (i < ENTERS ? f : withSecond(f, side))));
      const track = new StreamTrack();
      const results: AnalyzeResult[] = [];
      for (const f of frames) results.push(await withStreamTrack(track, () => engine.analyze(f, { multiple: 'largest', embed: true })));
      const seenAt = results.findIndex((r, i) => i >= ENTERS && (r.tracking?.faces ?? 0) >= 2);
      assert.ok(seenAt >= ENTERS && seenAt - ENTERS < TRACKING.DETECT_EVERY, `second face (${side} px) seen at frame ${seenAt}`);
      assert.ok(results.slice(0, ENTERS).every((r) => r.tracking?.faces === 1));
      const anchorA = results[0].faces[0].embedding!;
      const obamaRef = (await engine.analyze(obama, { multiple: 'largest', embed: true })).faces[0].embedding!;
      const isObama = (r: AnalyzeResult) => engine.similarity(r.faces[0].embedding!, obamaRef) > engine.similarity(r.faces[0].embedding!, anchorA);
      if (side === 100) {
        assert.ok(results.every((r) => !isObama(r)), 'a bystander does not replace the followed face');
      } else {
        // The larger face becomes the main face on the frame it is seen, with its own embedding.
        assert.ok(isObama(results[seenAt]) && results[seenAt].tracking!.embedded, 'the new main face is recognised on the frame it is seen');
        assert.ok(results.slice(seenAt).every(isObama));
      }
    }
  });
  test(`an empty stream searches wide only every ${TRACKING.WIDE_EVERY} frames: an upright face is found at once, a sideways one within ${TRACKING.WIDE_EVERY - 1} frames`, async () => {
    const grey = await sharp({ create: { width: 640, height: 360, channels: 3, background: '#7a7a7a' } }).jpeg().toBuffer();
    const sideways = await Promise.all(PERSON_A.slice(0, 8).map((f) => sharp(f).rotate(90).jpeg({ quality: 90 }).toBuffer()));
    const sidewaysSeenAt: number[] = [];
    for (const [kind, faceFrames] of [['upright', PERSON_A.slice(0, 8)], ['sideways', sideways]] as const) {
      // Each time after a different number of empty frames, so every phase of the wide search is met.
      for (let empty = 1; empty <= TRACKING.WIDE_EVERY; empty++) {
        const track = new StreamTrack();
        const answers: string[] = [];
        for (const f of [...Array.from({ length: empty }, () => grey), ...faceFrames]) {
          answers.push(await withStreamTrack(track, () => engine.analyze(f, { multiple: 'largest', embed: true })).then(() => 'face', (e: { code?: string }) => e.code ?? 'error'));
        }
        const seenAt = answers.indexOf('face') - empty;
        assert.ok(answers.slice(0, empty).every((a) => a === 'NO_FACE_DETECTED'), answers.join(' '));
        if (kind === 'upright') assert.equal(seenAt, 0, `upright face after ${empty} empty frames: ${answers.join(' ')}`);
        else assert.ok(seenAt >= 0 && seenAt < TRACKING.WIDE_EVERY, `sideways face after ${empty} empty frames: ${answers.join(' ')}`);
        if (kind === 'sideways') sidewaysSeenAt.push(seenAt);
      }
    }
    // The saving: the empty frames between wide searches ran the plain detector only, so the sideways
    // face was found late in all phases but the one where it arrived on a wide frame.
    assert.deepEqual(sidewaysSeenAt.map((d) => d > 0), Array.from({ length: TRACKING.WIDE_EVERY }, (_, i) => i + 1 !== TRACKING.WIDE_EVERY), sidewaysSeenAt.join(' '));
    // The wide search itself still finds the sideways face on a frame of its own (a one-shot call).
    assert.equal((await engine.analyze(sideways[0], { multiple: 'largest', embed: true })).faces.length, 1);
  });
});
