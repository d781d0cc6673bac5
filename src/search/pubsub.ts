import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';

/**
 * Fire-and-forget broadcast between server processes. Messages are strings; a subscriber also
 * receives what its own process published (callers filter by origin).
 *
 * @example
 * const bus = config.redisUrl ? new RedisPubSub(config.redisUrl) : new InProcessPubSub();
 * await bus.subscribe('wajah:index', (msg) => console.log(msg));
 * await bus.publish('wajah:index', '{"type":"invalidate","clientId":"…"}');
 */
export interface PubSub {
  publish(channel: string, message: string): Promise<void>;
  subscribe(channel: string, handler: (message: string) => void): Promise<void>;
  /** Called after a lost subscription is restored: messages may have been missed meanwhile. */
  onReconnect(handler: () => void): void;
  close(): Promise<void>;
}

/**
 * One process, several registries: the default without Redis and the stand-in in tests. Share a
 * single instance between the participants; delivery is asynchronous like Redis'.
 */
export class InProcessPubSub implements PubSub {
  readonly #bus = new EventEmitter().setMaxListeners(0);
  readonly #mine: [string, (m: string) => void][] = [];

  /** A participant sharing this bus, with its own subscriptions to close. */
  connect(): PubSub {
    const bus = this.#bus;
    const mine: [string, (m: string) => void][] = [];
    return {
      publish: async (channel, message) => void setImmediate(() => bus.emit(channel, message)),
      subscribe: async (channel, handler) => void (bus.on(channel, handler), mine.push([channel, handler])),
      onReconnect: () => {},
      close: async () => void mine.splice(0).forEach(([c, h]) => bus.off(c, h)),
    };
  }

  async publish(channel: string, message: string): Promise<void> {
    setImmediate(() => this.#bus.emit(channel, message));
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<void> {
    this.#bus.on(channel, handler);
    this.#mine.push([channel, handler]);
  }

  onReconnect(): void {}

  async close(): Promise<void> {
    for (const [c, h] of this.#mine.splice(0)) this.#bus.off(c, h);
  }
}

/** The bus between this server's instances: Redis when `redisUrl` is set, else this process only. */
export function openPubSub(redisUrl: string | null): PubSub {
  return redisUrl ? new RedisPubSub(redisUrl) : new InProcessPubSub().connect();
}

/**
 * Connects `bus` if it is Redis. False when Redis is unreachable (said in the log with `what` waits for
 * it): the caller starts anyway and must not await its subscriptions, which wait for ioredis to reconnect
 * (awaiting them would hold the server's start-up until Redis is back).
 */
export async function connectPubSub(bus: PubSub, log: { warn(m: string): void }, what: string): Promise<boolean> {
  if (!(bus instanceof RedisPubSub)) return true;
  try {
    await bus.connect();
    return true;
  } catch (e) {
    log.warn(`Redis unreachable at start (${String(e)}): ${what} once it is back`);
    return false;
  }
}

/**
 * Redis PUBLISH/SUBSCRIBE over two connections (a subscribed connection can run nothing else).
 * Redis pub/sub is at-most-once: after a reconnect the onReconnect handlers run so the caller can
 * resynchronise.
 */
export class RedisPubSub implements PubSub {
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #handlers = new Map<string, ((m: string) => void)[]>();
  readonly #reconnect: (() => void)[] = [];
  #ready = false;

  readonly #connectTimeoutMs: number;

  constructor(url: string, options: { connectTimeoutMs?: number; commandTimeoutMs?: number } = {}) {
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    // A command timeout as for the main connection (container.ts, REDIS_COMMAND_TIMEOUT_MS): a Redis that stopped
    // answering fails a publish instead of holding it.
    const common = { lazyConnect: true, connectTimeout: this.#connectTimeoutMs, maxRetriesPerRequest: 2, commandTimeout: options.commandTimeoutMs ?? 1000 };
    this.#pub = new Redis(url, common);
    this.#sub = new Redis(url, { ...common, maxRetriesPerRequest: null });
    this.#sub.on('message', (channel: string, message: string) => {
      for (const h of this.#handlers.get(channel) ?? []) h(message);
    });
    // ioredis re-subscribes by itself after a reconnect; 'ready' after the first one means a gap.
    this.#sub.on('ready', () => {
      if (this.#ready) for (const h of this.#reconnect) h();
      this.#ready = true;
    });
    // Errors surface through commands; without a listener ioredis would print every retry.
    this.#pub.on('error', () => {});
    this.#sub.on('error', () => {});
  }

  /**
   * Both connections ready, or an error after the connect timeout: a Redis that accepts the connection but never
   * answers its ready check kept the server's start-up waiting forever (connectTimeout covers only the TCP
   * connection). ioredis goes on trying in the background either way.
   */
  async connect(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis did not answer within ${this.#connectTimeoutMs} ms`)), this.#connectTimeoutMs);
    });
    try {
      await Promise.race([Promise.all([this.#pub.connect(), this.#sub.connect()]), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.#pub.publish(channel, message);
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<void> {
    const list = this.#handlers.get(channel);
    if (list) return void list.push(handler);
    this.#handlers.set(channel, [handler]);
    await this.#sub.subscribe(channel);
  }

  onReconnect(handler: () => void): void {
    this.#reconnect.push(handler);
  }

  async close(): Promise<void> {
    this.#handlers.clear();
    // quit() waits for Redis to answer; one that stopped answering would hold shutdown forever.
    await Promise.allSettled([this.#sub, this.#pub].map((r) => quitWithin(r, 1000)));
  }
}

async function quitWithin(redis: Redis, ms: number): Promise<void> {
  if (redis.status !== 'ready') return redis.disconnect();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([redis.quit().catch(() => {}), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
  redis.disconnect();
}
