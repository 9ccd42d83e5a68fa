/**
 * Memory layout of a shard worker's slab arena. Read this before touching
 * slab-arena.ts, hash-index.ts or anything that reads item bytes.
 *
 * Thread model
 * ------------
 * Each data-plane worker thread owns one SlabArena and one HashIndex. Only that
 * thread (the "owner") ever writes a page, an item header or an index bucket.
 * Other threads (main thread for INFO/snapshots, piscina tasks for snapshot
 * encoding) may hold the page SharedArrayBuffers and read items, but only through
 * the seqlock on ITEM_VERSION described below, and never follow a Ref they did not
 * receive from the owner in a message that is newer than the item's last change.
 *
 * Pages
 * -----
 * Memory comes in pages. A normal page is PAGE_SIZE (1 MiB) and is its own
 * SharedArrayBuffer, so a page can be posted to another thread on its own.
 * A page is handed to one size class the first time that class needs room and
 * then belongs to that class until SlabArena.reset() (pages are never moved
 * between classes: no slab rebalancing, as memcached without `slab_reassign`).
 *
 *   page table (SlabArena, indexed by pageId; id 0 is never used so Ref 0 = null)
 *   +------+------+------+------+-- ... --+--------+
 *   |  --  | p1   | p2   | p3   |         | p2047  |
 *   +------+--|---+--|---+--|---+-- ... --+--------+
 *             |      |      '--> large page: one item, byteLength = roundUp(bytes, LARGE_ALIGN)
 *             |      '--> class 7 page
 *             '--> class 0 page
 *
 *   normal page, class c with chunk size S (S = CLASS_SIZE[c], multiple of 8)
 *   0        S        2S       3S                  n*S          PAGE_SIZE
 *   +--------+--------+--------+-- ... --+--------+---------------+
 *   | chunk  | chunk  | chunk  |         | chunk  | tail (unused) |
 *   +--------+--------+--------+-- ... --+--------+---------------+
 *   n = floor(PAGE_SIZE / S). Chunks are carved lazily: each class keeps a bump
 *   pointer into its newest page; a freed chunk goes on the class free list
 *   (intrusive, LIFO) and is reused before the bump pointer advances.
 *
 * Refs
 * ----
 *   Ref = pageId * PAGE_SIZE + byteOffset      (0 = null; pageId in 1..MAX_PAGE_ID)
 * so every Ref is < 2^31 and fits an Int32Array slot. pageId = ref >>> PAGE_SHIFT,
 * byteOffset = ref & PAGE_MASK. A Ref into a large page is always its offset 0 (the
 * item start); bytes past PAGE_SIZE inside a large page are reached through the
 * page views plus an offset, never through a Ref.
 *
 * Size classes
 * ------------
 * Class 0 is `minChunk` (default 48) bytes; class i+1 = roundUp8(class i *
 * growthFactor) (default 1.25), strictly increasing; the last class is exactly
 * MAX_CLASS_SIZE = PAGE_SIZE / 2 (512 KiB), as memcached's slab_chunk_max. With the
 * defaults that is 41 classes: 48, 64, 80, 104, 136, 176, 224, 280, 352, ... 293752,
 * 367192, 524288 (a class that would hold as few chunks per page as the last one,
 * here 458992, is dropped). The worst internal waste is thus ~25% per item (~43% in
 * the last step), plus up to S-1 bytes of page tail per page.
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
 * the next free chunk of the same class (0 = end of list). Only the owner reads it.
 */

/** Bytes in a normal page; each page is its own SharedArrayBuffer. */
export const PAGE_SIZE = 1 << 20;
export const PAGE_SHIFT = 20;
export const PAGE_MASK = PAGE_SIZE - 1;
/** Highest page id: ref = pageId * PAGE_SIZE + off must stay < 2^31. */
export const MAX_PAGE_ID = 2047;

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

// Item types (ITEM_TYPE).
export const TYPE_FREE = 0;
export const TYPE_STRING = 1;
export const TYPE_LIST = 2;
export const TYPE_SET = 3;
export const TYPE_ZSET = 4;
export const TYPE_HASH = 5;
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
check(FREE_NEXT + 4 <= ITEM_HEADER, 'the free-list link lives inside the header');
