/**
 * HashIndex: key -> Ref map for one shard worker. Open addressing with Robin Hood
 * probing in an Int32Array over a SharedArrayBuffer; incremental resize.
 *
 * Owner only: every method is called by the worker thread that owns the arena; the
 * table is in a SAB so a snapshot task can be handed it, not so others can write it.
 *
 * Table layout (3 x i32 per bucket, `cap` buckets, cap a power of two):
 *
 *    bucket:   0                    1                         cap-1
 *           +------+------+------+------+------+------+-   -+------+------+------+
 *           | hash | ref  | aux  | hash | ref  | aux  | ... | hash | ref  | aux  |
 *           +------+------+------+------+------+------+-   -+------+------+------+
 *    ref 0 = empty bucket. home(e) = e.hash & (cap - 1); dist(e, i) = (i - home) & mask.
 *
 * `aux` is one word the owner keeps beside each entry and the index only carries
 * along (moves, resizes). The keyspace keeps the item's access word there (ITEM_LRU:
 * LRU clock or LFU counter), so the evictor scores its samples from the walk that
 * found them instead of reading each sampled item (a cache miss each). Invariant:
 * in the main index, aux == the item's ITEM_LRU word; the keyspace writes both
 * (Keyspace.touch, Keyspace.write).
 *
 * Robin Hood invariant: along a cluster, entries are ordered by home bucket (cyclic),
 * so all entries with the same home are contiguous and a probe for home h can stop
 * at an empty bucket or at an entry whose dist is smaller than the probe's own.
 * Deletion is by backward shift (no tombstones), which keeps that invariant.
 *
 * Incremental resize (grow x2 when size > maxLoadFactor * cap; shrink /2 when
 * size < SHRINK_LOAD * cap and cap > initialCapacity):
 *
 *      #old (being drained)              #tab (new, receives every insert)
 *    +------------------------+        +------------------------------------+
 *    | homes < #migrate: gone |        |                                    |
 *    | homes >= #migrate: here|  --->  |                                    |
 *    +------------------------+        +------------------------------------+
 *
 * A migration step takes old home bucket `#migrate`, moves every entry with that home
 * into #tab and deletes it from #old with backward shift, so #old stays a valid Robin
 * Hood table until it is empty. Lookups consult #tab, then #old if the key's old home
 * is >= #migrate. `migrateStep` old buckets move per insert/remove, plus
 * resizeStep(n) from the worker's timer.
 *
 * Worst pause per op: one migrate step touches `migrateStep` old home buckets; each
 * moves its entries (expected < 2 at load <= 0.85) with a backward shift over the
 * rest of the cluster (expected cluster length at load 0.85 with Robin Hood is a few
 * tens of buckets). So with migrateStep = 16 an insert does at most ~16 x (cluster
 * length) bucket reads, low microseconds. A resize never moves all entries in one
 * call, except the pathological case where a new resize is needed before the
 * previous one finished (only if migrateStep < 2 and no timer ran): then the old
 * table is drained first, synchronously. Allocating the new table is one
 * SharedArrayBuffer of 8 * cap bytes (zeroed lazily by the OS).
 *
 * SCAN: the cursor is a bucket index advanced in Redis's reverse-binary order
 * (dictScan). One call visits every entry whose hash matches the cursor in the low
 * bits of the smaller table's mask, in both tables, so resizes between calls neither
 * lose nor (beyond Redis's own duplicates) repeat entries.
 */

import type { SlabArena } from '../arena/slab-arena.js';
import { ITEM_HEADER, ITEM_KEYLEN, PAGE_MASK, type Ref } from '../arena/layout.js';

export interface HashIndexOptions {
  /** Initial bucket count, a power of 2; default 1024. Also the floor for shrinking. */
  initialCapacity?: number;
  /** Grow when size exceeds this fraction of the buckets; default 0.85. */
  maxLoadFactor?: number;
  /** Old home buckets migrated per insert/remove during a resize; default 16. */
  migrateStep?: number;
}

/** Shrink when the load falls below this (a guess: wide hysteresis against thrash). */
const SHRINK_LOAD = 0.1;
/** Random-probe attempts in randomRef before falling back to a linear walk. */
const RANDOM_TRIES = 64;
/** A sampling walk (sampleRefs, sampleNext) reads at most this many buckets per wanted entry (load is >= SHRINK_LOAD). */
const SAMPLE_WALK_FACTOR = 10;

/** i32 words per bucket: hash, ref, aux. */
const S = 3;
const BUCKET_BYTES = S * 4;

const EMPTY_TABLE = new Int32Array(new SharedArrayBuffer(BUCKET_BYTES));

// ---------------------------------------------------------------------------------
// hashKey: MurmurHash3 x86_32, fixed seed. The seed is fixed (not random per process)
// because ITEM_HASH is stored in items and must agree across threads and restarts.
// ---------------------------------------------------------------------------------

const SEED = 0x9747b28c;

/** 32-bit unsigned MurmurHash3 of buf[start, end). */
export function hashKey(buf: Uint8Array, start: number, end: number): number {
  let h = SEED;
  const len = end - start;
  const blocksEnd = start + (len & ~3);
  let i = start;
  while (i < blocksEnd) {
    let k = buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    i += 4;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = len & 3;
  if (tail !== 0) {
    let k = buf[i]!;
    if (tail > 1) k |= buf[i + 1]! << 8;
    if (tail > 2) k |= buf[i + 2]! << 16;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function newTable(cap: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(cap * BUCKET_BYTES));
}

/** Reverse the 32 bits of v: the SCAN cursor's order (also the snapshot walk's, shard/persistence/snapshot.ts). */
export function rev32(v: number): number {
  v = ((v >>> 1) & 0x55555555) | ((v & 0x55555555) << 1);
  v = ((v >>> 2) & 0x33333333) | ((v & 0x33333333) << 2);
  v = ((v >>> 4) & 0x0f0f0f0f) | ((v & 0x0f0f0f0f) << 4);
  v = ((v >>> 8) & 0x00ff00ff) | ((v & 0x00ff00ff) << 8);
  return ((v >>> 16) | (v << 16)) >>> 0;
}

export class HashIndex {
  readonly #arena: SlabArena;
  readonly #initialCap: number;
  readonly #maxLoad: number;
  readonly #step: number;

  /** Current table: receives inserts. */
  #tab: Int32Array;
  #mask: number;
  /** Table being drained during a resize, else EMPTY_TABLE. */
  #old: Int32Array = EMPTY_TABLE;
  #oldMask = 0;
  /** Next old home bucket to migrate; -1 when no resize is in progress. */
  #migrate = -1;
  #size = 0;
  /** memoryBytes, kept as a number (read before every command under maxmemory): both tables while resizing. */
  #bytes = 0;
  #growAt: number;
  #shrinkAt: number;
  /** SCAN collects refs here before calling visit, so visit may mutate the index. */
  #scratch = new Int32Array(64);
  #scanning = false;
  /** Next bucket sampleNext walks from. */
  #sweep = 0;
  /** The bucket after the last one #walk read. */
  #walkEnd = 0;
  /** Where find/insert/update last left an entry (table, bucket): setAux right after them needs no probe. */
  #lastTab: Int32Array = EMPTY_TABLE;
  #lastSlot = 0;

  constructor(arena: SlabArena, opts: HashIndexOptions = {}) {
    const cap = opts.initialCapacity ?? 1024;
    if (!(cap >= 8 && (cap & (cap - 1)) === 0 && cap <= 1 << 28)) {
      throw new RangeError('initialCapacity must be a power of 2 in 8..2^28');
    }
    const maxLoad = opts.maxLoadFactor ?? 0.85;
    if (!(maxLoad > SHRINK_LOAD * 4 && maxLoad <= 0.95)) {
      throw new RangeError(`maxLoadFactor must be in (${SHRINK_LOAD * 4}, 0.95]`);
    }
    this.#arena = arena;
    this.#initialCap = cap;
    this.#maxLoad = maxLoad;
    this.#step = Math.max(1, Math.floor(opts.migrateStep ?? 16));
    this.#tab = newTable(cap);
    this.#mask = cap - 1;
    this.#bytes = cap * BUCKET_BYTES;
    this.#growAt = Math.floor(cap * maxLoad);
    this.#shrinkAt = -1;
  }

  get size(): number {
    return this.#size;
  }

  /** Bytes of the table SABs (both while resizing). */
  get memoryBytes(): number {
    return this.#bytes;
  }

  /** Bucket count of the current table (diagnostics, tests). */
  get capacity(): number {
    return this.#mask + 1;
  }

  /** True while an incremental resize is in progress. */
  get resizing(): boolean {
    return this.#migrate >= 0;
  }

  /** The Ref of the item whose key equals `key`, 0 if absent. `hash` = hashKey(key). */
  find(key: Uint8Array, hash: number): Ref {
    const h = hash | 0;
    const ref = this.#findIn(this.#tab, this.#mask, key, h);
    if (ref !== 0 || this.#migrate < 0 || (h & this.#oldMask) < this.#migrate) return ref;
    return this.#findIn(this.#old, this.#oldMask, key, h);
  }

  #findIn(tab: Int32Array, mask: number, key: Uint8Array, h: number): Ref {
    let i = h & mask;
    for (let d = 0; ; d++) {
      const ref = tab[S * i + 1] as number;
      if (ref === 0) return 0;
      const eh = tab[S * i] as number;
      if (eh === h) {
        if (this.#keyEquals(ref, key)) {
          this.#lastTab = tab;
          this.#lastSlot = i;
          return ref;
        }
      } else if (((i - (eh & mask)) & mask) < d) {
        return 0;
      }
      i = (i + 1) & mask;
    }
  }

  #keyEquals(ref: Ref, key: Uint8Array): boolean {
    const arena = this.#arena;
    const off = ref & PAGE_MASK;
    const len = key.length;
    if ((arena.i32(ref)[(off + ITEM_KEYLEN) >> 2] as number) !== len) return false;
    const page = arena.u8(ref);
    const s = off + ITEM_HEADER;
    if (len > 16) return page.compare(key, 0, len, s, s + len) === 0;
    for (let j = 0; j < len; j++) {
      if (page[s + j] !== key[j]) return false;
    }
    return true;
  }

  /** Adds hash -> ref with its aux word. The caller guarantees the key is absent. */
  insert(hash: number, ref: Ref, aux = 0): void {
    if (this.#migrate >= 0) this.#migrateBuckets(this.#step);
    if (this.#size >= this.#growAt) this.#startResize((this.#mask + 1) * 2);
    this.#size++;
    this.#lastTab = this.#tab;
    this.#lastSlot = HashIndex.#put(this.#tab, this.#mask, hash | 0, ref, aux);
  }

  /**
   * Robin Hood insert of (h, ref, aux) into tab; the table must have an empty bucket.
   * Returns the bucket the new entry landed in (entries it displaced move on).
   */
  static #put(tab: Int32Array, mask: number, h: number, ref: Ref, aux: number): number {
    let i = h & mask;
    let d = 0;
    let landed = -1;
    for (;;) {
      const r = tab[S * i + 1] as number;
      if (r === 0) {
        tab[S * i] = h;
        tab[S * i + 1] = ref;
        tab[S * i + 2] = aux;
        return landed === -1 ? i : landed;
      }
      const eh = tab[S * i] as number;
      const ed = (i - (eh & mask)) & mask;
      if (ed < d) {
        const ea = tab[S * i + 2] as number;
        tab[S * i] = h;
        tab[S * i + 1] = ref;
        tab[S * i + 2] = aux;
        if (landed === -1) landed = i;
        h = eh;
        ref = r;
        aux = ea;
        d = ed;
      }
      i = (i + 1) & mask;
      d++;
    }
  }

  /**
   * Sets the aux word of the entry (hash, ref); false if there is none. Right after
   * find, insert or update reached this entry it writes without probing.
   */
  setAux(hash: number, ref: Ref, aux: number): boolean {
    const last = this.#lastTab;
    const at = S * this.#lastSlot;
    if (at + 2 < last.length && last[at + 1] === ref) {
      last[at + 2] = aux;
      return true;
    }
    const h = hash | 0;
    let i = HashIndex.#slotOf(this.#tab, this.#mask, h, ref);
    if (i >= 0) {
      this.#tab[S * i + 2] = aux;
      return true;
    }
    if (this.#migrate < 0) return false;
    i = HashIndex.#slotOf(this.#old, this.#oldMask, h, ref);
    if (i < 0) return false;
    this.#old[S * i + 2] = aux;
    return true;
  }

  /** The same key moved from oldRef to newRef (e.g. its value grew), aux kept. Throws if absent. */
  update(hash: number, oldRef: Ref, newRef: Ref): void {
    const h = hash | 0;
    let i = HashIndex.#slotOf(this.#tab, this.#mask, h, oldRef);
    if (i >= 0) {
      this.#tab[S * i + 1] = newRef;
      this.#lastTab = this.#tab;
      this.#lastSlot = i;
      return;
    }
    if (this.#migrate >= 0) {
      i = HashIndex.#slotOf(this.#old, this.#oldMask, h, oldRef);
      if (i >= 0) {
        this.#old[S * i + 1] = newRef;
        this.#lastTab = this.#old;
        this.#lastSlot = i;
        return;
      }
    }
    throw new Error(`HashIndex.update: ref ${oldRef} not found under hash ${hash >>> 0}`);
  }

  /**
   * True when the index holds ref under exactly this hash (as sampleNext reported
   * it): the eviction pool's check that a candidate is still the key it sampled.
   * Refs and hashes compared, no key bytes read.
   */
  holds(hash: number, ref: Ref): boolean {
    const h = hash | 0;
    let i = HashIndex.#slotOf(this.#tab, this.#mask, h, ref);
    if (i >= 0) return this.#tab[S * i] === h;
    if (this.#migrate < 0) return false;
    i = HashIndex.#slotOf(this.#old, this.#oldMask, h, ref);
    return i >= 0 && this.#old[S * i] === h;
  }

  /** Removes the entry pointing at `ref`; false if there is none. */
  remove(hash: number, ref: Ref): boolean {
    const h = hash | 0;
    let i = HashIndex.#slotOf(this.#tab, this.#mask, h, ref);
    if (i >= 0) {
      HashIndex.#deleteAt(this.#tab, this.#mask, i);
    } else {
      if (this.#migrate < 0) return false;
      i = HashIndex.#slotOf(this.#old, this.#oldMask, h, ref);
      if (i < 0) return false;
      HashIndex.#deleteAt(this.#old, this.#oldMask, i);
    }
    this.#size--;
    if (this.#migrate >= 0) this.#migrateBuckets(this.#step);
    else if (this.#size < this.#shrinkAt) this.#startResize((this.#mask + 1) >>> 1);
    return true;
  }

  /** Bucket index holding `ref` under hash h, or -1. */
  static #slotOf(tab: Int32Array, mask: number, h: number, ref: Ref): number {
    let i = h & mask;
    for (let d = 0; ; d++) {
      const r = tab[S * i + 1] as number;
      if (r === 0) return -1;
      if (r === ref) return i;
      const eh = tab[S * i] as number;
      if (((i - (eh & mask)) & mask) < d) return -1;
      i = (i + 1) & mask;
    }
  }

  /** Backward-shift deletion of bucket i. */
  static #deleteAt(tab: Int32Array, mask: number, i: number): void {
    for (;;) {
      const j = (i + 1) & mask;
      const r = tab[S * j + 1] as number;
      if (r === 0) break;
      const eh = tab[S * j] as number;
      if ((eh & mask) === j) break; // at its home: stays
      tab[S * i] = eh;
      tab[S * i + 1] = r;
      tab[S * i + 2] = tab[S * j + 2] as number;
      i = j;
    }
    tab[S * i] = 0;
    tab[S * i + 1] = 0;
    tab[S * i + 2] = 0;
  }

  #startResize(newCap: number): void {
    // A previous resize still running: drain it first (see header: pathological case).
    if (this.#migrate >= 0) this.#migrateBuckets(this.#oldMask + 1);
    this.#old = this.#tab;
    this.#oldMask = this.#mask;
    this.#tab = newTable(newCap);
    this.#mask = newCap - 1;
    this.#migrate = 0;
    this.#bytes = (newCap + this.#oldMask + 1) * BUCKET_BYTES;
    this.#growAt = Math.floor(newCap * this.#maxLoad);
    this.#shrinkAt = newCap > this.#initialCap ? Math.floor(newCap * SHRINK_LOAD) : -1;
  }

  /** Moves up to n old home buckets into #tab. */
  #migrateBuckets(n: number): void {
    const old = this.#old;
    const omask = this.#oldMask;
    const tab = this.#tab;
    const mask = this.#mask;
    let b = this.#migrate;
    const end = Math.min(b + n, omask + 1);
    for (; b < end; b++) {
      // Find the first entry with home b (Robin Hood: same-home entries are contiguous).
      let i = b;
      for (let d = 0; ; d++) {
        const r = old[S * i + 1] as number;
        if (r === 0) break;
        const eh = old[S * i] as number;
        const home = eh & omask;
        if (home === b) {
          HashIndex.#put(tab, mask, eh, r, old[S * i + 2] as number);
          HashIndex.#deleteAt(old, omask, i); // the next same-home entry shifts into i
          d--;
          continue;
        }
        if (((i - home) & omask) < d) break;
        i = (i + 1) & omask;
      }
    }
    if (b > omask) {
      this.#migrate = -1;
      this.#old = EMPTY_TABLE;
      this.#oldMask = 0;
      this.#bytes = (mask + 1) * BUCKET_BYTES;
    } else {
      this.#migrate = b;
    }
  }

  /** Advances an in-progress resize by up to maxBuckets; true while one is still running. */
  resizeStep(maxBuckets: number): boolean {
    if (this.#migrate >= 0 && maxBuckets > 0) this.#migrateBuckets(maxBuckets);
    return this.#migrate >= 0;
  }

  /**
   * Redis SCAN over home buckets. Visits every entry whose hash matches `cursor` in
   * the smaller table's mask bits (in both tables during a resize) and returns the
   * next cursor (reverse-binary increment), 0 when the scan is complete. `visit` may
   * insert or remove entries; it must not call scan.
   */
  scan(cursor: number, visit: (ref: Ref) => void): number {
    if (this.#scanning) throw new Error('HashIndex.scan: re-entered from visit');
    let v = cursor >>> 0;
    let n = 0;
    if (this.#migrate < 0) {
      const m = this.#mask;
      n = this.#collect(this.#tab, m, v & m, n);
      v = (v | ~m) >>> 0;
      v = rev32((rev32(v) + 1) >>> 0);
    } else {
      let t0 = this.#old;
      let m0 = this.#oldMask;
      let t1 = this.#tab;
      let m1 = this.#mask;
      if (m0 > m1) {
        [t0, t1] = [t1, t0];
        [m0, m1] = [m1, m0];
      }
      n = this.#collect(t0, m0, v & m0, n);
      do {
        n = this.#collect(t1, m1, v & m1, n);
        v = (v | ~m1) >>> 0;
        v = rev32((rev32(v) + 1) >>> 0);
      } while ((v & (m0 ^ m1)) !== 0);
    }
    this.#scanning = true;
    try {
      const scratch = this.#scratch;
      for (let k = 0; k < n; k++) visit(scratch[k] as number);
    } finally {
      this.#scanning = false;
    }
    return v;
  }

  /** Appends to #scratch the refs of entries in tab whose home is b; returns the new count. */
  #collect(tab: Int32Array, mask: number, b: number, n: number): number {
    let i = b;
    for (let d = 0; ; d++) {
      const r = tab[S * i + 1] as number;
      if (r === 0) return n;
      const home = (tab[S * i] as number) & mask;
      if (home === b) {
        if (n === this.#scratch.length) {
          const bigger = new Int32Array(n * 2);
          bigger.set(this.#scratch);
          this.#scratch = bigger;
        }
        this.#scratch[n++] = r;
      } else if (((i - home) & mask) < d) {
        // home is past b: the run of home-b entries ended (or there was none).
        return n;
      }
      i = (i + 1) & mask;
    }
  }

  /** A random present entry (uniform by rejection sampling over buckets), 0 if empty. */
  randomRef(): Ref {
    if (this.#size === 0) return 0;
    const cap = this.#mask + 1;
    const oldCap = this.#migrate >= 0 ? this.#oldMask + 1 : 0;
    const total = cap + oldCap;
    for (let t = 0; t < RANDOM_TRIES; t++) {
      const x = Math.floor(Math.random() * total);
      const r = x < cap ? (this.#tab[S * x + 1] as number) : (this.#old[S * (x - cap) + 1] as number);
      if (r !== 0) return r;
    }
    // Sparse table: walk from a random bucket (slightly biased, still bounded by cap).
    const start = Math.floor(Math.random() * total);
    for (let k = 0; k < total; k++) {
      const x = (start + k) % total;
      const r = x < cap ? (this.#tab[S * x + 1] as number) : (this.#old[S * (x - cap) + 1] as number);
      if (r !== 0) return r;
    }
    return 0;
  }

  /**
   * Up to `n` present entries into `out` from consecutive buckets after a random one
   * (Redis's dictGetSomeKeys): one random memory access, then a sequential walk, so
   * the evictor's sampling costs a cache miss per call rather than per sample. The
   * walk stops after SAMPLE_WALK_FACTOR * n buckets; the entries are biased toward
   * those after empty runs, as Redis's are. During a resize it walks the old or the
   * new table, chosen by their bucket counts. Each entry's hash and aux word go to
   * the same position in `hashOut` and `auxOut` when given.
   */
  sampleRefs(out: Int32Array, n: number, hashOut: Int32Array | null = null, auxOut: Int32Array | null = null): number {
    if (this.#size === 0 || n <= 0) return 0;
    const cap = this.#mask + 1;
    const oldCap = this.#migrate >= 0 ? this.#oldMask + 1 : 0;
    let x = Math.floor(Math.random() * (cap + oldCap));
    const inOld = x >= cap;
    const tab = inOld ? this.#old : this.#tab;
    const mask = inOld ? this.#oldMask : this.#mask;
    if (inOld) x -= cap;
    return this.#walk(tab, mask, x, n, out, hashOut, auxOut);
  }

  /**
   * As sampleRefs, but each call walks on from where the previous one stopped instead
   * of from a random bucket (as Redis's active expiry sweeps its expires dict with a
   * cursor): the walk is sequential memory, so sampling costs no cache miss. Hash
   * order is independent of when keys were used, so a window of the sweep is as good
   * a sample for eviction as a window after a random bucket. During a resize it
   * samples as sampleRefs.
   */
  sampleNext(out: Int32Array, n: number, hashOut: Int32Array | null = null, auxOut: Int32Array | null = null): number {
    if (this.#migrate >= 0) return this.sampleRefs(out, n, hashOut, auxOut);
    if (this.#size === 0 || n <= 0) return 0;
    const got = this.#walk(this.#tab, this.#mask, this.#sweep & this.#mask, n, out, hashOut, auxOut);
    this.#sweep = this.#walkEnd;
    return got;
  }

  /** Collects up to n present entries from bucket x on (at most SAMPLE_WALK_FACTOR * n buckets). */
  #walk(tab: Int32Array, mask: number, x: number, n: number, out: Int32Array, hashOut: Int32Array | null, auxOut: Int32Array | null): number {
    const want = Math.min(n, out.length);
    const walk = Math.min(mask + 1, Math.max(want * SAMPLE_WALK_FACTOR, RANDOM_TRIES));
    let got = 0;
    for (let k = 0; k < walk && got < want; k++) {
      const r = tab[S * x + 1] as number;
      if (r !== 0) {
        if (hashOut !== null) hashOut[got] = tab[S * x] as number;
        if (auxOut !== null) auxOut[got] = tab[S * x + 2] as number;
        out[got++] = r;
      }
      x = (x + 1) & mask;
    }
    this.#walkEnd = x;
    return got;
  }

  /** Drops every entry and returns to initialCapacity (FLUSHALL). */
  clear(): void {
    this.#tab = newTable(this.#initialCap);
    this.#mask = this.#initialCap - 1;
    this.#bytes = this.#initialCap * BUCKET_BYTES;
    this.#old = EMPTY_TABLE;
    this.#oldMask = 0;
    this.#migrate = -1;
    this.#size = 0;
    this.#lastTab = EMPTY_TABLE;
    this.#growAt = Math.floor(this.#initialCap * this.#maxLoad);
    this.#shrinkAt = -1;
  }
}
