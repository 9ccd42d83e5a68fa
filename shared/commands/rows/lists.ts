/**
 * Command table rows: lists. Handlers: shard/commands/lists.ts.
 */
import { CMD_WRITE as W, CMD_READONLY as R, CMD_DENYOOM as M, CMD_FAST as F, CMD_NOSCRIPT as NS, CMD_BLOCKING as B, type CommandSpec } from '../spec.js';
import { row, withNumkeys, NOKEYS, KEY1 } from '../row.js';

const SRC_DST: [number, number, number] = [1, 2, 1];
const KEYS_BUT_TIMEOUT: [number, number, number] = [1, -2, 1];

export const LIST_ROWS: readonly CommandSpec[] = [
  row('lpush', -3, W | M | F, KEY1, 'list', 'key', 'write list fast', '1.0.0', 'Prepend one or multiple elements to a list'),
  row('rpush', -3, W | M | F, KEY1, 'list', 'key', 'write list fast', '1.0.0', 'Append one or multiple elements to a list'),
  row('lpushx', -3, W | M | F, KEY1, 'list', 'key', 'write list fast', '2.2.0', 'Prepend an element to a list, only if the list exists'),
  row('rpushx', -3, W | M | F, KEY1, 'list', 'key', 'write list fast', '2.2.0', 'Append an element to a list, only if the list exists'),
  row('lpop', -2, W | F, KEY1, 'list', 'key', 'write list fast', '1.0.0', 'Remove and get the first elements in a list'),
  row('rpop', -2, W | F, KEY1, 'list', 'key', 'write list fast', '1.0.0', 'Remove and get the last elements in a list'),
  row('llen', 2, R | F, KEY1, 'list', 'key', 'read list fast', '1.0.0', 'Get the length of a list'),
  row('lrange', 4, R, KEY1, 'list', 'key', 'read list slow', '1.0.0', 'Get a range of elements from a list'),
  row('lindex', 3, R, KEY1, 'list', 'key', 'read list slow', '1.0.0', 'Get an element from a list by its index'),
  row('lset', 4, W | M, KEY1, 'list', 'key', 'write list slow', '1.0.0', 'Set the value of an element in a list by its index'),
  row('linsert', 5, W | M, KEY1, 'list', 'key', 'write list slow', '2.2.0', 'Insert an element before or after another element in a list'),
  row('lrem', 4, W, KEY1, 'list', 'key', 'write list slow', '1.0.0', 'Remove elements from a list'),
  row('ltrim', 4, W, KEY1, 'list', 'key', 'write list slow', '1.0.0', 'Trim a list to the specified range'),
  row('lpos', -3, R, KEY1, 'list', 'key', 'read list slow', '6.0.6', 'Return the index of matching elements on a list'),
  row('lmove', 5, W | M, SRC_DST, 'list', 'key', 'write list slow', '6.2.0', 'Pop an element from a list, push it to another list and return it'),
  row('rpoplpush', 3, W | M, SRC_DST, 'list', 'key', 'write list slow', '1.2.0', 'Remove the last element in a list, prepend it to another list and return it'),
  withNumkeys(row('lmpop', -4, W, NOKEYS, 'list', 'key', 'write list slow', '7.0.0', 'Pop elements from a list'), 1),
  row('blpop', -3, W | NS | B, KEYS_BUT_TIMEOUT, 'list', 'key', 'write list slow blocking', '2.0.0', 'Remove and get the first element in a list, or block until one is available'),
  row('brpop', -3, W | NS | B, KEYS_BUT_TIMEOUT, 'list', 'key', 'write list slow blocking', '2.0.0', 'Remove and get the last element in a list, or block until one is available'),
  row('blmove', 6, W | M | NS | B, SRC_DST, 'list', 'key', 'write list slow blocking', '6.2.0', 'Pop an element from a list, push it to another list and return it; or block until one is available'),
  row('brpoplpush', 4, W | M | NS | B, SRC_DST, 'list', 'key', 'write list slow blocking', '2.2.0', 'Pop an element from a list, push it to another list and return it; or block until one is available'),
  withNumkeys(row('blmpop', -5, W | B, NOKEYS, 'list', 'key', 'write list slow blocking', '7.0.0', 'Pop elements from a list, or block until one is available'), 2),
];
