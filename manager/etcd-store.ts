/**
 * EtcdTopologyStore (cluster mode): the TopologyStore the leading manager's
 * FailoverController writes through, kept in etcd where every proxy and shard
 * process watches it (shared/cluster/etcd-topology-source.ts).
 *
 *   ${prefix}/topology   the Topology JSON
 *   ${prefix}/epoch      its epoch, zero-padded (shared/cluster/etcd-client.ts)
 *
 * Every write is ONE etcd transaction that puts both keys only if
 *   1. the stored epoch ≤ the new epoch  (byte compare of the padded strings), and
 *   2. with a leader guard: the leader key still has the create revision this manager
 *      won it with, i.e. its lease is alive and no other manager has been elected since.
 * So an old leader that lost its lease can never overwrite the topology, even when it
 * has not noticed yet, and no write ever moves the epoch backwards. A refused write
 * rejects with a ShoalError naming the reason (TopologyWriteRefused.reason).
 *
 * bootstrap() creates both keys only when the topology key does not exist yet (first
 * start of a cluster); a second bootstrap finds it and leaves it alone.
 */
import type { Etcd3 } from 'etcd3';
import type { Topology } from '../shared/cluster/topology.js';
import { ShoalError, ErrorCodes } from '../shared/errors.js';
import { etcdKeys, paddedEpoch, type EtcdKeys } from '../shared/cluster/etcd-client.js';
import { parseTopology } from '../shared/cluster/etcd-topology-source.js';
import type { TopologyStore } from './topology-store.js';
import type { LeaderGuard } from './leader.js';

export type RefusalReason = 'not-leader' | 'stale-epoch' | 'missing';

export class TopologyWriteRefused extends ShoalError {
  constructor(readonly reason: RefusalReason, message: string) {
    super(ErrorCodes.TOPOLOGY, message);
  }
}

export class EtcdTopologyStore implements TopologyStore {
  readonly keys: EtcdKeys;

  /**
   * `guard`: the manager's leadership; writes are refused unless it holds a token.
   * Without a guard (tools, tests) only the epoch is compared.
   */
  constructor(readonly client: Etcd3, prefix: string, readonly guard: LeaderGuard | null = null) {
    this.keys = etcdKeys(prefix);
  }

  async read(): Promise<Topology> {
    const t = await this.tryRead();
    if (t === null) throw new TopologyWriteRefused('missing', `no topology at ${this.keys.topology} in etcd`);
    return t;
  }

  /** The stored topology, or null when none was bootstrapped yet. */
  async tryRead(): Promise<Topology | null> {
    const raw = await this.client.get(this.keys.topology).buffer();
    if (raw === null) return null;
    const t = parseTopology(raw);
    if (t === null) throw new ShoalError(ErrorCodes.TOPOLOGY, `${this.keys.topology} in etcd does not hold a topology`);
    return t;
  }

  async write(topology: Topology): Promise<void> {
    const token = this.#token();
    let txn = this.client.if(this.keys.epoch, 'Value', '<', paddedEpoch(topology.epoch + 1));
    if (token !== null) txn = txn.and(this.keys.leader, 'Create', '==', token.createRevision);
    const res = await txn
      .then(this.client.put(this.keys.topology).value(JSON.stringify(topology)), this.client.put(this.keys.epoch).value(paddedEpoch(topology.epoch)))
      .else(this.client.get(this.keys.epoch), this.client.get(this.keys.leader))
      .commit();
    if (res.succeeded) return;
    const stored = res.responses[0]?.response_range?.kvs?.[0]?.value;
    const leader = res.responses[1]?.response_range?.kvs?.[0];
    if (stored === undefined) throw new TopologyWriteRefused('missing', `no epoch at ${this.keys.epoch} in etcd: bootstrap the topology first`);
    const storedEpoch = Number(Buffer.from(stored).toString());
    if (storedEpoch > topology.epoch) {
      throw new TopologyWriteRefused('stale-epoch', `topology write refused: etcd holds epoch ${storedEpoch}, newer than ${topology.epoch}`);
    }
    throw new TopologyWriteRefused('not-leader', `topology write refused: this manager no longer leads (leader key ${leader === undefined ? 'absent' : `created at revision ${leader.create_revision}`}, ours ${token?.createRevision})`);
  }

  /**
   * Creates the topology when etcd has none (first start of a cluster). Resolves true
   * when this call created it, false when one existed (left untouched).
   */
  async bootstrap(topology: Topology): Promise<boolean> {
    const token = this.#token();
    let txn = this.client.if(this.keys.topology, 'Create', '==', 0);
    if (token !== null) txn = txn.and(this.keys.leader, 'Create', '==', token.createRevision);
    const res = await txn
      .then(this.client.put(this.keys.topology).value(JSON.stringify(topology)), this.client.put(this.keys.epoch).value(paddedEpoch(topology.epoch)))
      .else(this.client.get(this.keys.topology))
      .commit();
    if (res.succeeded) return true;
    if (res.responses[0]?.response_range?.kvs?.[0] !== undefined) return false;
    throw new TopologyWriteRefused('not-leader', 'topology bootstrap refused: this manager no longer leads');
  }

  #token(): { createRevision: string } | null {
    if (this.guard === null) return null;
    const token = this.guard.token;
    if (token === null) throw new TopologyWriteRefused('not-leader', 'topology write refused: this manager does not lead (lease expired or lost)');
    return token;
  }
}
