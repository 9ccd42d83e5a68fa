/**
 * FailoverController: the manager's authority over who is primary. It health-checks
 * every worker (manager/health.ts), promotes a replica when a primary fails, runs
 * manual failovers and applies replica add/remove, writing every change to a
 * TopologyStore and pushing it to the workers. It never knows which store it has:
 * embedded mode gives it a FileTopologyStore, cluster mode an etcd store.
 *
 *   const fc = new FailoverController({ store, config, log });
 *   fc.onChange((topology, reason) => ...);   // after every store write
 *   fc.start(topology);                       // the topology the store holds now
 *   await fc.manualFailover(0, 0);            // shard 0 worker 0, no write lost
 *   await fc.stop();
 *
 * Automatic failover (docs/replication.md, "Manager, failover and operations"):
 * every failover-check-ms each worker gets `SHOAL.LEASE <epoch> <lease-ms>`; a primary
 * that misses failover-misses checks in a row is failed. Its group's replica with the
 * highest offset among those answering (one mid full resync only as a last resort) takes its index in
 * `workers`, the old primary moves into `replicas` at the promoted one's index, the
 * epoch goes up by one, the store is written, and SHOAL.TOPOLOGY is pushed to the
 * promoted worker first, then to every other reachable worker. A worker that answers
 * a lease with an older epoch (a paused old primary coming back) gets it again.
 *
 * Why two primaries never acknowledge writes for one slot: a primary acknowledges
 * writes only within a lease (lease-ms) renewed by these checks, and lease-ms <
 * failover-check-ms x failover-misses, so by the time a replica is promoted the old
 * primary's last lease has expired (the controller also checks that lease-ms has
 * passed since the last lease it may have granted). A paused primary that resumes
 * finds the demoting SHOAL.TOPOLOGY queued behind its last lease on the same
 * connection (worker-conn.ts).
 *
 * Invariants: one topology change at a time (a promise chain), each one epoch + 1
 * and written to the store before any worker hears of it; process-list updates keep
 * the epoch.
 */
import type { Logger } from '../shared/log.js';
import type { ShoalConfig } from '../shared/config/schema.js';
import { ConfigError } from '../shared/errors.js';
import { endpointNode, sameGroup, slotOwners, type ProcessInfo, type Topology, type WorkerEndpoint } from '../shared/cluster/topology.js';
import type { TopologyStore } from './topology-store.js';
import { HealthMonitor, endpointKey, parseLeaseReply, type EndpointHealth } from './health.js';
import { WorkerError } from './worker-conn.js';

export interface FailoverControllerOptions {
  store: TopologyStore;
  /** failoverCheckMs, failoverMisses, leaseMs; tlsCluster (and TLS files) for the worker links. */
  config: Pick<ShoalConfig, 'failoverCheckMs' | 'failoverMisses' | 'leaseMs' | 'tlsCluster'> & Partial<ShoalConfig>;
  log: Logger;
  /**
   * Cluster mode: false once this manager may no longer act (its etcd leadership lease
   * cannot be trusted: manager/leader.ts). Checked at every health check, so a manager
   * that was paused past its lease never renews a primary's lease on waking.
   */
  mayAct?: () => boolean;
}

export type TopologyChangeListener = (topology: Topology, reason: string) => void;

/** One worker as status reports it. */
export interface MemberStatus {
  node: string;
  id: string;
  host: string;
  port: number;
  /** What the topology says. */
  role: 'primary' | 'replica';
  /** The shard process's pid (topology.processes), if known. */
  pid: number | null;
  /** From the worker's last SHOAL.LEASE reply (null = never answered). */
  reportedRole: 'primary' | 'replica' | null;
  offset: number | null;
  epoch: number | null;
  /** Replica link: up | down | sync; primary: none. */
  link: string | null;
  /** Replica: bytes behind its primary's last reported offset. */
  lag: number | null;
  misses: number;
  /** Milliseconds since its last answer (null = never). */
  lastReplyMsAgo: number | null;
  error: string | null;
}

export interface GroupStatus {
  shard: number;
  worker: number;
  slots: WorkerEndpoint['slots'];
  primary: MemberStatus;
  replicas: MemberStatus[];
}

export interface ClusterStatus {
  epoch: number;
  failoverCheckMs: number;
  failoverMisses: number;
  leaseMs: number;
  groups: GroupStatus[];
  processes: ProcessInfo[];
  /** The last failovers this manager ran, newest last (at most RECENT_FAILOVERS). */
  failovers: FailoverRecord[];
}

/** One failover as status reports it. */
export interface FailoverRecord {
  kind: 'automatic' | 'manual';
  /** Date.now() when the topology was written. */
  at: number;
  shard: number;
  worker: number;
  from: string;
  to: string;
  epoch: number;
  /** Automatic: how long the failed primary had been silent when the failover was decided. */
  lastAnswerMsAgo?: number;
  /** Decision (automatic) or fence (manual) to topology written and pushed. */
  failoverMs: number;
  /** Manual: the old primary's offset when fenced. */
  fencedOffset?: number;
}

export interface ManualFailoverResult {
  shard: number;
  worker: number;
  /** Node and address of the old primary and of the promoted replica. */
  from: string;
  to: string;
  /** The old primary's offset when fenced; the replica had at least this when promoted. */
  fencedOffset: number;
  replicaOffset: number;
  /** Fence → replica caught up → topology written and pushed. */
  caughtUpMs: number;
  totalMs: number;
  epoch: number;
}

/** A failover request that cannot be carried out (bad group, no replica, not caught up). */
export class FailoverRefused extends Error {
  override name = 'FailoverRefused';
}

/** How long a manual failover waits for the replica to reach the fenced offset. */
const MANUAL_CATCH_UP_MS = 5000;
/** Bound on one push, fence or offset poll. */
const COMMAND_TIMEOUT_MS = 2000;
/** Failovers kept for status. */
const RECENT_FAILOVERS = 10;

const groupKey = (w: Pick<WorkerEndpoint, 'shard' | 'worker'>): string => `${w.shard}/${w.worker}`;
const describe = (w: WorkerEndpoint): string => `${endpointNode(w)} ${w.host}:${w.port}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class FailoverController {
  readonly #store: TopologyStore;
  readonly #config: FailoverControllerOptions['config'];
  readonly #log: Logger;
  readonly #mayAct: (() => boolean) | undefined;
  readonly #monitor: HealthMonitor;
  #topology: Topology | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** Serializes topology changes. */
  #chain: Promise<unknown> = Promise.resolve();
  /** True while a change runs: ticks keep checking but decide nothing. */
  #changing = false;
  readonly #listeners: TopologyChangeListener[] = [];
  /** Groups that needed a failover and had no replica to promote (logged once each). */
  readonly #unrecoverable = new Set<string>();
  /** Endpoints with a topology push in flight (no second one behind it). */
  readonly #pushing = new Set<string>();
  /** The last failovers, for status. */
  readonly #recent: FailoverRecord[] = [];
  /** Primaries logged as missing checks, until they answer again (one line each way). */
  readonly #missing = new Map<string, number>();
  /** Endpoints already warned about a role that disagrees with the topology (per epoch). */
  readonly #roleWarned = new Set<string>();

  constructor(opts: FailoverControllerOptions) {
    FailoverController.validateConfig(opts.config);
    this.#store = opts.store;
    this.#config = opts.config;
    this.#log = opts.log;
    this.#mayAct = opts.mayAct;
    this.#monitor = new HealthMonitor(opts.config, (h) => this.#onReport(h));
  }

  /**
   * lease-ms must run out before failover-check-ms x failover-misses: otherwise an old
   * primary could still hold a lease when its replica is promoted.
   */
  static validateConfig(config: Pick<ShoalConfig, 'failoverCheckMs' | 'failoverMisses' | 'leaseMs'>): void {
    const detect = config.failoverCheckMs * config.failoverMisses;
    if (config.leaseMs >= detect) {
      throw new ConfigError('leaseMs', `lease-ms (${config.leaseMs}) must be below failover-check-ms x failover-misses (${config.failoverCheckMs} x ${config.failoverMisses} = ${detect}), so a failed primary's lease has expired before its replica is promoted`);
    }
  }

  /** The newest topology (what the store holds). */
  get topology(): Topology {
    if (this.#topology === null) throw new Error('FailoverController not started');
    return this.#topology;
  }

  /** Runs after every store write (a new epoch, or a process-list update with the same epoch). */
  onChange(listener: TopologyChangeListener): void {
    this.#listeners.push(listener);
  }

  /** Starts health checks over `topology` (already in the store). */
  start(topology: Topology): void {
    this.#topology = structuredClone(topology);
    this.#monitor.setEndpoints(this.#endpoints(this.#topology));
    this.#timer = setInterval(() => this.#tick(), this.#config.failoverCheckMs);
    this.#log.info({ epoch: topology.epoch, primaries: topology.workers.length, replicas: topology.replicas?.length ?? 0,
      failoverCheckMs: this.#config.failoverCheckMs, failoverMisses: this.#config.failoverMisses, leaseMs: this.#config.leaseMs }, 'failover controller started');
    this.#tick();
  }

  /** Stops checking (leases then run out on their own) and closes the worker links. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#chain.catch(() => {});
    this.#monitor.close();
  }

  /**
   * Applies a topology change: `mutate` gets a copy of the current topology and
   * returns the next one; the epoch goes up by one, the store is written, the workers
   * hear of it (`first` endpoints first). Resolves with the new topology.
   */
  change(reason: string, mutate: (t: Topology) => Topology, first: readonly WorkerEndpoint[] = []): Promise<Topology> {
    return this.#serial(async () => {
      const next = mutate(structuredClone(this.topology));
      next.epoch = this.topology.epoch + 1;
      slotOwners(next.workers); // every slot owned exactly once, or throw before writing
      await this.#commit(next, reason, first);
      return next;
    });
  }

  /** Rewrites the process list (same epoch: nothing about roles changed). */
  updateProcesses(update: (processes: ProcessInfo[]) => ProcessInfo[]): Promise<void> {
    return this.#serial(async () => {
      const next = structuredClone(this.topology);
      next.processes = update(next.processes);
      await this.#store.write(next);
      this.#topology = next;
      for (const l of this.#listeners) l(next, 'processes');
    });
  }

  /**
   * Resolves true once `node` holds no primary in the topology (its primaries were
   * failed over: restart it as a replica), false when one of its groups had no replica
   * to promote or `timeoutMs` passed (restart it as it is).
   */
  async awaitNodeReleased(node: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const primaries = this.topology.workers.filter((w) => endpointNode(w) === node);
      if (primaries.length === 0) return true;
      if (primaries.some((w) => this.#unrecoverable.has(groupKey(w)))) return false;
      if (Date.now() >= deadline) return false;
      await sleep(Math.min(25, this.#config.failoverCheckMs));
    }
  }

  /** Who is primary of what, offsets, lag, epoch, health. */
  status(): ClusterStatus {
    return { ...clusterStatus(this.topology, this.#config, (w) => this.#monitor.get(w)), failovers: [...this.#recent] };
  }

  /**
   * Manual failover of group (shard, worker) — every group of the shard when `worker`
   * is undefined — to `replicaNode` or the most up-to-date replica: the primary is
   * fenced (SHOAL.FENCE: it stops accepting writes and tells its offset), the replica
   * catches up to that offset (bounded), then the topology switches. Nothing
   * acknowledged is lost. Throws FailoverRefused when it cannot be done.
   */
  async manualFailover(shard: number, worker?: number, replicaNode?: string): Promise<ManualFailoverResult[]> {
    const groups = this.topology.workers.filter((w) => w.shard === shard && (worker === undefined || w.worker === worker));
    if (groups.length === 0) throw new FailoverRefused(`no group shard ${shard}${worker === undefined ? '' : ` worker ${worker}`} in the topology`);
    const out: ManualFailoverResult[] = [];
    for (const g of groups) out.push(await this.#manualOne(g, replicaNode));
    return out;
  }

  async #manualOne(group: WorkerEndpoint, replicaNode: string | undefined): Promise<ManualFailoverResult> {
    const started = Date.now();
    const primary = this.topology.workers.find((w) => sameGroup(w, group))!;
    const candidates = (this.topology.replicas ?? []).filter((r) => sameGroup(r, group) && (replicaNode === undefined || endpointNode(r) === replicaNode));
    if (candidates.length === 0) throw new FailoverRefused(`shard ${group.shard} worker ${group.worker} has no replica${replicaNode ? ` on node ${replicaNode}` : ''}`);
    const live = candidates.map((r) => ({ r, h: this.#monitor.get(r) }))
      .filter((c) => c.h?.conn.connected && c.h.report !== null && c.h.misses === 0 && c.h.report.link === 'up')
      .sort((a, b) => (b.h!.report!.offset - a.h!.report!.offset));
    const chosen = live[0];
    if (chosen === undefined) throw new FailoverRefused(`shard ${group.shard} worker ${group.worker}: no replica answering with its link up (${candidates.map(describe).join(', ')})`);
    const ph = this.#monitor.get(primary);
    if (!ph?.conn.connected) throw new FailoverRefused(`primary ${describe(primary)} is not reachable: automatic failover handles a dead primary`);

    const fence = await ph.conn.send(['SHOAL.FENCE'], COMMAND_TIMEOUT_MS).catch((e: Error) => new WorkerError(e.message));
    if (typeof fence !== 'number') throw new FailoverRefused(`SHOAL.FENCE on ${describe(primary)} failed: ${fence instanceof WorkerError ? fence.message : JSON.stringify(fence)}`);
    this.#log.info({ shard: group.shard, worker: group.worker, primary: describe(primary), replica: describe(chosen.r), fencedOffset: fence },
      `manual failover: ${describe(primary)} fenced at offset ${fence}; waiting for ${describe(chosen.r)} to catch up`);

    const fencedAt = Date.now();
    let replicaOffset = -1;
    while (Date.now() - fencedAt < MANUAL_CATCH_UP_MS) {
      const r = await chosen.h!.conn.send(['SHOAL.LEASE', String(this.topology.epoch), String(this.#config.leaseMs)], COMMAND_TIMEOUT_MS).catch(() => null);
      const report = r === null ? null : parseLeaseReply(r);
      if (report !== null) replicaOffset = report.offset;
      if (replicaOffset >= fence) break;
      await sleep(5);
    }
    if (replicaOffset < fence) {
      // Give the primary its writes back: a new epoch with the same roles lifts the fence.
      await this.change(`manual failover of shard ${group.shard} worker ${group.worker} abandoned: unfence ${describe(primary)}`, (t) => t);
      throw new FailoverRefused(`${describe(chosen.r)} did not reach the fenced offset ${fence} within ${MANUAL_CATCH_UP_MS} ms (at ${replicaOffset}); failover abandoned, ${describe(primary)} takes writes again`);
    }
    const caughtUpMs = Date.now() - fencedAt;
    const next = await this.change(`manual failover shard ${group.shard} worker ${group.worker}: ${describe(primary)} -> ${describe(chosen.r)}`, (t) => {
      const pi = t.workers.findIndex((w) => w.id === primary.id);
      const ri = (t.replicas ?? []).findIndex((w) => w.id === chosen.r.id);
      if (pi < 0 || ri < 0) throw new FailoverRefused(`the topology changed during the manual failover of shard ${group.shard} worker ${group.worker}`);
      swap(t, pi, ri);
      return t;
    }, [chosen.r, primary]);
    const result: ManualFailoverResult = { shard: group.shard, worker: group.worker, from: describe(primary), to: describe(chosen.r),
      fencedOffset: fence, replicaOffset, caughtUpMs, totalMs: Date.now() - started, epoch: next.epoch };
    this.#record({ kind: 'manual', at: Date.now(), shard: group.shard, worker: group.worker, from: result.from, to: result.to, epoch: next.epoch,
      failoverMs: Date.now() - fencedAt, fencedOffset: fence });
    this.#log.info(result, `manual failover: shard ${group.shard} worker ${group.worker} now served by ${result.to} (epoch ${next.epoch}); replica caught up in ${caughtUpMs} ms, ${result.totalMs} ms in all, nothing lost`);
    return result;
  }

  #endpoints(t: Topology): WorkerEndpoint[] {
    return [...t.workers, ...(t.replicas ?? [])];
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(async () => {
      this.#changing = true;
      try {
        return await fn();
      } finally {
        this.#changing = false;
      }
    });
    this.#chain = run.catch(() => {});
    return run;
  }

  /** Writes `next` to the store, makes it current, pushes it (`first` endpoints first). Caller holds the chain. */
  async #commit(next: Topology, reason: string, first: readonly WorkerEndpoint[]): Promise<{ writtenMs: number; confirmedMs: number | null }> {
    const t0 = Date.now();
    await this.#store.write(next);
    const writtenMs = Date.now() - t0;
    this.#topology = next;
    this.#roleWarned.clear();
    this.#monitor.setEndpoints(this.#endpoints(next));
    // Every push is written now, in order: the promoted worker's goes out first.
    const firstKeys = new Set(first.map(endpointKey));
    const order = [...first, ...this.#endpoints(next).filter((w) => !firstKeys.has(endpointKey(w)))];
    const pushes = order.map((w) => this.#push(w, next));
    let confirmedMs: number | null = null;
    if (first.length > 0) {
      const ok = await pushes[0];
      confirmedMs = ok ? Date.now() - t0 : null;
    }
    this.#log.info({ epoch: next.epoch, reason }, `topology epoch ${next.epoch}: ${reason}`);
    for (const l of this.#listeners) l(next, reason);
    return { writtenMs, confirmedMs };
  }

  /** Sends SHOAL.TOPOLOGY of `t` to `w` if connected; resolves true on +OK. */
  async #push(w: WorkerEndpoint, t: Topology): Promise<boolean> {
    const h = this.#monitor.get(w);
    if (!h?.conn.connected) return false;
    const key = endpointKey(w);
    this.#pushing.add(key);
    try {
      const r = await h.conn.send(['SHOAL.TOPOLOGY', String(t.epoch), JSON.stringify({ workers: t.workers, replicas: t.replicas ?? [] })], COMMAND_TIMEOUT_MS);
      if (r instanceof WorkerError) {
        this.#log.warn({ worker: describe(w), epoch: t.epoch, error: r.message }, `SHOAL.TOPOLOGY refused by ${describe(w)}`);
        return false;
      }
      return true;
    } catch (err) {
      this.#log.debug({ worker: describe(w), epoch: t.epoch, err: (err as Error).message }, 'topology push not answered');
      return false;
    } finally {
      this.#pushing.delete(key);
    }
  }

  /** A lease answer: re-push to a worker behind on epochs; note role disagreements. */
  #onReport(h: EndpointHealth): void {
    const t = this.#topology;
    const r = h.report;
    if (t === null || r === null) return;
    const since = this.#missing.get(h.key);
    if (since !== undefined) {
      this.#missing.delete(h.key);
      this.#log.info({ worker: describe(h.endpoint), silentMs: Date.now() - since }, `${describe(h.endpoint)} answers again after ${Date.now() - since} ms`);
    }
    if (t.workers.some((w) => sameGroup(w, h.endpoint) && endpointKey(w) === h.key)) {
      this.#unrecoverable.delete(groupKey(h.endpoint));
    }
    if (r.epoch < t.epoch) {
      if (this.#pushing.has(h.key) || this.#changing) return;
      this.#log.info({ worker: describe(h.endpoint), workerEpoch: r.epoch, epoch: t.epoch, workerRole: r.role },
        `${describe(h.endpoint)} answered with epoch ${r.epoch} < ${t.epoch}: pushing the topology again`);
      void this.#push(h.endpoint, t);
      return;
    }
    if (r.epoch > t.epoch) {
      this.#warnOnce(h.key, { worker: describe(h.endpoint), workerEpoch: r.epoch, epoch: t.epoch }, `${describe(h.endpoint)} is at epoch ${r.epoch}, ahead of the manager's ${t.epoch}`);
      return;
    }
    const expected = h.endpoint.role ?? 'primary';
    if (r.role !== expected) {
      this.#warnOnce(h.key, { worker: describe(h.endpoint), reported: r.role, expected, epoch: t.epoch }, `${describe(h.endpoint)} reports role ${r.role}, the topology says ${expected}`);
    }
  }

  #record(r: FailoverRecord): void {
    this.#recent.push(r);
    if (this.#recent.length > RECENT_FAILOVERS) this.#recent.shift();
  }

  #warnOnce(key: string, fields: Record<string, unknown>, msg: string): void {
    if (this.#roleWarned.has(key)) return;
    this.#roleWarned.add(key);
    this.#log.warn(fields, msg);
  }

  #tick(): void {
    const t = this.#topology;
    if (t === null) return;
    if (this.#mayAct !== undefined && !this.#mayAct()) return;
    this.#monitor.check(t.epoch, this.#config.leaseMs);
    const now = Date.now();
    for (const w of t.workers) {
      const h = this.#monitor.get(w);
      // A line when a primary starts missing checks: the prelude of a failover, or a stall worth knowing about.
      if (h !== undefined && h.misses === 2 && !this.#missing.has(h.key)) {
        this.#missing.set(h.key, h.lastReplyAt || now);
        this.#log.warn({ worker: describe(w), misses: h.misses, lastAnswerMsAgo: h.lastReplyAt ? now - h.lastReplyAt : null, error: h.lastError },
          `primary ${describe(w)} missed ${h.misses} health checks in a row (failover after ${this.#config.failoverMisses})`);
      }
    }
    if (this.#changing) return;
    const failed = t.workers.filter((w) => {
      const h = this.#monitor.get(w);
      // A lease sent to it may still run: wait until it must have expired.
      return h !== undefined && h.misses >= this.#config.failoverMisses && now >= h.lastLeaseSentAt + this.#config.leaseMs;
    });
    if (failed.length > 0) void this.#serial(() => this.#failover(failed)).catch((err: Error) => this.#log.error({ err: err.message }, 'failover failed'));
  }

  /** Automatic failover of the failed primaries' groups, in one topology change. Caller holds the chain. */
  async #failover(failed: WorkerEndpoint[]): Promise<void> {
    if (this.#mayAct !== undefined && !this.#mayAct()) return;
    const decidedAt = Date.now();
    const t = structuredClone(this.topology);
    const promotions: Array<{ old: WorkerEndpoint; promoted: WorkerEndpoint; h: EndpointHealth; missedForMs: number; lostBytes: number | null }> = [];
    for (const p of failed) {
      const current = t.workers.find((w) => w.id === p.id);
      if (current === undefined) continue; // already changed
      const ph = this.#monitor.get(p)!;
      const replicas = (t.replicas ?? []).filter((r) => sameGroup(r, p));
      const candidates = replicas.map((r) => ({ r, h: this.#monitor.get(r) }))
        .filter((c): c is { r: WorkerEndpoint; h: EndpointHealth } => c.h !== undefined && c.h.conn.connected && c.h.misses === 0
          && c.h.report !== null && c.h.report.role === 'replica' && c.h.lastReplyAt >= decidedAt - 3 * this.#config.failoverCheckMs)
        // A replica whose link is up or down holds a whole dataset; one that reports
        // `sync` may be mid full resync (or only re-handshaking): last resort.
        .sort((a, b) => Number(a.h.report!.link === 'sync') - Number(b.h.report!.link === 'sync') || b.h.report!.offset - a.h.report!.offset);
      const best = candidates[0];
      const missedForMs = ph.lastReplyAt > 0 ? decidedAt - ph.lastReplyAt : -1;
      if (best === undefined) {
        if (!this.#unrecoverable.has(groupKey(p))) {
          this.#unrecoverable.add(groupKey(p));
          this.#log.error({ shard: p.shard, worker: p.worker, primary: describe(p), misses: ph.misses, replicas: replicas.map((r) => {
            const h = this.#monitor.get(r);
            return { node: describe(r), misses: h?.misses ?? null, link: h?.report?.link ?? null, error: h?.lastError ?? null };
          }) }, `primary ${describe(p)} of shard ${p.shard} worker ${p.worker} failed (${ph.misses} missed checks) and no replica can be promoted (none answering); its slots are unavailable, still checking`);
        }
        continue;
      }
      if (best.h.report!.link === 'sync') {
        this.#log.warn({ shard: p.shard, worker: p.worker, replica: describe(best.r), offset: best.h.report!.offset },
          `promoting ${describe(best.r)} although its link reports sync: if it was mid full resync it lacks part of the data`);
      }
      const pi = t.workers.findIndex((w) => w.id === p.id);
      const ri = t.replicas!.findIndex((w) => w.id === best.r.id);
      swap(t, pi, ri);
      const lastPrimaryOffset = ph.report?.offset ?? null;
      promotions.push({ old: p, promoted: best.r, h: best.h, missedForMs, lostBytes: lastPrimaryOffset === null ? null : Math.max(0, lastPrimaryOffset - best.h.report!.offset) });
    }
    if (promotions.length === 0) return;
    t.epoch = this.topology.epoch + 1;
    const what = promotions.map((p) => `shard ${p.old.shard} worker ${p.old.worker}: ${describe(p.old)} -> ${describe(p.promoted)}`).join('; ');
    const { writtenMs, confirmedMs } = await this.#commit(t, `failover ${what}`, promotions.map((p) => p.promoted));
    for (const p of promotions) {
      this.#unrecoverable.delete(groupKey(p.old));
      this.#record({ kind: 'automatic', at: Date.now(), shard: p.old.shard, worker: p.old.worker, from: describe(p.old), to: describe(p.promoted),
        epoch: t.epoch, lastAnswerMsAgo: p.missedForMs, failoverMs: Date.now() - decidedAt });
      this.#log.warn({
        shard: p.old.shard, worker: p.old.worker, failed: describe(p.old), promoted: describe(p.promoted), epoch: t.epoch,
        misses: this.#config.failoverMisses, lastAnswerMsAgo: p.missedForMs, promotedOffset: p.h.report!.offset,
        bytesBehindLastSeenPrimaryOffset: p.lostBytes, topologyWrittenMs: writtenMs, promotedConfirmedMs: confirmedMs,
        failoverMs: Date.now() - decidedAt,
      }, `failover: shard ${p.old.shard} worker ${p.old.worker} primary ${describe(p.old)} failed (no answer for ${p.missedForMs} ms, ${this.#config.failoverMisses} missed checks); promoted ${describe(p.promoted)} at offset ${p.h.report!.offset}, epoch ${t.epoch}; topology written in ${writtenMs} ms, promotion confirmed ${confirmedMs === null ? 'not yet' : `after ${confirmedMs} ms`}`);
    }
  }
}

/**
 * The status `shoal-cluster status` prints: every group's primary and replicas, with
 * what each worker last reported (`health` absent: the topology alone, no health).
 */
export function clusterStatus(t: Topology, settings: Pick<ShoalConfig, 'failoverCheckMs' | 'failoverMisses' | 'leaseMs'>,
  health: (w: WorkerEndpoint) => EndpointHealth | undefined = () => undefined): ClusterStatus {
  const now = Date.now();
  const pidOf = (node: string): number | null => t.processes.find((p) => p.role === 'shard' && p.name === node)?.pid ?? null;
  const member = (w: WorkerEndpoint, primaryOffset: number | null): MemberStatus => {
    const h = health(w);
    const r = h?.report ?? null;
    const role = w.role ?? 'primary';
    return {
      node: endpointNode(w), id: w.id, host: w.host, port: w.port, role, pid: pidOf(endpointNode(w)),
      reportedRole: r?.role ?? null, offset: r?.offset ?? null, epoch: r?.epoch ?? null, link: r?.link ?? null,
      lag: role === 'replica' && r !== null && primaryOffset !== null ? Math.max(0, primaryOffset - r.offset) : null,
      misses: h?.misses ?? 0, lastReplyMsAgo: h && h.lastReplyAt > 0 ? now - h.lastReplyAt : null, error: h?.lastError ?? null,
    };
  };
  const groups = t.workers.map((p) => {
    const primaryOffset = health(p)?.report?.offset ?? null;
    return {
      shard: p.shard, worker: p.worker, slots: p.slots,
      primary: member(p, null),
      replicas: (t.replicas ?? []).filter((r) => sameGroup(r, p)).map((r) => member(r, primaryOffset)),
    };
  });
  return { epoch: t.epoch, failoverCheckMs: settings.failoverCheckMs, failoverMisses: settings.failoverMisses,
    leaseMs: settings.leaseMs, groups, processes: t.processes, failovers: [] };
}

/**
 * The failover swap that keeps array order: replicas[ri] becomes the primary at
 * workers[pi], the old primary becomes a replica at replicas[ri].
 */
export function swap(t: Topology, pi: number, ri: number): void {
  const replicas = t.replicas ?? [];
  const oldPrimary = t.workers[pi];
  const promoted = replicas[ri];
  if (oldPrimary === undefined || promoted === undefined) throw new Error(`swap: no primary ${pi} or replica ${ri}`);
  t.workers[pi] = { ...promoted, role: 'primary', slots: oldPrimary.slots };
  replicas[ri] = { ...oldPrimary, role: 'replica' };
  t.replicas = replicas;
}
