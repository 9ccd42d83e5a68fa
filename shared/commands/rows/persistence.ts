/**
 * Persistence commands (docs/persistence.md). Arity, flags, ACL categories, since and
 * summary from Redis 7.0's COMMAND INFO / COMMAND DOCS. Route 'all': through the proxy
 * every worker saves its own keyspace and the replies are joined (proxy/fanout.ts).
 * The append-only log's BGREWRITEAOF row belongs here too.
 */
import { CMD_ADMIN as A, CMD_NOSCRIPT as NS, CMD_LOADING as L, CMD_STALE as S, CMD_FAST as F, type CommandSpec } from '../spec.js';
import { row, NOKEYS } from '../row.js';

export const SNAPSHOT_ROWS: readonly CommandSpec[] = [
  row('save', 1, A | NS, NOKEYS, 'server', 'all', 'admin slow dangerous', '1.0.0', 'Synchronously save the dataset to disk'),
  row('bgsave', -1, A | NS, NOKEYS, 'server', 'all', 'admin slow dangerous', '1.0.0', 'Asynchronously save the dataset to disk'),
  row('lastsave', 1, L | S | F, NOKEYS, 'server', 'all', 'admin fast dangerous', '1.0.0', 'Get the UNIX time stamp of the last successful save to disk'),
  row('bgrewriteaof', 1, A | NS, NOKEYS, 'server', 'all', 'admin slow dangerous', '1.0.0', 'Asynchronously rewrite the append-only file'),
];
