/**
 * A minimal ONNX ModelProto encoder and wire-format reader: just the messages and fields needed to hand
 * a converted graph of float32 convolutions to onnxruntime in memory, and to edit a shipped model's
 * weights and nodes (onnx.proto field numbers; no protobuf dependency: README, "Dependencies").
 */

/** One attribute of a node: an int, a float, a list of ints or a string. */
export type OnnxAttr = number | number[] | string | { float: number };

/** One node of the graph (NodeProto). */
export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attrs?: Record<string, OnnxAttr>;
}

/** A constant of the graph (TensorProto): float32 weights or int64 shapes/pads. */
export interface OnnxTensor {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}

/** A graph input or output: float32 with a shape whose `null` dims are free (dim_param). */
export interface OnnxValue {
  name: string;
  shape: Array<number | null>;
}

/** Everything a ModelProto needs here. */
export interface OnnxModel {
  opset: number;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValue[];
  outputs: OnnxValue[];
}

const IR_VERSION = 8;
const FLOAT = 1, INT64 = 7;
const ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_STRING = 3, ATTR_INTS = 7;

/** Protobuf wire-format writer: varints, length-delimited fields, nested messages. */
class Writer {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.size += bytes.length;
  }

  private varint(value: number | bigint): void {
    // int64 semantics: negatives take ten bytes (two's complement).
    let v = BigInt.asUintN(64, BigInt(value));
    const out: number[] = [];
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) b |= 0x80;
      out.push(b);
    } while (v !== 0n);
    this.push(Uint8Array.from(out));
  }

  private key(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  int(field: number, value: number | bigint): this {
    this.key(field, 0);
    this.varint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.key(field, 2);
    this.varint(value.length);
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, fill: (w: Writer) => void): this {
    const inner = new Writer();
    fill(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

function attribute(w: Writer, name: string, value: OnnxAttr): void {
  w.string(1, name);
  if (typeof value === 'number') w.int(3, value).int(20, ATTR_INT);
  else if (typeof value === 'string') w.string(4, value).int(20, ATTR_STRING);
  else if (Array.isArray(value)) {
    for (const v of value) w.int(8, v);
    w.int(20, ATTR_INTS);
  } else w.float(2, value.float).int(20, ATTR_FLOAT);
}

function tensor(w: Writer, t: OnnxTensor): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.data instanceof Float32Array ? FLOAT : INT64);
  w.string(8, t.name);
  // raw_data is little-endian, as typed arrays are on every platform Node runs on here.
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

function valueInfo(w: Writer, v: OnnxValue): void {
  w.string(1, v.name);
  w.message(2, (type) => type.message(1, (tt) => {
    tt.int(1, FLOAT);
    tt.message(2, (shape) => {
      v.shape.forEach((d, i) => shape.message(1, (dim) => (d === null ? dim.string(2, `d${i}`) : dim.int(1, d))));
    });
  }));
}

function node(w: Writer, n: OnnxNode): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.op);
  for (const [k, v] of Object.entries(n.attrs ?? {})) w.message(5, (aw) => attribute(aw, k, v));
}

/** GraphProto fields holding one NodeProto (field 1) or one initializer TensorProto (field 5), key included. */
export function encodeGraphField(item: { node: OnnxNode } | { initializer: OnnxTensor }): Uint8Array {
  const w = new Writer();
  if ('node' in item) w.message(1, (nw) => node(nw, item.node));
  else w.message(5, (tw) => tensor(tw, item.initializer));
  return w.finish();
}

/** A length-delimited field (key, length, payload) around `payload`. */
export function encodeBytesField(field: number, payload: Uint8Array): Uint8Array {
  return new Writer().bytes(field, payload).finish();
}

/** The serialized ModelProto, ready for `ort.InferenceSession.create(bytes)`. */
export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  const w = new Writer();
  w.int(1, IR_VERSION);
  w.string(2, 'wajah');
  w.message(7, (g) => {
    for (const n of model.nodes) g.message(1, (nw) => node(nw, n));
    g.string(2, 'graph');
    for (const t of model.initializers) g.message(5, (tw) => tensor(tw, t));
    for (const v of model.inputs) g.message(11, (vw) => valueInfo(vw, v));
    for (const v of model.outputs) g.message(12, (vw) => valueInfo(vw, v));
  });
  w.message(8, (o) => o.string(1, '').int(2, model.opset));
  return w.finish();
}

/** One field of a protobuf message: its number, wire type, where its value lies and (from `at`) the whole field with its key. */
export interface ProtoField {
  field: number;
  wire: number;
  /** Start of the whole field (its key). */
  at: number;
  /** The value: a varint's bytes, a fixed 4/8 bytes, or a length-delimited payload. */
  start: number;
  end: number;
}

export function readVarint(bytes: Uint8Array, pos: number): [number, number] {
  let result = 0, shift = 0, b: number;
  do {
    b = bytes[pos++];
    result += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return [result, pos];
}

/** The fields of the message in bytes[start, end), in order. */
export function protoFields(bytes: Uint8Array, start = 0, end = bytes.length): ProtoField[] {
  const out: ProtoField[] = [];
  let pos = start;
  while (pos < end) {
    const at = pos;
    let key: number;
    [key, pos] = readVarint(bytes, pos);
    const field = Math.floor(key / 8), wire = key & 7;
    let s = pos;
    if (wire === 0) [, pos] = readVarint(bytes, pos);
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      let len: number;
      [len, s] = readVarint(bytes, pos);
      pos = s + len;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
    if (pos > end) throw new Error('truncated protobuf message');
    out.push({ field, wire, at, start: s, end: pos });
  }
  return out;
}

export function protoString(bytes: Uint8Array, f: ProtoField): string {
  return new TextDecoder().decode(bytes.subarray(f.start, f.end));
}
