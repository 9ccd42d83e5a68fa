/**
 * Replication command rows (docs/replication.md). ROLE, REPLCONF, PSYNC, SYNC,
 * REPLICAOF and SLAVEOF carry Redis 7.0's arity, flags, ACL categories, since and
 * summary (COMMAND INFO / COMMAND DOCS of redis-server 7.0.15). SHOAL.LEASE,
 * SHOAL.TOPOLOGY and SHOAL.FENCE are the manager's control commands: ordinary rows (not
 * INTERNAL_COMMANDS) so a plain RESP connection to a worker can send them. All are
 * answered by the worker itself (shard/commands/replication.ts); CONSISTENCY and WAIT
 * rows live in ./consistency.ts.
 */
import { CMD_ADMIN as A, CMD_NOSCRIPT as NS, CMD_LOADING as L, CMD_STALE as S, CMD_FAST as F, CMD_ALLOW_BUSY as AB, type CommandSpec } from '../spec.js';
import { row, NOKEYS } from '../row.js';

export const REPLICATION_ROWS: readonly CommandSpec[] = [
  row('role', 1, NS | L | S | F, NOKEYS, 'server', 'local', 'admin fast dangerous', '2.8.12', 'Return the role of the instance in the context of replication'),
  row('replconf', -1, A | NS | L | S | AB, NOKEYS, 'server', 'local', 'admin slow dangerous', '3.0.0', 'An internal command for configuring the replication stream'),
  row('psync', -3, A | NS, NOKEYS, 'server', 'local', 'admin slow dangerous', '2.8.0', 'Internal command used for replication'),
  row('sync', 1, A | NS, NOKEYS, 'server', 'local', 'admin slow dangerous', '1.0.0', 'Internal command used for replication'),
  row('replicaof', 3, A | NS | S, NOKEYS, 'server', 'local', 'admin slow dangerous', '5.0.0', 'Make the server a replica of another instance, or promote it as master.'),
  row('slaveof', 3, A | NS | S, NOKEYS, 'server', 'local', 'admin slow dangerous', '1.0.0', 'Make the server a replica of another instance, or promote it as master.'),
  row('shoal.lease', 3, A | NS | L | S | F, NOKEYS, 'server', 'local', 'admin fast dangerous', '0.1.0', 'Manager health check: renews a primary\'s lease; returns role, offset, epoch and link state.'),
  row('shoal.topology', 3, A | NS | L | S, NOKEYS, 'server', 'local', 'admin slow dangerous', '0.1.0', 'Manager: adopts a topology of this epoch or newer (role changes, slot owners).'),
  row('shoal.fence', 1, A | NS | L | S | F, NOKEYS, 'server', 'local', 'admin fast dangerous', '0.1.0', 'Manual failover: stops writes on this primary and returns its replication offset.'),
];
