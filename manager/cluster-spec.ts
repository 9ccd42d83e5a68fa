/**
 * Cluster file (cluster mode): which machines run which shard processes, from which
 * the first leading manager bootstraps the topology into etcd
 * (`shoal-manager --cluster FILE`; example: config/cluster-3-machines.json, explained
 * in docs/cluster-mode.md).
 *
 *   {
 *     "etcdEndpoints": "http://10.0.0.1:2379,...",   (optional: used when no --etcd-endpoints)
 *     "etcdPrefix": "/shoal",                        (optional)
 *     "workersPerShard": 2,
 *     "shards": [
 *       { "primary": { "host": "10.0.0.1", "port": 7000 },
 *         "replicas": [ { "host": "10.0.0.2", "port": 7100 } ] },
 *       ...
 *     ],
 *     "proxies": [...], "managers": [...]            (documentation only: who runs where)
 *   }
 *
 * Shard s's primary process (node `shard-s`) runs workers on port .. port+W-1; its
 * replica r (node `shard-s-replica-r`, r from 1) on that replica's port .. port+W-1.
 * The 16384 slots are split evenly over the shards x workers groups in order, as
 * staticWorkers does. The result keeps the Topology invariants: `workers` ordered
 * shard-major, replica set r of every primary in `replicas`, epoch 1.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../shared/errors.js';
import { nodeName, staticWorkers, workerNodeId, type Topology, type WorkerEndpoint, type SlotRange } from '../shared/cluster/topology.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface ClusterSpec {
  etcdEndpoints?: string;
  etcdPrefix?: string;
  workersPerShard: number;
  shards: Array<{ primary: HostPort; replicas?: HostPort[] }>;
  proxies?: unknown[];
  managers?: unknown[];
}

function hostPort(v: unknown, where: string, file: string): HostPort {
  const o = v as Partial<HostPort> | null;
  if (typeof o !== 'object' || o === null || typeof o.host !== 'string' || o.host === '' || !Number.isInteger(o.port) || (o.port as number) < 1 || (o.port as number) > 65535) {
    throw new ConfigError(where, `${file}: expected { "host": "...", "port": 1..65535 }, got ${JSON.stringify(v)}`);
  }
  return { host: o.host, port: o.port as number };
}

export function readClusterSpec(file: string): ClusterSpec {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError('cluster', `cannot read ${file}: ${(err as Error).message}`);
  }
  return parseClusterSpec(raw, file);
}

export function parseClusterSpec(raw: unknown, file = 'cluster file'): ClusterSpec {
  const o = raw as Partial<ClusterSpec> | null;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new ConfigError('cluster', `${file} must hold a JSON object`);
  const workersPerShard = o.workersPerShard ?? 1;
  if (!Number.isInteger(workersPerShard) || workersPerShard < 1 || workersPerShard > 64) throw new ConfigError('workersPerShard', `${file}: expected an integer from 1 to 64`);
  if (!Array.isArray(o.shards) || o.shards.length === 0) throw new ConfigError('shards', `${file}: expected a non-empty array of { primary, replicas }`);
  const shards = o.shards.map((s, i) => ({
    primary: hostPort(s?.primary, `shards[${i}].primary`, file),
    replicas: (s?.replicas ?? []).map((r, j) => hostPort(r, `shards[${i}].replicas[${j}]`, file)),
  }));
  const spec: ClusterSpec = { workersPerShard, shards };
  if (typeof o.etcdEndpoints === 'string') spec.etcdEndpoints = o.etcdEndpoints;
  if (typeof o.etcdPrefix === 'string') spec.etcdPrefix = o.etcdPrefix;
  if (Array.isArray(o.proxies)) spec.proxies = o.proxies;
  if (Array.isArray(o.managers)) spec.managers = o.managers;
  // Two endpoints on one host:port would be two workers on one socket.
  const seen = new Set<string>();
  for (const s of shards) {
    for (const hp of [s.primary, ...s.replicas]) {
      for (let w = 0; w < workersPerShard; w++) {
        const k = `${hp.host}:${hp.port + w}`;
        if (seen.has(k)) throw new ConfigError('shards', `${file}: ${k} is used by two workers`);
        seen.add(k);
      }
    }
  }
  return spec;
}

/** The epoch-1 topology a cluster file describes. */
export function topologyFromSpec(spec: ClusterSpec): Topology {
  const W = spec.workersPerShard;
  // Slot split of staticWorkers (shards x W groups in order), moved onto the spec's hosts and ports.
  const slotsOf = staticWorkers('127.0.0.1', 1, spec.shards.length, W).map((w) => w.slots);
  const endpoint = (hp: HostPort, shard: number, worker: number, replica: number): WorkerEndpoint => ({
    id: workerNodeId(hp.host, hp.port + worker),
    shard,
    worker,
    host: hp.host,
    port: hp.port + worker,
    slots: (slotsOf[shard * W + worker] ?? []).map(([a, b]) => [a, b] as SlotRange),
    role: replica === 0 ? 'primary' : 'replica',
    node: nodeName(shard, replica),
  });
  const workers = spec.shards.flatMap((s, i) => Array.from({ length: W }, (_, w) => endpoint(s.primary, i, w, 0)));
  const maxReplicas = Math.max(0, ...spec.shards.map((s) => s.replicas?.length ?? 0));
  const replicas: WorkerEndpoint[] = [];
  for (let r = 1; r <= maxReplicas; r++) {
    spec.shards.forEach((s, i) => {
      const hp = s.replicas?.[r - 1];
      if (hp !== undefined) for (let w = 0; w < W; w++) replicas.push(endpoint(hp, i, w, r));
    });
  }
  return { epoch: 1, workers, replicas, processes: [] };
}
