import t from 'tap';
import { SlabArena, computeClassSizes } from '../../../shard/arena/slab-arena.js';
import {
  ITEM_TYPE,
  ITEM_VERSION,
  LARGE_ALIGN,
  MAX_ALLOC_BYTES,
  MAX_CLASS_SIZE,
  MAX_PAGE_ID,
  PAGE_SIZE,
  TYPE_FREE,
  TYPE_STRING,
  TYPE_UNSET,
  ITEM_HEADER,
} from '../../../shard/arena/layout.js';

/** Deterministic PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

t.test('class sizes: 48 .. PAGE_SIZE/2, multiples of 8, growth <= factor', async (t) => {
  const a = new SlabArena();
  const s = a.classSizes;
  t.equal(s[0], 48);
  t.equal(s[s.length - 1], MAX_CLASS_SIZE);
  t.equal(MAX_CLASS_SIZE, PAGE_SIZE / 2);
  let bad = 0;
  for (let i = 0; i < s.length; i++) {
    const size = s[i]!;
    if (size % 8 !== 0) bad++;
    if (i > 0) {
      const prev = s[i - 1]!;
      if (!(size > prev)) bad++;
      // rounding up to 8 may exceed 1.25x by < 8 bytes, except the pinned last class
      if (i < s.length - 1 && size > Math.ceil(prev * 1.25) + 8) bad++;
    }
  }
  t.equal(bad, 0, 'every class is 8-aligned, increasing, and grows by ~1.25');
  t.same(computeClassSizes(64, 2).slice(0, 4), [64, 128, 256, 512]);
  t.throws(() => new SlabArena({ growthFactor: 1 }), RangeError);
  t.throws(() => new SlabArena({ minChunk: 8 }), RangeError);
  t.match(a.describeClasses(), /class\s+1: chunk size\s+48 perslab 21845/);
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
  t.equal(st.pageBytes, pages * PAGE_SIZE + st.largeBytes, 'pageBytes = pages + large pages');
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
  t.equal(a.alloc(90), x, 'same class reuses the freed chunk');
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
  t.equal(r3 % PAGE_SIZE, 0, 'a large Ref addresses offset 0 of its page');
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
  const a = new SlabArena({ maxBytes: 4 * PAGE_SIZE });
  const perPage = Math.floor(PAGE_SIZE / 64);
  const refs: number[] = [];
  for (;;) {
    const r = a.alloc(64);
    if (r === 0) break;
    refs.push(r);
    if (refs.length > 10 * perPage) break;
  }
  t.equal(refs.length, 4 * perPage, 'exactly 4 pages of 64-byte chunks');
  t.equal(a.pageBytes, 4 * PAGE_SIZE);
  t.equal(a.alloc(1000), 0, 'another class needs a page: refused');
  t.equal(a.alloc(3 * PAGE_SIZE), 0, 'large object over the cap: refused');
  a.free(refs.pop()!);
  t.not(a.alloc(60), 0, 'freed chunk satisfies the next alloc');
  t.equal(a.alloc(64), 0);
  const st = a.stats();
  const c64 = st.classes.find((c) => c.size === 64)!;
  t.equal(c64.pages, 4);
  t.equal(c64.usedChunks, 4 * perPage);
  t.equal(c64.freeChunks, 0);
});

t.test('page table exhaustion returns 0 without throwing', async (t) => {
  const a = new SlabArena();
  let n = 0;
  // 2 chunks per page in the last class: MAX_PAGE_ID pages, then 0.
  for (;;) {
    const r = a.alloc(MAX_CLASS_SIZE);
    if (r === 0) break;
    n++;
  }
  t.equal(n, 2 * MAX_PAGE_ID);
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
  t.equal(r, PAGE_SIZE, 'first page id is 1 again');
  t.equal(a.usedBytes, a.chunkSize(r));
});
