/**
 * ReplicaSets: the proxy's framed links to replica workers, per replication group, and
 * the sending of reads to them (proxy/consistency.ts decides whether a read may go).
 *
 * Group g is index g of the topology's `workers` (the primaries, `server.links[g]`);
 * its replicas are the `replicas` entries of the same (shard, worker). The topology
 * follower (proxy/topology-follower.ts) calls update() on every change: replica links
 * are created, retargeted or closed, and the primary links learn whether their group
 * has replicas (then they honour FLAG_STRONG / FLAG_OFFSET and hold requests over a
 * failover: proxy/upstream/link.ts).
 *
 * Offsets. Every replica read travels in a FLAG_OFFSET frame, so its reply carries the
 * replica's applied offset (link.replyOffset while delivering, link.lastOffset after).
 * A probe every PROBE_MS (a PING in a FLAG_OFFSET frame) keeps lastOffset of every
 * replica, and of every primary that has replicas, fresh when no reads flow: /topology
 * and the session routing read it.
 *
 * A read sent to a replica that answers an error (MOVED from a worker that does not
 * serve framed replica reads, LOADING during a full resync, a lost link ...), or whose
 * offset turns out below what the client needs (a session read sent on a guess), is
 * sent again to the primary with the same reply slot: reads are idempotent.
 */
import type { Logger } from '../shared/log.js';
import { FLAG_OFFSET, FLAG_STRONG } from '../shared/frame/codec.js';
import { sameGroup, type WorkerEndpoint } from '../shared/cluster/topology.js';
import { WorkerLink, type Sink } from './upstream/link.js';
import type { ProxyServer } from './proxy-server.js';
import type { ClientReplication as SessionOffsets } from './consistency.js';
import { T_REPLICATION, type ReplicationSnapshot } from './topology-view.js';

/** Offset probe period: well inside the 100 ms /topology freshness. */
const PROBE_MS = 100;

/** One replica link with what the routing learned about it. */
export class ReplicaLink {
  /**
   * A session read sent on a guess found the replica behind this offset: no more
   * guesses until a reply or probe shows it reached it (saves a wasted round trip per read).
   */
  lagMark = 0;
  constructor(readonly link: WorkerLink) {}
}


/** RESP-encodes argv into one Buffer (kept to resend the read to the primary). */
export function encodeCommand(argv: readonly Uint8Array[]): Buffer {
  let n = 16;
  for (const a of argv) n += a.length + 16;
  const out = Buffer.allocUnsafe(n);
  let p = out.write(`*${argv.length}\r\n`, 0, 'latin1');
  for (const a of argv) {
    p += out.write(`$${a.length}\r\n`, p, 'latin1');
    out.set(a, p);
    p += a.length;
    out[p++] = 13;
    out[p++] = 10;
  }
  return out.subarray(0, p);
}

/** The reply sink of a read sent to a replica: checks the reply, falls back to the primary. */
class ReplicaRead implements Sink {
  constructor(
    readonly sets: ReplicaSets,
    readonly replica: ReplicaLink,
    readonly group: number,
    readonly slot: Sink,
    readonly proto: 2 | 3,
    readonly bytes: Buffer,
    /** Offset the reply must show (session read sent on a guess), -1: none. */
    readonly verify: number,
    readonly session: SessionOffsets | null,
  ) {}

  deliver(buf: Buffer, start: number, end: number): void {
    const st = this.session;
    if (st !== null) st.replicaInflight--;
    const off = this.replica.link.replyOffset;
    if (buf[start] === 0x2d || (this.verify >= 0 && off < this.verify)) {
      if (this.verify >= 0 && off >= 0 && off < this.verify) this.replica.lagMark = this.verify;
      this.sets.stats.fallbacks++;
      const primary = this.sets.server.links[this.group];
      if (primary === undefined) return void this.slot.deliver(buf, start, end);
      // Monotonic reads: what the primary shows raises what this client needs next.
      if (st !== null) st.markDirty(this.group);
      primary.sendRaw(this.bytes, this.proto, this.slot, st !== null ? FLAG_OFFSET : 0);
      return;
    }
    this.sets.stats.replicaReads++;
    if (st !== null && off > st.need[this.group]!) st.need[this.group] = off;
    this.slot.deliver(buf, start, end);
  }
}

export class ReplicaSets {
  /** Some group has a replica: ProxyServer.dispatch routes through proxy/consistency.ts (one boolean on the hot path). */
  active = false;
  /** byGroup[g]: the replicas of server.links[g]'s group. */
  byGroup: ReplicaLink[][] = [];
  /** The topology epoch last applied. */
  epoch = 0;
  /** Reads served by replicas, reads sent back to the primary (INFO shoal_replica_reads, tests). */
  readonly stats = { replicaReads: 0, fallbacks: 0 };
  /** Offset probes sent so far (proxy/consistency.ts waits for two after a write it could not track). */
  probes = 0;
  #rr = 0;
  #timer: NodeJS.Timeout | null = null;
  readonly #log: Logger;

  constructor(readonly server: ProxyServer) {
    this.#log = server.log.child({ component: 'replica-reads' });
    server.group.answer(T_REPLICATION, () => this.snapshot());
  }

  /** This process's view of every worker's offset, for GET /topology (proxy/topology-view.ts). */
  snapshot(): ReplicationSnapshot {
    const links = [...this.server.links, ...this.links()].map((l) => ({ host: l.endpoint.host, port: l.endpoint.port, offset: l.lastOffset, up: l.up }));
    return { pid: process.pid, epoch: this.epoch, links };
  }

  /** Every replica link (for /topology and metrics). */
  *links(): Iterable<WorkerLink> {
    for (const set of this.byGroup) for (const r of set) yield r.link;
  }

  /** Applies the topology's replicas (primaries index-aligned with server.links). */
  update(workers: readonly WorkerEndpoint[], replicas: readonly WorkerEndpoint[], epoch: number): void {
    this.epoch = epoch;
    const server = this.server;
    const next: ReplicaLink[][] = [];
    let any = false;
    workers.forEach((primary, g) => {
      const want = replicas.filter((r) => sameGroup(r, primary));
      const have = this.byGroup[g] ?? [];
      const kept: ReplicaLink[] = [];
      for (const ep of want) {
        const same = have.find((r) => r.link.endpoint.host === ep.host && r.link.endpoint.port === ep.port);
        if (same !== undefined) {
          same.link.follow(ep, epoch);
          kept.push(same);
          continue;
        }
        const link = new WorkerLink(ep, server.log, server);
        link.flagMask = FLAG_OFFSET;
        link.onDirty = (l) => server.linkDirty(l);
        kept.push(new ReplicaLink(link));
        this.#log.info({ shard: ep.shard, worker: ep.worker, replica: `${ep.host}:${ep.port}`, node: ep.node }, 'replica link added');
      }
      for (const r of have) {
        if (kept.includes(r)) continue;
        const ep = r.link.endpoint;
        r.link.close();
        this.#log.info({ shard: ep.shard, worker: ep.worker, replica: `${ep.host}:${ep.port}` }, 'replica link removed');
      }
      next[g] = kept;
      const link = server.links[g];
      if (link !== undefined) {
        link.flagMask = want.length > 0 ? FLAG_STRONG | FLAG_OFFSET : 0;
        link.failoverExpected = want.length > 0;
      }
      if (want.length > 0) any = true;
    });
    for (let g = workers.length; g < this.byGroup.length; g++) for (const r of this.byGroup[g]!) r.link.close();
    this.byGroup = next;
    this.active = any;
    if (any && this.#timer === null) {
      this.#timer = setInterval(() => this.#probe(), PROBE_MS);
      this.#timer.unref();
    } else if (!any && this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }

  /** Offsets of every replica and of every primary with replicas; upstream timeouts of the replica links. */
  #probe(): void {
    this.probes++;
    const now = Date.now();
    const timeout = this.server.config.upstreamTimeoutMs;
    this.byGroup.forEach((set, g) => {
      if (set.length === 0) return;
      this.server.links[g]?.probeOffset();
      for (const r of set) {
        r.link.checkTimeout(now, timeout);
        r.link.probeOffset();
      }
    });
  }

  /**
   * Sends a single-key read to replica r of group g; its reply is checked (and the read
   * resent to the primary when it must be). `verify` ≥ 0: the reply must show that offset.
   */
  sendRead(g: number, r: ReplicaLink, argv: readonly Uint8Array[], proto: 2 | 3, slot: Sink, verify: number, session: SessionOffsets | null): void {
    if (session !== null) session.replicaInflight++;
    r.link.send(argv, proto, new ReplicaRead(this, r, g, slot, proto, encodeCommand(argv), verify, session), FLAG_OFFSET);
  }

  /** Round-robin pick over the primary (null) and the accepting replicas of group g (eventual reads). */
  pickAny(g: number): ReplicaLink | null {
    const set = this.byGroup[g];
    if (set === undefined || set.length === 0) return null;
    const i = this.#rr++ % (set.length + 1);
    if (this.#rr > 0x3fffffff) this.#rr = 0;
    if (i === set.length) return null;
    const r = set[i]!;
    return r.link.accepting ? r : null;
  }

  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    for (const set of this.byGroup) for (const r of set) r.link.close();
    this.byGroup = [];
    this.active = false;
  }
}
