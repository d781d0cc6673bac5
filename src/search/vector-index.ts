/** One search hit: `score` is the cosine similarity (dot product of L2-normalised vectors). */
export interface Match {
  id: string;
  score: number;
}

/**
 * A k-nearest-neighbour index over L2-normalised vectors of one dimension. Implementations:
 * ExactIndex (brute force, exact) and UsearchIndex (HNSW, approximate); both run
 * vector-index.case.test.ts.
 *
 * @example
 * const index: VectorIndex = new ExactIndex(512);
 * index.add('tpl-1', embedding);
 * index.search(probe, 5, 0.4); // → [{ id: 'tpl-1', score: 0.83 }]
 */
export interface VectorIndex {
  readonly dim: number;
  readonly size: number;
  /** Adds or replaces the vector stored under `id`. */
  add(id: string, vec: Float32Array): void;
  /** Removes `id`; returns whether it was present. */
  remove(id: string): boolean;
  has(id: string): boolean;
  /** At most `k` hits with score ≥ `minScore`, best first. */
  search(query: Float32Array, k: number, minScore?: number): Match[];
  clear(): void;
}

export function checkDim(expected: number, vec: Float32Array): void {
  if (vec.length !== expected) {
    throw new RangeError(`vector has ${vec.length} dimensions, the index holds ${expected}`);
  }
}
