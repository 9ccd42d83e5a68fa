// Blocking list commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) waiting for real:
// straight against the shard worker that owns the keys (all keys share the {bq} hash
// tag), or against redis-server with SHOAL_TEST_TARGET=redis. Covers FIFO service of
// many waiters, fractional timeouts, timeout 0, disconnected waiters, commands
// pipelined behind a blocked one, BLMOVE chains and wrong types.

import t from 'tap';
import { useTarget } from '../helpers/cluster.js';
import { RespClient, err, infoNum, sleep, type RespValue } from '../helpers/run.js';
import { blockedClients, ownerPort, track } from '../helpers/blocking.js';

const { target, run: proxyRun } = await useTarget(t);

const port = await ownerPort(target, '{bq}');
const admin = await RespClient.connect(port);
t.teardown(() => admin.close());
const run = admin.run.bind(admin);

const WRONGTYPE = err('WRONGTYPE Operation against a key holding the wrong kind of value');

/** Opens a client to the owning port, closed at teardown. */
async function client(tt: { teardown(fn: () => unknown): void }): Promise<RespClient> {
  const c = await RespClient.connect(port);
  tt.teardown(() => c.close());
  return c;
}

t.beforeEach(async () => {
  await proxyRun(['FLUSHALL']);
  await run(['FLUSHALL']);
  await blockedClients(run, 0);
});

t.test('many waiters on one key are served first come, first served', async (t) => {
  const n = 8;
  const waiters: Promise<RespValue>[] = [];
  for (let i = 0; i < n; i++) {
    const c = await client(t);
    waiters.push(c.run(['BLPOP', '{bq}q', '0']));
    await blockedClients(run, i + 1);
  }
  const pusher = await client(t);
  // three elements: the three oldest waiters get them, in order
  t.same(await pusher.run(['RPUSH', '{bq}q', 'e0', 'e1', 'e2']), 3, 'the push replies the length before serving');
  for (let i = 0; i < 3; i++) t.same(await waiters[i], ['{bq}q', `e${i}`], `waiter ${i}`);
  await blockedClients(run, n - 3);
  t.same(await run(['EXISTS', '{bq}q']), 0, 'served elements are gone');
  // the rest one at a time, in the order they blocked
  for (let i = 3; i < n - 1; i++) {
    t.same(await pusher.run(['RPUSH', '{bq}q', `e${i}`]), 1);
    t.same(await waiters[i], ['{bq}q', `e${i}`], `waiter ${i}`);
  }
  // the last waiter, two elements: BLPOP takes the head LPUSH made, the other stays
  t.same(await pusher.run(['LPUSH', '{bq}q', 'left', `e${n - 1}`]), 2);
  t.same(await waiters[n - 1], ['{bq}q', `e${n - 1}`], `waiter ${n - 1}`);
  t.same(await run(['LRANGE', '{bq}q', '0', '-1']), ['left'], 'one element left over');
  await blockedClients(run, 0);
});

t.test('BRPOP and BLMPOP are served from the right end, counts honoured', async (t) => {
  const a = await client(t);
  const b = await client(t);
  const c = await client(t);
  const pa = a.run(['BRPOP', '{bq}x', '{bq}r', '0']);
  await blockedClients(run, 1);
  const pb = b.run(['BLMPOP', '0', '2', '{bq}x', '{bq}r', 'RIGHT', 'COUNT', '2']);
  await blockedClients(run, 2);
  const pc = c.run(['BLMPOP', '0', '1', '{bq}r', 'LEFT', 'COUNT', '10']);
  await blockedClients(run, 3);
  t.same(await run(['RPUSH', '{bq}r', '1', '2', '3', '4', '5', '6']), 6);
  t.same(await pa, ['{bq}r', '6']);
  t.same(await pb, ['{bq}r', ['5', '4']]);
  t.same(await pc, ['{bq}r', ['1', '2', '3']]);
  t.same(await run(['EXISTS', '{bq}r']), 0);
});

t.test('a waiter on several keys is served by whichever gets an element', async (t) => {
  const a = await client(t);
  const p = a.run(['BLPOP', '{bq}k1', '{bq}k2', '{bq}k3', '0']);
  await blockedClients(run, 1);
  await run(['RPUSH', '{bq}k3', 'v']);
  t.same(await p, ['{bq}k3', 'v']);
  await blockedClients(run, 0);
  // served once only: a later push to another of its keys stays put
  await run(['RPUSH', '{bq}k1', 'w']);
  t.same(await run(['LLEN', '{bq}k1']), 1);
});

t.test('fractional timeouts', async (t) => {
  const c = await client(t);
  for (const [argv, raw] of [
    [['BLPOP', '{bq}none', '0.1'], '*-1\r\n'],
    [['BRPOP', '{bq}none', '{bq}none2', '0.1'], '*-1\r\n'],
    [['BLMOVE', '{bq}none', '{bq}dst', 'LEFT', 'RIGHT', '0.1'], '*-1\r\n'],
    [['BRPOPLPUSH', '{bq}none', '{bq}dst', '0.1'], '*-1\r\n'],
    [['BLMPOP', '0.1', '1', '{bq}none', 'LEFT'], '*-1\r\n'],
  ] as const) {
    const start = Date.now();
    const reply = await c.runRaw([...argv]);
    const ms = Date.now() - start;
    t.equal(reply.toString(), raw, `${argv[0]} times out with a null array`);
    t.ok(ms >= 90 && ms < 1000, `${argv[0]} waited ${ms} ms for a 0.1 s timeout`);
  }
  const start = Date.now();
  t.same(await c.run(['BLPOP', '{bq}none', '0.35']), null);
  const ms = Date.now() - start;
  t.ok(ms >= 340 && ms < 1300, `0.35 s timeout took ${ms} ms`);
  t.same(await run(['EXISTS', '{bq}dst']), 0, 'a timed out BLMOVE creates nothing');
  await blockedClients(run, 0);
  // RESP3: the null is `_`
  const r3 = await client(t);
  await r3.run(['HELLO', '3']);
  t.equal((await r3.runRaw(['BLPOP', '{bq}none', '0.05'])).toString(), '_\r\n');
  t.equal((await r3.runRaw(['BLMOVE', '{bq}none', '{bq}dst', 'LEFT', 'LEFT', '0.05'])).toString(), '_\r\n');
  // a timed-out waiter does not disturb an older one still waiting
  const older = await client(t);
  const po = older.run(['BLPOP', '{bq}t', '0']);
  await blockedClients(run, 1);
  const younger = await client(t);
  t.same(await younger.run(['BLPOP', '{bq}t', '0.05']), null);
  await run(['RPUSH', '{bq}t', 'v']);
  t.same(await po, ['{bq}t', 'v']);
});

t.test('timeout 0 waits until a push', async (t) => {
  const c = await client(t);
  const w = track(c.run(['BLPOP', '{bq}z', '0'], { timeoutMs: 10_000 }));
  await blockedClients(run, 1);
  await sleep(400);
  t.notOk(w.done(), 'still waiting after 400 ms');
  t.same(await run(['RPUSH', '{bq}z', 'late']), 1);
  t.same(await w.p, ['{bq}z', 'late']);
});

t.test('a disconnected waiter is cancelled; the next waiter gets the element', async (t) => {
  const gone = await RespClient.connect(port);
  const pg = gone.run(['BLPOP', '{bq}d', '0']).catch(() => 'closed');
  await blockedClients(run, 1);
  const stays = await client(t);
  const ps = stays.run(['BLPOP', '{bq}d', '0']);
  await blockedClients(run, 2);
  await gone.close();
  t.equal(await pg, 'closed');
  await blockedClients(run, 1);
  t.same(await run(['RPUSH', '{bq}d', 'only', 'second']), 2);
  t.same(await ps, ['{bq}d', 'only']);
  t.same(await run(['LRANGE', '{bq}d', '0', '-1']), ['second'], 'nothing lost');
  await blockedClients(run, 0);
});

t.test('commands pipelined behind a blocked one wait for it', async (t) => {
  const c = await client(t);
  const first = track(c.run(['BLPOP', '{bq}p', '0']));
  const ping = track(c.run(['PING']));
  const llen = track(c.run(['LLEN', '{bq}p']));
  const push = track(c.run(['RPUSH', '{bq}p', 'own']));
  await blockedClients(run, 1);
  await sleep(200);
  t.notOk(first.done() || ping.done() || llen.done() || push.done(), 'nothing replied while blocked');
  t.same(await run(['RPUSH', '{bq}p', 'a', 'b']), 2);
  t.same(await first.p, ['{bq}p', 'a']);
  t.same(await ping.p, 'PONG');
  t.same(await llen.p, 1, 'LLEN ran after the pop');
  t.same(await push.p, 2);
  t.same(await run(['LRANGE', '{bq}p', '0', '-1']), ['b', 'own']);
  // the same after a timeout
  const second = track(c.run(['BLPOP', '{bq}none', '0.1']));
  const after = c.run(['ECHO', 'after']);
  t.same(await second.p, null);
  t.same(await after, 'after');
});

t.test('BLMOVE chains: a served move wakes the destination\'s waiters', async (t) => {
  const end = await client(t);
  const mid = await client(t);
  const first = await client(t);
  const pEnd = end.run(['BLPOP', '{bq}c3', '0']);
  await blockedClients(run, 1);
  const pMid = mid.run(['BRPOPLPUSH', '{bq}c2', '{bq}c3', '0']);
  await blockedClients(run, 2);
  const pFirst = first.run(['BLMOVE', '{bq}c1', '{bq}c2', 'RIGHT', 'LEFT', '0']);
  await blockedClients(run, 3);
  t.same(await run(['RPUSH', '{bq}c1', 'token']), 1);
  t.same(await pFirst, 'token');
  t.same(await pMid, 'token');
  t.same(await pEnd, ['{bq}c3', 'token']);
  t.same(await run(['EXISTS', '{bq}c1', '{bq}c2', '{bq}c3']), 0, 'the token was consumed at the end of the chain');
  await blockedClients(run, 0);
  // a non-blocking LMOVE into a watched key wakes its waiter too
  const w = await client(t);
  const pw = w.run(['BLPOP', '{bq}dest', '0']);
  await blockedClients(run, 1);
  await run(['RPUSH', '{bq}from', 'm']);
  t.same(await run(['LMOVE', '{bq}from', '{bq}dest', 'LEFT', 'LEFT']), 'm');
  t.same(await pw, ['{bq}dest', 'm']);
  // BLMOVE onto its own source rotates once served
  const rot = await client(t);
  const pr = rot.run(['BLMOVE', '{bq}ring', '{bq}ring', 'LEFT', 'RIGHT', '0']);
  await blockedClients(run, 1);
  await run(['RPUSH', '{bq}ring', 'r1']);
  t.same(await pr, 'r1');
  t.same(await run(['LRANGE', '{bq}ring', '0', '-1']), ['r1']);
});

t.test('wrong types', async (t) => {
  await run(['SET', '{bq}s', 'str']);
  t.same(await run(['BLPOP', '{bq}s', '0']), WRONGTYPE);
  t.same(await run(['BLMPOP', '0', '1', '{bq}s', 'LEFT']), WRONGTYPE);
  t.same(await run(['BLMOVE', '{bq}s', '{bq}x', 'LEFT', 'LEFT', '0']), WRONGTYPE);
  t.same(await run(['BRPOPLPUSH', '{bq}s', '{bq}x', '0']), WRONGTYPE);
  t.same(await run(['BLPOP', '{bq}s', '{bq}x', '0.01']), WRONGTYPE, 'the first existing key decides');

  // a waiter whose key becomes another type keeps waiting (Redis 7.0)
  const c = await client(t);
  const w = track(c.run(['BLPOP', '{bq}w', '0']));
  await blockedClients(run, 1);
  await run(['SET', '{bq}w', 'now a string']);
  await sleep(100);
  t.notOk(w.done(), 'still waiting');
  await blockedClients(run, 1);
  await run(['DEL', '{bq}w']);
  await run(['RPUSH', '{bq}w', 'v']);
  t.same(await w.p, ['{bq}w', 'v']);

  // one key of another type, a list on the next: served from the list
  const c2 = await client(t);
  const w2 = c2.run(['BLPOP', '{bq}w1', '{bq}w2', '0']);
  await blockedClients(run, 1);
  await run(['SET', '{bq}w1', 'str']);
  await run(['RPUSH', '{bq}w2', 'v2']);
  t.same(await w2, ['{bq}w2', 'v2']);

  // BLMOVE whose destination became another type: WRONGTYPE when served, the element stays
  const c3 = await client(t);
  const w3 = c3.run(['BLMOVE', '{bq}src', '{bq}dst', 'LEFT', 'LEFT', '0']);
  await blockedClients(run, 1);
  await run(['SET', '{bq}dst', 'str']);
  await run(['RPUSH', '{bq}src', 'kept']);
  t.same(await w3, WRONGTYPE);
  await blockedClients(run, 0);
  t.same(await run(['LRANGE', '{bq}src', '0', '-1']), ['kept']);
});

t.test('timeout argument errors', async (t) => {
  const c = await client(t);
  const neg = err('ERR timeout is negative');
  const nf = err('ERR timeout is not a float or out of range');
  for (const [argv, want] of [
    [['BLPOP', '{bq}a', '-1'], neg],
    [['BLPOP', '{bq}a', '-0.5'], neg],
    [['BRPOP', '{bq}a', 'abc'], nf],
    [['BRPOP', '{bq}a', ''], nf],
    [['BRPOP', '{bq}a', ' 1'], nf],
    [['BLPOP', '{bq}a', 'nan'], nf],
    [['BLPOP', '{bq}a', '-inf'], neg],
    [['BLPOP', '{bq}a', '1e20'], neg],
    [['BLMOVE', '{bq}a', '{bq}b', 'LEFT', 'LEFT', '-2'], neg],
    [['BLMOVE', '{bq}a', '{bq}b', 'LEFT', 'LEFT', '1x'], nf],
    [['BRPOPLPUSH', '{bq}a', '{bq}b', '-5'], neg],
    [['BLMPOP', '-1', '1', '{bq}a', 'LEFT'], neg],
    [['BLMPOP', 'x', '1', '{bq}a', 'LEFT'], nf],
  ] as const) {
    t.same(await c.run([...argv]), want, argv.join(' '));
  }
  t.same(await infoNum(run, 'clients', 'blocked_clients'), 0, 'no error left a client blocked');
  // timeouts round up to whole ms: -0.0001 s is 0, which waits forever, as in Redis
  const w = track(c.run(['BLPOP', '{bq}tiny', '-0.0001']));
  await blockedClients(run, 1);
  await sleep(150);
  t.notOk(w.done(), '-0.0001 s waits forever');
  // and 0.0001 s is 1 ms
  const c2 = await client(t);
  t.same(await c2.run(['BLPOP', '{bq}tiny2', '0.0001']), null, '0.0001 s times out');
  await run(['RPUSH', '{bq}tiny', 'v']);
  t.same(await w.p, ['{bq}tiny', 'v']);
});

t.test('a heap-sized list wakes waiters the same way', async (t) => {
  const c = await client(t);
  const p = c.run(['BLMPOP', '0', '1', '{bq}big', 'LEFT', 'COUNT', '3']);
  await blockedClients(run, 1);
  const items = Array.from({ length: 3000 }, (_, i) => `item-${i}`);
  t.same(await run(['RPUSH', '{bq}big', ...items]), 3000);
  t.same(await p, ['{bq}big', ['item-0', 'item-1', 'item-2']]);
  t.same(await run(['LLEN', '{bq}big']), 2997);
});
