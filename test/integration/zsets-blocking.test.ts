// Blocking sorted-set pops (BZPOPMIN, BZPOPMAX, BZMPOP) waiting for real: straight
// against the shard worker that owns the keys (all keys share the {bz} hash tag), or
// against redis-server with SHOAL_TEST_TARGET=redis. Covers immediate pops, FIFO
// service of many waiters, several keys, timeouts (fractional and 0), disconnected
// waiters, commands pipelined behind a blocked one, wrong types, every reply shape
// (RESP2 and RESP3) and the keys that wake waiters (ZADD, ZINCRBY, *STORE).

import t from 'tap';
import { useTarget } from '../helpers/cluster.js';
import { RespClient, err, sleep, type RespValue } from '../helpers/run.js';
import { blockedClients, ownerPort, track } from '../helpers/blocking.js';

const { target, run: proxyRun } = await useTarget(t);

const port = await ownerPort(target, '{bz}');
const admin = await RespClient.connect(port);
t.teardown(() => admin.close());
const run = admin.run.bind(admin);

const WRONGTYPE = err('WRONGTYPE Operation against a key holding the wrong kind of value');
const SYNTAX = err('ERR syntax error');

/** Opens a client to the owning port, closed at teardown. */
async function client(tt: { teardown(fn: () => unknown): void }, resp3 = false): Promise<RespClient> {
  const c = await RespClient.connect(port);
  tt.teardown(() => c.close());
  if (resp3) await c.run(['HELLO', '3']);
  return c;
}

t.beforeEach(async () => {
  await proxyRun(['FLUSHALL']);
  await run(['FLUSHALL']);
  await blockedClients(run, 0);
});

t.test('a non-empty key pops at once, in every shape', async (t) => {
  await run(['ZADD', '{bz}a', '1', 'a', '2', 'b', '3', 'c', '4', 'd']);
  t.same(await run(['BZPOPMIN', '{bz}none', '{bz}a', '0']), ['{bz}a', 'a', '1']);
  t.same(await run(['BZPOPMAX', '{bz}a', '0']), ['{bz}a', 'd', '4']);
  t.same(await run(['BZMPOP', '0', '2', '{bz}none', '{bz}a', 'MIN', 'COUNT', '5']), ['{bz}a', [['b', '2'], ['c', '3']]]);
  t.same(await run(['EXISTS', '{bz}a']), 0, 'the emptied key is gone');
  await run(['ZADD', '{bz}a', '1.5', 'x', 'inf', 'y']);
  const c3 = await client(t, true);
  t.equal((await c3.runRaw(['BZPOPMIN', '{bz}a', '0'])).toString(), '*3\r\n$5\r\n{bz}a\r\n$1\r\nx\r\n,1.5\r\n');
  t.equal((await c3.runRaw(['BZMPOP', '0', '1', '{bz}a', 'MAX'])).toString(), '*2\r\n$5\r\n{bz}a\r\n*1\r\n*2\r\n$1\r\ny\r\n,inf\r\n');
});

t.test('argument errors', async (t) => {
  await run(['SET', '{bz}str', 'x']);
  const rows: [string[], RespValue][] = [
    [['BZPOPMIN', '{bz}a', '-1'], err('ERR timeout is negative')],
    [['BZPOPMIN', '{bz}a', 'abc'], err('ERR timeout is not a float or out of range')],
    [['BZPOPMIN', '{bz}a'], err("ERR wrong number of arguments for 'bzpopmin' command")],
    [['BZPOPMIN', '{bz}str', '0'], WRONGTYPE],
    [['BZPOPMAX', '{bz}none', '{bz}str', '0'], WRONGTYPE],
    [['BZMPOP', '0', '0', '{bz}a', 'MIN'], err('ERR numkeys should be greater than 0')],
    [['BZMPOP', '0', 'x', '{bz}a', 'MIN'], err('ERR numkeys should be greater than 0')],
    [['BZMPOP', '0', '1', '{bz}a', 'LEFT'], SYNTAX],
    [['BZMPOP', '0', '2', '{bz}a', '{bz}MIN'], SYNTAX],
    [['BZMPOP', '0', '1', '{bz}a', 'MIN', 'COUNT', '0'], err('ERR count should be greater than 0')],
    [['BZMPOP', '0', '1', '{bz}a', 'MIN', 'COUNT', '1', 'COUNT', '1'], SYNTAX],
    [['BZMPOP', '-1', '1', '{bz}a', 'MIN'], err('ERR timeout is negative')],
    [['BZMPOP', 'x', '1', '{bz}a', 'MIN'], err('ERR timeout is not a float or out of range')],
    // numkeys and options are checked before the timeout
    [['BZMPOP', 'x', '1', '{bz}a', 'LEFT'], SYNTAX],
    [['BZMPOP', '0', '1', '{bz}str', 'MIN'], WRONGTYPE],
    [['BZMPOP', '0', '1', '{bz}a'], err("ERR wrong number of arguments for 'bzmpop' command")],
  ];
  for (const [argv, want] of rows) t.same(await run(argv), want, argv.join(' '));
});

t.test('many waiters on one key are served first come, first served', async (t) => {
  const n = 6;
  const waiters: Promise<RespValue>[] = [];
  for (let i = 0; i < n; i++) {
    const c = await client(t);
    waiters.push(c.run(['BZPOPMIN', '{bz}q', '0']));
    await blockedClients(run, i + 1);
  }
  const writer = await client(t);
  t.same(await writer.run(['ZADD', '{bz}q', '3', 'c', '1', 'a', '2', 'b']), 3, 'ZADD replies before waiters are served');
  for (let i = 0; i < 3; i++) t.same(await waiters[i], ['{bz}q', ['a', 'b', 'c'][i], String(i + 1)], `waiter ${i}`);
  await blockedClients(run, n - 3);
  t.same(await run(['EXISTS', '{bz}q']), 0, 'the waiters emptied the key');
  // one more member: the next waiter in line takes it
  await writer.run(['ZINCRBY', '{bz}q', '7', 'z']);
  t.same(await waiters[3], ['{bz}q', 'z', '7']);
  await writer.run(['ZADD', '{bz}q', '1', 'x', '2', 'y']);
  t.same(await waiters[4], ['{bz}q', 'x', '1']);
  t.same(await waiters[5], ['{bz}q', 'y', '2']);
  await blockedClients(run, 0);
});

t.test('several keys: the first key created wakes the waiter; BZPOPMAX takes the highest', async (t) => {
  const c = await client(t);
  const w = c.run(['BZPOPMAX', '{bz}k1', '{bz}k2', '{bz}k3', '0']);
  await blockedClients(run, 1);
  await run(['ZADD', '{bz}k3', '1', 'low', '9', 'high']);
  t.same(await w, ['{bz}k3', 'high', '9']);
  t.same(await run(['ZRANGE', '{bz}k3', '0', '-1']), ['low']);
  // BZMPOP with COUNT takes several at once from the key that appears
  const m = c.run(['BZMPOP', '0', '2', '{bz}m1', '{bz}m2', 'MAX', 'COUNT', '2']);
  await blockedClients(run, 1);
  await run(['ZADD', '{bz}m2', '1', 'a', '2', 'b', '3', 'c']);
  t.same(await m, ['{bz}m2', [['c', '3'], ['b', '2']]]);
  t.same(await run(['ZCARD', '{bz}m2']), 1);
});

t.test('store commands and ZINCRBY wake waiters too', async (t) => {
  await run(['ZADD', '{bz}src', '5', 'five', '6', 'six']);
  const c1 = await client(t);
  const c2 = await client(t);
  const w1 = c1.run(['BZPOPMIN', '{bz}u', '0']);
  const w2 = c2.run(['BZMPOP', '0', '1', '{bz}r', 'MIN']);
  await blockedClients(run, 2);
  t.same(await run(['ZUNIONSTORE', '{bz}u', '1', '{bz}src']), 2);
  t.same(await w1, ['{bz}u', 'five', '5']);
  t.same(await run(['ZRANGESTORE', '{bz}r', '{bz}src', '1', '1']), 1);
  t.same(await w2, ['{bz}r', [['six', '6']]]);
  await blockedClients(run, 0);
});

t.test('timeouts: fractional seconds reply null; 0 waits for ever', async (t) => {
  const c = await client(t);
  const started = Date.now();
  t.same(await c.run(['BZPOPMIN', '{bz}t', '0.2']), null);
  const took = Date.now() - started;
  t.ok(took >= 150 && took < 3000, `timed out after ${took} ms`);
  t.equal((await c.runRaw(['BZMPOP', '0.05', '1', '{bz}t', 'MIN'])).toString(), '*-1\r\n');
  const c3 = await client(t, true);
  t.equal((await c3.runRaw(['BZPOPMAX', '{bz}t', '0.05'])).toString(), '_\r\n');
  t.equal((await c3.runRaw(['BZMPOP', '0.05', '1', '{bz}t', 'MIN'])).toString(), '_\r\n');
  const forever = track(c.run(['BZPOPMIN', '{bz}t', '0']));
  await sleep(300);
  t.notOk(forever.done(), 'timeout 0 still waiting');
  await run(['ZADD', '{bz}t', '1', 'm']);
  t.same(await forever.p, ['{bz}t', 'm', '1']);
});

t.test('a disconnected waiter is forgotten; the member stays for the next one', async (t) => {
  const gone = await RespClient.connect(port);
  gone.run(['BZPOPMIN', '{bz}d', '0']).catch(() => undefined);
  await blockedClients(run, 1);
  await gone.close();
  await blockedClients(run, 0);
  t.same(await run(['ZADD', '{bz}d', '1', 'm']), 1);
  t.same(await run(['ZCARD', '{bz}d']), 1, 'nobody popped it');
  const c = await client(t);
  t.same(await c.run(['BZPOPMIN', '{bz}d', '0']), ['{bz}d', 'm', '1']);
});

t.test('commands pipelined behind a blocked pop wait for it', async (t) => {
  const c = await client(t);
  const pop = track(c.run(['BZPOPMIN', '{bz}p', '0']));
  const ping = track(c.run(['PING']));
  const card = track(c.run(['ZCARD', '{bz}p']));
  await blockedClients(run, 1);
  await sleep(100);
  t.notOk(ping.done() || card.done(), 'later commands wait');
  await run(['ZADD', '{bz}p', '1', 'a', '2', 'b']);
  t.same(await pop.p, ['{bz}p', 'a', '1']);
  t.same(await ping.p, 'PONG');
  t.same(await card.p, 1, 'runs after the pop');
});

t.test('a key of another type does not serve a waiter; a sorted set made later does', async (t) => {
  const c = await client(t);
  const w = track(c.run(['BZPOPMIN', '{bz}w', '0']));
  await blockedClients(run, 1);
  await run(['RPUSH', '{bz}w', 'x']);
  await run(['SET', '{bz}w', 'x']);
  await sleep(100);
  t.notOk(w.done(), 'still blocked');
  await run(['DEL', '{bz}w']);
  await run(['ZADD', '{bz}w', '3', 'm']);
  t.same(await w.p, ['{bz}w', 'm', '3']);
});

t.test('through the proxy, a member already there pops at once', async (t) => {
  await proxyRun(['ZADD', '{bz}x', '1', 'a', '2', 'b']);
  t.same(await proxyRun(['BZPOPMAX', '{bz}x', '0']), ['{bz}x', 'b', '2']);
  t.same(await proxyRun(['BZMPOP', '1', '1', '{bz}x', 'MIN']), ['{bz}x', [['a', '1']]]);
});
