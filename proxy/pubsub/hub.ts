/**
 * PubSubHub: one proxy process's (or the HTTP process's) subscriptions, multiplexed
 * upstream. Each channel, pattern or shard channel is subscribed ONCE per process on
 * the worker(s) that deliver it, with the number of local receivers so that PUBLISH
 * counts receivers cluster-wide (docs/pubsub.md):
 *   channel       → the worker owning keySlot(channel)
 *   shard channel → the same worker (SSUBSCRIBE / SPUBLISH)
 *   pattern       → every worker (any channel may match)
 *   keyspace channels (`__keyspace@…` / `__keyevent@…`) → every worker: events are
 *     published by the worker holding the key.
 * Upstream traffic uses one dedicated connection per worker (proxy/pubsub/upstream.ts).
 */
import type { Topology, WorkerEndpoint } from '../../shared/cluster/topology.js';
import type { TopologySource } from '../../shared/cluster/topology-source.js';
import type { ShoalConfig } from '../../shared/config/schema.js';
import type { Logger } from '../../shared/log.js';
import { keySlot } from '../../shared/cluster/slot.js';
import { slotOwners } from '../../shared/cluster/topology.js';
import { PubSubUpstream, type LinkValue, type LinkCallback } from './upstream.js';

export interface PubSubSubscriber {
  /** Called for every message for a subscription of this subscriber. pattern set for pmessage. */
  deliver(kind: 'message' | 'pmessage' | 'smessage', channel: Buffer, message: Buffer, pattern: Buffer | null): void;
}

/** Subscription kinds as the worker's SHOAL.PSSUB names them. */
type Kind = 'c' | 'p' | 's';

interface Entry {
  kind: Kind;
  name: Buffer;
  subs: Set<PubSubSubscriber>;
}

const KEYSPACE_PREFIX = Buffer.from('__key');
const PUBLISH = Buffer.from('PUBLISH');
const SPUBLISH = Buffer.from('SPUBLISH');

/** Channels published by whichever worker holds a key (keyspace notifications). */
function isKeyspaceChannel(ch: Buffer): boolean {
  return ch.length > 5 && ch.subarray(0, 5).equals(KEYSPACE_PREFIX) && (ch.includes('__keyspace@') || ch.includes('__keyevent@'));
}

export class PubSubHub {
  readonly #workers: WorkerEndpoint[];
  readonly #owners: Int16Array;
  readonly #links: PubSubUpstream[];
  readonly #entries = new Map<string, Entry>();
  /** A subscriber's entries, for dropSubscriber. */
  readonly #bySub = new Map<PubSubSubscriber, Set<Entry>>();
  #closed = false;
  #source: TopologySource | null = null;

  constructor(workers: WorkerEndpoint[], config: ShoalConfig, log: Logger) {
    this.#workers = workers;
    this.#owners = slotOwners(workers);
    const hubLog = log.child({ component: 'pubsub' });
    this.#links = workers.map((w, i) => new PubSubUpstream(w, config, hubLog, (msg) => this.onPush(msg), () => this.resubscribeAll(i)));
  }

  /** The primary of index i moved (failover, proxy/topology-follower.ts): its upstream reconnects there and replays the subscriptions. */
  follow(i: number, w: WorkerEndpoint): void {
    this.#workers[i] = w;
    this.#links[i]?.retarget(w);
  }

  /** A hub outside a RESP process (WebSocket pub/sub on the HTTP process) follows failovers itself. */
  followSource(source: TopologySource): void {
    if (this.#closed) return void source.close();
    this.#source = source;
    const apply = (t: Topology): void => {
      t.workers.forEach((w, i) => {
        const cur = this.#workers[i];
        if (cur !== undefined && (cur.host !== w.host || cur.port !== w.port)) this.follow(i, w);
      });
    };
    apply(source.current);
    source.onChange(apply);
  }

  subscribe(sub: PubSubSubscriber, channel: Buffer): Promise<void> {
    return this.add(sub, 'c', channel);
  }

  unsubscribe(sub: PubSubSubscriber, channel: Buffer): void {
    this.remove(sub, 'c', channel);
  }

  psubscribe(sub: PubSubSubscriber, pattern: Buffer): Promise<void> {
    return this.add(sub, 'p', pattern);
  }

  punsubscribe(sub: PubSubSubscriber, pattern: Buffer): void {
    this.remove(sub, 'p', pattern);
  }

  ssubscribe(sub: PubSubSubscriber, channel: Buffer): Promise<void> {
    return this.add(sub, 's', channel);
  }

  sunsubscribe(sub: PubSubSubscriber, channel: Buffer): void {
    this.remove(sub, 's', channel);
  }

  dropSubscriber(sub: PubSubSubscriber): void {
    const set = this.#bySub.get(sub);
    if (set === undefined) return;
    this.#bySub.delete(sub);
    for (const e of set) {
      e.subs.delete(sub);
      this.sendCount(e);
    }
  }

  /** Receivers cluster-wide (the owner worker sums every process's receivers). */
  async publish(channel: Buffer, message: Buffer): Promise<number> {
    const v = await this.ownerLink(channel).request([PUBLISH, channel, message]);
    return typeof v === 'number' ? v : 0;
  }

  /** PUBLISH (shard false) or SPUBLISH without a promise: `done` gets the reply (an integer) or the error. */
  send(shard: boolean, channel: Buffer, message: Buffer, done: LinkCallback): void {
    this.ownerLink(channel).send([shard ? SPUBLISH : PUBLISH, channel, message], done);
  }

  /** SPUBLISH: receivers of the shard channel. */
  async spublish(channel: Buffer, message: Buffer): Promise<number> {
    const v = await this.ownerLink(channel).request([SPUBLISH, channel, message]);
    return typeof v === 'number' ? v : 0;
  }

  /** A PUBSUB subcommand on the worker owning `channel` (NUMSUB / SHARDNUMSUB of one channel). */
  queryOwner(channel: Buffer, argv: Buffer[]): Promise<LinkValue> {
    return this.ownerLink(channel).request(argv);
  }

  /** A PUBSUB subcommand on every worker (CHANNELS / SHARDCHANNELS / NUMPAT), in worker order. */
  queryAll(argv: Buffer[]): Promise<LinkValue[]> {
    return Promise.all(this.#links.map((l) => l.request(argv)));
  }

  close(): void {
    this.#closed = true;
    this.#source?.close();
    for (const l of this.#links) l.close();
  }

  private ownerLink(channel: Buffer): PubSubUpstream {
    return this.#links[this.#owners[keySlot(channel)]!]!;
  }

  /** The workers a subscription lives on. */
  private targets(e: Entry): PubSubUpstream[] {
    if (e.kind === 'p' || (e.kind === 'c' && isKeyspaceChannel(e.name))) return this.#links;
    return [this.ownerLink(e.name)];
  }

  private add(sub: PubSubSubscriber, kind: Kind, name: Buffer): Promise<void> {
    const key = kind + name.toString('latin1');
    let e = this.#entries.get(key);
    if (e === undefined) {
      e = { kind, name: Buffer.from(name), subs: new Set() };
      this.#entries.set(key, e);
    }
    if (e.subs.has(sub)) return Promise.resolve();
    e.subs.add(sub);
    let set = this.#bySub.get(sub);
    if (set === undefined) this.#bySub.set(sub, (set = new Set()));
    set.add(e);
    return this.sendCount(e);
  }

  private remove(sub: PubSubSubscriber, kind: Kind, name: Buffer): void {
    const e = this.#entries.get(kind + name.toString('latin1'));
    if (e === undefined || !e.subs.delete(sub)) return;
    this.#bySub.get(sub)?.delete(e);
    this.sendCount(e);
  }

  /** Tells the target workers this process's receiver count (0 drops the upstream subscription). */
  private sendCount(e: Entry): Promise<void> {
    if (e.subs.size === 0) this.#entries.delete(e.kind + e.name.toString('latin1'));
    if (this.#closed) return Promise.resolve();
    const argv = [Buffer.from('SHOAL.PSSUB'), Buffer.from(e.kind), e.name, Buffer.from(String(e.subs.size))];
    const waits = this.targets(e).map((l) => l.request(argv).then(() => undefined, () => undefined));
    return waits.length === 1 ? waits[0]! : Promise.all(waits).then(() => undefined);
  }

  /** A link (re)connected: replay every subscription it carries. */
  private resubscribeAll(i: number): void {
    const link = this.#links[i]!;
    for (const e of this.#entries.values()) {
      if (!this.targets(e).includes(link)) continue;
      void link.request([Buffer.from('SHOAL.PSSUB'), Buffer.from(e.kind), e.name, Buffer.from(String(e.subs.size))]).catch(() => undefined);
    }
  }

  /** A push from a worker: [message, ch, msg] | [pmessage, pat, ch, msg] | [smessage, ch, msg]. */
  private onPush(msg: Buffer[]): void {
    const kind = msg[0]!.toString('latin1');
    if (kind === 'pmessage') {
      const e = this.#entries.get('p' + msg[1]!.toString('latin1'));
      if (e === undefined) return;
      for (const s of e.subs) s.deliver('pmessage', msg[2]!, msg[3]!, e.name);
    } else {
      const e = this.#entries.get((kind === 'smessage' ? 's' : 'c') + msg[1]!.toString('latin1'));
      if (e === undefined) return;
      const k = kind === 'smessage' ? 'smessage' : 'message';
      for (const s of e.subs) s.deliver(k, msg[1]!, msg[2]!, null);
    }
  }
}
