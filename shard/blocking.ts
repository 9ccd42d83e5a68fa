/**
 * BlockingRegistry: the clients of one worker waiting in BLPOP, BRPOP, BLMOVE,
 * BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP.
 *
 * As Redis: a command that finds nothing to pop registers a BlockedRequest on its
 * keys and the connection stops running commands (its later commands stay buffered).
 * A write that creates a list or sorted set signals the key (shard/types/collection.ts);
 * after the current command the worker calls serveReady(), which offers the key to
 * its waiters in the order they blocked (FIFO), each one popping and replying, until
 * the key runs dry. Serving may create other keys (BLMOVE's destination), which are
 * signalled and served in the same call. Timeouts are checked by the worker tick
 * (10 ms resolution); a disconnect cancels the request.
 *
 * Only direct RESP connections block. On a proxy link a blocking command that
 * finds nothing replies as if it timed out at once (Redis does the same inside
 * MULTI); the proxy sends blocking commands on a connection of their own.
 */
import type { ClientState } from '../shared/connection/client-state.js';
import { kBlocked, kFramed, kInExec } from '../shared/connection/client-state.js';
import type { CommandContext } from './commands/context.js';
import { parseFloat64 } from '../shared/resp/numbers.js';

export interface BlockedRequest {
  ctx: CommandContext;
  keys: Buffer[];
  /** Unix ms after which the request times out; 0 = never. */
  deadline: number;
  /** Tries to serve now: pops, writes the reply and returns true; false keeps waiting. */
  serve(): boolean;
  /** Writes the timeout reply (a null array). */
  timedOut(): void;
  /** Keys a write command (BLMOVE ...) changes when served: their WATCH counters are bumped then (set by the worker). */
  writes?: Buffer[];
  /** Called right after serve() wrote the reply at ctx.out position `at` (keyspace notifications; set by the notifier). */
  served?: (at: number) => void;
}

export class BlockingRegistry {
  /** key (latin1) → requests waiting on it, oldest first. */
  readonly #byKey = new Map<string, BlockedRequest[]>();
  readonly #byClient = new Map<ClientState, BlockedRequest>();
  #ready: Buffer[] = [];
  #serving = false;

  get blockedClients(): number {
    return this.#byClient.size;
  }

  /** True when the connection may wait (a direct client), false on a proxy link and inside EXEC (as Redis). */
  canBlock(ctx: CommandContext): boolean {
    return (ctx.client.flags & (kFramed | kInExec)) === 0;
  }

  /** The client's command just blocked: record the keys it will write when served (WATCH). */
  noteWrites(client: ClientState, keys: Buffer[]): void {
    const req = this.#byClient.get(client);
    if (req !== undefined) req.writes = keys;
  }

  /** The client's command just blocked: call `fn` when it is served (shard/keyspace-events.ts). */
  onServed(client: ClientState, fn: (at: number) => void): void {
    const req = this.#byClient.get(client);
    if (req === undefined) return;
    // Several listeners (keyspace events, the write stream) chain.
    const prev = req.served;
    req.served = prev === undefined ? fn : (at) => {
      prev(at);
      fn(at);
    };
  }

  block(req: BlockedRequest): void {
    for (const key of req.keys) {
      const k = key.toString('latin1', 0, key.length);
      const q = this.#byKey.get(k);
      if (q === undefined) this.#byKey.set(k, [req]);
      else if (!q.includes(req)) q.push(req);
    }
    this.#byClient.set(req.ctx.client, req);
    req.ctx.client.flags |= kBlocked;
  }

  /** A key was created as a list or sorted set: its waiters may be served. */
  signal(key: Buffer): void {
    if (this.#byKey.size !== 0 && this.#byKey.has(key.toString('latin1', 0, key.length))) this.#ready.push(key);
  }

  get pending(): boolean {
    return this.#ready.length !== 0;
  }

  /** Serves the waiters of every signalled key, oldest first, while they can pop. */
  /** A running snapshot copies keys out before a served request changes them (shard/persistence/snapshot.ts); null otherwise. */
  beforeServe: ((keys: readonly Buffer[]) => void) | null = null;

  serveReady(): void {
    if (this.#serving) return;
    this.#serving = true;
    try {
      while (this.#ready.length !== 0) {
        const key = this.#ready.shift()!;
        const q = this.#byKey.get(key.toString('latin1', 0, key.length));
        if (q === undefined) continue;
        for (const req of [...q]) {
          if (this.beforeServe !== null) {
            this.beforeServe(req.keys);
            if (req.writes !== undefined) this.beforeServe(req.writes);
          }
          const at = req.ctx.out.pos;
          if (!req.serve()) continue;
          if (req.served !== undefined) req.served(at);
          if (req.writes !== undefined) for (const k of req.writes) req.ctx.ks.touchWatched(k);
          this.#unblock(req);
        }
      }
    } finally {
      this.#serving = false;
    }
  }

  /** Times out the requests whose deadline passed (worker tick). */
  expire(now: number): void {
    if (this.#byClient.size === 0) return;
    for (const req of [...this.#byClient.values()]) {
      if (req.deadline !== 0 && req.deadline <= now) {
        req.timedOut();
        this.#unblock(req);
      }
    }
  }

  /** The connection closed: forget its request without replying. */
  cancel(client: ClientState): void {
    const req = this.#byClient.get(client);
    if (req !== undefined) this.#remove(req);
  }

  #unblock(req: BlockedRequest): void {
    this.#remove(req);
    req.ctx.resume();
  }

  #remove(req: BlockedRequest): void {
    for (const key of req.keys) {
      const k = key.toString('latin1', 0, key.length);
      const q = this.#byKey.get(k);
      if (q === undefined) continue;
      const i = q.indexOf(req);
      if (i >= 0) q.splice(i, 1);
      if (q.length === 0) this.#byKey.delete(k);
    }
    this.#byClient.delete(req.ctx.client);
    req.ctx.client.flags &= ~kBlocked;
  }
}

/**
 * A blocking command's timeout argument (seconds, fractions allowed) as a deadline
 * in unix ms (0 = wait forever), or undefined after replying Redis's error.
 */
export function deadlineOrReply(ctx: CommandContext, arg: Buffer): number | undefined {
  const secs = parseFloat64(arg);
  if (secs === null) {
    ctx.out.error('ERR timeout is not a float or out of range');
    return undefined;
  }
  // As Redis 7.0: (long long) ceill(secs * 1000), so -0.0001 means "forever" and
  // beyond the long long range (inf, 1e20) the cast turns negative.
  const ms = Math.ceil(secs * 1000);
  if (ms < 0 || ms >= 2 ** 63) {
    ctx.out.error('ERR timeout is negative');
    return undefined;
  }
  if (ms === 0) return 0;
  // Redis 7.0 has no upper check: a deadline past year 275760 never fires there either.
  if (ms > 8.64e15) return 0;
  return ctx.ks.now + ms;
}
