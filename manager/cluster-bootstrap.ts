/**
 * First start of a cluster-mode Shoal: the leading manager creates the topology in
 * etcd from the cluster file, then waits for the shard processes to come up before it
 * health-checks them.
 *
 * Why wait: processes on other machines start in any order and take seconds. Without
 * a grace, a primary whose replica happens to start first misses `failover-misses`
 * checks and is "failed over" before it ever ran, and the cluster starts with its
 * primaries where the cluster file put replicas. So, only when THIS manager created
 * the topology (a takeover or a restart of an existing cluster never waits), failover
 * starts once every endpoint answered PING, or after BOOTSTRAP_GRACE_MS at most (a
 * machine that is really down is then failed over as usual).
 */
import type { Logger } from '../shared/log.js';
import type { ShoalConfig } from '../shared/config/schema.js';
import { endpointName, type Topology, type WorkerEndpoint } from '../shared/cluster/topology.js';
import { WorkerConn } from './worker-conn.js';

/** Longest wait for a new cluster's workers before failover starts. A guess: a slow machine's start. */
export const BOOTSTRAP_GRACE_MS = 30_000;
const POLL_MS = 100;

/**
 * Resolves once every endpoint of `topology` answered PING (true) or `graceMs` passed
 * or `keepWaiting()` turned false (false). Logs who it still waits for every 5 s.
 */
export async function awaitWorkersUp(topology: Topology, config: Pick<ShoalConfig, 'tlsCluster'> & Partial<ShoalConfig>, log: Logger,
  keepWaiting: () => boolean, graceMs = BOOTSTRAP_GRACE_MS): Promise<boolean> {
  const endpoints: WorkerEndpoint[] = [...topology.workers, ...(topology.replicas ?? [])];
  const conns = new Map(endpoints.map((w) => [w, new WorkerConn(w.host, w.port, config)]));
  const up = new Set<WorkerEndpoint>();
  const started = Date.now();
  let lastLog = started;
  try {
    while (up.size < endpoints.length) {
      if (!keepWaiting()) return false;
      const now = Date.now();
      if (now - started >= graceMs) {
        log.warn({ waitedMs: now - started, missing: endpoints.filter((w) => !up.has(w)).map(endpointName) }, 'new cluster: not every worker answered; starting failover anyway');
        return false;
      }
      if (now - lastLog >= 5000) {
        lastLog = now;
        log.info({ missing: endpoints.filter((w) => !up.has(w)).map(endpointName) }, 'new cluster: waiting for the shard processes to answer before health checks count');
      }
      await Promise.all([...conns].filter(([w]) => !up.has(w)).map(async ([w, c]) => {
        c.ensureConnected();
        if (!c.connected) return;
        const r = await c.send(['PING'], 1000).catch(() => null);
        if (r === 'PONG') up.add(w);
      }));
      if (up.size < endpoints.length) await new Promise((r) => setTimeout(r, POLL_MS));
    }
    log.info({ workers: endpoints.length, ms: Date.now() - started }, 'new cluster: every worker answers');
    return true;
  } finally {
    for (const c of conns.values()) c.close();
  }
}
