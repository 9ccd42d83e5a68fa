/**
 * The replication part of GET /topology (proxy/http.ts): each shard worker with its
 * role, node (shard process), pid, port, slots, replication offset and lag, and each
 * shard process with its role, pid, ports and slots.
 *
 * Roles and endpoints come from the topology as the manager wrote it (read per request:
 * a change shows at once). Offsets come from the RESP processes' links
 * (T_REPLICATION, answered by proxy/replica-reads.ts), refreshed by their 100 ms probes
 * or by live FLAG_OFFSET replies, so they are at most ~100 ms old. Lag = the group
 * primary's offset minus the replica's (bytes of replication stream not yet applied).
 */
import { endpointNode, type SlotRange, type Topology, type WorkerEndpoint } from '../shared/cluster/topology.js';
import type { ProcessGroup } from './process-group.js';

/** ProcessGroup topic: one RESP process's view of the workers' replication offsets. */
export const T_REPLICATION = 'replication-offsets';

export interface LinkOffset {
  host: string;
  port: number;
  /** The worker's last reported replication offset (0: not known). */
  offset: number;
  up: boolean;
}

export interface ReplicationSnapshot {
  pid: number;
  /** The topology epoch this process follows. */
  epoch: number;
  links: LinkOffset[];
}

export interface WorkerView {
  shard: number;
  worker: number;
  role: 'primary' | 'replica';
  node: string;
  pid: number | null;
  host: string;
  port: number;
  slots: SlotRange[];
  /** Replication offset (master_repl_offset of a primary, applied offset of a replica); null: unknown. */
  offset: number | null;
  /** Replica: primary offset - own offset (bytes); primary: 0; null: unknown. */
  lag: number | null;
  /** Some proxy process has a live link to it. */
  linkUp: boolean;
}

export interface ShardProcessView {
  node: string;
  /** primary / replica when all its workers agree, else mixed (a per-worker failover happened). */
  role: 'primary' | 'replica' | 'mixed';
  pid: number | null;
  ports: number[];
  slots: SlotRange[];
  workers: WorkerView[];
}

/** Adds `shards` (per shard process) and `replication` (per worker) to a topology read for GET /topology. */
export async function describeReplication(topology: Topology, group: ProcessGroup, timeoutMs: number): Promise<Topology & { shards: ShardProcessView[]; replication: WorkerView[]; proxyEpochs: number[] }> {
  const answers = ((await group.askAll(T_REPLICATION, null, timeoutMs)) as Array<ReplicationSnapshot | undefined>).filter((a): a is ReplicationSnapshot => a !== undefined && a !== null);
  const offsets = new Map<string, { offset: number; up: boolean }>();
  for (const a of answers) {
    for (const l of a.links) {
      const key = `${l.host}:${l.port}`;
      const seen = offsets.get(key);
      offsets.set(key, { offset: Math.max(seen?.offset ?? 0, l.offset), up: (seen?.up ?? false) || l.up });
    }
  }
  const pidOf = new Map<string, number>();
  for (const p of topology.processes) pidOf.set(p.name, p.pid);
  const view = (w: WorkerEndpoint, role: 'primary' | 'replica'): WorkerView => {
    const node = endpointNode(w);
    const o = offsets.get(`${w.host}:${w.port}`);
    return { shard: w.shard, worker: w.worker, role, node, pid: pidOf.get(node) ?? null, host: w.host, port: w.port, slots: w.slots, offset: o !== undefined && o.offset > 0 ? o.offset : null, lag: null, linkUp: o?.up ?? false };
  };
  const primaries = topology.workers.map((w) => view(w, 'primary'));
  const replicas = (topology.replicas ?? []).map((w) => view(w, 'replica'));
  for (const p of primaries) if (p.offset !== null) p.lag = 0;
  for (const r of replicas) {
    const p = primaries.find((x) => x.shard === r.shard && x.worker === r.worker);
    if (p !== undefined && p.offset !== null && r.offset !== null) r.lag = Math.max(0, p.offset - r.offset);
  }
  const all = [...primaries, ...replicas];
  const nodes = new Map<string, ShardProcessView>();
  for (const w of all) {
    let n = nodes.get(w.node);
    if (n === undefined) {
      const proc = topology.processes.find((p) => p.name === w.node);
      n = { node: w.node, role: w.role, pid: w.pid, ports: proc?.ports.length ? proc.ports : [], slots: [], workers: [] };
      nodes.set(w.node, n);
    }
    if (n.role !== w.role) n.role = 'mixed';
    n.workers.push(w);
    if (!n.ports.includes(w.port)) n.ports.push(w.port);
    for (const s of w.slots) n.slots.push(s);
  }
  for (const n of nodes.values()) n.workers.sort((a, b) => a.worker - b.worker);
  return { ...topology, shards: [...nodes.values()], replication: all, proxyEpochs: answers.map((a) => a.epoch) };
}
