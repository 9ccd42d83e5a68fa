// Collections through the proxy where its routing matters: multi-key commands whose
// keys live on different workers ("gather": SINTER, SUNIONSTORE, ZUNIONSTORE, BITOP,
// PFCOUNT ... run on the first key's worker with temporary copies), and blocking
// commands (BLPOP, BZPOPMIN ...) on connections of their own, so a waiting client
// never holds anyone else's replies. Replies are Redis's: the same file passes
// against a single redis-server (SHOAL_TEST_TARGET=redis), where every key is local.

import t from 'tap';
import { isShoal, keySlot, useTarget } from '../helpers/cluster.js';
import { RespClient, err, sleep } from '../helpers/run.js';

const { run, target } = await useTarget(t, { workers: 2 });

/** Two key names owned by different workers (any two keys on a single redis). */
function keysOnTwoWorkers(prefix: string): [string, string] {
  const a = `${prefix}:a`;
  for (let i = 0; i < 10_000; i++) {
    const b = `${prefix}:b${i}`;
    // Slots 0..8191 are worker 0's and 8192..16383 worker 1's in the 2-worker embedded cluster.
    if (keySlot(a) < 8192 !== keySlot(b) < 8192) return [a, b];
  }
  throw new Error('no key pair found');
}

async function client(): Promise<RespClient> {
  const c = await RespClient.connect(target.port);
  t.teardown(() => c.close());
  return c;
}

t.beforeEach(async () => {
  await run(['FLUSHALL']);
});

t.test('set algebra across workers, and no temporary key left behind', async (t) => {
  const [a, b] = keysOnTwoWorkers('s');
  const [dst] = keysOnTwoWorkers('dst');
  t.equal(await run(['SADD', a, '1', '2', '3', 'x']), 4);
  t.equal(await run(['SADD', b, '2', '3', '4', 'y']), 4);
  t.same((await run(['SINTER', a, b]) as string[]).sort(), ['2', '3']);
  t.same((await run(['SUNION', a, b]) as string[]).sort(), ['1', '2', '3', '4', 'x', 'y']);
  t.same((await run(['SDIFF', a, b]) as string[]).sort(), ['1', 'x']);
  t.same((await run(['SDIFF', b, a]) as string[]).sort(), ['4', 'y']);
  t.equal(await run(['SINTERCARD', '2', a, b]), 2);
  t.equal(await run(['SUNIONSTORE', dst, a, b]), 6);
  t.same((await run(['SMEMBERS', dst]) as string[]).sort(), ['1', '2', '3', '4', 'x', 'y']);
  t.equal(await run(['SINTERSTORE', dst, a, b, 'missing:key']), 0);
  t.equal(await run(['EXISTS', dst]), 0, 'an empty result deletes the destination');
  t.equal(await run(['SDIFFSTORE', b, b, a]), 2, 'destination also a source');
  t.same((await run(['SMEMBERS', b]) as string[]).sort(), ['4', 'y']);
  t.equal(await run(['DBSIZE']), 2, 'only the real keys remain');
  for (const k of (await run(['KEYS', '*'])) as string[]) t.notMatch(k, /__shoal_gather/, 'no temporary key visible');
});

t.test('gathered commands keep Redis errors', async (t) => {
  const [a, b] = keysOnTwoWorkers('e');
  await run(['SADD', a, 'm']);
  await run(['SET', b, 'string']);
  t.same(await run(['SINTER', a, b]), err('WRONGTYPE Operation against a key holding the wrong kind of value'));
  t.same(await run(['SINTERCARD', '0', a]), err('ERR numkeys should be greater than 0'));
  t.equal(await run(['DBSIZE']), 2);
});

t.test('sorted set algebra across workers', async (t) => {
  const [a, b] = keysOnTwoWorkers('z');
  const [dst] = keysOnTwoWorkers('zdst');
  await run(['ZADD', a, '1', 'one', '2', 'two']);
  await run(['ZADD', b, '10', 'two', '30', 'three']);
  t.same(await run(['ZUNION', '2', a, b, 'WITHSCORES']), ['one', '1', 'two', '12', 'three', '30']);
  t.same(await run(['ZINTER', '2', a, b, 'WEIGHTS', '2', '1', 'WITHSCORES']), ['two', '14']);
  t.equal(await run(['ZUNIONSTORE', dst, '2', a, b, 'AGGREGATE', 'MAX']), 3);
  t.same(await run(['ZRANGE', dst, '0', '-1', 'WITHSCORES']), ['one', '1', 'two', '10', 'three', '30']);
  t.equal(await run(['ZRANGESTORE', dst, b, '0', '0']), 1);
  t.same(await run(['ZRANGE', dst, '0', '-1']), ['two']);
  t.equal(await run(['DBSIZE']), 3);
});

t.test('BITOP and PFCOUNT/PFMERGE across workers', async (t) => {
  const [a, b] = keysOnTwoWorkers('bit');
  const [dst] = keysOnTwoWorkers('bdst');
  await run(['SET', a, 'foobar']);
  await run(['SET', b, 'abcdef']);
  t.equal(await run(['BITOP', 'AND', dst, a, b]), 6);
  t.equal(await run(['GET', dst]), '`bc`ab');
  const [h1, h2] = keysOnTwoWorkers('hll');
  await run(['PFADD', h1, 'a', 'b', 'c']);
  await run(['PFADD', h2, 'c', 'd']);
  t.equal(await run(['PFCOUNT', h1, h2]), 4);
  const [hdst] = keysOnTwoWorkers('hdst');
  t.equal(await run(['PFMERGE', hdst, h1, h2]), 'OK');
  t.equal(await run(['PFCOUNT', hdst]), 4);
  t.same(await run(['PFMERGE', dst, h1]), err('WRONGTYPE Key is not a valid HyperLogLog string value.'));
  t.equal(await run(['DBSIZE']), 6);
});

t.test('a blocked client does not hold other clients', async (t) => {
  const waiter = await client();
  const other = await client();
  const started = Date.now();
  const pending = waiter.run(['BLPOP', 'bq', '0'], { timeoutMs: 10_000 });
  await sleep(100);
  for (let i = 0; i < 20; i++) t.equal(await other.run(['SET', `k${i}`, 'v']), 'OK');
  t.ok(Date.now() - started < 3000, 'other clients answered while one is blocked');
  t.equal(await other.run(['RPUSH', 'bq', 'x']), 1);
  t.same(await pending, ['bq', 'x']);
  t.equal(await run(['EXISTS', 'bq']), 0, 'the pushed element went to the waiter');
});

t.test('waiters are served in the order they blocked', async (t) => {
  const waiters = await Promise.all([1, 2, 3, 4, 5].map(() => client()));
  const replies: Promise<unknown>[] = [];
  for (const w of waiters) {
    replies.push(w.run(['BRPOP', 'fifo', '5'], { timeoutMs: 10_000 }));
    await sleep(50);
  }
  t.equal(await run(['LPUSH', 'fifo', 'a', 'b', 'c', 'd', 'e']), 5);
  t.same(await Promise.all(replies), [['fifo', 'a'], ['fifo', 'b'], ['fifo', 'c'], ['fifo', 'd'], ['fifo', 'e']]);
});

t.test('timeouts, and later commands on the same connection wait for the blocked one', async (t) => {
  const c = await client();
  const t0 = Date.now();
  const first = c.run(['BLPOP', 'nothing', '0.3'], { timeoutMs: 5000 });
  const second = c.run(['PING'], { timeoutMs: 5000 });
  t.same(await first, null);
  const waited = Date.now() - t0;
  t.ok(waited >= 250 && waited < 2000, `timed out after ${waited} ms`);
  t.equal(await second, 'PONG');
  t.same(await c.run(['BZPOPMIN', 'nothing', '0.1']), null);
  t.same(await c.run(['BLPOP', 'nothing', '-1']), err('ERR timeout is negative'));
});

t.test('a waiter that disconnects is forgotten; the next one gets the element', async (t) => {
  const gone = await client();
  const stays = await client();
  void gone.run(['BLPOP', 'dq', '0'], { timeoutMs: 10_000 }).catch(() => {});
  await sleep(100);
  const kept = stays.run(['BLPOP', 'dq', '0'], { timeoutMs: 10_000 });
  await sleep(100);
  await gone.close();
  await sleep(200);
  t.equal(await run(['RPUSH', 'dq', 'only']), 1);
  t.same(await kept, ['dq', 'only']);
  t.equal(await run(['LLEN', 'dq']), 0, 'nothing lost, nothing left');
});

t.test('BLMOVE wakes a client blocked on its destination; BZPOPMAX is served by ZADD', async (t) => {
  const a = await client();
  const b = await client();
  const z = await client();
  const onDst = b.run(['BLPOP', '{m}dst', '5'], { timeoutMs: 10_000 });
  await sleep(50);
  const mover = a.run(['BLMOVE', '{m}src', '{m}dst', 'LEFT', 'RIGHT', '5'], { timeoutMs: 10_000 });
  await sleep(50);
  await run(['RPUSH', '{m}src', 'v']);
  t.equal(await mover, 'v');
  t.same(await onDst, ['{m}dst', 'v']);
  const zp = z.run(['BZPOPMAX', 'zq', '5'], { timeoutMs: 10_000 });
  await sleep(50);
  await run(['ZADD', 'zq', '1', 'low', '9', 'high']);
  t.same(await zp, ['zq', 'high', '9']);
});

if (isShoal) {
  t.test('keys of a blocking command on two workers: CROSSSLOT', async (t) => {
    const [a, b] = keysOnTwoWorkers('cross');
    t.same(await run(['BLPOP', a, b, '0.1']), err("CROSSSLOT Keys in request don't hash to the same slot"));
    t.same(await run(['SMOVE', a, b, 'x']), err("CROSSSLOT Keys in request don't hash to the same slot"));
  });

  t.test('INFO counts blocked clients on the proxy', async (t) => {
    const c = await client();
    const p = c.run(['BLPOP', 'infoq', '2'], { timeoutMs: 5000 });
    await sleep(100);
    t.match(await run(['INFO', 'clients']), /blocked_clients:1/);
    await run(['RPUSH', 'infoq', 'x']);
    await p;
  });
}

t.test('pipelined commands after a gathered or cross-worker command run after it', async (t) => {
  const [a, b] = keysOnTwoWorkers('order');
  const [dst] = keysOnTwoWorkers('odst');
  const c = await client();
  for (let round = 0; round < 20; round++) {
    const replies = await Promise.all([
      c.run(['SADD', a, 'x', String(round)]),
      c.run(['SADD', b, 'y']),
      c.run(['SUNIONSTORE', dst, a, b]),
      c.run(['DEL', dst]),
      c.run(['EXISTS', dst]),
      c.run(['SET', a + ':s', 'v']),
      c.run(['RENAME', a + ':s', b + ':s']),
      c.run(['GET', b + ':s']),
      c.run(['DEL', a, b, b + ':s']),
    ]);
    t.same(replies.slice(2), [3, 1, 0, 'OK', 'OK', 'v', 3], `round ${round}: in pipeline order`);
  }
});
