/**
 * TopologyStore (embedded mode): the manager's record of the cluster, kept in a JSON
 * file in the data directory. The manager is its only writer; every write replaces
 * the file atomically (write to a temp file, then rename), so readers never see a
 * half-written topology. Cluster mode will keep the same record in etcd.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Topology } from '../shared/cluster/topology.js';

export class TopologyStore {
  readonly file: string;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.file = join(dataDir, 'topology.json');
  }

  write(topology: Topology): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(topology, null, 2) + '\n');
    renameSync(tmp, this.file);
  }
}
