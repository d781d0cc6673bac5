import { encodeBytesField, encodeGraphField, protoFields, protoString, readVarint, type OnnxNode, type OnnxTensor, type ProtoField } from './onnx-proto.ts';

/**
 * Rewrite a model's per-channel PRelu nodes as Relu(x) + (−a)·Relu(−x), both products 1×1 depthwise
 * Convs, in memory. The values are the same bit for bit: for x ≥ 0 the second term is ±0 and x + 0 = x;
 * for x < 0 the first is 0 and (−a)·(−x) = a·x, sign flips being exact. What changes is speed:
 * onnxruntime's own PRelu kernel broadcasts the slope element by element and forces layout reorders
 * out of and back into its blocked NCHWc layout around every PRelu, while Relu, Conv and Add stay in it.
 * On faceplugin's recogniser (33 PRelu) that was 57 % of a pass (docs/vision.md, "Recogniser speed").
 * The same rewrite is done for the face mesh when its tfjs graph is converted (tfjs-to-onnx.ts).
 *
 * Only PRelu whose slope is an initializer of shape [C, 1, 1] or [1, C, 1, 1] (one slope per channel of an
 * NCHW input) is rewritten; any other is left as it is.
 */
export function preluAsConvs(model: Uint8Array): { bytes: Uint8Array; rewritten: number } {
  let rewritten = 0;
  const parts: Uint8Array[] = [];
  for (const f of protoFields(model)) {
    if (f.field === 7 && f.wire === 2) {
      const graph = rewriteGraph(model, f);
      rewritten += graph.rewritten;
      parts.push(encodeBytesField(7, graph.bytes));
    } else parts.push(model.subarray(f.at, f.end));
  }
  return { bytes: Buffer.concat(parts), rewritten };
}

function rewriteGraph(model: Uint8Array, graph: ProtoField): { bytes: Uint8Array; rewritten: number } {
  const fields = protoFields(model, graph.start, graph.end);
  const slopes = new Map<string, Float32Array>();
  for (const f of fields) {
    if (f.field !== 5 || f.wire !== 2) continue;
    const t = perChannelFloats(model, f);
    if (t) slopes.set(t.name, t.data);
  }
  // Every name the graph already has (node inputs and outputs, initializers): new names avoid them.
  const used = new Set<string>();
  for (const f of fields) {
    if (f.field === 1 && f.wire === 2) {
      const n = nodeOf(model, f);
      for (const name of [...n.inputs, ...n.outputs]) used.add(name);
    }
    if (f.field === 5 && f.wire === 2) for (const g of protoFields(model, f.start, f.end)) if (g.field === 8 && g.wire === 2) used.add(protoString(model, g));
  }
  const fresh = (base: string) => {
    let name = base, k = 1;
    while (used.has(name)) name = `${base}_${k++}`;
    used.add(name);
    return name;
  };
  let rewritten = 0;
  const parts: Uint8Array[] = [];
  const extra: Uint8Array[] = [];
  /** Slopes still read by a node that stays, or declared as graph inputs (kept: the graph names them). */
  const stillUsed = new Set<string>();
  const replaced = new Map<ProtoField, Float32Array>();
  for (const f of fields) {
    if (f.field === 11 && f.wire === 2) for (const g of protoFields(model, f.start, f.end)) if (g.field === 1 && g.wire === 2) stillUsed.add(protoString(model, g));
    const n = f.field === 1 && f.wire === 2 ? nodeOf(model, f) : null;
    if (!n) continue;
    const slope = n.op === 'PRelu' && !n.domain && n.inputs.length === 2 && n.outputs.length === 1 ? slopes.get(n.inputs[1]) : undefined;
    if (slope) replaced.set(f, slope);
    else for (const i of n.inputs) stillUsed.add(i);
  }
  for (const f of fields) {
    const slope = replaced.get(f);
    if (!slope) {
      // A slope no node reads any more is dropped (onnxruntime would warn about it); all else is copied.
      const unused = f.field === 5 && f.wire === 2 ? slopeName(model, f, slopes) : null;
      if (unused === null || stillUsed.has(unused)) parts.push(model.subarray(f.at, f.end));
      continue;
    }
    const n = nodeOf(model, f);
    const { nodes, initializers } = preluAsConvNodes(n.inputs[0], n.outputs[0], slope, fresh);
    for (const initializer of initializers) extra.push(encodeGraphField({ initializer }));
    for (const node of nodes) parts.push(encodeGraphField({ node }));
    rewritten++;
  }
  return { bytes: Buffer.concat([...parts, ...extra]), rewritten };
}

/** The name of an initializer field when it is one of the per-channel slopes; otherwise null. */
function slopeName(model: Uint8Array, f: ProtoField, slopes: Map<string, Float32Array>): string | null {
  for (const g of protoFields(model, f.start, f.end)) if (g.field === 8 && g.wire === 2) return slopes.has(protoString(model, g)) ? protoString(model, g) : null;
  return null;
}

/**
 * The nodes and weights that compute PRelu(x) with one slope per channel (NCHW) as
 * Relu(x) + (−a)·Relu(−x), the products as 1×1 depthwise Convs. `name` makes a graph-unique name.
 */
export function preluAsConvNodes(x: string, out: string, slope: Float32Array, name: (base: string) => string): { nodes: OnnxNode[]; initializers: OnnxTensor[] } {
  const c = slope.length;
  const minusOne = name(`${out}/prelu_minus_one`), minusSlope = name(`${out}/prelu_minus_slope`);
  const pos = name(`${out}/prelu_pos`), neg = name(`${out}/prelu_neg`), negRelu = name(`${out}/prelu_neg_relu`), negPart = name(`${out}/prelu_neg_part`);
  const depthwise = { kernel_shape: [1, 1], group: c };
  return {
    nodes: [
      { op: 'Relu', inputs: [x], outputs: [pos] },
      { op: 'Conv', inputs: [x, minusOne], outputs: [neg], attrs: depthwise },
      { op: 'Relu', inputs: [neg], outputs: [negRelu] },
      { op: 'Conv', inputs: [negRelu, minusSlope], outputs: [negPart], attrs: depthwise },
      { op: 'Add', inputs: [pos, negPart], outputs: [out] },
    ],
    initializers: [
      { name: minusOne, dims: [c, 1, 1, 1], data: new Float32Array(c).fill(-1) },
      { name: minusSlope, dims: [c, 1, 1, 1], data: slope.map((v) => -v) },
    ],
  };
}

interface ParsedNode {
  op: string;
  domain: string;
  inputs: string[];
  outputs: string[];
}

function nodeOf(model: Uint8Array, f: ProtoField): ParsedNode {
  const n: ParsedNode = { op: '', domain: '', inputs: [], outputs: [] };
  for (const g of protoFields(model, f.start, f.end)) {
    if (g.wire !== 2) continue;
    if (g.field === 1) n.inputs.push(protoString(model, g));
    else if (g.field === 2) n.outputs.push(protoString(model, g));
    else if (g.field === 4) n.op = protoString(model, g);
    else if (g.field === 7) n.domain = protoString(model, g);
  }
  return n;
}

/** A FLOAT initializer of shape [C, 1, 1] or [1, C, 1, 1]: its name and C values; otherwise null. */
function perChannelFloats(model: Uint8Array, f: ProtoField): { name: string; data: Float32Array } | null {
  const dims: number[] = [];
  let type = 0, name = '';
  let data: Float32Array | null = null;
  for (const g of protoFields(model, f.start, f.end)) {
    if (g.field === 1 && g.wire === 0) dims.push(readVarint(model, g.start)[0]);
    else if (g.field === 1 && g.wire === 2) for (let p = g.start; p < g.end;) {
      const [d, next] = readVarint(model, p);
      dims.push(d);
      p = next;
    }
    else if (g.field === 2 && g.wire === 0) type = readVarint(model, g.start)[0];
    else if (g.field === 8 && g.wire === 2) name = protoString(model, g);
    else if ((g.field === 9 || g.field === 4) && g.wire === 2) data = littleEndianFloats(model.subarray(g.start, g.end));
  }
  const perChannel = (dims.length === 3 && dims[1] === 1 && dims[2] === 1) || (dims.length === 4 && dims[0] === 1 && dims[2] === 1 && dims[3] === 1);
  const c = dims.length === 3 ? dims[0] : dims[1];
  if (type !== 1 || !perChannel || !data || data.length !== c) return null;
  return { name, data };
}

/** Little-endian float32 bytes (raw_data or packed float_data), as typed arrays are on every platform here. */
function littleEndianFloats(b: Uint8Array): Float32Array {
  return new Float32Array(b.slice().buffer);
}
