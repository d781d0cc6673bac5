import os from 'node:os';
import { Index, MetricKind, ScalarKind } from 'usearch';
import { checkDim, type Match, type VectorIndex } from './vector-index.ts';

export type UsearchQuantization = 'f32' | 'f16' | 'bf16' | 'i8';

export interface UsearchOptions {
  /** Storage precision inside the graph (default f16: half the memory, see docs/search.md). */
  quantization?: UsearchQuantization;
  /** HNSW M: links per node (default 16). */
  connectivity?: number;
  /** efConstruction (default 128). */
  expansionAdd?: number;
  /** efSearch (default 128); raised to k when k is larger. */
  expansionSearch?: number;
  /** Threads for addMany (default: all cores). Searches are single-threaded on the caller. */
  threads?: number;
}

const SCALARS: Record<UsearchQuantization, ScalarKind> = {
  f32: ScalarKind.F32,
  f16: ScalarKind.F16,
  bf16: ScalarKind.BF16,
  i8: ScalarKind.I8,
};

/**
 * Approximate cosine search on usearch's HNSW graph. String ids map to bigint keys that are never
 * reused: replacing a vector removes the old key and adds a fresh one, since usearch refuses
 * duplicate keys and a stale key must not alias a new template.
 *
 * @example
 * const index = new UsearchIndex(512, { quantization: 'f16' });
 * index.addMany(ids, flatVectors);
 * index.search(probe, 5); // approximate, scores within ~1e-3 of exact with f16
 */
export class UsearchIndex implements VectorIndex {
  readonly dim: number;
  readonly options: Required<UsearchOptions>;
  #index!: Index;
  readonly #keyOf = new Map<string, bigint>();
  readonly #idOf = new Map<bigint, string>();
  #nextKey = 1n;
  #removed = 0;

  constructor(dim: number, options: UsearchOptions = {}) {
    if (!Number.isInteger(dim) || dim <= 0) throw new RangeError('dim must be a positive integer');
    this.dim = dim;
    this.options = {
      quantization: options.quantization ?? 'f16',
      connectivity: options.connectivity ?? 16,
      expansionAdd: options.expansionAdd ?? 128,
      expansionSearch: options.expansionSearch ?? 128,
      threads: options.threads || os.availableParallelism(),
    };
    this.clear();
  }

  get size(): number {
    return this.#keyOf.size;
  }

  /** Removals since the last clear: HNSW keeps removed nodes as tombstones, so callers may rebuild. */
  get removedSinceBuild(): number {
    return this.#removed;
  }

  has(id: string): boolean {
    return this.#keyOf.has(id);
  }

  add(id: string, vec: Float32Array): void {
    checkDim(this.dim, vec);
    this.remove(id);
    const key = this.#nextKey++;
    // Always pass the same thread count: usearch sizes its per-thread contexts when it grows,
    // and a later multi-threaded add into a graph grown single-threaded fails ("Reserve capacity
    // ahead of insertions!"). One task still runs inline on the calling thread.
    this.#index.add(key, vec, this.options.threads);
    this.#keyOf.set(id, key);
    this.#idOf.set(key, id);
  }

  /**
   * Adds `ids.length` vectors stored row-major in `data` using several threads (the call blocks
   * the event loop for its duration: feed it chunks to stay responsive).
   */
  addMany(ids: readonly string[], data: Float32Array): void {
    if (data.length !== ids.length * this.dim) throw new RangeError('data must hold ids.length × dim floats');
    for (const id of ids) this.remove(id);
    const keys = new BigUint64Array(ids.length);
    for (let i = 0; i < ids.length; i++) keys[i] = this.#nextKey++;
    if (ids.length) this.#index.add(keys, data, this.options.threads);
    for (let i = 0; i < ids.length; i++) {
      this.#keyOf.set(ids[i], keys[i]);
      this.#idOf.set(keys[i], ids[i]);
    }
  }

  remove(id: string): boolean {
    const key = this.#keyOf.get(id);
    if (key === undefined) return false;
    this.#index.remove(key);
    this.#keyOf.delete(id);
    this.#idOf.delete(key);
    this.#removed++;
    return true;
  }

  clear(): void {
    const o = this.options;
    this.#index = new Index({
      dimensions: this.dim,
      metric: MetricKind.Cos,
      quantization: SCALARS[o.quantization],
      connectivity: o.connectivity,
      expansion_add: o.expansionAdd,
      expansion_search: o.expansionSearch,
      multi: false,
    });
    this.#keyOf.clear();
    this.#idOf.clear();
    this.#removed = 0;
  }

  search(query: Float32Array, k: number, minScore = -Infinity): Match[] {
    checkDim(this.dim, query);
    k = Math.min(Math.floor(k), this.size);
    if (k <= 0) return [];
    const { keys, distances } = this.#index.search(query, k, 1);
    const out: Match[] = [];
    for (let i = 0; i < keys.length; i++) {
      const id = this.#idOf.get(keys[i]);
      const score = 1 - distances[i];
      if (id !== undefined && score >= minScore) out.push({ id, score });
    }
    // usearch returns ascending distance already; the sort only guards ties and quantization noise.
    return out.sort((a, b) => b.score - a.score);
  }

  /** Serialises the graph to `path` (plaintext vectors: only to encrypted or memory-backed storage). */
  save(path: string): void {
    this.#index.save(path);
  }
}
