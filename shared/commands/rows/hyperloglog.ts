/**
 * Command table rows: hyperloglog. Handlers: shard/commands/hyperloglog.ts.
 */
import { CMD_WRITE as W, CMD_READONLY as R, CMD_DENYOOM as M, CMD_FAST as F, type CommandSpec } from '../spec.js';
import { row, KEY1, KEYS_ALL } from '../row.js';

export const HYPERLOGLOG_ROWS: readonly CommandSpec[] = [
  row('pfadd', -2, W | M | F, KEY1, 'hyperloglog', 'key', 'write hyperloglog fast', '2.8.9', 'Adds the specified elements to the specified HyperLogLog.'),
  // Several keys: read them all and answer (no write); one key caches the cardinality in the value, as Redis.
  row('pfcount', -2, R, KEYS_ALL, 'hyperloglog', 'gather', 'read hyperloglog slow', '2.8.9', 'Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).'),
  row('pfmerge', -2, W | M, KEYS_ALL, 'hyperloglog', 'gather', 'write hyperloglog slow', '2.8.9', 'Merge N different HyperLogLogs into a single one.'),
];
