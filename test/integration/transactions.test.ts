// Transactions: MULTI EXEC DISCARD WATCH UNWATCH, Redis 7 replies byte for byte.
// Runs against the Shoal proxy by default, or a real redis-server with
// SHOAL_TEST_TARGET=redis. Keys of one transaction share a {hash tag}, so through the
// proxy they live on one worker; the Shoal-only tests at the end cover transactions
// spanning workers (CROSSSLOT / EXECABORT) and transactions straight on a worker port
// (Redis Cluster node semantics). Design: docs/transactions.md.

import t from 'tap';
import { Redis } from 'ioredis';
import { createClient, WatchError } from 'redis';
import { isShoal, keySlot, useTarget } from '../helpers/cluster.js';
import { RespClient, rawSend, sleep } from '../helpers/run.js';

const { target, run } = await useTarget(t);
const port = target.port;

const EXECABORT = '-EXECABORT Transaction discarded because of previous errors.\r\n';
const CROSSSLOT = "-CROSSSLOT Keys in request don't hash to the same slot\r\n";

type Tt = { teardown(fn: () => unknown): void };

/** A fresh connection (closed at the end of test `tt`) with a bytes-as-string helper. */
async function conn(tt: Tt, p = port): Promise<{ c: RespClient; raw: (...argv: string[]) => Promise<string> }> {
  const c = await RespClient.connect(p);
  tt.teardown(() => c.close());
  return { c, raw: async (...argv: string[]) => (await c.runRaw(argv)).toString('latin1') };
}

t.beforeEach(async () => {
  await run(['FLUSHALL']);
});

t.test('MULTI, +QUEUED and EXEC on the wire', async (t) => {
  const { raw } = await conn(t);
  t.equal(await raw('MULTI'), '+OK\r\n');
  t.equal(await raw('SET', '{t}a', '1'), '+QUEUED\r\n');
  t.equal(await raw('INCR', '{t}a'), '+QUEUED\r\n');
  t.equal(await raw('GET', '{t}a'), '+QUEUED\r\n');
  t.equal(await raw('GET', '{t}missing'), '+QUEUED\r\n');
  t.equal(await raw('EXEC'), '*4\r\n+OK\r\n:2\r\n$1\r\n2\r\n$-1\r\n');
  t.equal(await raw('MULTI'), '+OK\r\n');
  t.equal(await raw('EXEC'), '*0\r\n', 'an empty transaction');
  t.equal(await raw('multi'), '+OK\r\n', 'any case');
  t.equal(await raw('set', '{t}a', 'x'), '+QUEUED\r\n');
  t.equal(await raw('DISCARD'), '+OK\r\n');
  t.equal(await raw('GET', '{t}a'), '$1\r\n2\r\n', 'DISCARD ran nothing');
  t.equal(await raw('EXEC'), '-ERR EXEC without MULTI\r\n', 'DISCARD ended MULTI');
});

t.test('pipelined transaction in one write', async (t) => {
  const bytes = 'MULTI\r\nSET {t}p 5\r\nINCRBY {t}p 10\r\nEXEC\r\nGET {t}p\r\n';
  const { data } = await rawSend(port, bytes);
  t.equal(data.toString(), '+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n:15\r\n$2\r\n15\r\n');
});

t.test('usage errors', async (t) => {
  const { raw } = await conn(t);
  t.equal(await raw('EXEC'), '-ERR EXEC without MULTI\r\n');
  t.equal(await raw('DISCARD'), '-ERR DISCARD without MULTI\r\n');
  t.equal(await raw('MULTI', 'x'), "-ERR wrong number of arguments for 'multi' command\r\n");
  t.equal(await raw('EXEC', 'x'), "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n");
  t.equal(await raw('DISCARD', 'x'), "-ERR wrong number of arguments for 'discard' command\r\n");
  t.equal(await raw('WATCH'), "-ERR wrong number of arguments for 'watch' command\r\n");
  t.equal(await raw('UNWATCH', 'x'), "-ERR wrong number of arguments for 'unwatch' command\r\n");
  t.equal(await raw('UNWATCH'), '+OK\r\n');
  // Nested MULTI and WATCH inside MULTI are refused without aborting the transaction.
  t.equal(await raw('MULTI'), '+OK\r\n');
  t.equal(await raw('MULTI'), '-ERR MULTI calls can not be nested\r\n');
  t.equal(await raw('WATCH', '{t}a'), '-ERR WATCH inside MULTI is not allowed\r\n');
  t.equal(await raw('SET', '{t}a', '1'), '+QUEUED\r\n');
  t.equal(await raw('EXEC'), '*1\r\n+OK\r\n');
  // EXEC with arguments inside MULTI discards the transaction.
  t.equal(await raw('MULTI'), '+OK\r\n');
  t.equal(await raw('SET', '{t}a', '2'), '+QUEUED\r\n');
  t.equal(await raw('EXEC', 'now'), "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n");
  t.equal(await raw('EXEC'), '-ERR EXEC without MULTI\r\n');
  t.equal(await raw('GET', '{t}a'), '$1\r\n1\r\n');
});

t.test('errors while queuing make EXEC reply EXECABORT', async (t) => {
  const { raw } = await conn(t);
  const cases: [string[], string][] = [
    [['NOSUCHCOMMAND', 'x'], "-ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'x' \r\n"],
    [['GET'], "-ERR wrong number of arguments for 'get' command\r\n"],
    [['SET', '{t}a'], "-ERR wrong number of arguments for 'set' command\r\n"],
    [['MULTI', 'x'], "-ERR wrong number of arguments for 'multi' command\r\n"],
    [['WATCH'], "-ERR wrong number of arguments for 'watch' command\r\n"],
    [['DISCARD', 'x'], "-ERR wrong number of arguments for 'discard' command\r\n"],
  ];
  for (const [argv, reply] of cases) {
    t.equal(await raw('MULTI'), '+OK\r\n');
    t.equal(await raw('SET', '{t}a', 'queued'), '+QUEUED\r\n');
    t.equal(await raw(...argv), reply, argv.join(' '));
    t.equal(await raw('SET', '{t}b', 'after'), '+QUEUED\r\n', 'still queuing after the error');
    t.equal(await raw('EXEC'), EXECABORT, `${argv.join(' ')} → EXECABORT`);
    t.equal(await raw('EXISTS', '{t}a', '{t}b'), ':0\r\n', 'nothing ran');
    t.equal(await raw('EXEC'), '-ERR EXEC without MULTI\r\n', 'EXECABORT ended MULTI');
  }
});

t.test('runtime errors are replies inside the EXEC array', async (t) => {
  const { raw } = await conn(t);
  t.equal(await raw('MULTI'), '+OK\r\n');
  t.equal(await raw('SET', '{t}s', 'text'), '+QUEUED\r\n');
  t.equal(await raw('LPUSH', '{t}s', 'x'), '+QUEUED\r\n');
  t.equal(await raw('INCR', '{t}s'), '+QUEUED\r\n');
  t.equal(await raw('SET', '{t}s', 'v', 'NX', 'XX'), '+QUEUED\r\n');
  t.equal(await raw('MSET', '{t}a', '1', '{t}b'), '+QUEUED\r\n', 'MSET with an odd pair count fails only when run');
  t.equal(await raw('APPEND', '{t}s', '!'), '+QUEUED\r\n');
  t.equal(
    await raw('EXEC'),
    '*6\r\n+OK\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n' +
      '-ERR value is not an integer or out of range\r\n-ERR syntax error\r\n' +
      "-ERR wrong number of arguments for 'mset' command\r\n:5\r\n",
  );
  t.equal(await raw('GET', '{t}s'), '$5\r\ntext!\r\n', 'the commands around the errors ran');
});

t.test('commands the server answers itself are queued too', async (t) => {
  const { raw } = await conn(t);
  t.equal(await raw('MULTI'), '+OK\r\n');
  for (const argv of [['PING'], ['SET', '{t}a', '1'], ['ECHO', 'hi'], ['CLIENT', 'SETNAME', 'txclient'], ['INCR', '{t}a'], ['CLIENT', 'GETNAME'], ['PING', 'x'], ['UNWATCH'], ['GET', '{t}a']]) {
    t.equal(await raw(...argv), '+QUEUED\r\n', argv.join(' '));
  }
  t.equal(await raw('CLIENT', 'GETNAME'), '+QUEUED\r\n', 'not run yet');
  t.equal(
    await raw('EXEC'),
    '*10\r\n+PONG\r\n+OK\r\n$2\r\nhi\r\n+OK\r\n:2\r\n$8\r\ntxclient\r\n$1\r\nx\r\n+OK\r\n$1\r\n2\r\n$8\r\ntxclient\r\n',
  );
  // Only proxy-answered commands, nothing watched.
  t.equal(await raw('MULTI'), '+OK\r\n');
  t.equal(await raw('ECHO', 'only'), '+QUEUED\r\n');
  t.equal(await raw('PING'), '+QUEUED\r\n');
  t.equal(await raw('EXEC'), '*2\r\n$4\r\nonly\r\n+PONG\r\n');
});

t.test('QUIT and RESET are not queued', async (t) => {
  const quit = await rawSend(port, 'MULTI\r\nSET {t}q 1\r\nQUIT\r\n');
  t.equal(quit.data.toString(), '+OK\r\n+QUEUED\r\n+OK\r\n');
  t.ok(quit.closed, 'QUIT closed the connection');
  const { raw } = await conn(t);
  t.equal(await raw('EXISTS', '{t}q'), ':0\r\n', 'the transaction did not run');
  t.equal(await raw('MULTI'), '+OK\r\n');
  t.equal(await raw('SET', '{t}q', '1'), '+QUEUED\r\n');
  t.equal(await raw('RESET'), '+RESET\r\n');
  t.equal(await raw('EXEC'), '-ERR EXEC without MULTI\r\n');
  t.equal(await raw('EXISTS', '{t}q'), ':0\r\n');
});

t.test('blocking commands inside MULTI do not block', async (t) => {
  const { raw } = await conn(t);
  t.equal(await raw('MULTI'), '+OK\r\n');
  for (const argv of [
    ['BLPOP', '{t}l', '0'], ['BRPOP', '{t}l', '{t}l2', '0'], ['BRPOPLPUSH', '{t}l', '{t}m', '0'], ['BLMOVE', '{t}l', '{t}m', 'LEFT', 'RIGHT', '0'],
    ['BLMPOP', '0', '1', '{t}l', 'LEFT'], ['BZPOPMIN', '{t}z', '0'], ['BZPOPMAX', '{t}z', '0'], ['BZMPOP', '0', '1', '{t}z', 'MIN'],
    ['RPUSH', '{t}l', 'a', 'b'], ['BLPOP', '{t}l', '0'], ['BLMOVE', '{t}l', '{t}m', 'LEFT', 'RIGHT', '0'],
  ]) {
    t.equal(await raw(...argv), '+QUEUED\r\n', argv.join(' '));
  }
  t.equal(
    await raw('EXEC'),
    '*11\r\n*-1\r\n*-1\r\n$-1\r\n$-1\r\n*-1\r\n*-1\r\n*-1\r\n*-1\r\n:2\r\n*2\r\n$4\r\n{t}l\r\n$1\r\na\r\n$1\r\nb\r\n',
  );
});

t.test('RESP3', async (t) => {
  const { raw } = await conn(t);
  const other = await conn(t);
  t.match(await raw('HELLO', '3'), /^%7\r\n/);
  t.equal(await raw('MULTI'), '+OK\r\n');
  t.equal(await raw('SET', '{t}a', 'v'), '+QUEUED\r\n');
  t.equal(await raw('GET', '{t}a'), '+QUEUED\r\n');
  t.equal(await raw('GET', '{t}missing'), '+QUEUED\r\n');
  t.equal(await raw('HSET', '{t}h', 'f', '1'), '+QUEUED\r\n');
  t.equal(await raw('HGETALL', '{t}h'), '+QUEUED\r\n');
  t.equal(await raw('BLPOP', '{t}l', '0'), '+QUEUED\r\n');
  t.equal(await raw('BZPOPMIN', '{t}z', '0'), '+QUEUED\r\n');
  t.equal(await raw('EXEC'), '*7\r\n+OK\r\n$1\r\nv\r\n_\r\n:1\r\n%1\r\n$1\r\nf\r\n$1\r\n1\r\n_\r\n_\r\n');
  t.equal(await raw('WATCH', '{t}a'), '+OK\r\n');
  t.equal(await other.raw('SET', '{t}a', 'changed'), '+OK\r\n');
  t.equal(await raw('MULTI'), '+OK\r\n');
  t.equal(await raw('SET', '{t}a', 'mine'), '+QUEUED\r\n');
  t.equal(await raw('EXEC'), '_\r\n', 'aborted EXEC: RESP3 null');
  t.equal(await raw('MULTI'), '+OK\r\n');
  t.equal(await raw('NOPE'), "-ERR unknown command 'NOPE', with args beginning with: \r\n");
  t.equal(await raw('EXEC'), EXECABORT);
  t.equal(await raw('GET', '{t}a'), '$7\r\nchanged\r\n');
});

t.test('WATCH', async (t) => {
  /** WATCH keys on a's connection, let `meanwhile` run, then MULTI SET EXEC: the EXEC reply. */
  async function watched(tt: Tt, keys: string[], meanwhile: (other: RespClient, own: RespClient) => Promise<unknown>): Promise<string> {
    const a = await conn(tt);
    const b = await conn(tt);
    tt.teardown(() => run(['FLUSHALL']));
    if ((await a.raw('WATCH', ...keys)) !== '+OK\r\n') throw new Error('WATCH failed');
    await meanwhile(b.c, a.c);
    await a.raw('MULTI');
    await a.raw('SET', '{w}out', 'ran');
    return a.raw('EXEC');
  }
  const ABORTED = '*-1\r\n';
  const RAN = '*1\r\n+OK\r\n';

  t.test('another client writes the key', async (t) => {
    await run(['SET', '{w}k', '1']);
    t.equal(await watched(t, ['{w}k'], (o) => o.run(['INCR', '{w}k'])), ABORTED);
    t.equal(await run(['EXISTS', '{w}out']), 0, 'nothing ran');
    t.equal(await run(['GET', '{w}k']), '2');
  });
  t.test('another client overwrites with the same value', async (t) => {
    await run(['SET', '{w}k', 'same']);
    t.equal(await watched(t, ['{w}k'], (o) => o.run(['SET', '{w}k', 'same'])), ABORTED);
  });
  t.test('the key is created', async (t) => {
    t.equal(await watched(t, ['{w}k'], (o) => o.run(['LPUSH', '{w}k', 'x'])), ABORTED);
  });
  t.test('the key is deleted', async (t) => {
    await run(['SET', '{w}k', '1']);
    t.equal(await watched(t, ['{w}k'], (o) => o.run(['DEL', '{w}k'])), ABORTED);
  });
  t.test('the key is given a TTL', async (t) => {
    await run(['SET', '{w}k', '1']);
    t.equal(await watched(t, ['{w}k'], (o) => o.run(['EXPIRE', '{w}k', '100'])), ABORTED);
  });
  t.test('the key expires while watched', async (t) => {
    await run(['SET', '{w}k', '1']);
    await run(['PEXPIRE', '{w}k', '150']);
    t.equal(await watched(t, ['{w}k'], () => sleep(250)), ABORTED);
    t.equal(await run(['EXISTS', '{w}k']), 0);
  });
  t.test('a key already expired when watched does not abort', async (t) => {
    await run(['SET', '{w}k', '1', 'PX', '20']);
    await sleep(60);
    t.equal(await watched(t, ['{w}k'], () => sleep(20)), RAN);
  });
  t.test('FLUSHALL', async (t) => {
    await run(['SET', '{w}k', '1']);
    t.equal(await watched(t, ['{w}k'], (o) => o.run(['FLUSHALL'])), ABORTED);
  });
  t.test('one of several watched keys changes', async (t) => {
    await run(['MSET', '{w}k', '1', '{w}k2', '2']);
    t.equal(await watched(t, ['{w}k', '{w}k2', '{w}k3'], (o) => o.run(['APPEND', '{w}k2', 'x'])), ABORTED);
  });
  t.test('the watching client itself writes before MULTI', async (t) => {
    await run(['SET', '{w}k', '1']);
    t.equal(await watched(t, ['{w}k'], (_o, own) => own.run(['SET', '{w}k', '2'])), ABORTED);
  });
  t.test('writes to other keys and reads do not abort', async (t) => {
    await run(['SET', '{w}k', '1']);
    const reply = await watched(t, ['{w}k'], async (o) => {
      await o.run(['SET', '{w}other', 'x']);
      await o.run(['INCR', 'elsewhere']);
      await o.run(['GET', '{w}k']);
      await o.run(['EXISTS', '{w}k']);
      await o.run(['TTL', '{w}k']);
      await o.run(['STRLEN', '{w}k']);
      await o.run(['DEL', '{w}nokey']);
    });
    t.equal(reply, RAN);
    t.equal(await run(['GET', '{w}out']), 'ran');
  });
  t.test('UNWATCH, DISCARD, EXEC and RESET forget the watched keys', async (t) => {
    const a = await conn(t);
    const b = await conn(t);
    await run(['SET', '{w}k', '1']);
    const after = async (end: string[][], expect: string, what: string): Promise<void> => {
      t.equal(await a.raw('WATCH', '{w}k'), '+OK\r\n');
      for (const argv of end) await a.raw(...argv);
      await b.raw('INCR', '{w}k');
      t.equal(await a.raw('MULTI'), '+OK\r\n');
      t.equal(await a.raw('SET', '{w}out', 'x'), '+QUEUED\r\n');
      t.equal(await a.raw('EXEC'), expect, what);
    };
    await after([], '*-1\r\n', 'still watched');
    await after([['UNWATCH']], RAN, 'UNWATCH');
    await after([['MULTI'], ['DISCARD']], RAN, 'DISCARD');
    await after([['MULTI'], ['EXEC']], RAN, 'EXEC');
    await after([['MULTI'], ['NOPE'], ['EXEC']], RAN, 'EXEC replying EXECABORT');
    await after([['RESET']], RAN, 'RESET');
    await after([['MULTI'], ['EXEC', 'x']], RAN, 'EXEC with arguments');
  });
  t.test('watching the same key twice', async (t) => {
    await run(['SET', '{w}k', '1']);
    t.equal(await watched(t, ['{w}k', '{w}k'], (o) => o.run(['INCR', '{w}k'])), ABORTED);
  });
});

/**
 * Two clients (on ports p1 and p2) each try ROUNDS optimistic increments of key
 * (WATCH, GET, then MULTI SET EXEC in one write); resolves with the successes and aborts.
 */
async function race(key: string, ports: [number, number], rounds = 200): Promise<{ ok: number; aborted: number }> {
  const worker = async (p: number): Promise<{ ok: number; aborted: number }> => {
    const c = await RespClient.connect(p);
    let ok = 0;
    let aborted = 0;
    try {
      for (let i = 0; i < rounds; i++) {
        await c.run(['WATCH', key]);
        const v = Number(await c.run(['GET', key]));
        // MULTI, SET and EXEC leave in one write.
        const [m, q, e] = await Promise.all([c.run(['MULTI']), c.run(['SET', key, String(v + 1)]), c.run(['EXEC'])]);
        if (m !== 'OK' || q !== 'QUEUED') throw new Error(`unexpected ${String(m)} ${String(q)}`);
        if (Array.isArray(e)) ok++;
        else if (e === null) aborted++;
        else throw new Error(`unexpected EXEC reply ${JSON.stringify(e)}`);
      }
    } finally {
      await c.close();
    }
    return { ok, aborted };
  };
  const results = await Promise.all([worker(ports[0]), worker(ports[1])]);
  return { ok: results[0].ok + results[1].ok, aborted: results[0].aborted + results[1].aborted };
}

t.test('race: WATCH/GET/MULTI/SET/EXEC increments from two clients', async (t) => {
  await run(['SET', '{race}n', '0']);
  const { ok, aborted } = await race('{race}n', [port, port]);
  t.equal(ok + aborted, 400);
  t.equal(Number(await run(['GET', '{race}n'])), ok, `final value = successful EXECs (${ok} ok, ${aborted} aborted)`);
});

t.test('ioredis: multi() and watch()', async (t) => {
  const opts = { host: '127.0.0.1', port, maxRetriesPerRequest: 1, retryStrategy: () => null, connectTimeout: 5000 };
  const r = new Redis(opts);
  const other = new Redis(opts);
  t.teardown(() => {
    r.disconnect();
    other.disconnect();
  });
  t.same(await r.multi().set('{i}a', '1').get('{i}a').incr('{i}n').hset('{i}h', 'f', 'v').exec(), [[null, 'OK'], [null, '1'], [null, 1], [null, 1]]);
  const withError = await r.multi().set('{i}s', 'x').incr('{i}s').get('{i}s').exec();
  t.equal(withError?.length, 3);
  t.match(String(withError?.[1]?.[0]), /value is not an integer/);
  t.same(withError?.[2], [null, 'x']);
  await r.watch('{i}a');
  await other.set('{i}a', 'other');
  t.equal(await r.multi().set('{i}a', 'mine').exec(), null, 'aborted by the other client');
  t.equal(await r.get('{i}a'), 'other');
  await r.watch('{i}a');
  t.same(await r.multi().set('{i}a', 'mine').exec(), [[null, 'OK']]);
  t.equal(await r.get('{i}a'), 'mine');
  // Auto-pipelined commands of other callers keep their order around a transaction.
  const [, tx, after] = await Promise.all([r.set('{i}c', '1'), r.multi().incr('{i}c').incr('{i}c').exec(), r.get('{i}c')]);
  t.same(tx, [[null, 2], [null, 3]]);
  t.equal(after, '3');
});

t.test('node-redis: multi() and watch()', async (t) => {
  const make = async (resp: 2 | 3) => {
    const c = createClient({ RESP: resp, socket: { host: '127.0.0.1', port, reconnectStrategy: false, connectTimeout: 5000 } });
    c.on('error', () => {
      // surfaced through the rejected commands
    });
    await c.connect();
    t.teardown(() => c.close());
    return c;
  };
  for (const resp of [2, 3] as const) {
    const c = await make(resp);
    const other = await make(2);
    t.same(await c.multi().set('{n}a', '1').get('{n}a').incr('{n}n').exec(), ['OK', '1', 1], `RESP${resp}`);
    await c.watch('{n}a');
    await other.set('{n}a', 'other');
    const aborted: unknown = await c.multi().set('{n}a', 'mine').exec().catch((e: unknown) => e);
    t.ok(aborted instanceof WatchError, `RESP${resp}: WatchError`);
    t.equal(await c.get('{n}a'), 'other');
    await c.watch('{n}a');
    t.same(await c.multi().set('{n}a', 'mine').exec(), ['OK']);
    await run(['FLUSHALL']);
  }
});

// --- Shoal only ------------------------------------------------------------------------

/** A key with `prefix` whose slot is (or is not) in worker 0's range (slots 0-8191 with 2 workers). */
function keyOn(worker: 0 | 1, prefix: string): string {
  for (let i = 0; ; i++) {
    const k = `${prefix}${i}`;
    if ((keySlot(k) < 8192) === (worker === 0)) return k;
  }
}

t.test('through the proxy: a transaction must stay on one worker', { skip: !isShoal && 'Shoal proxy only' }, async (t) => {
  const { raw } = await conn(t);
  const a0 = keyOn(0, 'a');
  const b1 = keyOn(1, 'b');
  t.equal(await raw('MULTI'), '+OK\r\n');
  t.equal(await raw('SET', a0, '1'), '+QUEUED\r\n');
  t.equal(await raw('SET', b1, '1'), CROSSSLOT, 'a key on another worker');
  t.equal(await raw('EXEC'), EXECABORT);
  t.equal(await raw('MULTI'), '+OK\r\n');
  t.equal(await raw('MSET', a0, '1', b1, '2'), CROSSSLOT, 'one command spanning workers');
  t.equal(await raw('EXEC'), EXECABORT);
  t.equal(await raw('MULTI'), '+OK\r\n');
  t.equal(await raw('KEYS', '*'), '-ERR KEYS is not allowed inside MULTI on the Shoal proxy: it spans every worker\r\n');
  t.equal(await raw('EXEC'), EXECABORT);
  t.equal(await raw('EXISTS', a0, b1), ':0\r\n', 'nothing ran');
  // Keys of different slots on one worker are fine, multi-key commands included.
  const a0b = keyOn(0, 'c');
  t.equal(await raw('MULTI'), '+OK\r\n');
  t.equal(await raw('MSET', a0, 'x', a0b, 'y'), '+QUEUED\r\n');
  t.equal(await raw('EXISTS', a0, a0b, b1), CROSSSLOT);
  t.equal(await raw('DISCARD'), '+OK\r\n');
  t.equal(await raw('MULTI'), '+OK\r\n');
  t.equal(await raw('MSET', a0, 'x', a0b, 'y'), '+QUEUED\r\n');
  t.equal(await raw('EXISTS', a0, a0b), '+QUEUED\r\n');
  t.equal(await raw('MGET', a0, a0b), '+QUEUED\r\n');
  t.equal(await raw('EXEC'), '*3\r\n+OK\r\n:2\r\n*2\r\n$1\r\nx\r\n$1\r\ny\r\n');
  // Watched keys must be on the transaction's worker.
  t.equal(await raw('WATCH', b1), '+OK\r\n');
  t.equal(await raw('MULTI'), '+OK\r\n');
  t.equal(await raw('SET', a0, 'z'), '+QUEUED\r\n');
  t.equal(await raw('EXEC'), CROSSSLOT);
  t.equal(await raw('GET', a0), '$1\r\nx\r\n');
  // ... and that EXEC forgot them: a write to b1 aborts nothing now.
  await run(['SET', b1, 'changed']);
  t.equal(await raw('MULTI'), '+OK\r\n');
  t.equal(await raw('SET', b1, 'z'), '+QUEUED\r\n');
  t.equal(await raw('EXEC'), '*1\r\n+OK\r\n');
  // Watching keys on both workers, a keyless transaction can not pick one.
  t.equal(await raw('WATCH', a0, b1), '+OK\r\n');
  t.equal(await raw('MULTI'), '+OK\r\n');
  t.equal(await raw('PING'), '+QUEUED\r\n');
  t.equal(await raw('EXEC'), CROSSSLOT);
  // A keyless transaction with watches on one worker runs there.
  t.equal(await raw('WATCH', b1), '+OK\r\n');
  t.equal(await raw('MULTI'), '+OK\r\n');
  t.equal(await raw('PING'), '+QUEUED\r\n');
  t.equal(await raw('EXEC'), '*1\r\n+PONG\r\n');
  t.equal(await raw('WATCH', b1), '+OK\r\n');
  await run(['DEL', b1]);
  t.equal(await raw('MULTI'), '+OK\r\n');
  t.equal(await raw('PING'), '+QUEUED\r\n');
  t.equal(await raw('EXEC'), '*-1\r\n');
});

t.test('directly on a worker (Redis Cluster node semantics)', { skip: !isShoal && 'Shoal workers only' }, async (t) => {
  const w0 = target.workerPorts[0]!;
  const { raw } = await conn(t, w0);
  const other = await conn(t, w0);
  const k = keyOn(0, 'wk');
  const kk = `{${k}}2`;
  let elsewhere = keyOn(0, 'wz');
  for (let i = 0; keySlot(elsewhere) === keySlot(k); i++) elsewhere = keyOn(0, `wz${i}-`);
  const foreign = keyOn(1, 'wf');
  t.equal(await raw('MULTI'), '+OK\r\n');
  t.equal(await raw('SET', k, '1'), '+QUEUED\r\n');
  t.equal(await raw('INCR', k), '+QUEUED\r\n');
  t.equal(await raw('SET', kk, 'x'), '+QUEUED\r\n');
  t.equal(await raw('BLPOP', `{${k}}l`, '0'), '+QUEUED\r\n');
  t.equal(await raw('EXEC'), '*4\r\n+OK\r\n:2\r\n+OK\r\n*-1\r\n');
  // A key of another worker: MOVED while queuing, then EXECABORT.
  t.equal(await raw('MULTI'), '+OK\r\n');
  t.equal(await raw('SET', k, '3'), '+QUEUED\r\n');
  t.match(await raw('SET', foreign, '1'), new RegExp(`^-MOVED ${keySlot(foreign)} 127\\.0\\.0\\.1:${target.workerPorts[1]}\\r\\n$`));
  t.equal(await raw('EXEC'), EXECABORT);
  // Keys of two slots of this worker: CROSSSLOT at EXEC, as a Redis Cluster node.
  t.equal(await raw('MULTI'), '+OK\r\n');
  t.equal(await raw('SET', k, '4'), '+QUEUED\r\n');
  t.equal(await raw('SET', elsewhere, '4'), '+QUEUED\r\n');
  t.equal(await raw('EXEC'), CROSSSLOT);
  t.equal(await raw('EXEC'), '-ERR EXEC without MULTI\r\n');
  t.equal(await raw('GET', k), '$1\r\n2\r\n');
  // WATCH: another direct client, then a client of the proxy.
  t.equal(await raw('WATCH', k), '+OK\r\n');
  t.equal(await other.raw('INCR', k), ':3\r\n');
  t.equal(await raw('MULTI'), '+OK\r\n');
  t.equal(await raw('SET', k, 'mine'), '+QUEUED\r\n');
  t.equal(await raw('EXEC'), '*-1\r\n');
  t.equal(await raw('WATCH', k), '+OK\r\n');
  t.equal(await run(['INCR', k]), 4);
  t.equal(await raw('MULTI'), '+OK\r\n');
  t.equal(await raw('SET', k, 'mine'), '+QUEUED\r\n');
  t.equal(await raw('EXEC'), '*-1\r\n');
  t.equal(await raw('WATCH', k), '+OK\r\n');
  t.equal(await other.raw('SET', elsewhere, 'x'), '+OK\r\n');
  t.equal(await raw('MULTI'), '+OK\r\n');
  t.equal(await raw('SET', k, 'mine'), '+QUEUED\r\n');
  t.equal(await raw('EXEC'), '*1\r\n+OK\r\n');
  // A proxy client's WATCH sees a direct client's write.
  const p = await conn(t);
  t.equal(await p.raw('WATCH', k), '+OK\r\n');
  t.equal(await other.raw('APPEND', k, '!'), ':5\r\n');
  t.equal(await p.raw('MULTI'), '+OK\r\n');
  t.equal(await p.raw('GET', k), '+QUEUED\r\n');
  t.equal(await p.raw('EXEC'), '*-1\r\n');
  // Racing increments: one client on the worker, one through the proxy.
  const rk = `{${k}}race`;
  t.equal(await raw('SET', rk, '0'), '+OK\r\n');
  const { ok, aborted } = await race(rk, [w0, port]);
  t.equal(ok + aborted, 400);
  t.equal(await raw('GET', rk), `$${String(ok).length}\r\n${ok}\r\n`, `final value = successful EXECs (${ok} ok, ${aborted} aborted)`);
  // Internal commands stay internal.
  t.equal(await raw('SHOAL.WATCH', k), "-ERR unknown command 'SHOAL.WATCH', with args beginning with: '" + k + "' \r\n");
});

t.test('COMMAND INFO rows', async (t) => {
  const info = (await run(['COMMAND', 'INFO', 'multi', 'exec', 'discard', 'watch', 'unwatch'])) as unknown[][];
  t.same(info.map((r) => r.slice(0, 6)), [
    ['multi', 1, ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], 0, 0, 0],
    ['exec', 1, ['noscript', 'loading', 'stale', 'skip_slowlog'], 0, 0, 0],
    ['discard', 1, ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], 0, 0, 0],
    ['watch', -2, ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], 1, -1, 1],
    ['unwatch', 1, ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], 0, 0, 0],
  ]);
  t.same(info.map((r) => r[6]), [['@fast', '@transaction'], ['@slow', '@transaction'], ['@fast', '@transaction'], ['@fast', '@transaction'], ['@fast', '@transaction']]);
});
