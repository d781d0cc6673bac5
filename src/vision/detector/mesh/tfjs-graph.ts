import { readFileSync } from 'node:fs';
import path from 'node:path';

/** One node of a tfjs graph model's topology (a TensorFlow GraphDef node as model.json holds it). */
export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}

/** An attribute as model.json spells it: a list of ints, a base64 string, a float, an int or a bool. */
export interface TfAttr {
  list?: { i?: string[]; s?: string[] };
  s?: string;
  i?: string;
  f?: number;
  b?: boolean;
}

/** A constant of the graph, dequantized as tfjs does at load. */
export interface TfWeight {
  shape: number[];
  data: Float32Array | Int32Array;
}

/** A tfjs graph model read from disk: its nodes and its weights by name. */
export interface TfGraph {
  nodes: TfNode[];
  weights: Map<string, TfWeight>;
}

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  quantization?: { dtype: 'float16' | 'uint8' | 'uint16'; scale?: number; min?: number };
}

/** IEEE half → float (exact: every half is a float). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * The topology and weights of a tfjs graph model (model.json + its weight shards), read without tfjs,
 * so that a converter can rebuild the same graph elsewhere. Weights are decoded like tfjs-converter's
 * `decodeWeights`: float16-quantized floats widened (exactly), uint8/uint16 ones as `min + q * scale`.
 *
 * @example const g = readTfjsGraph(path.join(HUMAN_MODELS_DIR, 'facemesh.json'));
 */
export function readTfjsGraph(jsonPath: string): TfGraph {
  const json = JSON.parse(readFileSync(jsonPath, 'utf8')) as {
    modelTopology: { node: TfNode[] };
    weightsManifest: Array<{ paths: string[]; weights: ManifestEntry[] }>;
  };
  const weights = new Map<string, TfWeight>();
  for (const group of json.weightsManifest) {
    const shards = group.paths.map((p) => readFileSync(path.join(path.dirname(jsonPath), p)));
    const buf = Buffer.concat(shards);
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let o = 0;
    for (const w of group.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      const q = w.quantization;
      let data: Float32Array | Int32Array;
      if (w.dtype === 'int32' && !q) {
        data = new Int32Array(n);
        for (let i = 0; i < n; i++) data[i] = view.getInt32(o + 4 * i, true);
        o += 4 * n;
      } else if (w.dtype === 'float32' && !q) {
        data = new Float32Array(n);
        for (let i = 0; i < n; i++) data[i] = view.getFloat32(o + 4 * i, true);
        o += 4 * n;
      } else if (w.dtype === 'float32' && q?.dtype === 'float16') {
        data = new Float32Array(n);
        for (let i = 0; i < n; i++) data[i] = halfToFloat(view.getUint16(o + 2 * i, true));
        o += 2 * n;
      } else if (w.dtype === 'float32' && (q?.dtype === 'uint8' || q?.dtype === 'uint16')) {
        const bytes = q.dtype === 'uint8' ? 1 : 2;
        data = new Float32Array(n);
        for (let i = 0; i < n; i++) {
          const v = bytes === 1 ? view.getUint8(o + i) : view.getUint16(o + 2 * i, true);
          data[i] = v * (q.scale ?? 1) + (q.min ?? 0);
        }
        o += bytes * n;
      } else {
        throw new Error(`tfjs weight ${w.name}: unsupported dtype ${w.dtype} / ${q?.dtype}`);
      }
      weights.set(w.name, { shape: w.shape, data });
    }
    if (o !== buf.length) throw new Error(`tfjs weights ${group.paths.join(',')}: read ${o} of ${buf.length} bytes`);
  }
  return { nodes: json.modelTopology.node, weights };
}
