// String commands, Redis 7 replies and error strings byte for byte. Runs against the
// Shoal proxy by default, or a real redis-server with SHOAL_TEST_TARGET=redis.
// Keys without hash tags land on different workers, so multi-key commands here
// cross workers through the proxy.

import t from 'tap';
import { isShoal, useTarget } from '../helpers/cluster.js';
import { err, expectReplies, sleep } from '../helpers/run.js';

const { run, runRaw } = await useTarget(t);

const SYNTAX = err('ERR syntax error');
const NOT_INT = err('ERR value is not an integer or out of range');
const NOT_FLOAT = err('ERR value is not a valid float');
const arity = (cmd: string) => err(`ERR wrong number of arguments for '${cmd}' command`);
const badExpire = (cmd: string) => err(`ERR invalid expire time in '${cmd}' command`);

/** Asserts `n` is within [lo, hi]. */
function between(tt: { ok(v: unknown, m: string): unknown }, n: unknown, lo: number, hi: number, msg: string): void {
  tt.ok(typeof n === 'number' && n >= lo && n <= hi, `${msg}: ${String(n)} in [${lo}, ${hi}]`);
}

t.beforeEach(async () => {
  await run(['FLUSHALL']);
});

t.test('GET and SET reply types on the wire', async (t) => {
  t.equal((await runRaw(['SET', 'k', 'v'])).toString(), '+OK\r\n');
  t.equal((await runRaw(['GET', 'k'])).toString(), '$1\r\nv\r\n');
  t.equal((await runRaw(['GET', 'missing'])).toString(), '$-1\r\n');
  t.equal((await runRaw(['SET', 'k', ''])).toString(), '+OK\r\n');
  t.equal((await runRaw(['GET', 'k'])).toString(), '$0\r\n\r\n');
  t.equal((await runRaw(['STRLEN', 'k'])).toString(), ':0\r\n');
});

t.test('values are binary safe', async (t) => {
  const value = Buffer.from([0, 1, 2, 13, 10, 0xff, 0xfe, 36, 42, 43, 45, 58]);
  t.same(await run(['SET', Buffer.from([0xde, 0xad, 0, 0xbe]), value]), 'OK');
  t.same(await run(['GET', Buffer.from([0xde, 0xad, 0, 0xbe])], { buffers: true }), value);
  const big = Buffer.alloc(256 * 1024, 'x');
  t.same(await run(['SET', 'big', big]), 'OK');
  t.same(await run(['STRLEN', 'big']), big.length);
  t.same(await run(['GET', 'big'], { buffers: true }), big);
});

t.test('SET expiry options', async (t) => {
  await expectReplies(t, run, [
    [['SET', 'k', 'v', 'EX', '100'], 'OK'],
    [['TTL', 'k'], 100],
    [['SET', 'k', 'v'], 'OK'],
    [['TTL', 'k'], -1],
  ]);
  t.same(await run(['SET', 'px', 'v', 'PX', '100000']), 'OK');
  between(t, await run(['PTTL', 'px']), 99_000, 100_000, 'PX 100000');
  const now = Math.floor(Date.now() / 1000);
  t.same(await run(['SET', 'exat', 'v', 'EXAT', String(now + 100)]), 'OK');
  between(t, await run(['TTL', 'exat']), 98, 101, 'EXAT now+100');
  t.same(await run(['EXPIRETIME', 'exat']), now + 100);
  const nowMs = Date.now();
  t.same(await run(['SET', 'pxat', 'v', 'PXAT', String(nowMs + 100_000)]), 'OK');
  t.same(await run(['PEXPIRETIME', 'pxat']), nowMs + 100_000);
  // An absolute time in the past stores nothing visible.
  await expectReplies(t, run, [
    [['SET', 'past', 'v', 'EXAT', '1'], 'OK'],
    [['EXISTS', 'past'], 0],
    [['SET', 'past', 'v', 'PXAT', '1'], 'OK'],
    [['GET', 'past'], null],
  ]);
});

t.test('SET NX XX GET KEEPTTL', async (t) => {
  await expectReplies(t, run, [
    [['SET', 'k', 'v1', 'NX'], 'OK'],
    [['SET', 'k', 'v2', 'NX'], null],
    [['GET', 'k'], 'v1'],
    [['SET', 'k', 'v3', 'XX'], 'OK'],
    [['GET', 'k'], 'v3'],
    [['SET', 'nx', 'v', 'XX'], null],
    [['EXISTS', 'nx'], 0],
    [['SET', 'k', 'v4', 'GET'], 'v3'],
    [['SET', 'new', 'v', 'GET'], null],
    [['GET', 'new'], 'v'],
    // Redis 7: GET combines with NX (and XX) and returns the old value either way.
    [['SET', 'k', 'v5', 'NX', 'GET'], 'v4'],
    [['GET', 'k'], 'v4'],
    [['SET', 'fresh', 'v', 'NX', 'GET'], null],
    [['GET', 'fresh'], 'v'],
    [['SET', 'k', 'v6', 'XX', 'GET'], 'v4'],
    [['SET', 'absent', 'v', 'XX', 'GET'], null],
    [['EXISTS', 'absent'], 0],
    // Repeating the same option is accepted.
    [['SET', 'k', 'v7', 'EX', '10', 'EX', '10'], 'OK'],
    [['SET', 'k', 'v8', 'EX', '100'], 'OK'],
    [['SET', 'k', 'v9', 'KEEPTTL'], 'OK'],
    [['TTL', 'k'], 100],
    [['GET', 'k'], 'v9'],
    [['SET', 'k', 'v10'], 'OK'],
    [['TTL', 'k'], -1],
  ]);
});

t.test('SET errors', async (t) => {
  await expectReplies(t, run, [
    [['SET', 'k'], arity('set')],
    [['SET'], arity('set')],
    [['SET', 'k', 'v', 'NX', 'XX'], SYNTAX],
    [['SET', 'k', 'v', 'XX', 'NX'], SYNTAX],
    [['SET', 'k', 'v', 'EX', '10', 'PX', '10'], SYNTAX],
    [['SET', 'k', 'v', 'EX', '10', 'EXAT', '10'], SYNTAX],
    [['SET', 'k', 'v', 'PXAT', '10', 'PX', '10'], SYNTAX],
    [['SET', 'k', 'v', 'KEEPTTL', 'EX', '10'], SYNTAX],
    [['SET', 'k', 'v', 'PX', '10', 'KEEPTTL'], SYNTAX],
    [['SET', 'k', 'v', 'FOO'], SYNTAX],
    [['SET', 'k', 'v', 'EX'], SYNTAX],
    [['SET', 'k', 'v', 'PX'], SYNTAX],
    [['SET', 'k', 'v', 'EX', 'abc'], NOT_INT],
    [['SET', 'k', 'v', 'EX', '1.5'], NOT_INT],
    [['SET', 'k', 'v', 'EX', '0'], badExpire('set')],
    [['SET', 'k', 'v', 'EX', '-1'], badExpire('set')],
    [['SET', 'k', 'v', 'PX', '0'], badExpire('set')],
    [['SET', 'k', 'v', 'EXAT', '0'], badExpire('set')],
    [['SET', 'k', 'v', 'PXAT', '-5'], badExpire('set')],
    [['SET', 'k', 'v', 'EX', '9999999999999999'], badExpire('set')],
    [['EXISTS', 'k'], 0],
  ]);
});

t.test('SETNX SETEX PSETEX GETSET GETDEL', async (t) => {
  await expectReplies(t, run, [
    [['SETNX', 'k', 'a'], 1],
    [['SETNX', 'k', 'b'], 0],
    [['GET', 'k'], 'a'],
    [['SETEX', 'e', '100', 'v'], 'OK'],
    [['TTL', 'e'], 100],
    [['SETEX', 'e', '0', 'v'], badExpire('setex')],
    [['SETEX', 'e', '-1', 'v'], badExpire('setex')],
    [['SETEX', 'e', 'abc', 'v'], NOT_INT],
    [['SETEX', 'e', '10'], arity('setex')],
    [['PSETEX', 'p', '0', 'v'], badExpire('psetex')],
    [['GETSET', 'k', 'c'], 'a'],
    [['GETSET', 'gnew', 'z'], null],
    [['GET', 'k'], 'c'],
    [['GETDEL', 'k'], 'c'],
    [['GETDEL', 'k'], null],
    [['EXISTS', 'k'], 0],
    [['GETDEL'], arity('getdel')],
  ]);
  t.same(await run(['PSETEX', 'p', '100000', 'v']), 'OK');
  between(t, await run(['PTTL', 'p']), 99_000, 100_000, 'PSETEX');
  // GETSET clears the TTL like SET.
  await expectReplies(t, run, [
    [['GETSET', 'e', 'w'], 'v'],
    [['TTL', 'e'], -1],
  ]);
});

t.test('GETEX', async (t) => {
  await expectReplies(t, run, [
    [['GETEX', 'nokey'], null],
    [['GETEX', 'nokey', 'EX', '10'], null],
    [['EXISTS', 'nokey'], 0],
    [['SET', 'k', 'v'], 'OK'],
    [['GETEX', 'k'], 'v'],
    [['TTL', 'k'], -1],
    [['GETEX', 'k', 'EX', '100'], 'v'],
    [['TTL', 'k'], 100],
    [['GETEX', 'k', 'PERSIST'], 'v'],
    [['TTL', 'k'], -1],
    [['GETEX', 'k', 'PERSIST', 'EX', '10'], SYNTAX],
    [['GETEX', 'k', 'EX', '10', 'PX', '10'], SYNTAX],
    [['GETEX', 'k', 'FOO'], SYNTAX],
    [['GETEX', 'k', 'EX', '0'], badExpire('getex')],
    [['GETEX', 'k', 'PX', '-1'], badExpire('getex')],
    [['GETEX', 'k', 'EX', 'x'], NOT_INT],
    [['GETEX'], arity('getex')],
    [['GETEX', 'k', 'EXAT', '1'], 'v'],
    [['EXISTS', 'k'], 0],
  ]);
  await run(['SET', 'k', 'v']);
  t.same(await run(['GETEX', 'k', 'PX', '100000']), 'v');
  between(t, await run(['PTTL', 'k']), 99_000, 100_000, 'GETEX PX');
  const at = Math.floor(Date.now() / 1000) + 500;
  t.same(await run(['GETEX', 'k', 'EXAT', String(at)]), 'v');
  t.same(await run(['EXPIRETIME', 'k']), at);
  const atMs = Date.now() + 500_000;
  t.same(await run(['GETEX', 'k', 'PXAT', String(atMs)]), 'v');
  t.same(await run(['PEXPIRETIME', 'k']), atMs);
});

t.test('MGET MSET MSETNX across workers', async (t) => {
  await expectReplies(t, run, [
    [['MSET', 'a', '1', 'b', '2', 'c', '3', 'd', '4', 'e', '5'], 'OK'],
    [['MGET', 'a', 'nope', 'b', 'c', 'd', 'e', 'a'], ['1', null, '2', '3', '4', '5', '1']],
    [['MSET', 'a', '10', 'a', '11'], 'OK'],
    [['GET', 'a'], '11'],
    [['MSET', 'a'], arity('mset')],
    [['MSET', 'a', '1', 'b'], arity('mset')],
    [['MGET'], arity('mget')],
    [['MSET', '{t}x', '1', '{t}y', '2'], 'OK'],
    [['MGET', '{t}x', '{t}y'], ['1', '2']],
  ]);
  // MSETNX is all-or-nothing. Keys sharing a hash tag live on one worker, so this holds
  // everywhere.
  await expectReplies(t, run, [
    [['MSETNX', '{n}1', 'a', '{n}2', 'b', '{n}3', 'c'], 1],
    [['MGET', '{n}1', '{n}2', '{n}3'], ['a', 'b', 'c']],
    [['MSETNX', '{n}4', 'x', '{n}2', 'y', '{n}5', 'z'], 0],
    [['MGET', '{n}4', '{n}2', '{n}5'], [null, 'b', null]],
    [['MSETNX', '{n}1'], arity('msetnx')],
    [['MSETNX', '{n}1', 'a', '{n}2'], arity('msetnx')],
  ]);
  // Across workers, Shoal's proxy refuses MSETNX with CROSSSLOT rather than give up
  // atomicity (the other allowed outcome would be doing it atomically); one Redis
  // server simply does it.
  const crossslot = err("CROSSSLOT Keys in request don't hash to the same slot");
  const spread = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7', 'n8'];
  const first = await run(['MSETNX', ...spread.flatMap((k) => [k, 'v'])]);
  if (isShoal) {
    t.same(first, crossslot, 'cross-worker MSETNX → CROSSSLOT');
    t.same(await run(['EXISTS', ...spread]), 0, 'nothing written');
  } else {
    t.same(first, 1, 'MSETNX n1..n8');
    t.same(await run(['MSETNX', 'n9', 'v', 'n1', 'w']), 0);
    t.same(await run(['MGET', 'n9', 'n1']), [null, 'v']);
  }
  // MSET clears TTLs.
  await run(['SET', 'a', 'v', 'EX', '100']);
  await run(['MSET', 'a', 'w']);
  t.same(await run(['TTL', 'a']), -1);
});

t.test('APPEND STRLEN', async (t) => {
  await expectReplies(t, run, [
    [['APPEND', 'k', 'hello'], 5],
    [['APPEND', 'k', ' world'], 11],
    [['GET', 'k'], 'hello world'],
    [['STRLEN', 'k'], 11],
    [['STRLEN', 'none'], 0],
    [['APPEND', 'k', ''], 11],
    [['APPEND', 'e', ''], 0],
    [['EXISTS', 'e'], 1],
    [['APPEND'], arity('append')],
    [['STRLEN', 'a', 'b'], arity('strlen')],
    [['SET', 'u', 'héllo'], 'OK'],
    [['STRLEN', 'u'], 6],
  ]);
  // APPEND keeps the TTL.
  await run(['SET', 'ttl', 'a', 'EX', '100']);
  await run(['APPEND', 'ttl', 'b']);
  t.same(await run(['TTL', 'ttl']), 100);
});

t.test('INCR DECR INCRBY DECRBY', async (t) => {
  await expectReplies(t, run, [
    [['INCR', 'n'], 1],
    [['INCR', 'n'], 2],
    [['DECR', 'n'], 1],
    [['INCRBY', 'n', '10'], 11],
    [['DECRBY', 'n', '20'], -9],
    [['INCRBY', 'n', '-1'], -10],
    [['GET', 'n'], '-10'],
    [['DECR', 'd'], -1],
    [['INCRBY', 'i', '-5'], -5],
    [['SET', 'n', '9223372036854775806'], 'OK'],
    [['INCR', 'n'], 9223372036854775807n],
    [['INCR', 'n'], err('ERR increment or decrement would overflow')],
    [['SET', 'n', '-9223372036854775808'], 'OK'],
    [['DECR', 'n'], err('ERR increment or decrement would overflow')],
    [['SET', 'n', '10'], 'OK'],
    [['DECRBY', 'n', '-9223372036854775808'], err('ERR decrement would overflow')],
    [['INCRBY', 'n', '9223372036854775807'], err('ERR increment or decrement would overflow')],
    [['INCRBY', 'n', '1.5'], NOT_INT],
    [['INCRBY', 'n', 'abc'], NOT_INT],
    [['INCRBY', 'n', '9223372036854775808'], NOT_INT],
    [['DECRBY', 'n', '1', '2'], arity('decrby')],
    [['INCR'], arity('incr')],
    [['SET', 's', 'abc'], 'OK'],
    [['INCR', 's'], NOT_INT],
    [['SET', 's', '01'], 'OK'],
    [['INCR', 's'], NOT_INT],
    [['SET', 's', ' 1'], 'OK'],
    [['INCR', 's'], NOT_INT],
    [['SET', 's', '1.0'], 'OK'],
    [['DECR', 's'], NOT_INT],
    [['SET', 's', ''], 'OK'],
    [['INCR', 's'], NOT_INT],
    [['GET', 's'], ''],
  ]);
  t.equal((await runRaw(['INCR', 'raw'])).toString(), ':1\r\n');
  // INCR keeps the TTL.
  await run(['SET', 'ttl', '5', 'EX', '100']);
  t.same(await run(['INCR', 'ttl']), 6);
  t.same(await run(['TTL', 'ttl']), 100);
});

t.test('INCRBYFLOAT', async (t) => {
  await expectReplies(t, run, [
    [['SET', 'f', '10'], 'OK'],
    [['INCRBYFLOAT', 'f', '0.5'], '10.5'],
    [['INCRBYFLOAT', 'f', '5.0e3'], '5010.5'],
    [['INCRBYFLOAT', 'f', '-5010.5'], '0'],
    [['INCRBYFLOAT', 'f', '0.1'], '0.1'],
    [['GET', 'f'], '0.1'],
    [['INCRBYFLOAT', 'nf', '5.0e3'], '5000'],
    [['INCRBYFLOAT', 'nf2', '1.0'], '1'],
    [['INCRBYFLOAT', 'nf2', '2.50'], '3.5'],
    [['INCRBYFLOAT', 'nf2', '-4'], '-0.5'],
    [['SET', 'f', '3.0e3'], 'OK'],
    [['INCRBYFLOAT', 'f', '1'], '3001'],
    [['SET', 'f', '1.10'], 'OK'],
    [['INCRBYFLOAT', 'f', '0'], '1.1'],
    [['SET', 'f', '1'], 'OK'],
    [['INCRBYFLOAT', 'f', '1.1e-5'], '1.000011'],
    [['INCRBYFLOAT', 'f', 'abc'], NOT_FLOAT],
    [['INCRBYFLOAT', 'f', ''], NOT_FLOAT],
    [['INCRBYFLOAT', 'f', '1 '], NOT_FLOAT],
    [['INCRBYFLOAT', 'f', 'nan'], NOT_FLOAT],
    [['INCRBYFLOAT', 'f', 'inf'], err('ERR increment would produce NaN or Infinity')],
    [['INCRBYFLOAT', 'f', '-inf'], err('ERR increment would produce NaN or Infinity')],
    [['SET', 's', 'abc'], 'OK'],
    [['INCRBYFLOAT', 's', '1'], NOT_FLOAT],
    [['INCRBYFLOAT', 's'], arity('incrbyfloat')],
    // Redis adds in 80-bit long double and prints 17 decimals: not what a double gives.
    [['SET', 'ld', '0.1'], 'OK'],
    [['INCRBYFLOAT', 'ld', '0.2'], '0.3'],
    [['SET', 'ld', '314000'], 'OK'],
    [['INCRBYFLOAT', 'ld', '0.1'], '314000.09999999999999432'],
    [['INCRBYFLOAT', 'ld', '0.2'], '314000.29999999999998295'],
    [['SET', 'ld', '0.3'], 'OK'],
    [['INCRBYFLOAT', 'ld', '1e10'], '10000000000.29999999981373549'],
    [['INCRBYFLOAT', 'ld', '3.3333333333333'], '10000000003.63333333283662796'],
    [['INCRBYFLOAT', 'ld', '-10000000003'], '0.63333333283662796'],
    [['INCRBYFLOAT', 'ld', '-0.63333333283662796'], '0'],
    [['SET', 'ld', '1e4932'], 'OK'],
    [['INCRBYFLOAT', 'ld', '1e4932'], err('ERR increment would produce NaN or Infinity')],
  ]);
  // The reply is a bulk string, not a RESP integer.
  t.equal((await runRaw(['INCRBYFLOAT', 'raw', '2'])).toString(), '$1\r\n2\r\n');
  await run(['SET', 'ttl', '1.5', 'EX', '100']);
  t.same(await run(['INCRBYFLOAT', 'ttl', '1']), '2.5');
  t.same(await run(['TTL', 'ttl']), 100);
});

t.test('GETRANGE SUBSTR', async (t) => {
  await expectReplies(t, run, [
    [['SET', 's', 'This is a string'], 'OK'],
    [['GETRANGE', 's', '0', '3'], 'This'],
    [['GETRANGE', 's', '-3', '-1'], 'ing'],
    [['GETRANGE', 's', '0', '-1'], 'This is a string'],
    [['GETRANGE', 's', '10', '100'], 'string'],
    [['GETRANGE', 's', '5', '3'], ''],
    [['GETRANGE', 's', '-100', '2'], 'Thi'],
    [['GETRANGE', 's', '16', '20'], ''],
    [['GETRANGE', 'nos', '0', '10'], ''],
    [['GETRANGE', 's', '0', 'abc'], NOT_INT],
    [['GETRANGE', 's', '0'], arity('getrange')],
    [['SUBSTR', 's', '0', '3'], 'This'],
    [['SUBSTR', 's', '-6', '-1'], 'string'],
    [['SUBSTR', 'nos', '0', '3'], ''],
  ]);
});

t.test('SETRANGE', async (t) => {
  await expectReplies(t, run, [
    [['SET', 'k', 'Hello World'], 'OK'],
    [['SETRANGE', 'k', '6', 'Redis'], 11],
    [['GET', 'k'], 'Hello Redis'],
    [['SETRANGE', 'k', '11', '!!'], 13],
    [['GET', 'k'], 'Hello Redis!!'],
    [['SETRANGE', 'pad', '5', 'a'], 6],
    [['GET', 'pad'], '\0\0\0\0\0a'],
    [['SETRANGE', 'pad', '8', 'b'], 9],
    [['GET', 'pad'], '\0\0\0\0\0a\0\0b'],
    // An empty value creates nothing and checks no size limit.
    [['SETRANGE', 'e', '0', ''], 0],
    [['SETRANGE', 'e', '10', ''], 0],
    [['SETRANGE', 'e', '536870912', ''], 0],
    [['EXISTS', 'e'], 0],
    [['SETRANGE', 'k', '536870912', ''], 13],
    [['SETRANGE', 'k', '-1', 'a'], err('ERR offset is out of range')],
    [['SETRANGE', 'k', 'abc', 'a'], NOT_INT],
    [['SETRANGE', 'k', '536870912', 'a'], err('ERR string exceeds maximum allowed size (proto-max-bulk-len)')],
    [['SETRANGE', 'n', '536870911', 'ab'], err('ERR string exceeds maximum allowed size (proto-max-bulk-len)')],
    [['EXISTS', 'n'], 0],
    [['SETRANGE', 'k', '1'], arity('setrange')],
  ]);
});

t.test('LCS', async (t) => {
  await expectReplies(t, run, [
    [['MSET', 'key1', 'ohmytext', 'key2', 'mynewtext'], 'OK'],
    [['LCS', 'key1', 'key2'], 'mytext'],
    [['LCS', 'key1', 'key2', 'LEN'], 6],
    [
      ['LCS', 'key1', 'key2', 'IDX'],
      ['matches', [[[4, 7], [5, 8]], [[2, 3], [0, 1]]], 'len', 6],
    ],
    [['LCS', 'key1', 'key2', 'IDX', 'MINMATCHLEN', '4'], ['matches', [[[4, 7], [5, 8]]], 'len', 6]],
    [
      ['LCS', 'key1', 'key2', 'IDX', 'MINMATCHLEN', '4', 'WITHMATCHLEN'],
      ['matches', [[[4, 7], [5, 8], 4]], 'len', 6],
    ],
    [
      ['LCS', 'key1', 'key2', 'IDX', 'WITHMATCHLEN'],
      ['matches', [[[4, 7], [5, 8], 4], [[2, 3], [0, 1], 2]], 'len', 6],
    ],
    [['LCS', 'key1', 'key2', 'LEN', 'IDX'], err('ERR If you want both the length and indexes, please just use IDX.')],
    [['LCS', 'key1', 'key2', 'FOO'], SYNTAX],
    [['LCS', 'key1', 'nokey'], ''],
    [['LCS', 'nokey', 'nokey2', 'LEN'], 0],
    [['LCS', 'key1'], arity('lcs')],
    [['MSET', '{l}a', 'ABCBDAB', '{l}b', 'BDCABA'], 'OK'],
    [['LCS', '{l}a', '{l}b', 'LEN'], 4],
  ]);
});

t.test('expired keys are never returned', async (t) => {
  await expectReplies(t, run, [
    [['SET', 'gone', 'v', 'PX', '50'], 'OK'],
    [['SET', 'stay', 'v'], 'OK'],
    [['SET', 'gone2', 'v', 'PX', '50'], 'OK'],
  ]);
  await sleep(120);
  await expectReplies(t, run, [
    [['GET', 'gone'], null],
    [['EXISTS', 'gone', 'gone2', 'stay'], 1],
    [['KEYS', '*'], ['stay']],
    [['MGET', 'gone', 'stay', 'gone2'], [null, 'v', null]],
    [['STRLEN', 'gone2'], 0],
    [['TTL', 'gone'], -2],
    [['APPEND', 'gone', 'x'], 1],
    [['TTL', 'gone'], -1],
    [['SETNX', 'gone2', 'n'], 1],
  ]);
});
