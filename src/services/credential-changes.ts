import crypto from 'node:crypto';
import { connectPubSub, openPubSub, type PubSub } from '../search/pubsub.ts';

const CHANNEL = 'wajah:credentials';

/**
 * A tenant's credentials changed: a key was revoked or rotated or its allow-list edited, the client was
 * disabled, re-enabled or its allow-list edited. `changed()` tells this process at once and, through Redis when
 * REDIS_URL is set, every other instance: each drops its cached credentials (AccessService keeps them
 * 5 s) and re-checks the tenant's open streams (WebSocket and WebRTC), so a revoked key stops working
 * everywhere now, not at the next cache expiry or stream re-check (5 min).
 *
 * Redis pub/sub is at-most-once: notices published while this instance's subscription was down are lost.
 * So when it comes back, every listener hears `null` (any tenant may have changed): the cache is dropped
 * and every open stream checks its key again.
 *
 * @example credentials.on((clientId) => …); credentials.changed(clientId)
 */
export class CredentialChanges {
  readonly #listeners = new Set<(clientId: string | null) => void>();
  readonly #origin = crypto.randomUUID();
  readonly #bus: PubSub;
  readonly #publishing = new Set<Promise<void>>();
  private readonly log: { warn(m: string): void };

  private constructor(bus: PubSub, log: { warn(m: string): void }) {
    this.#bus = bus;
    this.log = log;
  }

  /** On Redis when `redisUrl` is set, else in this process only; `bus` replaces either (tests). */
  static async create(redisUrl: string | null, log: { warn(m: string): void }, bus: PubSub = openPubSub(redisUrl)): Promise<CredentialChanges> {
    const changes = new CredentialChanges(bus, log);
    bus.onReconnect(() => changes.#emit(null));
    const connected = await connectPubSub(bus, log, 'credential changes reach other instances');
    const subscribed = bus.subscribe(CHANNEL, (message) => changes.#receive(message));
    if (connected) await subscribed;
    else void subscribed.catch(() => {});
    return changes;
  }

  /** Credentials of `clientId` changed here: this process reacts before returning; the others soon after. */
  changed(clientId: string): void {
    this.#emit(clientId);
    const sent = this.#bus
      .publish(CHANNEL, JSON.stringify({ origin: this.#origin, clientId }))
      .catch((e: unknown) => this.log.warn(`credential change not broadcast (${String(e)}): other instances see it within their 5 s cache`))
      .finally(() => this.#publishing.delete(sent));
    this.#publishing.add(sent);
  }

  /**
   * Calls `listener` with the tenant id of every change, here or in another instance, or with `null` when
   * notices may have been missed (Redis reconnected): any tenant. Returns the unsubscribe.
   */
  on(listener: (clientId: string | null) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** After the notices still being sent (a CLI revoking a key exits right after). */
  async close(): Promise<void> {
    this.#listeners.clear();
    await Promise.all(this.#publishing);
    await this.#bus.close();
  }

  #receive(message: string): void {
    let parsed: { origin?: unknown; clientId?: unknown };
    try {
      parsed = JSON.parse(message) as typeof parsed;
    } catch {
      return;
    }
    if (parsed.origin === this.#origin || typeof parsed.clientId !== 'string') return;
    this.#emit(parsed.clientId);
  }

  #emit(clientId: string | null): void {
    for (const l of this.#listeners) {
      try {
        l(clientId);
      } catch (e) {
        this.log.warn(`credential change listener failed: ${String(e)}`);
      }
    }
  }
}
