/**
 * Micro-benchmark: HashIndex.find on hits, 1M keys of ~12 bytes (key:NNNNNN) stored
 * in a SlabArena; hash precomputed (the caller computes hashKey once per command).
 * Keys are visited in random order, so this is dominated by cache misses on the
 * table, the item and the key Buffer, as a large cache would be. Prints
 * `hash-index.find ops_per_sec=N`.
 *
 *   node dist/loadtest/micro/hash-index.bench.js
 */
import { SlabArena } from '../../shard/arena/slab-arena.js';
import { HashIndex, hashKey } from '../../shard/index/hash-index.js';
import { ITEM_HASH, ITEM_HEADER, ITEM_KEYLEN } from '../../shard/arena/layout.js';

const N = Number(process.env.BENCH_KEYS ?? 1_000_000);
const LOOKUPS = 2_000_000;
const arena = new SlabArena();
const index = new HashIndex(arena);
const keys: Buffer[] = [];
const hashes = new Uint32Array(N);
for (let i = 0; i < N; i++) {
  const k = Buffer.from(`key:${String(i).padStart(6, '0')}`, 'latin1');
  const h = hashKey(k, 0, k.length);
  const ref = arena.alloc(ITEM_HEADER + k.length + 8);
  const off = arena.off(ref);
  arena.i32(ref)[(off + ITEM_KEYLEN) >> 2] = k.length;
  arena.i32(ref)[(off + ITEM_HASH) >> 2] = h | 0;
  arena.u8(ref).set(k, off + ITEM_HEADER);
  index.insert(h, ref);
  keys.push(k);
  hashes[i] = h;
}
while (index.resizeStep(1 << 16));
const order = new Int32Array(LOOKUPS);
let seed = 7;
for (let i = 0; i < LOOKUPS; i++) {
  seed = (Math.imul(seed, 1103515245) + 12345) | 0;
  order[i] = (seed >>> 1) % N;
}

function timeIt(fn: () => number): number {
  const t0 = process.hrtime.bigint();
  const sink = fn();
  const ns = Number(process.hrtime.bigint() - t0);
  if (sink === -1) console.log('unreachable');
  return LOOKUPS / (ns / 1e9);
}

function findLoop(): number {
  let misses = 0;
  for (let i = 0; i < LOOKUPS; i++) {
    const j = order[i]!;
    if (index.find(keys[j]!, hashes[j]!) === 0) misses++;
  }
  if (misses !== 0) throw new Error(`${misses} misses`);
  return misses;
}

function median(fn: () => number): number {
  timeIt(fn); // warm-up
  const r: number[] = [];
  for (let i = 0; i < 5; i++) r.push(timeIt(fn));
  r.sort((a, b) => a - b);
  return Math.round(r[2]!);
}

console.log(`hash-index.find ops_per_sec=${median(findLoop)}`);
