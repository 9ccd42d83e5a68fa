/**
 * Command table rows: sorted sets. Handlers: shard/commands/zsets.ts (and the
 * zsets-*.ts files it merges). Arity, flags, keys, ACL categories and `since` as
 * Redis 7.0's COMMAND INFO / COMMAND DOCS give them.
 */
import type { CommandSpec } from '../spec.js';
import { CMD_WRITE as W, CMD_READONLY as R, CMD_DENYOOM as M, CMD_FAST as F, CMD_NOSCRIPT as NS, CMD_BLOCKING as B } from '../spec.js';
import { row, withNumkeys, KEY1, NOKEYS } from '../row.js';

const Z = 'sorted-set';

export const ZSET_ROWS: readonly CommandSpec[] = [
  row('zadd', -4, W | M | F, KEY1, Z, 'key', 'write sortedset fast', '1.2.0', 'Add one or more members to a sorted set, or update its score if it already exists'),
  row('zincrby', 4, W | M | F, KEY1, Z, 'key', 'write sortedset fast', '1.2.0', 'Increment the score of a member in a sorted set'),
  row('zrem', -3, W | F, KEY1, Z, 'key', 'write sortedset fast', '1.2.0', 'Remove one or more members from a sorted set'),
  row('zcard', 2, R | F, KEY1, Z, 'key', 'read sortedset fast', '1.2.0', 'Get the number of members in a sorted set'),
  row('zcount', 4, R | F, KEY1, Z, 'key', 'read sortedset fast', '2.0.0', 'Count the members in a sorted set with scores within the given values'),
  row('zlexcount', 4, R | F, KEY1, Z, 'key', 'read sortedset fast', '2.8.9', 'Count the number of members in a sorted set between a given lexicographical range'),
  row('zscore', 3, R | F, KEY1, Z, 'key', 'read sortedset fast', '1.2.0', 'Get the score associated with the given member in a sorted set'),
  row('zmscore', -3, R | F, KEY1, Z, 'key', 'read sortedset fast', '6.2.0', 'Get the score associated with the given members in a sorted set'),
  row('zrank', 3, R | F, KEY1, Z, 'key', 'read sortedset fast', '2.0.0', 'Determine the index of a member in a sorted set'),
  row('zrevrank', 3, R | F, KEY1, Z, 'key', 'read sortedset fast', '2.0.0', 'Determine the index of a member in a sorted set, with scores ordered from high to low'),
  row('zrange', -4, R, KEY1, Z, 'key', 'read sortedset slow', '1.2.0', 'Return a range of members in a sorted set'),
  row('zrangestore', -5, W | M, [1, 2, 1], Z, 'gather', 'write sortedset slow', '6.2.0', 'Store a range of members from sorted set into another key'),
  row('zrangebyscore', -4, R, KEY1, Z, 'key', 'read sortedset slow', '1.0.5', 'Return a range of members in a sorted set, by score'),
  row('zrevrangebyscore', -4, R, KEY1, Z, 'key', 'read sortedset slow', '2.2.0', 'Return a range of members in a sorted set, by score, with scores ordered from high to low'),
  row('zrangebylex', -4, R, KEY1, Z, 'key', 'read sortedset slow', '2.8.9', 'Return a range of members in a sorted set, by lexicographical range'),
  row('zrevrangebylex', -4, R, KEY1, Z, 'key', 'read sortedset slow', '2.8.9', 'Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.'),
  row('zrevrange', -4, R, KEY1, Z, 'key', 'read sortedset slow', '1.2.0', 'Return a range of members in a sorted set, by index, with scores ordered from high to low'),
  row('zremrangebyrank', 4, W, KEY1, Z, 'key', 'write sortedset slow', '2.0.0', 'Remove all members in a sorted set within the given indexes'),
  row('zremrangebyscore', 4, W, KEY1, Z, 'key', 'write sortedset slow', '1.2.0', 'Remove all members in a sorted set within the given scores'),
  row('zremrangebylex', 4, W, KEY1, Z, 'key', 'write sortedset slow', '2.8.9', 'Remove all members in a sorted set between the given lexicographical range'),
  row('zpopmin', -2, W | F, KEY1, Z, 'key', 'write sortedset fast', '5.0.0', 'Remove and return members with the lowest scores in a sorted set'),
  row('zpopmax', -2, W | F, KEY1, Z, 'key', 'write sortedset fast', '5.0.0', 'Remove and return members with the highest scores in a sorted set'),
  withNumkeys(row('zmpop', -4, W, NOKEYS, Z, 'key', 'write sortedset slow', '7.0.0', 'Remove and return members with scores in a sorted set'), 1),
  row('zrandmember', -2, R, KEY1, Z, 'key', 'read sortedset slow', '6.2.0', 'Get one or multiple random elements from a sorted set'),
  withNumkeys(row('zunion', -3, R, NOKEYS, Z, 'gather', 'read sortedset slow', '6.2.0', 'Add multiple sorted sets'), 1),
  withNumkeys(row('zinter', -3, R, NOKEYS, Z, 'gather', 'read sortedset slow', '6.2.0', 'Intersect multiple sorted sets'), 1),
  withNumkeys(row('zdiff', -3, R, NOKEYS, Z, 'gather', 'read sortedset slow', '6.2.0', 'Subtract multiple sorted sets'), 1),
  withNumkeys(row('zunionstore', -4, W | M, KEY1, Z, 'gather', 'write sortedset slow', '2.0.0', 'Add multiple sorted sets and store the resulting sorted set in a new key'), 2),
  withNumkeys(row('zinterstore', -4, W | M, KEY1, Z, 'gather', 'write sortedset slow', '2.0.0', 'Intersect multiple sorted sets and store the resulting sorted set in a new key'), 2),
  withNumkeys(row('zdiffstore', -4, W | M, KEY1, Z, 'gather', 'write sortedset slow', '6.2.0', 'Subtract multiple sorted sets and store the resulting sorted set in a new key'), 2),
  withNumkeys(row('zintercard', -3, R, NOKEYS, Z, 'gather', 'read sortedset slow', '7.0.0', 'Intersect multiple sorted sets and return the cardinality of the result'), 1),
  row('zscan', -3, R, KEY1, Z, 'key', 'read sortedset slow', '2.8.0', 'Incrementally iterate sorted sets elements and associated scores'),
  row('bzpopmin', -3, W | NS | B | F, [1, -2, 1], Z, 'key', 'write sortedset fast blocking', '5.0.0', 'Remove and return the member with the lowest score from one or more sorted sets, or block until one is available'),
  row('bzpopmax', -3, W | NS | B | F, [1, -2, 1], Z, 'key', 'write sortedset fast blocking', '5.0.0', 'Remove and return the member with the highest score from one or more sorted sets, or block until one is available'),
  withNumkeys(row('bzmpop', -5, W | B, NOKEYS, Z, 'key', 'write sortedset slow blocking', '7.0.0', 'Remove and return members with scores in a sorted set or block until one is available'), 2),
];
