// Rates and percentiles from two successive samples of /dashboard/data (see
// proxy/dashboard/dashboard.ts for the feed's shape). The feed's counters are
// cumulative and given per source: per proxy process (keyed by pid) and per worker
// (keyed by endpoint). Each source is diffed on its own and only when it is in both
// samples, so a process or worker that misses a sample, restarts (new pid) or has its
// counters reset (CONFIG RESETSTAT: the difference is negative) is left out of that
// interval instead of producing a negative or huge rate. Pure functions, no DOM: the
// integration test imports this module in Node too.

/** Positive difference of two counters, or null when either is missing or it went backwards. */
function delta(a, b) {
  if (typeof a !== 'number' || typeof b !== 'number') return null;
  const d = b - a;
  return d >= 0 ? d : null;
}

/**
 * Quantile q (0..1) of a histogram given as counts per bucket; bucket b covers
 * (bounds[b-1], bounds[b]] (bucket 0 from 0, the last one, past the bounds, is open).
 * Linear interpolation inside the bucket, as Prometheus's histogram_quantile does, so
 * the estimate is only as fine as the buckets (powers of two). null when empty.
 */
export function quantile(counts, bounds, q) {
  let total = 0;
  for (const c of counts) total += c;
  if (total <= 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let b = 0; b < counts.length; b++) {
    const c = counts[b];
    if (c <= 0) continue;
    if (seen + c >= rank) {
      const lower = b === 0 ? 0 : bounds[b - 1];
      if (b >= bounds.length) return lower; // open bucket: at least its lower bound
      const upper = bounds[b];
      return lower + ((upper - lower) * Math.max(0, rank - seen)) / c;
    }
    seen += c;
  }
  return bounds[bounds.length - 1];
}

/**
 * What happened between two samples. Returns null when they cannot be compared
 * (no previous sample, or time did not move forward).
 *
 *   seconds              interval length
 *   ops[family]          replies per second, per command family
 *   totalOps, errorsPerSec
 *   p50Us, p99Us         latency estimates over the interval (null: no commands timed)
 *   hitRatio             keyspace hits / (hits + misses) in the interval (null: no lookups)
 *   evictedPerSec, expiredPerSec
 */
export function interval(prev, cur) {
  if (!prev || !cur) return null;
  const seconds = (cur.time - prev.time) / 1000;
  if (!(seconds > 0)) return null;

  const ops = {};
  for (const f of cur.families) ops[f] = 0;
  let errors = 0;
  const buckets = new Array(cur.latencyBoundsUs.length + 1).fill(0);
  const before = new Map(prev.processes.map((p) => [p.pid, p]));
  for (const p of cur.processes) {
    const old = before.get(p.pid);
    if (!old) continue;
    for (const f of cur.families) {
      const d = delta(old.families[f]?.calls ?? 0, p.families[f]?.calls ?? 0);
      if (d !== null) ops[f] += d / seconds;
      const e = delta(old.families[f]?.errors ?? 0, p.families[f]?.errors ?? 0);
      if (e !== null) errors += e / seconds;
    }
    for (let b = 0; b < buckets.length; b++) {
      const d = delta(old.latencyBuckets[b] ?? 0, p.latencyBuckets[b] ?? 0);
      if (d !== null) buckets[b] += d;
    }
  }
  let totalOps = 0;
  for (const f of cur.families) totalOps += ops[f];

  let hits = 0;
  let misses = 0;
  let evicted = 0;
  let expired = 0;
  const workersBefore = new Map(prev.workers.map((w) => [w.endpoint, w]));
  for (const w of cur.workers) {
    const old = workersBefore.get(w.endpoint);
    if (!old || !old.up || !w.up) continue;
    hits += delta(old.keyspaceHits, w.keyspaceHits) ?? 0;
    misses += delta(old.keyspaceMisses, w.keyspaceMisses) ?? 0;
    evicted += delta(old.evictedKeys, w.evictedKeys) ?? 0;
    expired += delta(old.expiredKeys, w.expiredKeys) ?? 0;
  }

  return {
    time: cur.time,
    seconds,
    ops,
    totalOps,
    errorsPerSec: errors,
    p50Us: quantile(buckets, cur.latencyBoundsUs, 0.5),
    p99Us: quantile(buckets, cur.latencyBoundsUs, 0.99),
    hitRatio: hits + misses > 0 ? hits / (hits + misses) : null,
    evictedPerSec: evicted / seconds,
    expiredPerSec: expired / seconds,
  };
}

/** Inclusive slot ranges as text: "0-8191, 10000". */
export function slotText(ranges) {
  if (!ranges || ranges.length === 0) return '–';
  return ranges.map(([a, b]) => (a === b ? String(a) : `${a}-${b}`)).join(', ');
}

/** Bytes for people: 1.5 MiB. */
export function bytesText(n) {
  if (typeof n !== 'number') return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  let v = n;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

/** A rate or count for people: 1234 → "1,234", 12.5 → "12.5", 1.2e6 → "1.20 M". */
export function countText(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–';
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 100) return Math.round(n).toLocaleString('en-US');
  if (n === 0) return '0';
  return n.toFixed(1);
}

/** Microseconds for people: 85 µs, 1.25 ms, 2.1 s. */
export function durationText(us) {
  if (typeof us !== 'number' || !Number.isFinite(us)) return '–';
  if (us < 1000) return `${Math.round(us)} µs`;
  if (us < 1e6) return `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)} ms`;
  return `${(us / 1e6).toFixed(2)} s`;
}
