/**
 * TopologyStore: where the manager keeps the cluster's topology (slot owners, replicas,
 * epoch, processes). The failover logic (manager/failover.ts) only sees this interface,
 * so the same controller runs in embedded mode over a file and in cluster mode over
 * etcd (EtcdTopologyStore).
 *
 * Invariants every store keeps:
 * - `write` is atomic: a reader sees the old topology or the new one, never a mix.
 * - `write` resolves only once the new topology is durable where readers look, so the
 *   manager pushes a new epoch to workers only after the store holds it (a manager that
 *   restarts never goes back to an epoch a worker has already adopted).
 *
 * FileTopologyStore (embedded mode): one JSON file in the data directory, replaced by
 * rename (write a temp file, then rename over the old one). The manager is its only
 * writer; proxies and shards follow it through FileTopologySource.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Topology } from '../shared/cluster/topology.js';
import { ShoalError, ErrorCodes } from '../shared/errors.js';

export interface TopologyStore {
  /** The stored topology; rejects when there is none or it cannot be read. */
  read(): Promise<Topology>;
  /** Replaces the stored topology atomically. */
  write(topology: Topology): Promise<void>;
}

export class FileTopologyStore implements TopologyStore {
  /** `<dataDir>/topology.json`: what proxies and shard processes are given as `--topology`. */
  readonly file: string;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.file = join(dataDir, 'topology.json');
  }

  async read(): Promise<Topology> {
    return this.readSync();
  }

  /** The stored topology, or null when there is no readable file (a first start). */
  readIfPresent(): Topology | null {
    try {
      return this.readSync();
    } catch {
      return null;
    }
  }

  async write(topology: Topology): Promise<void> {
    this.writeSync(topology);
  }

  /**
   * Synchronous write: a few KB on a local disk take well under a millisecond, and
   * staying synchronous keeps two writers in this process from reordering renames.
   */
  writeSync(topology: Topology): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(topology, null, 2) + '\n');
    renameSync(tmp, this.file);
  }

  private readSync(): Topology {
    const t = JSON.parse(readFileSync(this.file, 'utf8')) as Topology;
    if (typeof t.epoch !== 'number' || !Array.isArray(t.workers)) {
      throw new ShoalError(ErrorCodes.TOPOLOGY, `${this.file} is not a topology (no epoch or workers)`);
    }
    return t;
  }
}
