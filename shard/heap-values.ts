/**
 * HeapValues: the large collections of one worker (hash tables, sorted sets, long
 * lists) that live as JS objects rather than packed in one arena item.
 *
 * The arena item of such a key holds a 4-byte handle into this table (its
 * ITEM_ENCODING says ENCODING_HEAP); the table holds the object and the bytes it was
 * last accounted at, so `total` is what these objects add to used_memory. Objects
 * estimate their own size (CollectionValue.bytes); the keyspace re-reads it after
 * every write to the object.
 *
 * Owner only: the worker thread that owns the keyspace.
 */
export class HeapValues {
  /** handle → object; slot 0 unused so a zeroed handle never names a live object. */
  #objs: unknown[] = [undefined];
  #bytes: number[] = [0];
  #free: number[] = [];
  /** Sum of the accounted bytes of every live object. */
  total = 0;

  get count(): number {
    return this.#objs.length - 1 - this.#free.length;
  }

  add(obj: unknown, bytes: number): number {
    const h = this.#free.pop() ?? this.#objs.length;
    this.#objs[h] = obj;
    this.#bytes[h] = bytes;
    this.total += bytes;
    return h;
  }

  get(handle: number): unknown {
    return this.#objs[handle];
  }

  bytesOf(handle: number): number {
    return this.#bytes[handle] ?? 0;
  }

  /** Re-accounts an object after a write changed its size. */
  setBytes(handle: number, bytes: number): void {
    this.total += bytes - this.#bytes[handle]!;
    this.#bytes[handle] = bytes;
  }

  /** Drops the object (the key was deleted, overwritten, expired or evicted); GC frees it. */
  release(handle: number): void {
    this.total -= this.#bytes[handle]!;
    this.#objs[handle] = undefined;
    this.#bytes[handle] = 0;
    this.#free.push(handle);
  }

  clear(): void {
    this.#objs = [undefined];
    this.#bytes = [0];
    this.#free = [];
    this.total = 0;
  }
}
