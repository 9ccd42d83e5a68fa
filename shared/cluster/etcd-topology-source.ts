/**
 * EtcdTopologySource (cluster mode): a proxy or shard process's view of the topology
 * kept in etcd at `${etcdPrefix}/topology` by the leading manager.
 *
 * open() resolves once `current` holds a topology (waiting up to OPEN_WAIT_MS for a
 * manager to bootstrap one), so a process never serves before it knows the cluster.
 * Then a watch from the next revision reports every put; etcd3 re-establishes the
 * watch after a lost connection from the last revision seen, so no change is missed.
 * An older epoch than `current` is never adopted (the manager's write guard makes
 * that impossible in etcd, this keeps it impossible here too).
 */
import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import type { ShoalConfig } from '../config/schema.js';
import { ShoalError, ErrorCodes } from '../errors.js';
import type { Topology } from './topology.js';
import type { TopologyListener, TopologySource } from './topology-source.js';
import { connectEtcd, etcdKeys } from './etcd-client.js';

/** How long a process waits for the topology to appear in etcd before giving up. */
const OPEN_WAIT_MS = 60_000;

export function parseTopology(raw: string | Buffer | null): Topology | null {
  if (raw === null) return null;
  try {
    const t = JSON.parse(raw.toString()) as Topology;
    return typeof t.epoch === 'number' && Array.isArray(t.workers) ? t : null;
  } catch {
    return null;
  }
}

export class EtcdTopologySource implements TopologySource {
  #current: Topology;
  #listeners: TopologyListener[] = [];
  #watcher: Watcher | null = null;
  #closed = false;

  private constructor(readonly client: Etcd3, readonly key: string, first: Topology) {
    this.#current = first;
  }

  static async open(config: Pick<ShoalConfig, 'etcdEndpoints' | 'etcdPrefix'>, waitMs = OPEN_WAIT_MS): Promise<EtcdTopologySource> {
    const client = connectEtcd(config.etcdEndpoints);
    const key = etcdKeys(config.etcdPrefix).topology;
    const deadline = Date.now() + waitMs;
    let lastError = 'not bootstrapped yet';
    try {
      for (;;) {
        try {
          const res = await client.get(key).exec();
          const kv = res.kvs[0];
          const t = kv === undefined ? null : parseTopology(kv.value);
          if (kv !== undefined && t !== null) {
            const source = new EtcdTopologySource(client, key, t);
            await source.#watch(res.header.revision);
            return source;
          }
          lastError = kv === undefined ? 'not bootstrapped yet (start shoal-manager with --cluster FILE)' : 'the stored value is not a topology';
        } catch (err) {
          lastError = (err as Error).message;
        }
        if (Date.now() >= deadline) break;
        await new Promise((r) => setTimeout(r, 250));
      }
    } catch (err) {
      client.close();
      throw err;
    }
    client.close();
    throw new ShoalError(ErrorCodes.TOPOLOGY, `no topology at ${key} in etcd (${config.etcdEndpoints}) after ${waitMs} ms: ${lastError}`);
  }

  get current(): Topology {
    return this.#current;
  }

  onChange(listener: TopologyListener): void {
    this.#listeners.push(listener);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const w = this.#watcher;
    this.#watcher = null;
    void (w?.cancel() ?? Promise.resolve()).catch(() => {}).finally(() => this.client.close());
  }

  async #watch(revision: string): Promise<void> {
    const w = await this.client.watch().key(this.key).startRevision(String(BigInt(revision) + 1n)).create();
    w.on('put', (kv: IKeyValue) => this.#adopt(parseTopology(kv.value)));
    w.on('error', () => {}); // etcd3 reconnects the watch itself
    if (this.#closed) void w.cancel().catch(() => {});
    else this.#watcher = w;
  }

  #adopt(t: Topology | null): void {
    if (t === null || this.#closed) return;
    const prev = this.#current;
    if (t.epoch < prev.epoch) return; // never go back in time
    const changed = t.epoch !== prev.epoch;
    if (!changed && JSON.stringify(t) === JSON.stringify(prev)) return;
    this.#current = t;
    for (const l of this.#listeners) l(t, changed);
  }
}
