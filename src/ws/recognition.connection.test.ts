import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { appError } from '../errors.ts';
import { StreamSlots } from '../streaming/stream-slots.ts';
import type { ServerMessage } from './messages.ts';
import { DEFAULT_LIMITS, RecognitionConnection, STREAM_SLOT_RETRY_AFTER_S, slotRetryAfter, type ConnectionDeps, type RecognitionLimits, type WsSocket } from './recognition.connection.ts';

const REDIS = process.env.WAJAH_TEST_REDIS || '';

/** An in-memory socket: `receive` plays a client message, `sent` collects the server's. */
class FakeSocket implements WsSocket {
  readyState = 1;
  sent: ServerMessage[] = [];
  closedWith: number | null = null;
  /** As a real socket whose client never answers the close: CLOSING, and messages still arrive. */
  lingers = false;
  /** Whether the peer answers pings (a peer gone without closing does not); `pings` counts them. */
  answersPings = true;
  pings = 0;
  terminated = false;
  #onMessage: ((data: Buffer, isBinary: boolean) => void) | null = null;
  #onClose: (() => void) | null = null;
  #onPong: (() => void) | null = null;
  ping(): void {
    this.pings++;
    if (this.answersPings) setImmediate(() => this.#onPong?.());
  }
  terminate(): void {
    if (this.readyState === 3) return;
    this.terminated = true;
    this.readyState = 3;
    this.#onClose?.();
  }
  send(data: string): void {
    this.sent.push(JSON.parse(data) as ServerMessage);
  }
  close(code?: number): void {
    if (this.readyState !== 1) return;
    this.closedWith = code ?? 1000;
    if (this.lingers) {
      this.readyState = 2;
      return;
    }
    this.readyState = 3;
    this.#onClose?.();
  }
  on(event: 'message' | 'close' | 'pong', listener: never): unknown {
    if (event === 'message') this.#onMessage = listener;
    else if (event === 'pong') this.#onPong = listener;
    else this.#onClose = listener;
    return this;
  }
  /** The client answered the close at last. */
  closeHandshakeDone(): void {
    this.readyState = 3;
    this.#onClose?.();
  }
  receive(message: object): void {
    this.#onMessage!(Buffer.from(JSON.stringify(message)), false);
  }
}

const enterpriseClient = { id: 'c1', name: 'C', tier: 'enterprise' as const, settings: {}, apiKeyId: 'k1' };
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

function setup(limits: Partial<RecognitionLimits> = {}, overrides: Partial<ConnectionDeps> = {}, tier: 'basic' | 'enterprise' = 'enterprise') {
  const socket = new FakeSocket();
  const client = { ...enterpriseClient, tier };
  const calls: string[] = [];
  const authorizations: string[] = [];
  let authorizeOk = true;
  let budgetSpent = false;
  const listeners = new Set<(clientId: string | null) => void>();
  const deps: ConnectionDeps = {
    access: {
      authorize: async (_auth, _ip, _now, options) => {
        authorizations.push(options?.countCall === false ? 'uncounted' : 'counted');
        if (!authorizeOk) throw appError('INVALID_CREDENTIALS', 'The API key has been revoked or has expired');
        return {
          client,
          rate: null,
          countLater: async () => {
            authorizations.push('counted later');
            if (budgetSpent) throw appError('RATE_LIMIT_EXCEEDED', 'Rate limit of 1000 calls per hour exceeded; retry in 60 s', undefined, { 'retry-after': '60' });
            return null;
          },
        };
      },
    },
    credentials: {
      on: (l) => {
        listeners.add(l);
        return () => void listeners.delete(l);
      },
    },
    authentication: {
      identify: async (_c, input) => {
        calls.push(`identify`);
        await tick(20);
        if (input.image === 'bad') throw appError('INVALID_IMAGE');
        return { status: 'completed' } as never;
      },
      verify: async () => ({ status: 'completed' }) as never,
      create: async () => {
        calls.push('create');
        return { session_token: `tok${calls.filter((c) => c === 'create').length}` } as never;
      },
      processFrame: async (_c, token) => {
        calls.push(`frame:${token}`);
        await tick(10);
        const n = calls.filter((c) => c === `frame:${token}`).length;
        return { status: n >= 3 ? 'completed' : 'processing' } as never;
      },
    },
    sessions: { sessionStart: async () => ({}) },
    audit: { record: async () => {} },
    slots: new StreamSlots(null, { warn: () => {} }),
    log: { error: () => {} },
    limits: { ...DEFAULT_LIMITS, ...limits },
    meta: { ip: '127.0.0.1', userAgent: null },
    ...overrides,
  };
  const conn = new RecognitionConnection(socket, deps);
  conn.start();
  return { socket, calls, authorizations, listeners, revoke: () => (authorizeOk = false), spendBudget: () => (budgetSpent = true), changed: (clientId: string | null) => listeners.forEach((l) => l(clientId)) };
}

async function authenticated(limits: Partial<RecognitionLimits> = {}) {
  const s = setup(limits);
  s.socket.receive({ type: 'authenticate', api_key: 'k', secret_key: 's' });
  await tick();
  assert.deepEqual(s.socket.sent.shift(), { type: 'authenticated', client_id: 'c1' });
  return s;
}

describe('RecognitionConnection', () => {
  test('over the frame-rate cap: frame_dropped/rate, every frame answered once', async () => {
    const { socket } = await authenticated({ maxFps: 3, maxInFlight: 10, maxPending: 10 });
    for (let i = 0; i < 5; i++) socket.receive({ type: 'process_frame', frame: 'x', timestamp: i });
    await tick(60);
    const byTs = socket.sent.map((m) => [(m as { timestamp: number }).timestamp, m.type === 'frame_dropped' ? m.reason : m.type]);
    assert.equal(byTs.length, 5);
    assert.deepEqual(byTs.filter(([, k]) => k === 'rate').map(([ts]) => ts), [3, 4]);
    socket.close();
  });

  test('a frame error answers that frame and the next frame is recognised', async () => {
    const { socket } = await authenticated();
    socket.receive({ type: 'process_frame', frame: 'bad', timestamp: 1 });
    socket.receive({ type: 'process_frame', frame: 'x', timestamp: 2 });
    await tick(80);
    assert.deepEqual(socket.sent.map((m) => [m.type, (m as { code?: string }).code ?? null]), [['error', 'INVALID_IMAGE'], ['recognition_result', null]]);
    socket.close();
  });

  test('liveness frames run one at a time on one session; a decision starts a new session', async () => {
    const { socket, calls } = await authenticated({ maxPending: 10 });
    for (let i = 0; i < 4; i++) socket.receive({ type: 'process_frame', frame: 'x', timestamp: i, options: { require_liveness: true } });
    await tick(150);
    assert.deepEqual(calls, ['create', 'frame:tok1', 'frame:tok1', 'frame:tok1', 'create', 'frame:tok2']);
    assert.deepEqual(socket.sent.map((m) => (m as { timestamp: number }).timestamp), [0, 1, 2, 3], 'in order');
    socket.close();
  });

  test('no authenticate within the timeout: NOT_AUTHENTICATED and close 4408', async () => {
    const { socket } = setup({ authTimeoutMs: 20 });
    await tick(40);
    assert.equal(socket.sent[0]?.type === 'error' && socket.sent[0].code, 'NOT_AUTHENTICATED');
    assert.equal(socket.closedWith, 4408);
  });

  test("a credential change of the stream's tenant re-checks at once, uncounted; another tenant's does not", async () => {
    const s = await authenticated(); // periodic re-check every 5 min: not in this test's time
    s.revoke();
    s.changed('another-client');
    await tick(10);
    assert.equal(s.socket.closedWith, null, "another tenant's change leaves the stream alone");
    s.changed('c1');
    await tick(10);
    assert.equal(s.socket.sent[0]?.type === 'error' && s.socket.sent[0].code, 'INVALID_CREDENTIALS');
    assert.equal(s.socket.closedWith, 4401);
    assert.deepEqual(s.authorizations, ['uncounted', 'counted later', 'uncounted'], 'the authenticate counted one call once granted, the re-check none');
    assert.equal(s.listeners.size, 0, 'the closed stream stopped listening');
  });

  test('a notice that any tenant may have changed (Redis reconnected) re-checks too', async () => {
    const s = await authenticated();
    s.revoke();
    s.changed(null);
    await tick(10);
    assert.equal(s.socket.closedWith, 4401);
  });

  test('frames a client keeps sending after its key was revoked are not recognised while the close is pending', async () => {
    // The socket stays CLOSING until the client answers the close (up to 30 s in ws); its frames were
    // still recognised, their attempts and events written, under a revoked key.
    const s = await authenticated();
    s.socket.lingers = true;
    s.revoke();
    s.changed('c1');
    await tick(10);
    assert.equal(s.socket.closedWith, 4401);
    const sent = s.socket.sent.length;
    for (let i = 0; i < 3; i++) s.socket.receive({ type: 'process_frame', frame: 'x', timestamp: i });
    s.socket.receive({ type: 'ping' });
    await tick(60);
    assert.deepEqual(s.calls, [], 'no frame reached the engine');
    assert.equal(s.socket.sent.length, sent, 'nothing more is answered');
    s.socket.closeHandshakeDone();
  });

  test("a basic tenant's third stream is refused (STREAMING_LIMIT_EXCEEDED, 4429); a refused stream gives its slot back before the close handshake ends", async () => {
    const slots = new StreamSlots(null, { warn: () => {} });
    const open = async () => {
      const s = setup({}, { slots }, 'basic');
      s.socket.receive({ type: 'authenticate', api_key: 'k', secret_key: 's' });
      await tick();
      return s;
    };
    const [a, b, c] = [await open(), await open(), await open()];
    assert.equal(a.socket.sent[0]?.type, 'authenticated');
    assert.equal(b.socket.sent[0]?.type, 'authenticated');
    assert.deepEqual(c.socket.sent[0], { type: 'error', code: 'STREAMING_LIMIT_EXCEEDED', message: 'The basic tier allows 2 concurrent recognition streams', details: { max_sessions: 2, retry_after: 60 } });
    assert.equal(c.socket.closedWith, 4429);
    assert.deepEqual(c.authorizations, ['uncounted'], 'the refused stream counted no call');
    // b's key is revoked; its client never answers the close, yet the slot is free at once.
    b.socket.lingers = true;
    b.revoke();
    b.changed('c1');
    await tick(10);
    assert.equal(b.socket.closedWith, 4401);
    const d = await open();
    assert.equal(d.socket.sent[0]?.type, 'authenticated');
    b.socket.closeHandshakeDone();
    a.socket.close();
    d.socket.close();
  });

  // details.retry_after was a fixed 60 s whatever the held slots said. It is now the time until the tenant's
  // first slot lapses by itself: here one held by a stream that is gone (not renewed) and lapses in about 7 s.
  const lapsingSlotRefusal = async (slots: StreamSlots, holder: StreamSlots) => {
    assert.equal(await holder.acquire('c1', `gone-${crypto.randomUUID()}`, 2, Date.now() + 7_000), true);
    const open = async () => {
      const s = setup({}, { slots }, 'basic');
      s.socket.receive({ type: 'authenticate', api_key: 'k', secret_key: 's' });
      await tick(5);
      return s;
    };
    const live = await open();
    assert.equal(live.socket.sent[0]?.type, 'authenticated');
    const refused = await open();
    assert.equal(refused.socket.sent[0]?.type === 'error' && refused.socket.sent[0].code, 'STREAMING_LIMIT_EXCEEDED', JSON.stringify(refused.socket.sent[0]));
    assert.equal(refused.socket.closedWith, 4429);
    live.socket.close();
    return (refused.socket.sent[0] as { details: { retry_after: number } }).details.retry_after;
  };

  test('STREAMING_LIMIT_EXCEEDED: details.retry_after is the time until the first held slot lapses (in-process)', async () => {
    const slots = new StreamSlots(null, { warn: () => {} });
    const retryAfter = await lapsingSlotRefusal(slots, slots);
    assert.ok(retryAfter >= 6 && retryAfter <= 7, `retry_after ${retryAfter}`);
  });

  test('STREAMING_LIMIT_EXCEEDED: details.retry_after across instances (Redis): another instance\'s lapsing slot', { skip: !REDIS && 'WAJAH_TEST_REDIS not set' }, async () => {
    const [ra, rb] = [new Redis(REDIS), new Redis(REDIS)];
    const prefix = `wajah:test-ws-retry-${crypto.randomUUID()}:`;
    try {
      // The slot is held by another instance (its own StreamSlots, its own Redis connection): this one knows it only from Redis.
      const retryAfter = await lapsingSlotRefusal(new StreamSlots(ra, { warn: () => {} }, { prefix }), new StreamSlots(rb, { warn: () => {} }, { prefix }));
      assert.ok(retryAfter >= 6 && retryAfter <= 7, `retry_after ${retryAfter}`);
    } finally {
      await ra.del(`${prefix}c1`);
      ra.disconnect();
      rb.disconnect();
    }
  });

  test('slotRetryAfter: whole seconds until the slot lapses, never 0, at most the slot TTL', () => {
    const now = 1_000_000;
    assert.equal(slotRetryAfter(now + 12_300, now), 13);
    assert.equal(slotRetryAfter(now + 100, now), 1);
    assert.equal(slotRetryAfter(now - 5_000, now), 1, 'already lapsed: retry at once (never 0)');
    assert.equal(slotRetryAfter(null, now), 1, 'none held any more');
    assert.equal(slotRetryAfter(now + 3_600_000, now), STREAM_SLOT_RETRY_AFTER_S);
    assert.equal(STREAM_SLOT_RETRY_AFTER_S, 60);
  });

  test('a peer gone without closing (no pong) is dropped at the next heartbeat and its stream slot freed; one that answers stays', async () => {
    const slots = new StreamSlots(null, { warn: () => {} });
    const open = async () => {
      const s = setup({ heartbeatMs: 30 }, { slots }, 'basic');
      s.socket.receive({ type: 'authenticate', api_key: 'k', secret_key: 's' });
      await tick();
      assert.equal(s.socket.sent[0]?.type, 'authenticated');
      return s;
    };
    const [alive, gone] = [await open(), await open()];
    gone.socket.answersPings = false; // its network died: nothing comes back, and no close
    await tick(120);
    assert.ok(alive.socket.pings >= 2, `pinged ${alive.socket.pings} times`);
    assert.equal(alive.socket.readyState, 1, 'a peer that answers stays connected');
    assert.equal(gone.socket.terminated, true, 'the silent peer was dropped');
    // The basic tier's second slot is free again for a new stream.
    const next = await open();
    assert.equal(next.socket.readyState, 1);
    alive.socket.close();
    next.socket.close();
  });

  test('a stream refused for the hourly budget (RATE_LIMIT_EXCEEDED, 4429) gives back the slot it had taken', async () => {
    const slots = new StreamSlots(null, { warn: () => {} });
    const open = async (spent = false) => {
      const s = setup({}, { slots }, 'basic');
      if (spent) {
        s.spendBudget();
        s.socket.lingers = true; // its client never answers the close
      }
      s.socket.receive({ type: 'authenticate', api_key: 'k', secret_key: 's' });
      await tick();
      return s;
    };
    const refused = await open(true);
    assert.deepEqual(refused.socket.sent[0], { type: 'error', code: 'RATE_LIMIT_EXCEEDED', message: 'Rate limit of 1000 calls per hour exceeded; retry in 60 s', details: { retry_after: 60 } });
    assert.equal(refused.socket.closedWith, 4429);
    const [a, b] = [await open(), await open()];
    assert.equal(a.socket.sent[0]?.type, 'authenticated', 'both of the tier\'s slots are free');
    assert.equal(b.socket.sent[0]?.type, 'authenticated');
    refused.socket.closeHandshakeDone();
    a.socket.close();
    b.socket.close();
  });

  test('a key revoked during the stream closes it at the next re-check (4401)', async () => {
    const s = await authenticated({ reauthorizeMs: 20 });
    s.revoke();
    await tick(50);
    assert.equal(s.socket.sent[0]?.type === 'error' && s.socket.sent[0].code, 'INVALID_CREDENTIALS');
    assert.equal(s.socket.closedWith, 4401);
  });
});
