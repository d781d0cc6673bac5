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

/** Every active template of one (tenant, model) by id and owner, nothing decrypted: what resync compares. */
export type TemplateLister = (clientId: string, modelId: string) => AsyncIterable<{ templateId: string; userId: string }>;

/** The named templates of one (tenant, model), decrypted (those gone meanwhile are left out). */
export type TemplateFetcher = (clientId: string, modelId: string, templateIds: string[]) => Promise<LoadedTemplate[]>;

export interface IndexRegistryOptions {
  loader: TemplateLoader;
  list: TemplateLister;
  fetch: TemplateFetcher;
  tenant?: TenantIndexOptions;
  /** Rows inserted per loop turn before yielding to the event loop while loading. */
  loadBatch?: number;
}

/** Templates a resync fetches and decrypts per query. */
const RESYNC_FETCH = 500;

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
  /** While a resync compares the index with the database: what live changes touched meanwhile (they win). */
  touched?: { templates: Set<string>; users: Set<string> } | null;
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

  /** Sizes for /metrics: loaded indexes, vectors in them, and index loads since start. */
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
   * Brings every loaded index in line with the database, in place: the periodic safety net against
   * missed change notices. Only ids are read for the comparison; the templates an index lacks are
   * fetched and decrypted, those the database no longer holds are removed. The index itself (and its
   * graph) stays: rebuilding every index at every resync kept a large tenant's graph from ever finishing
   * (a million templates take longer to build than the resync interval) and piled up abandoned builds.
   * Changes that arrive meanwhile win over what the comparison read before them. Returns what changed.
   */
  async reloadAll(): Promise<{ added: number; removed: number }> {
    const total = { added: 0, removed: 0 };
    for (const [key, entry] of [...this.#entries]) {
      if (!entry.index || entry.loading || this.#entries.get(key) !== entry) continue;
      const r = await this.#reconcile(entry, entry.index);
      total.added += r.added;
      total.removed += r.removed;
    }
    return total;
  }

  async #reconcile(entry: Entry, index: TenantIndex): Promise<{ added: number; removed: number }> {
    const touched = { templates: new Set<string>(), users: new Set<string>() };
    entry.touched = touched;
    const fresh = (templateId: string, userId: string | undefined) => !touched.templates.has(templateId) && !(userId && touched.users.has(userId));
    let added = 0;
    let removed = 0;
    try {
      const inDb = new Set<string>();
      const missing: string[] = [];
      for await (const t of this.#options.list(entry.clientId, entry.modelId)) {
        inDb.add(t.templateId);
        if (index.userOf(t.templateId) !== t.userId) missing.push(t.templateId);
      }
      for (let i = 0; i < missing.length; i += RESYNC_FETCH) {
        for (const t of await this.#options.fetch(entry.clientId, entry.modelId, missing.slice(i, i + RESYNC_FETCH))) {
          if (fresh(t.templateId, t.userId)) index.add(t.templateId, t.userId, t.vec), added++;
        }
      }
      for (const id of index.templateIds()) {
        if (!inDb.has(id) && fresh(id, index.userOf(id)) && index.removeTemplate(id)) removed++;
      }
    } finally {
      entry.touched = null;
    }
    return { added, removed };
  }

  clear(): void {
    this.#entries.clear();
  }

  async #load(key: string, entry: Entry): Promise<TenantIndex> {
    const index = new TenantIndex(null, this.#options.tenant);
    try {
      await index.load(this.#options.loader(entry.clientId, entry.modelId), this.#options.loadBatch ?? 5000);
    } catch (err) {
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
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
    if (entry.touched) {
      if (change.op === 'remove_user') entry.touched.users.add(change.userId);
      else entry.touched.templates.add(change.templateId);
    }
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
