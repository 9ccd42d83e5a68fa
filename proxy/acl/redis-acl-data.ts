/**
 * What the ACL needs from Redis's command table beyond shared/commands/table.ts:
 * key-spec access flags (for %R~ / %W~ key patterns) and the ACL categories of
 * container subcommands (CONFIG GET is @admin, CONFIG HELP is not).
 *
 * Taken from redis-server 7.0.15 `COMMAND INFO <name>` for every command in the table
 * (key specs: `access` → read; `insert`, `delete`, `update` → write; a spec with none
 * of them, such as EXISTS's, needs no particular permission but the key must still
 * match a pattern). Commands missing here (Shoal-only rows such as BF.*, or rows added
 * later) fall back on their CMD_READONLY / CMD_WRITE flags: see keyAccess() in
 * ./acl-catalog.ts. Regenerate the pairs from COMMAND INFO when adding Redis commands.
 */

/** Key permission bits, as Redis's ACL_READ_PERMISSION / ACL_WRITE_PERMISSION. */
export const PERM_READ = 1;
export const PERM_WRITE = 2;
export const PERM_ALL = PERM_READ | PERM_WRITE;

const N = 0;
const R = PERM_READ;
const W = PERM_WRITE;
const RW = PERM_ALL;

/**
 * [permission the first key needs, permission every other key needs]: Redis's first
 * key spec covers the first key (a destination, or the only key run), the second one
 * the rest. SET and BITFIELD depend on their arguments (Redis's VARIABLE_FLAGS): their
 * pair here is the write form; ./acl-check.ts looks at GET / the subcommands.
 */
export const KEY_ACCESS: Readonly<Record<string, readonly [number, number]>> = {
  // strings
  get: [R, R], set: [RW, RW], setnx: [W, W], setex: [W, W], psetex: [W, W], getset: [RW, RW],
  getdel: [RW, RW], getex: [RW, RW], mget: [R, R], mset: [W, W], msetnx: [W, W], append: [W, W],
  strlen: [N, N], incr: [RW, RW], decr: [RW, RW], incrby: [RW, RW], decrby: [RW, RW],
  incrbyfloat: [RW, RW], getrange: [R, R], setrange: [W, W], substr: [R, R], lcs: [R, R],
  // keyspace
  del: [W, W], unlink: [W, W], exists: [N, N], touch: [N, N], type: [N, N], expire: [W, W],
  pexpire: [W, W], expireat: [W, W], pexpireat: [W, W], ttl: [R, R], pttl: [R, R],
  expiretime: [R, R], pexpiretime: [R, R], persist: [W, W], rename: [RW, W], renamenx: [RW, W],
  copy: [R, W], watch: [N, N],
  // lists
  lpush: [W, W], rpush: [W, W], lpushx: [W, W], rpushx: [W, W], lpop: [RW, RW], rpop: [RW, RW],
  llen: [N, N], lrange: [R, R], lindex: [R, R], lset: [W, W], linsert: [W, W], lrem: [W, W],
  ltrim: [W, W], lpos: [R, R], lmove: [RW, W], rpoplpush: [RW, W], lmpop: [RW, RW],
  blpop: [RW, RW], brpop: [RW, RW], blmove: [RW, W], brpoplpush: [RW, W], blmpop: [RW, RW],
  // hashes
  hset: [W, W], hsetnx: [W, W], hmset: [W, W], hget: [R, R], hmget: [R, R], hdel: [W, W],
  hlen: [N, N], hstrlen: [N, N], hexists: [N, N], hkeys: [R, R], hvals: [R, R], hgetall: [R, R],
  hincrby: [RW, RW], hincrbyfloat: [RW, RW], hrandfield: [R, R], hscan: [R, R],
  // sets
  sadd: [W, W], srem: [W, W], scard: [N, N], sismember: [N, N], smismember: [R, R],
  smembers: [R, R], srandmember: [R, R], spop: [RW, RW], smove: [RW, W], sinter: [R, R],
  sintercard: [R, R], sunion: [R, R], sdiff: [R, R], sinterstore: [W, R], sunionstore: [W, R],
  sdiffstore: [W, R], sscan: [R, R],
  // sorted sets
  zadd: [W, W], zincrby: [RW, RW], zrem: [W, W], zcard: [N, N], zcount: [R, R],
  zlexcount: [R, R], zscore: [R, R], zmscore: [R, R], zrank: [R, R], zrevrank: [R, R],
  zrange: [R, R], zrangestore: [W, R], zrangebyscore: [R, R], zrevrangebyscore: [R, R],
  zrangebylex: [R, R], zrevrangebylex: [R, R], zrevrange: [R, R], zremrangebyrank: [W, W],
  zremrangebyscore: [W, W], zremrangebylex: [W, W], zpopmin: [RW, RW], zpopmax: [RW, RW],
  zmpop: [RW, RW], zrandmember: [R, R], zunion: [R, R], zinter: [R, R], zdiff: [R, R],
  zunionstore: [W, R], zinterstore: [W, R], zdiffstore: [W, R], zintercard: [R, R], zscan: [R, R],
  bzpopmin: [RW, RW], bzpopmax: [RW, RW], bzmpop: [RW, RW],
  // bitmaps, HyperLogLog
  setbit: [RW, RW], getbit: [R, R], bitcount: [R, R], bitpos: [R, R], bitop: [W, R],
  bitfield: [RW, RW], bitfield_ro: [R, R], pfadd: [W, W], pfcount: [R, R], pfmerge: [RW, R],
};

/**
 * Container commands: the parent's own categories (Redis gives a container only
 * @slow, or @slow @connection) and each subcommand's. A subcommand missing here
 * (CLIENT SETINFO came after 7.0) takes the parent row's categories.
 */
export const CONTAINER_CATEGORIES: Readonly<Record<string, { categories: string; subcommands: Readonly<Record<string, string>> }>> = {
  client: { categories: 'slow', subcommands: { setname: 'slow connection', getname: 'slow connection', id: 'slow connection', info: 'slow connection', list: 'admin slow dangerous connection', help: 'slow connection', setinfo: 'slow connection', kill: 'admin slow dangerous connection', pause: 'admin slow dangerous connection', unpause: 'admin slow dangerous connection', reply: 'slow connection', 'no-evict': 'admin slow dangerous connection', 'no-touch': 'slow connection' } },
  command: { categories: 'slow connection', subcommands: { count: 'slow connection', info: 'slow connection', docs: 'slow connection', getkeys: 'slow connection', list: 'slow connection', help: 'slow connection' } },
  config: { categories: 'slow', subcommands: { get: 'admin slow dangerous', set: 'admin slow dangerous', resetstat: 'admin slow dangerous', rewrite: 'admin slow dangerous', help: 'slow' } },
  object: { categories: 'slow', subcommands: { encoding: 'keyspace read slow', freq: 'keyspace read slow', idletime: 'keyspace read slow', refcount: 'keyspace read slow', help: 'keyspace slow' } },
  memory: { categories: 'slow', subcommands: { usage: 'read slow', stats: 'slow', doctor: 'slow', 'malloc-stats': 'slow', purge: 'slow', help: 'slow' } },
  cluster: { categories: 'slow', subcommands: { slots: 'slow', shards: 'slow', nodes: 'slow', keyslot: 'slow', myid: 'slow', info: 'slow', help: 'slow' } },
  slowlog: { categories: 'slow', subcommands: { get: 'admin slow dangerous', len: 'admin slow dangerous', reset: 'admin slow dangerous', help: 'slow' } },
  latency: { categories: 'slow', subcommands: { latest: 'admin slow dangerous', doctor: 'admin slow dangerous', histogram: 'admin slow dangerous', history: 'admin slow dangerous', graph: 'admin slow dangerous', reset: 'admin slow dangerous', help: 'slow' } },
  acl: { categories: 'slow', subcommands: { save: 'admin slow dangerous', load: 'admin slow dangerous', help: 'slow', deluser: 'admin slow dangerous', whoami: 'slow', cat: 'slow', setuser: 'admin slow dangerous', list: 'admin slow dangerous', users: 'admin slow dangerous', log: 'admin slow dangerous', getuser: 'admin slow dangerous', genpass: 'slow', dryrun: 'admin slow dangerous' } },
};

/**
 * Subcommands whose argv[2] is a key (OBJECT ENCODING key, MEMORY USAGE key): their
 * key specs are RO without `access`, so the key only has to match some pattern.
 */
export const SUBCOMMAND_KEY_AT_2: ReadonlySet<string> = new Set([
  'object|encoding', 'object|freq', 'object|idletime', 'object|refcount', 'memory|usage',
]);

/** Redis's ACL categories, in Redis's order (ACL CAT, and the order ACL LIST tries them). */
export const REDIS_CATEGORIES: readonly string[] = [
  'keyspace', 'read', 'write', 'set', 'sortedset', 'list', 'hash', 'string', 'bitmap',
  'hyperloglog', 'geo', 'stream', 'pubsub', 'admin', 'fast', 'slow', 'blocking', 'dangerous',
  'connection', 'transaction', 'scripting',
];
