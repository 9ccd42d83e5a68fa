/**
 * SlabArena: memcached-style slab allocator over SharedArrayBuffer pages.
 * The page, class and item layout is drawn in ./layout.ts.
 *
 * Owner only: every method here mutates or reads allocator state that belongs to the
 * worker thread that created the arena. Other threads get pages via `page(id)` and
 * read items with the seqlock protocol from layout.ts; they never call alloc/free.
 *
 * Cost: alloc and free are O(1) and allocate no JS objects on the fast path (free
 * list pop / bump pointer, class found by a 64 Ki-entry Uint8Array lookup table).
 * A new 1 MiB page costs one SharedArrayBuffer allocation (zeroed by the OS lazily).
 * A large object costs one SharedArrayBuffer of its rounded size.
 *
 * Accounting is exact: `usedBytes` is the sum of chunkSize over allocated chunks
 * (including large pages), `pageBytes` the sum of byteLength of every SAB in the page
 * table; fragmentation = pageBytes - usedBytes.
 */

import {
  CHUNK_ALIGN,
  FREE_NEXT,
  ITEM_TYPE,
  ITEM_VERSION,
  LARGE_ALIGN,
  MAX_ALLOC_BYTES,
  MAX_CLASS_SIZE,
  MAX_PAGE_ID,
  PAGE_MASK,
  PAGE_SHIFT,
  PAGE_SIZE,
  TYPE_FREE,
  TYPE_UNSET,
  type Ref,
} from './layout.js';

export interface SlabArenaOptions {
  /** Ratio between consecutive class sizes; default 1.25. */
  growthFactor?: number;
  /** Smallest chunk in bytes (header included), rounded up to 8; default 48. */
  minChunk?: number;
  /** Cap on pageBytes; 0 or undefined = unlimited (until MAX_PAGE_ID pages). */
  maxBytes?: number;
}

export interface SlabClassStats {
  size: number;
  pages: number;
  usedChunks: number;
  /** Chunks on this class's pages not currently allocated (free list + not yet carved). */
  freeChunks: number;
}

export interface SlabArenaStats {
  classes: SlabClassStats[];
  largeObjects: number;
  largeBytes: number;
  usedBytes: number;
  pageBytes: number;
}

/** pageClass[] value for a large page. */
const LARGE = -1;
/** pageClass[] value for an unused page id. */
const UNUSED = -2;

const PAGE_SLOTS = MAX_PAGE_ID + 1;
const EMPTY_SAB = new SharedArrayBuffer(8);
const EMPTY_U8 = Buffer.from(EMPTY_SAB);
const EMPTY_I32 = new Int32Array(EMPTY_SAB);
const EMPTY_F64 = new Float64Array(EMPTY_SAB);

/** Class sizes for the given parameters: strictly increasing multiples of 8, last = MAX_CLASS_SIZE. */
export function computeClassSizes(minChunk: number, growthFactor: number): number[] {
  if (!(growthFactor > 1)) throw new RangeError('growthFactor must be > 1');
  if (!(minChunk >= 40 && minChunk <= MAX_CLASS_SIZE)) {
    throw new RangeError(`minChunk must be in 40..${MAX_CLASS_SIZE}`);
  }
  const sizes: number[] = [];
  let size = roundUp(minChunk, CHUNK_ALIGN);
  while (size < MAX_CLASS_SIZE) {
    sizes.push(size);
    const next = roundUp(Math.ceil(size * growthFactor), CHUNK_ALIGN);
    size = next > size ? next : size + CHUNK_ALIGN;
  }
  // memcached: the last class is exactly slab_chunk_max; drop a penultimate class so
  // close to it that the two would hold the same number of chunks per page.
  const prev = sizes[sizes.length - 1];
  if (prev !== undefined && Math.floor(PAGE_SIZE / prev) <= Math.floor(PAGE_SIZE / MAX_CLASS_SIZE)) {
    sizes.pop();
  }
  sizes.push(MAX_CLASS_SIZE);
  return sizes;
}

function roundUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

export class SlabArena {
  readonly classSizes: readonly number[];

  #usedBytes = 0;
  #pageBytes = 0;
  #maxBytes: number;

  // Per class (indexed by class id).
  readonly #size: Int32Array;
  readonly #perPage: Int32Array;
  readonly #freeHead: Int32Array;
  readonly #freeCount: Int32Array;
  readonly #used: Int32Array;
  readonly #pages: Int32Array;
  /** Page id currently being carved (0 = none) and the next offset in it. */
  readonly #curPage: Int32Array;
  readonly #bump: Int32Array;
  /** Class id for a chunk of (roundUp8(bytes) >> 3) * 8 bytes, bytes <= MAX_CLASS_SIZE. */
  readonly #lut: Uint8Array;

  // Page table (indexed by page id; slot 0 unused so Ref 0 is null).
  readonly #sab: SharedArrayBuffer[] = new Array<SharedArrayBuffer>(PAGE_SLOTS).fill(EMPTY_SAB);
  readonly #u8: Buffer[] = new Array<Buffer>(PAGE_SLOTS).fill(EMPTY_U8);
  readonly #i32: Int32Array[] = new Array<Int32Array>(PAGE_SLOTS).fill(EMPTY_I32);
  readonly #f64: Float64Array[] = new Array<Float64Array>(PAGE_SLOTS).fill(EMPTY_F64);
  /** Class id of the page, LARGE or UNUSED. */
  readonly #pageClass = new Int16Array(PAGE_SLOTS).fill(UNUSED);
  /** Stack of released page ids (freed large pages) reused before #nextPageId. */
  readonly #freeIds = new Int32Array(PAGE_SLOTS);
  #freeIdTop = 0;
  #nextPageId = 1;
  #largeObjects = 0;
  #largeBytes = 0;

  constructor(opts: SlabArenaOptions = {}) {
    const sizes = computeClassSizes(opts.minChunk ?? 48, opts.growthFactor ?? 1.25);
    if (sizes.length > 255) throw new RangeError('too many size classes (growthFactor too small)');
    this.classSizes = Object.freeze(sizes);
    const n = sizes.length;
    this.#maxBytes = opts.maxBytes !== undefined && opts.maxBytes > 0 ? opts.maxBytes : Infinity;
    this.#size = Int32Array.from(sizes);
    this.#perPage = Int32Array.from(sizes, (s) => Math.floor(PAGE_SIZE / s));
    this.#freeHead = new Int32Array(n);
    this.#freeCount = new Int32Array(n);
    this.#used = new Int32Array(n);
    this.#pages = new Int32Array(n);
    this.#curPage = new Int32Array(n);
    this.#bump = new Int32Array(n);
    this.#lut = new Uint8Array((MAX_CLASS_SIZE >> 3) + 1);
    let cls = 0;
    for (let i = 0; i < this.#lut.length; i++) {
      while ((sizes[cls] as number) < i << 3) cls++;
      this.#lut[i] = cls;
    }
  }

  get usedBytes(): number {
    return this.#usedBytes;
  }

  get pageBytes(): number {
    return this.#pageBytes;
  }

  /** Changes the cap on page bytes (CONFIG SET maxmemory); 0 = none. Pages already held stay. */
  setMaxBytes(bytes: number): void {
    this.#maxBytes = bytes > 0 ? bytes : Infinity;
  }

  /**
   * A chunk of at least `bytes` bytes (item header included), 8-byte aligned, with
   * ITEM_TYPE set to TYPE_UNSET and ITEM_VERSION left as it was (monotonic per chunk).
   * Returns 0 when maxBytes or the page table is exhausted, or bytes > MAX_ALLOC_BYTES.
   */
  alloc(bytes: number): Ref {
    if (!(bytes >= 0)) throw new RangeError(`SlabArena.alloc: bad size ${bytes}`);
    if (bytes > MAX_CLASS_SIZE) return this.#allocLarge(bytes);
    const cls = this.#lut[(bytes + 7) >> 3] as number;
    const size = this.#size[cls] as number;
    let ref = this.#freeHead[cls] as number;
    if (ref !== 0) {
      const i32 = this.#i32[ref >>> PAGE_SHIFT] as Int32Array;
      this.#freeHead[cls] = i32[((ref & PAGE_MASK) + FREE_NEXT) >> 2] as number;
      (this.#freeCount[cls] as number)--;
    } else {
      let pageId = this.#curPage[cls] as number;
      let off = this.#bump[cls] as number;
      if (pageId === 0 || off + size > PAGE_SIZE) {
        pageId = this.#newPage(PAGE_SIZE);
        if (pageId === 0) return 0;
        this.#pageClass[pageId] = cls;
        (this.#pages[cls] as number)++;
        this.#curPage[cls] = pageId;
        off = 0;
      }
      this.#bump[cls] = off + size;
      ref = pageId * PAGE_SIZE + off;
    }
    (this.#u8[ref >>> PAGE_SHIFT] as Buffer)[(ref & PAGE_MASK) + ITEM_TYPE] = TYPE_UNSET;
    (this.#used[cls] as number)++;
    this.#usedBytes += size;
    return ref;
  }

  #allocLarge(bytes: number): Ref {
    if (bytes > MAX_ALLOC_BYTES) return 0;
    const size = roundUp(bytes, LARGE_ALIGN);
    const pageId = this.#newPage(size);
    if (pageId === 0) return 0;
    this.#pageClass[pageId] = LARGE;
    this.#largeObjects++;
    this.#largeBytes += size;
    this.#usedBytes += size;
    (this.#u8[pageId] as Buffer)[ITEM_TYPE] = TYPE_UNSET;
    return pageId * PAGE_SIZE;
  }

  /** Registers a new SAB of `bytes` in the page table; 0 if the cap or table is exhausted. */
  #newPage(bytes: number): number {
    if (this.#pageBytes + bytes > this.#maxBytes) return 0;
    let pageId: number;
    if (this.#freeIdTop > 0) {
      pageId = this.#freeIds[--this.#freeIdTop] as number;
    } else {
      if (this.#nextPageId > MAX_PAGE_ID) return 0;
      pageId = this.#nextPageId++;
    }
    let sab: SharedArrayBuffer;
    try {
      sab = new SharedArrayBuffer(bytes);
    } catch {
      // The process could not map the memory: same as hitting the cap.
      this.#freeIds[this.#freeIdTop++] = pageId;
      return 0;
    }
    this.#sab[pageId] = sab;
    this.#u8[pageId] = Buffer.from(sab);
    this.#i32[pageId] = new Int32Array(sab);
    this.#f64[pageId] = new Float64Array(sab);
    this.#pageBytes += bytes;
    return pageId;
  }

  /**
   * Returns the chunk to its class free list (or drops a large page). Bumps
   * ITEM_VERSION by 2 (odd in between) so seqlock readers with a stale Ref retry,
   * and sets ITEM_TYPE to TYPE_FREE. Throws on a double free or a foreign Ref.
   */
  free(ref: Ref): void {
    const pageId = ref >>> PAGE_SHIFT;
    const off = ref & PAGE_MASK;
    const cls = this.#pageClass[pageId] as number;
    const u8 = this.#u8[pageId] as Buffer;
    if (cls < 0 || ref <= 0) {
      if (cls === LARGE && off === 0) return this.#freeLarge(pageId);
      throw new RangeError(`SlabArena.free: ref ${ref} is not an allocated chunk`);
    }
    if (u8[off + ITEM_TYPE] === TYPE_FREE) throw new Error(`SlabArena.free: double free of ref ${ref}`);
    const i32 = this.#i32[pageId] as Int32Array;
    const vi = (off + ITEM_VERSION) >> 2;
    const v = Atomics.load(i32, vi);
    Atomics.store(i32, vi, v + 1);
    u8[off + ITEM_TYPE] = TYPE_FREE;
    i32[(off + FREE_NEXT) >> 2] = this.#freeHead[cls] as number;
    Atomics.store(i32, vi, v + 2);
    this.#freeHead[cls] = ref;
    (this.#freeCount[cls] as number)++;
    (this.#used[cls] as number)--;
    this.#usedBytes -= this.#size[cls] as number;
  }

  #freeLarge(pageId: number): void {
    const i32 = this.#i32[pageId] as Int32Array;
    // Readers on other threads that still hold the SAB see the change.
    const v = Atomics.load(i32, ITEM_VERSION >> 2);
    Atomics.store(i32, ITEM_VERSION >> 2, v + 1);
    (this.#u8[pageId] as Buffer)[ITEM_TYPE] = TYPE_FREE;
    Atomics.store(i32, ITEM_VERSION >> 2, v + 2);
    const size = (this.#sab[pageId] as SharedArrayBuffer).byteLength;
    this.#sab[pageId] = EMPTY_SAB;
    this.#u8[pageId] = EMPTY_U8;
    this.#i32[pageId] = EMPTY_I32;
    this.#f64[pageId] = EMPTY_F64;
    this.#pageClass[pageId] = UNUSED;
    this.#freeIds[this.#freeIdTop++] = pageId;
    this.#largeObjects--;
    this.#largeBytes -= size;
    this.#usedBytes -= size;
    this.#pageBytes -= size;
  }

  /** Usable bytes of the chunk at `ref` (the whole large page for a large object). */
  chunkSize(ref: Ref): number {
    const pageId = ref >>> PAGE_SHIFT;
    const cls = this.#pageClass[pageId] as number;
    if (cls >= 0) return this.#size[cls] as number;
    if (cls === LARGE) return (this.#sab[pageId] as SharedArrayBuffer).byteLength;
    throw new RangeError(`SlabArena.chunkSize: ref ${ref} is not in a live page`);
  }

  /** Buffer over the whole SAB of the page holding `ref` (cached, no allocation). */
  u8(ref: Ref): Buffer {
    return this.#u8[ref >>> PAGE_SHIFT] as Buffer;
  }

  /** Int32Array over the whole SAB of the page holding `ref` (cached). */
  i32(ref: Ref): Int32Array {
    return this.#i32[ref >>> PAGE_SHIFT] as Int32Array;
  }

  /** Float64Array over the whole SAB of the page holding `ref` (cached). */
  f64(ref: Ref): Float64Array {
    return this.#f64[ref >>> PAGE_SHIFT] as Float64Array;
  }

  /** Byte offset of the chunk inside its page (0 for a large page). */
  off(ref: Ref): number {
    return ref & PAGE_MASK;
  }

  /**
   * The SharedArrayBuffer registered under `pageId`, or undefined. For posting pages
   * to reader threads (snapshot tasks); readers use the seqlock protocol.
   */
  page(pageId: number): SharedArrayBuffer | undefined {
    const cls = this.#pageClass[pageId];
    return cls === undefined || cls === UNUSED ? undefined : this.#sab[pageId];
  }

  stats(): SlabArenaStats {
    const classes: SlabClassStats[] = [];
    for (let c = 0; c < this.classSizes.length; c++) {
      const pages = this.#pages[c] as number;
      const used = this.#used[c] as number;
      classes.push({
        size: this.#size[c] as number,
        pages,
        usedChunks: used,
        freeChunks: pages * (this.#perPage[c] as number) - used,
      });
    }
    return {
      classes,
      largeObjects: this.#largeObjects,
      largeBytes: this.#largeBytes,
      usedBytes: this.#usedBytes,
      pageBytes: this.#pageBytes,
    };
  }

  /** One line per class, for the startup log (memcached `slabs_init -vv`). */
  describeClasses(): string {
    return this.classSizes
      .map((s, i) => `class ${String(i + 1).padStart(3)}: chunk size ${String(s).padStart(9)} perslab ${Math.floor(PAGE_SIZE / s)}`)
      .join('\n');
  }

  /** Drops every page and item (FLUSHALL). Refs handed out before are invalid. */
  reset(): void {
    this.#sab.fill(EMPTY_SAB);
    this.#u8.fill(EMPTY_U8);
    this.#i32.fill(EMPTY_I32);
    this.#f64.fill(EMPTY_F64);
    this.#pageClass.fill(UNUSED);
    this.#freeIdTop = 0;
    this.#nextPageId = 1;
    this.#freeHead.fill(0);
    this.#freeCount.fill(0);
    this.#used.fill(0);
    this.#pages.fill(0);
    this.#curPage.fill(0);
    this.#bump.fill(0);
    this.#largeObjects = 0;
    this.#largeBytes = 0;
    this.#usedBytes = 0;
    this.#pageBytes = 0;
  }
}
