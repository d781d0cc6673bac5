import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { useTestApp } from '../helpers/app.ts';
import { createClient, quickBackend } from '../helpers/foundation.ts';
import { WsClient } from '../helpers/ws-client.ts';

/**
 * The tier's frames per second hold on the WebSocket too (docs/foundation.md, "Limits"; docs/realtime.md):
 * a basic tenant streamed 30 frames/s there against the 10 its tier allows an HTTP session.
 */
describe('WebSocket frame rate per tier', () => {
  const t = useTestApp(quickBackend());

  async function rateDrops(tier: string, frames: number): Promise<number> {
    const { app } = t();
    if (!app.server.listening) await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/ws/recognition/`;
    const c = await createClient(app, { tier });
    const ws = await WsClient.authenticated(url, c.api_key, c.secret_key);
    // A burst at once: frames past the bucket are dropped for rate before any work.
    for (let i = 0; i < frames; i++) ws.send({ type: 'process_frame', frame: 'data:image/jpeg;base64,AAAA', timestamp: i });
    let drops = 0;
    for (let i = 0; i < frames; i++) {
      const m = await ws.next();
      if (m.type === 'frame_dropped' && m.reason === 'rate') drops++;
    }
    ws.close();
    return drops;
  }

  test('a burst of 25 frames: basic keeps 10 a second, premium 20, enterprise the stream cap of 30', async () => {
    const basic = await rateDrops('basic', 25);
    assert.ok(basic >= 13 && basic <= 15, `basic: ${basic} of 25 dropped for rate`);
    const premium = await rateDrops('premium', 25);
    assert.ok(premium >= 3 && premium <= 5, `premium: ${premium} of 25 dropped for rate`);
    assert.equal(await rateDrops('enterprise', 25), 0);
  });
});
