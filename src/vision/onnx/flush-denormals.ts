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

  const walk = (start: number, end: number, onField: (field: number, wire: number, s: number, e: number) => void) => {
    for (const f of protoFields(bytes, start, end)) onField(f.field, f.wire, f.start, f.end);
  };

  const tensor = (s: number, e: number) => {
    let dataType = 1; // FLOAT unless the tensor says otherwise
    const floatRanges: Array<[number, number]> = [];
    walk(s, e, (field, wire, fs, fe) => {
      if (field === 2 && wire === 0) dataType = readVarint(bytes, fs)[0];
      else if ((field === 9 || field === 4) && wire === 2) floatRanges.push([fs, fe]); // raw_data, packed float_data
    });
    if (dataType === 1) for (const [fs, fe] of floatRanges) flushRange(fs, fe);
  };

  walk(0, bytes.length, (field, wire, s, e) => {
    if (field !== 7 || wire !== 2) return; // ModelProto.graph
    walk(s, e, (gf, gw, gs, ge) => {
      if (gf === 5 && gw === 2) tensor(gs, ge); // GraphProto.initializer
    });
  });
  return { bytes, flushed };
}
