import t from 'tap';
import type { Test } from 'tap';
import { SlabArena, computeClassSizes, type ArenaRelocator } from '../../../shard/arena/slab-arena.js';
import {
  ITEM_TYPE,
  ITEM_VERSION,
  LARGE_ALIGN,
  MAX_ALLOC_BYTES,
  MAX_CLASS_SIZE,
  PAGE_SIZE,
  PAGE_SHIFT,
  BLOCK_PAGES,
  BLOCK_SIZE,
  MAX_BLOCK_ID,
  TYPE_FREE,
  TYPE_STRING,
  TYPE_UNSET,
  ITEM_HEADER,
} from '../../../shard/arena/layout.js';
import { rng } from '../../helpers/random.js';

t.test('class table: 8-step to 256, then x1.125, widened, last = PAGE_SIZE/2, waste bound', async (t) => {
  const a = new SlabArena();
  const s = a.classSizes;
  t.equal(s[0], 48);
  t.equal(s[s.length - 1], MAX_CLASS_SIZE);
  t.equal(MAX_CLASS_SIZE, PAGE_SIZE / 2);
  t.ok(s.length <= 255, 'class id fits the Uint8Array lookup table');
  let bad = 0;
  for (let i = 0; i < s.length; i++) {
    const size = s[i]!;
    if (size % 8 !== 0) { bad++; t.fail(`class ${size} not 8-aligned`); }
    if (i === 0) continue;
    const prev = s[i - 1]!;
    if (!(size > prev)) { bad++; t.fail(`class ${size} not above ${prev}`); }
    if (size <= 256 && size - prev !== 8) { bad++; t.fail(`linear part: ${prev} -> ${size}`); }
    const perPage = Math.floor(PAGE_SIZE / size);
    // x1.125 rounded to nearest 8 (+4 bytes), widened by at most one chunk per page
    if (i < s.length - 1 && size > (prev * 1.125 + 4) * (1 + 1 / perPage) + 8) { bad++; t.fail(`growth ${prev} -> ${size}`); }
    // widened: one more byte-aligned step would lose a chunk per page
    if (i < s.length - 1 && Math.floor(PAGE_SIZE / (size + 8)) === perPage) { bad++; t.fail(`class ${size} not widened`); }
    if (Math.floor(PAGE_SIZE / prev) === perPage) { bad++; t.fail(`classes ${prev} and ${size} hold the same chunks per page`); }
  }
  t.equal(bad, 0, 'every class is 8-aligned, increasing, linear to 256, then grows by ~1.125, widened');
  // Rounding waste over item sizes 64..4200 (numbers quoted in layout.ts).
  const waste = (sizes: readonly number[]): { mean: number; agg: number; worst: number } => {
    let rel = 0, sumC = 0, sumI = 0, worst = 0, n = 0, c = 0;
    for (let item = 64; item <= 4200; item++) {
      while (sizes[c]! < item) c++;
      const chunk = sizes[c]!;
      rel += (chunk - item) / item;
      sumC += chunk;
      sumI += item;
      worst = Math.max(worst, (chunk - item) / item);
      n++;
    }
    return { mean: rel / n, agg: sumC / sumI - 1, worst };
  };
  const w = waste(s);
  const old = waste(computeClassSizes(48, 1.25));
  const pct = (x: number): string => (100 * x).toFixed(2) + '%';
  t.comment(`rounding waste 64..4200: mean ${pct(w.mean)} aggregate ${pct(w.agg)} worst ${pct(w.worst)} ` +
    `(old 48/x1.25 table: mean ${pct(old.mean)} aggregate ${pct(old.agg)} worst ${pct(old.worst)})`);
  t.ok(w.mean < 0.065, `mean rounding waste ${pct(w.mean)} < 6.5%`);
  t.ok(w.agg < 0.07, `aggregate rounding waste ${pct(w.agg)} < 7%`);
  t.ok(w.worst < 0.17, `worst rounding waste ${pct(w.worst)} < 17%`);
  t.ok(w.mean < old.mean / 1.8, 'at least 1.8x less waste than the old table');
  for (const size of s) {
    if (size <= 4400 && (PAGE_SIZE % size) / PAGE_SIZE >= 0.01) t.fail(`page tail of class ${size} >= 1%`);
  }
  t.same(computeClassSizes(64, 2).slice(0, 4), [64, 128, 256, 512]);
  t.same(computeClassSizes(48, 1.125, 96, 16).slice(0, 6), [48, 64, 80, 96, 112, 128]);
  t.same(new SlabArena({ growthFactor: 1.25, linearMax: 0 }).classSizes.slice(0, 6), [48, 64, 80, 104, 128, 160], 'x1.25 table still available');
  t.throws(() => new SlabArena({ growthFactor: 1 }), RangeError);
  t.throws(() => new SlabArena({ minChunk: 8 }), RangeError);
  t.throws(() => new SlabArena({ linearStep: 12 }), RangeError);
  t.match(a.describeClasses(), /class\s+1: chunk size\s+48 perslab 1365/);
  t.match(a.describeClasses(), /chunk size\s+32768 perslab 2$/);
});

t.test('alloc/free at, below and above every class boundary', async (t) => {
  const a = new SlabArena();
  const sizes = a.classSizes;
  let problems = 0;
  const refs: number[] = [];
  let expectUsed = 0;
  for (let c = 0; c < sizes.length; c++) {
    const S = sizes[c]!;
    for (const req of [S - 1, S, S + 1]) {
      const ref = a.alloc(req);
      if (ref === 0) { problems++; continue; }
      const cs = a.chunkSize(ref);
      if (cs < req) problems++;
      if (a.off(ref) % 8 !== 0) problems++;
      // exact class: S-1 and S land in class c, S+1 in the next class (or large)
      const want = req <= S ? S : c + 1 < sizes.length ? sizes[c + 1]! : Math.ceil(req / LARGE_ALIGN) * LARGE_ALIGN;
      if (cs !== want) {
        problems++;
        t.fail(`req ${req}: chunkSize ${cs}, want ${want}`);
      }
      if (a.u8(ref)[a.off(ref) + ITEM_TYPE] !== TYPE_UNSET) problems++;
      expectUsed += cs;
      refs.push(ref);
    }
  }
  t.equal(problems, 0, 'every chunk is big enough, 8-aligned and in the right class');
  t.equal(a.usedBytes, expectUsed, 'usedBytes = sum of chunk sizes');
  t.equal(new Set(refs).size, refs.length, 'all refs distinct');
  const st = a.stats();
  t.equal(st.largeObjects, 1, 'S+1 of the last class is a large object');
  t.equal(st.classes.reduce((n, c) => n + c.usedChunks, 0), refs.length - 1);
  for (const r of refs) a.free(r);
  t.equal(a.usedBytes, 0);
  t.equal(a.stats().largeObjects, 0);
  t.equal(a.alloc(0) !== 0, true, 'alloc(0) gives the smallest class');
  t.throws(() => a.alloc(-1), RangeError);
  t.throws(() => a.alloc(NaN), RangeError);
});

t.test('random alloc/free: exact usedBytes, no overlap, stats agree', async (t) => {
  const a = new SlabArena();
  const r = rng(1);
  const live = new Map<number, { size: number; stamp: number }>();
  const liveArr: number[] = [];
  let stampSeq = 1;
  let overlap = 0;
  let expectUsed = 0;
  const check = (ref: number, size: number, stamp: number): void => {
    const i32 = a.i32(ref);
    const off = a.off(ref);
    // first and last 4-byte word of the requested range carry the stamp
    if (i32[(off + 8) >> 2] !== stamp || i32[(off + ((size - 4) & ~3)) >> 2] !== stamp) overlap++;
  };
  for (let op = 0; op < 200_000; op++) {
    if (live.size > 0 && r() < 0.45) {
      // free a random live chunk (swap-remove from the array of live refs)
      const k = Math.floor(r() * liveArr.length);
      const ref = liveArr[k]!;
      liveArr[k] = liveArr[liveArr.length - 1]!;
      liveArr.pop();
      const v = live.get(ref)!;
      check(ref, v.size, v.stamp);
      expectUsed -= a.chunkSize(ref);
      a.free(ref);
      live.delete(ref);
    } else {
      const x = r();
      const size = x < 0.7 ? 40 + Math.floor(r() * 200) : x < 0.98 ? 200 + Math.floor(r() * 20000) : 20000 + Math.floor(r() * 600_000);
      const ref = a.alloc(size);
      if (ref === 0) { overlap++; continue; }
      if (live.has(ref)) overlap++;
      const stamp = stampSeq++;
      const i32 = a.i32(ref);
      const off = a.off(ref);
      i32[(off + 8) >> 2] = stamp;
      i32[(off + ((size - 4) & ~3)) >> 2] = stamp;
      live.set(ref, { size, stamp });
      liveArr.push(ref);
      expectUsed += a.chunkSize(ref);
    }
  }
  for (const [ref, v] of live) check(ref, v.size, v.stamp);
  t.equal(overlap, 0, 'no chunk overlaps another, no failed alloc, no duplicate ref');
  t.equal(a.usedBytes, expectUsed, 'usedBytes exact after random sequence');
  const st = a.stats();
  const fromStats = st.classes.reduce((n, c) => n + c.size * c.usedChunks, 0) + st.largeBytes;
  t.equal(fromStats, a.usedBytes, 'stats classes + large = usedBytes');
  const pages = st.classes.reduce((n, c) => n + c.pages, 0);
  t.equal(st.pageBytes, (pages + st.sparePages) * PAGE_SIZE + st.largeBytes, 'pageBytes = class + spare + large pages');
  t.ok(a.pageBytes >= a.usedBytes);
  for (const ref of live.keys()) a.free(ref);
  t.equal(a.usedBytes, 0);
});

t.test('freed chunks are reused (LIFO) and marked free with a version bump', async (t) => {
  const a = new SlabArena();
  const x = a.alloc(100);
  const y = a.alloc(100);
  const i32 = a.i32(x);
  const off = a.off(x);
  i32[(off + ITEM_VERSION) >> 2] = 6;
  a.u8(x)[off + ITEM_TYPE] = TYPE_STRING;
  const pageBytes = a.pageBytes;
  a.free(x);
  t.equal(a.u8(x)[off + ITEM_TYPE], TYPE_FREE);
  t.equal(i32[(off + ITEM_VERSION) >> 2], 8, 'version +2, even');
  t.throws(() => a.free(x), /double free/);
  t.equal(a.alloc(97), x, 'same class reuses the freed chunk');
  t.equal(i32[(off + ITEM_VERSION) >> 2], 8, 'version kept across reuse');
  a.free(y);
  a.free(x);
  t.equal(a.alloc(100), x, 'LIFO');
  t.equal(a.alloc(100), y);
  t.equal(a.pageBytes, pageBytes, 'no new page for reuse');
  t.throws(() => a.free(123 * PAGE_SIZE), RangeError, 'ref in an unused page');
});

t.test('large objects: own SAB, freeing lowers pageBytes', async (t) => {
  const a = new SlabArena();
  const small = a.alloc(64);
  const base = a.pageBytes;
  const n3 = 3 * 1024 * 1024 + 17;
  const r3 = a.alloc(n3);
  t.not(r3, 0);
  t.equal(a.off(r3), 0);
  t.equal(r3 % BLOCK_SIZE, 0, 'a large Ref addresses offset 0 of its own block');
  t.equal(a.chunkSize(r3), Math.ceil(n3 / LARGE_ALIGN) * LARGE_ALIGN);
  t.ok(a.u8(r3).length >= n3);
  t.equal(a.i32(r3).buffer, a.u8(r3).buffer, 'views share the SAB');
  t.equal(a.f64(r3).buffer, a.u8(r3).buffer);
  a.u8(r3)[n3 - 1] = 0xab;
  t.equal(a.u8(r3)[n3 - 1], 0xab);
  t.equal(a.pageBytes, base + a.chunkSize(r3));
  const n100 = 100 * 1024 * 1024 + ITEM_HEADER + 10;
  const r100 = a.alloc(n100);
  t.not(r100, 0);
  t.ok(a.chunkSize(r100) >= n100);
  a.u8(r100)[n100 - 1] = 7;
  t.equal(a.stats().largeObjects, 2);
  t.equal(a.usedBytes, a.chunkSize(small) + a.chunkSize(r3) + a.chunkSize(r100));
  const before = a.pageBytes;
  const size100 = a.chunkSize(r100);
  a.free(r100);
  t.equal(a.pageBytes, before - size100, 'freeing a large object releases its bytes');
  t.equal(a.page(r100 / PAGE_SIZE), undefined, 'page dropped from the table');
  t.throws(() => a.chunkSize(r100), RangeError);
  a.free(r3);
  t.equal(a.pageBytes, base);
  t.equal(a.usedBytes, a.chunkSize(small));
  t.equal(a.stats().largeBytes, 0);
  // page ids are recycled
  const again = a.alloc(2 * PAGE_SIZE);
  t.ok(again === r3 || again === r100, 'released page id reused');
  a.free(again);
  t.equal(a.alloc(MAX_ALLOC_BYTES + 1), 0, 'beyond MAX_ALLOC_BYTES -> 0');
});

t.test('maxBytes cap returns 0, frees make room again', async (t) => {
  const a = new SlabArena({ maxBytes: BLOCK_SIZE });
  const perPage = Math.floor(PAGE_SIZE / 64);
  const refs: number[] = [];
  for (;;) {
    const r = a.alloc(64);
    if (r === 0) break;
    refs.push(r);
    if (refs.length > 2 * BLOCK_PAGES * perPage) break;
  }
  t.equal(refs.length, BLOCK_PAGES * perPage, 'exactly one block of 64-byte chunks');
  t.equal(a.pageBytes, BLOCK_SIZE);
  t.equal(a.alloc(1000), 0, 'another class needs a page: refused');
  t.equal(a.alloc(3 * PAGE_SIZE), 0, 'large object over the cap: refused');
  a.free(refs.pop()!);
  t.not(a.alloc(60), 0, 'freed chunk satisfies the next alloc');
  t.equal(a.alloc(64), 0);
  const st = a.stats();
  const c64 = st.classes.find((c) => c.size === 64)!;
  t.equal(c64.pages, BLOCK_PAGES);
  t.equal(c64.usedChunks, BLOCK_PAGES * perPage);
  t.equal(c64.freeChunks, 0);
});

t.test('page table exhaustion returns 0 without throwing', async (t) => {
  const a = new SlabArena();
  let n = 0;
  // 2 chunks per page in the last class, 16 pages per block, MAX_BLOCK_ID blocks, then 0.
  for (;;) {
    const r = a.alloc(MAX_CLASS_SIZE);
    if (r === 0) break;
    n++;
  }
  t.equal(n, 2 * BLOCK_PAGES * MAX_BLOCK_ID);
  t.equal(a.alloc(10 * PAGE_SIZE), 0);
  a.reset();
  t.equal(a.pageBytes, 0);
});

t.test('reset drops everything', async (t) => {
  const a = new SlabArena();
  for (let i = 0; i < 1000; i++) a.alloc(50 + i);
  a.alloc(5 * PAGE_SIZE);
  t.ok(a.pageBytes > 0);
  a.reset();
  t.equal(a.usedBytes, 0);
  t.equal(a.pageBytes, 0);
  const st = a.stats();
  t.equal(st.largeObjects, 0);
  t.equal(st.classes.every((c) => c.pages === 0 && c.usedChunks === 0), true);
  const r = a.alloc(100);
  t.equal(r, BLOCK_SIZE, 'first block id is 1 again');
  t.equal(a.usedBytes, a.chunkSize(r));
});

// --- page reassignment, release, rebalancing -------------------------------------------

/**
 * Test harness standing in for the keyspace: items carry their id at ITEM_HEADER and a
 * byte pattern derived from it up to the requested size; refOf[id] is "the index".
 */
class Harness implements ArenaRelocator {
  readonly refOf: Int32Array;
  readonly sizeOf: Int32Array;
  readonly movedCalls: Array<[number, number]> = [];
  readonly evictCalls: number[] = [];
  live = 0;
  record = true;
  nextId = 1;
  problems = 0;

  constructor(readonly a: SlabArena, capacity: number) {
    this.refOf = new Int32Array(capacity + 1);
    this.sizeOf = new Int32Array(capacity + 1);
    a.setRelocator(this);
  }

  idAt(ref: number): number {
    return this.a.i32(ref)[(this.a.off(ref) + ITEM_HEADER) >> 2]!;
  }

  /** Allocates and stamps an item; 0 on failure. */
  put(size: number, keep = 0): number {
    const ref = this.a.alloc(size, keep);
    if (ref === 0) return 0;
    const id = this.nextId++;
    const u8 = this.a.u8(ref);
    const off = this.a.off(ref);
    u8[off + ITEM_TYPE] = TYPE_STRING;
    this.a.i32(ref)[(off + ITEM_HEADER) >> 2] = id;
    const end = off + size;
    // pattern on the first 16 and last 16 bytes after the id (cheap but catches overlap)
    for (let p = off + ITEM_HEADER + 4; p < end && p < off + ITEM_HEADER + 20; p++) u8[p] = (id * 31 + p - off) & 0xff;
    for (let p = Math.max(off + ITEM_HEADER + 20, end - 16); p < end; p++) u8[p] = (id * 31 + p - off) & 0xff;
    this.refOf[id] = ref;
    this.sizeOf[id] = size;
    this.live++;
    return id;
  }

  intact(id: number): boolean {
    const ref = this.refOf[id]!;
    const size = this.sizeOf[id]!;
    const u8 = this.a.u8(ref);
    const off = this.a.off(ref);
    if (this.idAt(ref) !== id || u8[off + ITEM_TYPE] !== TYPE_STRING) return false;
    const end = off + size;
    for (let p = off + ITEM_HEADER + 4; p < end && p < off + ITEM_HEADER + 20; p++) if (u8[p] !== ((id * 31 + p - off) & 0xff)) return false;
    for (let p = Math.max(off + ITEM_HEADER + 20, end - 16); p < end; p++) if (u8[p] !== ((id * 31 + p - off) & 0xff)) return false;
    return true;
  }

  drop(id: number): void {
    this.a.free(this.refOf[id]!);
    this.refOf[id] = 0;
    this.live--;
  }

  moved(oldRef: number, newRef: number): void {
    const id = this.idAt(newRef);
    if (this.refOf[id] !== oldRef || this.idAt(oldRef) !== id) this.problems++;
    if (this.a.chunkSize(newRef) !== this.a.chunkSize(oldRef)) this.problems++;
    this.refOf[id] = newRef;
    if (this.record) this.movedCalls.push([oldRef, newRef]);
  }

  evict(ref: number): void {
    const id = this.idAt(ref);
    if (this.refOf[id] !== ref) this.problems++;
    this.refOf[id] = 0;
    this.live--;
    if (this.record) this.evictCalls.push(ref);
  }

  usedBytes(): number {
    let n = 0;
    for (let id = 1; id < this.nextId; id++) if (this.refOf[id] !== 0) n += this.a.chunkSize(this.refOf[id]!);
    return n;
  }
}

const PER64 = Math.floor(PAGE_SIZE / 64);
/** First page id ever handed out (block 1, page 0). */
const P0 = BLOCK_PAGES;

/** Snapshot of the small items before a steal: id -> ref (0 = not live). */
function snapshot(h: Harness, upto: number): Int32Array {
  const refs = new Int32Array(upto);
  for (let id = 1; id < upto; id++) refs[id] = h.refOf[id]!;
  return refs;
}

/**
 * Checks that the relocator calls cover exactly the items that were live on `stolen`
 * pages before, and that survivors are intact and off those pages.
 */
function checkSteal(t: Test, h: Harness, before: Int32Array, stolen: Set<number>): void {
  const expected = new Set<number>();
  for (let id = 1; id < before.length; id++) {
    const ref = before[id]!;
    if (ref !== 0 && stolen.has(ref >>> PAGE_SHIFT)) expected.add(ref);
  }
  const reported = new Set<number>();
  for (const [o] of h.movedCalls) reported.add(o);
  for (const o of h.evictCalls) reported.add(o);
  t.equal(reported.size, h.movedCalls.length + h.evictCalls.length, 'no ref reported twice');
  t.equal(reported.size, expected.size, `moved+evicted = live items of stolen pages (${expected.size})`);
  let missing = 0;
  for (const r of expected) if (!reported.has(r)) missing++;
  t.equal(missing, 0, 'every live item of a stolen page was reported');
  let bad = 0;
  for (const [, n] of h.movedCalls) if (stolen.has(n >>> PAGE_SHIFT)) bad++;
  t.equal(bad, 0, 'no item moved onto a stolen page');
  let damaged = 0;
  let onStolen = 0;
  for (let id = 1; id < before.length; id++) {
    if (h.refOf[id] === 0) continue;
    if (!h.intact(id)) damaged++;
    if (stolen.has(h.refOf[id]! >>> PAGE_SHIFT)) onStolen++;
  }
  t.equal(damaged, 0, 'every surviving item (moved or not) has its bytes intact');
  t.equal(onStolen, 0, 'no surviving small item lives on a stolen page');
  t.equal(h.problems, 0, 'relocator saw consistent refs and classes');
}

t.test('steal: full cap of small items, scattered frees, then a bigger class steals pages (moves)', async (t) => {
  const a = new SlabArena({ maxBytes: BLOCK_SIZE });
  const h = new Harness(a, 200_000);
  while (h.put(64) !== 0) { /* fill */ }
  t.equal(h.live, BLOCK_PAGES * PER64, 'cap filled with 64-byte chunks');
  t.equal(a.pageBytes, BLOCK_SIZE);
  // Scattered frees: ~85% of the items on every page, 30% on pages 2 and 3.
  const r = rng(7);
  for (let id = 1; id < h.nextId; id++) {
    const page = h.refOf[id]! >>> PAGE_SHIFT;
    if (r() < (page === P0 + 1 || page === P0 + 2 ? 0.3 : 0.85)) h.drop(id);
  }
  t.equal(a.stats().sparePages, 0, 'no page emptied by the frees');
  const smallIds = h.nextId;
  const before = snapshot(h, smallIds);
  // 3000-byte items: 4 pages worth. Every alloc must succeed by stealing.
  const bigClass = a.classSizes.find((c) => c >= 3000)!;
  const bigPer = Math.floor(PAGE_SIZE / bigClass);
  const bigIds: number[] = [];
  for (let i = 0; i < 4 * bigPer; i++) {
    const id = h.put(3000);
    if (id === 0) break;
    bigIds.push(id);
  }
  t.equal(bigIds.length, 4 * bigPer, 'every big alloc succeeded (4 pages stolen)');
  t.equal(a.pageBytes, BLOCK_SIZE, 'cap respected');
  t.equal(a.stats().pagesReassigned, 4, '4 pages reassigned');
  const stolen = new Set(bigIds.map((id) => h.refOf[id]! >>> PAGE_SHIFT));
  t.equal(stolen.size, 4, 'big items live on 4 pages');
  t.notOk(stolen.has(P0 + 1) || stolen.has(P0 + 2), 'the fuller pages were not chosen');
  checkSteal(t, h, before, stolen);
  t.ok(h.movedCalls.length > 0, `items moved: ${h.movedCalls.length}`);
  t.equal(h.evictCalls.length, 0, 'room elsewhere: nothing evicted');
  let badBig = 0;
  for (const id of bigIds) if (!h.intact(id) || a.chunkSize(h.refOf[id]!) !== bigClass) badBig++;
  t.equal(badBig, 0, 'big items intact: no chunk handed out twice');
  t.equal(a.usedBytes, h.usedBytes(), 'usedBytes exact');
  const st = a.stats();
  t.equal(st.classes.find((c) => c.size === 64)!.pages, BLOCK_PAGES - 4);
  t.equal(st.classes.find((c) => c.size === bigClass)!.pages, 4);
  t.equal(st.itemsMoved, h.movedCalls.length);
});

t.test('steal: no room elsewhere -> evict; part room -> move some, evict the rest', async (t) => {
  const a = new SlabArena({ maxBytes: BLOCK_SIZE });
  const h = new Harness(a, 200_000);
  while (h.put(64) !== 0) { /* fill */ }
  // The first page keeps 100 live items, the second loses 30; the rest stay full.
  let freedP2 = 0;
  for (let id = 1; id < h.nextId; id++) {
    const page = h.refOf[id]! >>> PAGE_SHIFT;
    if (page === P0 && id > 100) h.drop(id);
    else if (page === P0 + 1 && freedP2 < 30) { h.drop(id); freedP2++; }
  }
  const before = snapshot(h, h.nextId);
  const id = h.put(3000);
  t.not(id, 0, 'big alloc succeeded');
  t.equal(h.refOf[id]! >>> PAGE_SHIFT, P0, 'the emptiest page was stolen');
  checkSteal(t, h, before, new Set([P0]));
  t.equal(h.movedCalls.length, 30, '30 moved into the free chunks of page 2');
  t.equal(h.evictCalls.length, 70, 'the other 70 evicted');
  t.equal(a.usedBytes, h.usedBytes(), 'usedBytes exact');
  t.equal(a.stats().itemsEvicted, 70);

  // Now page 2 is full again and every 64-byte page is full: the next steal evicts a whole page.
  h.movedCalls.length = 0;
  h.evictCalls.length = 0;
  const bigClass = a.classSizes.find((c) => c >= 3000)!;
  const bigPer = Math.floor(PAGE_SIZE / bigClass);
  for (let i = 1; i < bigPer; i++) t.not(h.put(3000), 0);
  t.equal(h.evictCalls.length + h.movedCalls.length, 0, 'the stolen page serves the rest of its chunks');
  const before2 = snapshot(h, h.nextId);
  const id2 = h.put(3000);
  t.not(id2, 0);
  t.equal(h.movedCalls.length, 0, 'nowhere to move');
  t.equal(h.evictCalls.length, PER64, 'a whole page of 64-byte items evicted');
  checkSteal(t, h, before2, new Set([h.refOf[id2]! >>> PAGE_SHIFT]));
  t.equal(a.usedBytes, h.usedBytes(), 'usedBytes exact');
});

t.test('steal: keep page is never chosen; no relocator -> 0; one class only -> 0', async (t) => {
  const a = new SlabArena({ maxBytes: BLOCK_SIZE });
  t.equal(a.alloc(BLOCK_SIZE * 2), 0, 'large object over the cap, nothing to steal');
  const h = new Harness(a, 100_000);
  while (h.put(64) !== 0) { /* fill: one class owns every page -> nothing to steal for itself */ }
  t.equal(a.stats().pagesReassigned, 0);
  // Page 1 is the emptiest, but the caller keeps a Ref on it.
  for (let id = 2; id < h.nextId; id++) if (h.refOf[id]! >>> PAGE_SHIFT === P0) h.drop(id);
  const keep = h.refOf[1]!;
  t.equal(keep >>> PAGE_SHIFT, P0);
  const id = h.put(3000, keep);
  t.not(id, 0);
  t.not(h.refOf[id]! >>> PAGE_SHIFT, P0, 'the page holding `keep` was not stolen');
  t.equal(h.refOf[1], keep, 'kept item did not move');
  t.ok(h.intact(1));
  a.setRelocator(null);
  const bigClass = a.classSizes.find((c) => c >= 3000)!;
  for (let i = 1; i < Math.floor(PAGE_SIZE / bigClass); i++) t.not(a.alloc(3000), 0);
  t.equal(a.alloc(3000), 0, 'without a relocator the cap is hard');
  t.equal(a.alloc(5000), 0);
  t.equal(a.alloc(100_000), 0, 'large object: no spare block, no relocator');
  a.setRelocator(h);
  t.equal(a.alloc(100_000, keep), 0, 'large object: the only block holds `keep`');
});

t.test('large object at the cap: the cheapest whole block is emptied and dropped', async (t) => {
  const a = new SlabArena({ maxBytes: 2 * BLOCK_SIZE });
  const h = new Harness(a, 100_000);
  while (h.put(64) !== 0) { /* fill two blocks */ }
  t.equal(a.pageBytes, 2 * BLOCK_SIZE);
  const r = rng(5);
  const B2 = 2 * BLOCK_PAGES;
  for (let id = 1; id < h.nextId; id++) {
    const page = h.refOf[id]! >>> PAGE_SHIFT;
    if (page >= B2 ? r() < 0.9 : r() < 0.05) h.drop(id);
  }
  const before = snapshot(h, h.nextId);
  const big = h.put(300_000);
  t.not(big, 0, 'large alloc succeeded');
  t.equal(h.refOf[big]! >>> PAGE_SHIFT, B2, 'it reuses the id of the emptied block');
  t.equal(a.pageBytes, BLOCK_SIZE + Math.ceil(300_000 / LARGE_ALIGN) * LARGE_ALIGN, 'block dropped, large SAB added');
  t.ok(a.stats().pagesReleased >= BLOCK_PAGES);
  let lost = 0;
  let damaged = 0;
  for (let id = 1; id < before.length; id++) {
    if (before[id] === 0) continue;
    const wasB2 = before[id]! >>> PAGE_SHIFT >= B2;
    if (h.refOf[id] === 0) { if (!wasB2) lost++; continue; }
    if (!h.intact(id)) damaged++;
    if (h.refOf[id]! >>> PAGE_SHIFT >= B2) damaged++;
  }
  t.equal(lost, 0, 'only items of the emptied block were evicted');
  t.equal(damaged, 0, 'survivors intact and outside the dropped block');
  t.ok(h.movedCalls.length > 0, 'holes in the other block were used');
  t.ok(h.intact(big));
  t.equal(a.usedBytes, h.usedBytes(), 'usedBytes exact');
  t.equal(h.problems, 0);
});

t.test('empty pages: released to the spare list, whole blocks dropped, and reused', async (t) => {
  const a = new SlabArena();
  const h = new Harness(a, 400_000);
  for (let i = 0; i < 40 * PER64; i++) h.put(64);
  t.equal(a.pageBytes, 3 * BLOCK_SIZE, '40 pages come in 3 blocks');
  t.equal(a.stats().sparePages, 8);
  // free everything, in a scattered order
  const r = rng(3);
  const ids = Array.from({ length: h.nextId - 1 }, (_, i) => i + 1);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  for (const id of ids.slice(0, ids.length - PER64 / 2)) h.drop(id);
  t.equal(a.stats().sparePages, 8, 'scattered frees leave every page with live items');
  for (const id of ids.slice(ids.length - PER64 / 2)) h.drop(id);
  let st = a.stats();
  t.equal(a.usedBytes, 0);
  t.ok(a.pageBytes <= 2 * BLOCK_SIZE, 'at least one block dropped at once');
  a.rebalanceStep(0);
  st = a.stats();
  t.equal(st.sparePages, 16, 'spare list trimmed to sparePages');
  t.equal(st.pagesReleased, 32, 'two blocks dropped');
  t.equal(a.pageBytes, BLOCK_SIZE, 'pageBytes dropped to one spare block');
  t.equal(st.classes.find((c) => c.size === 64)!.pages, 0);
  t.equal(st.classes.find((c) => c.size === 64)!.freeChunks, 0, 'free list emptied with the pages');
  t.equal(a.page(P0), undefined, 'spare/dropped pages are not posted to readers');
  // another class reuses the spare pages without new SABs
  const bigClass = a.classSizes.find((c) => c >= 3000)!;
  const bigPer = Math.floor(PAGE_SIZE / bigClass);
  const big: number[] = [];
  for (let i = 0; i < 16 * bigPer; i++) big.push(h.put(3000));
  st = a.stats();
  t.equal(st.sparePages, 0);
  t.equal(a.pageBytes, BLOCK_SIZE, 'spare pages reused');
  let bad = 0;
  for (const id of big) if (!h.intact(id)) bad++;
  t.equal(bad, 0);
  // recycled page: versions are even
  for (const id of big) if ((a.i32(h.refOf[id]!)[a.off(h.refOf[id]!) >> 2]! & 1) !== 0) bad++;
  t.equal(bad, 0, 'chunks carved from a recycled page have an even version');
  const next = h.put(64);
  t.ok(h.refOf[next]! >>> PAGE_SHIFT < 4 * BLOCK_PAGES, 'dropped block id reused');
  t.equal(a.pageBytes, 2 * BLOCK_SIZE);
  t.equal(a.pageByteOffset(h.refOf[next]! >>> PAGE_SHIFT) % PAGE_SIZE, 0);
  t.equal(a.u8(h.refOf[next]!).byteOffset, a.pageByteOffset(h.refOf[next]! >>> PAGE_SHIFT), 'page view starts at pageByteOffset');
  // no spare pool
  const b = new SlabArena({ sparePages: 0 });
  const x = b.alloc(64);
  b.free(x);
  t.equal(b.pageBytes, 0, 'sparePages 0: an empty block is dropped at once');
});

t.test('rebalanceStep: compacts a class with more than a page free, within budget', async (t) => {
  const a = new SlabArena({ sparePages: 0 });
  const h = new Harness(a, 200_000);
  for (let i = 0; i < 6 * PER64; i++) h.put(64);
  const r = rng(11);
  for (let id = 1; id < h.nextId; id++) if (r() < 0.7) h.drop(id);
  t.equal(a.stats().classes.find((c) => c.size === 64)!.pages, 6);
  const before = snapshot(h, h.nextId);
  t.equal(a.rebalanceStep(100), 0, 'budget below the emptiest page live count: no work');
  t.equal(h.movedCalls.length, 0);
  let steps = 0;
  let moved = 0;
  for (;;) {
    const m = a.rebalanceStep(PER64);
    if (m === 0) break;
    moved += m;
    steps++;
  }
  t.ok(steps >= 3, `${steps} pages compacted`);
  t.equal(moved, h.movedCalls.length);
  t.equal(h.evictCalls.length, 0, 'rebalanceStep never evicts');
  t.equal(a.stats().classes.find((c) => c.size === 64)!.pages, 6 - steps, 'compacted pages left the class');
  t.equal(a.stats().sparePages, BLOCK_PAGES - 6 + steps, 'and are spare');
  const freeLeft = a.stats().classes.find((c) => c.size === 64)!.freeChunks;
  t.ok(freeLeft < PER64, `less than a page worth free left (${freeLeft})`);
  let damaged = 0;
  for (let id = 1; id < before.length; id++) if (h.refOf[id] !== 0 && !h.intact(id)) damaged++;
  t.equal(damaged, 0, 'moved items intact');
  t.equal(a.usedBytes, h.usedBytes(), 'usedBytes exact');
  t.equal(h.problems, 0);
  for (let id = 1; id < h.nextId; id++) if (h.refOf[id] !== 0) h.drop(id);
  t.equal(a.pageBytes, 0, 'all pages spare: block dropped (sparePages 0)');
});

/**
 * Churn simulation (a small model of the maxmemory issue): cap 64 MiB, 16-byte keys,
 * values uniform 10..1000 then 2000..4000, "allkeys-lru" as evict-oldest whenever
 * usedBytes would pass `budget` or alloc returns 0, and rebalanceStep on a "timer".
 * budget = CAP: the arena cap is hit first, so page steals do the evicting.
 * budget = 0.95 CAP: the keyspace evicts by LRU first (as Redis maxmemory would with the
 * arena cap a little above it); steals then only move items into holes.
 */
function churn(t: Test, budgetFrac: number): void {
  const CAP = 64 * 1024 * 1024;
  const budget = CAP * budgetFrac;
  const a = new SlabArena({ maxBytes: CAP });
  const phase1 = 400_000;
  const phase2 = 200_000;
  const h = new Harness(a, phase1 + phase2 + 10);
  h.record = false;
  let oldest = 1;
  let lru = 0;
  const evictOldest = (): boolean => {
    while (oldest < h.nextId && h.refOf[oldest] === 0) oldest++;
    if (oldest >= h.nextId) return false;
    h.drop(oldest++);
    lru++;
    return true;
  };
  const r = rng(42);
  let failed = 0;
  const run = (ops: number, lo: number, hi: number): void => {
    for (let i = 0; i < ops; i++) {
      const need = ITEM_HEADER + 16 + lo + Math.floor(r() * (hi - lo + 1));
      while (a.usedBytes + need > budget && evictOldest()) { /* maxmemory */ }
      while (h.put(need) === 0) {
        if (!evictOldest()) { failed++; break; }
      }
      if (i % 1000 === 999) a.rebalanceStep(4096);
    }
  };
  const line = (name: string): string => {
    const st = a.stats();
    return `budget ${budgetFrac} ${name}: pageBytes ${(a.pageBytes / 2 ** 20).toFixed(1)} MiB, used ${(a.usedBytes / 2 ** 20).toFixed(1)} MiB, ` +
      `ratio ${(a.pageBytes / a.usedBytes).toFixed(3)}, reassigned ${st.pagesReassigned}, moved ${st.itemsMoved}, ` +
      `evicted by arena ${st.itemsEvicted}, by LRU ${lru}, spare ${st.sparePages}`;
  };
  run(phase1, 10, 1000);
  const r1 = a.pageBytes / a.usedBytes;
  const l1 = line('phase 1 (10..1000 B)');
  run(phase2, 2000, 4000);
  const r2 = a.pageBytes / a.usedBytes;
  const s2 = a.stats();
  t.comment(l1);
  t.comment(line('phase 2 (2000..4000 B)'));
  t.equal(failed, 0, 'every SET eventually succeeded');
  t.ok(a.pageBytes <= CAP, 'cap respected');
  t.ok(r1 <= 1.1, `phase 1 frag ratio ${r1.toFixed(3)} <= 1.10`);
  t.ok(r2 <= 1.1, `phase 2 frag ratio ${r2.toFixed(3)} <= 1.10`);
  t.ok(s2.pagesReassigned > 0, 'pages moved to the new classes');
  const small = s2.classes.filter((c) => c.size < 1100).reduce((n, c) => n + c.pages, 0);
  t.ok(small * PAGE_SIZE <= 0.05 * CAP, `few pages left in the old small classes (${small})`);
  if (budgetFrac < 1) t.ok(s2.itemsEvicted < lru / 100, `arena evictions (${s2.itemsEvicted}) < 1% of LRU evictions (${lru})`);
  t.equal(a.usedBytes, h.usedBytes(), 'usedBytes exact');
  let damaged = 0;
  for (let id = oldest; id < h.nextId; id++) if (h.refOf[id] !== 0 && !h.intact(id)) damaged++;
  t.equal(damaged, 0, 'all live items intact');
  t.equal(h.problems, 0);
}

t.test('churn, arena cap hit first: pageBytes/usedBytes stays <= 1.10', async (t) => churn(t, 1));
t.test('churn, LRU at 95% of the cap: pageBytes/usedBytes <= 1.10, arena rarely evicts', async (t) => churn(t, 0.95));
