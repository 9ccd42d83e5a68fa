// Bloom filters (BF.RESERVE BF.ADD BF.MADD BF.INSERT BF.EXISTS BF.MEXISTS BF.INFO
// BF.CARD) with RedisBloom's replies and error texts. The expected numbers (sizes,
// layer counts, items counted after hash collisions) are RedisBloom's own test
// expectations, so they also check that the hashing and sizing are RedisBloom's.
// False-positive rates are measured on 100,000 absent items, across scaling layers.
// The reference redis-server has no RedisBloom module: against SHOAL_TEST_TARGET=redis
// this file checks that and skips (it runs in full when the target has a `bf` module).

import t from 'tap';
import { Redis } from 'ioredis';
import { isShoal, keySlot, useTarget } from '../helpers/cluster.js';
import { RespClient, err, expectReplies, type RespValue } from '../helpers/run.js';

const { target, client, run } = await useTarget(t);

const modules = await run(['MODULE', 'LIST']);
const hasBloom = isShoal || (Array.isArray(modules) && JSON.stringify(modules).includes('"bf"'));

const WRONGTYPE = err('WRONGTYPE Operation against a key holding the wrong kind of value');
const NOT_FOUND = err('ERR not found');
const FULL = err('ERR non scaling filter is full');
const arity = (cmd: string) => err(`ERR wrong number of arguments for '${cmd}' command`);

type Info = Record<string, number | null>;

async function info(key: string): Promise<Info> {
  const r = (await run(['BF.INFO', key])) as RespValue[];
  const out: Info = {};
  for (let i = 0; i < r.length; i += 2) out[String(r[i])] = r[i + 1] as number | null;
  return out;
}

async function pipe(cmds: readonly (readonly string[])[]): Promise<RespValue[]> {
  const out: RespValue[] = [];
  for (let i = 0; i < cmds.length; i += 500) out.push(...(await Promise.all(cmds.slice(i, i + 500).map((c) => client.run(c)))));
  return out;
}

if (!hasBloom) {
  t.pass('skipped: the target has no bloom filter module (RedisBloom is not installed with redis-server here)');
} else {
  t.beforeEach(async () => {
    await run(['FLUSHALL']);
  });

  t.test('BF.RESERVE', async (tt) => {
    await expectReplies(tt, run, [
      [['BF.RESERVE'], arity('bf.reserve')],
      [['BF.RESERVE', 'bf', '0.01'], arity('bf.reserve')],
      [['BF.RESERVE', 'bf', '0.01', '100', 'EXPANSION', '2', 'NONSCALING', 'x'], arity('bf.reserve')],
      [['BF.RESERVE', 'bf', 'abc', '100'], err('ERR bad error rate')],
      [['BF.RESERVE', 'bf', '0', '100'], err('ERR (0 < error rate range < 1) ')],
      [['BF.RESERVE', 'bf', '1', '100'], err('ERR (0 < error rate range < 1) ')],
      [['BF.RESERVE', 'bf', '-0.5', '100'], err('ERR (0 < error rate range < 1) ')],
      [['BF.RESERVE', 'bf', '7.7', '1000'], err('ERR (0 < error rate range < 1) ')],
      [['BF.RESERVE', 'bf', '0.01', 'blah'], err('ERR bad capacity')],
      [['BF.RESERVE', 'bf', '0.01', '1.5'], err('ERR bad capacity')],
      [['BF.RESERVE', 'bf', '0.01', '18446744073709551616'], err('ERR bad capacity')],
      [['BF.RESERVE', 'bf', '0.01', '0'], err('ERR (capacity should be larger than 0)')],
      [['BF.RESERVE', 'bf', '0.01', '-5'], err('ERR (capacity should be larger than 0)')],
      [['BF.RESERVE', 'bf', '0.01', '100', 'EXPANSION'], err('ERR no expansion')],
      [['BF.RESERVE', 'bf', '0.01', '100', 'EXPANSION', 'str'], err('ERR bad expansion')],
      [['BF.RESERVE', 'bf', '0.01', '100', 'EXPANSION', '0'], err('ERR expansion should be greater or equal to 1')],
      [['BF.RESERVE', 'bf', '0.01', '100', 'NONSCALING', 'EXPANSION', '2'], err('Nonscaling filters cannot expand')],
      [['BF.RESERVE', 'bf', '0.01', '100', 'EXPANSION', '2', 'NONSCALING'], err('Nonscaling filters cannot expand')],
      [['BF.RESERVE', 'bf', '0.01', '100000000000'], err('ERR Insufficient memory to create filter')],
      [['EXISTS', 'bf'], 0],
      [['BF.RESERVE', 'bf', '0.001', '100'], 'OK'],
      [['BF.RESERVE', 'bf', '0.001', '100'], err('ERR item exists')],
      [['BF.INFO', 'bf'], ['Capacity', 100, 'Size', 296, 'Number of filters', 1, 'Number of items inserted', 0, 'Expansion rate', 2]],
      [['BF.RESERVE', 'ns', '0.01', '3', 'nonscaling'], 'OK'],
      [['BF.INFO', 'ns'], ['Capacity', 3, 'Size', 104, 'Number of filters', 1, 'Number of items inserted', 0, 'Expansion rate', null]],
      [['BF.RESERVE', 'ex', '0.01', '100', 'expansion', '5'], 'OK'],
      [['BF.INFO', 'ex', 'EXPANSION'], [5]],
      // RedisBloom ignores words it does not know.
      [['BF.RESERVE', 'unk', '0.01', '10', 'UNKNOWN', '1'], 'OK'],
      [['BF.RESERVE', 'hi', '0.9999999999999999', '100', 'NONSCALING'], 'OK'],
      [['BF.ADD', 'hi', '1'], 1],
      [['SET', 's', 'v'], 'OK'],
      [['BF.RESERVE', 's', '0.01', '100'], WRONGTYPE],
      [['TYPE', 'bf'], 'MBbloom--'],
      [['OBJECT', 'ENCODING', 'bf'], 'raw'],
    ]);
  });

  t.test('BF.ADD BF.MADD BF.EXISTS BF.MEXISTS BF.CARD', async (tt) => {
    await expectReplies(tt, run, [
      [['BF.ADD', 'bf'], arity('bf.add')],
      [['BF.ADD', 'bf', 'a', 'b'], arity('bf.add')],
      [['BF.MADD', 'bf'], arity('bf.madd')],
      [['BF.EXISTS', 'bf'], arity('bf.exists')],
      [['BF.EXISTS', 'bf', 'a', 'b'], arity('bf.exists')],
      [['BF.MEXISTS', 'bf'], arity('bf.mexists')],
      [['BF.CARD'], arity('bf.card')],
      [['BF.CARD', 'bf'], 0],
      [['BF.EXISTS', 'bf', 'foo'], 0],
      [['BF.MEXISTS', 'bf', 'foo', 'bar', 'baz'], [0, 0, 0]],
      [['BF.ADD', 'bf', 'foo'], 1],
      [['BF.ADD', 'bf', 'foo'], 0],
      [['BF.EXISTS', 'bf', 'foo'], 1],
      [['BF.EXISTS', 'bf', 'bar'], 0],
      [['BF.MADD', 'bf', 'foo', 'bar', 'baz'], [0, 1, 1]],
      [['BF.MEXISTS', 'bf', 'nonexist', 'foo', 'bar'], [0, 1, 1]],
      [['BF.CARD', 'bf'], 3],
      [['BF.INFO', 'bf'], ['Capacity', 100, 'Size', 240, 'Number of filters', 1, 'Number of items inserted', 3, 'Expansion rate', 2]],
      [['BF.ADD', 'bin', Buffer.from([0, 1, 2, 255])], 1],
      [['BF.EXISTS', 'bin', Buffer.from([0, 1, 2, 255])], 1],
      [['BF.EXISTS', 'bin', Buffer.from([0, 1, 2])], 0],
      [['BF.ADD', 'empty', ''], 1],
      [['BF.EXISTS', 'empty', ''], 1],
      [['SET', 's', 'v'], 'OK'],
      [['BF.ADD', 's', 'x'], WRONGTYPE],
      [['BF.MADD', 's', 'x'], WRONGTYPE],
      [['BF.CARD', 's'], WRONGTYPE],
      // Like RedisBloom, membership of a key of another type is simply "no".
      [['BF.EXISTS', 's', 'x'], 0],
      [['BF.MEXISTS', 's', 'x', 'y'], [0, 0]],
      [['GET', 'bf'], WRONGTYPE],
      [['BF.RESERVE', 'full', '0.01', '3', 'NONSCALING'], 'OK'],
      [['BF.MADD', 'full', 'a', 'b', 'c'], [1, 1, 1]],
      [['BF.ADD', 'full', 'd'], FULL],
      [['BF.ADD', 'full', 'a'], 0],
      [['BF.MADD', 'full', 'a', 'x', 'y', 'z'], [0, FULL]],
      [['BF.CARD', 'full'], 3],
    ]);
  });

  t.test('BF.INSERT', async (tt) => {
    await expectReplies(tt, run, [
      [['BF.INSERT', 'f'], arity('bf.insert')],
      [['BF.INSERT', 'f', 'ITEMS'], arity('bf.insert')],
      [['BF.INSERT', 'f', 'NOCREATE', 'ITEMS'], arity('bf.insert')],
      [['BF.INSERT', 'f', 'NOCREATE', 'CAPACITY'], arity('bf.insert')],
      [['BF.INSERT', 'f', 'CAPACITY', '10', 'ERROR'], arity('bf.insert')],
      [['BF.INSERT', 'f', 'DONTEXIST', 'NOCREATE'], err('Unknown argument received')],
      [['BF.INSERT', 'f', 'CAPACITY', '0.3', 'ITEMS', 'a'], err('Bad capacity')],
      [['BF.INSERT', 'f', 'ERROR', 'big', 'ITEMS', 'a'], err('Bad error rate')],
      [['BF.INSERT', 'f', 'EXPANSION', 'big', 'ITEMS', 'a'], err('Bad expansion')],
      [['BF.INSERT', 'f', 'EXPANSION', '0', 'ITEMS', 'a'], err('Bad argument received')],
      [['BF.INSERT', 'f', 'ERROR', '1', 'ITEMS', 'a'], err('Bad argument received')],
      [['BF.INSERT', 'f', 'CAPACITY', '0', 'ITEMS', 'a'], err('Bad argument received')],
      [['BF.INSERT', 'f', 'NOCREATE', 'ITEMS', 'foo', 'bar'], NOT_FOUND],
      [['BF.INSERT', 'f', 'NOCREATE', 'CAPACITY', '10', 'ITEMS', 'a'], NOT_FOUND],
      [['EXISTS', 'f'], 0],
      [['BF.INSERT', 'f', 'ERROR', '0.001', 'CAPACITY', '50000', 'EXPANSION', '2', 'ITEMS', 'foo'], [1]],
      [['BF.INFO', 'f'], ['Capacity', 50000, 'Size', 98976, 'Number of filters', 1, 'Number of items inserted', 1, 'Expansion rate', 2]],
      // Options only shape a new filter.
      [['BF.INSERT', 'f', 'ERROR', '0.1', 'ITEMS', 'foo', 'bar', 'baz'], [0, 1, 1]],
      [['BF.INFO', 'f', 'SIZE'], [98976]],
      [['BF.INSERT', 'f', 'NOCREATE', 'ITEMS', 'qux'], [1]],
      [['BF.INSERT', 'n', 'capacity', '3', 'nonscaling', 'items', 'a', 'b', 'c'], [1, 1, 1]],
      [['BF.INSERT', 'n', 'ITEMS', 'a', 'b', 'c', 'd', 'd'], [0, 0, 0, FULL]],
      [['BF.INFO', 'n'], ['Capacity', 3, 'Size', 104, 'Number of filters', 1, 'Number of items inserted', 3, 'Expansion rate', null]],
      [['BF.INSERT', 'e', 'EXPANSION', '4', 'CAPACITY', '2', 'ITEMS', 'a', 'b', 'c'], [1, 1, 1]],
      [['BF.INFO', 'e', 'FILTERS'], [2]],
      [['BF.INFO', 'e', 'CAPACITY'], [10]],
      [['SET', 's', 'v'], 'OK'],
      [['BF.INSERT', 's', 'ITEMS', 'a'], WRONGTYPE],
    ]);
  });

  t.test('BF.INFO', async (tt) => {
    await run(['BF.RESERVE', 'bf', '0.001', '100']);
    await expectReplies(tt, run, [
      [['BF.INFO'], arity('bf.info')],
      [['BF.INFO', 'bf', 'capacity', 'size'], arity('bf.info')],
      [['BF.INFO', 'missing'], NOT_FOUND],
      [['BF.INFO', 'bf', 'capacity'], [100]],
      [['BF.INFO', 'bf', 'SIZE'], [296]],
      [['BF.INFO', 'bf', 'Filters'], [1]],
      [['BF.INFO', 'bf', 'items'], [0]],
      [['BF.INFO', 'bf', 'expansion'], [2]],
      [['BF.INFO', 'bf', 'wrong_value'], err('Invalid information value')],
      [['SET', 's', 'v'], 'OK'],
      [['BF.INFO', 's'], WRONGTYPE],
    ]);
  });

  t.test('scaling: layer sizes, hashing and items as RedisBloom counts them', async (tt) => {
    // RedisBloom's test_debug: 100 adds into capacity 10 at 1% make 4 layers holding 99 items
    // (one item collides); 4000 adds into capacity 100 at 0.1% make 6 layers holding 3997.
    await run(['BF.RESERVE', 'bf', '0.01', '10']);
    await pipe(Array.from({ length: 100 }, (_, i) => ['BF.ADD', 'bf', String(i)]));
    tt.same(await info('bf'), { Capacity: 150, Size: 32 + 4 * 64 + 16 + 32 + 72 + 160, 'Number of filters': 4, 'Number of items inserted': 99, 'Expansion rate': 2 });
    await run(['BF.RESERVE', 'bf2', '0.001', '100']);
    await pipe(Array.from({ length: 4000 }, (_, i) => ['BF.ADD', 'bf2', String(i)]));
    tt.same(await info('bf2'), {
      Capacity: 6300, Size: 32 + 6 * 64 + 200 + 432 + 936 + 2016 + 4320 + 9216, 'Number of filters': 6, 'Number of items inserted': 3997, 'Expansion rate': 2,
    });
    // RedisBloom's test_expansion.
    for (const [exp, filters] of [[1, 23], [2, 5], [4, 4]] as const) {
      await run(['BF.RESERVE', `exp${exp}`, '0.01', '4', 'expansion', String(exp)]);
      await pipe(Array.from({ length: 100 }, (_, i) => ['BF.ADD', `exp${exp}`, String(i)]));
      tt.equal((await info(`exp${exp}`))['Number of filters'], filters, `expansion ${exp}: ${filters} filters`);
      const found = await pipe(Array.from({ length: 100 }, (_, i) => ['BF.EXISTS', `exp${exp}`, String(i)]));
      tt.ok(found.every((v) => v === 1), 'no false negatives');
    }
    // BF.MADD and BF.INSERT grow the same way.
    await run(['BF.RESERVE', 'm', '0.01', '10']);
    await pipe(Array.from({ length: 10 }, (_, i) => ['BF.MADD', 'm', ...Array.from({ length: 10 }, (_, j) => String(i * 10 + j))]));
    tt.same(await info('m'), await info('bf'), 'MADD in batches ends like ADD one by one');
  });

  /** Measures the false-positive rate on `probes` absent items after adding n items. */
  async function falsePositives(key: string, n: number, probes: number): Promise<{ fp: number; fn: number }> {
    const add: string[][] = [];
    for (let i = 0; i < n; i += 1000) add.push(['BF.MADD', key, ...Array.from({ length: Math.min(1000, n - i) }, (_, j) => `member:${i + j}`)]);
    await pipe(add);
    const check: string[][] = [];
    for (let i = 0; i < n; i += 1000) check.push(['BF.MEXISTS', key, ...Array.from({ length: Math.min(1000, n - i) }, (_, j) => `member:${i + j}`)]);
    let fn = 0;
    for (const r of await pipe(check)) for (const v of r as number[]) if (v !== 1) fn++;
    const probe: string[][] = [];
    for (let i = 0; i < probes; i += 1000) probe.push(['BF.MEXISTS', key, ...Array.from({ length: 1000 }, (_, j) => `absent:${i + j}`)]);
    let fp = 0;
    for (const r of await pipe(probe)) for (const v of r as number[]) if (v === 1) fp++;
    return { fp: fp / probes, fn };
  }

  t.test('false-positive rate within the configured bound, across scaling layers, no false negatives', async (tt) => {
    const cases: [string, number, number, number, string[]][] = [
      ['one layer 1%', 0.01, 20000, 20000, []],
      ['one layer 0.1%', 0.001, 20000, 20000, []],
      ['5 layers 1%', 0.01, 1000, 31000, []],
      ['6 layers 0.1%, expansion 2', 0.001, 500, 31500, ['EXPANSION', '2']],
      ['many layers 1%, expansion 1', 0.01, 1000, 12000, ['EXPANSION', '1']],
      ['nonscaling 5%', 0.05, 20000, 20000, ['NONSCALING']],
    ];
    for (const [name, error, capacity, n, opts] of cases) {
      const key = `fp:${name}`;
      tt.equal(await run(['BF.RESERVE', key, String(error), String(capacity), ...opts]), 'OK');
      const { fp, fn } = await falsePositives(key, n, 100_000);
      const i = await info(key);
      tt.equal(fn, 0, `${name}: no false negatives (${n} items, ${i['Number of filters']} layers)`);
      tt.ok(fp <= error * 1.5, `${name}: false-positive rate ${(fp * 100).toFixed(3)}% <= 1.5 x ${error * 100}%`);
      tt.ok(i['Number of items inserted']! <= n && i['Number of items inserted']! >= n * (1 - error * 2), `${name}: ${i['Number of items inserted']} items counted of ${n}`);
    }
  });

  t.test('keyspace: TTL, RENAME/COPY across workers, DEL, SCAN TYPE, MEMORY USAGE', async (tt) => {
    await run(['BF.RESERVE', 'bf', '0.01', '10']);
    await run(['EXPIRE', 'bf', '1000']);
    const m1 = (await run(['MEMORY', 'USAGE', 'bf'])) as number;
    await pipe(Array.from({ length: 200 }, (_, i) => ['BF.ADD', 'bf', `i${i}`]));
    const ttl = (await run(['TTL', 'bf'])) as number;
    tt.ok(ttl > 990 && ttl <= 1000, `TTL survives adds and new layers (${ttl})`);
    const m2 = (await run(['MEMORY', 'USAGE', 'bf'])) as number;
    tt.ok(m2 > m1 + 200, `MEMORY USAGE grows with layers: ${m1} -> ${m2}`);
    const before = await info('bf');
    let other = 'moved';
    for (let i = 0; keySlot(other) < 8192 === keySlot('bf') < 8192; i++) other = `moved${i}`;
    tt.equal(await run(['RENAME', 'bf', other]), 'OK');
    tt.same(await info(other), before, 'RENAME keeps the filter');
    tt.equal(await run(['TYPE', other]), 'MBbloom--');
    tt.ok(((await run(['TTL', other])) as number) > 990, 'and its TTL');
    const found = await pipe(Array.from({ length: 200 }, (_, i) => ['BF.EXISTS', other, `i${i}`]));
    tt.ok(found.every((v) => v === 1), 'every item is still found');
    tt.equal(await run(['COPY', other, 'bf']), 1);
    tt.equal(await run(['BF.ADD', 'bf', 'only-in-copy']), 1);
    tt.equal(await run(['BF.EXISTS', other, 'only-in-copy']), 0, 'the copy is independent');
    await run(['SET', 'plain', 'v']);
    const seen: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = (await run(['SCAN', cursor, 'TYPE', 'MBbloom--', 'COUNT', '100'])) as [string, string[]];
      seen.push(...keys);
      cursor = next;
    } while (cursor !== '0');
    tt.same(seen.sort(), ['bf', other].sort(), 'SCAN TYPE MBbloom-- lists the filters only');
    tt.equal(await run(['DEL', 'bf', other, 'plain']), 3);
    tt.equal(await run(['EXISTS', 'bf']), 0);
    tt.equal(await run(['BF.CARD', 'bf']), 0);
  });

  t.test('RESP3 booleans and maps', async (tt) => {
    const c3 = await RespClient.connect(target.port);
    tt.teardown(() => c3.close());
    await c3.run(['HELLO', '3']);
    const raw = async (argv: string[]) => (await c3.runRaw(argv)).toString();
    tt.equal(await raw(['BF.ADD', 'r', 'a']), '#t\r\n');
    tt.equal(await raw(['BF.ADD', 'r', 'a']), '#f\r\n');
    tt.equal(await raw(['BF.EXISTS', 'r', 'a']), '#t\r\n');
    tt.equal(await raw(['BF.EXISTS', 'nokey', 'a']), '#f\r\n');
    tt.equal(await raw(['BF.MADD', 'r', 'a', 'b']), '*2\r\n#f\r\n#t\r\n');
    tt.equal(await raw(['BF.MEXISTS', 'r', 'a', 'zz']), '*2\r\n#t\r\n#f\r\n');
    tt.equal(await raw(['BF.INSERT', 'r', 'ITEMS', 'c']), '*1\r\n#t\r\n');
    tt.equal(await raw(['BF.CARD', 'r']), ':3\r\n');
    tt.equal(await raw(['BF.INFO', 'r']),
      '%5\r\n+Capacity\r\n:100\r\n+Size\r\n:240\r\n+Number of filters\r\n:1\r\n+Number of items inserted\r\n:3\r\n+Expansion rate\r\n:2\r\n');
    tt.equal(await raw(['BF.INFO', 'r', 'ITEMS']), '%1\r\n+Number of items inserted\r\n:3\r\n');
    await c3.run(['BF.RESERVE', 'ns', '0.1', '1', 'NONSCALING']);
    tt.equal(await raw(['BF.INFO', 'ns', 'EXPANSION']), '%1\r\n+Expansion rate\r\n_\r\n');
    tt.equal(await raw(['BF.MADD', 'ns', 'a', 'b']), '*2\r\n#t\r\n-ERR non scaling filter is full\r\n');
    tt.equal((await client.runRaw(['BF.INFO', 'ns', 'EXPANSION'])).toString(), '*1\r\n$-1\r\n', 'RESP2: a nil in an array');
  });

  t.test('a real client (ioredis)', async (tt) => {
    const r = new Redis({ host: '127.0.0.1', port: target.port, maxRetriesPerRequest: 1, retryStrategy: () => null });
    tt.teardown(() => r.quit().catch(() => r.disconnect()));
    tt.equal(await r.call('BF.RESERVE', 'io', '0.01', '1000'), 'OK');
    tt.equal(await r.call('BF.ADD', 'io', 'hello'), 1);
    tt.same(await r.call('BF.MADD', 'io', 'hello', 'world'), [0, 1]);
    tt.same(await r.call('BF.MEXISTS', 'io', 'hello', 'nope'), [1, 0]);
    tt.equal(await r.call('BF.CARD', 'io'), 2);
    tt.same(await r.call('BF.INFO', 'io', 'CAPACITY'), [1000]);
    const p = r.pipeline();
    for (let i = 0; i < 100; i++) p.call('BF.ADD', 'io', `p${i}`);
    const res = await p.exec();
    tt.ok(res !== null && res.every(([e, v]) => e === null && (v === 1 || v === 0)), 'pipelined BF.ADD');
    tt.equal(await r.type('io'), 'MBbloom--');
  });

  t.test('directly on a worker', async (tt) => {
    if (!isShoal) return void tt.pass('skipped: Shoal workers only');
    const w = await RespClient.connect(target.workerPorts[0]!);
    tt.teardown(() => w.close());
    let k = 'w';
    for (let i = 0; keySlot(k) >= 8192; i++) k = `w${i}`;
    tt.equal(await w.run(['BF.RESERVE', k, '0.01', '2']), 'OK');
    tt.same(await w.run(['BF.MADD', k, 'a', 'b', 'c']), [1, 1, 1]);
    tt.same(await w.run(['BF.INFO', k, 'FILTERS']), [2]);
    tt.equal(await w.run(['BF.EXISTS', k, 'c']), 1);
    tt.equal(await run(['BF.CARD', k]), 3, 'the proxy sees the same filter');
  });
}
