/**
 * Keyspace: the items of one worker — a SlabArena for the bytes and a HashIndex from
 * key to item Ref — plus lazy expiry and the counters INFO reports.
 *
 * Owner-only: every method mutates or may mutate (lazy expiry deletes), so only the
 * worker thread that owns the arena calls it. Item layout: shard/arena/layout.ts.
 *
 * `now` is the clock commands see. The worker sets it once per batch of commands
 * (as Redis caches mstime per command), so one batch has one notion of "now".
 */
import { SlabArena } from './arena/slab-arena.js';
import { HashIndex, hashKey } from './index/hash-index.js';
import {
  type Ref, ITEM_VERSION, ITEM_TYPE, ITEM_ENCODING, ITEM_FLAGS, ITEM_KEYLEN, ITEM_VALUELEN,
  ITEM_EXPIRE, ITEM_LRU, ITEM_HASH, ITEM_HEADER,
} from './arena/layout.js';

export interface KeyspaceOptions {
  /** Cap on arena page bytes (0 = none). */
  maxBytes?: number;
}

export class Keyspace {
  readonly arena: SlabArena;
  readonly index: HashIndex;
  now = Date.now();
  /** Keys that carry a TTL (INFO keyspace `expires=`). */
  volatileKeys = 0;
  hits = 0;
  misses = 0;
  expiredKeys = 0;

  constructor(opts: KeyspaceOptions = {}) {
    this.arena = new SlabArena(opts.maxBytes ? { maxBytes: opts.maxBytes } : {});
    this.index = new HashIndex(this.arena, { initialCapacity: 16 });
  }

  get size(): number {
    return this.index.size;
  }

  /** The live item for key, or 0. Expired items are deleted on the way (lazy expiry). */
  find(key: Uint8Array): Ref {
    const ref = this.index.find(key, hashKey(key, 0, key.length));
    if (ref === 0) return 0;
    const exp = this.expireAt(ref);
    if (exp !== 0 && exp <= this.now) {
      this.expiredKeys++;
      this.remove(ref);
      return 0;
    }
    return ref;
  }

  /** Like find, and counts a keyspace hit or miss (GET-style reads). */
  lookupRead(key: Uint8Array): Ref {
    const ref = this.find(key);
    if (ref === 0) this.misses++;
    else this.hits++;
    return ref;
  }

  // --- item accessors (ref must be live) -------------------------------------------

  type(ref: Ref): number {
    return this.arena.u8(ref)[this.arena.off(ref) + ITEM_TYPE]!;
  }

  encoding(ref: Ref): number {
    return this.arena.u8(ref)[this.arena.off(ref) + ITEM_ENCODING]!;
  }

  expireAt(ref: Ref): number {
    return this.arena.f64(ref)[(this.arena.off(ref) + ITEM_EXPIRE) >> 3]!;
  }

  keyLen(ref: Ref): number {
    return this.arena.i32(ref)[(this.arena.off(ref) + ITEM_KEYLEN) >> 2]!;
  }

  valueLen(ref: Ref): number {
    return this.arena.i32(ref)[(this.arena.off(ref) + ITEM_VALUELEN) >> 2]! >>> 0;
  }

  /** The page Buffer holding the item; pair with keyStart/valueStart. */
  page(ref: Ref): Buffer {
    return this.arena.u8(ref);
  }

  keyStart(ref: Ref): number {
    return this.arena.off(ref) + ITEM_HEADER;
  }

  valueStart(ref: Ref): number {
    return this.arena.off(ref) + ITEM_HEADER + this.keyLen(ref);
  }

  /** A copy of the key bytes. */
  keyCopy(ref: Ref): Buffer {
    const s = this.keyStart(ref);
    return Buffer.from(this.page(ref).subarray(s, s + this.keyLen(ref)));
  }

  /** A copy of the value bytes. */
  valueCopy(ref: Ref): Buffer {
    const s = this.valueStart(ref);
    return Buffer.from(this.page(ref).subarray(s, s + this.valueLen(ref)));
  }

  /** Capacity for the value in the item's chunk without moving it. */
  valueCapacity(ref: Ref): number {
    return this.arena.chunkSize(ref) - ITEM_HEADER - this.keyLen(ref);
  }

  // --- writes -----------------------------------------------------------------------

  /**
   * Creates or replaces key with an item of `type` holding `valueLen` uninitialised
   * value bytes (the caller fills them at valueStart). Reuses the old chunk in place
   * when it is big enough. Returns the Ref, or 0 when the arena is full (nothing
   * changed then). `existing` is the key's current live Ref if the caller has it
   * (0 = look it up).
   */
  write(key: Uint8Array, type: number, valueLen: number, expireAt: number, existing: Ref = -1): Ref {
    const hash = hashKey(key, 0, key.length);
    const old = existing === -1 ? this.index.find(key, hash) : existing;
    const need = ITEM_HEADER + key.length + valueLen;
    if (old !== 0 && this.arena.chunkSize(old) >= need && this.fitsWell(old, need)) {
      if (this.expireAt(old) !== 0) this.volatileKeys--;
      this.beginWrite(old);
      this.setHeader(old, type, valueLen, expireAt);
      this.endWrite(old);
      return old;
    }
    const ref = this.arena.alloc(need);
    if (ref === 0) return 0;
    const u8 = this.arena.u8(ref);
    const off = this.arena.off(ref);
    const i32 = this.arena.i32(ref);
    i32[(off + ITEM_KEYLEN) >> 2] = key.length;
    i32[(off + ITEM_HASH) >> 2] = hash;
    u8.set(key, off + ITEM_HEADER);
    this.setHeader(ref, type, valueLen, expireAt);
    if (old !== 0) {
      if (this.expireAt(old) !== 0) this.volatileKeys--;
      this.index.update(hash, old, ref);
      this.arena.free(old);
    } else {
      this.index.insert(hash, ref);
    }
    return ref;
  }

  /** Sets key to a string value copied from src[start, end). Returns 0 on OOM. */
  setString(key: Uint8Array, src: Uint8Array, start: number, end: number, expireAt: number, existing: Ref = -1): Ref {
    const ref = this.write(key, 1, end - start, expireAt, existing);
    if (ref !== 0) this.page(ref).set(src.subarray(start, end), this.valueStart(ref));
    return ref;
  }

  /**
   * Changes the value length of a string item, keeping its first bytes. Moves the
   * item when the chunk is too small. Returns the (possibly new) Ref, 0 on OOM.
   */
  resizeValue(key: Uint8Array, ref: Ref, newLen: number): Ref {
    if (newLen <= this.valueCapacity(ref)) {
      this.beginWrite(ref);
      this.arena.i32(ref)[(this.arena.off(ref) + ITEM_VALUELEN) >> 2] = newLen;
      this.endWrite(ref);
      return ref;
    }
    const keep = this.valueLen(ref);
    // Grow geometrically so repeated APPENDs are amortised O(1), as Redis's sds does.
    const cap = newLen < 1024 * 1024 ? newLen * 2 : newLen + 1024 * 1024;
    const hash = hashKey(key, 0, key.length);
    let next = this.arena.alloc(ITEM_HEADER + key.length + cap);
    if (next === 0) next = this.arena.alloc(ITEM_HEADER + key.length + newLen);
    if (next === 0) return 0;
    const src = this.page(ref);
    const from = this.arena.off(ref);
    const dst = this.page(next);
    const to = this.arena.off(next);
    // Header and key and the kept value bytes move as one block; version restarts.
    dst.set(src.subarray(from + 4, from + ITEM_HEADER + key.length + keep), to + 4);
    this.arena.i32(next)[(to + ITEM_VALUELEN) >> 2] = newLen;
    this.index.update(hash, ref, next);
    this.arena.free(ref);
    return next;
  }

  setExpire(ref: Ref, expireAt: number): void {
    const f64 = this.arena.f64(ref);
    const at = (this.arena.off(ref) + ITEM_EXPIRE) >> 3;
    const had = f64[at] !== 0;
    if (had !== (expireAt !== 0)) this.volatileKeys += expireAt !== 0 ? 1 : -1;
    this.beginWrite(ref);
    f64[at] = expireAt;
    this.endWrite(ref);
  }

  /** Marks an in-place value change (caller wrote bytes at valueStart). */
  beginWrite(ref: Ref): void {
    Atomics.add(this.arena.i32(ref), (this.arena.off(ref) + ITEM_VERSION) >> 2, 1);
  }

  endWrite(ref: Ref): void {
    Atomics.add(this.arena.i32(ref), (this.arena.off(ref) + ITEM_VERSION) >> 2, 1);
  }

  /** Deletes a live item. */
  remove(ref: Ref): void {
    if (this.expireAt(ref) !== 0) this.volatileKeys--;
    const hash = this.arena.i32(ref)[(this.arena.off(ref) + ITEM_HASH) >> 2]!;
    this.index.remove(hash, ref);
    this.arena.free(ref);
  }

  /** Deletes key; true if it existed (and was not expired). */
  delete(key: Uint8Array): boolean {
    const ref = this.find(key);
    if (ref === 0) return false;
    this.remove(ref);
    return true;
  }

  flush(): void {
    this.index.clear();
    this.arena.reset();
    this.volatileKeys = 0;
  }

  /** Bytes used by items plus the index (INFO used_memory's dataset part). */
  get usedBytes(): number {
    return this.arena.usedBytes + this.index.memoryBytes;
  }

  private setHeader(ref: Ref, type: number, valueLen: number, expireAt: number): void {
    const u8 = this.arena.u8(ref);
    const off = this.arena.off(ref);
    u8[off + ITEM_TYPE] = type;
    u8[off + ITEM_ENCODING] = 0;
    u8[off + ITEM_FLAGS] = 0;
    u8[off + ITEM_FLAGS + 1] = 0;
    this.arena.i32(ref)[(off + ITEM_VALUELEN) >> 2] = valueLen;
    this.arena.i32(ref)[(off + ITEM_LRU) >> 2] = 0;
    this.arena.f64(ref)[(off + ITEM_EXPIRE) >> 3] = expireAt;
    if (expireAt !== 0) this.volatileKeys++;
  }

  /** Reuse a chunk in place only if it is not wastefully large for the new item. */
  private fitsWell(ref: Ref, need: number): boolean {
    return this.arena.chunkSize(ref) <= need * 2 + 64;
  }
}
