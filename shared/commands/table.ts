/**
 * The command table: one row per command, read by the proxy (routing, arity,
 * COMMAND replies) and the shard (dispatch). Adding a command is one row here and
 * one handler in the family file under shard/commands/ (a test checks that every
 * row has a handler).
 */
import { CMD_WRITE as W, CMD_READONLY as R, CMD_DENYOOM as M, CMD_ADMIN as A, CMD_FAST as F, CMD_NOSCRIPT as NS, CMD_LOADING as L, CMD_STALE as S, CMD_NOAUTH as NA, CMD_ALLOW_BUSY as AB, CMD_SKIP_SLOWLOG as SS, type CommandSpec } from './spec.js';
import { row, NOKEYS, KEY1, KEYS_ALL } from './row.js';
import { LIST_ROWS } from './rows/lists.js';
import { HASH_ROWS } from './rows/hashes.js';
import { SET_ROWS } from './rows/sets.js';
import { ZSET_ROWS } from './rows/zsets.js';
import { BITMAP_ROWS } from './rows/bitmaps.js';
import { HYPERLOGLOG_ROWS } from './rows/hyperloglog.js';
import { BLOOM_ROWS } from './rows/bloom.js';
import { PUBSUB_ROWS, PUBSUB_INTERNAL_ROWS } from './rows/pubsub.js';
import { SNAPSHOT_ROWS } from './rows/persistence.js';
import { CONSISTENCY_ROWS } from './rows/consistency.js';
import { REPLICATION_ROWS } from './rows/replication.js';

export const COMMANDS: readonly CommandSpec[] = [
  // strings
  row('get', 2, R | F, KEY1, 'string', 'key', 'read string fast', '1.0.0', 'Returns the string value of a key.'),
  row('set', -3, W | M, KEY1, 'string', 'key', 'write string slow', '1.0.0', 'Sets the string value of a key, ignoring its type. The key is created if it doesn\'t exist.'),
  row('setnx', 3, W | M | F, KEY1, 'string', 'key', 'write string fast', '1.0.0', 'Set the string value of a key only when the key doesn\'t exist.'),
  row('setex', 4, W | M, KEY1, 'string', 'key', 'write string slow', '2.0.0', 'Sets the string value and expiration time of a key. Creates the key if it doesn\'t exist.'),
  row('psetex', 4, W | M, KEY1, 'string', 'key', 'write string slow', '2.6.0', 'Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn\'t exist.'),
  row('getset', 3, W | M | F, KEY1, 'string', 'key', 'write string fast', '1.0.0', 'Returns the previous string value of a key after setting it to a new value.'),
  row('getdel', 2, W | F, KEY1, 'string', 'key', 'write string fast', '6.2.0', 'Returns the string value of a key after deleting the key.'),
  row('getex', -2, W | F, KEY1, 'string', 'key', 'write string fast', '6.2.0', 'Returns the string value of a key after setting its expiration time.'),
  row('mget', -2, R | F, KEYS_ALL, 'string', 'split', 'read string fast', '1.0.0', 'Atomically returns the string values of one or more keys.'),
  row('mset', -3, W | M, [1, -1, 2], 'string', 'split', 'write string slow', '1.0.1', 'Atomically creates or modifies the string values of one or more keys.'),
  row('msetnx', -3, W | M, [1, -1, 2], 'string', 'key', 'write string slow', '1.0.1', 'Atomically modifies the string values of one or more keys only when all keys don\'t exist.'),
  row('append', 3, W | M | F, KEY1, 'string', 'key', 'write string fast', '2.0.0', 'Appends a string to the value of a key. Creates the key if it doesn\'t exist.'),
  row('strlen', 2, R | F, KEY1, 'string', 'key', 'read string fast', '2.2.0', 'Returns the length of a string value.'),
  row('incr', 2, W | M | F, KEY1, 'string', 'key', 'write string fast', '1.0.0', 'Increments the integer value of a key by one. Uses 0 as initial value if the key doesn\'t exist.'),
  row('decr', 2, W | M | F, KEY1, 'string', 'key', 'write string fast', '1.0.0', 'Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn\'t exist.'),
  row('incrby', 3, W | M | F, KEY1, 'string', 'key', 'write string fast', '1.0.0', 'Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn\'t exist.'),
  row('decrby', 3, W | M | F, KEY1, 'string', 'key', 'write string fast', '1.0.0', 'Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn\'t exist.'),
  row('incrbyfloat', 3, W | M | F, KEY1, 'string', 'key', 'write string fast', '2.6.0', 'Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn\'t exist.'),
  row('getrange', 4, R, KEY1, 'string', 'key', 'read string slow', '2.4.0', 'Returns a substring of the string stored at a key.'),
  row('setrange', 4, W | M, KEY1, 'string', 'key', 'write string slow', '2.2.0', 'Overwrites a part of a string value with another by an offset. Creates the key if it doesn\'t exist.'),
  row('substr', 4, R, KEY1, 'string', 'key', 'read string slow', '1.0.0', 'Returns a substring from a string value.'),
  row('lcs', -3, R, [1, 2, 1], 'string', 'special', 'read string slow', '7.0.0', 'Finds the longest common substring.'),

  // generic keyspace
  row('del', -2, W, KEYS_ALL, 'generic', 'split', 'keyspace write slow', '1.0.0', 'Deletes one or more keys.'),
  row('unlink', -2, W | F, KEYS_ALL, 'generic', 'split', 'keyspace write fast', '4.0.0', 'Asynchronously deletes one or more keys.'),
  row('exists', -2, R | F, KEYS_ALL, 'generic', 'split', 'keyspace read fast', '1.0.0', 'Determines whether one or more keys exist.'),
  row('touch', -2, R | F, KEYS_ALL, 'generic', 'split', 'keyspace read fast', '3.2.1', 'Returns the number of existing keys out of those specified after updating the time they were last accessed.'),
  row('type', 2, R | F, KEY1, 'generic', 'key', 'keyspace read fast', '1.0.0', 'Determines the type of value stored at a key.'),
  row('expire', -3, W | F, KEY1, 'generic', 'key', 'keyspace write fast', '1.0.0', 'Sets the expiration time of a key in seconds.'),
  row('pexpire', -3, W | F, KEY1, 'generic', 'key', 'keyspace write fast', '2.6.0', 'Sets the expiration time of a key in milliseconds.'),
  row('expireat', -3, W | F, KEY1, 'generic', 'key', 'keyspace write fast', '1.2.0', 'Sets the expiration time of a key to a Unix timestamp.'),
  row('pexpireat', -3, W | F, KEY1, 'generic', 'key', 'keyspace write fast', '2.6.0', 'Sets the expiration time of a key to a Unix milliseconds timestamp.'),
  row('ttl', 2, R | F, KEY1, 'generic', 'key', 'keyspace read fast', '1.0.0', 'Returns the expiration time in seconds of a key.'),
  row('pttl', 2, R | F, KEY1, 'generic', 'key', 'keyspace read fast', '2.6.0', 'Returns the expiration time in milliseconds of a key.'),
  row('expiretime', 2, R | F, KEY1, 'generic', 'key', 'keyspace read fast', '7.0.0', 'Returns the expiration time of a key as a Unix timestamp.'),
  row('pexpiretime', 2, R | F, KEY1, 'generic', 'key', 'keyspace read fast', '7.0.0', 'Returns the expiration time of a key as a Unix milliseconds timestamp.'),
  row('persist', 2, W | F, KEY1, 'generic', 'key', 'keyspace write fast', '2.2.0', 'Removes the expiration time of a key.'),
  row('rename', 3, W, [1, 2, 1], 'generic', 'special', 'keyspace write slow', '1.0.0', 'Renames a key and overwrites the destination.'),
  row('renamenx', 3, W | F, [1, 2, 1], 'generic', 'special', 'keyspace write fast', '1.0.0', 'Renames a key only when the target key name doesn\'t exist.'),
  row('copy', -3, W | M, [1, 2, 1], 'generic', 'special', 'keyspace write slow', '6.2.0', 'Copies the value of a key to a new key.'),
  row('keys', 2, R, NOKEYS, 'generic', 'all', 'keyspace read slow dangerous', '1.0.0', 'Returns all key names that match a pattern.'),
  row('scan', -2, R, NOKEYS, 'generic', 'special', 'keyspace read slow', '2.8.0', 'Iterates over the key names in the database.'),
  row('randomkey', 1, R, NOKEYS, 'generic', 'special', 'keyspace read slow', '1.0.0', 'Returns a random key name from the database.'),
  row('dbsize', 1, R | F, NOKEYS, 'server', 'all', 'keyspace read fast', '1.0.0', 'Returns the number of keys in the database.'),
  row('flushall', -1, W, NOKEYS, 'server', 'all', 'keyspace write slow dangerous', '1.0.0', 'Removes all keys from all databases.'),
  row('flushdb', -1, W, NOKEYS, 'server', 'all', 'keyspace write slow dangerous', '1.0.0', 'Remove all keys from the current database.'),

  // connection
  row('ping', -1, F | S, NOKEYS, 'connection', 'local', 'fast connection', '1.0.0', 'Returns the server\'s liveliness response.'),
  row('echo', 2, F | S | L, NOKEYS, 'connection', 'local', 'fast connection', '1.0.0', 'Returns the given string.'),
  row('hello', -1, F | S | L | NS | NA, NOKEYS, 'connection', 'local', 'fast connection', '6.0.0', 'Handshakes with the Redis server.'),
  row('select', 2, F | S | L, NOKEYS, 'connection', 'local', 'fast connection', '1.0.0', 'Changes the selected database.'),
  row('quit', -1, F | S | L | NS | NA, NOKEYS, 'connection', 'local', 'fast connection', '1.0.0', 'Closes the connection.'),
  row('reset', 1, F | S | L | NS | NA, NOKEYS, 'connection', 'local', 'fast connection', '6.2.0', 'Resets the connection.'),
  row('client', -2, S | L | NS, NOKEYS, 'connection', 'local', 'slow connection', '2.4.0', 'A container for client connection commands.',
    ['setname', 'getname', 'id', 'info', 'setinfo', 'list', 'kill', 'pause', 'unpause', 'reply', 'no-evict', 'no-touch', 'help']),
  // AUTH and ACL: the proxy's users (proxy/acl/); a worker's direct clients have only `default`.
  row('auth', -2, NS | L | S | F | NA | AB, NOKEYS, 'connection', 'local', 'fast connection', '1.0.0', 'Authenticates the connection.'),
  row('acl', -2, 0, NOKEYS, 'server', 'local', 'slow', '6.0.0', 'A container for Access List Control commands.',
    ['cat', 'deluser', 'dryrun', 'genpass', 'getuser', 'list', 'load', 'log', 'save', 'setuser', 'users', 'whoami', 'help']),
  row('readonly', 1, F | S | L, NOKEYS, 'cluster', 'local', 'fast connection', '3.0.0', 'Enables read-only queries for a connection to a Redis Cluster replica node.'),
  row('readwrite', 1, F | S | L, NOKEYS, 'cluster', 'local', 'fast connection', '3.0.0', 'Enables read-write queries for a connection to a Reids Cluster replica node.'),

  // server
  row('time', 1, F | S | L, NOKEYS, 'server', 'local', 'fast', '2.6.0', 'Returns the server time.'),
  row('command', -1, S | L, NOKEYS, 'server', 'local', 'slow connection', '2.8.13', 'Returns detailed information about all commands.',
    ['count', 'info', 'docs', 'getkeys', 'list', 'help']),
  row('info', -1, S | L, NOKEYS, 'server', 'local', 'slow dangerous', '1.0.0', 'Returns information and statistics about the server.'),
  row('config', -2, A | S | L | NS, NOKEYS, 'server', 'local', 'admin slow dangerous', '2.0.0', 'A container for server configuration commands.',
    ['get', 'set', 'resetstat', 'rewrite', 'help']),
  // Answered by the proxy, which times commands end to end (proxy/slowlog.ts).
  row('slowlog', -2, A | S | L, NOKEYS, 'server', 'local', 'admin slow dangerous', '2.2.12', 'A container for slow log commands',
    ['get', 'len', 'reset', 'help']),
  row('object', -2, R | S, NOKEYS, 'generic', 'special', 'keyspace read slow', '2.2.3', 'A container for object introspection commands.',
    ['encoding', 'freq', 'idletime', 'refcount', 'help']),
  row('memory', -2, R, NOKEYS, 'server', 'special', 'slow', '4.0.0', 'A container for memory diagnostics commands.',
    ['usage', 'stats', 'doctor', 'malloc-stats', 'purge', 'help']),
  row('cluster', -2, S, NOKEYS, 'cluster', 'local', 'slow', '3.0.0', 'A container for Redis Cluster commands.',
    ['slots', 'shards', 'nodes', 'keyslot', 'myid', 'info', 'help']),

  // transactions (shard/commands/transactions.ts, proxy/transactions.ts)
  row('multi', 1, NS | L | S | F | AB, NOKEYS, 'transactions', 'transaction', 'fast transaction', '1.2.0', 'Mark the start of a transaction block'),
  row('exec', 1, NS | L | S | SS, NOKEYS, 'transactions', 'transaction', 'slow transaction', '1.2.0', 'Execute all commands issued after MULTI'),
  row('discard', 1, NS | L | S | F | AB, NOKEYS, 'transactions', 'transaction', 'fast transaction', '2.0.0', 'Discard all commands issued after MULTI'),
  row('watch', -2, NS | L | S | F | AB, KEYS_ALL, 'transactions', 'transaction', 'fast transaction', '2.2.0', 'Watch the given keys to determine execution of the MULTI/EXEC block'),
  row('unwatch', 1, NS | L | S | F | AB, NOKEYS, 'transactions', 'transaction', 'fast transaction', '2.2.0', 'Forget about all watched keys'),

  ...LIST_ROWS, ...HASH_ROWS, ...SET_ROWS, ...ZSET_ROWS, ...BITMAP_ROWS, ...HYPERLOGLOG_ROWS, ...BLOOM_ROWS,
  ...PUBSUB_ROWS,
  ...SNAPSHOT_ROWS,
  ...CONSISTENCY_ROWS,
  ...REPLICATION_ROWS,
];

const BY_NAME = new Map<string, CommandSpec>(COMMANDS.map((c) => [c.name, c]));

/** Look up a command by its lower-case name. */
export function lookupCommand(lowerName: string): CommandSpec | undefined {
  return BY_NAME.get(lowerName);
}

/**
 * Internal commands: accepted only on framed proxy links (never from clients).
 * The proxy uses them to move keys between workers.
 */
export const INTERNAL_COMMANDS: readonly CommandSpec[] = [
  row('shoal.dumpkey', -2, R, KEY1, 'generic', 'key', 'keyspace read', '0.1.0', 'Internal: type, expiry and value bytes of a key (NOMISS: a RENAME source, no keymiss event).'),
  row('shoal.restorekey', -6, W | M, KEY1, 'generic', 'key', 'keyspace write', '0.1.0', 'Internal: store a key dumped by SHOAL.DUMPKEY (RENAME|COPY: publish rename_to / copy_to).'),
  row('shoal.renamefrom', 2, W, KEY1, 'generic', 'key', 'keyspace write', '0.1.0', 'Internal: delete the source of a RENAME across workers (publishes rename_from, not del).'),
  // WATCH through the proxy (shard/commands/transactions.ts): tokens per key, checked right before MULTI in an EXEC group.
  row('shoal.watch', -2, R | F, KEYS_ALL, 'transactions', 'key', 'transaction', '0.1.0', 'Internal: register a watch and return one modification token per key.'),
  row('shoal.checkwatch', -3, R | F, [1, -1, 2], 'transactions', 'key', 'transaction', '0.1.0', 'Internal: mark the next EXEC aborted when a key\'s token changed.'),
  row('shoal.unwatch', 2, F, NOKEYS, 'transactions', 'key', 'transaction', '0.1.0', 'Internal: drop watch registrations made by SHOAL.WATCH.'),
  // CLIENT NO-TOUCH through the proxy: `SHOAL.NOTOUCH 1`, the client's command, `SHOAL.NOTOUCH 0`.
  row('shoal.notouch', 2, F, NOKEYS, 'generic', 'key', 'keyspace', '0.1.0', 'Internal: reads until SHOAL.NOTOUCH 0 leave LRU/LFU alone.'),
  ...PUBSUB_INTERNAL_ROWS,
];
