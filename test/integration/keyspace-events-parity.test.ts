// Keyspace notifications at Redis 7.0 parity, against Shoal and redis-server
// (SHOAL_TEST_TARGET=redis): the exact events, in order, of each command family —
// `new` (n) and `keymiss` (m), STORE forms with an empty result, MPOP forms,
// blocking commands served later, RENAME / COPY, SETBIT / BITFIELD / BITOP,
// PFADD / PFMERGE ... — on a RESP2 and a RESP3 subscriber, through the proxy and (Shoal)
// directly on the worker holding the keys; commands whose keys live on different
// workers (the proxy's gather path); CONFIG SET / GET notify-keyspace-events round
// trips; INFO stats pubsub_channels / pubsub_patterns / pubsubshard_channels.
//
// Every scenario's keys share the hash tag {t}, so they live on one worker and Redis's
// order is Shoal's order. The expected lists were recorded from redis-server 7.0.15.

import net from 'node:net';
import t, { type Test } from 'tap';
import { useTarget, isShoal, keySlot } from '../helpers/cluster.js';
import { RespClient, encodeCommand, sleep, parseInfo, type RespValue } from '../helpers/run.js';

const { target, run } = await useTarget(t);

type Arg = string | number;
interface Scenario {
  name: string;
  /** notify-keyspace-events (default KEA). */
  flags?: string;
  /** Run with notifications off. */
  setup?: Arg[][];
  /** Sent first, each on a connection of its own, and left blocked. */
  block?: Arg[][];
  /** ['SLEEP', ms] waits. */
  run: Arg[][];
  /** Keyspace events as "<key> <event>", in order; the keyevent channel must mirror them. */
  expect: string[];
}

// --- a raw subscriber speaking RESP2 or RESP3 ------------------------------------------

type Parsed = { value: RespValue; end: number } | null;

/** One RESP2/RESP3 value at `pos`, or null when incomplete (maps come back as flat arrays). */
function parse(buf: Buffer, pos: number): Parsed {
  const nl = buf.indexOf('\r\n', pos);
  if (nl < 0) return null;
  const type = String.fromCharCode(buf[pos]!);
  const line = buf.toString('latin1', pos + 1, nl);
  const next = nl + 2;
  switch (type) {
    case '+': case '-': case ',': case '#': case '(':
      return { value: type === '-' ? { error: line } : line, end: next };
    case ':':
      return { value: Number(line), end: next };
    case '_':
      return { value: null, end: next };
    case '$': case '=': {
      const n = Number(line);
      if (n < 0) return { value: null, end: next };
      if (buf.length < next + n + 2) return null;
      return { value: buf.toString('latin1', next, next + n), end: next + n + 2 };
    }
    case '*': case '>': case '~': case '%': {
      const n = Number(line) * (type === '%' ? 2 : 1);
      if (n < 0) return { value: null, end: next };
      const items: RespValue[] = [];
      let p = next;
      for (let i = 0; i < n; i++) {
        const r = parse(buf, p);
        if (r === null) return null;
        items.push(r.value);
        p = r.end;
      }
      return { value: items, end: p };
    }
    default:
      throw new Error(`unexpected RESP type ${type}`);
  }
}

/** PSUBSCRIBEs `__key*__:*` and records "<key> <event>" (keyspace) and "E:<event> <key>" (keyevent). */
class Subscriber {
  readonly events: string[] = [];
  #buf = Buffer.alloc(0);
  #ready: () => void = () => {};
  private constructor(readonly socket: net.Socket, readonly proto: 2 | 3) {
    socket.on('data', (chunk: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, chunk]);
      for (;;) {
        const r = parse(this.#buf, 0);
        if (r === null) break;
        this.#buf = this.#buf.subarray(r.end);
        this.#onValue(r.value);
      }
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number, proto: 2 | 3): Promise<Subscriber> {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const s = new Subscriber(socket, proto);
    const ready = new Promise<void>((resolve) => (s.#ready = resolve));
    if (proto === 3) socket.write(encodeCommand(['HELLO', '3']));
    socket.write(encodeCommand(['PSUBSCRIBE', '__key*__:*']));
    await Promise.race([ready, sleep(5000).then(() => { throw new Error('no psubscribe acknowledgement'); })]);
    return s;
  }

  #onValue(v: RespValue): void {
    if (!Array.isArray(v)) return;
    if (v[0] === 'psubscribe') return this.#ready();
    if (v[0] !== 'pmessage') return;
    const ch = String(v[2]);
    const msg = String(v[3]);
    if (ch.startsWith('__keyspace@0__:')) this.events.push(`${ch.slice(15)} ${msg}`);
    else if (ch.startsWith('__keyevent@0__:')) this.events.push(`E:${ch.slice(15)} ${msg}`);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The full stream a subscriber must see: each keyspace event followed by its keyevent mirror. */
function stream(expect: string[]): string[] {
  return expect.flatMap((e) => {
    const [key, ev] = e.split(' ') as [string, string];
    return [e, `E:${ev} ${key}`];
  });
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end && !cond()) await sleep(10);
  return cond();
}

const str = (argv: Arg[]): string[] => argv.map(String);

async function blockedClients(c: RespClient): Promise<number> {
  return Number(parseInfo(await c.run(['INFO', 'clients'])).get('blocked_clients') ?? 0);
}

/**
 * Runs each scenario on `port` (the proxy, redis-server or one worker): notifications
 * off, FLUSHALL, setup, flags on, then the commands; both subscribers must see exactly
 * the expected stream.
 */
async function runScenarios(t: Test, port: number, scenarios: readonly Scenario[]): Promise<void> {
  const c = await RespClient.connect(port);
  t.teardown(() => c.close());
  const subs = [await Subscriber.open(port, 2), await Subscriber.open(port, 3)];
  t.teardown(() => subs.forEach((s) => s.close()));
  for (const sc of scenarios) {
    await c.run(['CONFIG', 'SET', 'notify-keyspace-events', '']);
    await c.run(['FLUSHALL']);
    for (const cmd of sc.setup ?? []) await c.run(str(cmd));
    t.equal(await c.run(['CONFIG', 'SET', 'notify-keyspace-events', sc.flags ?? 'KEA']), 'OK');
    for (const s of subs) s.events.length = 0;
    const blocked: RespClient[] = [];
    const served: Array<Promise<RespValue>> = [];
    for (const cmd of sc.block ?? []) {
      const before = await blockedClients(c);
      const b = await RespClient.connect(port);
      blocked.push(b);
      served.push(b.run(str(cmd), { timeoutMs: 5000 }));
      const deadline = Date.now() + 3000;
      while (Date.now() < deadline && (await blockedClients(c)) <= before) await sleep(10);
    }
    for (const cmd of sc.run) {
      if (cmd[0] === 'SLEEP') await sleep(Number(cmd[1]));
      else await c.run(str(cmd));
    }
    await Promise.all(served);
    for (const b of blocked) await b.close();
    const want = stream(sc.expect);
    await waitFor(() => subs.every((s) => s.events.length >= want.length), 3000);
    await sleep(30); // anything extra arrives too
    for (const s of subs) t.same(s.events, want, `${sc.name} (RESP${s.proto} subscriber)`);
  }
  await c.run(['CONFIG', 'SET', 'notify-keyspace-events', '']);
}

const SCENARIOS: Scenario[] = [
  { name: 'set new/overwrite', flags: 'KEAn', run: [['SET', '{t}a', '1'], ['SET', '{t}a', '2'], ['SET', '{t}a', '3', 'KEEPTTL'], ['SET', '{t}a', '4', 'GET'], ['SET', '{t}b', '1', 'EX', '100'], ['SET', '{t}c', '1', 'NX', 'GET']], expect: ['{t}a new', '{t}a set', '{t}a set', '{t}a set', '{t}a set', '{t}b new', '{t}b set', '{t}b expire', '{t}c new', '{t}c set'] },
  { name: 'append/setrange new', flags: 'KEAn', run: [['APPEND', '{t}a', 'x'], ['SETRANGE', '{t}b', 2, 'x'], ['SETRANGE', '{t}c', 0, ''], ['APPEND', '{t}a', 'y']], expect: ['{t}a new', '{t}a append', '{t}b new', '{t}b setrange', '{t}a append'] },
  { name: 'getdel getex', setup: [['SET', '{t}a', '1'], ['SET', '{t}b', '1', 'EX', 100]], run: [['GETDEL', '{t}a'], ['GETDEL', '{t}a'], ['GETEX', '{t}b', 'PERSIST'], ['GETEX', '{t}b', 'PERSIST'], ['GETEX', '{t}b', 'EX', 10], ['GETEX', '{t}b', 'PX', 0]], expect: ['{t}a del', '{t}b persist', '{t}b expire'] },
  { name: 'expire past/persist', setup: [['SET', '{t}a', '1'], ['SET', '{t}b', '1']], run: [['EXPIRE', '{t}a', -1], ['PERSIST', '{t}b'], ['PEXPIREAT', '{t}b', 1], ['EXPIRE', '{t}zz', 10]], expect: ['{t}a del', '{t}b del'] },
  { name: 'setbit bitfield bitop', flags: 'KEAn', setup: [['SET', '{t}s1', 'abc']], run: [['SETBIT', '{t}a', 7, 1], ['SETBIT', '{t}a', 7, 1], ['BITFIELD', '{t}b', 'SET', 'u8', 0, 255], ['BITFIELD', '{t}b', 'GET', 'u8', 0], ['BITOP', 'AND', '{t}d', '{t}s1', '{t}a'], ['BITOP', 'AND', '{t}e', '{t}none'], ['BITOP', 'OR', '{t}d', '{t}none']], expect: ['{t}a new', '{t}a setbit', '{t}b new', '{t}b setbit', '{t}d new', '{t}d set', '{t}d del'] },
  { name: 'pfadd pfmerge', flags: 'KEAn', run: [['PFADD', '{t}h', 'a'], ['PFADD', '{t}h', 'a'], ['PFADD', '{t}h2'], ['PFMERGE', '{t}h3', '{t}h'], ['PFMERGE', '{t}h3', '{t}h'], ['PFCOUNT', '{t}h']], expect: ['{t}h new', '{t}h pfadd', '{t}h2 new', '{t}h2 pfadd', '{t}h3 new', '{t}h3 pfadd', '{t}h3 pfadd'] },
  { name: 'set stores empty', setup: [['SADD', '{t}x', '1'], ['SADD', '{t}d', '1'], ['SADD', '{t}e', '1']], run: [['SINTERSTORE', '{t}d', '{t}x', '{t}none'], ['SUNIONSTORE', '{t}e', '{t}none'], ['SDIFFSTORE', '{t}f', '{t}x', '{t}x'], ['SINTERSTORE', '{t}g', '{t}x']], expect: ['{t}d del', '{t}e del', '{t}g sinterstore'] },
  { name: 'zset stores empty', setup: [['ZADD', '{t}x', 1, 'a'], ['ZADD', '{t}d', 1, 'a'], ['ZADD', '{t}e', 1, 'a']], run: [['ZINTERSTORE', '{t}d', 2, '{t}x', '{t}none'], ['ZUNIONSTORE', '{t}e', 1, '{t}none'], ['ZDIFFSTORE', '{t}f', 1, '{t}x'], ['ZRANGESTORE', '{t}g', '{t}x', 5, 10], ['ZRANGESTORE', '{t}x2', '{t}x', 0, -1], ['ZUNIONSTORE', '{t}y', 1, '{t}x']], expect: ['{t}d del', '{t}e del', '{t}f zdiffstore', '{t}x2 zrangestore', '{t}y zunionstore'] },
  { name: 'list ops', setup: [['RPUSH', '{t}l', 'a', 'b', 'c']], run: [['LSET', '{t}l', 0, 'z'], ['LINSERT', '{t}l', 'BEFORE', 'b', 'q'], ['LINSERT', '{t}l', 'BEFORE', 'nope', 'q'], ['LTRIM', '{t}l', 0, 0], ['LTRIM', '{t}l', 5, 10], ['LTRIM', '{t}nol', 0, 1]], expect: ['{t}l lset', '{t}l linsert', '{t}l ltrim', '{t}l ltrim', '{t}l del'] },
  { name: 'lmpop zmpop', setup: [['RPUSH', '{t}l', 'a', 'b', 'c'], ['ZADD', '{t}z', 1, 'a', 2, 'b']], run: [['LMPOP', 2, '{t}none', '{t}l', 'LEFT', 'COUNT', 2], ['LMPOP', 1, '{t}l', 'RIGHT', 'COUNT', 5], ['ZMPOP', 1, '{t}z', 'MAX', 'COUNT', 1], ['ZMPOP', 1, '{t}z', 'MIN', 'COUNT', 9]], expect: ['{t}l lpop', '{t}l rpop', '{t}l del', '{t}z zpopmax', '{t}z zpopmin', '{t}z del'] },
  { name: 'lmove', setup: [['RPUSH', '{t}l', 'a']], run: [['LMOVE', '{t}l', '{t}m', 'LEFT', 'RIGHT'], ['RPOPLPUSH', '{t}m', '{t}m'], ['LMOVE', '{t}m', '{t}n', 'RIGHT', 'LEFT']], expect: ['{t}m rpush', '{t}l lpop', '{t}l del', '{t}m lpush', '{t}m rpop', '{t}n lpush', '{t}m rpop', '{t}m del'] },
  { name: 'hash', flags: 'KEAn', setup: [['HSET', '{t}h', 'f', '1']], run: [['HINCRBYFLOAT', '{t}h', 'f', '1.5'], ['HINCRBYFLOAT', '{t}h2', 'f', '1.5'], ['HSETNX', '{t}h', 'f', 'x'], ['HDEL', '{t}h', 'f']], expect: ['{t}h hincrbyfloat', '{t}h2 new', '{t}h2 hincrbyfloat', '{t}h hdel', '{t}h del'] },
  { name: 'copy rename', flags: 'KEAn', setup: [['SET', '{t}a', '1'], ['SET', '{t}b', '2']], run: [['COPY', '{t}a', '{t}c'], ['COPY', '{t}a', '{t}b'], ['COPY', '{t}a', '{t}b', 'REPLACE'], ['RENAME', '{t}a', '{t}a'], ['RENAME', '{t}a', '{t}d'], ['RENAME', '{t}d', '{t}b'], ['RENAMENX', '{t}b', '{t}c']], expect: ['{t}c new', '{t}c copy_to', '{t}b new', '{t}b copy_to', '{t}d new', '{t}a rename_from', '{t}d rename_to', '{t}b new', '{t}d rename_from', '{t}b rename_to'] },
  { name: 'incr new', flags: 'KEAn', run: [['INCR', '{t}a'], ['INCRBYFLOAT', '{t}b', '1'], ['MSET', '{t}c', '1', '{t}a', '2'], ['MSETNX', '{t}x', '1', '{t}y', '2'], ['SETNX', '{t}x', '9'], ['SETEX', '{t}z', 100, 'v']], expect: ['{t}a new', '{t}a incrby', '{t}b new', '{t}b incrbyfloat', '{t}c new', '{t}c set', '{t}a set', '{t}x new', '{t}x set', '{t}y new', '{t}y set', '{t}z new', '{t}z set', '{t}z expire'] },
  { name: 'collections new', flags: 'KEAn', run: [['RPUSH', '{t}l', 'a'], ['SADD', '{t}s', 'a'], ['HSET', '{t}h', 'a', 'b'], ['ZADD', '{t}z', 1, 'a'], ['ZADD', '{t}z', 'INCR', 1, 'a'], ['ZINCRBY', '{t}z2', 1, 'a'], ['LPUSHX', '{t}none', 'a'], ['SMOVE', '{t}s', '{t}s2', 'a']], expect: ['{t}l new', '{t}l rpush', '{t}s new', '{t}s sadd', '{t}h new', '{t}h hset', '{t}z new', '{t}z zadd', '{t}z zincr', '{t}z2 new', '{t}z2 zincr', '{t}s srem', '{t}s del', '{t}s2 new', '{t}s2 sadd'] },
  { name: 'flushall del unlink', setup: [['SET', '{t}a', '1'], ['SET', '{t}b', '1']], run: [['DEL', '{t}a', '{t}none'], ['UNLINK', '{t}b'], ['SET', '{t}c', '1'], ['FLUSHALL'], ['FLUSHDB']], expect: ['{t}a del', '{t}b del', '{t}c set'] },
  { name: 'keymiss', flags: 'KEm', setup: [['SET', '{t}a', '1'], ['SADD', '{t}x', '1']], run: [['GET', '{t}none'], ['GET', '{t}a'], ['MGET', '{t}a', '{t}n1', '{t}n2'], ['EXISTS', '{t}n3'], ['TYPE', '{t}n4'], ['STRLEN', '{t}n5'], ['LRANGE', '{t}n6', 0, -1], ['HGET', '{t}n7', 'f'], ['SINTERSTORE', '{t}d', '{t}x', '{t}n8'], ['SUNION', '{t}n9', '{t}x'], ['TTL', '{t}n10'], ['INCR', '{t}n11'], ['SET', '{t}n12', '1', 'GET'], ['OBJECT', 'ENCODING', '{t}n14'], ['ZSCORE', '{t}n15', 'a'], ['GETEX', '{t}n16'], ['GETDEL', '{t}n17'], ['APPEND', '{t}n18', 'x'], ['SCARD', '{t}n19'], ['SISMEMBER', '{t}n20', 'a'], ['BITCOUNT', '{t}n21'], ['GETBIT', '{t}n22', 0], ['PFCOUNT', '{t}n23'], ['LINDEX', '{t}n24', 0], ['COPY', '{t}n25', '{t}n26'], ['RENAME', '{t}n27', '{t}x'], ['LPOP', '{t}n28'], ['SMEMBERS', '{t}n29'], ['HGETALL', '{t}n30'], ['ZRANGE', '{t}n31', 0, -1], ['LLEN', '{t}n32'], ['PTTL', '{t}n33'], ['GETRANGE', '{t}n34', 0, 1], ['SRANDMEMBER', '{t}n35'], ['HEXISTS', '{t}n36', 'f'], ['ZCARD', '{t}n37'], ['OBJECT', 'FREQ', '{t}n39'], ['MEMORY', 'USAGE', '{t}n40'], ['TOUCH', '{t}n41'], ['LPOS', '{t}n43', 'a'], ['ZRANK', '{t}n44', 'a'], ['HRANDFIELD', '{t}n45'], ['SMISMEMBER', '{t}n46', 'a'], ['BITPOS', '{t}n47', 1], ['HSTRLEN', '{t}n48', 'f'], ['ZMSCORE', '{t}n49', 'a']], expect: ['{t}none keymiss', '{t}n1 keymiss', '{t}n2 keymiss', '{t}n3 keymiss', '{t}n4 keymiss', '{t}n5 keymiss', '{t}n6 keymiss', '{t}n7 keymiss', '{t}n8 keymiss', '{t}n9 keymiss', '{t}n10 keymiss', '{t}n12 keymiss', '{t}n15 keymiss', '{t}n16 keymiss', '{t}n17 keymiss', '{t}n19 keymiss', '{t}n20 keymiss', '{t}n21 keymiss', '{t}n22 keymiss', '{t}n23 keymiss', '{t}n24 keymiss', '{t}n25 keymiss', '{t}n29 keymiss', '{t}n30 keymiss', '{t}n31 keymiss', '{t}n32 keymiss', '{t}n33 keymiss', '{t}n34 keymiss', '{t}n35 keymiss', '{t}n36 keymiss', '{t}n37 keymiss', '{t}n41 keymiss', '{t}n43 keymiss', '{t}n44 keymiss', '{t}n45 keymiss', '{t}n46 keymiss', '{t}n47 keymiss', '{t}n48 keymiss', '{t}n49 keymiss'] },
  { name: 'blpop served', flags: 'KEAn', block: [['BLPOP', '{t}none', '{t}l', 0]], run: [['RPUSH', '{t}l', 'a', 'b']], expect: ['{t}l new', '{t}l rpush', '{t}l lpop'] },
  { name: 'blpop served empties', flags: 'KEAn', block: [['BRPOP', '{t}l', 0]], run: [['RPUSH', '{t}l', 'a']], expect: ['{t}l new', '{t}l rpush', '{t}l rpop', '{t}l del'] },
  { name: 'blpop immediate', flags: 'KEAn', setup: [['RPUSH', '{t}l', 'a']], run: [['BLPOP', '{t}l', 0], ['BRPOP', '{t}l', 0.01]], expect: ['{t}l lpop', '{t}l del'] },
  { name: 'blmove served', flags: 'KEAn', block: [['BLMOVE', '{t}l', '{t}m', 'LEFT', 'RIGHT', 0]], run: [['RPUSH', '{t}l', 'a']], expect: ['{t}l new', '{t}l rpush', '{t}m new', '{t}m rpush', '{t}l lpop', '{t}l del'] },
  { name: 'brpoplpush served', flags: 'KEAn', setup: [['RPUSH', '{t}m', 'x']], block: [['BRPOPLPUSH', '{t}l', '{t}m', 0]], run: [['LPUSH', '{t}l', 'a', 'b']], expect: ['{t}l new', '{t}l lpush', '{t}m lpush', '{t}l rpop'] },
  { name: 'blmove immediate', flags: 'KEAn', setup: [['RPUSH', '{t}l', 'a']], run: [['BLMOVE', '{t}l', '{t}m', 'RIGHT', 'LEFT', 0]], expect: ['{t}m new', '{t}m lpush', '{t}l rpop', '{t}l del'] },
  { name: 'blmpop served', flags: 'KEAn', block: [['BLMPOP', 0, 2, '{t}x', '{t}l', 'RIGHT', 'COUNT', 5]], run: [['RPUSH', '{t}l', 'a', 'b']], expect: ['{t}l new', '{t}l rpush', '{t}l rpop', '{t}l del'] },
  { name: 'blmpop immediate', flags: 'KEAn', setup: [['RPUSH', '{t}l', 'a', 'b']], run: [['BLMPOP', 0, 1, '{t}l', 'RIGHT', 'COUNT', 1]], expect: ['{t}l rpop'] },
  { name: 'bzpopmin served', flags: 'KEAn', block: [['BZPOPMIN', '{t}z', 0]], run: [['ZADD', '{t}z', 1, 'a', 2, 'b']], expect: ['{t}z new', '{t}z zadd', '{t}z zpopmin'] },
  { name: 'bzpopmax served empties', flags: 'KEAn', block: [['BZPOPMAX', '{t}z', 0]], run: [['ZADD', '{t}z', 1, 'a']], expect: ['{t}z new', '{t}z zadd', '{t}z zpopmax', '{t}z del'] },
  { name: 'bzmpop served', flags: 'KEAn', block: [['BZMPOP', 0, 1, '{t}z', 'MAX', 'COUNT', 5]], run: [['ZADD', '{t}z', 1, 'a', 2, 'b']], expect: ['{t}z new', '{t}z zadd', '{t}z zpopmax', '{t}z del'] },
  { name: 'bzpop immediate', flags: 'KEAn', setup: [['ZADD', '{t}z', 1, 'a', 2, 'b']], run: [['BZPOPMIN', '{t}z', 0], ['BZMPOP', 0, 1, '{t}z', 'MAX']], expect: ['{t}z zpopmin', '{t}z zpopmax', '{t}z del'] },
  { name: 'two blocked, lmove chain', flags: 'KEA', block: [['BLPOP', '{t}m', 0], ['BLMOVE', '{t}l', '{t}m', 'LEFT', 'LEFT', 0]], run: [['RPUSH', '{t}l', 'a']], expect: ['{t}l rpush', '{t}m lpush', '{t}l lpop', '{t}l del', '{t}m lpop', '{t}m del'] },
  { name: 'multi', flags: 'KEAn', run: [['MULTI'], ['SET', '{t}a', '1'], ['LPUSH', '{t}l', 'x'], ['LPOP', '{t}l'], ['EXEC']], expect: ['{t}a new', '{t}a set', '{t}l new', '{t}l lpush', '{t}l lpop', '{t}l del'] },
  { name: 'bitfield get miss', flags: 'KEm', run: [['BITFIELD', '{t}a', 'GET', 'u8', 0], ['BITFIELD_RO', '{t}b', 'GET', 'u8', 0], ['BITFIELD', '{t}c', 'INCRBY', 'u8', 0, 1], ['PFMERGE', '{t}d', '{t}e'], ['LCS', '{t}f', '{t}g'], ['SINTERCARD', 1, '{t}h'], ['GETSET', '{t}i', '1'], ['HMGET', '{t}j', 'a'], ['SRANDMEMBER', '{t}k', 1], ['ZRANDMEMBER', '{t}l'], ['ZRANGEBYSCORE', '{t}m', 0, 1], ['SMOVE', '{t}n', '{t}o', 'a'], ['LMOVE', '{t}p', '{t}q', 'LEFT', 'LEFT'], ['ZUNIONSTORE', '{t}r', 1, '{t}s'], ['ZRANGESTORE', '{t}t', '{t}u', 0, 1], ['BITOP', 'NOT', '{t}v', '{t}w'], ['SDIFF', '{t}x'], ['ZUNION', 1, '{t}y'], ['ZINTERCARD', 1, '{t}z'], ['GETRANGE', '{t}aa', 0, 1], ['EXPIRETIME', '{t}ab'], ['HKEYS', '{t}ac'], ['LPOS', '{t}ad', 'x'], ['ZCOUNT', '{t}ae', 0, 1], ['ZLEXCOUNT', '{t}af', '-', '+'], ['ZREVRANGE', '{t}ag', 0, 1], ['HLEN', '{t}ah'], ['HVALS', '{t}ai'], ['HSCAN', '{t}aj', 0], ['SSCAN', '{t}ak', 0], ['ZSCAN', '{t}al', 0], ['SINTER', '{t}am', '{t}an'], ['ZREVRANK', '{t}ao', 'a'], ['BLPOP', '{t}ap', 0.01], ['RPOPLPUSH', '{t}aq', '{t}ar']], expect: ['{t}a keymiss', '{t}b keymiss', '{t}d keymiss', '{t}e keymiss', '{t}f keymiss', '{t}g keymiss', '{t}h keymiss', '{t}i keymiss', '{t}j keymiss', '{t}k keymiss', '{t}l keymiss', '{t}m keymiss', '{t}s keymiss', '{t}u keymiss', '{t}w keymiss', '{t}x keymiss', '{t}y keymiss', '{t}z keymiss', '{t}aa keymiss', '{t}ab keymiss', '{t}ac keymiss', '{t}ad keymiss', '{t}ae keymiss', '{t}af keymiss', '{t}ag keymiss', '{t}ah keymiss', '{t}ai keymiss', '{t}aj keymiss', '{t}ak keymiss', '{t}al keymiss', '{t}am keymiss', '{t}an keymiss', '{t}ao keymiss'] },
  { name: 'unchanged', flags: 'KEAn', setup: [['ZADD', '{t}z', 1, 'a'], ['HSET', '{t}h', 'f', 'v'], ['PFADD', '{t}p', 'a'], ['SADD', '{t}s', 'a']], run: [['ZADD', '{t}z', 1, 'a'], ['ZADD', '{t}z', 2, 'a'], ['ZADD', '{t}z', 'NX', 3, 'a'], ['ZADD', '{t}z', 'XX', 3, 'b'], ['ZADD', '{t}z', 'CH', 2, 'a'], ['ZADD', '{t}z', 'GT', 1, 'a'], ['HSET', '{t}h', 'f', 'v'], ['PFADD', '{t}p', 'a'], ['SADD', '{t}s', 'a'], ['ZADD', '{t}z', 'INCR', 'NX', 1, 'a'], ['ZADD', '{t}n', 'XX', 1, 'a']], expect: ['{t}z zadd', '{t}h hset'] },
  { name: 'type overwrite', flags: 'KEAn', setup: [['RPUSH', '{t}l', 'a'], ['SADD', '{t}s', 'a']], run: [['SET', '{t}l', 'x'], ['SINTERSTORE', '{t}s2', '{t}s'], ['SUNIONSTORE', '{t}l', '{t}s'], ['ZUNIONSTORE', '{t}l', 1, '{t}s'], ['COPY', '{t}s', '{t}l', 'REPLACE']], expect: ['{t}l set', '{t}s2 new', '{t}s2 sinterstore', '{t}l sunionstore', '{t}l zunionstore', '{t}l new', '{t}l copy_to'] },
  { name: 'errors/wrongtype', flags: 'KEAnm', setup: [['RPUSH', '{t}l', 'a'], ['SET', '{t}s', 'abc']], run: [['INCR', '{t}l'], ['LPUSH', '{t}s', 'x'], ['GET', '{t}l'], ['SINTERSTORE', '{t}d', '{t}none', '{t}l'], ['HSET', '{t}s', 'a', 'b'], ['APPEND', '{t}l', 'x'], ['LLEN', '{t}s']], expect: ['{t}none keymiss'] },
  { name: 'misc', flags: 'KEAn', setup: [['SET', '{t}a', '1'], ['SADD', '{t}s', 'a', 'b'], ['RPUSH', '{t}l', 'a', 'b', 'a'], ['ZADD', '{t}z', 1, 'a']], run: [['PERSIST', '{t}none'], ['EXPIRE', '{t}none', 10], ['SETNX', '{t}a', '2'], ['MSETNX', '{t}a', '1', '{t}q', '2'], ['SPOP', '{t}s', 5], ['LREM', '{t}l', 0, 'a'], ['LREM', '{t}l', 0, 'b'], ['LINSERT', '{t}none', 'BEFORE', 'a', 'b'], ['ZREM', '{t}z', 'a'], ['HINCRBY', '{t}h', 'f', 2], ['DECRBY', '{t}a', 3], ['GETEX', '{t}a', 'EXAT', 1], ['SET', '{t}b', '1', 'PX', 100000, 'GET'], ['SET', '{t}b', '2', 'XX', 'GET', 'KEEPTTL'], ['SET', '{t}c', '2', 'XX', 'GET'], ['SET', '{t}b', '3', 'NX', 'GET'], ['GETSET', '{t}g', '1'], ['LPOP', '{t}none'], ['RPUSHX', '{t}none', 'a'], ['LPOP', '{t}l', 0], ['SPOP', '{t}none'], ['SET', '{t}a', '1', 'EXAT', 1]], expect: ['{t}s spop', '{t}s del', '{t}l lrem', '{t}l lrem', '{t}l del', '{t}z zrem', '{t}z del', '{t}h new', '{t}h hincrby', '{t}a incrby', '{t}a del', '{t}b new', '{t}b set', '{t}b expire', '{t}b set', '{t}g new', '{t}g set', '{t}a new', '{t}a set', '{t}a expire', '{t}a expired'] },
  { name: 'hdel hstuff', flags: 'KEAn', setup: [['HSET', '{t}h', 'a', '1', 'b', '2'], ['SADD', '{t}s', 'x']], run: [['HDEL', '{t}h', 'a', 'b'], ['HSETNX', '{t}h', 'a', '1'], ['HINCRBYFLOAT', '{t}h', 'a', 'x'], ['SREM', '{t}s', 'x'], ['SMOVE', '{t}s', '{t}s', 'x'], ['SADD', '{t}s', 'x'], ['SMOVE', '{t}s', '{t}s', 'x'], ['ZINCRBY', '{t}z', 1, 'm'], ['ZPOPMIN', '{t}z', 3], ['ZREMRANGEBYSCORE', '{t}none', 0, 1]], expect: ['{t}h hdel', '{t}h del', '{t}h new', '{t}h hset', '{t}s srem', '{t}s del', '{t}s new', '{t}s sadd', '{t}z new', '{t}z zincr', '{t}z zpopmin', '{t}z del'] },
  // Expired (actively or when looked up) before the key is created again: `new` again.
  { name: 'expired then created again', flags: 'KEAn', run: [['SET', '{t}b', '1', 'PX', 1], ['SLEEP', 5], ['SET', '{t}b', '2'], ['RPUSH', '{t}l', 'x'], ['PEXPIRE', '{t}l', 1], ['SLEEP', 5], ['RPUSH', '{t}l', 'y']],
    expect: ['{t}b new', '{t}b set', '{t}b expire', '{t}b expired', '{t}b new', '{t}b set', '{t}l new', '{t}l rpush', '{t}l expire', '{t}l expired', '{t}l new', '{t}l rpush'] },
  { name: 'an expired key overwritten', flags: 'KEAn',
    run: [['SET', '{t}c', '1', 'PX', 1], ['SLEEP', 3], ['MSET', '{t}c', '2'], ['SET', '{t}e', '1', 'PX', 1], ['SLEEP', 3], ['GETSET', '{t}e', '2'], ['SET', '{t}f', '1', 'PX', 1], ['SLEEP', 3], ['APPEND', '{t}f', '2']],
    expect: ['{t}c new', '{t}c set', '{t}c expire', '{t}c expired', '{t}c new', '{t}c set', '{t}e new', '{t}e set', '{t}e expire', '{t}e expired', '{t}e new', '{t}e set',
      '{t}f new', '{t}f set', '{t}f expire', '{t}f expired', '{t}f new', '{t}f append'] },
  { name: 'expired on lookup, then keymiss', flags: 'KEAnm', run: [['SET', '{t}c', '1', 'PX', 1], ['SLEEP', 3], ['GET', '{t}c']],
    expect: ['{t}c new', '{t}c set', '{t}c expire', '{t}c expired', '{t}c keymiss'] },
];

// Collections past the packed limits: one `new` however the encoding changes.
const BIG = Array.from({ length: 200 }, (_, i) => `${i}${'x'.repeat(70)}`);
SCENARIOS.push({
  name: 'big collections',
  flags: 'KEAn',
  run: [
    ['HSET', '{t}h', ...BIG.slice(0, 150).flatMap((b) => [b, b])], ['SADD', '{t}s', ...BIG],
    ['ZADD', '{t}z', ...BIG.slice(0, 150).flatMap((b) => [1, b])], ['RPUSH', '{t}l', ...BIG, ...BIG, ...BIG],
    ['HSET', '{t}h2', 'a', '1'], ['HSET', '{t}h2', ...BIG.slice(0, 150).flatMap((b) => [b, b])],
    ['SADD', '{t}s2', '1'], ['SADD', '{t}s2', ...BIG],
  ],
  expect: ['{t}h new', '{t}h hset', '{t}s new', '{t}s sadd', '{t}z new', '{t}z zadd', '{t}l new', '{t}l rpush',
    '{t}h2 new', '{t}h2 hset', '{t}h2 hset', '{t}s2 new', '{t}s2 sadd', '{t}s2 sadd'],
});

t.test('CONFIG SET / GET notify-keyspace-events as Redis prints it', async (t) => {
  const cases: Array<[string, string]> = [
    ['KEA', 'AKE'], ['AKE', 'AKE'], ['KEAn', 'AKE'], ['AKEmn', 'AKEm'], ['Kn', 'nK'], ['gKm', 'gKm'], ['mK', 'Km'], ['A', 'A'],
    ['$lshzxetd', '$lshzxetd'], ['gn$E', 'g$nE'], ['xeKE', 'xeKE'], ['g$lshzxetdKE', 'AKE'], ['', ''],
  ];
  for (const [set, want] of cases) {
    t.equal(await run(['CONFIG', 'SET', 'notify-keyspace-events', set]), 'OK');
    t.same(await run(['CONFIG', 'GET', 'notify-keyspace-events']), ['notify-keyspace-events', want], `${set} reads as ${want}`);
  }
  for (const bad of ['KEAq', 'K E', 'a']) {
    t.same(await run(['CONFIG', 'SET', 'notify-keyspace-events', bad]), {
      error: "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.",
    }, `${JSON.stringify(bad)} refused`);
  }
  t.same(await run(['CONFIG', 'GET', 'notify-keyspace-events']), ['notify-keyspace-events', ''], 'a refused value changes nothing');
});

t.test('events in Redis 7.0 order, RESP2 and RESP3 subscribers, through the proxy', async (t) => {
  await runScenarios(t, target.port, SCENARIOS);
});

t.test('the same events directly on the worker holding the keys', { skip: !isShoal && 'Shoal workers only' }, async (t) => {
  const slot = keySlot('{t}');
  let port = 0;
  for (const p of target.workerPorts) {
    const c = await RespClient.connect(p);
    const r = await c.run(['GET', '{t}probe']);
    await c.close();
    if (!(typeof r === 'object' && r !== null && 'error' in r)) port = p;
  }
  t.ok(port > 0, `a worker owns slot ${slot}`);
  await runScenarios(t, port, SCENARIOS);
});

/** Events of keys on different workers (Shoal's gather path): compared as multisets, since order holds per key only. */
const ACROSS: Scenario[] = [
  { name: 'SINTERSTORE / SUNIONSTORE across workers', flags: 'KEAnm', setup: [['SADD', 'a', '1', '2'], ['SADD', 'd', '2']],
    run: [['SINTERSTORE', 'b', 'a', 'd'], ['SUNIONSTORE', 'c', 'e', 'h'], ['SINTERSTORE', 'b', 'a', 'e'], ['SDIFF', 'a', 'h']],
    expect: ['b new', 'b sinterstore', 'e keymiss', 'h keymiss', 'e keymiss', 'b del', 'h keymiss'] },
  { name: 'ZUNIONSTORE / ZINTERSTORE / ZRANGESTORE across workers', flags: 'KEAnm', setup: [['ZADD', 'a', 1, 'x'], ['ZADD', 'd', 2, 'x']],
    run: [['ZUNIONSTORE', 'c', 2, 'a', 'd'], ['ZINTERSTORE', 'c', 2, 'a', 'e'], ['ZRANGESTORE', 'f', 'a', 0, -1]],
    expect: ['c new', 'c zunionstore', 'e keymiss', 'c del', 'f new', 'f zrangestore'] },
  { name: 'BITOP / PFMERGE / PFCOUNT across workers', flags: 'KEAnm', setup: [['SET', 'a', 'x'], ['PFADD', 'h', '1']],
    run: [['BITOP', 'AND', 'f', 'a', 'd'], ['BITOP', 'OR', 'g', 'a'], ['PFMERGE', 'b', 'h', 'e'], ['PFCOUNT', 'b', 'h', 'e']],
    expect: ['d keymiss', 'f new', 'f set', 'g new', 'g set', 'b keymiss', 'e keymiss', 'b new', 'b pfadd', 'e keymiss'] },
  // a, e on worker 1 and b, c, f on worker 0: each command below moves a key between workers (proxy/special.ts).
  { name: 'RENAME / RENAMENX / COPY across workers', flags: 'KEAnm', setup: [['SET', 'a', '1'], ['SET', 'b', '2'], ['SET', 'c', '3']],
    run: [['COPY', 'a', 'f'], ['COPY', 'e', 'f'], ['RENAME', 'a', 'b'], ['RENAME', 'e', 'g'], ['RENAMENX', 'c', 'd']],
    expect: ['f new', 'f copy_to', 'e keymiss', 'b new', 'a rename_from', 'b rename_to', 'd new', 'c rename_from', 'd rename_to'] },
  { name: 'MGET / MSET / DEL / EXISTS / TOUCH across workers', flags: 'KEAnm', setup: [['SET', 'a', '1']],
    run: [['MGET', 'a', 'b', 'd', 'f'], ['MSET', 'a', '1', 'b', '2', 'c', '3'], ['DEL', 'a', 'b', 'e'], ['EXISTS', 'a', 'b', 'c'], ['TOUCH', 'g', 'h']],
    expect: ['b keymiss', 'd keymiss', 'f keymiss', 'a set', 'b new', 'b set', 'c new', 'c set', 'a del', 'b del', 'a keymiss', 'b keymiss', 'g keymiss', 'h keymiss'] },
];

t.test('commands over keys on several workers publish what Redis does (as a multiset)', async (t) => {
  const c = await RespClient.connect(target.port);
  t.teardown(() => c.close());
  const sub = await Subscriber.open(target.port, 3);
  t.teardown(() => sub.close());
  for (const sc of ACROSS) {
    await c.run(['CONFIG', 'SET', 'notify-keyspace-events', '']);
    await c.run(['FLUSHALL']);
    for (const cmd of sc.setup ?? []) await c.run(str(cmd));
    await c.run(['CONFIG', 'SET', 'notify-keyspace-events', sc.flags ?? 'KEA']);
    sub.events.length = 0;
    for (const cmd of sc.run) await c.run(str(cmd));
    const want = stream(sc.expect);
    await waitFor(() => sub.events.length >= want.length, 3000);
    await sleep(50);
    t.same([...sub.events].sort(), [...want].sort(), sc.name);
    // Per key, the order still holds.
    const perKey = (list: string[]) => list.filter((e) => !e.startsWith('E:')).reduce((m, e) => m.set(e.split(' ')[0]!, [...(m.get(e.split(' ')[0]!) ?? []), e]), new Map<string, string[]>());
    t.same(perKey(sub.events), perKey(want), `${sc.name}: in order per key`);
  }
  await c.run(['CONFIG', 'SET', 'notify-keyspace-events', '']);
});

t.test('INFO stats pubsub_channels / pubsub_patterns / pubsubshard_channels', async (t) => {
  const stats = async (c: RespClient) => parseInfo(await c.run(['INFO', 'stats']));
  const c = await RespClient.connect(target.port);
  t.teardown(() => c.close());
  const s0 = await stats(c);
  t.same([s0.get('pubsub_channels'), s0.get('pubsub_patterns'), s0.get('pubsubshard_channels')], ['0', '0', '0'], 'nothing subscribed');
  t.ok(s0.has('keyspace_hits') && s0.has('keyspace_misses'), 'keyspace_hits / keyspace_misses are there');
  const a = await RespClient.connect(target.port);
  const b = await RespClient.connect(target.port);
  t.teardown(async () => { await a.close(); await b.close(); });
  await a.run(['SUBSCRIBE', 'c1']);
  await a.run(['PSUBSCRIBE', 'p*']);
  await b.run(['HELLO', '3']);
  await b.run(['SUBSCRIBE', 'c1']);
  await b.run(['SUBSCRIBE', 'c2']);
  await b.run(['PSUBSCRIBE', 'p*']);
  await b.run(['PSUBSCRIBE', 'q*']);
  await b.run(['SSUBSCRIBE', '{s}1']);
  const s1 = await stats(c);
  t.same([s1.get('pubsub_channels'), s1.get('pubsub_patterns'), s1.get('pubsubshard_channels')], ['2', '2', '1'], 'distinct channels, patterns, shard channels');
  await a.close();
  await b.close();
  let s2 = await stats(c);
  for (let i = 0; i < 100 && s2.get('pubsub_channels') !== '0'; i++) s2 = (await sleep(20), await stats(c));
  t.same([s2.get('pubsub_channels'), s2.get('pubsub_patterns'), s2.get('pubsubshard_channels')], ['0', '0', '0'], 'gone with their clients');
});

t.test('INFO stats pubsub counts on a worker count its own subscriptions', { skip: !isShoal && 'Shoal workers only' }, async (t) => {
  const port = target.workerPorts[0]!;
  const w = await RespClient.connect(port);
  t.teardown(() => w.close());
  const count = async () => {
    const s = parseInfo(await w.run(['INFO', 'stats']));
    return [Number(s.get('pubsub_channels')), Number(s.get('pubsub_patterns'))];
  };
  const [c0, p0] = await count();
  const sub = await RespClient.connect(port);
  t.teardown(() => sub.close());
  await sub.run(['SUBSCRIBE', 'wc1']);
  await sub.run(['SUBSCRIBE', 'wc2']);
  await sub.run(['PSUBSCRIBE', 'wp*']);
  t.same(await count(), [c0! + 2, p0! + 1]);
});
