/**
 * Keyspace: the items of one worker — a SlabArena for the bytes, a HashIndex from key
 * to item Ref, a second HashIndex of the items that carry a TTL — plus lazy expiry,
 * the LRU/LFU access stamp and the counters INFO reports.
 *
 * Owner-only: every method mutates or may mutate (lazy expiry deletes), so only the
 * worker thread that owns the arena calls it. Item layout: shard/arena/layout.ts.
 *
 * `now` is the clock commands see. The worker sets it once per batch of commands
 * (as Redis caches mstime per command), so one batch has one notion of "now".
 */
import { SlabArena } from './arena/slab-arena.js';
import { HashIndex, hashKey } from './index/hash-index.js';
import { HeapValues } from './heap-values.js';
import {
  type Ref, ITEM_VERSION, ITEM_TYPE, ITEM_ENCODING, ITEM_FLAGS, ITEM_KEYLEN, ITEM_VALUELEN,
  ITEM_EXPIRE, ITEM_LRU, ITEM_HASH, ITEM_HEADER, TYPE_STRING,
} from './arena/layout.js';

export interface KeyspaceOptions {
  /** Cap on arena page bytes (0 = none). */
  maxBytes?: number;
}

/** ITEM_ENCODING of strings: 0 = as the bytes suggest (int/embstr/raw), 1 = raw (APPEND/SETRANGE, as Redis). */
export const ENCODING_AUTO = 0;
export const ENCODING_RAW = 1;
/**
 * ITEM_ENCODING of collections: packed = the value bytes are the whole collection
 * (shard/types/packed.ts); heap = the value is a 4-byte handle into `Keyspace.heap`.
 */
export const ENCODING_PACKED = 0;
export const ENCODING_HEAP = 2;

/** Evictions tried for one allocation when the arena is at its page cap. */
const RECLAIM_TRIES = 256;

/** LFU counter a new key starts with (Redis LFU_INIT_VAL), so it is not evicted at once. */
export const LFU_INIT_VAL = 5;

export class Keyspace {
  readonly arena: SlabArena;
  readonly index: HashIndex;
  /** The items that carry a TTL (same hashes and Refs as `index`): sampled by active expiry and volatile-* eviction. */
  readonly volatile: HashIndex;
  /** Large collections held as JS objects; their bytes count in usedBytes. */
  readonly heap = new HeapValues();
  now = Date.now();
  /** Seconds clock stored in ITEM_LRU under LRU policies. */
  lruClock = Math.floor(Date.now() / 1000);
  /** When true ITEM_LRU holds (minutes << 8 | log counter) as Redis's LFU. */
  /**
   * Set while running a command of a CLIENT NO-TOUCH client (SHOAL.NOTOUCH brackets it
   * in the proxy's batch): reads leave LRU/LFU alone, as Redis 7.2.
   */
  noTouch = false;
  lfu = false;
  lfuLogFactor = 10;
  lfuDecayTime = 1;
  /** Frees one item other than `avoid` when the arena cannot allocate (the evictor); false when it cannot. */
  reclaim: (avoid: Ref) => boolean = () => false;
  hits = 0;
  misses = 0;
  expiredKeys = 0;
  evictedKeys = 0;
  /**
   * WATCH support (shard/commands/transactions.ts): modification counters by
   * (key hash & mask), set only while some watch is registered (else null, and
   * nothing is counted). Every unlink bumps its key's counter.
   */
  watchCounters: Uint32Array | null = null;
  /** Called before any item leaves the index (expiry, eviction, delete): a running snapshot copies it out first (shard/persistence/snapshot.ts); null otherwise. */
  beforeUnlink: ((ref: Ref) => void) | null = null;
  /** Keyspace notifications of expiries and evictions (shard/keyspace-events.ts); null while off. */
  onRemoved: ((evicted: boolean, ref: Ref) => void) | null = null;
  /** The write stream (shard/persistence/write-stream.ts): a key removed by expiry or eviction propagates as DEL. */
  onRemovedLog: ((ref: Ref) => void) | null = null;
  /** Keyspace notification of a key created (`new`, shard/keyspace-events.ts); null while off. */
  onNew: ((key: Uint8Array) => void) | null = null;
  /** Bumped by flush() (FLUSHALL/FLUSHDB) and when watching stops: changes every watch token. Random start, so tokens of an earlier process never match. */
  watchEpoch = Math.floor(Math.random() * 0x100000);

  constructor(opts: KeyspaceOptions = {}) {
    this.arena = new SlabArena(opts.maxBytes ? { maxBytes: opts.maxBytes } : {});
    this.index = new HashIndex(this.arena, { initialCapacity: 16 });
    this.volatile = new HashIndex(this.arena, { initialCapacity: 16 });
    // Page reassignment (the arena taking a page for another size class at its cap)
    // moves or drops live items; every reference to them lives in the two indexes.
    this.arena.setRelocator({
      moved: (oldRef, newRef) => {
        const hash = this.hashOf(newRef);
        this.index.update(hash, oldRef, newRef);
        if (this.expireAt(newRef) !== 0) this.volatile.update(hash, oldRef, newRef);
      },
      evict: (ref) => {
        this.evictedKeys++;
        if (this.onRemoved !== null) this.onRemoved(true, ref);
        if (this.onRemovedLog !== null) this.onRemovedLog(ref);
        this.unlink(ref);
      },
    });
  }

  /**
   * arena.alloc, and when the arena is at its page cap, evicts by policy and retries
   * (bounded): `keep` is the caller's current item, which must survive.
   */
  private allocOrReclaim(bytes: number, keep: Ref): Ref {
    let ref = this.arena.alloc(bytes, keep);
    for (let tries = 0; ref === 0 && tries < RECLAIM_TRIES; tries++) {
      if (!this.reclaim(keep)) break;
      ref = this.arena.alloc(bytes, keep);
    }
    return ref;
  }

  /** Caps arena pages (0 = none): the memory-limited worker's hard ceiling. */
  setPageCap(bytes: number): void {
    this.arena.setMaxBytes(bytes);
  }

  get size(): number {
    return this.index.size;
  }

  /** Keys that carry a TTL (INFO keyspace `expires=`). */
  get volatileKeys(): number {
    return this.volatile.size;
  }

  /** Sets the clock commands see (once per batch). */
  setNow(ms: number): void {
    this.now = ms;
    this.lruClock = Math.floor(ms / 1000);
  }

  /**
   * The live item for key, or 0. Expired items are deleted on the way (lazy expiry).
   * `touch` = false reads without recording an access (OBJECT, as Redis's NOTOUCH).
   */
  find(key: Uint8Array, touch = true): Ref {
    const ref = this.index.find(key, hashKey(key, 0, key.length));
    if (ref === 0) return 0;
    const exp = this.expireAt(ref);
    if (exp !== 0 && exp <= this.now) {
      this.expire(ref);
      return 0;
    }
    if (touch) this.touch(ref);
    return ref;
  }

  /** Like find, and counts a keyspace hit or miss (GET-style reads). */
  lookupRead(key: Uint8Array): Ref {
    const ref = this.find(key);
    if (ref === 0) this.misses++;
    else this.hits++;
    return ref;
  }

  /**
   * Records an access in ITEM_LRU: the LRU clock, or Redis's logarithmic LFU counter.
   * The index keeps a copy beside the entry (its aux word) for the evictor's sampling.
   */
  touch(ref: Ref): void {
    if (this.noTouch) return;
    const i32 = this.arena.i32(ref);
    const off = this.arena.off(ref);
    const at = (off + ITEM_LRU) >> 2;
    let word = this.lruClock;
    if (this.lfu) {
      let counter = this.lfuDecayed(i32[at]!);
      if (counter < 255) {
        const base = counter > LFU_INIT_VAL ? counter - LFU_INIT_VAL : 0;
        if (Math.random() < 1 / (base * this.lfuLogFactor + 1)) counter++;
      }
      word = (this.lfuMinutes() << 8) | counter;
    }
    if (i32[at] === word) return;
    i32[at] = word;
    this.index.setAux(i32[(off + ITEM_HASH) >> 2]!, ref, word);
  }

  /** LFU counter of an ITEM_LRU word after decay (Redis LFUDecrAndReturn). */
  lfuDecayed(word: number): number {
    const counter = word & 0xff;
    const ldt = (word >>> 8) & 0xffff;
    const now = this.lfuMinutes();
    const elapsed = now >= ldt ? now - ldt : 65535 - ldt + now;
    const periods = this.lfuDecayTime > 0 ? Math.floor(elapsed / this.lfuDecayTime) : 0;
    return periods > counter ? 0 : counter - periods;
  }

  lfuMinutes(): number {
    return Math.floor(this.now / 60000) & 0xffff;
  }

  /** Raw ITEM_LRU word (LRU seconds or LFU word). */
  lruWord(ref: Ref): number {
    return this.arena.i32(ref)[(this.arena.off(ref) + ITEM_LRU) >> 2]!;
  }

  /** Seconds since the item was last touched (LRU policies). */
  idleSeconds(ref: Ref): number {
    return (this.lruClock - this.lruWord(ref)) >>> 0;
  }

  // --- item accessors (ref must be live) -------------------------------------------

  type(ref: Ref): number {
    return this.arena.u8(ref)[this.arena.off(ref) + ITEM_TYPE]!;
  }

  /** Marks how the value was last written (ENCODING_* below); reset to auto by every write(). */
  setEncoding(ref: Ref, enc: number): void {
    this.arena.u8(ref)[this.arena.off(ref) + ITEM_ENCODING] = enc;
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
    let old = existing === -1 ? this.index.find(key, hash) : existing;
    // With keyspace notifications on, a key whose TTL passed expires first (`expired`,
    // then `new`), as Redis's lookupKeyWrite; otherwise overwriting it is the same.
    if (old !== 0 && existing === -1 && (this.onRemoved !== null || this.onNew !== null)) {
      const exp = this.expireAt(old);
      if (exp !== 0 && exp <= this.now) {
        this.expire(old);
        old = 0;
      }
    }
    const need = ITEM_HEADER + key.length + valueLen;
    const oldTtl = old !== 0 && this.expireAt(old) !== 0;
    if (old !== 0) this.releaseHeapValue(old);
    if (old !== 0 && this.arena.chunkSize(old) >= need && this.fitsWell(old, need)) {
      this.beginWrite(old);
      this.index.setAux(hash, old, this.setHeader(old, type, valueLen, expireAt));
      this.endWrite(old);
      if (oldTtl && expireAt === 0) this.volatile.remove(hash, old);
      else if (!oldTtl && expireAt !== 0) this.volatile.insert(hash, old);
      return old;
    }
    const ref = this.allocOrReclaim(need, old);
    if (ref === 0) return 0;
    const u8 = this.arena.u8(ref);
    const off = this.arena.off(ref);
    const i32 = this.arena.i32(ref);
    i32[(off + ITEM_KEYLEN) >> 2] = key.length;
    i32[(off + ITEM_HASH) >> 2] = hash;
    u8.set(key, off + ITEM_HEADER);
    const word = this.setHeader(ref, type, valueLen, expireAt);
    if (old !== 0) {
      this.index.update(hash, old, ref);
      this.index.setAux(hash, ref, word);
      if (oldTtl && expireAt !== 0) this.volatile.update(hash, old, ref);
      else if (oldTtl) this.volatile.remove(hash, old);
      else if (expireAt !== 0) this.volatile.insert(hash, ref);
      this.arena.free(old);
    } else {
      this.index.insert(hash, ref, word);
      if (expireAt !== 0) this.volatile.insert(hash, ref);
      if (this.onNew !== null) this.onNew(key);
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
    let next = this.arena.alloc(ITEM_HEADER + key.length + cap, ref);
    if (next === 0) next = this.allocOrReclaim(ITEM_HEADER + key.length + newLen, ref);
    if (next === 0) return 0;
    const src = this.page(ref);
    const from = this.arena.off(ref);
    const dst = this.page(next);
    const to = this.arena.off(next);
    // Header and key and the kept value bytes move as one block; version restarts.
    dst.set(src.subarray(from + 4, from + ITEM_HEADER + key.length + keep), to + 4);
    this.arena.i32(next)[(to + ITEM_VALUELEN) >> 2] = newLen;
    this.index.update(hash, ref, next);
    if (this.expireAt(next) !== 0) this.volatile.update(hash, ref, next);
    this.arena.free(ref);
    return next;
  }

  setExpire(ref: Ref, expireAt: number): void {
    const f64 = this.arena.f64(ref);
    const at = (this.arena.off(ref) + ITEM_EXPIRE) >> 3;
    const had = f64[at] !== 0;
    this.beginWrite(ref);
    f64[at] = expireAt;
    this.endWrite(ref);
    if (had !== (expireAt !== 0)) {
      const hash = this.hashOf(ref);
      if (had) this.volatile.remove(hash, ref);
      else this.volatile.insert(hash, ref);
    }
  }

  hashOf(ref: Ref): number {
    return this.arena.i32(ref)[(this.arena.off(ref) + ITEM_HASH) >> 2]!;
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
    this.unlink(ref);
    this.arena.free(ref);
  }

  /** Drops a live item from the indexes without freeing its chunk. */
  unlink(ref: Ref): void {
    if (this.beforeUnlink !== null) this.beforeUnlink(ref);
    this.releaseHeapValue(ref);
    const hash = this.hashOf(ref);
    if (this.watchCounters !== null) this.watchCounters[hash & (this.watchCounters.length - 1)]!++;
    if (this.expireAt(ref) !== 0) this.volatile.remove(hash, ref);
    this.index.remove(hash, ref);
  }

  /** Deletes an item for memory (maxmemory eviction). */
  evict(ref: Ref): void {
    this.evictedKeys++;
    if (this.onRemoved !== null) this.onRemoved(true, ref);
    if (this.onRemovedLog !== null) this.onRemovedLog(ref);
    this.remove(ref);
  }

  /** Deletes an item whose TTL passed (active expiry). */
  expire(ref: Ref): void {
    this.expiredKeys++;
    if (this.onRemoved !== null) this.onRemoved(false, ref);
    if (this.onRemovedLog !== null) this.onRemovedLog(ref);
    this.remove(ref);
  }

  /** Deletes key; true if it existed (and was not expired). */
  delete(key: Uint8Array): boolean {
    const ref = this.find(key);
    if (ref === 0) return false;
    this.remove(ref);
    return true;
  }

  /** A write to key: bumps its watch counter (while watching). */
  touchWatched(key: Uint8Array): void {
    const c = this.watchCounters;
    if (c !== null) c[hashKey(key, 0, key.length) & (c.length - 1)]!++;
  }

  flush(): void {
    this.watchEpoch = (this.watchEpoch + 1) & 0xfffff;
    this.index.clear();
    this.volatile.clear();
    this.heap.clear();
    this.arena.reset();
  }

  /** Bytes used by items, both indexes and heap collections: INFO used_memory, compared with maxmemory. */
  get usedBytes(): number {
    return this.arena.usedBytes + this.index.memoryBytes + this.volatile.memoryBytes + this.heap.total;
  }

  // --- heap collections ----------------------------------------------------------------

  /** True when the item's value is a handle into `heap` (a large collection). */
  isHeap(ref: Ref): boolean {
    return this.type(ref) !== TYPE_STRING && this.encoding(ref) === ENCODING_HEAP;
  }

  /** The heap handle stored in a heap item's value. */
  heapHandle(ref: Ref): number {
    return this.page(ref).readInt32LE(this.valueStart(ref));
  }

  /**
   * Creates or replaces key with a heap collection `obj` of `type` accounted at
   * `bytes`. Returns the Ref, 0 on OOM (then obj is not stored).
   */
  writeHeap(key: Uint8Array, type: number, obj: unknown, bytes: number, expireAt: number, existing: Ref = -1): Ref {
    const ref = this.write(key, type, 4, expireAt, existing);
    if (ref === 0) return 0;
    const handle = this.heap.add(obj, bytes);
    this.arena.u8(ref)[this.arena.off(ref) + ITEM_ENCODING] = ENCODING_HEAP;
    this.page(ref).writeInt32LE(handle, this.valueStart(ref));
    return ref;
  }

  private releaseHeapValue(ref: Ref): void {
    if (this.isHeap(ref)) {
      this.heap.release(this.heapHandle(ref));
      this.arena.u8(ref)[this.arena.off(ref) + ITEM_ENCODING] = ENCODING_PACKED;
    }
  }

  /** Writes a fresh item header; returns its ITEM_LRU word (the caller mirrors it into the index). */
  private setHeader(ref: Ref, type: number, valueLen: number, expireAt: number): number {
    const u8 = this.arena.u8(ref);
    const off = this.arena.off(ref);
    u8[off + ITEM_TYPE] = type;
    u8[off + ITEM_ENCODING] = 0;
    u8[off + ITEM_FLAGS] = 0;
    u8[off + ITEM_FLAGS + 1] = 0;
    const word = this.lfu ? (this.lfuMinutes() << 8) | LFU_INIT_VAL : this.lruClock;
    this.arena.i32(ref)[(off + ITEM_VALUELEN) >> 2] = valueLen;
    this.arena.i32(ref)[(off + ITEM_LRU) >> 2] = word;
    this.arena.f64(ref)[(off + ITEM_EXPIRE) >> 3] = expireAt;
    return word;
  }

  /** Reuse a chunk in place only if it is not wastefully large for the new item. */
  private fitsWell(ref: Ref, need: number): boolean {
    return this.arena.chunkSize(ref) <= need * 2 + 64;
  }
}
