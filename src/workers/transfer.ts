/**
 * Moving buffers between threads instead of copying them (postMessage's transfer list).
 *
 * An image handed over with `handOver` lives in an ArrayBuffer of its own that the caller gives up: the
 * pool moves it into the worker, after which it is empty (detached) on this side. Only callers that do
 * not look at the bytes again may hand them over (the WebSocket's binary frames: decoded once, never
 * stored). Every other image is copied, as before.
 *
 * @example const jpeg = handOver(message.subarray(4 + headerLength)); await engine.analyze(jpeg, options);
 */
const handedOver = new WeakSet<ArrayBuffer>();

/** A copy of `bytes` in its own ArrayBuffer, which the engine may move into a worker without copying. */
export function handOver(bytes: Uint8Array): Uint8Array {
  const own = new Uint8Array(bytes.byteLength);
  own.set(bytes);
  handedOver.add(own.buffer);
  return own;
}

/** The buffers of a job's image that may be moved rather than copied (empty for anything not handed over). */
export function imageTransfer(image: Uint8Array | string): ArrayBuffer[] {
  if (typeof image === 'string' || !(image.buffer instanceof ArrayBuffer) || !handedOver.has(image.buffer)) return [];
  handedOver.delete(image.buffer);
  return [image.buffer];
}

/**
 * The buffers of typed arrays that own their whole ArrayBuffer (embeddings, thumbnails), each once: what
 * a worker can move back with its result. A view into a larger or shared buffer is copied instead.
 */
export function ownedBuffers(...views: Array<ArrayBufferView | null | undefined>): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const v of views) {
    if (v && v.buffer instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength) out.add(v.buffer);
  }
  return [...out];
}
