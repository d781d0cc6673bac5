import { exactSearch, type Matches, MetricKind } from 'usearch';
import { checkDim, type Match, type VectorIndex } from './vector-index.ts';

/**
 * 'native' scores with usearch's SIMD exact kernel (≈ 4–5× the JS loop on this hardware, see
 * docs/search.md); 'js' is the dependency-free 4-way unrolled loop. Both are exact.
 */
export type ExactKernel = 'native' | 'js';

/**
 * Brute-force inner-product search over one contiguous Float32Array. Exact, no build step, and
 * the fastest choice for small galleries. Removal swaps the last vector into the hole, so the
 * storage stays dense and a scan never skips tombstones.
 *
 * @example
 * const index = new ExactIndex(512);
 * index.add('tpl-1', embedding);
 * const [best] = index.search(probe, 1);
 */
export class ExactIndex implements VectorIndex {
  readonly dim: number;
  #data: Float32Array;
  #ids: string[] = [];
  readonly #slot = new Map<string, number>();
  #scores = new Float32Array(0);

  readonly kernel: ExactKernel;

  constructor(dim: number, options: { initialCapacity?: number; kernel?: ExactKernel } = {}) {
    if (!Number.isInteger(dim) || dim <= 0) throw new RangeError('dim must be a positive integer');
    this.dim = dim;
    this.kernel = options.kernel ?? 'native';
    const initialCapacity = options.initialCapacity ?? 1024;
    this.#data = new Float32Array(dim * Math.max(1, initialCapacity));
  }

  get size(): number {
    return this.#ids.length;
  }

  has(id: string): boolean {
    return this.#slot.has(id);
  }

  /** The stored vector (a view: do not keep it across later add/remove calls). */
  get(id: string): Float32Array | undefined {
    const s = this.#slot.get(id);
    return s === undefined ? undefined : this.#data.subarray(s * this.dim, (s + 1) * this.dim);
  }

  /** Cosine of `query` and the stored vector `id`, or undefined when absent. */
  score(id: string, query: Float32Array): number | undefined {
    const s = this.#slot.get(id);
    return s === undefined ? undefined : dot(this.#data, s * this.dim, query, this.dim);
  }

  /** Every stored id, in storage order. */
  ids(): readonly string[] {
    return this.#ids;
  }

  add(id: string, vec: Float32Array): void {
    checkDim(this.dim, vec);
    let s = this.#slot.get(id);
    if (s === undefined) {
      s = this.#ids.length;
      this.#reserve(s + 1);
      this.#ids.push(id);
      this.#slot.set(id, s);
    }
    this.#data.set(vec, s * this.dim);
  }

  remove(id: string): boolean {
    const s = this.#slot.get(id);
    if (s === undefined) return false;
    const last = this.#ids.length - 1;
    if (s !== last) {
      const lastId = this.#ids[last];
      this.#data.copyWithin(s * this.dim, last * this.dim, (last + 1) * this.dim);
      this.#ids[s] = lastId;
      this.#slot.set(lastId, s);
    }
    this.#ids.pop();
    this.#slot.delete(id);
    return true;
  }

  clear(): void {
    this.#ids = [];
    this.#slot.clear();
    this.#data = new Float32Array(this.dim * 1024);
    this.#scores = new Float32Array(0);
  }

  search(query: Float32Array, k: number, minScore = -Infinity): Match[] {
    checkDim(this.dim, query);
    const n = this.#ids.length;
    k = Math.min(Math.floor(k), n);
    if (k <= 0) return [];
    if (this.kernel === 'native') return this.#searchNative(query, k, minScore);
    if (this.#scores.length < n) this.#scores = new Float32Array(this.#data.length / this.dim);
    const scores = this.#scores;
    scoreAll(this.#data, query, this.dim, n, scores);
    const top = new TopK(k);
    for (let i = 0; i < n; i++) {
      const s = scores[i];
      if (s > top.floor && s >= minScore) top.push(s, i);
    }
    return top.sorted().map(([score, i]) => ({ id: this.#ids[i], score }));
  }

  #searchNative(query: Float32Array, k: number, minScore: number): Match[] {
    const n = this.#ids.length;
    // usearch's exactSearch reads typed arrays from the start of their ArrayBuffer, ignoring
    // byteOffset (usearch 2.26 lib.cpp), so a query that is a view into a larger buffer is copied.
    const q = query.byteOffset === 0 ? query : query.slice();
    // IP distance is 1 − dot; one thread: a single query is too small to split.
    const { keys, distances } = exactSearch(this.#data.subarray(0, n * this.dim), q, this.dim, k, MetricKind.IP, 1) as Matches;
    const out: Match[] = [];
    for (let i = 0; i < keys.length; i++) {
      const score = 1 - distances[i];
      if (score >= minScore) out.push({ id: this.#ids[Number(keys[i])], score });
    }
    return out.sort((a, b) => b.score - a.score);
  }

  #reserve(count: number): void {
    if (count * this.dim <= this.#data.length) return;
    const next = new Float32Array(Math.max(count, (this.#data.length / this.dim) * 2) * this.dim);
    next.set(this.#data.subarray(0, this.#ids.length * this.dim));
    this.#data = next;
  }
}

/** Dot product of `q` with `data[off .. off+dim)`, 4-way unrolled (dim need not be a multiple of 4). */
export function dot(data: Float32Array, off: number, q: Float32Array, dim: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j + 3 < dim; j += 4) {
    s0 += data[off + j] * q[j];
    s1 += data[off + j + 1] * q[j + 1];
    s2 += data[off + j + 2] * q[j + 2];
    s3 += data[off + j + 3] * q[j + 3];
  }
  for (; j < dim; j++) s0 += data[off + j] * q[j];
  return s0 + s1 + s2 + s3;
}

function scoreAll(data: Float32Array, q: Float32Array, dim: number, n: number, out: Float32Array): void {
  for (let i = 0, off = 0; i < n; i++, off += dim) out[i] = dot(data, off, q, dim);
}

/** Fixed-size min-heap keeping the k best (score, slot) pairs. */
export class TopK {
  readonly #scores: Float64Array;
  readonly #items: Int32Array;
  #n = 0;
  /** Scores ≤ floor cannot enter: -Infinity until full, then the worst kept score. */
  floor = -Infinity;

  readonly k: number;
  constructor(k: number) {
    this.k = k;
    this.#scores = new Float64Array(k);
    this.#items = new Int32Array(k);
  }

  push(score: number, item: number): void {
    const h = this.#scores;
    const it = this.#items;
    if (this.#n < this.k) {
      let i = this.#n++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (h[p] <= score) break;
        h[i] = h[p];
        it[i] = it[p];
        i = p;
      }
      h[i] = score;
      it[i] = item;
      if (this.#n === this.k) this.floor = h[0];
      return;
    }
    if (score <= h[0]) return;
    let i = 0;
    const n = this.#n;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r] < h[l] ? r : l;
      if (h[c] >= score) break;
      h[i] = h[c];
      it[i] = it[c];
      i = c;
    }
    h[i] = score;
    it[i] = item;
    this.floor = h[0];
  }

  sorted(): [score: number, item: number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < this.#n; i++) out.push([this.#scores[i], this.#items[i]]);
    return out.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  }
}
