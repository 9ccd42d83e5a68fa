/**
 * openTopologySource: the one seam through which a process that reads the topology
 * (proxy, shard, CLI) picks where it lives.
 *
 *   config.etcdEndpoints set  → EtcdTopologySource (cluster mode: `${etcdPrefix}/topology` in etcd)
 *   a topology file given     → FileTopologySource (embedded mode: the manager's JSON file)
 *   neither                   → null (standalone: the caller builds a static topology)
 *
 * Resolves only once `current` holds a topology, so a process never serves before it
 * knows the cluster. etcd3 (gRPC) is imported lazily: embedded and standalone
 * processes never load it.
 */
import type { ShoalConfig } from '../config/schema.js';
import { FileTopologySource, type TopologySource } from './topology-source.js';
import type { Topology } from './topology.js';

export async function openTopologySource(config: Pick<ShoalConfig, 'etcdEndpoints' | 'etcdPrefix'>, file?: string): Promise<TopologySource | null> {
  if (config.etcdEndpoints !== '') {
    const { EtcdTopologySource } = await import('./etcd-topology-source.js');
    return EtcdTopologySource.open(config);
  }
  if (file !== undefined) return new FileTopologySource(file);
  return null;
}

/** The topology once (a shard process at start: the manager pushes later changes to its workers). */
export async function readTopologyOnce(config: Pick<ShoalConfig, 'etcdEndpoints' | 'etcdPrefix'>, file?: string): Promise<Topology | null> {
  const source = await openTopologySource(config, file);
  if (source === null) return null;
  const t = source.current;
  source.close();
  return t;
}
