import { createRequire } from 'node:module';
import type { ServerMessage } from '../../src/ws/messages.ts';

/** The part of the `ws` client this helper uses (the package ships no types here). */
interface RawSocket {
  readonly readyState: number;
  on(event: 'open', listener: () => void): void;
  on(event: 'message', listener: (data: Buffer) => void): void;
  on(event: 'close', listener: (code: number, reason: Buffer) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  send(data: string | Uint8Array): void;
  close(code?: number): void;
}
const WebSocket = createRequire(import.meta.url)('ws') as new (url: string) => RawSocket;

/**
 * A promise-based WebSocket test client: messages are queued and read in order with `next()`.
 * @example const c = await WsClient.connect(`ws://127.0.0.1:${port}/ws/recognition/`); c.send({ type: 'ping' }); await c.next();
 */
export class WsClient {
  #queue: ServerMessage[] = [];
  #waiters: Array<(m: ServerMessage) => void> = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private readonly socket: RawSocket;
  private constructor(socket: RawSocket) {
    this.socket = socket;
    socket.on('message', (data) => {
      const msg = JSON.parse(data.toString('utf8')) as ServerMessage;
      const w = this.#waiters.shift();
      if (w) w(msg);
      else this.#queue.push(msg);
    });
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static connect(url: string): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.on('open', () => resolve(new WsClient(socket)));
      socket.on('error', reject);
    });
  }

  get isOpen(): boolean {
    return this.socket.readyState === 1;
  }

  /** A JSON message (object or text), or a binary message (bytes: docs/realtime.md, "Binary frames"). */
  send(message: object | string | Uint8Array): void {
    this.socket.send(typeof message === 'string' || message instanceof Uint8Array ? message : JSON.stringify(message));
  }

  /** The next message; rejects after `timeoutMs`. */
  next(timeoutMs = 30_000): Promise<ServerMessage> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`no message within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (m: ServerMessage) => {
        clearTimeout(timer);
        resolve(m);
      };
      this.#waiters.push(waiter);
    });
  }

  /** Connects and authenticates; throws unless the server answers `authenticated`. */
  static async authenticated(url: string, apiKey: string, secretKey: string): Promise<WsClient> {
    const c = await WsClient.connect(url);
    c.send({ type: 'authenticate', api_key: apiKey, secret_key: secretKey });
    const m = await c.next();
    if (m.type !== 'authenticated') throw new Error(`authenticate: ${JSON.stringify(m)}`);
    return c;
  }

  close(): void {
    this.socket.close();
  }
}

/** A binary `process_frame`: 4-byte big-endian header length, the JSON header, the image (no header: the image alone). */
export function binaryFrame(image: Uint8Array, header?: object): Buffer {
  if (!header) return Buffer.from(image);
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  return Buffer.concat([length, json, image]);
}

/** A JPEG as the data URL a browser's canvas.toDataURL('image/jpeg') produces. */
export const jpegDataUrl = (bytes: Uint8Array): string => `data:image/jpeg;base64,${Buffer.from(bytes).toString('base64')}`;
