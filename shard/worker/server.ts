/**
 * WorkerServer: one data-plane worker thread's state — its keyspace, the slots it
 * owns, the cluster view it reports, its connections and counters — and the command
 * dispatch that every connection (direct client or proxy link) goes through.
 */
import { CommandNameCache } from '../../shared/commands/name-cache.js';
import type { Socket } from 'node:net';
import { Keyspace } from '../keyspace.js';
import { Evictor, type EvictionPolicy } from '../evict.js';
import { ActiveExpire } from '../expire.js';
import { BlockingRegistry } from '../blocking.js';
import { CMD_WRITE } from '../../shared/commands/spec.js';
import { BLOCK_SIZE } from '../arena/layout.js';
import { COMMANDS, INTERNAL_COMMANDS } from '../../shared/commands/table.js';
import { arityOk, keyIndexes, type CommandSpec } from '../../shared/commands/spec.js';
import { WireErrors } from '../../shared/resp/wire-errors.js';
import { keySlot } from '../../shared/cluster/slot.js';
import { slotOwners, type WorkerEndpoint } from '../../shared/cluster/topology.js';
import { runConnectionCommand, type ConnectionHost } from '../../shared/connection/commands.js';
import { ClientState, kFramed, kMulti, kWatching, kBlocked, kPubSub, kMasterLink, kReadonly } from '../../shared/connection/client-state.js';
import { RuntimeConfig } from '../../shared/config/runtime.js';
import type { ShoalConfig } from '../../shared/config/schema.js';
import type { CommandContext, Handler } from '../commands/context.js';
import { stringCommands } from '../commands/strings.js';
import { keyCommands } from '../commands/keys.js';
import { serverCommands } from '../commands/server.js';
import { clusterCommands } from '../commands/cluster.js';
import { objectCommands } from '../commands/object.js';
import { listCommands } from '../commands/lists.js';
import { hashCommands } from '../commands/hashes.js';
import { setCommands } from '../commands/sets.js';
import { zsetCommands } from '../commands/zsets.js';
import { bitmapCommands } from '../commands/bitmaps.js';
import { hyperLogLogCommands } from '../commands/hyperloglog.js';
import { bloomCommands } from '../commands/bloom.js';
import { pubsubCommands, subscriberModeGate, isHubLink } from '../commands/pubsub.js';
import { PubSubRegistry } from '../pubsub.js';
import { KeyspaceNotifier } from '../keyspace-events.js';
import { IdleCollector } from './idle-gc.js';
import { SnapshotState, type SnapshotRun } from '../persistence/snapshot.js';
import { snapshotCommands } from '../persistence/snapshot-commands.js';
import { WriteStream } from '../persistence/write-stream.js';
import { AofLog } from '../persistence/aof.js';
import { aofCommands } from '../persistence/aof-commands.js';
import { replicationCommands } from '../commands/replication.js';
import { Replication } from '../replication/role.js';
import { transactionCommands, WatchTable, interceptTransaction, flagTransaction, rejectExec, refusedOnOom } from '../commands/transactions.js';

/**
 * Arena pages allowed per byte of maxmemory (plus one block, the arena's unit of
 * growth, so a small limit is not rounded down to fewer blocks than it needs). Eviction keeps used bytes under the
 * limit; pages hold those bytes plus rounding and free chunks (~3% measured in the
 * churn bench), so 5% more pages rarely forces a page steal. A guess, tuned by
 * loadtest/macro/churn.ts.
 */
const PAGE_CAP_SLACK = 1.05;

/** Write commands that change keys only by deleting them (counted by Keyspace.unlink for WATCH). */
const DELETE_ONLY = new Set(['del', 'unlink', 'getdel']);

export interface CommandEntry {
  spec: CommandSpec;
  handler: Handler;
  internal: boolean;
  /** A write whose keys' WATCH counters are bumped after it runs (see afterWrite). */
  watchWrite: boolean;
  calls: number;
  rejected: number;
}

export interface WorkerInit {
  self: WorkerEndpoint;
  /** The primaries (slot owners). `self` is among them, or among `replicas`. */
  topology: WorkerEndpoint[];
  replicas: WorkerEndpoint[];
  epoch: number;
  config: ShoalConfig;
}

/** Under a disk error: write commands, PING, and EXEC of a transaction holding a write are refused (Redis's processCommand). */
function deniedOnDiskError(c: ClientState, spec: CommandSpec, server: WorkerServer): boolean {
  if (spec.flags & CMD_WRITE || spec.name === 'ping') return true;
  if (spec.name !== 'exec' || c.multi === null) return false;
  return c.multi.some((argv) => ((server.lookup(argv[0]!)?.spec.flags ?? 0) & CMD_WRITE) !== 0);
}

/** Every handler of every family, by command name. */
export const HANDLERS: Readonly<Record<string, Handler>> = {
  ...stringCommands, ...keyCommands, ...serverCommands, ...clusterCommands, ...objectCommands,
  ...listCommands, ...hashCommands, ...setCommands, ...zsetCommands, ...bitmapCommands, ...hyperLogLogCommands, ...bloomCommands,
  ...transactionCommands, ...pubsubCommands, ...snapshotCommands, ...aofCommands, ...replicationCommands,
};

export class WorkerServer implements ConnectionHost {
  readonly mode = 'cluster' as const;
  readonly ks: Keyspace;
  readonly evictor: Evictor;
  readonly activeExpire: ActiveExpire;
  readonly blocking = new BlockingRegistry();
  /** Subscriptions and message delivery (shard/pubsub.ts, docs/pubsub.md). */
  readonly pubsub = new PubSubRegistry();
  /** notify-keyspace-events (shard/keyspace-events.ts). */
  readonly notifier: KeyspaceNotifier;
  /** WATCH registrations and tokens (shard/commands/transactions.ts). */
  readonly watches: WatchTable;
  readonly self: WorkerEndpoint;
  topology: WorkerEndpoint[];
  epoch: number;
  readonly config: ShoalConfig;
  readonly runtime: RuntimeConfig;
  readonly startTime = Date.now();
  readonly sessions = new Map<Socket, ClientState>();
  readonly stats = { connections: 0, commands: 0, netIn: 0, netOut: 0 };
  /** Peak of usedMemory (INFO used_memory_peak). */
  peakMemory = 0;
  /**
   * used_memory_startup: this worker's share of the process's runtime memory (RSS minus
   * arenas, measured once when the process is ready: shard/main.ts measureStartup).
   * Counted in used_memory, so the data may use maxmemory share minus this.
   */
  startupBytes = 0;
  /** This worker's share of maxmemory (INFO maxmemory); the evictor's limit is it minus startupBytes. */
  maxmemoryShare = 0;
  /** Write commands that succeeded since the last snapshot (Redis `dirty`: rdb_changes_since_last_save, save points). */
  dirty = 0;
  /** Snapshot state: BGSAVE/SAVE/LASTSAVE, save points, INFO persistence (shard/persistence/snapshot.ts). */
  readonly snapshots: SnapshotState = new SnapshotState(this);
  /** The running background snapshot while it copies keys on write, else null (one test per write command). */
  cow: SnapshotRun | null = null;
  /** Propagation of writes (shard/persistence/write-stream.ts): the append-only log listens, replication later. */
  readonly writes = new WriteStream();
  /** The append-only log (shard/persistence/aof.ts). */
  readonly aof: AofLog;
  readonly idleGc = new IdleCollector();
  /** Role, epoch, lease, backlog, replica links (shard/replication/role.ts). */
  readonly replication: Replication;
  /** slot → index into topology. */
  #owners: Int16Array;
  #selfIndex: number;
  /** A replica: index of its group's primary in topology (its slots may be read here); else -1. */
  #groupIndex = -1;
  /** Command name exactly as sent (any case) → entry; filled on first use. */
  readonly #byName = new CommandNameCache<CommandEntry>();
  readonly #entries = new Map<string, CommandEntry>();

  constructor(init: WorkerInit) {
    this.self = init.self;
    this.topology = init.topology;
    this.epoch = init.epoch;
    this.config = { ...init.config };
    this.runtime = new RuntimeConfig(this.config, init.self.port, true);
    this.ks = new Keyspace();
    this.watches = new WatchTable(this.ks);
    this.evictor = new Evictor(this.ks);
    this.activeExpire = new ActiveExpire(this.ks);
    this.ks.reclaim = (avoid) => this.evictor.evictOne(avoid);
    this.notifier = new KeyspaceNotifier(this.ks, this.pubsub);
    this.aof = new AofLog(this);
    // Expiry and eviction propagate as DEL.
    this.ks.onRemovedLog = (ref) => {
      if (this.writes.on !== 0) this.writes.removed(this.ks.keyCopy(ref));
    };
    this.#owners = slotOwners(this.topology);
    this.#selfIndex = this.topology.findIndex((w) => w.id === this.self.id);
    this.#groupIndex = this.#selfIndex === -1 ? this.topology.findIndex((w) => w.shard === this.self.shard && w.worker === this.self.worker) : -1;
    this.replication = new Replication(this, init);
    for (const spec of [...COMMANDS, ...INTERNAL_COMMANDS]) {
      const internal = INTERNAL_COMMANDS.includes(spec);
      let handler = HANDLERS[spec.name];
      if (!handler) {
        const name = spec.name;
        handler = (ctx, argv) => {
          if (!runConnectionCommand(name, ctx.out, ctx.client, argv, this)) ctx.out.error(WireErrors.unknownCommand(name, argv.slice(1)));
        };
      }
      // DEL UNLINK GETDEL change a key only by deleting it, which Keyspace.unlink counts.
      const watchWrite = (spec.flags & CMD_WRITE) !== 0 && !DELETE_ONLY.has(spec.name);
      this.#entries.set(spec.name, { spec, handler, internal, watchWrite, calls: 0, rejected: 0 });
    }
    this.applyConfig();
  }

  /** Workers of this worker's shard process, which share its maxmemory. */
  get shardWorkers(): number {
    return this.topology.filter((w) => w.shard === this.self.shard).length;
  }

  *clients(): Iterable<ClientState> {
    yield* this.sessions.values();
  }

  get commandStats(): Iterable<[string, CommandEntry]> {
    return this.#entries.entries();
  }

  resetStats(): void {
    for (const e of this.#entries.values()) {
      e.calls = 0;
      e.rejected = 0;
    }
    this.stats.commands = 0;
    this.ks.hits = this.ks.misses = this.ks.expiredKeys = this.ks.evictedKeys = 0;
  }

  /** INFO used_memory: the runtime share measured at start plus what the keyspace accounts (arena, indexes, heap collections). */
  get usedMemory(): number {
    return this.startupBytes + this.ks.usedBytes;
  }

  /** The measured runtime share arrives from the main thread once every worker listens (shard/main.ts). */
  setStartupMemory(bytes: number): void {
    this.startupBytes = bytes;
    this.applyConfig();
  }

  /** Pushes config values into the keyspace and evictor (at start and after CONFIG SET). */
  applyConfig(): void {
    const c = this.config;
    this.maxmemoryShare = c.maxmemory > 0 ? Math.floor(c.maxmemory / this.shardWorkers) : 0;
    // The runtime's share counts against maxmemory, as Redis's used_memory counts its
    // own overhead: the evictor keeps the keyspace's bytes under what is left. A share
    // at or below the runtime leaves 1 byte (not 0 = no limit): every write evicts or OOMs.
    this.evictor.limit = this.maxmemoryShare > 0 ? Math.max(1, this.maxmemoryShare - this.startupBytes) : 0;
    // Pages may exceed the limit by a little (size-class slack); beyond that the arena
    // takes pages from other classes instead of growing (shard/arena/slab-arena.ts).
    this.ks.setPageCap(this.evictor.limit > 0 ? Math.ceil(this.evictor.limit * PAGE_CAP_SLACK) + BLOCK_SIZE : 0);
    this.evictor.samples = c.maxmemorySamples;
    if (this.evictor.policy !== c.maxmemoryPolicy) this.evictor.policy = c.maxmemoryPolicy as EvictionPolicy;
    this.ks.lfuLogFactor = c.lfuLogFactor;
    this.ks.lfuDecayTime = c.lfuDecayTime;
    this.notifier.configure(c.notifyKeyspaceEvents);
    this.aof.applyConfig();
    this.replication.applyConfig();
  }

  /** SHOAL.TOPOLOGY adopted (shard/replication/role.ts): new slot owners, MOVED targets, epoch. */
  applyTopology(workers: WorkerEndpoint[], replicas: WorkerEndpoint[], epoch: number): void {
    this.#owners = slotOwners(workers);
    this.topology = workers;
    this.epoch = epoch;
    this.replication.replicas = replicas;
    this.#selfIndex = workers.findIndex((w) => w.id === this.self.id);
    this.#groupIndex = this.#selfIndex === -1 ? workers.findIndex((w) => w.shard === this.self.shard && w.worker === this.self.worker) : -1;
  }

  lookup(name: Buffer): CommandEntry | undefined {
    let e = this.#byName.get(name);
    if (e === undefined) {
      e = this.#entries.get(name.toString('latin1').toLowerCase());
      if (e !== undefined) this.#byName.set(name, e);
    }
    return e;
  }

  /**
   * Runs one command and writes its reply into ctx.out. Checks in Redis Cluster's
   * order: unknown command, arity, cross-slot keys, slot ownership (MOVED). A rejected
   * command inside MULTI flags the transaction (EXECABORT); a command passing the
   * checks inside MULTI is queued (shard/commands/transactions.ts).
   */
  execute(ctx: CommandContext, argv: Buffer[]): void {
    const out = ctx.out;
    const entry = this.lookup(argv[0]!);
    if (entry === undefined || (entry.internal && !(ctx.client.flags & kFramed) && !isHubLink(ctx.client))) {
      out.error(WireErrors.unknownCommand(argv[0]!.toString(), argv.slice(1)));
      flagTransaction(ctx.client);
      return;
    }
    const spec = entry.spec;
    if (!arityOk(spec, argv.length)) {
      entry.rejected++;
      if (spec.name === 'exec') rejectExec(ctx, `wrong number of arguments for 'exec' command`);
      else out.error(WireErrors.wrongArity(spec.name));
      flagTransaction(ctx.client);
      return;
    }
    if (((spec.firstKey > 0 && argv.length > spec.firstKey) || spec.numkeysAt !== undefined) && !(ctx.client.flags & kMasterLink) && !this.checkKeysOrReply(ctx, spec, argv)) {
      entry.rejected++;
      flagTransaction(ctx.client);
      return;
    }
    // Replica, fenced or lease expired, min-replicas-to-write (shard/replication/role.ts).
    if (this.replication.gate !== 0 && !this.replication.admit(ctx, spec)) {
      entry.rejected++;
      flagTransaction(ctx.client);
      return;
    }
    // As Redis's processCommand: with maxmemory set, evict before every command while
    // used memory is over the limit; if that fails, refuse commands that may grow memory
    // (inside MULTI, any command but EXEC DISCARD QUIT RESET).
    if (this.evictor.limit !== 0 && !this.evictor.makeRoom(0) && refusedOnOom(ctx.client, spec, this)) {
      entry.rejected++;
      if (spec.name === 'exec') rejectExec(ctx, WireErrors.oom);
      else out.error(WireErrors.oom);
      flagTransaction(ctx.client);
      return;
    }
    // A failed AOF write refuses writes (and PING, as Redis) until the disk recovers.
    if (this.aof.writeError !== null && deniedOnDiskError(ctx.client, spec, this)) {
      entry.rejected++;
      out.error(`MISCONF Errors writing to the AOF file: ${this.aof.writeError}`);
      flagTransaction(ctx.client);
      return;
    }
    if (ctx.client.flags & kPubSub && !subscriberModeGate(ctx, spec, argv)) return;
    if (ctx.client.flags & (kMulti | kWatching) && interceptTransaction(ctx, spec, argv)) return;
    this.stats.commands++;
    ctx.client.lastCommand = spec.name;
    this.call(ctx, entry, argv);
    if (this.blocking.pending) this.blocking.serveReady();
  }

  /** Runs a command queued by MULTI (checked when queued), inside EXEC. */
  runQueued(ctx: CommandContext, argv: Buffer[]): void {
    const entry = this.lookup(argv[0]!)!;
    this.stats.commands++;
    this.call(ctx, entry, argv);
  }

  private call(ctx: CommandContext, entry: CommandEntry, argv: Buffer[]): void {
    entry.calls++;
    const at = ctx.out.pos;
    const events = this.notifier.flags !== 0 ? this.notifier.before(entry.spec, argv, at) : null;
    const write = (entry.spec.flags & CMD_WRITE) !== 0;
    if (write && this.cow !== null) this.cow.beforeCommand(entry.spec, argv);
    const writes = this.writes;
    if (writes.on !== 0 && entry.spec.name === 'exec' && writes.beginTx()) {
      try {
        entry.handler(ctx, argv);
      } finally {
        writes.endTx();
      }
    } else {
      entry.handler(ctx, argv);
      if (writes.on !== 0 && write) {
        if (ctx.client.flags & kBlocked) {
          // Served later: propagated then as the pop that happened (write-stream.ts).
          const copy = argv.map((a) => Buffer.from(a));
          this.blocking.onServed(ctx.client, (servedAt) => {
            if (this.writes.on !== 0) this.writes.afterServed(ctx, copy, servedAt);
          });
        } else writes.afterCommand(ctx, entry.spec, argv, at);
      }
    }
    if (write && !(ctx.out.pos > at && ctx.out.buf[at] === 0x2d)) this.dirty++;
    if (events !== null) this.notifier.after(ctx, events);
    if (entry.watchWrite && (this.ks.watchCounters !== null || ctx.client.flags & kBlocked)) this.afterWrite(ctx, entry.spec, argv, at);
  }

  /**
   * WATCH bookkeeping after a write command: bump the watch counters of its keys,
   * unless it replied an error (nothing changed); a command that blocked (BLMOVE ...)
   * bumps them when it is served (shard/blocking.ts).
   */
  private afterWrite(ctx: CommandContext, spec: CommandSpec, argv: Buffer[], at: number): void {
    const keys = keyIndexes(spec, argv);
    if (ctx.client.flags & kBlocked) {
      this.blocking.noteWrites(ctx.client, keys.map((i) => Buffer.from(argv[i]!)));
      return;
    }
    if (ctx.out.pos > at && ctx.out.buf[at] === 0x2d) return;
    for (const i of keys) this.ks.touchWatched(argv[i]!);
  }

  /** For commands whose key is not at a table position (OBJECT, MEMORY USAGE): MOVED unless owned. */
  ownsKeyOrReply(ctx: CommandContext, key: Buffer): boolean {
    const slot = keySlot(key);
    if (this.#owners[slot] === this.#selfIndex) return true;
    if (this.#owners[slot] === this.#groupIndex && ctx.client.flags & (kFramed | kReadonly | kMasterLink)) return true;
    const owner = this.topology[this.#owners[slot]!]!;
    ctx.out.error(WireErrors.moved(slot, `${owner.host}:${owner.port}`));
    return false;
  }

  /**
   * Every key must live in a slot this worker owns (else MOVED to the owner). A
   * direct client must also keep all keys in one slot (else CROSSSLOT), as Redis
   * Cluster; the proxy's framed links may mix slots, since it already split the
   * command per worker.
   */
  private checkKeysOrReply(ctx: CommandContext, spec: CommandSpec, argv: Buffer[]): boolean {
    const argc = argv.length;
    const framed = (ctx.client.flags & kFramed) !== 0;
    // A replica serves its group's slots to proxy links (writes then get -READONLY) and
    // to READONLY direct clients' reads (Redis Cluster); anything else is MOVED.
    const group = this.#groupIndex !== -1 && (framed || ((ctx.client.flags & kReadonly) !== 0 && (spec.flags & CMD_WRITE) === 0)) ? this.#groupIndex : -2;
    let firstSlot = -1;
    let foreign = -1;
    // numkeys commands list their keys explicitly; others walk first..last by step.
    const indexes = spec.numkeysAt === undefined ? null : keyIndexes(spec, argv);
    const end = indexes ? indexes.length - 1 : spec.lastKey < 0 ? argc + spec.lastKey : Math.min(spec.lastKey, argc - 1);
    const step = indexes ? 1 : spec.keyStep;
    for (let i = indexes ? 0 : spec.firstKey; i <= end; i += step) {
      const slot = keySlot(argv[indexes ? indexes[i]! : i]!);
      if (firstSlot === -1) firstSlot = slot;
      else if (slot !== firstSlot && !framed) {
        ctx.out.error(WireErrors.crossSlot);
        return false;
      }
      if (foreign === -1 && this.#owners[slot] !== this.#selfIndex && this.#owners[slot] !== group) foreign = slot;
    }
    if (foreign !== -1) {
      const owner = this.topology[this.#owners[foreign]!]!;
      ctx.out.error(WireErrors.moved(foreign, `${owner.host}:${owner.port}`));
      return false;
    }
    return true;
  }
}
