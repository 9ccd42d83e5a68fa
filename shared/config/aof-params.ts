/**
 * CONFIG GET / CONFIG SET parameters of the append-only log (docs/persistence.md),
 * named and worded as Redis 7. The proxy forwards CONFIG SET to every worker, which
 * acts on them (shard/persistence/aof.ts: `appendonly yes` at run time starts a log
 * with a base of the current data, as Redis does). `appendfilename` and
 * `appenddirname` are start-up config only (immutable, as Redis).
 */
import type { Param } from './param.js';

function yesNo(name: string, key: 'appendonly' | 'aofLoadTruncated'): Param {
  return {
    name,
    get: (rc) => rc.config[key],
    set: (rc, v) => {
      const b = v.toLowerCase();
      if (b !== 'yes' && b !== 'no') return "argument must be 'yes' or 'no'";
      rc.config[key] = b;
      return undefined;
    },
  };
}

const FSYNC = ['always', 'everysec', 'no'] as const;

export const AOF_PARAMS: readonly Param[] = [
  yesNo('appendonly', 'appendonly'),
  {
    name: 'appendfsync',
    get: (rc) => rc.config.appendfsync,
    set: (rc, v) => {
      const p = v.toLowerCase();
      if (!(FSYNC as readonly string[]).includes(p)) return `argument(s) must be one of the following: ${FSYNC.join(', ')}`;
      rc.config.appendfsync = p as (typeof FSYNC)[number];
      return undefined;
    },
  },
  { name: 'appendfilename', get: (rc) => rc.config.appendfilename, set: () => "can't set immutable config" },
  { name: 'appenddirname', get: (rc) => rc.config.appenddirname, set: () => "can't set immutable config" },
  yesNo('aof-load-truncated', 'aofLoadTruncated'),
  {
    name: 'auto-aof-rewrite-percentage',
    get: (rc) => String(rc.config.autoAofRewritePercentage),
    set: (rc, v) => {
      if (!/^(0|[1-9]\d{0,9})$/.test(v)) return "argument couldn't be parsed into an integer";
      const n = Number(v);
      if (n > 2147483647) return 'argument must be between 0 and 2147483647 inclusive';
      rc.config.autoAofRewritePercentage = n;
      return undefined;
    },
  },
  {
    name: 'auto-aof-rewrite-min-size',
    get: (rc) => String(rc.config.autoAofRewriteMinSize),
    set: (rc, v) => {
      const m = /^(\d+)(k|kb|m|mb|g|gb)?$/i.exec(v.trim());
      if (!m) return 'argument must be a memory value';
      const mul: Record<string, number> = { '': 1, k: 1000, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 };
      rc.config.autoAofRewriteMinSize = Number(m[1]) * mul[(m[2] ?? '').toLowerCase()]!;
      return undefined;
    },
  },
];
