/**
 * SlabArena: memcached-style slab allocator over SharedArrayBuffer pages, with page
 * reassignment between size classes (slab rebalancing). The page, class and item
 * layout is drawn in ./layout.ts.
 *
 * Owner only: every method here mutates or reads allocator state that belongs to the
 * worker thread that created the arena. Other threads get pages via `page(id)` and
 * read items with the seqlock protocol from layout.ts; they never call alloc/free.
 *
 * Cost: alloc and free are O(1) amortised and allocate no JS objects on the fast
 * path (free list pop / bump pointer, class found by a 4 Ki-entry Uint8Array lookup
 * table; rare paths live in separate methods so the fast path stays inlinable). Pages
 * come from 1 MiB block SABs (one SharedArrayBuffer creation, ~40 us, per 16 pages).
 * A large object (> 32 KiB) costs one SharedArrayBuffer of its rounded size.
 *
 * Accounting is exact: `usedBytes` is the sum of chunkSize over allocated chunks
 * (including large pages), `pageBytes` the sum of byteLength of every SAB the arena
 * holds (class pages, spare pages, large pages); fragmentation = pageBytes - usedBytes.
 *
 * Page lifecycle (writers: only the owner, inside alloc/free/rebalanceStep)
 * -----------------------------------------------------------------------
 * Per page: #pageClass (class id, LARGE, SPARE or UNUSED) and #pageLive (allocated
 * chunks on it), both typed arrays indexed by pageId.
 *
 * Blocks (layout.ts): pages come 16 at a time in one 1 MiB SAB; #blockSpare counts
 *   the spare pages of each block.
 * - Release. When free() drops a page's live count to 0 the page is detached from its
 *   class (its free chunks unlinked from the class free list: O(chunks carved on the
 *   page), paid for by the allocations that carved them, so O(1) amortised) and goes
 *   on the spare list. When all 16 pages of its block are spare and more than
 *   `sparePages` (default 16) spare pages would remain, or pageBytes is over
 *   maxBytes, the block's SAB is dropped so GC can unmap it.
 * - Reuse. A class that needs a page takes the most recently released spare page
 *   first, then a new block if under maxBytes, then steals a page.
 * - Large objects over the cap: fully spare blocks are dropped first, then (with a
 *   relocator) the cheapest whole block is emptied (up to 16 page evacuations per
 *   missing MiB: the pause grows with the object size).
 * - Steal (alloc path, needs a relocator). When class c has no free chunk, no bump
 *   room, no spare page, and no new block fits under maxBytes, alloc picks the
 *   page of another class that is cheapest to empty: cost = chunkSize * (moved + 4 *
 *   evicted), where its first min(live, holes of its class elsewhere) items can be
 *   moved and the rest must be evicted. Each live item is copied to a hole (free-list
 *   chunk) of its own class on another page and reported with relocator.moved(old,
 *   new), or reported with relocator.evict(ref); then the page is re-carved for c.
 *   Pages being carved (a class's current page) are only chosen when nothing else
 *   is left, else a freshly re-carved page (1 live item) would be stolen straight
 *   back and classes would ping-pong pages.
 *   Worst pause: one page, i.e. at most PAGE_SIZE / minChunk = 1365 chunk-header
 *   checks plus up to 64 KiB of copying and one callback per live item. Measured
 *   (warm, trivial relocator, Node 20): evicting a full page of 1365 48-byte items
 *   ~50 us median / 200 us max; moving 600 items ~80 us; the keyspace's callbacks
 *   (index updates) come on top. The capped-drift bench sees p99.9 ~30 us per alloc.
 *   The victim choice takes the cheapest page, so in a churning cache it usually
 *   holds few items. The victim scan is O(pages held) typed-array reads (4096 for
 *   256 MiB) per steal, i.e. once per page worth of allocations at the cap.
 * - rebalanceStep(maxChunks) (timer, background budget): drops fully spare blocks
 *   while over maxBytes or holding more than sparePages + 16 spare pages (O(blocks)
 *   scan each), then finds the class with the most free bytes among those with at
 *   least one page worth of free chunks, and empties its emptiest page by moving its
 *   items into holes elsewhere (never evicting; skipped when the holes do not
 *   suffice) if it holds <= maxChunks live items; the page becomes spare.
 *   Worst pause: one page, i.e. <= 1365 header checks and <= min(maxChunks, 1365)
 *   moves and callbacks, <= 64 KiB copied, plus O(classes + pages) selection. A
 *   budget below the page's live count skips the step (no partial evacuation).
 *
 * The keyspace must not hold a Ref in a local across alloc() unless it passes it as
 * `keep` (that page is never stolen): a steal may move or evict any other item.
 * Relocator callbacks must not call alloc/free.
 */

import {
  BLOCK_PAGES,
  BLOCK_SIZE,
  CHUNK_ALIGN,
  FREE_NEXT,
  FREE_PREV,
  ITEM_TYPE,
  ITEM_VERSION,
  LARGE_ALIGN,
  MAX_ALLOC_BYTES,
  MAX_BLOCK_ID,
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
  /** Ratio between consecutive class sizes above linearMax; default 1.125. */
  growthFactor?: number;
  /** Smallest chunk in bytes (header included), rounded up to 8; default 48. */
  minChunk?: number;
  /** Classes below this size step by linearStep bytes; default 256 (0 = no linear part). */
  linearMax?: number;
  /** Step of the linear part, multiple of 8; default 8. */
  linearStep?: number;
  /** Cap on pageBytes; 0 or undefined = unlimited (until MAX_PAGE_ID pages). */
  maxBytes?: number;
  /** Spare (empty) pages kept for reuse before fully spare blocks are dropped; default 16 (one block; a guess). */
  sparePages?: number;
}

/** Callbacks owned by the keyspace; the arena calls them while it empties a page. */
export interface ArenaRelocator {
  /** A live item was copied from oldRef to newRef by the arena (same class); update every reference. */
  moved(oldRef: Ref, newRef: Ref): void;
  /** The arena needs this live item's chunk and cannot move it: drop the item from every index (do NOT call arena.free; the arena reclaims the chunk). */
  evict(ref: Ref): void;
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
  /** Empty pages kept for reuse (counted in pageBytes). */
  sparePages: number;
  /** Pages taken from one class and re-carved for another (steals), cumulative. */
  pagesReassigned: number;
  /** Normal pages whose SAB was dropped (returned to the OS after GC), cumulative. */
  pagesReleased: number;
  /** Live items moved / evicted by page reassignment and rebalanceStep, cumulative. */
  itemsMoved: number;
  itemsEvicted: number;
}

/** pageClass[] value for a large page. */
const LARGE = -1;
/** pageClass[] value for an unused page id. */
const UNUSED = -2;
/** pageClass[] value for an empty page in the spare pool (SAB kept). */
const SPARE = -3;
/** Cost weight of an evicted item against a moved one when choosing a victim page (a guess, not tuned). */
const EVICT_WEIGHT = 4;

const PAGE_SLOTS = MAX_PAGE_ID + 1;
const EMPTY_SAB = new SharedArrayBuffer(8);
const EMPTY_U8 = Buffer.from(EMPTY_SAB);
const EMPTY_I32 = new Int32Array(EMPTY_SAB);
const EMPTY_F64 = new Float64Array(EMPTY_SAB);

/**
 * Class sizes: strictly increasing multiples of 8, last = MAX_CLASS_SIZE. Steps of
 * `linearStep` below `linearMax`, then x growthFactor; each class widened to the
 * largest size with the same chunks per page (see layout.ts "Size classes").
 */
export function computeClassSizes(minChunk: number, growthFactor: number, linearMax = 0, linearStep = 8): number[] {
  if (!(growthFactor > 1)) throw new RangeError('growthFactor must be > 1');
  if (!(minChunk >= 40 && minChunk <= MAX_CLASS_SIZE)) {
    throw new RangeError(`minChunk must be in 40..${MAX_CLASS_SIZE}`);
  }
  if (!(linearStep >= CHUNK_ALIGN && linearStep % CHUNK_ALIGN === 0)) {
    throw new RangeError('linearStep must be a positive multiple of 8');
  }
  const raw: number[] = [];
  let size = roundUp(minChunk, CHUNK_ALIGN);
  while (size < MAX_CLASS_SIZE) {
    raw.push(size);
    const next = size < linearMax
      ? size + linearStep
      : Math.round((size * growthFactor) / CHUNK_ALIGN) * CHUNK_ALIGN; // nearest 8, not up: ratio <= factor + 4/size
    size = next > size ? next : size + CHUNK_ALIGN;
  }
  const lastPerPage = Math.floor(PAGE_SIZE / MAX_CLASS_SIZE);
  const sizes: number[] = [];
  for (const s of raw) {
    const n = Math.floor(PAGE_SIZE / s);
    // memcached: the last class is exactly slab_chunk_max; drop classes that would
    // hold as few chunks per page as it does.
    if (n <= lastPerPage) break;
    const wide = Math.floor(PAGE_SIZE / n / CHUNK_ALIGN) * CHUNK_ALIGN;
    if (sizes[sizes.length - 1] !== wide) sizes.push(wide);
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
  readonly #spareMax: number;
  #relocator: ArenaRelocator | null = null;

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
  /** Class id of the page, LARGE, SPARE or UNUSED. */
  readonly #pageClass = new Int16Array(PAGE_SLOTS).fill(UNUSED);
  /** Allocated chunks on a class page. */
  readonly #pageLive = new Int32Array(PAGE_SLOTS);
  /** Stack of block ids without a SAB, reused before #nextBlockId. */
  readonly #freeBlocks = new Int32Array(MAX_BLOCK_ID + 1);
  #freeBlockTop = 0;
  #nextBlockId = 1;
  /** Spare pages of each block (16 = the block's SAB can be dropped). */
  readonly #blockSpare = new Uint8Array(MAX_BLOCK_ID + 1);
  /** Doubly linked list of spare pages (SAB kept, no class), LIFO. */
  readonly #spareNext = new Int32Array(PAGE_SLOTS);
  readonly #sparePrev = new Int32Array(PAGE_SLOTS);
  #spareHead = 0;
  #spareCount = 0;
  #largeObjects = 0;
  #largeBytes = 0;
  #pagesReassigned = 0;
  #pagesReleased = 0;
  #itemsMoved = 0;
  #itemsEvicted = 0;

  constructor(opts: SlabArenaOptions = {}) {
    const sizes = computeClassSizes(opts.minChunk ?? 48, opts.growthFactor ?? 1.125,
      opts.linearMax ?? 256, opts.linearStep ?? 8);
    if (sizes.length > 255) throw new RangeError('too many size classes (growthFactor too small)');
    this.classSizes = Object.freeze(sizes);
    const n = sizes.length;
    this.#maxBytes = opts.maxBytes !== undefined && opts.maxBytes > 0 ? opts.maxBytes : Infinity;
    this.#spareMax = Math.max(0, Math.floor(opts.sparePages ?? 16));
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

  /** Changes the cap on page bytes (CONFIG SET maxmemory); 0 = none. Pages already held stay until freed or rebalanced. */
  setMaxBytes(bytes: number): void {
    this.#maxBytes = bytes > 0 ? bytes : Infinity;
  }

  /** Enables page stealing (alloc at the cap) and moves in rebalanceStep; null disables them. */
  setRelocator(r: ArenaRelocator | null): void {
    this.#relocator = r;
  }

  /**
   * A chunk of at least `bytes` bytes (item header included), 8-byte aligned, with
   * ITEM_TYPE set to TYPE_UNSET and ITEM_VERSION left as it was (monotonic per chunk;
   * made even on a recycled page). Returns 0 when maxBytes or the page table is
   * exhausted and no page can be stolen, or bytes > MAX_ALLOC_BYTES.
   * With a relocator set, this may move or evict other items (see "Steal"); the page
   * holding `keep` (a Ref the caller still uses, e.g. the old version of the item)
   * is never chosen.
   */
  alloc(bytes: number, keep: Ref = 0): Ref {
    // Fast path kept small so TurboFan inlines it: free-list pop; the rest is #allocSlow.
    if (!(bytes >= 0 && bytes <= MAX_CLASS_SIZE)) return this.#allocSlow(bytes, keep);
    const cls = this.#lut[(bytes + 7) >> 3] as number;
    let ref = this.#freeHead[cls] as number;
    if (ref === 0) {
      ref = this.#carve(cls, keep);
      if (ref === 0) return 0;
    } else {
      this.#freeHead[cls] = (this.#i32[ref >>> PAGE_SHIFT] as Int32Array)[((ref & PAGE_MASK) + FREE_NEXT) >> 2] as number;
      (this.#freeCount[cls] as number)--;
    }
    const pageId = ref >>> PAGE_SHIFT;
    (this.#u8[pageId] as Buffer)[(ref & PAGE_MASK) + ITEM_TYPE] = TYPE_UNSET;
    (this.#pageLive[pageId] as number)++;
    (this.#used[cls] as number)++;
    this.#usedBytes += this.#size[cls] as number;
    return ref;
  }

  #allocSlow(bytes: number, keep: Ref): Ref {
    if (!(bytes >= 0)) throw new RangeError(`SlabArena.alloc: bad size ${bytes}`);
    return this.#allocLarge(bytes, keep);
  }

  /** Class `cls` has an empty free list: bump-carve, refilling the current page if needed. No accounting. */
  #carve(cls: number, keep: Ref): Ref {
    let ref = this.#take(cls);
    if (ref === 0) {
      if (!this.#refill(cls, keep >>> PAGE_SHIFT)) return 0;
      ref = this.#take(cls);
    }
    return ref;
  }

  /** Pops the class free list or carves from its current page; 0 if neither has room. No accounting. */
  #take(cls: number): Ref {
    const hole = this.#popHole(cls);
    if (hole !== 0) return hole;
    const pageId = this.#curPage[cls] as number;
    const off = this.#bump[cls] as number;
    const size = this.#size[cls] as number;
    if (pageId === 0 || off + size > PAGE_SIZE) return 0;
    this.#bump[cls] = off + size;
    // A recycled page holds old bytes: keep the seqlock word even.
    const i32 = this.#i32[pageId] as Int32Array;
    const vi = (off + ITEM_VERSION) >> 2;
    const v = i32[vi] as number;
    if (v & 1) i32[vi] = v + 1;
    return pageId * PAGE_SIZE + off;
  }

  /** Pops a free-list chunk of the class (a hole), 0 if none. No accounting. */
  #popHole(cls: number): Ref {
    const ref = this.#freeHead[cls] as number;
    if (ref !== 0) {
      const i32 = this.#i32[ref >>> PAGE_SHIFT] as Int32Array;
      this.#freeHead[cls] = i32[((ref & PAGE_MASK) + FREE_NEXT) >> 2] as number;
      (this.#freeCount[cls] as number)--;
    }
    return ref;
  }

  /** Gives class `cls` a current page: spare, new SAB, or stolen. False if none. */
  #refill(cls: number, keepPage: number): boolean {
    let pageId = this.#popSpare();
    if (pageId === 0 && this.#newBlock()) pageId = this.#popSpare();
    if (pageId === 0) {
      const victim = this.#pickVictim(cls, keepPage);
      if (victim === 0) return false;
      this.#evacuate(victim);
      this.#pagesReassigned++;
      pageId = victim;
    }
    this.#pageClass[pageId] = cls;
    this.#pageLive[pageId] = 0;
    (this.#pages[cls] as number)++;
    this.#curPage[cls] = pageId;
    this.#bump[cls] = 0;
    return true;
  }

  /** Takes the most recently released spare page; 0 if none. */
  #popSpare(): number {
    const p = this.#spareHead;
    if (p !== 0) this.#unlinkSpare(p);
    return p;
  }

  #unlinkSpare(p: number): void {
    const next = this.#spareNext[p] as number;
    const prev = this.#sparePrev[p] as number;
    if (prev !== 0) this.#spareNext[prev] = next;
    else this.#spareHead = next;
    if (next !== 0) this.#sparePrev[next] = prev;
    this.#pageClass[p] = UNUSED;
    (this.#blockSpare[p >>> 4] as number)--;
    this.#spareCount--;
  }

  /** Makes an emptied page spare; drops its block when all 16 are spare and the pool is big enough or over the cap. */
  #pushSpare(p: number): void {
    this.#linkSpare(p);
    const b = p >>> 4;
    if (++(this.#blockSpare[b] as number) === BLOCK_PAGES &&
      (this.#spareCount - BLOCK_PAGES >= this.#spareMax || this.#pageBytes > this.#maxBytes)) {
      this.#dropBlock(b);
    }
  }

  /** Marks page p spare and puts it at the head of the spare list. */
  #linkSpare(p: number): void {
    this.#pageClass[p] = SPARE;
    this.#pageLive[p] = 0;
    this.#sparePrev[p] = 0;
    this.#spareNext[p] = this.#spareHead;
    if (this.#spareHead !== 0) this.#sparePrev[this.#spareHead] = p;
    this.#spareHead = p;
    this.#spareCount++;
  }

  /** A new block SAB with 16 spare pages; false at the cap, with no block id left, or when mapping fails. */
  #newBlock(): boolean {
    const b = this.#takeBlockId(BLOCK_SIZE);
    if (b === 0) return false;
    let sab: SharedArrayBuffer;
    try {
      sab = new SharedArrayBuffer(BLOCK_SIZE);
    } catch {
      this.#freeBlocks[this.#freeBlockTop++] = b;
      return false;
    }
    this.#pageBytes += BLOCK_SIZE;
    // Pushed high to low so the lowest page id is handed out first.
    for (let i = BLOCK_PAGES - 1; i >= 0; i--) {
      const p = b * BLOCK_PAGES + i;
      const at = i * PAGE_SIZE;
      this.#sab[p] = sab;
      this.#u8[p] = Buffer.from(sab, at, PAGE_SIZE);
      this.#i32[p] = new Int32Array(sab, at, PAGE_SIZE >> 2);
      this.#f64[p] = new Float64Array(sab, at, PAGE_SIZE >> 3);
      this.#linkSpare(p);
    }
    this.#blockSpare[b] = BLOCK_PAGES;
    return true;
  }

  /** A free block id if `bytes` more stay under maxBytes; 0 otherwise. */
  #takeBlockId(bytes: number): number {
    if (this.#pageBytes + bytes > this.#maxBytes) return 0;
    if (this.#freeBlockTop > 0) return this.#freeBlocks[--this.#freeBlockTop] as number;
    if (this.#nextBlockId > MAX_BLOCK_ID) return 0;
    return this.#nextBlockId++;
  }

  /** Drops a normal block whose pages are all spare or evacuated (pageLive 0, no class). */
  #dropBlock(b: number): void {
    for (let i = 0; i < BLOCK_PAGES; i++) {
      const p = b * BLOCK_PAGES + i;
      if (this.#pageClass[p] === SPARE) this.#unlinkSpare(p);
      this.#clearPage(p);
    }
    this.#blockSpare[b] = 0;
    this.#freeBlocks[this.#freeBlockTop++] = b;
    this.#pageBytes -= BLOCK_SIZE;
    this.#pagesReleased += BLOCK_PAGES;
  }

  #clearPage(p: number): void {
    this.#sab[p] = EMPTY_SAB;
    this.#u8[p] = EMPTY_U8;
    this.#i32[p] = EMPTY_I32;
    this.#f64[p] = EMPTY_F64;
    this.#pageClass[p] = UNUSED;
    this.#pageLive[p] = 0;
  }

  /** A normal block with all 16 pages spare, 0 if none. O(blocks). */
  #findSpareBlock(): number {
    for (let b = 1; b < this.#nextBlockId; b++) if (this.#blockSpare[b] === BLOCK_PAGES) return b;
    return 0;
  }

  /** Cost of emptying class page p (see #pickVictim). */
  #pageCost(p: number): number {
    const v = this.#pageClass[p] as number;
    const live = this.#pageLive[p] as number;
    const move = Math.min(live, Math.max(0, this.#holesElsewhere(v, p)));
    return (this.#size[v] as number) * (move + EVICT_WEIGHT * (live - move));
  }

  /** Cheapest normal block to empty entirely (not the one holding keepPage); 0 if none or no relocator. */
  #pickVictimBlock(keepPage: number): number {
    if (this.#relocator === null) return 0;
    let best = 0;
    let bestCost = Infinity;
    for (let b = 1; b < this.#nextBlockId; b++) {
      if (b === keepPage >>> 4) continue;
      let cost = 0;
      let normal = false;
      for (let i = 0; i < BLOCK_PAGES; i++) {
        const p = b * BLOCK_PAGES + i;
        const v = this.#pageClass[p] as number;
        if (v === SPARE) normal = true;
        else if (v >= 0) {
          normal = true;
          cost += this.#pageCost(p);
        }
      }
      if (normal && cost < bestCost) {
        bestCost = cost;
        best = b;
      }
    }
    return best;
  }

  #allocLarge(bytes: number, keep: Ref): Ref {
    if (bytes > MAX_ALLOC_BYTES) return 0;
    const size = roundUp(bytes, LARGE_ALIGN);
    // Make room under the cap: spares first, then (with a relocator) empty whole pages.
    // Pause proportional to the object size (one page evacuation per PAGE_SIZE missing).
    while (this.#pageBytes + size > this.#maxBytes) {
      let b = this.#findSpareBlock();
      if (b === 0) {
        b = this.#pickVictimBlock(keep >>> PAGE_SHIFT);
        if (b === 0) return 0;
        for (let i = 0; i < BLOCK_PAGES; i++) {
          const p = b * BLOCK_PAGES + i;
          if ((this.#pageClass[p] as number) >= 0) this.#evacuate(p);
        }
      }
      this.#dropBlock(b);
    }
    const b = this.#takeBlockId(size);
    if (b === 0) return 0;
    let sab: SharedArrayBuffer;
    try {
      sab = new SharedArrayBuffer(size);
    } catch {
      // The process could not map the memory: same as hitting the cap.
      this.#freeBlocks[this.#freeBlockTop++] = b;
      return 0;
    }
    const pageId = b * BLOCK_PAGES;
    this.#sab[pageId] = sab;
    this.#u8[pageId] = Buffer.from(sab);
    this.#i32[pageId] = new Int32Array(sab);
    this.#f64[pageId] = new Float64Array(sab);
    this.#pageBytes += size;
    this.#pageClass[pageId] = LARGE;
    this.#largeObjects++;
    this.#largeBytes += size;
    this.#usedBytes += size;
    (this.#u8[pageId] as Buffer)[ITEM_TYPE] = TYPE_UNSET;
    return pageId * PAGE_SIZE;
  }

  /**
   * Returns the chunk to its class free list (or drops a large page). Bumps
   * ITEM_VERSION by 2 (odd in between) so seqlock readers with a stale Ref retry,
   * and sets ITEM_TYPE to TYPE_FREE. Throws on a double free or a foreign Ref.
   * A page whose last live chunk this was is released (spare pool or OS).
   */
  free(ref: Ref): void {
    // Kept small so TurboFan inlines it into callers; rare cases go to #freeSlow.
    const pageId = ref >>> PAGE_SHIFT;
    const off = ref & PAGE_MASK;
    const cls = this.#pageClass[pageId] as number;
    const u8 = this.#u8[pageId] as Buffer;
    if (cls < 0 || ref <= 0 || u8[off + ITEM_TYPE] === TYPE_FREE) return this.#freeSlow(ref);
    const i32 = this.#i32[pageId] as Int32Array;
    const vi = (off + ITEM_VERSION) >> 2;
    const v = Atomics.load(i32, vi);
    Atomics.store(i32, vi, v + 1);
    u8[off + ITEM_TYPE] = TYPE_FREE;
    const head = this.#freeHead[cls] as number;
    i32[(off + FREE_NEXT) >> 2] = head;
    Atomics.store(i32, vi, v + 2);
    if (head !== 0) (this.#i32[head >>> PAGE_SHIFT] as Int32Array)[((head & PAGE_MASK) + FREE_PREV) >> 2] = ref;
    this.#freeHead[cls] = ref;
    (this.#freeCount[cls] as number)++;
    (this.#used[cls] as number)--;
    this.#usedBytes -= this.#size[cls] as number;
    if (--(this.#pageLive[pageId] as number) === 0) this.#releasePage(pageId);
  }

  /** Large objects and errors (double free, foreign Ref). */
  #freeSlow(ref: Ref): void {
    const pageId = ref >>> PAGE_SHIFT;
    const cls = this.#pageClass[pageId] as number;
    if (cls === LARGE && (ref & PAGE_MASK) === 0 && ref > 0) return this.#freeLarge(pageId);
    if (cls >= 0 && ref > 0) throw new Error(`SlabArena.free: double free of ref ${ref}`);
    throw new RangeError(`SlabArena.free: ref ${ref} is not an allocated chunk`);
  }

  #freeLarge(pageId: number): void {
    const i32 = this.#i32[pageId] as Int32Array;
    // Readers on other threads that still hold the SAB see the change.
    const v = Atomics.load(i32, ITEM_VERSION >> 2);
    Atomics.store(i32, ITEM_VERSION >> 2, v + 1);
    (this.#u8[pageId] as Buffer)[ITEM_TYPE] = TYPE_FREE;
    Atomics.store(i32, ITEM_VERSION >> 2, v + 2);
    const size = (this.#sab[pageId] as SharedArrayBuffer).byteLength;
    this.#largeObjects--;
    this.#largeBytes -= size;
    this.#usedBytes -= size;
    this.#pageBytes -= size;
    this.#clearPage(pageId);
    this.#freeBlocks[this.#freeBlockTop++] = pageId >>> 4;
  }

  /** Unlinks one free chunk from its class list (FREE_PREV is valid unless it is the head). */
  #unlink(cls: number, ref: Ref): void {
    const i32 = this.#i32[ref >>> PAGE_SHIFT] as Int32Array;
    const o = ref & PAGE_MASK;
    const next = i32[(o + FREE_NEXT) >> 2] as number;
    if (this.#freeHead[cls] === ref) {
      this.#freeHead[cls] = next;
    } else {
      const prev = i32[(o + FREE_PREV) >> 2] as number;
      (this.#i32[prev >>> PAGE_SHIFT] as Int32Array)[((prev & PAGE_MASK) + FREE_NEXT) >> 2] = next;
      if (next !== 0) (this.#i32[next >>> PAGE_SHIFT] as Int32Array)[((next & PAGE_MASK) + FREE_PREV) >> 2] = prev;
    }
    (this.#freeCount[cls] as number)--;
  }

  /** Chunks carved so far on a page of class cls. */
  #carved(pageId: number, cls: number): number {
    return this.#curPage[cls] === pageId
      ? ((this.#bump[cls] as number) / (this.#size[cls] as number)) | 0
      : (this.#perPage[cls] as number);
  }

  /**
   * Takes a class page out of its class: unlinks its free chunks, stops carving it.
   * Live chunks stay (the caller relocates them or the page has none). O(carved chunks).
   */
  #detach(pageId: number): void {
    const cls = this.#pageClass[pageId] as number;
    const size = this.#size[cls] as number;
    const carved = this.#carved(pageId, cls);
    const u8 = this.#u8[pageId] as Buffer;
    const base = pageId * PAGE_SIZE;
    for (let i = 0, off = 0; i < carved; i++, off += size) {
      if (u8[off + ITEM_TYPE] === TYPE_FREE) this.#unlink(cls, base + off);
    }
    if (this.#curPage[cls] === pageId) {
      this.#curPage[cls] = 0;
      this.#bump[cls] = 0;
    }
    (this.#pages[cls] as number)--;
  }

  /** A class page with no live chunk leaves its class for the spare pool (its block may be dropped). */
  #releasePage(pageId: number): void {
    this.#detach(pageId);
    this.#pushSpare(pageId);
  }

  /**
   * Free-list chunks (holes) of class v outside page p: where p's live items can move.
   * Bump room is not counted: moving a full page into another page's uncarved room
   * frees nothing net and made classes steal from each other in a chain (measured:
   * ~0.5 steals per SET). Moves are only worth it when they fill holes.
   */
  #holesElsewhere(v: number, p: number): number {
    const freeOnPage = this.#carved(p, v) - (this.#pageLive[p] as number);
    return (this.#freeCount[v] as number) - freeOnPage;
  }

  /**
   * Cheapest class page not of class `cls` (-1 = any) and not `keepPage`; pages being
   * carved only if nothing else qualifies. 0 if none or no relocator.
   */
  #pickVictim(cls: number, keepPage: number): number {
    if (this.#relocator === null) return 0;
    let best = 0;
    let bestCost = Infinity;
    let cur = 0;
    const end = this.#nextBlockId * BLOCK_PAGES;
    for (let p = BLOCK_PAGES; p < end; p++) {
      const v = this.#pageClass[p] as number;
      if (v < 0 || v === cls || p === keepPage) continue;
      if (this.#curPage[v] === p) {
        cur = p;
        continue;
      }
      const cost = this.#pageCost(p);
      if (cost < bestCost) {
        bestCost = cost;
        best = p;
      }
    }
    return best !== 0 ? best : cur;
  }

  /**
   * Empties a class page: moves each live item to a free chunk of its class on
   * another page (relocator.moved) or, with no room, evicts it (relocator.evict).
   * Leaves the page detached with no live chunk; the caller re-carves or drops it.
   * Returns the number of live items handled.
   */
  #evacuate(pageId: number, moveOnly = false): number {
    const rel = this.#relocator;
    const cls = this.#pageClass[pageId] as number;
    const size = this.#size[cls] as number;
    const carved = this.#carved(pageId, cls);
    this.#detach(pageId); // from now on #take(cls) never returns a chunk of this page
    const src = this.#u8[pageId] as Buffer;
    const srcI32 = this.#i32[pageId] as Int32Array;
    const base = pageId * PAGE_SIZE;
    let handled = 0;
    for (let i = 0, off = 0; i < carved && (this.#pageLive[pageId] as number) > 0; i++, off += size) {
      if (src[off + ITEM_TYPE] === TYPE_FREE) continue;
      const old = base + off;
      const dst = this.#popHole(cls);
      if (dst !== 0) {
        const dPage = dst >>> PAGE_SHIFT;
        const dOff = dst & PAGE_MASK;
        const dI32 = this.#i32[dPage] as Int32Array;
        const dvi = (dOff + ITEM_VERSION) >> 2;
        const dv = Atomics.load(dI32, dvi);
        Atomics.store(dI32, dvi, dv + 1);
        src.copy(this.#u8[dPage] as Buffer, dOff + 4, off + 4, off + size);
        Atomics.store(dI32, dvi, dv + 2);
        (this.#pageLive[dPage] as number)++;
        this.#itemsMoved++;
        rel?.moved(old, dst);
      } else {
        if (moveOnly) throw new Error('SlabArena: no room to move an item during rebalanceStep');
        (this.#used[cls] as number)--;
        this.#usedBytes -= size;
        this.#itemsEvicted++;
        rel?.evict(old);
      }
      // The old chunk is gone: same version dance as free(), not put on a list.
      const vi = (off + ITEM_VERSION) >> 2;
      const v = Atomics.load(srcI32, vi);
      Atomics.store(srcI32, vi, v + 1);
      src[off + ITEM_TYPE] = TYPE_FREE;
      Atomics.store(srcI32, vi, v + 2);
      (this.#pageLive[pageId] as number)--;
      handled++;
    }
    return handled;
  }

  /**
   * Background step with a budget (call from a timer, e.g. every 100 ms): drops fully
   * spare blocks while over maxBytes or the spare pool, then, if a class has at least one page worth of free
   * chunks, empties that class's emptiest page by moving its live items (at most
   * `maxChunks` of them; no eviction) and releases it. Returns the number of items
   * moved. Worst pause: see "Page lifecycle" above.
   */
  rebalanceStep(maxChunks: number): number {
    // Fully spare blocks left behind by #pushSpare's one-block check: O(blocks) per drop.
    while (this.#pageBytes > this.#maxBytes || this.#spareCount - BLOCK_PAGES >= this.#spareMax) {
      const b = this.#findSpareBlock();
      if (b === 0) break;
      this.#dropBlock(b);
    }
    if (this.#relocator === null) return 0;
    // Class with the most free bytes among those that can lose a page without eviction.
    let cls = -1;
    let bestFree = 0;
    for (let c = 0; c < this.classSizes.length; c++) {
      const pages = this.#pages[c] as number;
      const perPage = this.#perPage[c] as number;
      const free = pages * perPage - (this.#used[c] as number);
      if (pages < 2 || free < perPage) continue;
      const freeBytes = free * (this.#size[c] as number);
      if (freeBytes > bestFree) {
        bestFree = freeBytes;
        cls = c;
      }
    }
    if (cls < 0) return 0;
    let victim = 0;
    let fewest = Infinity;
    const end = this.#nextBlockId * BLOCK_PAGES;
    for (let p = BLOCK_PAGES; p < end; p++) {
      if (this.#pageClass[p] !== cls) continue;
      const live = this.#pageLive[p] as number;
      if (live < fewest) {
        fewest = live;
        victim = p;
      }
    }
    if (victim === 0 || fewest > maxChunks || this.#holesElsewhere(cls, victim) < fewest) return 0;
    const moved = this.#evacuate(victim, true);
    this.#pushSpare(victim);
    return moved;
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
   * The SharedArrayBuffer holding page `pageId` (its block for a class page, its own
   * SAB for a large page), or undefined. For posting pages to reader threads
   * (snapshot tasks): the page starts at pageByteOffset(pageId) inside it; readers
   * use the seqlock protocol.
   */
  page(pageId: number): SharedArrayBuffer | undefined {
    const cls = this.#pageClass[pageId];
    return cls === undefined || cls === UNUSED || cls === SPARE ? undefined : this.#sab[pageId];
  }

  /** Where page `pageId` starts inside page(pageId): (pageId % 16) * PAGE_SIZE for a class page, 0 for a large one. */
  pageByteOffset(pageId: number): number {
    return this.#pageClass[pageId] === LARGE ? 0 : (pageId & (BLOCK_PAGES - 1)) * PAGE_SIZE;
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
      sparePages: this.#spareCount,
      pagesReassigned: this.#pagesReassigned,
      pagesReleased: this.#pagesReleased,
      itemsMoved: this.#itemsMoved,
      itemsEvicted: this.#itemsEvicted,
    };
  }

  /** One line per class, for the startup log (memcached `slabs_init -vv`). */
  describeClasses(): string {
    return this.classSizes
      .map((s, i) => `class ${String(i + 1).padStart(3)}: chunk size ${String(s).padStart(9)} perslab ${Math.floor(PAGE_SIZE / s)}`)
      .join('\n');
  }

  /** Drops every page and item (FLUSHALL). Refs handed out before are invalid. Counters stay. */
  reset(): void {
    this.#sab.fill(EMPTY_SAB);
    this.#u8.fill(EMPTY_U8);
    this.#i32.fill(EMPTY_I32);
    this.#f64.fill(EMPTY_F64);
    this.#pageClass.fill(UNUSED);
    this.#pageLive.fill(0);
    this.#freeBlockTop = 0;
    this.#nextBlockId = 1;
    this.#blockSpare.fill(0);
    this.#spareNext.fill(0);
    this.#sparePrev.fill(0);
    this.#spareHead = 0;
    this.#spareCount = 0;
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
