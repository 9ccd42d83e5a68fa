/**
 * Keyspace notifications (notify-keyspace-events), published by the worker holding
 * the key to its local subscribers — direct clients and the proxies' hubs, which
 * subscribe `__keyspace@…` / `__keyevent@…` channels and all patterns on every worker
 * (docs/pubsub.md). Channels: `__keyspace@0__:<key>` (message: the event) and
 * `__keyevent@0__:<event>` (message: the key).
 *
 * Where each event comes from, matching Redis 7.0's order (checked against
 * redis-server by test/integration/keyspace-events*.test.ts):
 * - command events are derived after a write command ran, from its name, arguments,
 *   reply and what before() saw (no event after an error, a nil or a "nothing
 *   changed" count), plus `del` when a command emptied its key;
 * - a blocking command served later (BLPOP ...) gets its events when served
 *   (BlockingRegistry calls back with the reply's position);
 * - `new` comes from the keyspace when an item is inserted (Keyspace.onNew); during a
 *   command it is held and published in Redis's place (before the key's first event);
 * - `keymiss` is published before a command runs, for each key it reads that is
 *   missing (read-only commands, and the source keys of the STORE forms, as Redis's
 *   lookupKeyRead);
 * - expired / evicted come from the keyspace (Keyspace.onRemoved).
 * With notify-keyspace-events empty the only cost is one integer test per command
 * (WorkerServer.call) and a null test when a key is created or missed.
 */
import type { CommandContext } from './commands/context.js';
import type { CommandSpec } from '../shared/commands/spec.js';
import type { PubSubRegistry } from './pubsub.js';
import type { Keyspace } from './keyspace.js';
import { CMD_WRITE, CMD_READONLY, keyIndexes } from '../shared/commands/spec.js';
import { kBlocked } from '../shared/connection/client-state.js';
import { zaddEffect } from './commands/zsets-packed.js';
import {
  keyspaceEventsFlags, NOTIFY_KEYSPACE, NOTIFY_KEYEVENT, NOTIFY_GENERIC as G, NOTIFY_STRING as S, NOTIFY_LIST as L,
  NOTIFY_SET as SET, NOTIFY_HASH as H, NOTIFY_ZSET as Z, NOTIFY_EXPIRED, NOTIFY_EVICTED, NOTIFY_KEY_MISS, NOTIFY_NEW,
} from '../shared/pubsub/keyspace-flags.js';

/**
 * How a command's events are named: [class, event, which keys, rule].
 * keys: 1 = argv[1]; 'pairs' = argv 1,3,5 (MSET).
 * rule: 'any' = unless error / nil / empty; 'positive' = only for an integer reply > 0.
 */
type Rule = readonly [cls: number, event: string, keys: 1 | 'pairs', rule: 'any' | 'positive'];

const RULES: Readonly<Record<string, Rule>> = {
  set: [S, 'set', 1, 'any'], setex: [S, 'set', 1, 'any'], psetex: [S, 'set', 1, 'any'], setnx: [S, 'set', 1, 'positive'],
  getset: [S, 'set', 1, 'any'], mset: [S, 'set', 'pairs', 'any'], msetnx: [S, 'set', 'pairs', 'positive'],
  setrange: [S, 'setrange', 1, 'any'], append: [S, 'append', 1, 'any'],
  incr: [S, 'incrby', 1, 'any'], decr: [S, 'incrby', 1, 'any'], incrby: [S, 'incrby', 1, 'any'], decrby: [S, 'incrby', 1, 'any'],
  incrbyfloat: [S, 'incrbyfloat', 1, 'any'], getdel: [G, 'del', 1, 'any'],
  setbit: [S, 'setbit', 1, 'any'], pfadd: [S, 'pfadd', 1, 'positive'], pfmerge: [S, 'pfadd', 1, 'any'],
  persist: [G, 'persist', 1, 'positive'],
  lpush: [L, 'lpush', 1, 'positive'], lpushx: [L, 'lpush', 1, 'positive'], rpush: [L, 'rpush', 1, 'positive'], rpushx: [L, 'rpush', 1, 'positive'],
  lpop: [L, 'lpop', 1, 'any'], rpop: [L, 'rpop', 1, 'any'], linsert: [L, 'linsert', 1, 'positive'], lset: [L, 'lset', 1, 'any'],
  lrem: [L, 'lrem', 1, 'positive'], ltrim: [L, 'ltrim', 1, 'any'],
  hset: [H, 'hset', 1, 'any'], hmset: [H, 'hset', 1, 'any'], hsetnx: [H, 'hset', 1, 'positive'], hincrby: [H, 'hincrby', 1, 'any'],
  hincrbyfloat: [H, 'hincrbyfloat', 1, 'any'], hdel: [H, 'hdel', 1, 'positive'],
  sadd: [SET, 'sadd', 1, 'positive'], srem: [SET, 'srem', 1, 'positive'], spop: [SET, 'spop', 1, 'any'],
  zadd: [Z, 'zadd', 1, 'any'], zincrby: [Z, 'zincr', 1, 'any'], zrem: [Z, 'zrem', 1, 'positive'],
  zremrangebyscore: [Z, 'zremrangebyscore', 1, 'positive'], zremrangebyrank: [Z, 'zremrangebyrank', 1, 'positive'],
  zremrangebylex: [Z, 'zremrangebylex', 1, 'positive'], zpopmin: [Z, 'zpopmin', 1, 'any'], zpopmax: [Z, 'zpopmax', 1, 'any'],
};

/** Commands that may leave their (collection) key empty, hence deleted: `del` follows. */
const MAY_EMPTY = new Set(['lpop', 'rpop', 'lrem', 'ltrim', 'hdel', 'srem', 'spop', 'zrem', 'zremrangebyscore', 'zremrangebyrank', 'zremrangebylex', 'zpopmin', 'zpopmax']);

/**
 * STORE forms: [class, argv index of the destination]. An empty result deletes the
 * destination (`del` if it existed, nothing otherwise), as Redis.
 */
const STORES: Readonly<Record<string, readonly [number, number]>> = {
  sinterstore: [SET, 1], sunionstore: [SET, 1], sdiffstore: [SET, 1],
  zunionstore: [Z, 1], zinterstore: [Z, 1], zdiffstore: [Z, 1], zrangestore: [Z, 1], bitop: [S, 2],
};

/**
 * Pops whose reply starts with the key they popped (an array [key, ...]):
 * [class, event when popping the head / max, event otherwise, argv index of the
 * numkeys of an MPOP form (0: BLPOP-style, direction in the name)].
 */
const KEYED_POPS: Readonly<Record<string, readonly [number, string, string, number]>> = {
  blpop: [L, 'lpop', 'lpop', 0], brpop: [L, 'rpop', 'rpop', 0], lmpop: [L, 'lpop', 'rpop', 1], blmpop: [L, 'lpop', 'rpop', 2],
  bzpopmin: [Z, 'zpopmin', 'zpopmin', 0], bzpopmax: [Z, 'zpopmax', 'zpopmax', 0], zmpop: [Z, 'zpopmax', 'zpopmin', 1], bzmpop: [Z, 'zpopmax', 'zpopmin', 2],
};

const EXPIRE_FAMILY = new Set(['expire', 'pexpire', 'expireat', 'pexpireat']);
const EXPIRE_OPTIONS = new Set(['ex', 'px', 'exat', 'pxat']);

/** Read-only commands that look keys up without a key-miss event (Redis: LOOKUP_NONOTIFY). */
const NO_KEYMISS = new Set(['object', 'memory']);

/** Temporary keys of the proxy's gather path (proxy/gather.ts): never published. */
const GATHER_MARK = Buffer.from('}__shoal_gather:');

/** What to remember before a command runs. */
export interface PendingEvents {
  spec: CommandSpec;
  argv: Buffer[];
  at: number;
  /** DEL / UNLINK: the keys that exist. */
  existing: Buffer[] | null;
  /** Whether the destination (STORE forms, RENAME, COPY) or the key (LTRIM, GETEX, SET GET) existed, or had a TTL (GETEX). */
  existed: boolean;
  hadTtl: boolean;
  /** SETBIT: the string's length before (-1: no key). */
  len: number;
}

const ARG = (b: Buffer): string => b.toString('latin1').toLowerCase();

export class KeyspaceNotifier {
  /** notify-keyspace-events as flags; 0 = off. */
  flags = 0;
  readonly #ks: Keyspace;
  readonly #pubsub: PubSubRegistry;
  /** Keys created during the current command, published by after() at Redis's place (null: publish at once). */
  #heldNew: Buffer[] | null = null;

  constructor(ks: Keyspace, pubsub: PubSubRegistry) {
    this.#ks = ks;
    this.#pubsub = pubsub;
  }

  configure(text: string): void {
    const f = keyspaceEventsFlags(text);
    this.flags = f < 0 || !(f & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT)) ? 0 : f;
    this.#ks.onRemoved = this.flags & (NOTIFY_EXPIRED | NOTIFY_EVICTED)
      ? (evicted, ref) => this.notify(evicted ? NOTIFY_EVICTED : NOTIFY_EXPIRED, evicted ? 'evicted' : 'expired', this.#ks.keyCopy(ref))
      : null;
    this.#ks.onNew = this.flags & NOTIFY_NEW ? (key) => this.#created(key) : null;
  }

  /** Publishes one event for `key` if its class is enabled. */
  notify(cls: number, event: string, key: Buffer): void {
    const f = this.flags;
    if (!(f & cls) || !this.#pubsub.hasSubscribers) return;
    if (key.length > GATHER_MARK.length && key.indexOf(GATHER_MARK) >= 0) return;
    if (f & NOTIFY_KEYSPACE) this.#pubsub.publish(Buffer.concat([KEYSPACE_PREFIX, key]), Buffer.from(event));
    if (f & NOTIFY_KEYEVENT) this.#pubsub.publish(Buffer.from(`__keyevent@0__:${event}`), key);
  }

  #created(key: Uint8Array): void {
    if (!this.#pubsub.hasSubscribers) return;
    const k = Buffer.from(key);
    if (this.#heldNew !== null) this.#heldNew.push(k);
    else this.notify(NOTIFY_NEW, 'new', k);
  }

  /** Publishes the held `new` of `key` (all held ones when key is null). */
  #releaseNew(key: Buffer | null): void {
    const held = this.#heldNew;
    if (held === null || held.length === 0) return;
    for (let i = 0; i < held.length; i++) {
      if (key !== null && !held[i]!.equals(key)) continue;
      this.notify(NOTIFY_NEW, 'new', held[i]!);
      held.splice(i--, 1);
    }
  }

  /** Before a command runs: its key-miss events; what after() needs (null: it publishes nothing). */
  before(spec: CommandSpec, argv: Buffer[], at: number): PendingEvents | null {
    const name = spec.name;
    if (this.#heldNew !== null) this.#releaseNew(null); // a handler threw: publish what it created
    this.#heldNew = null;
    if (this.flags & NOTIFY_KEY_MISS) this.#keyMisses(spec, argv);
    if (!(spec.flags & CMD_WRITE)) return null;
    const p: PendingEvents = { spec, argv, at, existing: null, existed: false, hadTtl: false, len: -1 };
    if (name === 'del' || name === 'unlink') {
      p.existing = [];
      for (let i = 1; i < argv.length; i++) if (this.#ks.find(argv[i]!, false) !== 0) p.existing.push(argv[i]!);
    } else {
      const store = STORES[name];
      const k = store !== undefined ? argv[store[1]] : name === 'rename' || name === 'renamenx' || name === 'copy' ? argv[2] : name === 'shoal.restorekey' || name === 'ltrim' || name === 'getex' || name === 'setbit' || (name === 'set' && argv.length > 3) ? argv[1] : undefined;
      if (k !== undefined) {
        const ref = this.#ks.find(k, false);
        p.existed = ref !== 0;
        p.hadTtl = ref !== 0 && this.#ks.expireAt(ref) !== 0;
        if (ref !== 0) p.len = this.#ks.valueLen(ref);
      }
    }
    if (this.flags & NOTIFY_NEW) this.#heldNew = [];
    return p;
  }

  /** keymiss for each key the command reads that does not exist (Redis publishes it from lookupKeyRead). */
  #keyMisses(spec: CommandSpec, argv: Buffer[]): void {
    const name = spec.name;
    let from = 0;
    let only = -1;
    if (spec.flags & CMD_READONLY) {
      if (NO_KEYMISS.has(name) || name.startsWith('bf.') || (name === 'shoal.dumpkey' && argv.length > 2)) return;
    } else {
      switch (name) {
        case 'getset': case 'getdel': case 'getex': case 'copy': only = 1; break;
        case 'set': if (argv.some((a, i) => i > 2 && a.length === 3 && ARG(a) === 'get')) only = 1; else return; break;
        case 'bitfield': if (bitfieldReadsOnly(argv)) only = 1; else return; break;
        case 'sinterstore': case 'sunionstore': case 'sdiffstore': case 'zunionstore': case 'zinterstore': case 'zdiffstore': case 'bitop': from = 1; break;
        case 'zrangestore': only = 2; break;
        case 'pfmerge': break;
        default: return;
      }
    }
    if (only > 0) {
      if (argv.length > only && this.#ks.find(argv[only]!, false) === 0) this.notify(NOTIFY_KEY_MISS, 'keymiss', argv[only]!);
      return;
    }
    const idx = keyIndexes(spec, argv);
    for (let i = from; i < idx.length; i++) {
      const key = argv[idx[i]!]!;
      if (this.#ks.find(key, false) === 0) this.notify(NOTIFY_KEY_MISS, 'keymiss', key);
    }
  }

  /** After it ran: its events, from its reply at ctx.out[p.at..]. */
  after(ctx: CommandContext, p: PendingEvents): void {
    try {
      // A RESP3 client subscribed to its own keyspace events may have pushes before the reply.
      p.at = skipPushes(ctx.out.buf, p.at, ctx.out.pos);
      if (ctx.out.pos <= p.at) {
        // Blocked: its events come when it is served (BlockingRegistry), from copies of its arguments.
        if (ctx.client.flags & kBlocked) {
          const copy: PendingEvents = { ...p, argv: p.argv.map((a) => Buffer.from(a)) };
          ctx.server.blocking.onServed(ctx.client, (at) => this.after(ctx, { ...copy, at }));
        }
        return;
      }
      this.#commandEvents(ctx, p);
    } finally {
      this.#releaseNew(null);
      this.#heldNew = null;
    }
  }

  #commandEvents(ctx: CommandContext, p: PendingEvents): void {
    const out = ctx.out;
    const t = out.buf[p.at];
    if (t === 0x2d) return; // error
    const name = p.spec.name;
    const argv = p.argv;
    const reply = out.buf.toString('latin1', p.at, Math.min(out.pos, p.at + 24));
    const nil = reply.startsWith('$-1') || reply.startsWith('*-1') || reply.startsWith('_');
    // GETSET and SET ... GET reply the old value: nil there is a new key, not a failure.
    if (nil && name !== 'getset' && name !== 'set') return;
    if (reply.startsWith('*0\r')) return;
    const int = t === 0x3a ? Number(reply.slice(1, reply.indexOf('\r'))) : NaN;
    const ks = this.#ks;
    const gone = (k: Buffer): boolean => ks.find(k, false) === 0;
    if (p.existing !== null) {
      for (const k of p.existing) this.notify(G, 'del', k);
      return;
    }
    if (EXPIRE_FAMILY.has(name)) {
      if (int !== 1) return;
      this.notify(G, gone(argv[1]!) ? 'del' : 'expire', argv[1]!);
      return;
    }
    const pop = KEYED_POPS[name];
    if (pop !== undefined) {
      const key = replyKey(out.buf, p.at, out.pos);
      if (key === null) return;
      const head = pop[3] === 0 || ARG(argv[pop[3] + Number(argv[pop[3]]) + 1]!) === 'left' || ARG(argv[pop[3] + Number(argv[pop[3]]) + 1]!) === 'max';
      this.notify(pop[0], head ? pop[1] : pop[2], key);
      if (gone(key)) this.notify(G, 'del', key);
      return;
    }
    const store = STORES[name];
    if (store !== undefined) {
      const dst = argv[store[1]]!;
      if (int === 0 || gone(dst)) {
        if (p.existed) this.notify(G, 'del', dst);
        return;
      }
      this.#releaseNew(dst);
      this.notify(store[0], name === 'bitop' ? 'set' : name, dst);
      return;
    }
    // SMOVE and MSET place `new` themselves (Redis creates the key between events).
    if (name !== 'smove' && name !== 'mset' && name !== 'msetnx') this.#releaseNew(null);
    switch (name) {
      case 'rename': case 'renamenx':
        if ((name === 'renamenx' && int !== 1) || argv[1]!.equals(argv[2]!)) return;
        // Redis deletes an existing destination first: the renamed key is always new.
        if (p.existed) this.notify(NOTIFY_NEW, 'new', argv[2]!);
        this.notify(G, 'rename_from', argv[1]!);
        this.notify(G, 'rename_to', argv[2]!);
        return;
      case 'copy':
        if (int !== 1) return;
        if (p.existed) this.notify(NOTIFY_NEW, 'new', argv[2]!);
        this.notify(G, 'copy_to', argv[2]!);
        return;
      // RENAME / COPY across workers (proxy/special.ts): the destination's half, then the source's.
      case 'shoal.restorekey':
        if (int !== 1 || argv.length < 7 || gone(argv[1]!)) return;
        if (p.existed) this.notify(NOTIFY_NEW, 'new', argv[1]!);
        this.notify(G, ARG(argv[6]!) === 'copy' ? 'copy_to' : 'rename_to', argv[1]!);
        return;
      case 'shoal.renamefrom':
        if (int === 1) this.notify(G, 'rename_from', argv[1]!);
        return;
      case 'lmove': case 'rpoplpush': case 'blmove': case 'brpoplpush': {
        // As Redis: the push to the destination first, then the pop, then `del` of an emptied source.
        const move = name === 'lmove' || name === 'blmove';
        this.notify(L, !move || ARG(argv[4]!) === 'left' ? 'lpush' : 'rpush', argv[2]!);
        this.notify(L, move && ARG(argv[3]!) === 'left' ? 'lpop' : 'rpop', argv[1]!);
        if (gone(argv[1]!)) this.notify(G, 'del', argv[1]!);
        return;
      }
      case 'smove':
        if (int !== 1 || argv[1]!.equals(argv[2]!)) return;
        this.notify(SET, 'srem', argv[1]!);
        if (gone(argv[1]!)) this.notify(G, 'del', argv[1]!);
        this.#releaseNew(argv[2]!);
        this.notify(SET, 'sadd', argv[2]!);
        return;
      case 'getex':
        for (let i = 2; i < argv.length; i++) {
          const o = ARG(argv[i]!);
          if (EXPIRE_OPTIONS.has(o)) return this.notify(G, gone(argv[1]!) ? 'del' : 'expire', argv[1]!);
          if (o === 'persist') return p.hadTtl ? this.notify(G, 'persist', argv[1]!) : undefined;
        }
        return;
      case 'bitfield':
        // `setbit` once when any SET / INCRBY ran (Redis counts changes; OVERFLOW FAIL is not told apart).
        for (let i = 2; i < argv.length; i++) {
          const o = ARG(argv[i]!);
          if (o === 'set' || o === 'incrby') return this.notify(S, 'setbit', argv[1]!);
          if (o === 'overflow') i++;
          else i += 2;
        }
        return;
      case 'setbit': {
        // Only when the bit changed, or the string was created or grew (Redis's `dirty`).
        const ref = ks.find(argv[1]!, false);
        const bit = argv[3]!.length === 1 && argv[3]![0] === 0x31 ? 1 : 0;
        if (int === bit && ref !== 0 && ks.valueLen(ref) === p.len) return;
        break;
      }
      case 'setrange':
        // An empty value changes nothing (and creates nothing).
        if (argv[3]!.length === 0) return;
        break;
      case 'set':
        if (argv.length === 3) break;
        if (!this.#setStored(argv, p.existed)) return;
        if (gone(argv[1]!)) {
          // A past EXAT / PXAT: Redis stores the key and expires it at once; Shoal stores nothing.
          if (!p.existed) this.notify(NOTIFY_NEW, 'new', argv[1]!);
          this.notify(S, 'set', argv[1]!);
          this.notify(G, 'expire', argv[1]!);
          this.notify(NOTIFY_EXPIRED, 'expired', argv[1]!);
          return;
        }
        break;
      case 'zadd': case 'zincrby':
        if (!zaddEffect.changed) return;
        break;
      case 'ltrim':
        if (!p.existed) return;
        break;
    }
    const rule = RULES[name];
    if (rule === undefined) return;
    const [cls, event, keys, when] = rule;
    if (when === 'positive' && !(int > 0)) return;
    const ev = name === 'zadd' && argv.some((a) => a.length === 4 && ARG(a) === 'incr') ? 'zincr' : event;
    if (keys === 1) this.notify(cls, ev, argv[1]!);
    else {
      // MSET: each key's `new` right before its `set`, as Redis sets and notifies key by key.
      for (let i = 1; i < argv.length; i += 2) {
        this.#releaseNew(argv[i]!);
        this.notify(cls, ev, argv[i]!);
      }
    }
    // SET ... EX / SETEX / PSETEX also set a TTL: Redis follows `set` with `expire`.
    if (name === 'setex' || name === 'psetex' || (name === 'set' && argv.some((a, i) => i > 2 && EXPIRE_OPTIONS.has(ARG(a))))) {
      this.notify(G, 'expire', argv[1]!);
    }
    if (MAY_EMPTY.has(name) && gone(argv[1]!)) this.notify(G, 'del', argv[1]!);
  }

  /** Whether SET stored (its reply does not tell with GET): NX on a new key, XX on an existing one, or no condition. */
  #setStored(argv: Buffer[], existed: boolean): boolean {
    for (let i = 3; i < argv.length; i++) {
      const o = ARG(argv[i]!);
      if (o === 'nx') return !existed;
      if (o === 'xx') return existed;
    }
    return true;
  }
}

/** BITFIELD with GET operations only (Redis looks its key up for reading then). */
function bitfieldReadsOnly(argv: Buffer[]): boolean {
  if (argv.length < 5) return false;
  for (let i = 2; i < argv.length; i += 3) if (ARG(argv[i]!) !== 'get') return false;
  return true;
}

/** The position past the RESP3 push messages (`>` frames of bulk strings) written at `at`. */
function skipPushes(buf: Buffer, at: number, end: number): number {
  while (at < end && buf[at] === 0x3e) {
    let nl = buf.indexOf(0x0a, at);
    if (nl < 0 || nl >= end) return end;
    const n = Number(buf.toString('latin1', at + 1, nl - 1));
    at = nl + 1;
    for (let i = 0; i < n && at < end; i++) {
      nl = buf.indexOf(0x0a, at);
      if (nl < 0 || nl >= end) return end;
      at = nl + 1 + Number(buf.toString('latin1', at + 1, nl - 1)) + 2;
    }
  }
  return at;
}

/** The key an array reply starts with (`*N\r\n$len\r\n<key>`), or null. */
function replyKey(buf: Buffer, at: number, end: number): Buffer | null {
  const nl = buf.indexOf(0x0a, at);
  if (nl < 0 || nl + 1 >= end || buf[nl + 1] !== 0x24) return null;
  const nl2 = buf.indexOf(0x0a, nl + 1);
  if (nl2 < 0) return null;
  const len = Number(buf.toString('latin1', nl + 2, nl2 - 1));
  if (!(len >= 0) || nl2 + 1 + len > end) return null;
  return Buffer.from(buf.subarray(nl2 + 1, nl2 + 1 + len));
}

const KEYSPACE_PREFIX = Buffer.from('__keyspace@0__:');
