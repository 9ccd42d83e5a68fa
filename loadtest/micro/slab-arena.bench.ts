/**
 * Micro-benchmark: SlabArena.alloc + free, one pair per op, sizes 40..1040 bytes
 * (typical small string items). Steady state: a working set of 10k live chunks, so
 * alloc mostly pops a free list. Prints `slab-arena.alloc-free ops_per_sec=N`.
 *
 *   node dist/loadtest/micro/slab-arena.bench.js
 */
import { SlabArena } from '../../shard/arena/slab-arena.js';

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
