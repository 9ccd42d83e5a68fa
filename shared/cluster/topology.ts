/**
 * Topology: which worker owns which hash slots, and which processes make up the
 * cluster. The manager is the only writer (manager/); proxies and shards read it.
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
  shard: number;
  worker: number;
  host: string;
  port: number;
  slots: SlotRange[];
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
  workers: WorkerEndpoint[];
  processes: ProcessInfo[];
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
    out.push({ id: workerNodeId(host, port), shard: Math.floor(i / workers), worker: i % workers, host, port, slots: [[next, next + size - 1]] });
    next += size;
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
