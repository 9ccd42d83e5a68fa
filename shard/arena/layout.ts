/**
 * Memory layout of a shard worker's slab arena. Read this before touching
 * slab-arena.ts, hash-index.ts or anything that reads item bytes.
 *
 * Thread model
 * ------------
 * Each data-plane worker thread owns one SlabArena and one HashIndex. Only that
 * thread (the "owner") ever writes a page, an item header or an index bucket.
 * Other threads (main thread for INFO/snapshots, piscina tasks for snapshot
 * encoding) may hold the page SharedArrayBuffers (a class page is 64 KiB at
 * SlabArena.pageByteOffset(id) inside its 1 MiB block SAB) and read items, but only through
 * the seqlock on ITEM_VERSION described below, and never follow a Ref they did not
 * receive from the owner in a message that is newer than the item's last change.
 *
 * Pages
 * -----
 * Memory comes in pages. A normal page is PAGE_SIZE (64 KiB); pages come 16 at a
 * time in a block, one 1 MiB SharedArrayBuffer (block b holds page ids 16b..16b+15;
 * block 0 is never used). Each page has its own views (Buffer / Int32Array /
 * Float64Array over its 64 KiB of the block), so Ref arithmetic is per page.
 * Blocks exist because creating a SAB costs ~30-200 us whatever its size (measured
 * on Node 20: 64 KiB ~135 us, 1 MiB ~40 us), so 64 KiB SABs would cost ~0.5 s per
 * 256 MiB of fill. A block's SAB is dropped when all 16 of its pages are spare.
 * Why 64 KiB and not memcached's 1 MiB: every size class in use holds one partly
 * carved page, and with ~45 classes in use for values of 10..1000 bytes, 1 MiB pages
 * strand ~22 MiB (0.5 page per class) - 35 % of a 64 MiB shard, 9 % of 256 MiB.
 * 64 KiB pages strand ~1.4 MiB, and a page steal moves at most 64 KiB. The price:
 * chunks above 4 KiB get few per page (classes are coarser there, see below), and
 * items above 32 KiB are large objects with their own SAB (one SAB creation each).
 * A page is handed to one size class when that class needs room and belongs to it
 * until it is empty or stolen (slab rebalancing, memcached `slab_reassign` /
 * `slab_automove`, see slab-arena.ts "Page lifecycle"):
 *
 *          new block (under maxBytes)
 *   UNUSED ----------------------> SPARE <------------------------------.
 *     ^      16 pages, 1 SAB        |  ^    live count drops to 0 (free) |
 *     |                             |  |                                 |
 *     |          any class needs a  v  |                                 |
 *     |          page               class c -----------------------------'
 *     |                             ^  |  steal: relocate/evict live items,
 *     |                             '--'  re-carve for class c'
 *     '---- all 16 pages of the block SPARE and (more than sparePages spare
 *           pages, or pageBytes over maxBytes): block SAB dropped
 *
 * Per page the arena keeps its class (or LARGE / SPARE / UNUSED) and its live chunk
 * count (typed arrays indexed by pageId), so it knows how full each page is.
 * A stolen or spare page is re-carved from offset 0 with the new class's chunk size;
 * its old bytes are not cleared (see "Refs after a move" below).
 *
 *   page table (SlabArena, indexed by pageId; block 0 = ids 0..15 never used)
 *   +-- ... --+------+------+-- ... --+------+------+-- ... --+--------+
 *   | 0..15   | p16  | p17  |         | p31  | p32  |         | p32767 |
 *   +-- ... --+--|---+--|---+-- ... --+--|---+--|---+-- ... --+--------+
 *                |      |    block 1     |      '--> block 2: large object, one item,
 *                |      |    (one SAB)   |           byteLength = roundUp(bytes, LARGE_ALIGN);
 *                |      '--> class 7     '--> SPARE  ids 33..47 of the block unused
 *                '--> class 0 page
 *
 *   normal page, class c with chunk size S (S = CLASS_SIZE[c], multiple of 8)
 *   0        S        2S       3S                  n*S          PAGE_SIZE
 *   +--------+--------+--------+-- ... --+--------+---------------+
 *   | chunk  | chunk  | chunk  |         | chunk  | tail (unused) |
 *   +--------+--------+--------+-- ... --+--------+---------------+
 *   n = floor(PAGE_SIZE / S). Chunks are carved lazily: each class keeps a bump
 *   pointer into its newest page; a freed chunk goes on the class free list
 *   (intrusive, doubly linked, LIFO) and is reused before the bump pointer advances.
 *
 * Refs
 * ----
 *   Ref = pageId * PAGE_SIZE + byteOffset      (0 = null; pageId in 16..MAX_PAGE_ID)
 * so every Ref is < 2^31 and fits an Int32Array slot. pageId = ref >>> PAGE_SHIFT,
 * byteOffset = ref & PAGE_MASK. A Ref into a large page is always its offset 0 (the
 * item start); bytes past PAGE_SIZE inside a large page are reached through the
 * page views plus an offset, never through a Ref.
 *
 * Size classes
 * ------------
 * Class 0 is `minChunk` (default 48) bytes. Below `linearMax` (default 256) classes
 * step by `linearStep` (default 8) bytes; above it class i+1 = class i * growthFactor
 * (default 1.125) rounded to the nearest multiple of 8. Each class is then widened to
 * the largest multiple of 8 that still gives the same chunks per page
 * (floor(PAGE_SIZE / n) down to 8), so big classes waste no page tail, and classes
 * with equal chunks per page merge. The last class is exactly MAX_CLASS_SIZE =
 * PAGE_SIZE / 2 (32 KiB), as memcached's slab_chunk_max. With the defaults that is
 * 62 classes: 48, 56, 64, ... 248, 256, 288, 328, 368, 416, 472, 528, 592, 664, 744,
 * 840, 944, 1072, 1208, 1360, 1520, 1720, 1984, 2184, 2520, 2848, 3120, 3640, 4096,
 * 4680, 5040, 5952, ..., 16384, 21840, 32768 (`SlabArena.describeClasses()` prints
 * them at startup). Above ~2 KiB the widening dominates (consecutive classes differ
 * by one chunk per page or more): an item costs PAGE_SIZE / n bytes whatever the
 * class size, so widening never costs memory, it only moves the class boundary.
 *
 * Measured rounding waste (test "class table" in test/shard/arena/slab-arena.test.ts)
 * over every item size 64..4200 bytes, equal weight:
 *   mean (chunk - item) / item     = 6.3 %   (old 48 / x1.25 table: 12.6 %)
 *   sum(chunk) / sum(item) - 1     = 6.6 %   (old: 13.1 %)
 *   worst single size              = 16.6 %  (3121 -> 3640, 21 vs 18 per page; old: 28.5 %)
 * Up to 256 bytes the waste is at most 7 bytes per item (8-byte steps). growthFactor
 * 1.0625 gives a 3.3 % mean at 86 classes (more partly carved pages).
 * Page tails (PAGE_SIZE mod S) add < 1 % (max 0.7 % at 664) for S <= 4400.
 * Any item larger than MAX_CLASS_SIZE is a "large object": it gets a dedicated
 * SharedArrayBuffer of roundUp(bytes, LARGE_ALIGN) bytes, registered in the same
 * page table. Large objects are limited to MAX_ALLOC_BYTES (1 GiB), which holds a
 * 512 MiB value (proto-max-bulk-len) plus a key of up to ~512 MiB.
 *
 * Item header (start of every chunk, little-endian, 8-byte aligned)
 * ------------------------------------------------------------------
 *    0       4      5      6       8          12          16
 *   +-------+------+------+-------+----------+-----------+
 *   |version| type | enc  | flags |  keylen  | valuelen  |
 *   |  u32  |  u8  |  u8  |  u16  |   u32    |   u32     |
 *   +-------+------+------+-------+----------+-----------+
 *   16                     24          28          32
 *   +----------------------+-----------+-----------+------------------+----------------+
 *   |  expire (f64, ms)    | lru (u32) | hash (u32)| key bytes ...    | value bytes ...|
 *   +----------------------+-----------+-----------+------------------+----------------+
 *
 *   field      writer                            how other threads read it
 *   ---------  --------------------------------  -----------------------------------------
 *   version    owner; odd while writing the      Atomics.load before and after reading the
 *              item, +2 per completed change;    item; retry if odd or if the two loads
 *              SlabArena.free bumps it too       differ (seqlock). Never reset on reuse,
 *              (so a stale Ref sees a change).   so it stays monotonic per chunk.
 *   type       owner (command ops); free() sets  inside the seqlock; TYPE_FREE or
 *              TYPE_FREE, alloc() TYPE_UNSET.    TYPE_UNSET means "no live item here".
 *   encoding   owner (type-specific code)        inside the seqlock
 *   flags      owner                             inside the seqlock
 *   keylen     owner, once when the item is      inside the seqlock. On a free chunk
 *              created (the key never changes    these 4 bytes hold FREE_NEXT instead.
 *              inside a chunk)
 *   valuelen   owner, with every value change    inside the seqlock
 *   expire     owner (EXPIRE/SET EX/PERSIST)     inside the seqlock
 *   lru        owner, on every access. Written   racy read allowed: approximate by
 *              WITHOUT bumping version (hot).    design, only used for eviction hints
 *   hash       owner, once at creation           inside the seqlock
 *   key/value  owner                             inside the seqlock (copy, then re-check)
 *
 * Seqlock protocol (owner):  v = load(version); store(version, v + 1);
 *                            ...write fields and bytes...; store(version, v + 2)
 * Seqlock protocol (reader): v1 = load(version); if (v1 & 1) retry; copy what you need;
 *                            v2 = load(version); if (v1 !== v2) retry.
 * Both use Atomics on the page's Int32Array at index (off + ITEM_VERSION) >> 2.
 * A reader must already hold the page's SharedArrayBuffer; a freed large page is
 * dropped from the page table but stays valid memory while any thread references it.
 *
 * Free chunk: type = TYPE_FREE, the u32 at FREE_NEXT (= ITEM_KEYLEN) holds the Ref of
 * the next free chunk of the same class (0 = end of list), the u32 at FREE_PREV
 * (= ITEM_VALUELEN) the previous one. FREE_PREV is only meaningful when the chunk is
 * not the list head (the head's is stale; the arena checks "is head" first), so pop
 * touches one chunk only. The double link lets a page's free chunks be unlinked in
 * O(chunks on the page) when the page is released or stolen. Only the owner reads it.
 *
 * Refs after a move
 * -----------------
 * Page reassignment moves a live item to another chunk of its class (the keyspace's
 * ArenaRelocator.moved updates every index) or evicts it (ArenaRelocator.evict).
 * Either way the old chunk gets a version bump (odd, then +2) and TYPE_FREE before
 * its page is re-carved, exactly like free(). After the re-carve a stale Ref may
 * point into the middle of a new chunk, so the rule above is load-bearing: a reader
 * thread must not follow a Ref older than the item's last change, and a move is a
 * change. A chunk carved from a recycled page gets an even version (an odd garbage
 * word is bumped by 1) so the owner's seqlock writes stay well-formed.
 */

/** Bytes in a normal page; each page is its own SharedArrayBuffer. */
export const PAGE_SIZE = 1 << 16;
export const PAGE_SHIFT = 16;
export const PAGE_MASK = PAGE_SIZE - 1;
/** Highest page id: ref = pageId * PAGE_SIZE + off must stay < 2^31. */
export const MAX_PAGE_ID = 32767;
/** Pages per block: normal pages are carved 16 at a time out of one 1 MiB SAB. */
export const BLOCK_PAGES = 16;
export const BLOCK_SHIFT = 20;
/** Bytes per block SAB (1 MiB); a large object takes a whole block id. */
export const BLOCK_SIZE = 1 << BLOCK_SHIFT;
/** Highest block id; block 0 is never used (page 0 = null Ref). */
export const MAX_BLOCK_ID = 2047;

/** Address of an item: pageId * PAGE_SIZE + byteOffset; 0 = null. */
export type Ref = number;
export const NULL_REF: Ref = 0;

// Item header offsets (bytes from the chunk start).
/** u32 seqlock version: odd while the owner writes the item. */
export const ITEM_VERSION = 0;
/** u8 item type, one of the TYPE_* constants. */
export const ITEM_TYPE = 4;
/** u8 type-specific encoding (e.g. raw / int / listpack). */
export const ITEM_ENCODING = 5;
/** u16 flags. */
export const ITEM_FLAGS = 6;
/** u32 key length in bytes. */
export const ITEM_KEYLEN = 8;
/** u32 value length in bytes. */
export const ITEM_VALUELEN = 12;
/** f64 absolute expiry, unix ms; 0 = no expiry. */
export const ITEM_EXPIRE = 16;
/** u32 LRU clock or LFU counter. */
export const ITEM_LRU = 24;
/** u32 hashKey() of the key. */
export const ITEM_HASH = 28;
/** Key bytes start here; value bytes follow the key. */
export const ITEM_HEADER = 32;

/** On a free chunk: u32 Ref of the next free chunk of the class (overlays ITEM_KEYLEN). */
export const FREE_NEXT = ITEM_KEYLEN;
/** On a free chunk that is not the list head: u32 Ref of the previous free chunk (overlays ITEM_VALUELEN). */
export const FREE_PREV = ITEM_VALUELEN;

// Item types (ITEM_TYPE).
export const TYPE_FREE = 0;
export const TYPE_STRING = 1;
export const TYPE_LIST = 2;
export const TYPE_SET = 3;
export const TYPE_ZSET = 4;
export const TYPE_HASH = 5;
/** A RedisBloom-style scalable bloom filter (TYPE reports "MBbloom--"). */
export const TYPE_BLOOM = 6;
/** Written by SlabArena.alloc: allocated, header not yet written by the caller. */
export const TYPE_UNSET = 0xff;

/** Largest size class: bigger items go to a dedicated large page. */
export const MAX_CLASS_SIZE = PAGE_SIZE / 2;
/** Large pages are rounded up to this many bytes. */
export const LARGE_ALIGN = 4096;
/** Largest single allocation (large page size): 512 MiB value + key + header fits. */
export const MAX_ALLOC_BYTES = 1 << 30;
/** Chunk alignment. */
export const CHUNK_ALIGN = 8;

/** Page id of a Ref. */
export function refPage(ref: Ref): number {
  return ref >>> PAGE_SHIFT;
}

/** Byte offset of a Ref inside its page. */
export function refOffset(ref: Ref): number {
  return ref & PAGE_MASK;
}

/** Make a Ref from a page id and a byte offset. */
export function makeRef(pageId: number, off: number): Ref {
  return pageId * PAGE_SIZE + off;
}

// Invariants, checked once at load (Dragonfly-style static_assert).
function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`shard/arena/layout: invariant violated: ${what}`);
}
check(1 << PAGE_SHIFT === PAGE_SIZE, 'PAGE_SIZE is 1 << PAGE_SHIFT');
check(BLOCK_SIZE === PAGE_SIZE * BLOCK_PAGES && BLOCK_SHIFT === PAGE_SHIFT + 4 && BLOCK_PAGES === 16,
  'a block is 16 pages (pageId >>> 4 = blockId)');
check((MAX_BLOCK_ID + 1) * BLOCK_PAGES - 1 === MAX_PAGE_ID, 'block ids cover exactly the page ids');
check(ITEM_HEADER % CHUNK_ALIGN === 0, 'item header size is a multiple of 8');
check(ITEM_EXPIRE % 8 === 0, 'ITEM_EXPIRE is 8-aligned (Float64Array access)');
check(ITEM_VERSION % 4 === 0 && ITEM_KEYLEN % 4 === 0 && ITEM_VALUELEN % 4 === 0 &&
  ITEM_LRU % 4 === 0 && ITEM_HASH % 4 === 0, 'u32 fields are 4-aligned (Int32Array access)');
check(ITEM_TYPE === ITEM_VERSION + 4 && ITEM_ENCODING === ITEM_TYPE + 1 &&
  ITEM_FLAGS === ITEM_ENCODING + 1 && ITEM_KEYLEN === ITEM_FLAGS + 2 &&
  ITEM_VALUELEN === ITEM_KEYLEN + 4 && ITEM_EXPIRE === ITEM_VALUELEN + 4 &&
  ITEM_LRU === ITEM_EXPIRE + 8 && ITEM_HASH === ITEM_LRU + 4 &&
  ITEM_HEADER === ITEM_HASH + 4, 'header fields are packed without gaps or overlap');
check((MAX_PAGE_ID + 1) * PAGE_SIZE <= 2 ** 31, 'every Ref fits in a positive int32');
check(MAX_CLASS_SIZE % CHUNK_ALIGN === 0 && MAX_CLASS_SIZE <= PAGE_SIZE, 'last class fits a page');
check(LARGE_ALIGN % CHUNK_ALIGN === 0, 'large pages keep 8-byte alignment');
check(MAX_ALLOC_BYTES % LARGE_ALIGN === 0, 'MAX_ALLOC_BYTES is a whole number of LARGE_ALIGN');
check(MAX_ALLOC_BYTES >= 512 * 1024 * 1024 + ITEM_HEADER + 64 * 1024,
  'a 512 MiB value (proto-max-bulk-len) plus header and key fits one allocation');
check(FREE_NEXT + 4 <= ITEM_HEADER && FREE_PREV + 4 <= ITEM_HEADER,
  'the free-list links live inside the header');
check(FREE_NEXT % 4 === 0 && FREE_PREV % 4 === 0 && Math.abs(FREE_NEXT - FREE_PREV) >= 4 &&
  FREE_NEXT >= ITEM_TYPE + 1 && FREE_PREV >= ITEM_TYPE + 1,
  'free-list links are 4-aligned, disjoint, and past the version and type bytes');
