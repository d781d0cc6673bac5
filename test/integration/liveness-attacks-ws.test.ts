// The liveness attacks of liveness-attacks.test.ts over the WebSocket (issue 8): the stream's liveness
// session must refuse what an HTTP session refuses, and reveal nothing when it fails.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { useTestApp } from '../helpers/app.ts';
import { WsClient } from '../helpers/ws-client.ts';
import { TEST_MASTER_KEY, createTenant, createUser, postForm, type Tenant } from '../helpers/face-fixtures.ts';
import { testDataDir } from '../../src/config/env.ts';
import { readMjpegFrames } from '../../src/vision/mjpeg.ts';
import { occludeSweep, panZoom, rollStill, stretchBlink } from '../../scripts/lib/attacks.ts';
import type { ServerMessage } from '../../src/ws/messages.ts';

const SPOOF_DIR = path.join(testDataDir(), 'antispoof/frames');

describe('liveness attacks over the WebSocket [pglite]', () => {
  const t = useTestApp('pglite', { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
  const headturn = readMjpegFrames(path.join(testDataDir(), 'video/fakecam/personA_live_headturn_640x360_15fps.mjpeg'));
  let tenant: Tenant;
  let url = '';
  let key = { api_key: '', secret_key: '' };

  /** Sends frames one at a time until the stream's liveness session decides; returns the last result. */
  const run = async (frames: Buffer[], options: Record<string, unknown>) => {
    const c = await WsClient.authenticated(url, key.api_key, key.secret_key);
    let out: Record<string, any> = {};
    try {
      for (let i = 0; i < frames.length; i++) {
        c.send({ type: 'process_frame', frame: `data:image/jpeg;base64,${frames[i]!.toString('base64')}`, timestamp: i, options: { require_liveness: true, challenge_timeout: 60, ...options } });
        const m = await c.next();
        if (m.type === 'error' && (m as { code: string }).code === 'NO_FACE_DETECTED') continue;
        assert.equal(m.type, 'recognition_result', JSON.stringify(m));
        out = (m as Extract<ServerMessage, { type: 'recognition_result' }>).result as Record<string, any>;
        if (out.status !== 'processing') break;
      }
    } finally {
      c.close();
    }
    return out;
  };

  test('setup: person A enrolled from a live frame; the server listens', async () => {
    const { app } = t();
    tenant = await createTenant(app, 'WS attacks');
    await createUser(app, tenant, 'PERSON_A', 'Person A');
    const res = await postForm(app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: 'PERSON_A' }, { name: 'image', value: headturn[0]! }, { name: 'quality_threshold', value: '0.3' }]);
    assert.equal(res.statusCode, 201, res.body);
    const [k, s] = tenant.auth.replace('ApiKey ', '').split(':');
    key = { api_key: k!, secret_key: s! };
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/ws/recognition/`;
  });

  test('phone-screen replay: refused as SPOOF_DETECTED within a few frames; nothing says whom it matches', async () => {
    const stills = fs.readdirSync(SPOOF_DIR).filter((f) => f.startsWith('personA_spoof_')).sort().map((f) => fs.readFileSync(path.join(SPOOF_DIR, f)));
    for (const mode of ['identification', 'verification'] as const) {
      const out = await run([...stills, ...stills], { mode, ...(mode === 'verification' ? { user_id: 'PERSON_A' } : {}), liveness_challenges: ['blink', 'head_movement'] });
      assert.equal(out.status, 'failed', JSON.stringify(out));
      assert.equal(out.liveness_result.failure_reason, 'SPOOF_DETECTED');
      if (mode === 'verification') assert.deepEqual([out.result.user_id, out.result.user_name, out.result.confidence], [null, null, null]);
      else assert.deepEqual(out.result.matches, []);
    }
  });

  test('a still with stretch "blinks" and a panned/zoomed still never pass blink + head movement', async () => {
    const still = headturn[40]!;
    for (const [name, frames] of [
      ['stretch blink ×1.4', await stretchBlink(still, 1.4, 36)],
      ['pan/zoom', await panZoom(still, 36)],
    ] as const) {
      const out = await run(frames, { mode: 'verification', user_id: 'PERSON_A', liveness_challenges: ['blink', 'head_movement'] });
      assert.notEqual(out.status, 'completed', `${name}: ${JSON.stringify(out)}`);
      assert.notEqual(out.result?.authenticated, true, name);
    }
  });

  test('a photo rolled until the face crosses the border, or half covered by a card (the mesh reads a 25° turn), never passes a head movement', async () => {
    const { app } = t();
    await createUser(app, tenant, 'BIDEN', 'Joe Biden');
    const enrolled = await postForm(app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: 'BIDEN' }, { name: 'image', value: fs.readFileSync(path.join(testDataDir(), 'faces_extra/face_recognition/biden/biden_02.jpg')) }, { name: 'quality_threshold', value: '0.3' }]);
    assert.equal(enrolled.statusCode, 201, enrolled.body);
    const photo = fs.readFileSync(path.join(testDataDir(), 'faces_extra/face_recognition/biden/biden_01.jpg'));
    const box = (await t().container.engine!.analyze(photo, { multiple: 'largest', embed: false })).faces[0]!.box;
    for (const frames of [await rollStill(photo, 30, 25), await occludeSweep(photo, box, 25)]) {
      const out = await run(frames, { mode: 'verification', user_id: 'BIDEN', liveness_challenges: ['head_movement'] });
      assert.notEqual(out.status, 'completed', JSON.stringify(out));
      assert.notEqual(out.result?.authenticated, true);
      assert.deepEqual(out.liveness?.challenges_completed ?? out.liveness_result?.challenges_completed ?? [], []);
    }
  });

  test('control: the live head-turn video passes a head-movement challenge over the same stream', async () => {
    const out = await run(headturn.filter((_, i) => i % 2 === 0), { mode: 'verification', user_id: 'PERSON_A', liveness_challenges: ['head_movement'] });
    assert.equal(out.status, 'completed', JSON.stringify(out));
    assert.equal(out.result.authenticated, true);
  });
});
