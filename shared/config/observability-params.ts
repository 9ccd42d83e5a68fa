/**
 * CONFIG GET / CONFIG SET parameters of the proxy's observability (docs/observability.md):
 * slowlog-log-slower-than, slowlog-max-len and latency-tracking, named, ranged and
 * worded as in Redis 7. Workers hold them too (the proxy forwards CONFIG SET to every
 * worker, which must accept it), but only the proxy acts on them.
 */
import type { Param } from './param.js';

const LLONG_MAX = 9223372036854775807n;

/**
 * Redis's string2ll: an optional '-', no '+', no spaces, no leading zeros. Returns
 * the value as a bigint (exact up to LLONG_MAX), or null.
 */
function parseLongLong(v: string): bigint | null {
  if (!/^(0|-?[1-9]\d*)$/.test(v)) return null;
  const n = BigInt(v);
  return n > LLONG_MAX || n < -LLONG_MAX - 1n ? null : n;
}

/**
 * A 64-bit integer setting. The text as set is kept for CONFIG GET (a JS number cannot
 * spell 9223372036854775807); the config field gets the number, clamped to the safe
 * integer range (a threshold of 2^53 µs is already "never").
 */
function longParam(name: string, key: 'slowlogLogSlowerThan' | 'slowlogMaxLen', min: bigint): Param {
  return {
    name,
    get: (rc) => rc.values.get(name) ?? String(rc.config[key]),
    set: (rc, v) => {
      const n = parseLongLong(v);
      if (n === null) return "argument couldn't be parsed into an integer";
      if (n < min) return `argument must be between ${min} and ${LLONG_MAX} inclusive`;
      rc.config[key] = Number(n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : n);
      rc.values.set(name, String(n));
      return undefined;
    },
  };
}

export const OBSERVABILITY_PARAMS: readonly Param[] = [
  longParam('slowlog-log-slower-than', 'slowlogLogSlowerThan', -1n),
  longParam('slowlog-max-len', 'slowlogMaxLen', 0n),
  {
    name: 'latency-tracking',
    get: (rc) => rc.config.latencyTracking,
    set: (rc, v) => {
      const b = v.toLowerCase();
      if (b !== 'yes' && b !== 'no') return "argument must be 'yes' or 'no'";
      rc.config.latencyTracking = b;
      return undefined;
    },
  },
];
