/**
 * Micro-benchmarks for SlabArena.
 *
 * 1. `slab-arena.alloc-free`: alloc + free, one pair per op, sizes 40..1040 bytes
 *    (typical small string items). Steady state: a working set of 10k live chunks,
 *    so alloc mostly pops a free list (no cap, no stealing).
 * 2. `slab-arena.capped-drift`: the memory-engine path. Cap 32 MiB, a relocator that
 *    keeps a ref table current, FIFO eviction when usedBytes would pass the cap or
 *    alloc returns 0, rebalanceStep(4096) every 1000 ops; sizes 58..1048 for the first
 *    half, 2048..4048 after (value sizes drift), so alloc steals and re-carves pages.
 *    Prints ops/s (timing every alloc adds ~50 ns/op), p99.9 and max of single alloc
 *    times (max includes GC pauses), pages stolen, and pageBytes/usedBytes after each half.
 *
 *   node dist/loadtest/micro/slab-arena.bench.js
 */
import { SlabArena } from '../../shard/arena/slab-arena.js';
import { ITEM_HEADER, ITEM_TYPE, TYPE_STRING } from '../../shard/arena/layout.js';

const OPS = 2_000_000;
const LIVE = 10_000;
const arena = new SlabArena();
const sizes = new Int32Array(OPS);
let seed = 1;
for (let i = 0; i < OPS; i++) {
  seed = (Math.imul(seed, 1103515245) + 12345) | 0;
  sizes[i] = 40 + ((seed >>> 8) % 1000);
}
const live = new Int32Array(LIVE);
for (let i = 0; i < LIVE; i++) live[i] = arena.alloc(sizes[i]!);

function run(): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < OPS; i++) {
    const slot = i % LIVE;
    arena.free(live[slot]!);
    live[slot] = arena.alloc(sizes[i]!);
  }
  const ns = Number(process.hrtime.bigint() - t0);
  return OPS / (ns / 1e9);
}

run(); // warm-up
const results: number[] = [];
for (let r = 0; r < 5; r++) results.push(run());
results.sort((a, b) => a - b);
console.log(`slab-arena.alloc-free ops_per_sec=${Math.round(results[2]!)}`);

// --- capped, drifting sizes, stealing ------------------------------------------------

const CAP = 32 * 1024 * 1024;
const DRIFT_OPS = 600_000;
const capped = new SlabArena({ maxBytes: CAP });
const refOf = new Int32Array(DRIFT_OPS + 1);
const idAt = (ref: number): number => capped.i32(ref)[(capped.off(ref) + ITEM_HEADER) >> 2]!;
capped.setRelocator({
  moved(_old, ref) {
    refOf[idAt(ref)] = ref;
  },
  evict(ref) {
    refOf[idAt(ref)] = 0;
  },
});
let oldest = 1;
let nextId = 1;
function evictOldest(): boolean {
  while (oldest < nextId && refOf[oldest] === 0) oldest++;
  if (oldest >= nextId) return false;
  capped.free(refOf[oldest]!);
  refOf[oldest++] = 0;
  return true;
}
const allocNs = new Float64Array(DRIFT_OPS * 2);
let nAlloc = 0;
const ratios: string[] = [];
const t0 = process.hrtime.bigint();
for (let i = 0; i < DRIFT_OPS; i++) {
  seed = (Math.imul(seed, 1103515245) + 12345) | 0;
  const need = i < DRIFT_OPS / 2 ? 58 + ((seed >>> 8) % 991) : 2048 + ((seed >>> 8) % 2001);
  while (capped.usedBytes + need > CAP && evictOldest()) { /* maxmemory */ }
  let ref = 0;
  for (;;) {
    const a0 = process.hrtime.bigint();
    ref = capped.alloc(need);
    if (nAlloc < allocNs.length) allocNs[nAlloc++] = Number(process.hrtime.bigint() - a0);
    if (ref !== 0 || !evictOldest()) break;
  }
  if (ref === 0) throw new Error('capped bench: alloc failed with nothing left to evict');
  const off = capped.off(ref);
  capped.u8(ref)[off + ITEM_TYPE] = TYPE_STRING;
  capped.i32(ref)[(off + ITEM_HEADER) >> 2] = nextId;
  refOf[nextId++] = ref;
  if (i % 1000 === 999) capped.rebalanceStep(4096);
  if (i === DRIFT_OPS / 2 - 1 || i === DRIFT_OPS - 1) ratios.push((capped.pageBytes / capped.usedBytes).toFixed(3));
}
const driftNs = Number(process.hrtime.bigint() - t0);
const st = capped.stats();
const times = allocNs.subarray(0, nAlloc).sort();
const p999 = times[Math.floor(nAlloc * 0.999)]!;
const max = times[nAlloc - 1]!;
console.log(`slab-arena.capped-drift ops_per_sec=${Math.round(DRIFT_OPS / (driftNs / 1e9))} ` +
  `alloc_p999_us=${(p999 / 1000).toFixed(1)} alloc_max_us=${(max / 1000).toFixed(0)} frag_ratio=${ratios.join('/')} ` +
  `pages_reassigned=${st.pagesReassigned} items_moved=${st.itemsMoved} items_evicted=${st.itemsEvicted}`);
