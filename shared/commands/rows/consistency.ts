/**
 * Consistency commands (docs/consistency.md). Route 'local': through the proxy both are
 * answered by proxy/consistency.ts (CONSISTENCY is per proxy connection; WAIT waits on
 * the primaries the client wrote to, polling ROLE, so the shared worker link is never
 * held). A worker answers them for its direct clients (shard/replication/).
 * WAIT's arity, flags, ACL categories, since and summary are Redis 7.0's.
 */
import { CMD_FAST as F, CMD_STALE as S, CMD_LOADING as L, CMD_NOSCRIPT as NS, type CommandSpec } from '../spec.js';
import { row, NOKEYS } from '../row.js';

export const CONSISTENCY_ROWS: readonly CommandSpec[] = [
  row('consistency', -1, F | S | L | NS, NOKEYS, 'connection', 'local', 'fast connection', '0.1.0', 'Returns or sets the connection\'s consistency level: eventual, strong or session.'),
  row('wait', 3, NS, NOKEYS, 'generic', 'local', 'slow connection', '3.0.0', 'Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.'),
];
