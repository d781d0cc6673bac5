import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { AddressInfo, Socket } from 'node:net';
import { describe, test } from 'node:test';
import { useTestApp } from '../helpers/app.ts';
import { MAX_UNREAD_BYTES } from '../../src/ws/recognition.connection.ts';

interface RawSocket {
  readonly readyState: number;
  send(data: string): void;
  on(event: 'message', listener: (data: Buffer) => void): RawSocket;
  once(event: string, listener: (...args: unknown[]) => void): RawSocket;
  _socket: Socket;
}
const WebSocket = createRequire(import.meta.url)('ws') as new (url: string) => RawSocket;
const OPEN = 1;

/**
 * The attack: open /ws/recognition/ (no key needed), stop reading, and send tiny messages. Each gets an
 * answer (VALIDATION_ERROR), which the server queued in memory without bound: one such connection grew
 * the process from 0.6 to 2.7 GB in 8 s. The server now cuts a connection off once its unread answers
 * pass MAX_UNREAD_BYTES.
 */
describe('a WebSocket client that sends without reading its answers [pglite]', () => {
  const t = useTestApp('pglite');

  test('is disconnected once its unread answers pass the cap, instead of growing the server without bound', async () => {
    const { app } = t();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/ws/recognition/`;
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const socket = ws._socket;
    socket.pause(); // stop reading: answers pile up on the server
    let received = 0;
    ws.on('message', (data: Buffer) => (received += data.length));
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    // 400 000 one-byte messages: about 36 MB of answers (90 bytes each) if the server queued them all.
    const batch = 20_000;
    for (let i = 0; i < 400_000; i += batch) {
      for (let j = 0; j < batch; j++) ws.send('1');
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (ws.readyState !== OPEN) break;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    socket.resume(); // read what was sent before the cut
    await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('the server never closed the connection')), 20_000))]);
    // What reached the client is what the server had queued before it cut the connection off: about the
    // cap, plus what the two kernels' socket buffers held.
    assert.ok(received < MAX_UNREAD_BYTES + 16 * 1024 * 1024, `received ${received} bytes of answers`);
    assert.ok(received < 30 * 1024 * 1024, `received ${received} bytes: the server answered (almost) every message`);
  });
});
