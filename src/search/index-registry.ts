import { TenantIndex, type TenantIndexOptions, type UserMatch } from './tenant-index.ts';

/** One decrypted template as the loader yields it. */
export interface LoadedTemplate {
  templateId: string;
  userId: string;
  vec: Float32Array;
}

/**
 * Streams every active template of one (tenant, model), already decrypted. The service owns it:
 * it pages through `face_templates` and calls TemplateCipher.decrypt on each row.
 */
export type TemplateLoader = (clientId: string, modelId: string) => AsyncIterable<LoadedTemplate>;

export interface IndexRegistryOptions {
  loader: TemplateLoader;
  tenant?: TenantIndexOptions;
  /** Rows inserted per loop turn before yielding to the event loop while loading. */
  loadBatch?: number;
}

type Change =
  | { op: 'upsert'; templateId: string; userId: string; vec: Float32Array }
  | { op: 'remove_template'; templateId: string }
  | { op: 'remove_user'; userId: string };

interface Entry {
  clientId: string;
  modelId: string;
  index: TenantIndex | null;
  loading: Promise<TenantIndex> | null;
  /** Changes that arrived while loading, replayed over the loaded index. */
  pending: Change[];
}

/**
 * The in-memory search indexes of this process, one TenantIndex per `${clientId}:${modelId}`,
 * built lazily from the loader on first use and kept current by upsert/remove calls (from the
 * service on this instance and, through IndexSync, from the others).
 *
 * @example
 * const registry = new IndexRegistry({ loader: (c, m) => templates.streamDecrypted(c, m) });
 * const matches = await registry.search(clientId, modelId, probe, 5, 0.41);
 * registry.upsert(clientId, modelId, templateId, userId, embedding); // after the DB commit
 */
export class IndexRegistry {
  readonly #entries = new Map<string, Entry>();
  readonly #options: IndexRegistryOptions;
  #builds = 0;

  constructor(options: IndexRegistryOptions) {
    this.#options = options;
  }

  static key(clientId: string, modelId: string): string {
    return `${clientId}:${modelId}`;
  }

  /** The tenant's index, loading it on first use; concurrent callers share one load. */
  async get(clientId: string, modelId: string): Promise<TenantIndex> {
    const key = IndexRegistry.key(clientId, modelId);
    let entry = this.#entries.get(key);
    if (entry?.index) return entry.index;
    if (!entry) {
      entry = { clientId, modelId, index: null, loading: null, pending: [] };
      this.#entries.set(key, entry);
    }
    entry.loading ??= this.#load(key, entry);
    return entry.loading;
  }

  /** The loaded index, or undefined when it is not (yet) in memory. */
  peek(clientId: string, modelId: string): TenantIndex | undefined {
    return this.#entries.get(IndexRegistry.key(clientId, modelId))?.index ?? undefined;
  }

  /** Whether any index of this client is loaded or loading (other instances' changes matter). */
  hasClient(clientId: string): boolean {
    for (const e of this.#entries.values()) if (e.clientId === clientId) return true;
    return false;
  }

  /** Sizes for /metrics: loaded indexes, vectors in them, and builds since start (loads and reloads). */
  stats(): { tenants: number; vectors: number; builds: number } {
    let vectors = 0;
    let tenants = 0;
    for (const e of this.#entries.values()) {
      if (!e.index) continue;
      tenants++;
      vectors += e.index.size;
    }
    return { tenants, vectors, builds: this.#builds };
  }

  loadedKeys(): { clientId: string; modelId: string }[] {
    return [...this.#entries.values()].map(({ clientId, modelId }) => ({ clientId, modelId }));
  }

  async search(clientId: string, modelId: string, query: Float32Array, k: number, minScore?: number): Promise<UserMatch[]> {
    return (await this.get(clientId, modelId)).search(query, k, minScore);
  }

  /** Adds or replaces one template. A no-op for indexes not in memory: their load reads the database. */
  upsert(clientId: string, modelId: string, templateId: string, userId: string, vec: Float32Array): void {
    const entry = this.#entries.get(IndexRegistry.key(clientId, modelId));
    if (!entry) return;
    // Another model may have held this template id before (re-enrollment with a new model).
    for (const e of this.#clientEntries(clientId)) if (e !== entry) this.#apply(e, { op: 'remove_template', templateId });
    this.#apply(entry, { op: 'upsert', templateId, userId, vec });
  }

  removeTemplate(clientId: string, templateId: string): void {
    for (const e of this.#clientEntries(clientId)) this.#apply(e, { op: 'remove_template', templateId });
  }

  removeUser(clientId: string, userId: string): void {
    for (const e of this.#clientEntries(clientId)) this.#apply(e, { op: 'remove_user', userId });
  }

  /** Drops every index of the client; the next search reloads from the database. */
  invalidate(clientId: string): void {
    for (const e of this.#clientEntries(clientId)) this.#entries.delete(IndexRegistry.key(e.clientId, e.modelId));
  }

  /**
   * Rebuilds every loaded index from the loader and swaps each in when complete (searches keep
   * using the old one meanwhile): the periodic safety net against missed change notices.
   */
  async reloadAll(): Promise<void> {
    for (const [key, entry] of [...this.#entries]) {
      if (!entry.index) continue;
      const fresh: Entry = { clientId: entry.clientId, modelId: entry.modelId, index: entry.index, loading: null, pending: [] };
      // While reloading, changes go to both the live index and the pending list of the fresh one.
      this.#entries.set(key, fresh);
      fresh.loading = this.#load(key, fresh, true);
      await fresh.loading;
    }
  }

  clear(): void {
    this.#entries.clear();
  }

  async #load(key: string, entry: Entry, keepServing = false): Promise<TenantIndex> {
    const index = new TenantIndex(null, this.#options.tenant);
    try {
      await index.load(this.#options.loader(entry.clientId, entry.modelId), this.#options.loadBatch ?? 5000);
    } catch (err) {
      if (this.#entries.get(key) === entry) {
        if (keepServing) (entry.loading = null), (entry.pending = []);
        else this.#entries.delete(key);
      }
      throw err;
    }
    this.#builds++;
    for (const change of entry.pending) applyTo(index, change);
    entry.pending = [];
    entry.loading = null;
    // An invalidate() during the load dropped this entry: the result is handed to the callers
    // that waited for it, but not installed.
    if (this.#entries.get(key) === entry) entry.index = index;
    return index;
  }

  #apply(entry: Entry, change: Change): void {
    if (entry.loading) entry.pending.push(change);
    if (entry.index) applyTo(entry.index, change);
  }

  *#clientEntries(clientId: string): Iterable<Entry> {
    for (const e of [...this.#entries.values()]) if (e.clientId === clientId) yield e;
  }
}

function applyTo(index: TenantIndex, change: Change): void {
  switch (change.op) {
    case 'upsert':
      index.add(change.templateId, change.userId, change.vec);
      return;
    case 'remove_template':
      index.removeTemplate(change.templateId);
      return;
    case 'remove_user':
      index.removeUser(change.userId);
      return;
  }
}
