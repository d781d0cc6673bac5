import type { OnnxModel, OnnxNode, OnnxTensor } from '../../onnx/onnx-proto.ts';
import { preluAsConvNodes } from '../../onnx/prelu-as-convs.ts';
import type { TfAttr, TfGraph, TfNode } from './tfjs-graph.ts';

/**
 * The ops of a convolutional tfjs graph (NHWC) this converter rebuilds in ONNX (NCHW), enough for
 * MediaPipe FaceMesh and Iris: anything else throws, so that a changed model fails loudly rather than quietly.
 */
const SUPPORTED = new Set(['Placeholder', 'Const', '_FusedConv2D', 'Conv2D', 'DepthwiseConv2dNative', 'AddV2', 'Add', 'Prelu', 'Relu', 'MaxPool', 'Pad', 'Sigmoid', 'Reshape', 'ConcatV2', 'Identity']);

/** Which graph outputs to keep: ONNX output name → tfjs node name. Nodes no output needs are dropped. */
export type OutputMap = Record<string, string>;

/** A tensor as converted: its ONNX name and shape, NCHW for rank 4 (batch `null`: free). */
interface Value {
  name: string;
  shape: Array<number | null>;
}

const ascii = (b64: string) => Buffer.from(b64, 'base64').toString('latin1');
const ints = (a: TfAttr | undefined) => (a?.list?.i ?? []).map(Number);
const str = (a: TfAttr | undefined) => (a?.s ? ascii(a.s) : '');

/** TF's padding of one spatial axis: output size and the (before, after) pads, 'SAME' split as TF does. */
export function tfPadding(mode: string, size: number, kernel: number, stride: number, dilation: number): { out: number; before: number; after: number } {
  const eff = (kernel - 1) * dilation + 1;
  if (mode === 'VALID') return { out: Math.floor((size - eff) / stride) + 1, before: 0, after: 0 };
  if (mode !== 'SAME') throw new Error(`padding ${mode} not supported`);
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + eff - size, 0);
  return { out, before: Math.floor(total / 2), after: total - Math.floor(total / 2) };
}

/**
 * The ONNX graph (opset 13) of a tfjs graph model with the same arithmetic: one Transpose NHWC → NCHW
 * after the input, convolutions with TF's exact (possibly asymmetric) 'SAME' pads, depthwise ones as
 * grouped Conv, fused BiasAdd/Prelu/Relu spelled out, PReLU and zero channel padding as the 1×1 Convs
 * below, and outputs transposed back to NHWC before any Reshape so that they read exactly as tfjs's.
 * The input keeps tfjs's NHWC layout.
 *
 * Why: onnxruntime runs this model ≈ 3× faster than tfjs-wasm on one thread, and the model only ships
 * as tfjs (docs/vision.md, "The mesh on onnxruntime").
 *
 * @example const model = tfjsToOnnx(readTfjsGraph(json), { confidence: 'Identity_1', mesh: 'Identity_2' });
 */
export function tfjsToOnnx(graph: TfGraph, outputs: OutputMap): OnnxModel {
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const src = (ref: string) => ref.replace(/^\^/, '').replace(/:0$/, '');
  // Only what the requested outputs need, in dependency order.
  const order: TfNode[] = [];
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const n = byName.get(name);
    if (!n) throw new Error(`tfjs graph: no node ${name}`);
    for (const i of n.input ?? []) visit(src(i));
    order.push(n);
  };
  Object.values(outputs).forEach(visit);

  const nodes: OnnxNode[] = [];
  const initializers: OnnxTensor[] = [];
  const inputs: OnnxModel['inputs'] = [];
  const values = new Map<string, Value>();
  let counter = 0;
  const fresh = (base: string) => `${base}__${counter++}`;
  const constant = (name: string, dims: number[], data: Float32Array | BigInt64Array) => {
    initializers.push({ name, dims, data });
    return name;
  };
  const weight = (ref: string) => {
    const w = graph.weights.get(src(ref));
    if (!w) throw new Error(`tfjs graph: no weight ${ref}`);
    return w;
  };
  const floats = (ref: string) => {
    const w = weight(ref);
    if (!(w.data instanceof Float32Array)) throw new Error(`tfjs graph: ${ref} is not float`);
    return { shape: w.shape, data: w.data };
  };
  const value = (ref: string) => {
    const v = values.get(src(ref));
    if (!v) throw new Error(`tfjs graph: ${ref} is not a computed tensor`);
    return v;
  };
  /**
   * PReLU as Relu(x) + (−a)·Relu(−x), both products 1×1 depthwise Convs (onnx/prelu-as-convs.ts): the
   * same values bit for bit, but every op stays in onnxruntime's blocked NCHWc layout. Its own PRelu
   * kernel broadcasts the slope element by element and forces layout reorders around it: 5.0 ms per run
   * instead of 2.0 ms on this model.
   */
  const prelu = (x: string, slopeRef: string, out: string) => {
    const converted = preluAsConvNodes(x, out, floats(slopeRef).data, fresh);
    for (const t of converted.initializers) constant(t.name, t.dims, t.data);
    nodes.push(...converted.nodes);
  };
  const conv = (n: TfNode, depthwise: boolean): Value => {
    const [xRef, fRef, bRef] = n.input!;
    const x = value(xRef);
    const f = floats(fRef);
    const [kh, kw, cin, m] = f.shape; // HWIO, or H W C multiplier for depthwise
    const cout = depthwise ? cin * m : m;
    const w = new Float32Array(f.data.length);
    // ONNX wants OIHW; a depthwise filter becomes [C·m, 1, kh, kw] with output channel c·m + j.
    for (let y = 0; y < kh; y++) for (let xk = 0; xk < kw; xk++) for (let i = 0; i < cin; i++) for (let o = 0; o < m; o++) {
      const from = ((y * kw + xk) * cin + i) * m + o;
      const to = depthwise ? ((i * m + o) * kh + y) * kw + xk : ((o * cin + i) * kh + y) * kw + xk;
      w[to] = f.data[from];
    }
    const strides = ints(n.attr?.strides), dil = ints(n.attr?.dilations);
    const [sh, sw] = strides.length ? [strides[1], strides[2]] : [1, 1];
    const [dh, dw] = dil.length ? [dil[1], dil[2]] : [1, 1];
    if (str(n.attr?.data_format) && str(n.attr?.data_format) !== 'NHWC') throw new Error(`${n.name}: only NHWC`);
    const pad = str(n.attr?.padding);
    if (pad === 'EXPLICIT') throw new Error(`${n.name}: explicit paddings not supported`);
    const ph = tfPadding(pad, x.shape[2]!, kh, sh, dh), pw = tfPadding(pad, x.shape[3]!, kw, sw, dw);
    const ins = [x.name, constant(fresh(src(fRef)), depthwise ? [cout, 1, kh, kw] : [cout, cin, kh, kw], w)];
    const fused = (n.attr?.fused_ops?.list?.s ?? []).map(ascii);
    if (n.op === '_FusedConv2D' && fused[0] !== 'BiasAdd') throw new Error(`${n.name}: fused ops ${fused.join('+')} not supported`);
    if (fused[0] === 'BiasAdd') ins.push(constant(fresh(src(bRef)), [cout], floats(bRef).data));
    let out = fresh(n.name);
    nodes.push({
      op: 'Conv', inputs: ins, outputs: [out],
      attrs: { kernel_shape: [kh, kw], strides: [sh, sw], dilations: [dh, dw], pads: [ph.before, pw.before, ph.after, pw.after], group: depthwise ? cin : 1 },
    });
    for (const act of fused.slice(1)) {
      const next = fresh(n.name);
      if (act === 'Prelu') prelu(out, n.input![3], next);
      else if (act === 'Relu') nodes.push({ op: 'Relu', inputs: [out], outputs: [next] });
      else throw new Error(`${n.name}: fused ${act} not supported`);
      out = next;
    }
    return { name: out, shape: [x.shape[0], cout, ph.out, pw.out] };
  };

  for (const n of order) {
    if (!SUPPORTED.has(n.op)) throw new Error(`tfjs graph: op ${n.op} (${n.name}) not supported`);
    if (n.op === 'Const') continue;
    const ins = n.input ?? [];
    const out = fresh(n.name);
    let v: Value;
    switch (n.op) {
      case 'Placeholder': {
        const dims = (n.attr as { shape?: { shape?: { dim?: Array<{ size: string }> } } }).shape?.shape?.dim?.map((d) => Number(d.size));
        if (!dims || dims.length !== 4) throw new Error(`${n.name}: only NHWC image inputs`);
        const [b, h, w, c] = dims.map((d) => (d < 0 ? null : d));
        inputs.push({ name: n.name, shape: [b, h, w, c] });
        nodes.push({ op: 'Transpose', inputs: [n.name], outputs: [out], attrs: { perm: [0, 3, 1, 2] } });
        v = { name: out, shape: [b, c, h, w] };
        break;
      }
      case '_FusedConv2D': case 'Conv2D':
        v = conv(n, false);
        break;
      case 'DepthwiseConv2dNative':
        v = conv(n, true);
        break;
      case 'AddV2': case 'Add': {
        const [a, b] = ins.map(value);
        nodes.push({ op: 'Add', inputs: [a.name, b.name], outputs: [out] });
        v = { name: out, shape: a.shape };
        break;
      }
      case 'Prelu': {
        const x = value(ins[0]);
        prelu(x.name, ins[1], out);
        v = { name: out, shape: x.shape };
        break;
      }
      case 'Relu': case 'Sigmoid': case 'Identity': {
        const x = value(ins[0]);
        nodes.push({ op: n.op, inputs: [x.name], outputs: [out] });
        v = { name: out, shape: x.shape };
        break;
      }
      case 'MaxPool': {
        const x = value(ins[0]);
        const [, kh, kw] = ints(n.attr?.ksize), [, sh, sw] = ints(n.attr?.strides);
        const pad = str(n.attr?.padding);
        const ph = tfPadding(pad, x.shape[2]!, kh, sh, 1), pw = tfPadding(pad, x.shape[3]!, kw, sw, 1);
        nodes.push({ op: 'MaxPool', inputs: [x.name], outputs: [out], attrs: { kernel_shape: [kh, kw], strides: [sh, sw], pads: [ph.before, pw.before, ph.after, pw.after] } });
        v = { name: out, shape: [x.shape[0], x.shape[1], ph.out, pw.out] };
        break;
      }
      case 'Pad': {
        const x = value(ins[0]);
        const p = Array.from(weight(ins[1]).data); // NHWC rows [before, after]
        const nchw = [0, 3, 1, 2];
        const pads = [...nchw.map((a) => p[2 * a]), ...nchw.map((a) => p[2 * a + 1])];
        if (x.shape[1] !== null && pads.every((q, i) => i === 5 || q === 0)) {
          // Zero channels appended: a 1×1 Conv embedding the input channels (exact: x·1 + 0), which keeps
          // onnxruntime's blocked NCHWc layout (a Pad there forces reorders around every residual stage).
          const cin = x.shape[1], cout = cin + pads[5];
          const w = new Float32Array(cout * cin);
          for (let c = 0; c < cin; c++) w[c * cin + c] = 1;
          nodes.push({ op: 'Conv', inputs: [x.name, constant(fresh(n.name), [cout, cin, 1, 1], w)], outputs: [out], attrs: { kernel_shape: [1, 1] } });
        } else nodes.push({ op: 'Pad', inputs: [x.name, constant(fresh(n.name), [8], BigInt64Array.from(pads.map(BigInt)))], outputs: [out] });
        v = { name: out, shape: x.shape.map((d, i) => (d === null ? null : d + pads[i] + pads[i + 4])) };
        break;
      }
      case 'Reshape': {
        let x = value(ins[0]);
        if (x.shape.length === 4) {
          // Back to NHWC so that the flattened order is tfjs's.
          const t = fresh(n.name);
          nodes.push({ op: 'Transpose', inputs: [x.name], outputs: [t], attrs: { perm: [0, 2, 3, 1] } });
          x = { name: t, shape: [x.shape[0], x.shape[2], x.shape[3], x.shape[1]] };
        }
        const target = Array.from(weight(ins[1]).data);
        nodes.push({ op: 'Reshape', inputs: [x.name, constant(fresh(n.name), [target.length], BigInt64Array.from(target.map(BigInt)))], outputs: [out] });
        const known = x.shape.every((d) => d !== null) ? x.shape.reduce((a, b) => a! * b!, 1)! : null;
        const rest = target.filter((d) => d >= 0).reduce((a, b) => a * b, 1);
        v = { name: out, shape: target.map((d) => (d >= 0 ? d : known === null ? null : known / rest)) };
        break;
      }
      case 'ConcatV2': {
        const parts = ins.slice(0, -1).map(value);
        if (parts.some((p) => p.shape.length !== 4)) throw new Error(`${n.name}: only rank-4 concatenation`);
        const axis = Number(weight(ins.at(-1)!).data[0]);
        const along = [0, 2, 3, 1][axis < 0 ? axis + 4 : axis]; // the NHWC axis in NCHW
        nodes.push({ op: 'Concat', inputs: parts.map((p) => p.name), outputs: [out], attrs: { axis: along } });
        const shape = [...parts[0].shape];
        shape[along] = parts.some((p) => p.shape[along] === null) ? null : parts.reduce((sum, p) => sum + p.shape[along]!, 0);
        v = { name: out, shape };
        break;
      }
      default:
        throw new Error(`tfjs graph: op ${n.op} not handled`);
    }
    values.set(n.name, v);
  }

  const outs = Object.entries(outputs).map(([name, node]) => {
    let v = value(node);
    if (v.shape.length === 4) {
      // An image-shaped output back to NHWC, so that it reads as tfjs's.
      const t = fresh(name);
      nodes.push({ op: 'Transpose', inputs: [v.name], outputs: [t], attrs: { perm: [0, 2, 3, 1] } });
      v = { name: t, shape: [v.shape[0], v.shape[2], v.shape[3], v.shape[1]] };
    }
    nodes.push({ op: 'Identity', inputs: [v.name], outputs: [name] });
    return { name, shape: v.shape };
  });
  return { opset: 13, nodes, initializers, inputs, outputs: outs };
}
