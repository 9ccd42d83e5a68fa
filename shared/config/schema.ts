/**
 * The configuration schema: every key, its type, default, allowed values and the
 * environment variable and command-line flag that set it. One table, read by the
 * loader (shared/config/load.ts), by `--help` and by CONFIG GET.
 */

export interface ShoalConfig {
  host: string;
  port: number;
  httpPort: number;
  shardBasePort: number;
  shards: number;
  workers: number;
  dataDir: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  protoMaxBulkLen: number;
  upstreamTimeoutMs: number;
  maxmemory: number;
  maxmemoryPolicy: string;
  maxmemorySamples: number;
  lfuLogFactor: number;
  lfuDecayTime: number;
  listMaxListpackSize: number;
  hashMaxListpackEntries: number;
  hashMaxListpackValue: number;
  setMaxIntsetEntries: number;
  zsetMaxListpackEntries: number;
  zsetMaxListpackValue: number;
}

/** The config keys that bound packed (listpack/intset) encodings of collections. */
export type EncodingLimitKey =
  | 'listMaxListpackSize' | 'hashMaxListpackEntries' | 'hashMaxListpackValue'
  | 'setMaxIntsetEntries' | 'zsetMaxListpackEntries' | 'zsetMaxListpackValue';

/** In Redis's order (the order its CONFIG SET error lists them). */
export const EVICTION_POLICY_NAMES = ['volatile-lru', 'volatile-lfu', 'volatile-random', 'volatile-ttl', 'allkeys-lru', 'allkeys-lfu', 'allkeys-random', 'noeviction'] as const;

type Kind =
  | { type: 'int'; min: number; max: number }
  | { type: 'bytes'; min: number; max: number }
  | { type: 'string' }
  | { type: 'enum'; values: readonly string[] };

export interface ConfigKey {
  key: keyof ShoalConfig;
  kind: Kind;
  default: string | number;
  env: string;
  flag: string;
  help: string;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const CONFIG_KEYS: readonly ConfigKey[] = [
  { key: 'host', kind: { type: 'string' }, default: '127.0.0.1', env: 'SHOAL_HOST', flag: 'host', help: 'address every listener binds to' },
  { key: 'port', kind: { type: 'int', min: 0, max: 65535 }, default: 6380, env: 'SHOAL_PORT', flag: 'port', help: 'RESP port of the proxy' },
  { key: 'httpPort', kind: { type: 'int', min: 0, max: 65535 }, default: 8080, env: 'SHOAL_HTTP_PORT', flag: 'http-port', help: 'HTTP port of the proxy (/healthz, /topology)' },
  { key: 'shardBasePort', kind: { type: 'int', min: 1, max: 65535 }, default: 7000, env: 'SHOAL_SHARD_PORT', flag: 'shard-port', help: 'first shard worker port; workers take consecutive ports' },
  { key: 'shards', kind: { type: 'int', min: 1, max: 64 }, default: 1, env: 'SHOAL_SHARDS', flag: 'shards', help: 'shard processes in the embedded cluster' },
  { key: 'workers', kind: { type: 'int', min: 1, max: 64 }, default: 2, env: 'SHOAL_WORKERS', flag: 'workers', help: 'data-plane worker threads per shard process' },
  { key: 'dataDir', kind: { type: 'string' }, default: './data', env: 'SHOAL_DATA_DIR', flag: 'data-dir', help: 'directory for topology and (later) persistence files' },
  { key: 'logLevel', kind: { type: 'enum', values: LOG_LEVELS }, default: 'info', env: 'SHOAL_LOG_LEVEL', flag: 'log-level', help: 'pino log level' },
  { key: 'protoMaxBulkLen', kind: { type: 'bytes', min: 1024 * 1024, max: 2 ** 32 }, default: 512 * 1024 * 1024, env: 'SHOAL_PROTO_MAX_BULK_LEN', flag: 'proto-max-bulk-len', help: 'largest bulk string a client may send (proto-max-bulk-len)' },
  { key: 'upstreamTimeoutMs', kind: { type: 'int', min: 10, max: 600000 }, default: 5000, env: 'SHOAL_UPSTREAM_TIMEOUT_MS', flag: 'upstream-timeout-ms', help: 'proxy: fail a request whose shard has not answered within this time' },
  { key: 'maxmemory', kind: { type: 'bytes', min: 0, max: 2 ** 40 }, default: 0, env: 'SHOAL_MAXMEMORY', flag: 'maxmemory', help: 'memory limit per shard process, split evenly between its workers (0 = none)' },
  { key: 'maxmemoryPolicy', kind: { type: 'enum', values: EVICTION_POLICY_NAMES }, default: 'noeviction', env: 'SHOAL_MAXMEMORY_POLICY', flag: 'maxmemory-policy', help: 'what to evict at maxmemory (Redis policies)' },
  { key: 'maxmemorySamples', kind: { type: 'int', min: 1, max: 2147483647 }, default: 5, env: 'SHOAL_MAXMEMORY_SAMPLES', flag: 'maxmemory-samples', help: 'keys sampled per eviction (more = closer to true LRU/LFU)' },
  { key: 'lfuLogFactor', kind: { type: 'int', min: 0, max: 2147483647 }, default: 10, env: 'SHOAL_LFU_LOG_FACTOR', flag: 'lfu-log-factor', help: 'LFU counter logarithm factor' },
  { key: 'listMaxListpackSize', kind: { type: 'int', min: -5, max: 2147483647 }, default: -2, env: 'SHOAL_LIST_MAX_LISTPACK_SIZE', flag: 'list-max-listpack-size', help: 'packed list limit: >0 entries, -1..-5 = 4/8/16/32/64 KiB (Redis)' },
  { key: 'hashMaxListpackEntries', kind: { type: 'int', min: 0, max: 2147483647 }, default: 512, env: 'SHOAL_HASH_MAX_LISTPACK_ENTRIES', flag: 'hash-max-listpack-entries', help: 'hashes with more fields use a hash table' },
  { key: 'hashMaxListpackValue', kind: { type: 'int', min: 0, max: 2147483647 }, default: 64, env: 'SHOAL_HASH_MAX_LISTPACK_VALUE', flag: 'hash-max-listpack-value', help: 'hashes with a longer field or value use a hash table' },
  { key: 'setMaxIntsetEntries', kind: { type: 'int', min: 0, max: 2147483647 }, default: 512, env: 'SHOAL_SET_MAX_INTSET_ENTRIES', flag: 'set-max-intset-entries', help: 'integer-only sets up to this size stay packed (intset)' },
  { key: 'zsetMaxListpackEntries', kind: { type: 'int', min: 0, max: 2147483647 }, default: 128, env: 'SHOAL_ZSET_MAX_LISTPACK_ENTRIES', flag: 'zset-max-listpack-entries', help: 'sorted sets with more members use a skip list' },
  { key: 'zsetMaxListpackValue', kind: { type: 'int', min: 0, max: 2147483647 }, default: 64, env: 'SHOAL_ZSET_MAX_LISTPACK_VALUE', flag: 'zset-max-listpack-value', help: 'sorted sets with a longer member use a skip list' },
  { key: 'lfuDecayTime', kind: { type: 'int', min: 0, max: 2147483647 }, default: 1, env: 'SHOAL_LFU_DECAY_TIME', flag: 'lfu-decay-time', help: 'minutes per LFU counter decay step' },
];

/** Parses Redis-style memory units: 100, 1k, 1kb, 5mb, 2gb (k = 1000, kb = 1024, as Redis). */
export function parseBytes(text: string): number | undefined {
  const m = /^(\d+)(k|kb|m|mb|g|gb)?$/i.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase();
  const mul: Record<string, number> = { '': 1, k: 1000, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 };
  return n * mul[unit]!;
}
