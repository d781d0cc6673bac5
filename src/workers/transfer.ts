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

/**
 * A job's image as it goes to a worker, and the buffers that may be moved rather than copied (only a
 * handed-over image's). postMessage copies a typed array's whole ArrayBuffer, not just its view: an
 * image that is a small view into a much larger buffer (a frame cut out of a whole video file, a part of
 * a request body) is first copied out on its own, so the worker gets its bytes and not the rest.
 */
export function forWorker(image: Uint8Array | string): { image: Uint8Array | string; transfer: ArrayBuffer[] } {
  if (typeof image === 'string') return { image, transfer: [] };
  if (image.buffer instanceof ArrayBuffer && handedOver.has(image.buffer)) {
    handedOver.delete(image.buffer);
    return { image, transfer: [image.buffer] };
  }
  const whole = image.buffer.byteLength;
  // new Uint8Array(view) copies (a Buffer's own slice() would be another view).
  if (whole > LARGE_VIEW_BYTES && whole > 2 * image.byteLength) return { image: new Uint8Array(image), transfer: [] };
  return { image, transfer: [] };
}

/** A view into a buffer larger than this (and over twice its size) is copied out before posting. */
const LARGE_VIEW_BYTES = 64 * 1024;

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
