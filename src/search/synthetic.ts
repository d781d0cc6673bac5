/**
 * Seeded synthetic face-like embeddings for tests and the benchmark: `clusters` identities, each
 * a random unit centre, and templates spread around their centre (cosine to the centre ≈ 0.7 with
 * spread 1), so the data has the cluster structure real galleries have instead of uniform noise.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal sampler (Box–Muller) over a seeded uniform source. */
export function gaussian(rand: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const u = rand() || 1e-12;
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

export function normalize(v: Float32Array, off = 0, dim = v.length): void {
  let n = 0;
  for (let j = 0; j < dim; j++) n += v[off + j] * v[off + j];
  const inv = 1 / Math.sqrt(n || 1);
  for (let j = 0; j < dim; j++) v[off + j] *= inv;
}

export interface SyntheticSet {
  dim: number;
  count: number;
  /** count × dim, row-major, each row L2-normalised. */
  data: Float32Array;
  /** Cluster (identity) of each row. */
  cluster: Int32Array;
  centres: Float32Array;
}

export interface SyntheticOptions {
  /** Identities (default count / 3: three templates per person, like a front/left/right enrollment). */
  clusters?: number;
  /** Template noise relative to the centre (1 → cosine to the centre ≈ 0.7). */
  spread?: number;
  /**
   * Rank of the subspace identity centres live in (default 96). Real face embeddings are not
   * isotropic: impostor cosines spread with σ ≈ 0.08–0.1, which a rank-96 subspace reproduces
   * (σ ≈ 1/√96); rank = dim gives the isotropic worst case (σ ≈ 0.044, no structure for a graph
   * index to navigate).
   */
  rank?: number;
  seed?: number;
}

export function syntheticTemplates(count: number, dim: number, opts: SyntheticOptions = {}): SyntheticSet {
  const clusters = Math.max(1, opts.clusters ?? Math.ceil(count / 3));
  const spread = opts.spread ?? 1;
  const rank = Math.min(dim, opts.rank ?? 96);
  const g = gaussian(mulberry32(opts.seed ?? 1));
  const centres = new Float32Array(clusters * dim);
  if (rank >= dim) {
    for (let i = 0; i < centres.length; i++) centres[i] = g();
  } else {
    const basis = new Float32Array(rank * dim);
    for (let i = 0; i < basis.length; i++) basis[i] = g();
    const z = new Float32Array(rank);
    for (let c = 0; c < clusters; c++) {
      for (let r = 0; r < rank; r++) z[r] = g();
      const off = c * dim;
      for (let r = 0; r < rank; r++) {
        const zr = z[r];
        const b = r * dim;
        for (let j = 0; j < dim; j++) centres[off + j] += zr * basis[b + j];
      }
    }
  }
  for (let c = 0; c < clusters; c++) normalize(centres, c * dim, dim);
  const data = new Float32Array(count * dim);
  const cluster = new Int32Array(count);
  const noise = spread / Math.sqrt(dim);
  for (let i = 0; i < count; i++) {
    // Contiguous identities, so any prefix of the set is itself a gallery of whole identities.
    const c = Math.floor((i * clusters) / count);
    cluster[i] = c;
    const off = i * dim;
    for (let j = 0; j < dim; j++) data[off + j] = centres[c * dim + j] + noise * g();
    normalize(data, off, dim);
  }
  return { dim, count, data, cluster, centres };
}

/** Identities wholly inside the first `n` rows. */
export function clustersInPrefix(set: SyntheticSet, n: number): number {
  return n >= set.count ? set.centres.length / set.dim : set.cluster[n];
}

/** A probe near `centre` (another "photo" of that identity), L2-normalised. */
export function probeNear(set: SyntheticSet, centreIndex: number, rand: () => number, spread = 1): Float32Array {
  const g = gaussian(rand);
  const q = new Float32Array(set.dim);
  const noise = spread / Math.sqrt(set.dim);
  for (let j = 0; j < set.dim; j++) q[j] = set.centres[centreIndex * set.dim + j] + noise * g();
  normalize(q);
  return q;
}
