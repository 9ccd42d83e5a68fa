/**
 * Where a worker's persistence files live. Every data-plane worker owns its files
 * (it is the single writer of its keyspace; nothing is shared across workers):
 *
 *   <dataDir>/<node>/worker-<worker>/      node = the shard process: shard-<s> for the
 *                                         primaries, shard-<s>-replica-<r> for replicas
 *       dump.sdb            snapshot (shard/persistence/snapshot.ts), name = `dbfilename`
 *       appendonlydir/      append-only log, Redis 7 multi-part layout (recovery.ts, aof*.ts)
 *
 * dataDir comes from config (`--data-dir`, SHOAL_DATA_DIR, default ./data; CONFIG GET dir).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ShoalConfig } from '../../shared/config/schema.js';
import { endpointNode, type WorkerEndpoint } from '../../shared/cluster/topology.js';

/** The worker's own directory, created (mkdir -p) if missing. */
export function workerDataDir(config: ShoalConfig, self: WorkerEndpoint): string {
  const dir = resolve(config.dataDir, endpointNode(self), `worker-${self.worker}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Path of a file in the worker's directory (the snapshot: `dbfilename`). */
export function workerFile(config: ShoalConfig, self: WorkerEndpoint, name: string): string {
  return join(workerDataDir(config, self), name);
}
