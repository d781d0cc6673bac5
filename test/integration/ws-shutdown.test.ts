import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config/env.ts';
import { createContainer } from '../../src/container.ts';
import { buildApp } from '../../src/app.ts';
import { ADMIN_TOKEN } from '../helpers/app.ts';
import { WsClient } from '../helpers/ws-client.ts';

/**
 * A server shutting down (SIGTERM runs app.close()) tells each open stream why: close code 1001 "going
 * away", which clients take as "reconnect", rather than a close frame without a code (1005).
 */
describe('WebSocket streams when the server shuts down [pglite]', () => {
  test('an open stream is closed with 1001 and a reason', async () => {
    const config = loadConfig({ LOG_LEVEL: 'silent', WAJAH_ADMIN_TOKEN: ADMIN_TOKEN, WAJAH_WORKERS: '0' });
    const container = await createContainer(config, { engine: false, pgliteDir: 'memory://', log: { info() {}, warn() {}, error() {} } });
    const app = await buildApp(config, container);
    try {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const client = await WsClient.connect(`ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/ws/recognition/`);
      await app.close();
      assert.deepEqual(await client.closed, { code: 1001, reason: 'server shutting down' });
    } finally {
      await app.close();
      await container.close();
    }
  });
});
