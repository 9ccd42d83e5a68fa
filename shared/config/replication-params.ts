/**
 * CONFIG GET / CONFIG SET parameters of replication (docs/replication.md), named and
 * worded as Redis 7: `repl-backlog-size` (bytes, at least 16kb: Redis raises smaller
 * values to its minimum), `min-replicas-to-write` / `min-replicas-max-lag` (with their
 * `min-slaves-*` aliases), and Shoal's `consistency` (the default level of a new
 * connection). The proxy forwards CONFIG SET to every worker.
 */
import type { Param } from './param.js';
import { intParam } from './param.js';
import { parseBytes } from './schema.js';

/** Redis's CONFIG_REPL_BACKLOG_MIN_SIZE. */
const BACKLOG_MIN = 16 * 1024;
const LEVELS = ['eventual', 'strong', 'session'] as const;

export const REPLICATION_PARAMS: readonly Param[] = [
  {
    name: 'repl-backlog-size',
    get: (rc) => String(rc.config.replBacklogSize),
    set: (rc, v) => {
      const n = parseBytes(v);
      if (n === undefined) return 'argument must be a memory value';
      if (n < 1) return 'argument must be between 1 and 9223372036854775807 inclusive';
      rc.config.replBacklogSize = Math.max(BACKLOG_MIN, n);
      return undefined;
    },
  },
  intParam('min-replicas-to-write', 'minReplicasToWrite', 0, 2147483647, 'min-slaves-to-write'),
  intParam('min-replicas-max-lag', 'minReplicasMaxLag', 0, 2147483647, 'min-slaves-max-lag'),
  {
    name: 'consistency',
    get: (rc) => rc.config.consistency,
    set: (rc, v) => {
      const l = v.toLowerCase();
      if (!(LEVELS as readonly string[]).includes(l)) return `argument(s) must be one of the following: ${LEVELS.join(', ')}`;
      rc.config.consistency = l as (typeof LEVELS)[number];
      return undefined;
    },
  },
];
