/**
 * Topology: which worker owns which hash slots, which replicas follow it, and which
 * processes make up the cluster. The manager is the only writer (manager/); proxies
 * and shards read it.
 *
 * A replication group is one (shard, worker) pair: exactly one primary endpoint in
 * `workers` (it owns the group's slots) and 0..N replica endpoints in `replicas`
 * (same shard, worker and slots, role 'replica'). Failover swaps the promoted replica
 * into `workers` and the old primary into `replicas`, and bumps `epoch`; consumers
 * that only route by slot keep reading `workers` alone.
 */
import { createHash } from 'node:crypto';
import { ShoalError, ErrorCodes } from '../errors.js';
import { SLOT_COUNT } from './slot.js';

export { SLOT_COUNT };

/** Inclusive slot range [start, end]. */
export type SlotRange = [number, number];

export interface WorkerEndpoint {
  /** 40 hex chars, as a Redis Cluster node id. */
  id: string;
  /** With `worker`: the replication group (shard s, worker w). */
  shard: number;
  worker: number;
  host: string;
  port: number;
  slots: SlotRange[];
  /** 'primary' in Topology.workers, 'replica' in Topology.replicas (absent in old files = primary). */
  role?: 'primary' | 'replica';
  /** The shard process that runs this worker thread (`shard-0`, `shard-0-replica-1`). */
  node?: string;
}

export interface ProcessInfo {
  /** 'proxy-worker': one RESP process of a multi-process proxy (docs/proxy-processes.md). */
  role: 'manager' | 'proxy' | 'proxy-worker' | 'shard';
  name: string;
  pid: number;
  ports: number[];
  slots?: SlotRange[];
}

export interface Topology {
  /** Bumped by the manager on every change (the config epoch). */
  epoch: number;
  /** The primaries: they own the slots. */
  workers: WorkerEndpoint[];
  /** Replicas of those primaries (absent in old files = none). */
  replicas?: WorkerEndpoint[];
  processes: ProcessInfo[];
}

/** Name of the shard process hosting replica set `replica` (0 = the primaries) of shard `shard`. */
export function nodeName(shard: number, replica = 0): string {
  return replica === 0 ? `shard-${shard}` : `shard-${shard}-replica-${replica}`;
}

/** The process name of an endpoint (old topology files have none: the primary's). */
export function endpointNode(w: WorkerEndpoint): string {
  return w.node ?? nodeName(w.shard);
}

/** Same replication group (shard, worker). */
export function sameGroup(a: WorkerEndpoint, b: WorkerEndpoint): boolean {
  return a.shard === b.shard && a.worker === b.worker;
}

/** The primary of `w`'s group in `workers`, or undefined. */
export function primaryOf(workers: readonly WorkerEndpoint[], w: WorkerEndpoint): WorkerEndpoint | undefined {
  return workers.find((p) => sameGroup(p, w));
}

/** Deterministic node id for a worker, so restarts keep the same ids. */
export function workerNodeId(host: string, port: number): string {
  return createHash('sha1').update(`shoal:${host}:${port}`).digest('hex');
}

/**
 * Splits the 16384 slots into `shards * workers` contiguous ranges of equal size
 * (the first ranges take the remainder), worker ports counting up from basePort.
 */
export function staticWorkers(host: string, basePort: number, shards: number, workers: number): WorkerEndpoint[] {
  const total = shards * workers;
  const out: WorkerEndpoint[] = [];
  let next = 0;
  for (let i = 0; i < total; i++) {
    const size = Math.floor(SLOT_COUNT / total) + (i < SLOT_COUNT % total ? 1 : 0);
    const port = basePort + i;
    const shard = Math.floor(i / workers);
    out.push({ id: workerNodeId(host, port), shard, worker: i % workers, host, port, slots: [[next, next + size - 1]], role: 'primary', node: nodeName(shard) });
    next += size;
  }
  return out;
}

/**
 * Replica endpoints for `primaries` (from staticWorkers): replica set r (1..replicas)
 * of every primary, ports continuing after the primaries' (set r of primary i at
 * basePort + r * primaries.length + i), each set in its own process per shard.
 */
export function staticReplicas(host: string, basePort: number, primaries: readonly WorkerEndpoint[], replicas: number): WorkerEndpoint[] {
  const out: WorkerEndpoint[] = [];
  for (let r = 1; r <= replicas; r++) {
    primaries.forEach((p, i) => {
      const port = basePort + r * primaries.length + i;
      out.push({ ...p, id: workerNodeId(host, port), host, port, slots: p.slots.map(([a, b]) => [a, b] as SlotRange), role: 'replica', node: nodeName(p.shard, r) });
    });
  }
  return out;
}

/** slot → index into `workers`; throws when a slot is unowned or owned twice. */
export function slotOwners(workers: readonly WorkerEndpoint[]): Int16Array {
  const owners = new Int16Array(SLOT_COUNT).fill(-1);
  workers.forEach((w, i) => {
    for (const [a, b] of w.slots) {
      for (let s = a; s <= b; s++) {
        if (owners[s] !== -1) throw new ShoalError(ErrorCodes.TOPOLOGY, `slot ${s} is owned by two workers`);
        owners[s] = i;
      }
    }
  });
  const missing = owners.indexOf(-1);
  if (missing !== -1) throw new ShoalError(ErrorCodes.TOPOLOGY, `slot ${missing} has no owner`);
  return owners;
}

export function endpointName(w: WorkerEndpoint): string {
  return `shard ${w.shard} worker ${w.worker} (${w.host}:${w.port})`;
}
