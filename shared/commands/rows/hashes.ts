/**
 * Command table rows: hashes. Handlers: shard/commands/hashes.ts.
 * Arity, flags, keys, ACL categories, since and summary as Redis 7.0's COMMAND INFO / DOCS.
 */
import { CMD_WRITE as W, CMD_READONLY as R, CMD_DENYOOM as M, CMD_FAST as F, type CommandSpec } from '../spec.js';
import { row, KEY1 } from '../row.js';

export const HASH_ROWS: readonly CommandSpec[] = [
  row('hset', -4, W | M | F, KEY1, 'hash', 'key', 'write hash fast', '2.0.0', 'Set the string value of a hash field'),
  row('hsetnx', 4, W | M | F, KEY1, 'hash', 'key', 'write hash fast', '2.0.0', 'Set the value of a hash field, only if the field does not exist'),
  row('hmset', -4, W | M | F, KEY1, 'hash', 'key', 'write hash fast', '2.0.0', 'Set multiple hash fields to multiple values'),
  row('hget', 3, R | F, KEY1, 'hash', 'key', 'read hash fast', '2.0.0', 'Get the value of a hash field'),
  row('hmget', -3, R | F, KEY1, 'hash', 'key', 'read hash fast', '2.0.0', 'Get the values of all the given hash fields'),
  row('hdel', -3, W | F, KEY1, 'hash', 'key', 'write hash fast', '2.0.0', 'Delete one or more hash fields'),
  row('hlen', 2, R | F, KEY1, 'hash', 'key', 'read hash fast', '2.0.0', 'Get the number of fields in a hash'),
  row('hstrlen', 3, R | F, KEY1, 'hash', 'key', 'read hash fast', '3.2.0', 'Get the length of the value of a hash field'),
  row('hexists', 3, R | F, KEY1, 'hash', 'key', 'read hash fast', '2.0.0', 'Determine if a hash field exists'),
  row('hkeys', 2, R, KEY1, 'hash', 'key', 'read hash slow', '2.0.0', 'Get all the fields in a hash'),
  row('hvals', 2, R, KEY1, 'hash', 'key', 'read hash slow', '2.0.0', 'Get all the values in a hash'),
  row('hgetall', 2, R, KEY1, 'hash', 'key', 'read hash slow', '2.0.0', 'Get all the fields and values in a hash'),
  row('hincrby', 4, W | M | F, KEY1, 'hash', 'key', 'write hash fast', '2.0.0', 'Increment the integer value of a hash field by the given number'),
  row('hincrbyfloat', 4, W | M | F, KEY1, 'hash', 'key', 'write hash fast', '2.6.0', 'Increment the float value of a hash field by the given amount'),
  row('hrandfield', -2, R, KEY1, 'hash', 'key', 'read hash slow', '6.2.0', 'Get one or multiple random fields from a hash'),
  row('hscan', -3, R, KEY1, 'hash', 'key', 'read hash slow', '2.8.0', 'Incrementally iterate hash fields and associated values'),
];
