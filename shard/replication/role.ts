/**
 * Replication: one worker's replication state — its role (primary or replica of its
 * group), config epoch, lease and fence — and the transitions the manager drives with
 * SHOAL.TOPOLOGY / SHOAL.LEASE / SHOAL.FENCE (docs/replication.md). It owns the
 * backlog, the primary side (./primary.ts) and, on a replica, the link to the primary
 * (./replica-link.ts). `server.replication` is this object.
 *
 * Write gate (WorkerServer.execute calls `admit` only while `gate` is non-zero):
 *   replica                      → -READONLY (proxy links, keyless writes; direct
 *                                  clients' keyed writes got MOVED before this)
 *   fenced, or the lease expired → -TRYAGAIN Lease expired or fenced: ...
 *   min-replicas-to-write unmet  → -NOREPLICAS ...
 * The master-link client (kMasterLink) always passes.
 *
 * Lease: enforcement starts with the first SHOAL.LEASE (a standalone shard never gets
 * one). A primary stops accepting writes once `now > leaseUntil`. A SIGSTOPped or
 * stalled process may find the manager's renewals queued in its socket when it
 * resumes; they are stale, so after the event loop stalled longer than the lease, no
 * renewal is accepted for one lease period (`#distrustUntil`): the manager may have
 * promoted a replica meanwhile, and its SHOAL.TOPOLOGY will say so.
 *
 * Fence: a lease epoch above the worker's fences it until a SHOAL.TOPOLOGY of that
 * epoch arrives; SHOAL.FENCE (manual failover) fences it until the next topology.
 *
 * Owner: the worker thread.
 */
import { readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../shared/log.js';
import { workerDataDir } from '../persistence/data-dir.js';
import type { WorkerServer, WorkerInit } from '../worker/server.js';
import type { CommandContext } from '../commands/context.js';
import type { CommandSpec } from '../../shared/commands/spec.js';
import { CMD_WRITE, CMD_LOADING } from '../../shared/commands/spec.js';
import { kMasterLink, kDirtyExec } from '../../shared/connection/client-state.js';
import { primaryOf, slotOwners, type WorkerEndpoint } from '../../shared/cluster/topology.js';
import { rejectExec } from '../commands/transactions.js';
import { ReplicationBacklog } from './backlog.js';
import { PrimarySide } from './primary.js';
import { ReplicaLink } from './replica-link.js';

export type Role = 'primary' | 'replica';

export const READONLY_ERR = "READONLY You can't write against a read only replica.";
export const NOREPLICAS_ERR = 'NOREPLICAS Not enough good replicas to write.';
export const LOADING_ERR = 'LOADING Redis is loading the dataset in memory';
export const tryagainErr = (epoch: number): string => `TRYAGAIN Lease expired or fenced: this primary may have been replaced (epoch ${epoch})`;

export class Replication {
  role: Role;
  backlog: ReplicationBacklog | null = null;
  readonly primary: PrimarySide;
  link: ReplicaLink | null = null;
  /** Replica endpoints of the whole topology (CLUSTER SLOTS/SHARDS/NODES). */
  replicas: WorkerEndpoint[];
  /** Non-zero when WorkerServer.execute must ask `admit` about writes. */
  gate = 0;
  leaseEnforced = false;
  leaseUntil = 0;
  /** Fenced until a topology of at least this epoch (0 = not). */
  fencedEpoch = 0;
  /** SHOAL.FENCE: writes stop until the next topology. */
  manualFence = false;
  log: Logger | null = null;
  #started = false;
  #lastTick = Date.now();
  #distrustUntil = 0;
  #lastLeaseTtl = 0;
  #sinkOn = false;
  /** The keyspace's own lazy expiry, put back when the worker stops being a replica. */
  readonly #expire: (ref: number) => void;

  constructor(readonly server: WorkerServer, init: WorkerInit) {
    this.replicas = init.replicas ?? [];
    this.role = init.self.role === 'replica' || !init.topology.some((w) => w.id === init.self.id) ? 'replica' : 'primary';
    this.primary = new PrimarySide(server, () => this.ensureBacklog(), () => this.log);
    this.#expire = server.ks.expire.bind(server.ks);
  }

  get stats(): PrimarySide['stats'] {
    return this.primary.stats;
  }

  /** master_repl_offset: a primary's stream bytes; a replica's applied bytes. */
  get offset(): number {
    if (this.role === 'replica' && this.link !== null && this.link.state === 'connected') return this.link.applied;
    return this.backlog?.offset ?? 0;
  }

  /**
   * The backlog, created when the first replica asks for it (as Redis: a primary that
   * never had a replica pays nothing per write). A primary's propagation sink listens
   * from then on.
   */
  /**
   * The offset a FLAG_OFFSET reply carries: a primary's master_repl_offset; a replica's
   * applied offset while its link is up, else 0 — while it resyncs its data may be of
   * another history (a demoted primary) whose offsets say nothing about the current one,
   * so session reads must not trust them.
   */
  get servingOffset(): number {
    if (this.role === 'primary') return this.backlog?.offset ?? 0;
    return this.link !== null && this.link.state === 'connected' ? this.link.applied : 0;
  }

  ensureBacklog(): ReplicationBacklog {
    if (this.backlog === null) {
      this.backlog = new ReplicationBacklog(this.server.config.replBacklogSize);
      this.log?.info({ replid: this.backlog.replid, size: this.backlog.size }, 'replication backlog created');
    }
    if (this.role === 'primary' && !this.#sinkOn) {
      this.#sinkOn = true;
      this.server.writes.addSink(this.primary);
    }
    return this.backlog;
  }

  /** After recovery, before the worker serves: the role takes effect. */
  start(log: Logger): void {
    this.log = log;
    this.#started = true;
    this.#lastTick = Date.now(); // loading the data is not a stall
    this.#removeStaleSyncFiles();
    if (this.role === 'replica') this.#becomeReplica('start');
    else this.#becomePrimary('start', false);
    this.#refreshGate();
  }

  /** Sync files a crash left behind (repl-sync.sdb* of a primary, repl-recv.sdb of a replica): never data. */
  #removeStaleSyncFiles(): void {
    try {
      const dir = workerDataDir(this.server.config, this.server.self);
      for (const f of readdirSync(dir)) {
        if (!f.startsWith('repl-sync.sdb') && f !== 'repl-recv.sdb') continue;
        unlinkSync(join(dir, f));
        this.log?.warn({ file: join(dir, f) }, 'removed a replication sync file left by an earlier run');
      }
    } catch {
      // no directory yet, or already gone
    }
  }

  stop(): void {
    this.link?.stop();
    this.link = null;
    this.primary.closeAll('shutting down');
  }

  /** CONFIG SET and start: replicas ignore maxmemory; the backlog follows repl-backlog-size. */
  applyConfig(): void {
    if (this.role === 'replica' && this.#started) {
      this.server.evictor.limit = 0;
      this.server.ks.setPageCap(0);
    }
    this.backlog?.resize(this.server.config.replBacklogSize);
    this.#refreshGate();
  }

  #refreshGate(): void {
    if (!this.#started) return;
    this.gate = this.role === 'replica' || this.leaseEnforced || this.fencedEpoch !== 0 || this.manualFence || this.server.config.minReplicasToWrite > 0 ? 1 : 0;
  }

  get fenced(): boolean {
    return this.fencedEpoch !== 0 || this.manualFence;
  }

  /** Lease left in ms (-1 = not enforced, or a replica: it has none). */
  leaseLeft(now = Date.now()): number {
    if (!this.leaseEnforced || this.role === 'replica') return -1;
    return Math.max(0, this.leaseUntil - now);
  }

  /** The write gate (see the file comment); false after writing the refusal. */
  admit(ctx: CommandContext, spec: CommandSpec): boolean {
    const c = ctx.client;
    if (c.flags & kMasterLink) return true;
    // A replica loading its primary's snapshot has half a keyspace: only commands allowed while loading run (Redis's -LOADING).
    if (this.role === 'replica' && this.server.snapshots.loading && !(spec.flags & CMD_LOADING)) {
      ctx.out.error(LOADING_ERR);
      return false;
    }
    let write = (spec.flags & CMD_WRITE) !== 0;
    if (!write && spec.name === 'exec' && c.multi !== null && !(c.flags & kDirtyExec)) {
      write = c.multi.some((argv) => ((this.server.lookup(argv[0]!)?.spec.flags ?? 0) & CMD_WRITE) !== 0);
    }
    if (!write) return true;
    let err: string | null = null;
    if (this.role === 'replica') err = READONLY_ERR;
    else if (this.fenced || (this.leaseEnforced && ctx.ks.now > this.leaseUntil)) err = tryagainErr(this.server.epoch);
    else if (this.server.config.minReplicasToWrite > 0 && this.primary.goodReplicas(Date.now()) < this.server.config.minReplicasToWrite) err = NOREPLICAS_ERR;
    if (err === null) return true;
    if (spec.name === 'exec') rejectExec(ctx, err);
    else ctx.out.error(err);
    return false;
  }

  // --- control commands -------------------------------------------------------------------

  /** SHOAL.LEASE <epoch> <ttl-ms> → [role, offset, epoch, link]. */
  lease(epoch: number, ttl: number): [Role, number, number, string] {
    const now = Date.now();
    this.leaseEnforced = true;
    this.#lastLeaseTtl = ttl;
    this.#checkStall(now);
    if (epoch > this.server.epoch && this.fencedEpoch < epoch) {
      this.fencedEpoch = epoch;
      this.log?.warn({ epoch: this.server.epoch, leaseEpoch: epoch, role: this.role }, 'fenced: the manager is at a newer epoch; writes refused until its topology arrives');
    } else if (epoch === this.server.epoch && this.role === 'primary' && now >= this.#distrustUntil) {
      const was = this.leaseUntil;
      this.leaseUntil = now + ttl;
      if (was !== 0 && was < now && this.log !== null) this.log.info({ expiredForMs: now - was }, 'lease renewed after it had expired');
    }
    this.#refreshGate();
    return [this.role, this.offset, this.server.epoch, this.role === 'primary' ? 'none' : (this.link?.linkStatus ?? 'down')];
  }

  /** SHOAL.FENCE: stop writes now; the offset the replica must reach. */
  fence(): number {
    this.primary.flushNow();
    if (!this.manualFence) this.log?.info({ offset: this.offset, epoch: this.server.epoch }, 'fenced by SHOAL.FENCE (manual failover): writes refused until the next topology');
    this.manualFence = true;
    this.#refreshGate();
    return this.offset;
  }

  /** SHOAL.TOPOLOGY <epoch> <json>: null when adopted, else the error text. */
  adoptTopology(epoch: number, json: string): string | null {
    if (epoch < this.server.epoch) return `ERR stale topology epoch ${epoch} (this worker is at ${this.server.epoch})`;
    let workers: WorkerEndpoint[];
    let replicas: WorkerEndpoint[];
    try {
      const t = JSON.parse(json) as { workers?: unknown; replicas?: unknown };
      if (!Array.isArray(t.workers)) throw new Error('"workers" must be an array');
      workers = t.workers as WorkerEndpoint[];
      replicas = Array.isArray(t.replicas) ? (t.replicas as WorkerEndpoint[]) : [];
      slotOwners(workers);
    } catch (err) {
      return `ERR invalid topology: ${(err as Error).message}`;
    }
    const self = this.server.self;
    const wasRole = this.role;
    const oldPrimary = this.link?.primary;
    const before = this.server.epoch;
    this.server.applyTopology(workers, replicas, epoch);
    this.replicas = replicas;
    if (this.fencedEpoch !== 0 && this.fencedEpoch <= epoch) this.fencedEpoch = 0;
    this.manualFence = false;
    const asPrimary = workers.find((w) => w.id === self.id);
    const asReplica = replicas.find((w) => w.id === self.id);
    if (asPrimary !== undefined) {
      self.role = 'primary';
      if (wasRole === 'replica') this.#becomePrimary(`topology epoch ${epoch}`, true);
    } else {
      self.role = 'replica';
      const next = primaryOf(workers, self);
      if (wasRole === 'primary') this.#becomeReplica(`topology epoch ${epoch}`);
      else if (next === undefined || oldPrimary === undefined || next.host !== oldPrimary.host || next.port !== oldPrimary.port) this.#becomeReplica(`topology epoch ${epoch}: new primary`);
      if (asReplica === undefined) this.log?.warn({ epoch }, 'this worker is not in the new topology; staying a replica');
    }
    if (epoch !== before) this.log?.info({ epoch, before, role: this.role }, 'topology adopted');
    this.#refreshGate();
    return null;
  }

  /** Role change to primary (promotion keeps data and offsets: replid2 = the old history). */
  #becomePrimary(why: string, promoted: boolean): void {
    const t0 = Date.now();
    this.link?.stop();
    this.link = null;
    this.role = 'primary';
    this.server.self.role = 'primary';
    const ks = this.server.ks;
    ks.expire = this.#expire;
    if (this.backlog !== null || promoted) this.ensureBacklog();
    if (promoted) {
      const b = this.ensureBacklog();
      b.shiftReplid();
      // The manager promoted us: a lease at once, so writes flow before its next check
      // (enforced only once some SHOAL.LEASE arrived, as for any primary).
      this.leaseUntil = Date.now() + this.server.config.leaseMs;
      this.#distrustUntil = 0;
      this.log?.info({ why, replid: b.replid, replid2: b.replid2, offset: b.offset, secondOffset: b.secondOffset, leaseMs: this.server.config.leaseMs, ms: Date.now() - t0 }, 'promoted to primary');
    } else {
      this.log?.info({ why }, 'role: primary');
    }
    this.server.applyConfig();
  }

  /** Role change to replica: writes refused at once, then sync with the group's primary. */
  #becomeReplica(why: string): void {
    const was = this.role;
    this.role = 'replica';
    this.server.self.role = 'replica';
    this.#refreshGate();
    if (was === 'primary') {
      this.server.writes.removeSink(this.primary);
      this.#sinkOn = false;
      this.primary.closeAll('demoted to replica');
    }
    // A replica never expires keys on its own: a read of an expired key answers nil
    // and leaves it for the primary's DEL (Keyspace.find calls expire() then misses).
    const ks = this.server.ks;
    ks.expire = () => {};
    this.server.evictor.limit = 0;
    ks.setPageCap(0);
    this.link?.stop();
    this.link = null;
    const primary = primaryOf(this.server.topology, this.server.self);
    if (primary === undefined) {
      this.log?.warn({ why }, 'role: replica, but the topology has no primary for this group');
      return;
    }
    this.link = new ReplicaLink(this, primary);
    this.log?.info({ why, was, primary: `${primary.host}:${primary.port}`, offset: this.backlog?.offset ?? 0 }, was === 'primary' ? 'demoted to replica' : 'role: replica');
    this.link.start();
  }

  /**
   * The loop stalled (SIGSTOP, a long pause) longer than the lease: renewals queued
   * meanwhile are stale, so none is accepted for one lease period. Checked by the tick
   * and by SHOAL.LEASE, whichever runs first after the stall.
   */
  #checkStall(now: number): void {
    const ttl = this.#lastLeaseTtl;
    if (!this.leaseEnforced || now - this.#lastTick <= ttl || this.#distrustUntil >= now) return;
    this.#distrustUntil = now + ttl;
    this.log?.warn({ stalledMs: now - this.#lastTick, ignoreMs: ttl }, 'event loop stalled longer than the lease: ignoring lease renewals for one lease period');
  }

  /** Worker tick (every TICK_MS). */
  tick(now: number): void {
    this.#checkStall(now);
    this.#lastTick = now;
    if (this.role === 'primary') this.primary.tick(now);
    else this.link?.tick(now);
  }

  get lastLeaseTtl(): number {
    return this.#lastLeaseTtl;
  }
}
