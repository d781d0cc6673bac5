import { randomUUID } from 'node:crypto';
import type { IndexRegistry } from './index-registry.ts';
import type { PubSub } from './pubsub.ts';

export const INDEX_CHANNEL = 'wajah:index';

/**
 * What changed, never the vector: a receiver re-reads and decrypts the template itself, so
 * plaintext embeddings do not travel over Redis.
 */
export type IndexNotice =
  | { type: 'upsert'; clientId: string; templateId: string }
  | { type: 'remove_template'; clientId: string; templateId: string }
  | { type: 'remove_user'; clientId: string; userId: string }
  | { type: 'invalidate'; clientId: string };

/** A template as fetchTemplate returns it: decrypted, with its owner and model. */
export interface FetchedTemplate {
  userId: string;
  modelId: string;
  vec: Float32Array;
}

export interface IndexSyncOptions {
  registry: IndexRegistry;
  pubsub: PubSub;
  /** Reads and decrypts one template; null when it no longer exists (or is inactive). */
  fetchTemplate: (clientId: string, templateId: string) => Promise<FetchedTemplate | null>;
  /** Reload every loaded index this often (ms) in case a notice was lost; off when unset or 0. */
  resyncIntervalMs?: number;
  channel?: string;
  log?: { warn(msg: string): void; error?(obj: unknown, msg?: string): void };
}

interface Envelope {
  origin: string;
  notice: IndexNotice;
}

/**
 * Keeps the IndexRegistry of every server process current. The service calls the methods below
 * after its database transaction commits; each applies the change locally, then tells the other
 * processes, which re-read only what changed.
 *
 * @example
 * const sync = new IndexSync({ registry, pubsub, fetchTemplate: (c, t) => templates.fetchDecrypted(c, t) });
 * await sync.start();
 * await sync.upsert(clientId, modelId, templateId, userId, embedding); // after enrollment commits
 * await sync.removeUser(clientId, userId);                              // after deletion commits
 */
export class IndexSync {
  readonly origin = randomUUID();
  readonly #o: IndexSyncOptions;
  readonly #channel: string;
  /** Notices are applied in order per client, so a slow fetch cannot resurrect a later removal. */
  readonly #queues = new Map<string, Promise<void>>();
  #timer: NodeJS.Timeout | null = null;
  #resyncing: Promise<void> | null = null;
  /** A resync asked for while one ran: it runs once more after it (that one may have read before a gap). */
  #resyncAgain: Promise<void> | null = null;
  /** Notices still being published (the caller does not wait for Redis; close() does). */
  readonly #publishing = new Set<Promise<void>>();
  /**
   * While other processes' upserts are being fetched: this process's own removals and upserts (template
   * id or user id → sequence number), so a fetch that read the row before the removal committed does not
   * put it back, and one that read it before a later upsert here (a reactivation after a deactivation)
   * does not take it out again.
   */
  #fetching = 0;
  #seq = 0;
  readonly #removedTemplates = new Map<string, number>();
  readonly #removedUsers = new Map<string, number>();
  readonly #upsertedTemplates = new Map<string, number>();

  constructor(options: IndexSyncOptions) {
    this.#o = options;
    this.#channel = options.channel ?? INDEX_CHANNEL;
  }

  /**
   * Subscribes to the other processes' notices. The periodic resync is armed first: with Redis down at
   * start-up the subscription waits for it (for as long as it takes), and meanwhile the resync is what
   * repairs the indexes. Once the subscription is up, one resync catches what was missed before it.
   */
  async start(): Promise<void> {
    this.#o.pubsub.onReconnect(() => void this.resync());
    const every = this.#o.resyncIntervalMs;
    if (every && every > 0) {
      this.#timer = setInterval(() => void this.resync(), every);
      this.#timer.unref();
    }
    await this.#o.pubsub.subscribe(this.#channel, (message) => this.#receive(message));
    await this.resync();
  }

  async upsert(clientId: string, modelId: string, templateId: string, userId: string, vec: Float32Array): Promise<void> {
    if (this.#fetching) this.#upsertedTemplates.set(`${clientId}/${templateId}`, ++this.#seq);
    this.#o.registry.upsert(clientId, modelId, templateId, userId, vec);
    this.#publish({ type: 'upsert', clientId, templateId });
  }

  async removeTemplate(clientId: string, templateId: string): Promise<void> {
    if (this.#fetching) this.#removedTemplates.set(`${clientId}/${templateId}`, ++this.#seq);
    this.#o.registry.removeTemplate(clientId, templateId);
    this.#publish({ type: 'remove_template', clientId, templateId });
  }

  async removeUser(clientId: string, userId: string): Promise<void> {
    if (this.#fetching) this.#removedUsers.set(`${clientId}/${userId}`, ++this.#seq);
    this.#o.registry.removeUser(clientId, userId);
    this.#publish({ type: 'remove_user', clientId, userId });
  }

  /**
   * For a bulk change that cannot list what it touched: everyone reloads the client. The server has none
   * today (docs/search.md: reactivation upserts the user's templates, a restore starts the server afresh);
   * a lost notice is repaired by resync().
   */
  async invalidate(clientId: string): Promise<void> {
    this.#o.registry.invalidate(clientId);
    this.#publish({ type: 'invalidate', clientId });
  }

  /**
   * Brings every loaded index in line with the database (the periodic safety net; also run after a Redis
   * reconnect). Asked while one runs, it runs once more after that one: the running one may have read the
   * database before the changes a reconnect is about.
   */
  resync(): Promise<void> {
    if (this.#resyncing) {
      this.#resyncAgain ??= this.#resyncing.then(() => {
        this.#resyncAgain = null;
        return this.resync();
      });
      return this.#resyncAgain;
    }
    const run = this.#o.registry
      .reloadAll()
      .then(({ added, removed }) => {
        if (added || removed) this.#o.log?.warn(`search index resync: ${added} templates added, ${removed} removed (change notices were missed)`);
      })
      .catch((err: unknown) => this.#o.log?.error?.(err, 'search index resync failed'));
    this.#resyncing = run.finally(() => (this.#resyncing = null));
    return this.#resyncing;
  }

  /** Resolves when every notice received so far has been applied (tests, graceful shutdown). */
  async idle(): Promise<void> {
    await Promise.all([...this.#queues.values()]);
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.idle();
    // Notices still on their way get a moment (Redis down: they would wait through its reconnects).
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.#publishing), new Promise((r) => (timer = setTimeout(r, 1000)))]);
    clearTimeout(timer);
  }

  /**
   * Tells the other processes, without holding up the caller: with Redis down a publish waits through
   * the client's reconnect attempts (seconds), and a request deleting an enrollment of six templates
   * waited for six of them in a row.
   */
  #publish(notice: IndexNotice): void {
    const envelope: Envelope = { origin: this.origin, notice };
    const sent = this.#o.pubsub.publish(this.#channel, JSON.stringify(envelope)).catch((err: unknown) => {
      // The local change stands; other processes catch up at their next resync.
      this.#o.log?.warn(`search index notice not published (${(err as Error).message}); other instances catch up at resync`);
    });
    this.#publishing.add(sent);
    void sent.finally(() => this.#publishing.delete(sent));
  }

  #receive(message: string): void {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(message) as Envelope;
    } catch {
      return this.#o.log?.warn('ignored a malformed search index notice');
    }
    if (envelope.origin === this.origin || !envelope.notice?.clientId) return;
    const { notice } = envelope;
    const prev = this.#queues.get(notice.clientId) ?? Promise.resolve();
    const next = prev
      .then(() => this.#apply(notice))
      .catch((err: unknown) => {
        this.#o.log?.error?.(err, 'search index notice failed; invalidating the client');
        this.#o.registry.invalidate(notice.clientId);
      })
      .finally(() => {
        if (this.#queues.get(notice.clientId) === next) this.#queues.delete(notice.clientId);
      });
    this.#queues.set(notice.clientId, next);
  }

  async #apply(notice: IndexNotice): Promise<void> {
    const { registry } = this.#o;
    // Nothing of this client in memory: its first search will read the database anyway.
    if (!registry.hasClient(notice.clientId)) return;
    switch (notice.type) {
      case 'upsert': {
        const since = this.#seq;
        this.#fetching++;
        try {
          const t = await this.#o.fetchTemplate(notice.clientId, notice.templateId);
          // Changed here while the row was being read: the read may predate that change's commit, and the
          // latest change here wins (a removal, or an upsert that came after it).
          const at = (map: Map<string, number>, id: string | undefined) => (id === undefined ? 0 : (map.get(`${notice.clientId}/${id}`) ?? 0));
          const removed = Math.max(at(this.#removedTemplates, notice.templateId), at(this.#removedUsers, t?.userId));
          const upserted = at(this.#upsertedTemplates, notice.templateId);
          if (upserted > since && upserted > removed) return; // this process's own upsert is the newer
          if (t && removed <= since) registry.upsert(notice.clientId, t.modelId, notice.templateId, t.userId, t.vec);
          else registry.removeTemplate(notice.clientId, notice.templateId);
        } finally {
          if (--this.#fetching === 0) {
            this.#removedTemplates.clear();
            this.#removedUsers.clear();
            this.#upsertedTemplates.clear();
          }
        }
        return;
      }
      case 'remove_template':
        return registry.removeTemplate(notice.clientId, notice.templateId);
      case 'remove_user':
        return registry.removeUser(notice.clientId, notice.userId);
      case 'invalidate':
        return registry.invalidate(notice.clientId);
    }
  }
}
