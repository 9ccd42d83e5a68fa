/**
 * Command table rows: bloom (RedisBloom's BF.* names, arities and flags). Handlers:
 * shard/commands/bloom.ts. Upper arity bounds (BF.RESERVE <= 7, BF.INFO <= 3) are
 * checked by the handlers, as the module does.
 */
import { CMD_WRITE as W, CMD_READONLY as R, CMD_DENYOOM as M, CMD_FAST as F, type CommandSpec } from '../spec.js';
import { row, KEY1 } from '../row.js';

export const BLOOM_ROWS: readonly CommandSpec[] = [
  row('bf.reserve', -4, W | M | F, KEY1, 'bloom', 'key', 'write bloom fast', '1.0.0', 'Creates a new Bloom Filter'),
  row('bf.add', 3, W | M, KEY1, 'bloom', 'key', 'write bloom slow', '1.0.0', 'Adds an item to a Bloom Filter'),
  row('bf.madd', -3, W | M, KEY1, 'bloom', 'key', 'write bloom slow', '1.0.0', 'Adds one or more items to a Bloom Filter. A filter will be created if it does not exist'),
  row('bf.insert', -4, W | M, KEY1, 'bloom', 'key', 'write bloom slow', '1.0.0', 'Adds one or more items to a Bloom Filter. A filter will be created if it does not exist'),
  row('bf.exists', 3, R | F, KEY1, 'bloom', 'key', 'read bloom fast', '1.0.0', 'Checks whether an item exists in a Bloom Filter'),
  row('bf.mexists', -3, R | F, KEY1, 'bloom', 'key', 'read bloom fast', '1.0.0', 'Checks whether one or more items exist in a Bloom Filter'),
  row('bf.info', -2, R | F, KEY1, 'bloom', 'key', 'read bloom fast', '1.0.0', 'Returns information about a Bloom Filter'),
  row('bf.card', 2, R | F, KEY1, 'bloom', 'key', 'read bloom fast', '2.4.4', 'Returns the cardinality of a Bloom filter'),
];
