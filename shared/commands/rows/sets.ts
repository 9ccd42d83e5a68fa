/**
 * Command table rows: sets. Handlers: shard/commands/sets.ts.
 */
import { CMD_WRITE as W, CMD_READONLY as R, CMD_DENYOOM as M, CMD_FAST as F, type CommandSpec } from '../spec.js';
import { row, withNumkeys, NOKEYS, KEY1, KEYS_ALL } from '../row.js';

export const SET_ROWS: readonly CommandSpec[] = [
  row('sadd', -3, W | M | F, KEY1, 'set', 'key', 'write set fast', '1.0.0', 'Add one or more members to a set'),
  row('srem', -3, W | F, KEY1, 'set', 'key', 'write set fast', '1.0.0', 'Remove one or more members from a set'),
  row('scard', 2, R | F, KEY1, 'set', 'key', 'read set fast', '1.0.0', 'Get the number of members in a set'),
  row('sismember', 3, R | F, KEY1, 'set', 'key', 'read set fast', '1.0.0', 'Determine if a given value is a member of a set'),
  row('smismember', -3, R | F, KEY1, 'set', 'key', 'read set fast', '6.2.0', 'Returns the membership associated with the given elements for a set'),
  row('smembers', 2, R, KEY1, 'set', 'key', 'read set slow', '1.0.0', 'Get all the members in a set'),
  row('srandmember', -2, R, KEY1, 'set', 'key', 'read set slow', '1.0.0', 'Get one or multiple random members from a set'),
  row('spop', -2, W | F, KEY1, 'set', 'key', 'write set fast', '1.0.0', 'Remove and return one or multiple random members from a set'),
  row('smove', 4, W | F, [1, 2, 1], 'set', 'key', 'write set fast', '1.0.0', 'Move a member from one set to another'),
  row('sinter', -2, R, KEYS_ALL, 'set', 'gather', 'read set slow', '1.0.0', 'Intersect multiple sets'),
  withNumkeys(row('sintercard', -3, R, NOKEYS, 'set', 'gather', 'read set slow', '7.0.0', 'Intersect multiple sets and return the cardinality of the result'), 1),
  row('sunion', -2, R, KEYS_ALL, 'set', 'gather', 'read set slow', '1.0.0', 'Add multiple sets'),
  row('sdiff', -2, R, KEYS_ALL, 'set', 'gather', 'read set slow', '1.0.0', 'Subtract multiple sets'),
  row('sinterstore', -3, W | M, KEYS_ALL, 'set', 'gather', 'write set slow', '1.0.0', 'Intersect multiple sets and store the resulting set in a key'),
  row('sunionstore', -3, W | M, KEYS_ALL, 'set', 'gather', 'write set slow', '1.0.0', 'Add multiple sets and store the resulting set in a key'),
  row('sdiffstore', -3, W | M, KEYS_ALL, 'set', 'gather', 'write set slow', '1.0.0', 'Subtract multiple sets and store the resulting set in a key'),
  row('sscan', -3, R, KEY1, 'set', 'key', 'read set slow', '2.8.0', 'Incrementally iterate Set elements'),
];
