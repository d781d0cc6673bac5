import { appError } from '../errors.ts';
import { ExactIndex, type ExactKernel } from './exact-index.ts';
import { UsearchIndex, type UsearchOptions } from './usearch-index.ts';
import type { Match } from './vector-index.ts';

/** The best template of one user for a probe. */
export interface UserMatch {
  userId: string;
  templateId: string;
  /** Exact cosine similarity (re-scored in f32 even when the graph is quantised). */
  score: number;
}

export interface TenantIndexOptions {
  /**
   * Templates above which an HNSW graph accelerates search (default 20 000, measured in
   * docs/search.md); below half of it the graph is dropped again.
   */
  annThreshold?: number;
  usearch?: UsearchOptions;
  exactKernel?: ExactKernel;
  /** Templates per addMany call while building, so the event loop breathes between chunks. */
  buildChunk?: number;
  /** Rebuild the graph once this fraction of it is tombstones. */
  rebuildRatio?: number;
  /** HNSW candidates re-scored exactly per query (default 64; widened when users repeat). */
  candidates?: number;
  onError?: (err: unknown) => void;
}

export const DEFAULT_ANN_THRESHOLD = 20_000;

/**
 * All templates of one (tenant, model), several per user. The f32 vectors live in an ExactIndex,
 * which answers every query below `annThreshold`; above it a usearch graph proposes candidates
 * that are re-scored against those f32 vectors, so scores stay exact and the graph may be quantised.
 * While a graph is (re)built in the background, queries use the exact path.
 *
 * @example
 * const index = new TenantIndex();
 * index.add('tpl-1', 'user-1', embedding);
 * index.search(probe, 3, 0.4); // → [{ userId: 'user-1', templateId: 'tpl-1', score: 0.82 }]
 */
export class TenantIndex {
  readonly options: Required<Omit<TenantIndexOptions, 'usearch' | 'exactKernel' | 'onError'>> & TenantIndexOptions;
  #dim: number | null;
  #store: ExactIndex | null = null;
  #ann: UsearchIndex | null = null;
  /** The graph under construction; every change is mirrored into it. */
  #next: UsearchIndex | null = null;
  #building: Promise<void> | null = null;
  /** During load(): one multi-threaded graph build at the end instead of single inserts. */
  #bulk = false;
  readonly #userOf = new Map<string, string>();
  readonly #templatesOf = new Map<string, Set<string>>();

  constructor(dim: number | null = null, options: TenantIndexOptions = {}) {
    this.#dim = dim;
    this.options = {
      annThreshold: DEFAULT_ANN_THRESHOLD,
      buildChunk: 2048,
      rebuildRatio: 0.3,
      candidates: 64,
      ...options,
      // i8 halves f16's memory and build time; exact f32 re-scoring makes the coarse scores moot.
      usearch: { quantization: 'i8', ...options.usearch },
    };
  }

  get dim(): number | null {
    return this.#dim;
  }

  get size(): number {
    return this.#userOf.size;
  }

  get users(): number {
    return this.#templatesOf.size;
  }

  /** 'exact' or 'hnsw': the path queries take right now. */
  get mode(): 'exact' | 'hnsw' {
    return this.#ann ? 'hnsw' : 'exact';
  }

  /** Resolves when no graph build is in progress. */
  async ready(): Promise<void> {
    while (this.#building) await this.#building;
  }

  has(templateId: string): boolean {
    return this.#userOf.has(templateId);
  }

  userOf(templateId: string): string | undefined {
    return this.#userOf.get(templateId);
  }

  /** Every template id held (a copy: the caller may remove while going through it). */
  templateIds(): string[] {
    return [...this.#userOf.keys()];
  }

  templatesOf(userId: string): string[] {
    return [...(this.#templatesOf.get(userId) ?? [])];
  }

  /** Adds or replaces a template (a template may even move to another user). */
  add(templateId: string, userId: string, vec: Float32Array): void {
    const store = this.#storeFor(vec);
    const previous = this.#userOf.get(templateId);
    if (previous !== undefined && previous !== userId) this.#unlink(templateId, previous);
    store.add(templateId, vec);
    this.#userOf.set(templateId, userId);
    let set = this.#templatesOf.get(userId);
    if (!set) this.#templatesOf.set(userId, (set = new Set()));
    set.add(templateId);
    this.#ann?.add(templateId, vec);
    this.#next?.add(templateId, vec);
    if (!this.#bulk && !this.#ann && !this.#building && this.size >= this.options.annThreshold) this.#startBuild();
  }

  /**
   * Adds many templates (start-up), yielding to the event loop every `yieldEvery` rows, then
   * starts one graph build if the gallery is large enough; does not wait for that build (see ready()).
   */
  async load(source: AsyncIterable<{ templateId: string; userId: string; vec: Float32Array }> | Iterable<{ templateId: string; userId: string; vec: Float32Array }>, yieldEvery = 5000): Promise<number> {
    let n = 0;
    this.#bulk = true;
    try {
      for await (const t of source) {
        this.add(t.templateId, t.userId, t.vec);
        if (++n % yieldEvery === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      this.#bulk = false;
    }
    if (!this.#ann && !this.#building && this.size >= this.options.annThreshold) this.#startBuild();
    return n;
  }

  removeTemplate(templateId: string): boolean {
    const userId = this.#userOf.get(templateId);
    if (userId === undefined) return false;
    this.#unlink(templateId, userId);
    this.#userOf.delete(templateId);
    this.#store!.remove(templateId);
    this.#ann?.remove(templateId);
    this.#next?.remove(templateId);
    this.#afterRemove();
    return true;
  }

  /** Removes every template of `userId`; returns how many. */
  removeUser(userId: string): number {
    const ids = this.templatesOf(userId);
    for (const id of ids) this.removeTemplate(id);
    return ids.length;
  }

  clear(): void {
    this.#store?.clear();
    this.#ann = null;
    this.#next = null;
    this.#userOf.clear();
    this.#templatesOf.clear();
  }

  /**
   * The best template of each of the top `k` users with score ≥ `minScore`, best first.
   * Templates are over-fetched and widened until k distinct users are found or none remain.
   */
  search(query: Float32Array, k: number, minScore = -Infinity): UserMatch[] {
    if (k <= 0 || !this.#store || this.size === 0) return [];
    if (query.length !== this.#dim) {
      throw appError('MODEL_MISMATCH', `Probe has ${query.length} dimensions, the gallery ${this.#dim}`);
    }
    const size = this.size;
    if (this.#ann) {
      let want = Math.max(this.options.candidates, k * 3);
      for (;;) {
        const cands = this.#ann.search(query, Math.min(want, size));
        const rescored: Match[] = [];
        const scored = new Set<string>();
        let above = 0;
        for (const c of cands) {
          const own = this.#store.score(c.id, query);
          if (own !== undefined && own >= minScore) above++;
          // A found user's exact best: all of the user's templates, not only those the graph returned
          // (it may return a user through their second-best template and miss the best).
          const user = this.#userOf.get(c.id);
          for (const id of (user && this.#templatesOf.get(user)) || [c.id]) {
            if (scored.has(id)) continue;
            scored.add(id);
            const score = id === c.id ? own : this.#store.score(id, query);
            if (score !== undefined && score >= minScore) rescored.push({ id, score });
          }
        }
        rescored.sort((a, b) => b.score - a.score);
        const users = this.#aggregate(rescored, k);
        // Stop when k users are found, the graph ran out, or candidates fell below minScore.
        const exhausted = cands.length < Math.min(want, size) || above < cands.length;
        if (users.length >= k || exhausted || want >= size) return users;
        if (want >= 4096) break; // a probe this unusual is cheaper to answer exactly
        want *= 4;
      }
    }
    let want = Math.min(size, k * 3);
    for (;;) {
      const hits = this.#store.search(query, want, minScore);
      const users = this.#aggregate(hits, k);
      if (users.length >= k || hits.length < want || want >= size) return users;
      want = Math.min(size, want * 4);
    }
  }

  #aggregate(hits: Match[], k: number): UserMatch[] {
    const seen = new Set<string>();
    const out: UserMatch[] = [];
    for (const h of hits) {
      const userId = this.#userOf.get(h.id)!;
      if (seen.has(userId)) continue;
      seen.add(userId);
      out.push({ userId, templateId: h.id, score: h.score });
      if (out.length === k) break;
    }
    return out;
  }

  /**
   * Builds (or rebuilds) the graph from the stored vectors in chunks, yielding to the event loop
   * between chunks; queries keep using the previous path until it is complete.
   */
  optimize(): Promise<void> {
    if (!this.#building) this.#startBuild();
    return this.ready();
  }

  #startBuild(): void {
    const run: Promise<void> = this.#build()
      .catch((err: unknown) => {
        this.#next = null;
        this.options.onError?.(err);
      })
      .finally(() => {
        if (this.#building === run) this.#building = null;
      });
    this.#building = run;
  }

  async #build(): Promise<void> {
    const store = this.#store;
    if (!store || this.size < this.options.annThreshold / 2) return;
    const next = new UsearchIndex(store.dim, this.options.usearch);
    this.#next = next;
    const ids = [...store.ids()];
    const chunk = this.options.buildChunk;
    const buf = new Float32Array(chunk * store.dim);
    for (let i = 0; i < ids.length; i += chunk) {
      if (this.#next !== next) return; // cleared or demoted meanwhile
      const batch: string[] = [];
      for (const id of ids.slice(i, i + chunk)) {
        // Skip templates removed since the snapshot, or already mirrored in by add().
        const vec = next.has(id) ? undefined : store.get(id);
        if (vec) buf.set(vec, batch.length * store.dim), batch.push(id);
      }
      next.addMany(batch, buf.subarray(0, batch.length * store.dim));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (this.#next !== next) return;
    this.#ann = next;
    this.#next = null;
  }

  #afterRemove(): void {
    const { annThreshold, rebuildRatio } = this.options;
    if (this.size < annThreshold / 2) {
      this.#ann = null; // small again: exact is faster and needs no graph
      this.#next = null;
    } else if (this.#ann && !this.#building && this.#ann.removedSinceBuild > rebuildRatio * this.size) {
      this.#startBuild();
    }
  }

  #unlink(templateId: string, userId: string): void {
    const set = this.#templatesOf.get(userId);
    set?.delete(templateId);
    if (set && set.size === 0) this.#templatesOf.delete(userId);
  }

  #storeFor(vec: Float32Array): ExactIndex {
    if (this.#dim === null) this.#dim = vec.length;
    if (vec.length !== this.#dim) {
      throw appError('MODEL_MISMATCH', `Template has ${vec.length} dimensions, the gallery ${this.#dim}`);
    }
    return (this.#store ??= new ExactIndex(this.#dim, { kernel: this.options.exactKernel }));
  }
}
