/**
 * WriteStream: the propagation layer. After a write command ran and changed the
 * keyspace, it emits the command that reproduces the change deterministically on any
 * replica of the same data (the append-only log today; replication, issue 8, later).
 * One entry point for sinks: `append(argv)`; one for the worker: `afterCommand`.
 *
 * As Redis propagates:
 * - relative TTLs become absolute: EXPIRE/PEXPIRE/EXPIREAT → PEXPIREAT key <ms> (or DEL
 *   when the time was already past and the key was deleted), SET ... EX/PX/EXAT →
 *   SET ... PXAT <ms>, SETEX/PSETEX → SET key value PXAT <ms>, GETEX → PEXPIREAT /
 *   PERSIST / DEL;
 * - SPOP → SREM of the members popped (from the reply);
 * - INCRBYFLOAT → SET key <result> KEEPTTL; HINCRBYFLOAT → HSET key field <result>;
 * - blocking pops (now or when served later, shard/blocking.ts) → the non-blocking form
 *   that happened on the key that served them: LPOP/RPOP key [n], LMOVE, RPOPLPUSH,
 *   ZPOPMIN/ZPOPMAX key [n];
 * - keys removed by expiry or eviction → DEL key (Keyspace.onRemovedLog);
 * - EXEC → its propagated commands wrapped in MULTI ... EXEC (when more than one);
 * - an error reply, or a reply that means "nothing changed" for the commands listed in
 *   NOOP_ZERO / NOOP_EMPTY → nothing. Propagating a no-op would be harmless (the log is
 *   deterministic), so these lists only save log bytes.
 * Every other write (including the proxy's SHOAL.RESTOREKEY) is emitted as received.
 *
 * Off (no sink) the worker pays one integer test per command (`on`).
 */
import type { CommandContext } from '../commands/context.js';
import type { CommandSpec } from '../../shared/commands/spec.js';

/** Receives every propagated command in the order it took effect. */
export interface WriteSink {
  command(argv: ReadonlyArray<Uint8Array>): void;
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const MULTI = [b('MULTI')];
const EXEC = [b('EXEC')];
const DEL = b('DEL');
const SET = b('SET');
const PXAT = b('PXAT');
const KEEPTTL = b('KEEPTTL');
const PEXPIREAT = b('PEXPIREAT');
const PERSIST = b('PERSIST');
const SREM = b('SREM');
const HSET = b('HSET');
const LPOP = b('LPOP');
const RPOP = b('RPOP');
const LMOVE = b('LMOVE');
const RPOPLPUSH = b('RPOPLPUSH');
const ZPOPMIN = b('ZPOPMIN');
const ZPOPMAX = b('ZPOPMAX');

/** Integer reply 0 means nothing changed. */
const NOOP_ZERO = new Set([
  'del', 'unlink', 'expire', 'pexpire', 'expireat', 'pexpireat', 'persist', 'setnx', 'hsetnx', 'sadd', 'srem', 'smove',
  'zrem', 'zremrangebyscore', 'zremrangebyrank', 'zremrangebylex', 'lrem', 'hdel', 'lpushx', 'rpushx', 'msetnx',
  'renamenx', 'copy', 'pfadd',
]);
/** A nil or empty-array reply means nothing changed. */
const NOOP_EMPTY = new Set(['lpop', 'rpop', 'getdel', 'lmove', 'rpoplpush', 'lmpop', 'zmpop', 'zpopmin', 'zpopmax', 'spop', 'getex']);

/** A decoded reply (only what the rewrites need): bulk/simple → Buffer, integer/double → number, nil → null. */
type Reply = Buffer | number | null | Reply[];

export class WriteStream {
  /** Non-zero while some sink listens. */
  on = 0;
  #sinks: WriteSink[] = [];
  /** Inside EXEC: commands wait here to be wrapped; null outside. */
  #tx: Array<ReadonlyArray<Uint8Array>> | null = null;

  addSink(s: WriteSink): void {
    if (!this.#sinks.includes(s)) this.#sinks.push(s);
    this.on = 1;
  }

  removeSink(s: WriteSink): void {
    this.#sinks = this.#sinks.filter((x) => x !== s);
    this.on = this.#sinks.length;
  }

  /** Emits one command (inside EXEC: queued for the MULTI block). */
  append(argv: ReadonlyArray<Uint8Array>): void {
    if (this.#tx !== null) {
      this.#tx.push(argv);
      return;
    }
    for (const s of this.#sinks) s.command(argv);
  }

  /** EXEC starts: what it propagates is collected. Returns false if already inside one. */
  beginTx(): boolean {
    if (this.#tx !== null) return false;
    this.#tx = [];
    return true;
  }

  /** EXEC ended: one command as is, several wrapped in MULTI ... EXEC. */
  endTx(): void {
    const tx = this.#tx;
    this.#tx = null;
    if (tx === null || tx.length === 0) return;
    if (tx.length === 1) return this.append(tx[0]!);
    this.append(MULTI);
    for (const argv of tx) this.append(argv);
    this.append(EXEC);
  }

  /** A key left by expiry or eviction. */
  removed(key: Uint8Array): void {
    this.append([DEL, key]);
  }

  /**
   * After a write command ran on ctx (its reply is ctx.out[at, pos)): emits what
   * reproduces its effect. A command that blocked wrote no reply: it is handled
   * when served (`afterServed`).
   */
  afterCommand(ctx: CommandContext, spec: CommandSpec, argv: Buffer[], at: number): void {
    const out = ctx.out;
    if (out.pos <= at) return;
    const t = out.buf[at]!;
    if (t === 0x2d) return; // error: nothing changed
    const name = spec.name;
    if (t === 0x3a && NOOP_ZERO.has(name) && out.pos - at === 4 && out.buf[at + 1] === 0x30) return;
    if (NOOP_EMPTY.has(name) && isEmptyReply(out.buf, at)) return;
    const rw = REWRITES[name];
    if (rw === undefined) return this.append(argv);
    rw(this, ctx, argv, at);
  }

  /** A blocked command was served: its reply starts at ctx.out[at]. */
  afterServed(ctx: CommandContext, argv: Buffer[], at: number): void {
    if (ctx.out.pos <= at || ctx.out.buf[at] === 0x2d || isEmptyReply(ctx.out.buf, at)) return;
    const rw = REWRITES[argv[0]!.toString('latin1').toLowerCase()];
    if (rw !== undefined) rw(this, ctx, argv, at);
  }
}

type Rewrite = (w: WriteStream, ctx: CommandContext, argv: Buffer[], at: number) => void;

function lower(a: Uint8Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('latin1').toLowerCase();
}

function num(n: number): Buffer {
  return b(String(n));
}

/** The key's absolute expiry after the command: PEXPIREAT, or DEL when the command removed it. */
function expiryOf(w: WriteStream, ctx: CommandContext, key: Buffer): void {
  const ref = ctx.ks.find(key, false);
  if (ref === 0) return w.append([DEL, key]);
  const exp = ctx.ks.expireAt(ref);
  w.append(exp === 0 ? [PERSIST, key] : [PEXPIREAT, key, num(exp)]);
}

/** SET key value [options]: EX/PX/EXAT become PXAT <absolute ms> (the key's new TTL as the command computed it). */
const setRewrite: Rewrite = (w, ctx, argv) => {
  let out: Buffer[] | null = null;
  for (let i = 3; i < argv.length - 1; i++) {
    const o = lower(argv[i]!);
    if (o !== 'ex' && o !== 'px' && o !== 'exat') continue;
    const v = Number(argv[i + 1]!.toString('latin1'));
    const ms = o === 'ex' ? v * 1000 + ctx.ks.now : o === 'px' ? v + ctx.ks.now : v * 1000;
    out ??= argv.slice();
    out[i] = PXAT;
    out[i + 1] = num(ms);
    i++;
  }
  w.append(out ?? argv);
};

const REWRITES: Readonly<Record<string, Rewrite>> = {
  set: setRewrite,
  setex: (w, ctx, argv) => w.append([SET, argv[1]!, argv[3]!, PXAT, num(Number(argv[2]!.toString('latin1')) * 1000 + ctx.ks.now)]),
  psetex: (w, ctx, argv) => w.append([SET, argv[1]!, argv[3]!, PXAT, num(Number(argv[2]!.toString('latin1')) + ctx.ks.now)]),
  expire: (w, ctx, argv) => expiryOf(w, ctx, argv[1]!),
  pexpire: (w, ctx, argv) => expiryOf(w, ctx, argv[1]!),
  expireat: (w, ctx, argv) => expiryOf(w, ctx, argv[1]!),
  pexpireat: (w, ctx, argv) => expiryOf(w, ctx, argv[1]!),
  getex: (w, ctx, argv) => {
    // No option: a read. Otherwise the TTL it left (or DEL / PERSIST).
    if (argv.length > 2) expiryOf(w, ctx, argv[1]!);
  },
  incrbyfloat: (w, ctx, argv, at) => {
    const r = parseReply(ctx.out.buf, at);
    if (Buffer.isBuffer(r)) w.append([SET, argv[1]!, r, KEEPTTL]);
  },
  hincrbyfloat: (w, ctx, argv, at) => {
    const r = parseReply(ctx.out.buf, at);
    if (Buffer.isBuffer(r)) w.append([HSET, argv[1]!, argv[2]!, r]);
  },
  spop: (w, ctx, argv, at) => {
    const r = parseReply(ctx.out.buf, at);
    if (Buffer.isBuffer(r)) w.append([SREM, argv[1]!, r]);
    else if (Array.isArray(r) && r.length > 0) w.append([SREM, argv[1]!, ...(r as Buffer[])]);
  },
  // Blocking pops: the reply names the key served.
  blpop: (w, ctx, _argv, at) => popOne(w, ctx, at, LPOP),
  brpop: (w, ctx, _argv, at) => popOne(w, ctx, at, RPOP),
  bzpopmin: (w, ctx, _argv, at) => popOne(w, ctx, at, ZPOPMIN),
  bzpopmax: (w, ctx, _argv, at) => popOne(w, ctx, at, ZPOPMAX),
  blmove: (w, _ctx, argv) => w.append([LMOVE, argv[1]!, argv[2]!, argv[3]!, argv[4]!]),
  brpoplpush: (w, _ctx, argv) => w.append([RPOPLPUSH, argv[1]!, argv[2]!]),
  blmpop: (w, ctx, argv, at) => {
    const r = parseReply(ctx.out.buf, at);
    if (!Array.isArray(r) || !Buffer.isBuffer(r[0]) || !Array.isArray(r[1])) return;
    const left = argv.some((a, i) => i > 2 && lower(a) === 'left');
    w.append([left ? LPOP : RPOP, r[0], num(r[1].length)]);
  },
  bzmpop: (w, ctx, argv, at) => {
    const r = parseReply(ctx.out.buf, at);
    if (!Array.isArray(r) || !Buffer.isBuffer(r[0]) || !Array.isArray(r[1])) return;
    const min = argv.some((a, i) => i > 2 && lower(a) === 'min');
    w.append([min ? ZPOPMIN : ZPOPMAX, r[0], num(r[1].length)]);
  },
};

function popOne(w: WriteStream, ctx: CommandContext, at: number, cmd: Buffer): void {
  const r = parseReply(ctx.out.buf, at);
  if (Array.isArray(r) && Buffer.isBuffer(r[0])) w.append([cmd, r[0]]);
}

/** Nil (RESP2 or 3), an empty array or an empty set. */
function isEmptyReply(buf: Buffer, at: number): boolean {
  const t = buf[at];
  if (t === 0x5f) return true; // _
  if ((t === 0x24 || t === 0x2a || t === 0x7e) && buf[at + 1] === 0x2d) return true; // $-1 *-1
  return (t === 0x2a || t === 0x7e) && buf[at + 1] === 0x30 && buf[at + 2] === 0x0d; // *0
}

/** Decodes one reply at buf[at] (a reply this worker just wrote: well formed). */
export function parseReply(buf: Buffer, at: number): Reply {
  const pos = { i: at };
  return parseAt(buf, pos);
}

function parseAt(buf: Buffer, p: { i: number }): Reply {
  const t = buf[p.i]!;
  const eol = buf.indexOf(0x0d, p.i);
  const head = buf.toString('latin1', p.i + 1, eol);
  p.i = eol + 2;
  switch (t) {
    case 0x24: // $
    case 0x3d: { // = verbatim
      const n = Number(head);
      if (n < 0) return null;
      const s = Buffer.from(buf.subarray(p.i, p.i + n));
      p.i += n + 2;
      return s;
    }
    case 0x2b: // +
      return b(head);
    case 0x3a: // :
    case 0x2c: // ,
      return Number(head);
    case 0x5f: // _
      return null;
    case 0x2a: // *
    case 0x7e: // ~
    case 0x3e: { // >
      const n = Number(head);
      if (n < 0) return null;
      const a: Reply[] = [];
      for (let k = 0; k < n; k++) a.push(parseAt(buf, p));
      return a;
    }
    case 0x25: { // % map: flattened
      const n = Number(head);
      const a: Reply[] = [];
      for (let k = 0; k < n * 2; k++) a.push(parseAt(buf, p));
      return a;
    }
    default:
      return null;
  }
}
