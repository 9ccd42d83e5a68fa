/**
 * Keyspace notifications (notify-keyspace-events), published by the worker holding
 * the key to its local subscribers — direct clients and the proxies' hubs, which
 * subscribe `__keyspace@…` / `__keyevent@…` channels and all patterns on every worker
 * (docs/pubsub.md). Channels: `__keyspace@0__:<key>` (message: the event) and
 * `__keyevent@0__:<event>` (message: the key).
 *
 * Command events are derived after a write command ran, from its name, arguments and
 * reply (no event after an error, a nil or a zero "nothing changed" count), plus `del`
 * when a collection command emptied its key; expired / evicted come from the keyspace
 * (Keyspace.onRemoved). With notify-keyspace-events empty the only cost is one integer
 * test per command (WorkerServer.call).
 */
import type { CommandContext } from './commands/context.js';
import type { CommandSpec } from '../shared/commands/spec.js';
import type { PubSubRegistry } from './pubsub.js';
import type { Keyspace } from './keyspace.js';
import { CMD_WRITE } from '../shared/commands/spec.js';
import {
  keyspaceEventsFlags, NOTIFY_KEYSPACE, NOTIFY_KEYEVENT, NOTIFY_GENERIC as G, NOTIFY_STRING as S, NOTIFY_LIST as L,
  NOTIFY_SET as SET, NOTIFY_HASH as H, NOTIFY_ZSET as Z, NOTIFY_EXPIRED, NOTIFY_EVICTED,
} from '../shared/pubsub/keyspace-flags.js';

/**
 * How a command's events are named: [class, event, which keys, rule].
 * keys: 1 = argv[1]; 'all' = every argv from 1; 'pairs' = argv 1,3,5 (MSET).
 * rule: 'any' = unless error / nil / empty; 'positive' = only for an integer reply > 0.
 */
type Rule = readonly [cls: number, event: string, keys: 1 | 'all' | 'pairs', rule: 'any' | 'positive'];

const RULES: Readonly<Record<string, Rule>> = {
  set: [S, 'set', 1, 'any'], setex: [S, 'set', 1, 'any'], psetex: [S, 'set', 1, 'any'], setnx: [S, 'set', 1, 'positive'],
  getset: [S, 'set', 1, 'any'], mset: [S, 'set', 'pairs', 'any'], msetnx: [S, 'set', 'pairs', 'positive'],
  setrange: [S, 'setrange', 1, 'any'], append: [S, 'append', 1, 'any'],
  incr: [S, 'incrby', 1, 'any'], decr: [S, 'incrby', 1, 'any'], incrby: [S, 'incrby', 1, 'any'], decrby: [S, 'incrby', 1, 'any'],
  incrbyfloat: [S, 'incrbyfloat', 1, 'any'], getdel: [G, 'del', 1, 'any'],
  persist: [G, 'persist', 1, 'positive'],
  lpush: [L, 'lpush', 1, 'positive'], lpushx: [L, 'lpush', 1, 'positive'], rpush: [L, 'rpush', 1, 'positive'], rpushx: [L, 'rpush', 1, 'positive'],
  lpop: [L, 'lpop', 1, 'any'], rpop: [L, 'rpop', 1, 'any'], linsert: [L, 'linsert', 1, 'positive'], lset: [L, 'lset', 1, 'any'],
  lrem: [L, 'lrem', 1, 'positive'], ltrim: [L, 'ltrim', 1, 'any'],
  hset: [H, 'hset', 1, 'any'], hmset: [H, 'hset', 1, 'any'], hsetnx: [H, 'hset', 1, 'positive'], hincrby: [H, 'hincrby', 1, 'any'],
  hincrbyfloat: [H, 'hincrbyfloat', 1, 'any'], hdel: [H, 'hdel', 1, 'positive'],
  sadd: [SET, 'sadd', 1, 'positive'], srem: [SET, 'srem', 1, 'positive'], spop: [SET, 'spop', 1, 'any'],
  sinterstore: [SET, 'sinterstore', 1, 'any'], sunionstore: [SET, 'sunionstore', 1, 'any'], sdiffstore: [SET, 'sdiffstore', 1, 'any'],
  zadd: [Z, 'zadd', 1, 'any'], zincrby: [Z, 'zincr', 1, 'any'], zrem: [Z, 'zrem', 1, 'positive'],
  zremrangebyscore: [Z, 'zremrangebyscore', 1, 'positive'], zremrangebyrank: [Z, 'zremrangebyrank', 1, 'positive'],
  zremrangebylex: [Z, 'zremrangebylex', 1, 'positive'], zpopmin: [Z, 'zpopmin', 1, 'any'], zpopmax: [Z, 'zpopmax', 1, 'any'],
  zunionstore: [Z, 'zunionstore', 1, 'any'], zinterstore: [Z, 'zinterstore', 1, 'any'], zdiffstore: [Z, 'zdiffstore', 1, 'any'],
  zrangestore: [Z, 'zrangestore', 1, 'any'],
};

/** Commands that may leave their (collection) key empty, hence deleted: `del` follows. */
const MAY_EMPTY = new Set(['lpop', 'rpop', 'lrem', 'ltrim', 'hdel', 'srem', 'spop', 'zrem', 'zremrangebyscore', 'zremrangebyrank', 'zremrangebylex', 'zpopmin', 'zpopmax', 'getdel']);

const EXPIRE_FAMILY = new Set(['expire', 'pexpire', 'expireat', 'pexpireat']);
const EXPIRE_OPTIONS = new Set(['ex', 'px', 'exat', 'pxat']);

/** What to remember before a command runs (keys DEL / UNLINK will find). */
interface Pending {
  spec: CommandSpec;
  argv: Buffer[];
  at: number;
  existing: Buffer[] | null;
}

export class KeyspaceNotifier {
  /** notify-keyspace-events as flags; 0 = off. */
  flags = 0;
  readonly #ks: Keyspace;
  readonly #pubsub: PubSubRegistry;

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
  }

  /** Publishes one event for `key` if its class is enabled. */
  notify(cls: number, event: string, key: Buffer): void {
    const f = this.flags;
    if (!(f & cls) || !this.#pubsub.hasSubscribers) return;
    if (f & NOTIFY_KEYSPACE) this.#pubsub.publish(Buffer.concat([KEYSPACE_PREFIX, key]), Buffer.from(event));
    if (f & NOTIFY_KEYEVENT) this.#pubsub.publish(Buffer.from(`__keyevent@0__:${event}`), key);
  }

  /** Before a write command runs (null: it publishes nothing). */
  before(spec: CommandSpec, argv: Buffer[], at: number): Pending | null {
    if (!(spec.flags & CMD_WRITE)) return null;
    let existing: Buffer[] | null = null;
    if (spec.name === 'del' || spec.name === 'unlink') {
      existing = [];
      for (let i = 1; i < argv.length; i++) if (this.#ks.find(argv[i]!, false) !== 0) existing.push(argv[i]!);
    }
    return { spec, argv, at, existing };
  }

  /** After it ran: its events, from its reply at ctx.out[at..]. */
  after(ctx: CommandContext, p: Pending): void {
    const out = ctx.out;
    if (out.pos <= p.at) return; // blocked (served later: no events) or no reply
    const t = out.buf[p.at];
    if (t === 0x2d) return; // error
    const reply = out.buf.toString('latin1', p.at, Math.min(out.pos, p.at + 24));
    if (reply.startsWith('$-1') || reply.startsWith('*-1') || reply.startsWith('_') || reply.startsWith('*0\r')) return;
    const int = t === 0x3a ? Number(reply.slice(1, reply.indexOf('\r'))) : NaN;
    const name = p.spec.name;
    const argv = p.argv;
    if (p.existing !== null) {
      for (const k of p.existing) this.notify(G, 'del', k);
      return;
    }
    if (EXPIRE_FAMILY.has(name)) {
      if (int !== 1) return;
      if (this.#ks.find(argv[1]!, false) === 0) this.notify(G, 'del', argv[1]!);
      else this.notify(G, 'expire', argv[1]!);
      return;
    }
    switch (name) {
      case 'rename': case 'renamenx':
        if (name === 'renamenx' && int !== 1) return;
        this.notify(G, 'rename_from', argv[1]!);
        this.notify(G, 'rename_to', argv[2]!);
        return;
      case 'copy':
        if (int === 1) this.notify(G, 'copy_to', argv[2]!);
        return;
      case 'lmove': case 'rpoplpush': {
        const fromLeft = name === 'lmove' && argv[3]!.toString('latin1').toLowerCase() === 'left';
        const toLeft = name === 'lmove' && argv[4]!.toString('latin1').toLowerCase() === 'left';
        this.notify(L, fromLeft ? 'lpop' : 'rpop', argv[1]!);
        this.notify(L, toLeft ? 'lpush' : 'rpush', argv[2]!);
        if (this.#ks.find(argv[1]!, false) === 0) this.notify(G, 'del', argv[1]!);
        return;
      }
      case 'smove':
        if (int !== 1) return;
        this.notify(SET, 'srem', argv[1]!);
        this.notify(SET, 'sadd', argv[2]!);
        if (this.#ks.find(argv[1]!, false) === 0) this.notify(G, 'del', argv[1]!);
        return;
      case 'getex':
        for (let i = 2; i < argv.length; i++) {
          const o = argv[i]!.toString('latin1').toLowerCase();
          if (EXPIRE_OPTIONS.has(o)) return this.notify(G, 'expire', argv[1]!);
          if (o === 'persist') return this.notify(G, 'persist', argv[1]!);
        }
        return;
    }
    const rule = RULES[name];
    if (rule === undefined) return;
    const [cls, event, keys, when] = rule;
    if (when === 'positive' && !(int > 0)) return;
    const ev = name === 'zadd' && argv.some((a) => a.length === 4 && a.toString('latin1').toLowerCase() === 'incr') ? 'zincr' : event;
    if (keys === 1) this.notify(cls, ev, argv[1]!);
    else for (let i = 1; i < argv.length; i += keys === 'pairs' ? 2 : 1) this.notify(cls, ev, argv[i]!);
    // SET ... EX / SETEX / PSETEX also set a TTL: Redis follows `set` with `expire`.
    if (name === 'setex' || name === 'psetex' || (name === 'set' && argv.some((a, i) => i > 2 && EXPIRE_OPTIONS.has(a.toString('latin1').toLowerCase())))) {
      this.notify(G, 'expire', argv[1]!);
    }
    if (MAY_EMPTY.has(name) && name !== 'getdel' && this.#ks.find(argv[1]!, false) === 0) this.notify(G, 'del', argv[1]!);
  }
}

const KEYSPACE_PREFIX = Buffer.from('__keyspace@0__:');
