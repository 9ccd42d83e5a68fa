/**
 * The configuration schema: every key, its type, default, allowed values and the
 * environment variable and command-line flag that set it. One table, read by the
 * loader (shared/config/load.ts), by `--help` and by CONFIG GET.
 */
import { availableParallelism } from 'node:os';

export interface ShoalConfig {
  host: string;
  port: number;
  httpPort: number;
  shardBasePort: number;
  shards: number;
  workers: number;
  dataDir: string;
  /** Snapshot save points (Redis `save`: "seconds changes ..." pairs; '' = off). */
  save: string;
  /** Snapshot file name in each worker's data directory (Redis `dbfilename`). */
  dbfilename: string;
  /** Compress snapshot sections (Redis `rdbcompression`). */
  rdbcompression: 'yes' | 'no';
  /** How sections are compressed when rdbcompression is yes: lz4 (fast) or deflate (smaller). */
  snapshotCompression: 'lz4' | 'deflate';
  /** Append-only log (Redis's names; shard/persistence/aof.ts). */
  appendonly: 'yes' | 'no';
  appendfsync: 'always' | 'everysec' | 'no';
  appendfilename: string;
  appenddirname: string;
  aofLoadTruncated: 'yes' | 'no';
  autoAofRewritePercentage: number;
  autoAofRewriteMinSize: number;
  /** Encryption at rest: key file ('' = none; shard/persistence/encryption.ts). */
  encryptionKeyFile: string;
  /** Replication and failover (docs/replication.md). Replicas per primary worker in the embedded cluster. */
  replicas: number;
  /** Default consistency level of a client connection (CONSISTENCY overrides it per connection). */
  consistency: 'eventual' | 'strong' | 'session';
  replBacklogSize: number;
  minReplicasToWrite: number;
  minReplicasMaxLag: number;
  /** Manager: health-check period, misses before a primary is declared failed, primary lease. */
  failoverCheckMs: number;
  failoverMisses: number;
  leaseMs: number;
  /** Manager: port of its HTTP control API (shoal-cluster status / failover / replica add|remove). */
  managerPort: number;
  /** Cluster mode: etcd endpoints ("http://h:2379,..."; '' = embedded mode, topology in a local file). */
  etcdEndpoints: string;
  etcdPrefix: string;
  /** Cluster mode: TTL of a manager's etcd lease; a dead leader is replaced within it (manager/leader.ts). */
  managerLeaseSeconds: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  protoMaxBulkLen: number;
  upstreamTimeoutMs: number;
  /** RESP-serving proxy processes sharing the client port (docs/proxy-processes.md). */
  proxyProcesses: number;
  maxmemory: number;
  maxmemoryPolicy: string;
  /** notify-keyspace-events (shared/pubsub/keyspace-flags.ts); '' = off. */
  notifyKeyspaceEvents: string;
  maxmemorySamples: number;
  lfuLogFactor: number;
  lfuDecayTime: number;
  listMaxListpackSize: number;
  hashMaxListpackEntries: number;
  hashMaxListpackValue: number;
  setMaxIntsetEntries: number;
  zsetMaxListpackEntries: number;
  zsetMaxListpackValue: number;
  /** TLS (docs/tls.md): Redis's tls-* keys; '' = unset. */
  tlsPort: number;
  tlsCertFile: string;
  tlsKeyFile: string;
  tlsKeyFilePass: string;
  tlsClientCertFile: string;
  tlsClientKeyFile: string;
  tlsCaCertFile: string;
  tlsAuthClients: 'no' | 'yes' | 'optional';
  tlsAuthClientsUser: 'off' | 'CN';
  tlsProtocols: string;
  tlsCiphers: string;
  tlsCiphersuites: string;
  tlsCluster: 'no' | 'yes';
  /** Observability (docs/observability.md): SLOWLOG, per-command latency, admin HTTP token. */
  slowlogLogSlowerThan: number;
  slowlogMaxLen: number;
  latencyTracking: 'yes' | 'no';
  adminToken: string;
  /** WebSocket pub/sub at /pubsub (docs/websocket-pubsub.md). */
  websocketMaxBuffered: number;
  websocketIdleTimeout: number;
  /** Client limits (docs/resilience.md): Redis's names and semantics. */
  maxclients: number;
  timeout: number;
  tcpKeepalive: number;
  clientQueryBufferLimit: number;
  clientOutputBufferLimit: string;
  /** Circuit breaker per shard worker link (docs/resilience.md). */
  breakerErrorPercentage: number;
  breakerTimeoutMs: number;
  breakerResetMs: number;
  breakerVolumeThreshold: number;
  breakerWindowMs: number;
  /** ACL (docs/acl.md): Redis's requirepass / aclfile / acllog-max-len / acl-pubsub-default; '' = unset. */
  requirepass: string;
  aclfile: string;
  acllogMaxLen: number;
  aclPubsubDefault: 'resetchannels' | 'allchannels';
  /** Per-ACL-user rate limits (Shoal only): commands/s, bucket size, "user:ops,..." overrides. */
  rateLimitOps: number;
  rateLimitBurst: number;
  rateLimitUsers: string;
}

/**
 * How many RESP processes the proxy runs: the configured number, or for 0 one per CPU
 * less `localWorkers` (shard worker threads sharing this machine), at least 1. On a
 * 2-core box with the embedded cluster's 2 workers one proxy process measured 0.72x
 * redis on SET -P 1 against 0.61x for two (they compete with the workers for cores).
 */
export function proxyProcessCount(config: ShoalConfig, localWorkers = 0): number {
  if (config.proxyProcesses > 0) return config.proxyProcesses;
  return Math.max(1, availableParallelism() - localWorkers);
}

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
/** tls-auth-clients values in Redis's order (the order its CONFIG SET error lists them). */
export const TLS_AUTH_CLIENTS = ['no', 'yes', 'optional'] as const;
export const TLS_AUTH_CLIENTS_USER = ['off', 'CN'] as const;

export const CONFIG_KEYS: readonly ConfigKey[] = [
  { key: 'host', kind: { type: 'string' }, default: '127.0.0.1', env: 'SHOAL_HOST', flag: 'host', help: 'address every listener binds to' },
  { key: 'port', kind: { type: 'int', min: 0, max: 65535 }, default: 6380, env: 'SHOAL_PORT', flag: 'port', help: 'RESP port of the proxy' },
  { key: 'httpPort', kind: { type: 'int', min: 0, max: 65535 }, default: 8080, env: 'SHOAL_HTTP_PORT', flag: 'http-port', help: 'HTTP port of the proxy (/healthz, /topology)' },
  { key: 'shardBasePort', kind: { type: 'int', min: 1, max: 65535 }, default: 7000, env: 'SHOAL_SHARD_PORT', flag: 'shard-port', help: 'first shard worker port; workers take consecutive ports' },
  { key: 'shards', kind: { type: 'int', min: 1, max: 64 }, default: 1, env: 'SHOAL_SHARDS', flag: 'shards', help: 'shard processes in the embedded cluster' },
  { key: 'workers', kind: { type: 'int', min: 1, max: 64 }, default: 2, env: 'SHOAL_WORKERS', flag: 'workers', help: 'data-plane worker threads per shard process' },
  { key: 'dataDir', kind: { type: 'string' }, default: './data', env: 'SHOAL_DATA_DIR', flag: 'data-dir', help: 'directory for the topology and every worker\'s persistence files (CONFIG GET dir)' },
  { key: 'save', kind: { type: 'string' }, default: '3600 1 300 100 60 10000', env: 'SHOAL_SAVE', flag: 'save', help: 'snapshot save points: "<seconds> <changes> ..." pairs, a snapshot when both are reached ("" = off; docs/persistence.md)' },
  { key: 'dbfilename', kind: { type: 'string' }, default: 'dump.sdb', env: 'SHOAL_DBFILENAME', flag: 'dbfilename', help: 'snapshot file name in each worker\'s directory <data-dir>/shard-<s>/worker-<w>/' },
  { key: 'rdbcompression', kind: { type: 'enum', values: ['yes', 'no'] }, default: 'yes', env: 'SHOAL_RDBCOMPRESSION', flag: 'rdbcompression', help: 'compress snapshot sections (with snapshot-compression)' },
  { key: 'snapshotCompression', kind: { type: 'enum', values: ['lz4', 'deflate'] }, default: 'lz4', env: 'SHOAL_SNAPSHOT_COMPRESSION', flag: 'snapshot-compression', help: 'snapshot section codec when rdbcompression is yes: lz4 (fast) or deflate (level 1, smaller files)' },
  { key: 'appendonly', kind: { type: 'enum', values: ['yes', 'no'] }, default: 'no', env: 'SHOAL_APPENDONLY', flag: 'appendonly', help: 'append-only log per worker: every write appended before its reply (docs/persistence.md)' },
  { key: 'appendfsync', kind: { type: 'enum', values: ['always', 'everysec', 'no'] }, default: 'everysec', env: 'SHOAL_APPENDFSYNC', flag: 'appendfsync', help: 'always = fdatasync before replying (group commit), everysec = once a second, no = the OS decides' },
  { key: 'appendfilename', kind: { type: 'string' }, default: 'appendonly.aof', env: 'SHOAL_APPENDFILENAME', flag: 'appendfilename', help: 'base name of the append-only log files' },
  { key: 'appenddirname', kind: { type: 'string' }, default: 'appendonlydir', env: 'SHOAL_APPENDDIRNAME', flag: 'appenddirname', help: 'directory of the append-only log inside each worker\'s data directory' },
  { key: 'aofLoadTruncated', kind: { type: 'enum', values: ['yes', 'no'] }, default: 'yes', env: 'SHOAL_AOF_LOAD_TRUNCATED', flag: 'aof-load-truncated', help: 'yes = a torn final record is cut off with a warning at start; no = refuse to start' },
  { key: 'autoAofRewritePercentage', kind: { type: 'int', min: 0, max: 2147483647 }, default: 100, env: 'SHOAL_AUTO_AOF_REWRITE_PERCENTAGE', flag: 'auto-aof-rewrite-percentage', help: 'rewrite the log when it grew this % over its size after the last rewrite (0 = never)' },
  { key: 'autoAofRewriteMinSize', kind: { type: 'bytes', min: 0, max: Number.MAX_SAFE_INTEGER }, default: 64 * 1024 * 1024, env: 'SHOAL_AUTO_AOF_REWRITE_MIN_SIZE', flag: 'auto-aof-rewrite-min-size', help: 'no automatic rewrite below this log size' },
  { key: 'encryptionKeyFile', kind: { type: 'string' }, default: '', env: 'SHOAL_ENCRYPTION_KEY_FILE', flag: 'encryption-key-file', help: 'AES-256-GCM encryption at rest of snapshots and the log: a file of "<key-id> <64 hex>" lines, the last one current (env SHOAL_ENCRYPTION_KEYS may hold the same lines; docs/persistence.md)' },
  { key: 'replicas', kind: { type: 'int', min: 0, max: 5 }, default: 1, env: 'SHOAL_REPLICAS', flag: 'replicas', help: 'replicas of every primary worker in the embedded cluster, each set in its own shard process (docs/replication.md)' },
  { key: 'consistency', kind: { type: 'enum', values: ['eventual', 'strong', 'session'] }, default: 'session', env: 'SHOAL_CONSISTENCY', flag: 'consistency', help: 'default per connection (CONSISTENCY overrides): eventual = ack after the primary applies, reads may go to replicas; strong = ack after every in-sync replica has the write, reads from the primary; session = read-your-writes and monotonic reads, replicas serve reads once caught up' },
  { key: 'replBacklogSize', kind: { type: 'bytes', min: 16 * 1024, max: 2 ** 40 }, default: 1024 * 1024, env: 'SHOAL_REPL_BACKLOG_SIZE', flag: 'repl-backlog-size', help: 'replication backlog per primary worker: a replica that reconnects within it resyncs partially' },
  { key: 'minReplicasToWrite', kind: { type: 'int', min: 0, max: 2147483647 }, default: 0, env: 'SHOAL_MIN_REPLICAS_TO_WRITE', flag: 'min-replicas-to-write', help: 'a primary refuses writes (-NOREPLICAS) with fewer good replicas than this (0 = off)' },
  { key: 'minReplicasMaxLag', kind: { type: 'int', min: 0, max: 2147483647 }, default: 10, env: 'SHOAL_MIN_REPLICAS_MAX_LAG', flag: 'min-replicas-max-lag', help: 'seconds since its last ack within which a replica counts as good' },
  { key: 'failoverCheckMs', kind: { type: 'int', min: 10, max: 60000 }, default: 100, env: 'SHOAL_FAILOVER_CHECK_MS', flag: 'failover-check-ms', help: 'manager: health-check period of every primary and replica' },
  { key: 'failoverMisses', kind: { type: 'int', min: 1, max: 1000 }, default: 5, env: 'SHOAL_FAILOVER_MISSES', flag: 'failover-misses', help: 'manager: consecutive missed checks before a primary is declared failed and its replica promoted' },
  { key: 'leaseMs', kind: { type: 'int', min: 10, max: 600000 }, default: 400, env: 'SHOAL_LEASE_MS', flag: 'lease-ms', help: 'primary lease renewed by each health check: a primary not renewed within it stops acknowledging writes (keep below failover-check-ms x failover-misses)' },
  { key: 'managerPort', kind: { type: 'int', min: 0, max: 65535 }, default: 7900, env: 'SHOAL_MANAGER_PORT', flag: 'manager-port', help: 'manager: HTTP control API port for shoal-cluster (status, failover, replica add/remove); in use = a free port, recorded in topology.json' },
  { key: 'etcdEndpoints', kind: { type: 'string' }, default: '', env: 'SHOAL_ETCD_ENDPOINTS', flag: 'etcd-endpoints', help: 'cluster mode: comma-separated etcd endpoints holding topology and manager leadership ("" = embedded mode, topology in <data-dir>/topology.json)' },
  { key: 'etcdPrefix', kind: { type: 'string' }, default: '/shoal', env: 'SHOAL_ETCD_PREFIX', flag: 'etcd-prefix', help: 'cluster mode: key prefix of this cluster in etcd' },
  { key: 'managerLeaseSeconds', kind: { type: 'int', min: 1, max: 60 }, default: 2, env: 'SHOAL_MANAGER_LEASE_SECONDS', flag: 'manager-lease-seconds', help: 'cluster mode: TTL of each manager\'s etcd lease; when the leading manager dies another leads within it (docs/cluster-mode.md)' },
  { key: 'logLevel', kind: { type: 'enum', values: LOG_LEVELS }, default: 'info', env: 'SHOAL_LOG_LEVEL', flag: 'log-level', help: 'pino log level' },
  { key: 'protoMaxBulkLen', kind: { type: 'bytes', min: 1024 * 1024, max: 2 ** 32 }, default: 512 * 1024 * 1024, env: 'SHOAL_PROTO_MAX_BULK_LEN', flag: 'proto-max-bulk-len', help: 'largest bulk string a client may send (proto-max-bulk-len)' },
  { key: 'upstreamTimeoutMs', kind: { type: 'int', min: 10, max: 600000 }, default: 5000, env: 'SHOAL_UPSTREAM_TIMEOUT_MS', flag: 'upstream-timeout-ms', help: 'proxy: fail a request whose shard has not answered within this time' },
  { key: 'proxyProcesses', kind: { type: 'int', min: 0, max: 256 }, default: 0, env: 'SHOAL_PROXY_PROCESSES', flag: 'proxy-processes', help: 'proxy: RESP processes sharing the client port (1 = one process, no cluster module); 0 = one per CPU, minus the shard worker threads of an embedded cluster on the same machine (at least 1)' },
  { key: 'maxmemory', kind: { type: 'bytes', min: 0, max: 2 ** 40 }, default: 0, env: 'SHOAL_MAXMEMORY', flag: 'maxmemory', help: 'memory limit per shard process, split evenly between its workers; counts the runtime (INFO used_memory_startup) as well as data (0 = none)' },
  { key: 'notifyKeyspaceEvents', kind: { type: 'string' }, default: '', env: 'SHOAL_NOTIFY_KEYSPACE_EVENTS', flag: 'notify-keyspace-events', help: 'keyspace notifications to publish: Redis classes K E g $ l s h z x e t m d A n (docs/pubsub.md); empty = off' },
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
  { key: 'tlsPort', kind: { type: 'int', min: 0, max: 65535 }, default: 0, env: 'SHOAL_TLS_PORT', flag: 'tls-port', help: 'TLS RESP port of the proxy beside --port (0 = off; docs/tls.md)' },
  { key: 'tlsCertFile', kind: { type: 'string' }, default: '', env: 'SHOAL_TLS_CERT_FILE', flag: 'tls-cert-file', help: 'PEM certificate (chain) the TLS listeners present' },
  { key: 'tlsKeyFile', kind: { type: 'string' }, default: '', env: 'SHOAL_TLS_KEY_FILE', flag: 'tls-key-file', help: 'PEM private key of tls-cert-file' },
  { key: 'tlsKeyFilePass', kind: { type: 'string' }, default: '', env: 'SHOAL_TLS_KEY_FILE_PASS', flag: 'tls-key-file-pass', help: 'passphrase of an encrypted tls-key-file' },
  { key: 'tlsClientCertFile', kind: { type: 'string' }, default: '', env: 'SHOAL_TLS_CLIENT_CERT_FILE', flag: 'tls-client-cert-file', help: 'certificate the proxy presents to workers (default: tls-cert-file)' },
  { key: 'tlsClientKeyFile', kind: { type: 'string' }, default: '', env: 'SHOAL_TLS_CLIENT_KEY_FILE', flag: 'tls-client-key-file', help: 'private key of tls-client-cert-file' },
  { key: 'tlsCaCertFile', kind: { type: 'string' }, default: '', env: 'SHOAL_TLS_CA_CERT_FILE', flag: 'tls-ca-cert-file', help: 'PEM CA bundle that verifies client and worker certificates' },
  { key: 'tlsAuthClients', kind: { type: 'enum', values: TLS_AUTH_CLIENTS }, default: 'yes', env: 'SHOAL_TLS_AUTH_CLIENTS', flag: 'tls-auth-clients', help: 'client certificates: yes = required, optional = verified if sent, no' },
  { key: 'tlsAuthClientsUser', kind: { type: 'enum', values: TLS_AUTH_CLIENTS_USER }, default: 'off', env: 'SHOAL_TLS_AUTH_CLIENTS_USER', flag: 'tls-auth-clients-user', help: 'CN = log a client in as the ACL user its certificate CN names' },
  { key: 'tlsProtocols', kind: { type: 'string' }, default: '', env: 'SHOAL_TLS_PROTOCOLS', flag: 'tls-protocols', help: 'e.g. "TLSv1.2 TLSv1.3" (the default when empty); only these two' },
  { key: 'tlsCiphers', kind: { type: 'string' }, default: '', env: 'SHOAL_TLS_CIPHERS', flag: 'tls-ciphers', help: 'OpenSSL cipher list for TLSv1.2 (empty = Node default)' },
  { key: 'tlsCiphersuites', kind: { type: 'string' }, default: '', env: 'SHOAL_TLS_CIPHERSUITES', flag: 'tls-ciphersuites', help: 'TLSv1.3 ciphersuites, colon-separated (empty = Node default)' },
  { key: 'tlsCluster', kind: { type: 'enum', values: ['no', 'yes'] }, default: 'no', env: 'SHOAL_TLS_CLUSTER', flag: 'tls-cluster', help: 'yes = shard worker ports speak only TLS; the proxy links to them over TLS' },
  { key: 'slowlogLogSlowerThan', kind: { type: 'int', min: -1, max: Number.MAX_SAFE_INTEGER }, default: 10000, env: 'SHOAL_SLOWLOG_LOG_SLOWER_THAN', flag: 'slowlog-log-slower-than', help: 'SLOWLOG: log commands slower than this many µs (-1 = off, 0 = all)' },
  { key: 'slowlogMaxLen', kind: { type: 'int', min: 0, max: Number.MAX_SAFE_INTEGER }, default: 128, env: 'SHOAL_SLOWLOG_MAX_LEN', flag: 'slowlog-max-len', help: 'SLOWLOG: entries kept per proxy process' },
  { key: 'latencyTracking', kind: { type: 'enum', values: ['yes', 'no'] }, default: 'yes', env: 'SHOAL_LATENCY_TRACKING', flag: 'latency-tracking', help: 'per-command latency histograms in /metrics (no = skip the clock reads)' },
  { key: 'adminToken', kind: { type: 'string' }, default: '', env: 'SHOAL_ADMIN_TOKEN', flag: 'admin-token', help: 'admin HTTP: require "Authorization: Bearer <token>" for /metrics and /topology' },
  { key: 'websocketMaxBuffered', kind: { type: 'bytes', min: 1024, max: Number.MAX_SAFE_INTEGER }, default: 8 * 1024 * 1024, env: 'SHOAL_WEBSOCKET_MAX_BUFFERED', flag: 'websocket-max-buffered', help: 'WebSocket pub/sub: close a subscriber (code 4008) with more than this unsent' },
  { key: 'websocketIdleTimeout', kind: { type: 'int', min: 0, max: 960 }, default: 120, env: 'SHOAL_WEBSOCKET_IDLE_TIMEOUT', flag: 'websocket-idle-timeout', help: 'WebSocket pub/sub: seconds without traffic before close; pings are sent automatically (0 = never)' },
  { key: 'maxclients', kind: { type: 'int', min: 1, max: 4294967295 }, default: 10000, env: 'SHOAL_MAXCLIENTS', flag: 'maxclients', help: 'most clients connected at once, split evenly over the proxy processes' },
  { key: 'timeout', kind: { type: 'int', min: 0, max: 2147483647 }, default: 0, env: 'SHOAL_TIMEOUT', flag: 'timeout', help: 'close a client idle this many seconds (0 = never; blocked clients exempt)' },
  { key: 'tcpKeepalive', kind: { type: 'int', min: 0, max: 2147483647 }, default: 300, env: 'SHOAL_TCP_KEEPALIVE', flag: 'tcp-keepalive', help: 'TCP keepalive idle seconds on client sockets (0 = off)' },
  { key: 'clientQueryBufferLimit', kind: { type: 'bytes', min: 1024 * 1024, max: Number.MAX_SAFE_INTEGER }, default: 1024 * 1024 * 1024, env: 'SHOAL_CLIENT_QUERY_BUFFER_LIMIT', flag: 'client-query-buffer-limit', help: 'close a client whose unparsed input exceeds this' },
  { key: 'clientOutputBufferLimit', kind: { type: 'string' }, default: 'normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60', env: 'SHOAL_CLIENT_OUTPUT_BUFFER_LIMIT', flag: 'client-output-buffer-limit', help: '"<class> <hard> <soft> <soft-seconds> ..." as Redis; close clients over it' },
  { key: 'breakerErrorPercentage', kind: { type: 'int', min: 1, max: 100 }, default: 50, env: 'SHOAL_BREAKER_ERROR_PERCENTAGE', flag: 'breaker-error-percentage', help: 'open a worker\'s circuit above this % of failed batches in the window' },
  { key: 'breakerTimeoutMs', kind: { type: 'int', min: 10, max: 600000 }, default: 1000, env: 'SHOAL_BREAKER_TIMEOUT_MS', flag: 'breaker-timeout-ms', help: 'a batch unanswered this long counts as a circuit failure' },
  { key: 'breakerResetMs', kind: { type: 'int', min: 10, max: 3600000 }, default: 1000, env: 'SHOAL_BREAKER_RESET_MS', flag: 'breaker-reset-ms', help: 'an open circuit half-opens (lets one probe batch through) after this' },
  { key: 'breakerVolumeThreshold', kind: { type: 'int', min: 0, max: 1000000 }, default: 5, env: 'SHOAL_BREAKER_VOLUME_THRESHOLD', flag: 'breaker-volume-threshold', help: 'batches in the window before the error rate can open a circuit' },
  { key: 'breakerWindowMs', kind: { type: 'int', min: 100, max: 600000 }, default: 1000, env: 'SHOAL_BREAKER_WINDOW_MS', flag: 'breaker-window-ms', help: 'rolling window of the circuit error rate' },
  { key: 'requirepass', kind: { type: 'string' }, default: '', env: 'SHOAL_REQUIREPASS', flag: 'requirepass', help: 'password of the ACL default user (Redis requirepass; empty = none)' },
  { key: 'aclfile', kind: { type: 'string' }, default: '', env: 'SHOAL_ACLFILE', flag: 'aclfile', help: 'ACL file read at start and by ACL LOAD, written by ACL SAVE (docs/acl.md)' },
  { key: 'acllogMaxLen', kind: { type: 'int', min: 0, max: Number.MAX_SAFE_INTEGER }, default: 128, env: 'SHOAL_ACLLOG_MAX_LEN', flag: 'acllog-max-len', help: 'ACL LOG entries kept per proxy process' },
  { key: 'aclPubsubDefault', kind: { type: 'enum', values: ['resetchannels', 'allchannels'] }, default: 'resetchannels', env: 'SHOAL_ACL_PUBSUB_DEFAULT', flag: 'acl-pubsub-default', help: 'channels a new ACL user may use (Redis 7 default: none)' },
  { key: 'rateLimitOps', kind: { type: 'int', min: 0, max: 1_000_000_000 }, default: 0, env: 'SHOAL_RATE_LIMIT_OPS', flag: 'rate-limit-ops', help: 'commands/s each ACL user may run, cluster-wide (0 = unlimited)' },
  { key: 'rateLimitBurst', kind: { type: 'int', min: 0, max: 1_000_000_000 }, default: 0, env: 'SHOAL_RATE_LIMIT_BURST', flag: 'rate-limit-burst', help: 'commands a user may run at once before its rate applies (0 = one second\'s worth)' },
  { key: 'rateLimitUsers', kind: { type: 'string' }, default: '', env: 'SHOAL_RATE_LIMIT_USERS', flag: 'rate-limit-users', help: 'per-user commands/s overriding rate-limit-ops, e.g. "alice:1000,bob:50" (0 = unlimited)' },
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
