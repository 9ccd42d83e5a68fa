/**
 * Transactions on a worker: MULTI EXEC DISCARD WATCH UNWATCH for direct clients (as a
 * Redis Cluster node), and the internal SHOAL.WATCH / SHOAL.CHECKWATCH / SHOAL.UNWATCH
 * the proxy uses on its framed links. Design and deviations: docs/transactions.md.
 *
 * MULTI state lives in the connection's ClientState (kMulti, `multi`, kDirtyExec);
 * WorkerServer.execute queues a command instead of running it when kMulti is set
 * (after the unknown-command, arity, key and OOM checks, whose errors set kDirtyExec).
 *
 * WATCH is optimistic and costs nothing while nobody watches: the WatchTable below
 * switches the keyspace's modification counters (Keyspace.watchCounters, indexed by
 * key hash & mask) on while at least one watch is registered. Then every write command
 * bumps the counters of its keys (WorkerServer), every unlink (DEL, expiry, eviction)
 * bumps its key's counter, and FLUSHALL/FLUSHDB bump the keyspace's epoch. A token is
 * epoch * 2^32 + counter: EXEC is aborted when a watched key's token changed. Keys that
 * share a counter may abort an EXEC spuriously, never let a changed key through.
 */
import type { CommandContext, HandlerTable } from './context.js';
import type { Keyspace } from '../keyspace.js';
import type { WorkerServer } from '../worker/server.js';
import { hashKey } from '../index/hash-index.js';
import { kMulti, kDirtyExec, kDirtyCas, kWatching, kInExec, kFramed, type ClientState, type WatchedKey } from '../../shared/connection/client-state.js';
import { CMD_DENYOOM, hasKeys, keyIndexes, type CommandSpec } from '../../shared/commands/spec.js';
import { keySlot } from '../../shared/cluster/slot.js';
import { Replies } from '../../shared/resp/replies.js';
import { WireErrors } from '../../shared/resp/wire-errors.js';
import { parseSafeInt } from '../../shared/resp/numbers.js';

/** Counters per worker (a power of two): 1 MiB, allocated on the first WATCH. */
const COUNTERS = 1 << 18;
const EPOCH_UNIT = 2 ** 32;

export const EXECABORT = 'EXECABORT Transaction discarded because of previous errors.';

/** Commands that run at once inside MULTI instead of being queued (as Redis's processCommand). */
const IMMEDIATE = new Set(['exec', 'discard', 'multi', 'watch', 'quit', 'reset']);

/** Watch registrations of one worker and the tokens of keys. */
export class WatchTable {
  readonly #ks: Keyspace;
  #regs = 0;
  #counters: Uint32Array | null = null;

  constructor(ks: Keyspace) {
    this.#ks = ks;
  }

  get registrations(): number {
    return this.#regs;
  }

  /** n more watches: the keyspace counts modifications from now on. */
  register(n: number): void {
    if (this.#regs === 0) this.#ks.watchCounters = this.#counters ??= new Uint32Array(COUNTERS);
    this.#regs += n;
  }

  /** n watches ended. The last one stops counting and changes the epoch, so no token taken before stays valid. */
  unregister(n: number): void {
    if (this.#regs === 0 || n <= 0) return;
    this.#regs = Math.max(0, this.#regs - n);
    if (this.#regs === 0) {
      this.#ks.watchCounters = null;
      this.#ks.watchEpoch = (this.#ks.watchEpoch + 1) & 0xfffff;
    }
  }

  /**
   * The key's current token (-1 when nothing is counted, which matches no token).
   * The key is looked up first, so a key whose TTL passed is deleted now and that
   * deletion changes its token (Redis 7: a watched key that expires aborts EXEC; one
   * already expired when watched does not).
   */
  token(key: Buffer): number {
    const ks = this.#ks;
    ks.find(key, false);
    const c = ks.watchCounters;
    if (c === null) return -1;
    return ks.watchEpoch * EPOCH_UNIT + c[hashKey(key, 0, key.length) & (c.length - 1)]!;
  }
}

// --- hooks used by WorkerServer.execute ---------------------------------------------------

/**
 * Called when the client is in MULTI or watches keys (one flag test on the hot path):
 * queues the command and replies +QUEUED (true), or lets it run (false). RESET first
 * ends the transaction and the watches.
 */
export function interceptTransaction(ctx: CommandContext, spec: CommandSpec, argv: Buffer[]): boolean {
  const c = ctx.client;
  if (c.flags & kMulti && !IMMEDIATE.has(spec.name)) {
    queueCommand(c, spec, argv);
    ctx.out.raw(Replies.queued);
    return true;
  }
  if (spec.name === 'reset') discardTransaction(ctx.server, c);
  return false;
}

function queueCommand(c: ClientState, spec: CommandSpec, argv: Buffer[]): void {
  // A direct client's transaction must keep every key in one slot (checked at EXEC, as
  // Redis Cluster); a proxy link may mix slots of this worker.
  if (!(c.flags & kFramed) && c.multiSlot !== -2 && hasKeys(spec)) {
    for (const i of keyIndexes(spec, argv)) {
      const slot = keySlot(argv[i]!);
      if (c.multiSlot === -1) c.multiSlot = slot;
      else if (slot !== c.multiSlot) {
        c.multiSlot = -2;
        break;
      }
    }
  }
  // argv may be views into the socket's chunk: keep copies until EXEC.
  c.multi!.push(argv.map((a) => Buffer.from(a)));
}

/**
 * A command was rejected before running (unknown, arity, MOVED/CROSSSLOT, OOM) and its
 * error is written: inside MULTI the transaction is flagged for EXECABORT.
 */
export function flagTransaction(c: ClientState): void {
  if (c.flags & kMulti) c.flags |= kDirtyExec;
}

/** EXEC itself was rejected (arity, OOM): Redis discards the transaction with this error. */
export function rejectExec(ctx: CommandContext, reason: string): void {
  discardTransaction(ctx.server, ctx.client);
  ctx.out.error(`EXECABORT Transaction discarded because of: ${reason}`);
}

/** Under maxmemory with eviction failing: whether the command is refused (Redis's processCommand rules). */
export function refusedOnOom(c: ClientState, spec: CommandSpec, server: WorkerServer): boolean {
  if (spec.flags & CMD_DENYOOM) return true;
  const name = spec.name;
  if (name === 'exec') {
    // EXEC is refused only when it holds a command that may grow memory.
    for (const argv of c.multi ?? []) {
      const e = server.lookup(argv[0]!);
      if (e !== undefined && e.spec.flags & CMD_DENYOOM) return true;
    }
    return false;
  }
  // Queuing may take unbounded memory: inside MULTI everything else is refused.
  return (c.flags & kMulti) !== 0 && name !== 'discard' && name !== 'quit' && name !== 'reset';
}

/** Ends MULTI (queue, flags) and drops the client's watches: EXEC, DISCARD, RESET. */
export function discardTransaction(server: WorkerServer, c: ClientState): void {
  c.multi = null;
  c.multiSlot = -1;
  c.flags &= ~(kMulti | kDirtyExec | kDirtyCas);
  unwatchAll(server, c);
}

function unwatchAll(server: WorkerServer, c: ClientState): void {
  if (c.watched === null) return;
  c.watched = null;
  c.flags &= ~kWatching;
  server.watches.unregister(1);
}

/** The connection closed: its watches (direct WATCH or a proxy link's registrations) end. */
export function forgetClient(server: WorkerServer, c: ClientState): void {
  unwatchAll(server, c);
  if (c.watchRegs > 0) {
    server.watches.unregister(c.watchRegs);
    c.watchRegs = 0;
  }
}

function anyChanged(watches: WatchTable, watched: readonly WatchedKey[]): boolean {
  let changed = false;
  // Every key is looked up (lazy expiry) even after a change is found.
  for (const w of watched) if (watches.token(w.key) !== w.token) changed = true;
  return changed;
}

// --- commands ------------------------------------------------------------------------------

function multi(ctx: CommandContext): void {
  const c = ctx.client;
  if (c.flags & kMulti) return ctx.out.error('ERR MULTI calls can not be nested');
  c.flags |= kMulti;
  c.multi = [];
  c.multiSlot = -1;
  ctx.out.ok();
}

function exec(ctx: CommandContext): void {
  const c = ctx.client;
  const out = ctx.out;
  const server = ctx.server;
  if (!(c.flags & kMulti)) return out.error('ERR EXEC without MULTI');
  if (c.multiSlot === -2) {
    discardTransaction(server, c);
    return out.error(WireErrors.crossSlot);
  }
  const dirty = (c.flags & kDirtyCas) !== 0 || (c.watched !== null && anyChanged(server.watches, c.watched));
  const queue = c.multi!;
  const aborted = (c.flags & kDirtyExec) !== 0;
  discardTransaction(server, c);
  if (aborted) return out.error(EXECABORT);
  if (dirty) return out.nilArray();
  out.arrayHeader(queue.length);
  c.flags |= kInExec;
  try {
    for (const argv of queue) server.runQueued(ctx, argv);
  } finally {
    c.flags &= ~kInExec;
  }
}

function discard(ctx: CommandContext): void {
  const c = ctx.client;
  if (!(c.flags & kMulti)) return ctx.out.error('ERR DISCARD without MULTI');
  discardTransaction(ctx.server, c);
  ctx.out.ok();
}

function watch(ctx: CommandContext, argv: Buffer[]): void {
  const c = ctx.client;
  if (c.flags & kMulti) return ctx.out.error('ERR WATCH inside MULTI is not allowed');
  // As Redis: no point in watching more once a watched key changed.
  if (c.flags & kDirtyCas) return ctx.out.ok();
  const watches = ctx.server.watches;
  if (c.watched === null) {
    watches.register(1);
    c.watched = [];
    c.flags |= kWatching;
  }
  for (let i = 1; i < argv.length; i++) {
    const key = argv[i]!;
    if (c.watched.some((w) => w.key.equals(key))) continue;
    c.watched.push({ key: Buffer.from(key), token: watches.token(key) });
  }
  ctx.out.ok();
}

function unwatch(ctx: CommandContext): void {
  const c = ctx.client;
  unwatchAll(ctx.server, c);
  c.flags &= ~kDirtyCas;
  ctx.out.ok();
}

/** SHOAL.WATCH key [key ...] → one token per key; registers one watch on the link (internal). */
function shoalWatch(ctx: CommandContext, argv: Buffer[]): void {
  const watches = ctx.server.watches;
  watches.register(1);
  ctx.client.watchRegs++;
  ctx.out.arrayHeader(argv.length - 1);
  for (let i = 1; i < argv.length; i++) ctx.out.integer(watches.token(argv[i]!));
}

/** SHOAL.UNWATCH n: n registrations of SHOAL.WATCH on this link ended (internal). */
function shoalUnwatch(ctx: CommandContext, argv: Buffer[]): void {
  const n = parseSafeInt(argv[1]!);
  if (n === null || n < 0) return ctx.out.error(WireErrors.notInteger);
  const c = ctx.client;
  const d = Math.min(n, c.watchRegs);
  c.watchRegs -= d;
  ctx.server.watches.unregister(d);
  ctx.out.ok();
}

/** SHOAL.CHECKWATCH key token [key token ...]: a changed token aborts this link's next EXEC (internal). */
function shoalCheckwatch(ctx: CommandContext, argv: Buffer[]): void {
  if (argv.length % 2 === 0) return ctx.out.error(WireErrors.wrongArity('shoal.checkwatch'));
  const watches = ctx.server.watches;
  let changed = false;
  for (let i = 1; i + 1 < argv.length; i += 2) {
    // A negative (or unparsable) token is one the proxy could not get: never valid.
    const want = Number(argv[i + 1]!.toString('latin1'));
    if (!(want >= 0) || watches.token(argv[i]!) !== want) changed = true;
  }
  if (changed) ctx.client.flags |= kDirtyCas;
  ctx.out.ok();
}

export const transactionCommands: HandlerTable = {
  multi, exec, discard, watch, unwatch,
  'shoal.watch': shoalWatch,
  'shoal.unwatch': shoalUnwatch,
  'shoal.checkwatch': shoalCheckwatch,
};
