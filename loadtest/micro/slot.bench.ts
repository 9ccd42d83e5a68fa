/**
 * Micro-benchmark: keySlot() over 100k keys shaped like real ones (`user:<n>:profile`,
 * a third with a `{hash tag}`). Prints `slot ops_per_sec=N` (median of 5 runs after a
 * warm-up). Time is this process's CPU time, so a busy machine skews it less.
 */
import { keySlot } from '../../shared/cluster/slot.js';

const KEYS = 100_000;
const PASSES = 20;
const RUNS = 5;

const keys: Buffer[] = [];
for (let i = 0; i < KEYS; i++) {
  keys.push(Buffer.from(i % 3 === 0 ? `{user:${i}}:followers` : `user:${i}:profile`, 'latin1'));
}

/** Hashes every key PASSES times; returns a checksum so the work cannot be elided. */
function hashAll(): number {
  let sum = 0;
  for (let pass = 0; pass < PASSES; pass++) {
    for (let i = 0; i < KEYS; i++) sum += keySlot(keys[i]!);
  }
  return sum;
}

for (let i = 0; i < 3; i++) hashAll(); // warm-up
const rates: number[] = [];
let check = 0;
for (let run = 0; run < RUNS; run++) {
  const start = process.cpuUsage();
  check = (check + hashAll()) % 1_000_000_007;
  const used = process.cpuUsage(start);
  const ns = (used.user + used.system) * 1000;
  rates.push((KEYS * PASSES * 1e9) / ns);
}
rates.sort((a, b) => a - b);
if (check === -1) console.error('unreachable'); // keeps `check` live
console.log(`slot ops_per_sec=${Math.round(rates[RUNS >> 1]!)}`);
