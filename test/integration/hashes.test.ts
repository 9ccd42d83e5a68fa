// Hash commands, Redis 7 replies and error strings byte for byte, both encodings
// (listpack → hashtable, never back), through the proxy. Runs against the Shoal proxy
// by default, or a real redis-server with SHOAL_TEST_TARGET=redis. Single-key
// commands only, so keys need no hash tags; RENAME/COPY pairs are picked on
// different workers on purpose.

import t from 'tap';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { isShoal, keySlot, useTarget } from '../helpers/cluster.js';
import { RespClient, err, expectReplies, runMany, type RespValue } from '../helpers/run.js';
import { rng } from '../helpers/random.js';

const { target, run, runRaw } = await useTarget(t);

const SYNTAX = err('ERR syntax error');
const NOT_INT = err('ERR value is not an integer or out of range');
const NOT_FLOAT = err('ERR value is not a valid float');
const WRONGTYPE = err('WRONGTYPE Operation against a key holding the wrong kind of value');
const HASH_NOT_INT = err('ERR hash value is not an integer');
const HASH_NOT_FLOAT = err('ERR hash value is not a float');
const OVERFLOW = err('ERR increment or decrement would overflow');
const arity = (cmd: string) => err(`ERR wrong number of arguments for '${cmd}' command`);

async function setLimits(entries: number, value: number): Promise<void> {
  for (const [name, v] of [['hash-max-listpack-entries', entries], ['hash-max-listpack-value', value]] as const) {
    const reply = await run(['CONFIG', 'SET', name, String(v)]);
    if (reply !== 'OK') throw new Error(`CONFIG SET ${name} ${v}: ${JSON.stringify(reply)}`);
  }
}

t.beforeEach(async () => {
  await run(['FLUSHALL']);
  await run(['CONFIG', 'SET', 'hash-max-listpack-entries', '128']);
  await run(['CONFIG', 'SET', 'hash-max-listpack-value', '64']);
});

/** HSET key with n fields f0..f(n-1) = v0..: pipelined in batches. */
async function fill(key: string, n: number, from = 0, valueOf = (i: number) => `v${i}`): Promise<void> {
  const cmds: string[][] = [];
  for (let i = from; i < from + n; i += 100) {
    const argv = ['HSET', key];
    for (let j = i; j < Math.min(i + 100, from + n); j++) argv.push(`f${j}`, valueOf(j));
    cmds.push(argv);
  }
  await runMany(run, cmds, 100);
}

/** Flat [f, v, f, v ...] → sorted "f=v" strings (order-free compare of hashtable replies). */
function pairs(flat: RespValue): string[] {
  const a = flat as string[];
  const out: string[] = [];
  for (let i = 0; i < a.length; i += 2) out.push(`${a[i]}=${a[i + 1]}`);
  return out.sort();
}

/** Every field (with values) of a full HSCAN; also the number of calls it took. */
async function scanAll(key: string, ...opts: string[]): Promise<{ flat: string[]; calls: number }> {
  const flat: string[] = [];
  let cursor = '0';
  let calls = 0;
  do {
    const reply = (await run(['HSCAN', key, cursor, ...opts])) as [string, string[]];
    cursor = reply[0];
    flat.push(...reply[1]);
    calls++;
    if (calls > 100_000) throw new Error('HSCAN does not terminate');
  } while (cursor !== '0');
  return { flat, calls };
}

t.test('HSET HGET HMGET HLEN HEXISTS HSTRLEN', async (t) => {
  await expectReplies(t, run, [
    [['HSET', 'h', 'a', '1'], 1],
    [['HSET', 'h', 'a', '2', 'b', '22', 'c', ''], 2],
    [['HGET', 'h', 'a'], '2'],
    [['HGET', 'h', 'c'], ''],
    [['HGET', 'h', 'zz'], null],
    [['HGET', 'nokey', 'a'], null],
    [['HMGET', 'h', 'a', 'zz', 'b', 'a'], ['2', null, '22', '2']],
    [['HMGET', 'nokey', 'a', 'b'], [null, null]],
    [['HLEN', 'h'], 3],
    [['HLEN', 'nokey'], 0],
    [['HEXISTS', 'h', 'b'], 1],
    [['HEXISTS', 'h', 'zz'], 0],
    [['HEXISTS', 'nokey', 'b'], 0],
    [['HSTRLEN', 'h', 'b'], 2],
    [['HSTRLEN', 'h', 'c'], 0],
    [['HSTRLEN', 'h', 'zz'], 0],
    [['HSTRLEN', 'nokey', 'a'], 0],
    [['HMSET', 'h', 'd', '4', 'a', '1'], 'OK'],
    [['HGETALL', 'h'], ['a', '1', 'b', '22', 'c', '', 'd', '4']],
    [['TYPE', 'h'], 'hash'],
    [['OBJECT', 'ENCODING', 'h'], 'listpack'],
  ]);
});

t.test('reply bytes on the wire', async (t) => {
  t.equal((await runRaw(['HSET', 'h', 'a', '1', 'b', 'xyz'])).toString(), ':2\r\n');
  t.equal((await runRaw(['HMSET', 'h', 'a', '1'])).toString(), '+OK\r\n');
  t.equal((await runRaw(['HGET', 'h', 'b'])).toString(), '$3\r\nxyz\r\n');
  t.equal((await runRaw(['HGET', 'h', 'no'])).toString(), '$-1\r\n');
  t.equal((await runRaw(['HMGET', 'h', 'a', 'no'])).toString(), '*2\r\n$1\r\n1\r\n$-1\r\n');
  t.equal((await runRaw(['HGETALL', 'h'])).toString(), '*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\nxyz\r\n');
  t.equal((await runRaw(['HGETALL', 'nokey'])).toString(), '*0\r\n');
  t.equal((await runRaw(['HKEYS', 'nokey'])).toString(), '*0\r\n');
  t.equal((await runRaw(['HINCRBYFLOAT', 'h', 'a', '1.5'])).toString(), '$3\r\n2.5\r\n');
  t.equal((await runRaw(['HINCRBY', 'h', 'n', '-7'])).toString(), ':-7\r\n');
  t.equal((await runRaw(['HSCAN', 'nokey', '0'])).toString(), '*2\r\n$1\r\n0\r\n*0\r\n');
  t.equal((await runRaw(['HSCAN', 'h', '0', 'MATCH', 'b'])).toString(), '*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$3\r\nxyz\r\n');
  t.equal((await runRaw(['HRANDFIELD', 'nokey'])).toString(), '$-1\r\n');
  t.equal((await runRaw(['HRANDFIELD', 'nokey', '3'])).toString(), '*0\r\n');
});

t.test('HSETNX', async (t) => {
  await expectReplies(t, run, [
    [['HSETNX', 'h', 'a', '1'], 1],
    [['HSETNX', 'h', 'a', '2'], 0],
    [['HGET', 'h', 'a'], '1'],
    [['HSETNX', 'h', 'b', '2'], 1],
    [['HGETALL', 'h'], ['a', '1', 'b', '2']],
  ]);
});

t.test('HDEL removes fields, and the key with the last one', async (t) => {
  await expectReplies(t, run, [
    [['HSET', 'h', 'a', '1', 'b', '2', 'c', '3'], 3],
    [['HDEL', 'h', 'a', 'zz', 'a'], 1],
    [['HDEL', 'h', 'zz'], 0],
    [['HDEL', 'nokey', 'a'], 0],
    [['HLEN', 'h'], 2],
    [['HDEL', 'h', 'b', 'c'], 2],
    [['EXISTS', 'h'], 0],
    [['TYPE', 'h'], 'none'],
  ]);
  // A heap (hashtable) hash emptied by HDEL disappears too.
  await fill('big', 200);
  t.equal(await run(['OBJECT', 'ENCODING', 'big']), 'hashtable');
  const argv = ['HDEL', 'big'];
  for (let i = 0; i < 200; i++) argv.push(`f${i}`);
  t.equal(await run(argv), 200);
  t.equal(await run(['EXISTS', 'big']), 0);
});

t.test('a packed hash keeps listpack order: updates stay in place, new fields at the end', async (t) => {
  await expectReplies(t, run, [
    [['HSET', 'h', 'a', '1', 'b', '2', 'c', '3'], 3],
    [['HSET', 'h', 'a', '9'], 0],
    [['HDEL', 'h', 'b'], 1],
    [['HSET', 'h', 'b', '5', 'd', '6'], 2],
    [['HKEYS', 'h'], ['a', 'c', 'b', 'd']],
    [['HVALS', 'h'], ['9', '3', '5', '6']],
    [['HGETALL', 'h'], ['a', '9', 'c', '3', 'b', '5', 'd', '6']],
    [['HINCRBY', 'h', 'c', '10'], 13],
    [['HKEYS', 'h'], ['a', 'c', 'b', 'd']],
    [['HSCAN', 'h', '0'], ['0', ['a', '9', 'c', '13', 'b', '5', 'd', '6']]],
  ]);
});

t.test('HINCRBY', async (t) => {
  await expectReplies(t, run, [
    [['HINCRBY', 'h', 'n', '5'], 5],
    [['HINCRBY', 'h', 'n', '-15'], -10],
    [['HINCRBY', 'h', 'n', '0'], -10],
    [['HGET', 'h', 'n'], '-10'],
    [['HSET', 'h', 'big', '9223372036854775806', 'neg', '-9223372036854775807'], 2],
    [['HINCRBY', 'h', 'big', '1'], 9223372036854775807n],
    [['HINCRBY', 'h', 'big', '1'], OVERFLOW],
    [['HGET', 'h', 'big'], '9223372036854775807'],
    [['HINCRBY', 'h', 'neg', '-1'], -9223372036854775808n],
    [['HINCRBY', 'h', 'neg', '-1'], OVERFLOW],
    [['HINCRBY', 'h', 'n', '9223372036854775807'], 9223372036854775797n],
    [['HINCRBY', 'h', 'n', '9223372036854775807'], OVERFLOW],
    [['HINCRBY', 'h', 'x', '9223372036854775808'], NOT_INT],
    [['HINCRBY', 'h', 'x', '1.5'], NOT_INT],
    [['HINCRBY', 'h', 'x', '01'], NOT_INT],
    [['HINCRBY', 'h', 'x', ' 1'], NOT_INT],
    [['HINCRBY', 'h', 'x', ''], NOT_INT],
    [['HEXISTS', 'h', 'x'], 0],
    [['HSET', 'h', 's', 'abc', 'f', '1.5', 'sp', ' 1', 'z', '007', 'e', ''], 5],
    [['HINCRBY', 'h', 's', '1'], HASH_NOT_INT],
    [['HINCRBY', 'h', 'f', '1'], HASH_NOT_INT],
    [['HINCRBY', 'h', 'sp', '1'], HASH_NOT_INT],
    [['HINCRBY', 'h', 'z', '1'], HASH_NOT_INT],
    [['HINCRBY', 'h', 'e', '1'], HASH_NOT_INT],
    [['HINCRBY', 'fresh', 'a', '-3'], -3],
    [['HGETALL', 'fresh'], ['a', '-3']],
    // The increment is parsed before the key is looked at.
    [['SET', 'str', 'x'], 'OK'],
    [['HINCRBY', 'str', 'a', 'x'], NOT_INT],
    [['HINCRBY', 'str', 'a', '1'], WRONGTYPE],
    [['HINCRBY', 'nokey', 'a', 'x'], NOT_INT],
    [['EXISTS', 'nokey'], 0],
  ]);
});

t.test('HINCRBYFLOAT', async (t) => {
  await expectReplies(t, run, [
    [['HINCRBYFLOAT', 'h', 'f', '10.5'], '10.5'],
    [['HINCRBYFLOAT', 'h', 'f', '0.1'], '10.6'],
    [['HINCRBYFLOAT', 'h', 'f', '-10.6'], '0'],
    [['HINCRBYFLOAT', 'h', 'g', '5.0e3'], '5000'],
    [['HINCRBYFLOAT', 'h', 'g', '2.5e-1'], '5000.25'],
    [['HINCRBYFLOAT', 'h', 'g', '-5000.25'], '0'],
    [['HINCRBYFLOAT', 'h', 'i', '-1.25'], '-1.25'],
    [['HSET', 'h', 'n', '17', 'big', '9223372036854775807'], 2],
    [['HINCRBYFLOAT', 'h', 'n', '0.5'], '17.5'],
    [['HINCRBY', 'h', 'n', '1'], HASH_NOT_INT],
    [['HINCRBYFLOAT', 'h', 'big', '1'], '9223372036854775808'],
    [['HGET', 'h', 'f'], '0'],
    [['HINCRBYFLOAT', 'h', 'f', 'abc'], NOT_FLOAT],
    [['HINCRBYFLOAT', 'h', 'f', ''], NOT_FLOAT],
    [['HINCRBYFLOAT', 'h', 'f', 'nan'], NOT_FLOAT],
    [['HINCRBYFLOAT', 'h', 'f', '1 '], NOT_FLOAT],
    [['HINCRBYFLOAT', 'h', 'f', 'inf'], err('ERR value is NaN or Infinity')],
    [['HINCRBYFLOAT', 'h', 'f', '-inf'], err('ERR value is NaN or Infinity')],
    [['HSET', 'h', 's', 'abc', 'sp', ' 1', 'e', '', 'infv', 'inf'], 4],
    [['HINCRBYFLOAT', 'h', 's', '1'], HASH_NOT_FLOAT],
    [['HINCRBYFLOAT', 'h', 'sp', '1'], HASH_NOT_FLOAT],
    [['HINCRBYFLOAT', 'h', 'e', '1'], HASH_NOT_FLOAT],
    [['HINCRBYFLOAT', 'h', 'infv', '1'], err('ERR increment would produce NaN or Infinity')],
    [['SET', 'str', 'x'], 'OK'],
    [['HINCRBYFLOAT', 'str', 'a', 'x'], NOT_FLOAT],
    [['HINCRBYFLOAT', 'str', 'a', 'inf'], err('ERR value is NaN or Infinity')],
    [['HINCRBYFLOAT', 'str', 'a', '1'], WRONGTYPE],
    // Long double arithmetic, 17 decimals, as Redis (a double would give 0.30000000000000004).
    [['HSET', 'ld', 'a', '0.1', 'b', '314000'], 2],
    [['HINCRBYFLOAT', 'ld', 'a', '0.2'], '0.3'],
    [['HINCRBYFLOAT', 'ld', 'b', '0.1'], '314000.09999999999999432'],
    [['HGET', 'ld', 'b'], '314000.09999999999999432'],
  ]);
});

t.test('arity and WRONGTYPE for every command', async (t) => {
  await run(['SET', 's', 'x']);
  await expectReplies(t, run, [
    [['HSET', 'h'], arity('hset')],
    [['HSET', 'h', 'a'], arity('hset')],
    [['HSET', 'h', 'a', '1', 'b'], arity('hset')],
    [['HMSET', 'h', 'a'], arity('hmset')],
    [['HMSET', 'h', 'a', '1', 'b'], arity('hmset')],
    [['HSETNX', 'h', 'a'], arity('hsetnx')],
    [['HSETNX', 'h', 'a', '1', '2'], arity('hsetnx')],
    [['HGET', 'h'], arity('hget')],
    [['HGET', 'h', 'a', 'b'], arity('hget')],
    [['HMGET', 'h'], arity('hmget')],
    [['HDEL', 'h'], arity('hdel')],
    [['HLEN'], arity('hlen')],
    [['HLEN', 'h', 'x'], arity('hlen')],
    [['HSTRLEN', 'h'], arity('hstrlen')],
    [['HEXISTS', 'h'], arity('hexists')],
    [['HKEYS'], arity('hkeys')],
    [['HVALS', 'h', 'x'], arity('hvals')],
    [['HGETALL'], arity('hgetall')],
    [['HINCRBY', 'h', 'a'], arity('hincrby')],
    [['HINCRBYFLOAT', 'h', 'a'], arity('hincrbyfloat')],
    [['HRANDFIELD'], arity('hrandfield')],
    [['HSCAN', 'h'], arity('hscan')],
    [['EXISTS', 'h'], 0],
  ]);
  for (const argv of [
    ['HSET', 's', 'a', '1'], ['HMSET', 's', 'a', '1'], ['HSETNX', 's', 'a', '1'], ['HGET', 's', 'a'], ['HMGET', 's', 'a'],
    ['HDEL', 's', 'a'], ['HLEN', 's'], ['HSTRLEN', 's', 'a'], ['HEXISTS', 's', 'a'], ['HKEYS', 's'], ['HVALS', 's'],
    ['HGETALL', 's'], ['HINCRBY', 's', 'a', '1'], ['HINCRBYFLOAT', 's', 'a', '1'], ['HRANDFIELD', 's'],
    ['HRANDFIELD', 's', '2'], ['HRANDFIELD', 's', '-2', 'WITHVALUES'], ['HSCAN', 's', '0'], ['HSCAN', 's', '0', 'foo'],
  ]) {
    t.same(await run(argv), WRONGTYPE, argv.join(' '));
  }
  await run(['HSET', 'h', 'a', '1']);
  await expectReplies(t, run, [
    [['GET', 'h'], WRONGTYPE],
    [['APPEND', 'h', 'x'], WRONGTYPE],
    [['INCR', 'h'], WRONGTYPE],
    [['GET', 's'], 'x'],
  ]);
});

t.test('encoding: listpack until a limit is passed, then hashtable for good', async (t) => {
  await fill('h', 128);
  t.equal(await run(['OBJECT', 'ENCODING', 'h']), 'listpack', '128 fields (the limit) stay packed');
  t.equal(await run(['HSET', 'h', 'f128', 'v']), 1);
  t.equal(await run(['OBJECT', 'ENCODING', 'h']), 'hashtable', '129 fields');
  const argv = ['HDEL', 'h'];
  for (let i = 0; i < 127; i++) argv.push(`f${i}`);
  t.equal(await run(argv), 127);
  t.equal(await run(['HLEN', 'h']), 2);
  t.equal(await run(['OBJECT', 'ENCODING', 'h']), 'hashtable', 'shrinking never converts back');
  t.same(pairs(await run(['HGETALL', 'h'])), ['f127=v127', 'f128=v']);

  await expectReplies(t, run, [
    [['HSET', 'v', 'a', 'x'.repeat(64)], 1],
    [['OBJECT', 'ENCODING', 'v'], 'listpack'],
    [['HSET', 'v', 'b', 'x'.repeat(65)], 1],
    [['OBJECT', 'ENCODING', 'v'], 'hashtable'],
    [['HSET', 'f', 'x'.repeat(65), '1'], 1],
    [['OBJECT', 'ENCODING', 'f'], 'hashtable'],
    [['HSETNX', 'n', 'x'.repeat(65), '1'], 1],
    [['OBJECT', 'ENCODING', 'n'], 'hashtable'],
    [['HINCRBY', 'i', 'y'.repeat(65), '1'], 1],
    [['OBJECT', 'ENCODING', 'i'], 'hashtable'],
    [['OBJECT', 'ENCODING', 'nokey'], null],
  ]);
});

t.test('conversion follows Redis exactly (hashTypeTryConversion, hashTypeSet)', async (t) => {
  await setLimits(4, 8);
  await expectReplies(t, run, [
    // Any long argument converts HSET up front, even a value overwritten in the same call.
    [['HSET', 'a', 'f', '123456789', 'f', 's'], 1],
    [['OBJECT', 'ENCODING', 'a'], 'hashtable'],
    [['HGETALL', 'a'], ['f', 's']],
    // HSETNX on an existing field changes nothing, converts nothing.
    [['HSET', 'b', 'f', 'v'], 1],
    [['HSETNX', 'b', 'f', '123456789'], 0],
    [['OBJECT', 'ENCODING', 'b'], 'listpack'],
    [['HSETNX', 'b', 'g', '123456789'], 1],
    [['OBJECT', 'ENCODING', 'b'], 'hashtable'],
    // HINCRBYFLOAT's result is a value like any other.
    [['HSET', 'c', 'a', '1'], 1],
    [['HINCRBYFLOAT', 'c', 'a', '0.125'], '1.125'],
    [['OBJECT', 'ENCODING', 'c'], 'listpack'],
    [['HINCRBYFLOAT', 'c', 'a', '0.0625'], '1.1875'],
    [['OBJECT', 'ENCODING', 'c'], 'listpack'],
    [['HINCRBYFLOAT', 'c', 'a', '100000'], '100001.1875'],
    [['OBJECT', 'ENCODING', 'c'], 'hashtable'],
    [['HINCRBY', 'd', 'n', '99999999'], 99999999],
    [['OBJECT', 'ENCODING', 'd'], 'listpack'],
    [['HINCRBY', 'd', 'n', '1'], 100000000],
    [['OBJECT', 'ENCODING', 'd'], 'hashtable'],
    // Entries: 4 fit, the 5th converts.
    [['HSET', 'e', 'a', '1', 'b', '2', 'c', '3', 'd', '4'], 4],
    [['OBJECT', 'ENCODING', 'e'], 'listpack'],
    [['HSET', 'e', 'e', '5'], 1],
    [['OBJECT', 'ENCODING', 'e'], 'hashtable'],
    // hash-max-listpack-entries 0: every hash is a hashtable.
    [['CONFIG', 'SET', 'hash-max-listpack-entries', '0'], 'OK'],
    [['HSET', 'z', 'a', '1'], 1],
    [['OBJECT', 'ENCODING', 'z'], 'hashtable'],
  ]);
  // Limits lowered at runtime: an existing packed hash stays packed until a set checks it.
  await setLimits(128, 64);
  await run(['HSET', 'low', 'a', '1', 'b', '2', 'c', '3', 'd', '4', 'e', '5', 'long', 'x'.repeat(20)]);
  await setLimits(4, 8);
  await expectReplies(t, run, [
    [['OBJECT', 'ENCODING', 'low'], 'listpack'],
    [['HDEL', 'low', 'a'], 1],
    [['OBJECT', 'ENCODING', 'low'], 'listpack'],
    [['HGET', 'low', 'long'], 'x'.repeat(20)],
    [['HSETNX', 'low', 'b', 'again'], 0],
    [['OBJECT', 'ENCODING', 'low'], 'listpack'],
    [['HSET', 'low', 'b', '7'], 0],
    [['OBJECT', 'ENCODING', 'low'], 'hashtable'],
    [['HLEN', 'low'], 5],
  ]);
});

t.test('HGETALL HKEYS HVALS on a hashtable', async (t) => {
  await fill('h', 1000);
  t.equal(await run(['OBJECT', 'ENCODING', 'h']), 'hashtable');
  const all = (await run(['HGETALL', 'h'])) as string[];
  t.equal(all.length, 2000);
  t.same(pairs(all), Array.from({ length: 1000 }, (_, i) => `f${i}=v${i}`).sort());
  const keys = (await run(['HKEYS', 'h'])) as string[];
  const vals = (await run(['HVALS', 'h'])) as string[];
  t.same([...keys].sort(), Array.from({ length: 1000 }, (_, i) => `f${i}`).sort());
  t.same([...vals].sort(), Array.from({ length: 1000 }, (_, i) => `v${i}`).sort());
  // HKEYS and HVALS walk the same order.
  t.same(keys.map((k) => `${k}=${vals[keys.indexOf(k)]}`).sort(), pairs(all));
  await expectReplies(t, run, [
    [['HGET', 'h', 'f999'], 'v999'],
    [['HMGET', 'h', 'f0', 'nope', 'f500'], ['v0', null, 'v500']],
    [['HSTRLEN', 'h', 'f500'], 4],
    [['HEXISTS', 'h', 'f1'], 1],
    [['HSET', 'h', 'f1', 'changed', 'new', 'n'], 1],
    [['HGET', 'h', 'f1'], 'changed'],
    [['HLEN', 'h'], 1001],
    [['HINCRBY', 'h', 'ctr', '3'], 3],
    [['HINCRBYFLOAT', 'h', 'ctr', '0.5'], '3.5'],
    [['HSETNX', 'h', 'ctr', 'x'], 0],
    [['HDEL', 'h', 'ctr', 'new', 'nope'], 2],
    [['HLEN', 'h'], 1000],
  ]);
});

t.test('binary-safe fields and values', async (t) => {
  const f = Buffer.from([0, 0xff, 13, 10, 0x80, 36]);
  const v = Buffer.from([0xfe, 0, 10, 13, 42]);
  for (const key of ['small', 'large']) {
    if (key === 'large') await fill(key, 200);
    t.equal(await run(['HSET', key, f, v]), 1);
    t.same(await run(['HGET', key, f], { buffers: true }), v);
    t.equal(await run(['HSTRLEN', key, f]), 5);
    t.equal(await run(['HEXISTS', key, f]), 1);
    t.equal(await run(['HEXISTS', key, Buffer.from([0, 0xff, 13, 10, 0x80])]), 0);
    const all = (await run(['HGETALL', key], { buffers: true })) as Buffer[];
    const at = all.findIndex((b, i) => i % 2 === 0 && b.equals(f));
    t.ok(at >= 0 && all[at + 1]!.equals(v), `${key}: HGETALL has the binary pair`);
    t.equal(await run(['HDEL', key, f]), 1);
  }
});

t.test('HRANDFIELD', async (t) => {
  await expectReplies(t, run, [
    [['HRANDFIELD', 'nokey'], null],
    [['HRANDFIELD', 'nokey', '5'], []],
    [['HRANDFIELD', 'nokey', '-5', 'WITHVALUES'], []],
    [['HRANDFIELD', 'nokey', 'x'], NOT_INT],
    [['HRANDFIELD', 'nokey', '1', 'foo'], SYNTAX],
    [['HSET', 'h', 'a', '1'], 1],
    [['HRANDFIELD', 'h', '0'], []],
    [['HRANDFIELD', 'h', '0', 'WITHVALUES'], []],
    [['HRANDFIELD', 'h', '1', 'WITHVALUE'], SYNTAX],
    [['HRANDFIELD', 'h', '1', 'WITHVALUES', 'x'], SYNTAX],
    [['HRANDFIELD', 'h', '1.5'], NOT_INT],
    [['HRANDFIELD', 'h', '9223372036854775808'], NOT_INT],
    [['HRANDFIELD', 'h', '-9223372036854775808'], err('ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807')],
    [['HRANDFIELD', 'h', '-4611686018427387904', 'WITHVALUES'], err('ERR value is out of range')],
    [['HRANDFIELD', 'h', '4611686018427387904', 'WITHVALUES'], err('ERR value is out of range')],
    [['HRANDFIELD', 'h', '9223372036854775807'], ['a']],
    [['HRANDFIELD', 'h', '4611686018427387903', 'WITHVALUES'], ['a', '1']],
    [['HRANDFIELD', 'h', '-3', 'WITHVALUES'], ['a', '1', 'a', '1', 'a', '1']],
    [['HRANDFIELD', 'h'], 'a'],
  ]);
  for (const [key, n] of [['packed', 20], ['heap', 300]] as const) {
    await fill(key, n);
    t.equal(await run(['OBJECT', 'ENCODING', key]), key === 'packed' ? 'listpack' : 'hashtable');
    const field = (i: number) => `f${i}`;
    const isField = (s: unknown) => typeof s === 'string' && /^f\d+$/.test(s) && Number(s.slice(1)) < n;
    const one = await run(['HRANDFIELD', key]);
    t.ok(isField(one), `${key}: one field`);
    // Negative count: repeats allowed, every field shows up over many picks.
    const many = (await run(['HRANDFIELD', key, String(-n * 40)])) as string[];
    t.equal(many.length, n * 40);
    t.ok(many.every(isField), `${key}: negative count returns fields`);
    t.equal(new Set(many).size, n, `${key}: every field is picked sometimes`);
    // Positive count below size: distinct fields.
    for (const count of [1, 3, Math.floor(n / 2), n - 1]) {
      const got = (await run(['HRANDFIELD', key, String(count)])) as string[];
      t.equal(got.length, count, `${key}: count ${count}`);
      t.equal(new Set(got).size, count, `${key}: count ${count} distinct`);
      t.ok(got.every(isField));
      const wv = (await run(['HRANDFIELD', key, String(count), 'WITHVALUES'])) as string[];
      t.equal(wv.length, count * 2);
      let ok = true;
      for (let i = 0; i < wv.length; i += 2) if (!isField(wv[i]) || wv[i + 1] !== `v${wv[i]!.slice(1)}`) ok = false;
      t.ok(ok, `${key}: count ${count} WITHVALUES pairs match`);
    }
    // count >= size: the whole hash.
    const all = (await run(['HRANDFIELD', key, String(n + 5), 'WITHVALUES'])) as string[];
    t.same(pairs(all), Array.from({ length: n }, (_, i) => `${field(i)}=v${i}`).sort(), `${key}: whole hash`);
    const neg = (await run(['HRANDFIELD', key, '-7', 'WITHVALUES'])) as string[];
    t.equal(neg.length, 14);
    for (let i = 0; i < neg.length; i += 2) t.equal(neg[i + 1], `v${neg[i]!.slice(1)}`);
  }
  // Random picks stay correct while a heap hash loses fields.
  const argv = ['HDEL', 'heap'];
  for (let i = 0; i < 290; i++) argv.push(`f${i}`);
  t.equal(await run(argv), 290);
  const left = (await run(['HRANDFIELD', 'heap', '-500'])) as string[];
  t.same([...new Set(left)].sort(), Array.from({ length: 10 }, (_, i) => `f${290 + i}`).sort(), 'only live fields are picked');
  await run(['HSET', 'heap', 'f0', 'back']);
  const back = (await run(['HRANDFIELD', 'heap', '-500', 'WITHVALUES'])) as string[];
  t.ok(back.includes('f0') && back[back.indexOf('f0') + 1] === 'back', 'a re-added field is picked');
});

t.test('HSCAN on a packed hash: everything at once, cursor 0', async (t) => {
  await fill('h', 50);
  const r = (await run(['HSCAN', 'h', '0', 'COUNT', '2'])) as [string, string[]];
  t.equal(r[0], '0');
  t.same(r[1], Array.from({ length: 50 }, (_, i) => [`f${i}`, `v${i}`]).flat(), 'all pairs in listpack order');
  await expectReplies(t, run, [
    [['HSCAN', 'h', '0', 'MATCH', 'f1?'], ['0', Array.from({ length: 10 }, (_, i) => [`f1${i}`, `v1${i}`]).flat()]],
    [['HSCAN', 'h', '0', 'MATCH', 'nomatch*', 'COUNT', '1000'], ['0', []]],
    [['HSCAN', 'h', '0', 'MATCH', '*9', 'MATCH', 'f4[0-1]'], ['0', ['f40', 'v40', 'f41', 'v41']]],
    [['HSCAN', 'h', '0', 'COUNT', '0'], SYNTAX],
    [['HSCAN', 'h', '0', 'COUNT', '-1'], SYNTAX],
    [['HSCAN', 'h', '0', 'COUNT', 'x'], NOT_INT],
    [['HSCAN', 'h', '0', 'MATCH'], SYNTAX],
    [['HSCAN', 'h', '0', 'foo'], SYNTAX],
    [['HSCAN', 'h', '0', 'TYPE', 'hash'], SYNTAX],
    [['HSCAN', 'h', 'x'], err('ERR invalid cursor')],
    [['HSCAN', 'h', ' 1'], err('ERR invalid cursor')],
    [['HSCAN', 'h', '1x'], err('ERR invalid cursor')],
    [['HSCAN', 'h', '18446744073709551616'], err('ERR invalid cursor')],
    [['HSCAN', 'nokey', 'x'], err('ERR invalid cursor')],
    // A missing key ignores the options.
    [['HSCAN', 'nokey', '0', 'foo'], ['0', []]],
  ]);
  // strtoul-style cursors Redis accepts.
  for (const c of ['-1', '+7', '', '18446744073709551615', '123456']) {
    const rr = (await run(['HSCAN', 'h', c, 'MATCH', 'f0'])) as [string, string[]];
    t.same(rr, ['0', ['f0', 'v0']], `cursor ${JSON.stringify(c)}`);
  }
});

t.test('HSCAN on a hashtable: cursor, COUNT, MATCH', async (t) => {
  const n = 2000;
  await fill('h', n);
  t.equal(await run(['OBJECT', 'ENCODING', 'h']), 'hashtable');
  const { flat, calls } = await scanAll('h');
  t.same(pairs(flat), Array.from({ length: n }, (_, i) => `f${i}=v${i}`).sort(), 'a full scan returns every pair once');
  t.ok(calls > 20, `default COUNT 10 takes many calls (${calls})`);
  const big = await scanAll('h', 'COUNT', '500');
  t.ok(big.calls < 20, `COUNT 500 takes few calls (${big.calls})`);
  t.same(new Set(pairs(big.flat)).size, n);
  const m = await scanAll('h', 'MATCH', 'f1*', 'COUNT', '100');
  const want = Array.from({ length: n }, (_, i) => `f${i}`).filter((f) => f.startsWith('f1'));
  t.same([...new Set(m.flat.filter((_, i) => i % 2 === 0))].sort(), want.sort(), 'MATCH filters fields');
});

t.test('HSCAN on a hashtable misses nothing present throughout, with writes between calls', async (t) => {
  const n = 3000;
  await fill('h', n);
  const seen = new Set<string>();
  let cursor = '0';
  let calls = 0;
  let added = 0;
  const deleted = new Set<string>();
  do {
    const reply = (await run(['HSCAN', 'h', cursor, 'COUNT', '25'])) as [string, string[]];
    cursor = reply[0];
    for (let i = 0; i < reply[1].length; i += 2) seen.add(reply[1][i]!);
    calls++;
    // Between calls: add fields (the table grows), change values' lengths, delete some.
    const add = ['HSET', 'h'];
    for (let k = 0; k < 20; k++) add.push(`new${added++}`, 'x');
    const cmds: string[][] = [add, ['HSET', 'h', `f${(calls * 7) % n}`, 'updated'.repeat(1 + (calls % 5)), `f${(calls * 13) % n}`, 'u']];
    if (calls % 3 === 0) {
      const victim = `f${n - calls}`;
      deleted.add(victim);
      cmds.push(['HDEL', 'h', victim]);
    }
    await runMany(run, cmds);
  } while (cursor !== '0' && calls < 10_000);
  t.equal(cursor, '0', `the scan ends (${calls} calls)`);
  const missed: string[] = [];
  for (let i = 0; i < n; i++) if (!deleted.has(`f${i}`) && !seen.has(`f${i}`)) missed.push(`f${i}`);
  t.same(missed, [], 'every field present from start to end was returned');
});

t.test('RESP3 shapes', async (t) => {
  const c = await RespClient.connect(target.port);
  t.teardown(() => c.close());
  await c.run(['HELLO', '3']);
  await run(['HSET', 'h', 'a', '1', 'b', '2']);
  t.same(await c.run(['HGETALL', 'h']), new Map([['a', '1'], ['b', '2']]));
  t.same(await c.run(['HGETALL', 'nokey']), new Map());
  t.equal((await c.runRaw(['HGETALL', 'nokey'])).toString(), '%0\r\n');
  t.equal((await c.runRaw(['HGETALL', 'h'])).toString(), '%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n');
  t.same(await c.run(['HMGET', 'h', 'a', 'zz']), ['1', null]);
  t.equal((await c.runRaw(['HGET', 'h', 'zz'])).toString(), '_\r\n');
  t.equal((await c.runRaw(['HRANDFIELD', 'nokey'])).toString(), '_\r\n');
  t.same(await c.run(['HRANDFIELD', 'h', '2', 'WITHVALUES']), [['a', '1'], ['b', '2']]);
  t.same(await c.run(['HRANDFIELD', 'h', '-3', 'WITHVALUES']).then((r) => (r as unknown[]).length), 3);
  const one = (await c.run(['HRANDFIELD', 'h', '1', 'WITHVALUES'])) as string[][];
  t.ok(one.length === 1 && one[0]!.length === 2, 'count 1 WITHVALUES: one pair');
  t.same(await c.run(['HRANDFIELD', 'h', '5']), ['a', 'b']);
  t.same(await c.run(['HSCAN', 'h', '0']), ['0', ['a', '1', 'b', '2']]);
  t.equal((await c.runRaw(['HINCRBYFLOAT', 'h', 'a', '0.5'])).toString(), '$3\r\n1.5\r\n');
  // Heap encoded, too.
  await fill('big', 300);
  const m = (await c.run(['HGETALL', 'big'])) as Map<string, string>;
  t.ok(m instanceof Map && m.size === 300 && m.get('f299') === 'v299', 'a hashtable replies a map');
  const pairs3 = (await c.run(['HRANDFIELD', 'big', '-4', 'WITHVALUES'])) as string[][];
  t.ok(pairs3.length === 4 && pairs3.every((p) => p.length === 2 && p[1] === `v${p[0]!.slice(1)}`), 'hashtable WITHVALUES pairs');
  const few = (await c.run(['HRANDFIELD', 'big', '10', 'WITHVALUES'])) as string[][];
  t.ok(few.length === 10 && new Set(few.map((p) => p[0])).size === 10, 'distinct pairs');
});

t.test('empty hashes vanish, TTL survives writes and conversion', async (t) => {
  await expectReplies(t, run, [
    [['HSET', 'h', 'a', '1', 'b', '2'], 2],
    [['EXPIRE', 'h', '100'], 1],
    [['HSET', 'h', 'c', '3'], 1],
    [['TTL', 'h'], 100],
    [['HDEL', 'h', 'a'], 1],
    [['HINCRBY', 'h', 'n', '1'], 1],
    [['HINCRBYFLOAT', 'h', 'n', '1.5'], '2.5'],
    [['HSETNX', 'h', 'z', '1'], 1],
    [['TTL', 'h'], 100],
  ]);
  await fill('h', 300);
  t.equal(await run(['OBJECT', 'ENCODING', 'h']), 'hashtable');
  t.equal(await run(['TTL', 'h']), 100, 'TTL kept when the hash moves to the heap');
  await run(['HDEL', 'h', 'f0', 'f1']);
  t.equal(await run(['TTL', 'h']), 100);
  t.equal(await run(['PERSIST', 'h']), 1);
  t.equal(await run(['TTL', 'h']), -1);
  t.equal(await run(['PEXPIRE', 'h', '50']), 1);
  await new Promise((r) => setTimeout(r, 120));
  t.equal(await run(['EXISTS', 'h']), 0, 'an expired hashtable is gone');
  t.equal(await run(['HLEN', 'h']), 0);
  t.equal(await run(['HSET', 'h', 'x', '1']), 1, 'and the key starts over as a new hash');
  t.equal(await run(['OBJECT', 'ENCODING', 'h']), 'listpack');
  t.equal(await run(['TTL', 'h']), -1);
});

/** Two key names owned by different Shoal workers (different slot halves with 2 workers). */
function crossPair(a: string, b: string): [string, string] {
  let i = 0;
  while ((keySlot(a) < 8192) === (keySlot(`${b}${i}`) < 8192)) i++;
  return [a, `${b}${i}`];
}

t.test('keyspace commands on hashes: DEL UNLINK TYPE SCAN TYPE RENAME COPY MEMORY USAGE', async (t) => {
  await run(['HSET', 'small', 'a', '1', 'b', '2']);
  await fill('large', 500);
  await run(['SET', 'str', 'x']);
  t.equal(await run(['TYPE', 'small']), 'hash');
  t.equal(await run(['TYPE', 'large']), 'hash');
  const scanned: string[] = [];
  let cursor = '0';
  do {
    const r = (await run(['SCAN', cursor, 'TYPE', 'hash', 'COUNT', '100'])) as [string, string[]];
    cursor = r[0];
    scanned.push(...r[1]);
  } while (cursor !== '0');
  t.same(scanned.sort(), ['large', 'small'], 'SCAN TYPE hash');

  const small = await run(['HGETALL', 'small']);
  const large = pairs(await run(['HGETALL', 'large']));
  for (const [kind, key] of [['packed', 'small'], ['heap', 'large']] as const) {
    const want = kind === 'packed' ? small : large;
    const got = async (k: string) => (kind === 'packed' ? run(['HGETALL', k]) : pairs(await run(['HGETALL', k])));
    const [src, dst] = crossPair(`${key}-src`, `${key}-dst`);
    t.equal(await run(['COPY', key, src]), 1);
    t.equal(await run(['PEXPIRE', src, '100000']), 1);
    t.equal(await run(['RENAME', src, dst]), 'OK', `${kind}: RENAME across workers`);
    t.equal(await run(['EXISTS', src]), 0);
    t.same(await got(dst), want, `${kind}: renamed hash intact`);
    t.ok((await run(['PTTL', dst])) as number > 90_000, `${kind}: RENAME keeps the TTL`);
    const [, copy] = crossPair(dst, `${key}-copy`);
    t.equal(await run(['COPY', dst, copy]), 1, `${kind}: COPY across workers`);
    t.same(await got(copy), want, `${kind}: copied hash intact`);
    t.equal(await run(['COPY', dst, copy]), 0, 'COPY without REPLACE keeps the destination');
    t.equal(await run(['HSET', copy, 'extra', '1']), 1, 'the copy is independent');
    t.equal(await run(['HEXISTS', dst, 'extra']), 0);
    t.equal(await run(['TYPE', copy]), 'hash');
    t.equal(await run(['OBJECT', 'ENCODING', copy]), kind === 'packed' ? 'listpack' : 'hashtable');
    t.equal(await run(['RENAMENX', copy, 'str']), 0);
  }
  t.equal(await run(['UNLINK', 'large-src']), 0);
  t.equal(await run(['DEL', 'small', 'large']), 2);
  t.equal(await run(['EXISTS', 'small', 'large']), 0);

  const usage = async (n: number) => {
    await run(['DEL', 'm']);
    await fill('m', n);
    return (await run(['MEMORY', 'USAGE', 'm'])) as number;
  };
  const u = [await usage(1), await usage(50), await usage(1000), await usage(20000)];
  t.ok(u.every((x) => typeof x === 'number' && x > 0), `MEMORY USAGE numbers: ${u.join(' ')}`);
  t.ok(u[0]! < u[1]! && u[1]! < u[2]! && u[2]! < u[3]!, 'MEMORY USAGE grows with the hash');
  t.ok(u[3]! > 20000 * 10, 'and counts every field of a hashtable');
  t.equal(await run(['MEMORY', 'USAGE', 'nokey']), null);
});

t.test('ioredis', async (t) => {
  const r = new Redis({ host: '127.0.0.1', port: target.port, maxRetriesPerRequest: 1, retryStrategy: () => null, connectTimeout: 5000 });
  t.teardown(async () => {
    try {
      await r.quit();
    } catch {
      r.disconnect();
    }
  });
  t.equal(await r.hset('user:1', { name: 'ada', lang: 'en', visits: '0' }), 3);
  t.same(await r.hgetall('user:1'), { name: 'ada', lang: 'en', visits: '0' });
  t.equal(await r.hincrby('user:1', 'visits', 5), 5);
  t.equal(await r.hincrbyfloat('user:1', 'score', 1.5), '1.5');
  t.same(await r.hmget('user:1', 'name', 'nope'), ['ada', null]);
  t.equal(await r.hsetnx('user:1', 'name', 'bob'), 0);
  t.equal(await r.hlen('user:1'), 4);
  t.same((await r.hkeys('user:1')).sort(), ['lang', 'name', 'score', 'visits']);
  t.equal(await r.hexists('user:1', 'lang'), 1);
  t.equal(await r.hstrlen('user:1', 'name'), 3);
  t.equal(await r.hdel('user:1', 'lang', 'nope'), 1);
  t.equal(await r.hmset('user:2', 'a', '1', 'b', '2'), 'OK');
  const [cursor, flat] = await r.hscan('user:2', 0);
  t.equal(cursor, '0');
  t.same(flat, ['a', '1', 'b', '2']);
  const rf = await r.hrandfield('user:2', -2, 'WITHVALUES');
  t.equal(rf?.length, 4);
  t.equal(await r.hget('user:2', 'b'), '2');
  const pipe = await r.pipeline().hset('p', 'x', '1').hget('p', 'x').hgetall('p').exec();
  t.same(pipe?.map(([e, v]) => (e ? e.message : v)), [1, '1', { x: '1' }]);
});

t.test('node-redis (RESP2 and RESP3)', async (t) => {
  for (const RESP of [2, 3] as const) {
    const c = createClient({ RESP, socket: { host: '127.0.0.1', port: target.port, reconnectStrategy: false, connectTimeout: 5000 } });
    await c.connect();
    t.teardown(() => c.destroy());
    const key = `nr:${RESP}`;
    t.equal(await c.hSet(key, { a: '1', b: '2' }), 2);
    const all = await c.hGetAll(key);
    t.same({ ...all }, { a: '1', b: '2' }, `RESP${RESP}: hGetAll`);
    t.equal(await c.hIncrBy(key, 'a', 9), 10);
    t.same(await c.hmGet(key, ['a', 'zz']), ['10', null]);
    t.equal(await c.hLen(key), 2);
    t.same((await c.hVals(key)).sort(), ['10', '2']);
    const rv = await c.hRandFieldCountWithValues(key, 2);
    t.same(rv.map((p) => `${p.field}=${p.value}`).sort(), ['a=10', 'b=2'], `RESP${RESP}: hRandFieldCountWithValues`);
    t.equal(await c.hDel(key, ['a', 'b']), 2);
    t.equal(await c.exists(key), 0);
  }
});

// --- model test -------------------------------------------------------------------------

type Enc = 'listpack' | 'hashtable';
type MHash = { m: Map<string, string>; enc: Enc };
type Check = (reply: RespValue) => string | null;

const I64_MAX = 9223372036854775807n;
const I64_MIN = -9223372036854775808n;

t.test('model test: random operations against a Map model, crossing both thresholds both ways', async (t) => {
  const seed = Number(process.env['HASH_MODEL_SEED'] ?? Date.now() % 1_000_000);
  t.comment(`seed ${seed} (HASH_MODEL_SEED to replay)`);
  const rnd = rng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const model = new Map<string, MHash>();
  let E = 128;
  let V = 64;
  const stats = { ops: 0, toHeap: 0, created: 0, vanished: 0, encodingChecks: 0 };

  const toHashtable = (h: MHash) => {
    if (h.enc === 'listpack') stats.toHeap++;
    h.enc = 'hashtable';
  };
  /** Redis's hashTypeSet on the model. */
  const mset = (h: MHash, f: string, v: string): boolean => {
    if (f.length > V || v.length > V) toHashtable(h);
    const fresh = !h.m.has(f);
    h.m.set(f, v);
    if (h.m.size > E) toHashtable(h);
    return fresh;
  };
  const getOrCreate = (key: string): MHash => {
    let h = model.get(key);
    if (h === undefined) {
      h = { m: new Map(), enc: 'listpack' };
      model.set(key, h);
      stats.created++;
    }
    return h;
  };
  const dropIfEmpty = (key: string, h: MHash) => {
    if (h.m.size === 0) {
      model.delete(key);
      stats.vanished++;
    }
  };
  const same = (want: unknown): Check => (reply) => (JSON.stringify(reply, big) === JSON.stringify(want, big) ? null : `want ${JSON.stringify(want, big)}`);

  // Phase parameters: keys, field pool, value shapes, growth/shrink bias.
  type Phase = { keys: number; fields: () => string; value: () => string; pairsMax: number };
  const phases: Record<'big' | 'small', Phase> = {
    big: {
      keys: 6,
      fields: () => `f${int(rnd() < 0.2 ? 40 : 260)}`,
      value: () => (rnd() < 0.02 ? 'L'.repeat(65 + int(10)) : rnd() < 0.4 ? String(int(1000) - 200) : `v${int(100000)}`),
      pairsMax: 12,
    },
    small: {
      keys: 12,
      fields: () => (rnd() < 0.08 ? `longfield${int(3)}` : `a${int(10)}`),
      value: () => (rnd() < 0.1 ? 'x'.repeat(9 + int(4)) : rnd() < 0.5 ? String(int(100) - 20) : `s${int(999)}`),
      pairsMax: 3,
    },
  };
  /** Per key: grow (mostly HSET) or shrink (mostly HDEL) mode, flipped now and then. */
  const growing = new Map<string, boolean>();

  function op(phase: Phase): { argv: string[]; check: Check } {
    const key = `mk${int(phase.keys)}`;
    if (rnd() < 0.01) growing.set(key, !(growing.get(key) ?? true));
    const grow = growing.get(key) ?? true;
    const h = model.get(key);
    const r = rnd();
    const writeBias = grow ? 0.45 : 0.2;
    if (r < writeBias) {
      // HSET / HMSET with 1..pairsMax pairs (Redis converts up front on any long argument).
      const n = 1 + int(phase.pairsMax);
      const argv = [rnd() < 0.15 ? 'HMSET' : 'HSET', key];
      for (let i = 0; i < n; i++) argv.push(phase.fields(), phase.value());
      const hh = getOrCreate(key);
      if (argv.slice(2).some((a) => a.length > V)) toHashtable(hh);
      let created = 0;
      for (let i = 2; i < argv.length; i += 2) if (mset(hh, argv[i]!, argv[i + 1]!)) created++;
      return { argv, check: same(argv[0] === 'HMSET' ? 'OK' : created) };
    }
    if (r < writeBias + (grow ? 0.08 : 0.3)) {
      const n = 1 + int(grow ? 2 : phase.pairsMax);
      const argv = ['HDEL', key];
      for (let i = 0; i < n; i++) argv.push(rnd() < 0.7 && h && h.m.size > 0 ? [...h.m.keys()][int(h.m.size)]! : phase.fields());
      let removed = 0;
      if (h) {
        for (const f of argv.slice(2)) if (h.m.delete(f)) removed++;
        dropIfEmpty(key, h);
      }
      return { argv, check: same(removed) };
    }
    if (r < 0.55) {
      const f = phase.fields();
      const v = phase.value();
      const argv = ['HSETNX', key, f, v];
      const hh = getOrCreate(key);
      if (hh.m.has(f)) return { argv, check: same(0) };
      mset(hh, f, v);
      return { argv, check: same(1) };
    }
    if (r < 0.62) {
      const f = h && h.m.size > 0 && rnd() < 0.6 ? [...h.m.keys()][int(h.m.size)]! : phase.fields();
      const incr = rnd() < 0.03 ? (rnd() < 0.5 ? I64_MAX - BigInt(int(5)) : I64_MIN + BigInt(int(5))) : BigInt(int(2001) - 1000);
      const argv = ['HINCRBY', key, f, String(incr)];
      const old = h?.m.get(f);
      let cur = 0n;
      if (old !== undefined) {
        if (!/^(0|-?[1-9]\d{0,18})$/.test(old) || BigInt(old) > I64_MAX || BigInt(old) < I64_MIN) return { argv, check: same(HASH_NOT_INT) };
        cur = BigInt(old);
      }
      const next = cur + incr;
      if (next > I64_MAX || next < I64_MIN) return { argv, check: same(OVERFLOW) };
      mset(getOrCreate(key), f, String(next));
      return { argv, check: same(next >= BigInt(Number.MIN_SAFE_INTEGER) && next <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(next) : next) };
    }
    const f = h && h.m.size > 0 && rnd() < 0.7 ? [...h.m.keys()][int(h.m.size)]! : phase.fields();
    if (r < 0.68) return { argv: ['HGET', key, f], check: same(h?.m.get(f) ?? null) };
    if (r < 0.71) {
      const fs = [f, phase.fields(), phase.fields()];
      return { argv: ['HMGET', key, ...fs], check: same(fs.map((x) => h?.m.get(x) ?? null)) };
    }
    if (r < 0.74) return { argv: ['HLEN', key], check: same(h?.m.size ?? 0) };
    if (r < 0.77) return { argv: ['HEXISTS', key, f], check: same(h?.m.has(f) ? 1 : 0) };
    if (r < 0.8) return { argv: ['HSTRLEN', key, f], check: same(h?.m.get(f)?.length ?? 0) };
    if (r < 0.86) {
      stats.encodingChecks++;
      return { argv: ['OBJECT', 'ENCODING', key], check: same(h?.enc ?? null) };
    }
    if (r < 0.91) {
      // Listpack order is exact; a hashtable's is the server's own.
      const flat = h ? [...h.m].flat() : [];
      if (!h || h.enc === 'listpack') return { argv: ['HGETALL', key], check: same(flat) };
      const sorted = pairs(flat);
      return { argv: ['HGETALL', key], check: (reply) => (JSON.stringify(pairs(reply)) === JSON.stringify(sorted) ? null : 'hashtable HGETALL differs (sorted)') };
    }
    // HRANDFIELD: membership against a snapshot of the model.
    const snap = new Map(h?.m ?? []);
    const size = snap.size;
    const form = int(4);
    if (form === 0) {
      return { argv: ['HRANDFIELD', key], check: (reply) => (size === 0 ? (reply === null ? null : 'want nil') : typeof reply === 'string' && snap.has(reply) ? null : 'not a field') };
    }
    const count = int(2 * size + 3) - size - 1;
    const withValues = form === 3;
    const argv = ['HRANDFIELD', key, String(count), ...(withValues ? ['WITHVALUES'] : [])];
    return {
      argv,
      check: (reply) => {
        if (!Array.isArray(reply)) return 'not an array';
        const want = size === 0 || count === 0 ? 0 : count > 0 ? Math.min(count, size) : -count;
        const fields = withValues ? reply.filter((_, i) => i % 2 === 0) : reply;
        if (fields.length !== want) return `want ${want} fields, got ${fields.length}`;
        if (!fields.every((x) => typeof x === 'string' && snap.has(x))) return 'a reply field is not in the hash';
        if (count > 0 && new Set(fields).size !== fields.length) return 'repeated field for a positive count';
        if (withValues) for (let i = 0; i < reply.length; i += 2) if (snap.get(reply[i] as string) !== reply[i + 1]) return 'value does not match';
        return null;
      },
    };
  }

  let failures = 0;
  async function runPhase(phase: Phase, n: number): Promise<void> {
    const ops = Array.from({ length: n }, () => op(phase));
    const replies = await runMany(run, ops.map((o) => o.argv), 1000);
    for (let i = 0; i < n && failures < 10; i++) {
      const problem = ops[i]!.check(replies[i]!);
      if (problem !== null) {
        failures++;
        t.fail(`op ${stats.ops + i}: ${ops[i]!.argv.join(' ').slice(0, 200)} → ${JSON.stringify(replies[i], big).slice(0, 300)}: ${problem.slice(0, 300)}`);
      }
    }
    stats.ops += n;
  }

  await runPhase(phases.big, 40_000);
  await setLimits(4, 8);
  E = 4;
  V = 8;
  await runPhase(phases.small, 40_000);
  await setLimits(128, 64);
  E = 128;
  V = 64;
  await runPhase(phases.big, 25_000);
  // Final state: every key matches the model exactly (order-free for hashtables).
  for (const [key, h] of model) {
    t.equal(await run(['OBJECT', 'ENCODING', key]), h.enc, `${key} encoding`);
    t.same(pairs(await run(['HGETALL', key])), pairs([...h.m].flat()), `${key} contents`);
  }
  t.equal(failures, 0, `${stats.ops} operations matched the model`);
  t.ok(stats.toHeap > 20, `hashes converted to hashtable ${stats.toHeap} times`);
  t.ok(stats.vanished > 20, `hashes emptied and recreated ${stats.vanished} times (created ${stats.created})`);
  t.ok(stats.encodingChecks > 1000, `${stats.encodingChecks} OBJECT ENCODING checks`);
});

/** JSON.stringify replacer for bigint. */
function big(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `${v}n` : v;
}

t.test('COMMAND INFO rows', { skip: !isShoal && 'Shoal table check' }, async (t) => {
  const info = (await run(['COMMAND', 'INFO', 'hset', 'hget', 'hgetall', 'hscan'])) as unknown[][];
  t.same(info.map((r) => [r[0], r[1], r[3], r[4], r[5]]), [
    ['hset', -4, 1, 1, 1], ['hget', 3, 1, 1, 1], ['hgetall', 2, 1, 1, 1], ['hscan', -3, 1, 1, 1],
  ]);
});
