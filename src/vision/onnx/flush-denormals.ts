import { protoFields, readVarint } from './onnx-proto.ts';

/**
 * Zero the denormal float32 weights of an ONNX model in memory, and with `minMagnitude` also the normal
 * but negligible ones below it.
 *
 * Some shipped models (faceplugin's fr_feature.onnx) hold weights so small that they, or their products
 * with activations, are denormal; x86 then takes a microcode slow path on every such multiply (the
 * recogniser ran 64–87 ms instead of 9 ms). onnxruntime's `set_denormal_as_zero` only reaches the first
 * thread that ever creates a session in the process (a `call_once`), so worker threads created later,
 * or replaced, lose it. Zeroing the weights themselves fixes every thread.
 *
 * The ONNX protobuf is walked just far enough (ModelProto.graph → GraphProto.initializer →
 * TensorProto.float_data / raw_data of FLOAT tensors) and edited in place: lengths never change.
 *
 * @example const bytes = flushDenormalWeights(readFileSync(modelPath)); await ort.InferenceSession.create(bytes, opts);
 */
export function flushDenormalWeights(model: Uint8Array, minMagnitude = 0): { bytes: Uint8Array; flushed: number } {
  const bytes = new Uint8Array(model); // a copy: the caller's buffer is left alone
  let flushed = 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  const flushRange = (start: number, end: number) => {
    for (let o = start; o + 4 <= end; o += 4) {
      const u = view.getUint32(o, true);
      const denormal = (u & 0x7f800000) === 0 && (u & 0x007fffff) !== 0;
      if (denormal || (u & 0x7fffffff) !== 0 && Math.abs(view.getFloat32(o, true)) < minMagnitude) {
        view.setUint32(o, u & 0x80000000, true); // keep the sign: ±0
        flushed++;
      }
    }
  };

  const tensor = (s: number, e: number) => {
    let dataType = 1; // FLOAT unless the tensor says otherwise
    const floatRanges: Array<[number, number]> = [];
    for (const f of protoFields(bytes, s, e)) {
      if (f.field === 2 && f.wire === 0) dataType = readVarint(bytes, f.start)[0];
      else if ((f.field === 9 || f.field === 4) && f.wire === 2) floatRanges.push([f.start, f.end]); // raw_data, packed float_data
    }
    if (dataType === 1) for (const [fs, fe] of floatRanges) flushRange(fs, fe);
  };

  for (const graph of protoFields(bytes)) {
    if (graph.field !== 7 || graph.wire !== 2) continue; // ModelProto.graph
    for (const g of protoFields(bytes, graph.start, graph.end)) if (g.field === 5 && g.wire === 2) tensor(g.start, g.end); // GraphProto.initializer
  }
  return { bytes, flushed };
}
