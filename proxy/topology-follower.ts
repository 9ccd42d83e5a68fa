/**
 * TopologyFollower: one RESP process of the proxy follows the topology
 * (shared/cluster/topology-source.ts: the manager's file in embedded mode, etcd in
 * cluster mode — any TopologySource).
 *
 * On every change, within the source's latency (the file source polls every 25 ms):
 *   - primary links: for each index i of `workers`, the link of index i follows it
 *     (retargets when the endpoint moved: proxy/upstream/link.ts holds requests across
 *     the switch and resends what may be resent); slot ownership stays index-based, as
 *     the manager keeps the array order on failover;
 *   - replica links are created, retargeted or closed per `replicas` (proxy/replica-reads.ts);
 *   - the pub/sub hub and blocking connections follow new primaries (the hub
 *     reconnects and resubscribes; blocking connections read link.endpoint per command).
 * A change in the number of primaries (resharding) is not followed: it is logged.
 */
import type { Logger } from '../shared/log.js';
import type { Topology } from '../shared/cluster/topology.js';
import type { TopologySource } from '../shared/cluster/topology-source.js';
import { openTopologySource } from '../shared/cluster/open-topology-source.js';
import type { ShoalConfig } from '../shared/config/schema.js';
import type { ProxyServer } from './proxy-server.js';

export class TopologyFollower {
  readonly #server: ProxyServer;
  readonly #source: TopologySource;
  readonly #log: Logger;
  #epoch = -1;

  constructor(server: ProxyServer, source: TopologySource, log: Logger) {
    this.#server = server;
    this.#source = source;
    this.#log = log.child({ component: 'topology' });
    this.apply(source.current, true);
    source.onChange((t) => this.apply(t, false));
  }

  get epoch(): number {
    return this.#epoch;
  }

  apply(t: Topology, initial: boolean): void {
    const server = this.#server;
    const started = Date.now();
    if (t.workers.length !== server.links.length) {
      this.#log.error({ epoch: t.epoch, workers: t.workers.length, links: server.links.length }, 'topology changed the number of primaries; this proxy keeps its routing (restart it to follow a resharding)');
      return;
    }
    const prev = this.#epoch;
    this.#epoch = t.epoch;
    // Frame flags of a group change when it gains or loses replicas: send what is queued under the old ones first.
    for (const l of server.links) l.flush();
    const moved: string[] = [];
    t.workers.forEach((w, i) => {
      const link = server.links[i]!;
      const before = `${link.endpoint.host}:${link.endpoint.port}`;
      link.follow(w, t.epoch);
      const after = `${w.host}:${w.port}`;
      if (before !== after) {
        moved.push(`${before} -> ${after}`);
        server.hub.follow(i, w);
      }
    });
    server.replicas.update(t.workers, t.replicas ?? [], t.epoch);
    if (initial) {
      this.#log.info({ epoch: t.epoch, primaries: t.workers.length, replicas: (t.replicas ?? []).length }, 'following the topology');
    } else if (prev !== t.epoch || moved.length > 0) {
      this.#log.info({ epoch: t.epoch, from: prev, moved, replicas: (t.replicas ?? []).length, ms: Date.now() - started }, moved.length > 0 ? 'topology changed: following new primaries' : 'topology changed');
    }
  }

  close(): void {
    this.#source.close();
  }
}

/**
 * The follower of a RESP process: etcd in cluster mode, the manager's file with
 * --topology (shared/cluster/open-topology-source.ts); null for a static topology.
 */
export async function followTopology(server: ProxyServer, config: ShoalConfig, file: string | undefined, log: Logger): Promise<TopologyFollower | null> {
  const source = await openTopologySource(config, file);
  return source === null ? null : new TopologyFollower(server, source, log);
}
