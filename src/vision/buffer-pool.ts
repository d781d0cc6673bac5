/**
 * Frame-lifetime buffers (decoded pixels, model inputs), reused instead of allocated for every frame.
 *
 * A typed array of this size lives outside the JavaScript heap, and V8 counts every one allocated towards
 * its external-memory limit, which starts a full mark-compact collection when reached. An inference
 * worker allocated about 1.5 MB per tracked frame (the decoded picture, the mesh and detector inputs): at
 * 50 frames/s it ran a full collection about 10 times a second, and V8's helper threads marked and swept
 * for it on the same two cores (docs/stream-performance.md, "Garbage collection"). A pool per thread keeps a few
 * free buffers of each length, so a stream's frames reuse them.
 *
 * Rules: `take` gives a buffer whose contents are left over from its last use (the caller writes every
 * element, or fills it first); `give` hands it back once nothing refers to it any more. A buffer that is
 * never given back is simply collected.
 *
 * @example const px = floatPool.take(192 * 192 * 3); try { … } finally { floatPool.give(px); }
 */
export class BufferPool<T extends Uint8Array<ArrayBuffer> | Float32Array<ArrayBuffer>> {
  readonly #free = new Map<number, T[]>();
  readonly #type: new (length: number) => T;
  readonly #perLength: number;
  readonly #lengths: number;
  readonly #maxBytes: number;
  #bytes = 0;
  readonly #given = new WeakSet<ArrayBufferLike>();

  /**
   * `perLength` free buffers are kept per length, for at most `lengths` lengths and `maxBytes` in all (the
   * least recently given length goes first): a camera's few frame sizes stay, one huge upload does not.
   */
  constructor(type: new (length: number) => T, opts: { perLength?: number; lengths?: number; maxBytes?: number } = {}) {
    this.#type = type;
    this.#perLength = opts.perLength ?? 4;
    this.#lengths = opts.lengths ?? 8;
    this.#maxBytes = opts.maxBytes ?? 32 * 1024 * 1024;
  }

  /** Buffers handed out, and of those how many had to be allocated (for the tests and the profile). */
  readonly counts = { taken: 0, allocated: 0 };

  take(length: number): T {
    this.counts.taken++;
    const buf = this.#free.get(length)?.pop();
    if (!buf) {
      this.counts.allocated++;
      return new this.#type(length);
    }
    this.#given.delete(buf.buffer);
    this.#bytes -= buf.byteLength;
    return buf;
  }

  /**
   * Back to the pool. Only an array of the pool's type that owns its whole ArrayBuffer is kept (a view
   * into another buffer, a shared one or another type is left alone).
   */
  give(array: Uint8Array | Float32Array): void {
    if (!(array instanceof this.#type) || !(array.buffer instanceof ArrayBuffer) || array.byteOffset !== 0 || array.byteLength !== array.buffer.byteLength) return;
    const buf = array as T;
    // Given twice would hand one buffer to two takers.
    if (this.#given.has(buf.buffer)) throw new Error('BufferPool: buffer given back twice');
    if (buf.byteLength > this.#maxBytes) return;
    let list = this.#free.get(buf.length);
    if (list) this.#free.delete(buf.length); // re-inserted below: most recently given last
    else list = [];
    this.#free.set(buf.length, list);
    if (list.length >= this.#perLength) return;
    list.push(buf);
    this.#given.add(buf.buffer);
    this.#bytes += buf.byteLength;
    while (this.#free.size > this.#lengths || this.#bytes > this.#maxBytes) this.#drop(this.#free.keys().next().value!);
  }

  #drop(length: number): void {
    for (const b of this.#free.get(length) ?? []) {
      this.#bytes -= b.byteLength;
      this.#given.delete(b.buffer);
    }
    this.#free.delete(length);
  }

  /** Free buffers held now, and their bytes. */
  get held(): { buffers: number; bytes: number } {
    let buffers = 0;
    for (const list of this.#free.values()) buffers += list.length;
    return { buffers, bytes: this.#bytes };
  }
}

/** This thread's pools: 8-bit pixels (decoded images) and 32-bit float model inputs. */
export const bytePool = new BufferPool(Uint8Array);
export const floatPool = new BufferPool(Float32Array);
