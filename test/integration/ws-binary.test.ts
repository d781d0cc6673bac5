import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { testDataDir } from '../../src/config/env.ts';
import { readMjpegFrames } from '../../src/vision/mjpeg.ts';
import type { ServerMessage } from '../../src/ws/messages.ts';
import { ADMIN_TOKEN, useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, postForm, type Tenant } from '../helpers/face-fixtures.ts';
import { WsClient, binaryFrame, jpegDataUrl } from '../helpers/ws-client.ts';

/**
 * Binary `process_frame` messages (issue 11, fewer copies): the JPEG bytes of a real camera clip, with
 * or without a small JSON header, recognised exactly as the same frames sent as JSON data URLs.
 */
const FRAMES = readMjpegFrames(path.join(testDataDir(), 'video/fakecam/personA_live_headturn_640x360_15fps.mjpeg')).slice(0, 16);
type Result = Extract<ServerMessage, { type: 'recognition_result' }>;
const topMatch = (m: ServerMessage) =>
  m.type === 'recognition_result' ? ((m.result as { result?: { matches?: Array<{ user_id: string }> } }).result?.matches?.[0]?.user_id ?? 'none') : m.type === 'error' ? m.code : m.type;

describe('WebSocket binary frames [pglite]', () => {
  const t = useTestApp('pglite', { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
  let url = '';
  let key = { api_key: '', secret_key: '' };

  before(async () => {
    const { app } = t();
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/ws/recognition/`;
    const res = await app.inject({ method: 'POST', url: '/api/admin/clients/', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload: { name: 'binary', tier: 'enterprise' } });
    key = { api_key: res.json().api_key, secret_key: res.json().secret_key };
    const tenant: Tenant = { clientId: res.json().client_id, auth: `ApiKey ${key.api_key}:${key.secret_key}` };
    await app.inject({ method: 'POST', url: '/api/clients/users/', headers: { authorization: tenant.auth }, payload: { external_id: 'personA', name: 'Person A' } });
    const enrolled = await postForm(app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: 'personA' }, { name: 'quality_threshold', value: '0.2' }, { name: 'image', value: FRAMES[0], filename: 'a.jpg' }]);
    assert.equal(enrolled.statusCode, 201, enrolled.body);
  });

  test('frames sent as binary (header with timestamp and options) get the same answers as the same frames as JSON data URLs', async () => {
    const play = async (binary: boolean) => {
      const c = await WsClient.authenticated(url, key.api_key, key.secret_key);
      const out: string[] = [];
      for (const [i, jpeg] of FRAMES.entries()) {
        const options = { mode: 'identification' as const };
        c.send(binary ? binaryFrame(jpeg, { timestamp: 100 + i, options }) : { type: 'process_frame', frame: jpegDataUrl(jpeg), timestamp: 100 + i, options });
        const m = await c.next(60_000);
        assert.equal((m as { timestamp?: unknown }).timestamp, 100 + i, 'the header timestamp comes back');
        out.push(topMatch(m));
      }
      c.close();
      return out;
    };
    const json = await play(false);
    const binary = await play(true);
    assert.deepEqual(binary, json);
    assert.ok(binary.filter((u) => u === 'personA').length >= FRAMES.length - 2, binary.join(' '));
  });

  test('a bare JPEG uses the options of the last frame that had some; a bad header is VALIDATION_ERROR and the stream goes on', async () => {
    const c = await WsClient.authenticated(url, key.api_key, key.secret_key);
    // Verification options, set once by a JSON frame; the binary frames after it carry only the image.
    c.send({ type: 'process_frame', frame: jpegDataUrl(FRAMES[1]), timestamp: 'json', options: { mode: 'verification', user_id: 'personA' } });
    const first = (await c.next(60_000)) as Result;
    assert.equal(first.type, 'recognition_result', JSON.stringify(first));
    c.send(binaryFrame(FRAMES[2]));
    const bare = (await c.next(60_000)) as Result;
    assert.equal(bare.type, 'recognition_result', JSON.stringify(bare));
    assert.equal(bare.timestamp, null);
    const verified = bare.result as { status: string; result: { authenticated: boolean; user_id: string } };
    assert.deepEqual([verified.status, verified.result.authenticated, verified.result.user_id], ['completed', true, 'personA']);
    // A header with an unknown field, a header longer than the message, and a header without an image.
    c.send(binaryFrame(FRAMES[3], { timestamp: 5, options: { mode: 'identification' }, colour: 'red' }));
    const unknown = await c.next();
    assert.deepEqual(unknown.type === 'error' && [unknown.code, unknown.timestamp], ['VALIDATION_ERROR', 5]);
    c.send(Buffer.from([0, 0, 0, 200, 0x7b, 0x7d]));
    const short = await c.next();
    assert.equal(short.type === 'error' && short.code, 'VALIDATION_ERROR');
    c.send(binaryFrame(new Uint8Array(0), { timestamp: 6 }));
    const empty = await c.next();
    assert.deepEqual(empty.type === 'error' && [empty.code, empty.timestamp], ['VALIDATION_ERROR', 6]);
    // Not an image at all: the engine says so, for that frame only.
    c.send(binaryFrame(Buffer.from('not an image at all'), { timestamp: 7 }));
    const notImage = await c.next(60_000);
    assert.deepEqual(notImage.type === 'error' && [notImage.code, notImage.timestamp], ['INVALID_IMAGE', 7]);
    // The stream goes on, still in verification (the last options).
    c.send(binaryFrame(FRAMES[4], { timestamp: 8 }));
    const after = (await c.next(60_000)) as Result;
    assert.equal(after.type, 'recognition_result', JSON.stringify(after));
    assert.equal((after.result as { result: { authenticated: boolean } }).result.authenticated, true);
    c.close();
  });

  test('a binary frame before authenticate is NOT_AUTHENTICATED', async () => {
    const c = await WsClient.connect(url);
    c.send(binaryFrame(FRAMES[0], { timestamp: 1 }));
    const m = await c.next();
    assert.deepEqual(m.type === 'error' && [m.code, m.timestamp], ['NOT_AUTHENTICATED', 1]);
    c.close();
  });
});
