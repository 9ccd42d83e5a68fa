// List commands, Redis 7 replies and error strings byte for byte, through the Shoal
// proxy (or a real redis-server with SHOAL_TEST_TARGET=redis). Two-key commands keep
// their keys in one hash tag; RENAME/COPY use untagged keys so they cross workers.
// Blocking waits are tested straight against a worker in blocking.test.ts; here the
// blocking commands only run where they do not wait.

import t from 'tap';
import { Redis } from 'ioredis';
import { isShoal, useTarget } from '../helpers/cluster.js';
import { RespClient, err, expectReplies, runMany, type RespValue } from '../helpers/run.js';
import { rng as prng } from '../helpers/random.js';

const { target, run, runRaw } = await useTarget(t);

const SYNTAX = err('ERR syntax error');
const NOT_INT = err('ERR value is not an integer or out of range');
const WRONGTYPE = err('WRONGTYPE Operation against a key holding the wrong kind of value');
const arity = (cmd: string) => err(`ERR wrong number of arguments for '${cmd}' command`);

t.beforeEach(async () => {
  await run(['FLUSHALL']);
  await run(['CONFIG', 'SET', 'list-max-listpack-size', '-2']);
});

t.test('push, pop and length: wire replies', async (t) => {
  t.equal((await runRaw(['RPUSH', 'l', 'a', 'b', 'c'])).toString(), ':3\r\n');
  t.equal((await runRaw(['LPUSH', 'l', 'z'])).toString(), ':4\r\n');
  t.equal((await runRaw(['LRANGE', 'l', '0', '-1'])).toString(), '*4\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n');
  t.equal((await runRaw(['LPOP', 'l'])).toString(), '$1\r\nz\r\n');
  t.equal((await runRaw(['RPOP', 'l'])).toString(), '$1\r\nc\r\n');
  t.equal((await runRaw(['LLEN', 'l'])).toString(), ':2\r\n');
  t.equal((await runRaw(['LPOP', 'missing'])).toString(), '$-1\r\n');
  t.equal((await runRaw(['LPOP', 'missing', '2'])).toString(), '*-1\r\n');
  t.equal((await runRaw(['LPOP', 'missing', '0'])).toString(), '*-1\r\n');
  t.equal((await runRaw(['LPOP', 'l', '0'])).toString(), '*0\r\n');
  t.equal((await runRaw(['RPOP', 'l', '0'])).toString(), '*0\r\n');
  t.equal((await runRaw(['LLEN', 'missing'])).toString(), ':0\r\n');
  t.equal((await runRaw(['LRANGE', 'missing', '0', '-1'])).toString(), '*0\r\n');
  t.equal((await runRaw(['LINDEX', 'missing', '0'])).toString(), '$-1\r\n');
  await expectReplies(t, run, [
    [['LPUSH', 'l2', 'a', 'b', 'c'], 3],
    [['LRANGE', 'l2', '0', '-1'], ['c', 'b', 'a']],
    [['LPUSHX', 'nx', 'a'], 0],
    [['RPUSHX', 'nx', 'a', 'b'], 0],
    [['EXISTS', 'nx'], 0],
    [['LPUSHX', 'l2', 'x', 'y'], 5],
    [['RPUSHX', 'l2', 'p', 'q'], 7],
    [['LRANGE', 'l2', '0', '-1'], ['y', 'x', 'c', 'b', 'a', 'p', 'q']],
    [['LPOP', 'l2', '3'], ['y', 'x', 'c']],
    [['RPOP', 'l2', '2'], ['q', 'p']],
    [['RPOP', 'l2', '10'], ['a', 'b']],
    [['EXISTS', 'l2'], 0],
    [['RPUSH', 'l3', 'only'], 1],
    [['LPOP', 'l3'], 'only'],
    [['EXISTS', 'l3'], 0],
    [['RPUSH', 'l4', ''], 1],
    [['LRANGE', 'l4', '0', '-1'], ['']],
    [['LPOP', 'l4', '9223372036854775807'], ['']],
  ]);
});

t.test('LPOP / RPOP count errors', async (t) => {
  await run(['RPUSH', 'l', 'a']);
  await expectReplies(t, run, [
    [['LPOP', 'l', '-1'], err('ERR value is out of range, must be positive')],
    [['RPOP', 'l', 'abc'], err('ERR value is out of range, must be positive')],
    [['LPOP', 'missing', '-1'], err('ERR value is out of range, must be positive')],
    [['LPOP', 'l', '1', '2'], arity('lpop')],
    [['RPOP', 'l', '1', '2'], arity('rpop')],
    [['LPOP'], arity('lpop')],
    [['LLEN', 'l'], 1],
  ]);
});

t.test('RESP3 reply shapes', async (t) => {
  const c = await RespClient.connect(target.port);
  t.teardown(() => c.close());
  await c.run(['HELLO', '3']);
  await c.run(['RPUSH', 'l', 'a', 'b', 'c']);
  t.equal((await c.runRaw(['LPOP', 'missing'])).toString(), '_\r\n');
  t.equal((await c.runRaw(['LPOP', 'missing', '2'])).toString(), '_\r\n');
  t.equal((await c.runRaw(['LPOP', 'missing', '0'])).toString(), '_\r\n');
  t.equal((await c.runRaw(['LPOP', 'l', '0'])).toString(), '*0\r\n');
  t.equal((await c.runRaw(['RPOP', 'l', '2'])).toString(), '*2\r\n$1\r\nc\r\n$1\r\nb\r\n');
  t.equal((await c.runRaw(['LINDEX', 'l', '5'])).toString(), '_\r\n');
  t.equal((await c.runRaw(['LPOS', 'l', 'zz'])).toString(), '_\r\n');
  t.equal((await c.runRaw(['LPOS', 'missing', 'zz'])).toString(), '_\r\n');
  t.equal((await c.runRaw(['LPOS', 'missing', 'zz', 'COUNT', '0'])).toString(), '*0\r\n');
  t.equal((await c.runRaw(['LMPOP', '1', 'missing', 'LEFT'])).toString(), '_\r\n');
  t.equal((await c.runRaw(['LMOVE', '{t}missing', '{t}x', 'LEFT', 'LEFT'])).toString(), '_\r\n');
  t.equal((await c.runRaw(['LMPOP', '1', 'l', 'LEFT'])).toString(), '*2\r\n$1\r\nl\r\n*1\r\n$1\r\na\r\n');
  t.equal((await c.runRaw(['RPUSH', '{t}a', 'x'])).toString(), ':1\r\n');
  t.equal((await c.runRaw(['BLPOP', '{t}b', '{t}a', '0'])).toString(), '*2\r\n$4\r\n{t}a\r\n$1\r\nx\r\n');
});

t.test('LRANGE and LINDEX boundaries', async (t) => {
  await run(['RPUSH', 'l', '0', '1', '2', '3', '4', '5']);
  await expectReplies(t, run, [
    [['LRANGE', 'l', '0', '0'], ['0']],
    [['LRANGE', 'l', '-2', '-1'], ['4', '5']],
    [['LRANGE', 'l', '-100', '1'], ['0', '1']],
    [['LRANGE', 'l', '4', '100'], ['4', '5']],
    [['LRANGE', 'l', '6', '10'], []],
    [['LRANGE', 'l', '3', '2'], []],
    [['LRANGE', 'l', '-1', '-2'], []],
    [['LRANGE', 'l', '0', '9223372036854775807'], ['0', '1', '2', '3', '4', '5']],
    [['LRANGE', 'l', '-9223372036854775808', '0'], ['0']],
    [['LRANGE', 'l', '0', '9223372036854775808'], NOT_INT],
    [['LRANGE', 'l', 'x', '1'], NOT_INT],
    [['LRANGE', 'l', '0', '1.5'], NOT_INT],
    [['LRANGE', 'missing', 'x', '1'], NOT_INT],
    [['LINDEX', 'l', '0'], '0'],
    [['LINDEX', 'l', '-1'], '5'],
    [['LINDEX', 'l', '-6'], '0'],
    [['LINDEX', 'l', '-7'], null],
    [['LINDEX', 'l', '6'], null],
    [['LINDEX', 'l', 'x'], NOT_INT],
    [['LINDEX', 'missing', 'x'], null],
    [['LINDEX', 'l', '9223372036854775807'], null],
  ]);
});

t.test('LSET', async (t) => {
  await run(['RPUSH', 'l', 'a', 'b', 'c']);
  await run(['SET', 's', 'v']);
  await expectReplies(t, run, [
    [['LSET', 'l', '0', 'A'], 'OK'],
    [['LSET', 'l', '-1', 'C'], 'OK'],
    [['LSET', 'l', '1', ''], 'OK'],
    [['LRANGE', 'l', '0', '-1'], ['A', '', 'C']],
    [['LSET', 'l', '3', 'x'], err('ERR index out of range')],
    [['LSET', 'l', '-4', 'x'], err('ERR index out of range')],
    [['LSET', 'l', 'x', 'x'], NOT_INT],
    [['LSET', 'missing', '0', 'x'], err('ERR no such key')],
    [['LSET', 'missing', 'x', 'x'], err('ERR no such key')],
    [['LSET', 's', '0', 'x'], WRONGTYPE],
    [['LSET', 'l', '0'], arity('lset')],
  ]);
  // A long value moves the list past the packed limit: still readable.
  const big = 'x'.repeat(20_000);
  t.same(await run(['LSET', 'l', '1', big]), 'OK');
  t.same(await run(['LINDEX', 'l', '1']), big);
  t.same(await run(['OBJECT', 'ENCODING', 'l']), 'quicklist');
});

t.test('LINSERT', async (t) => {
  await run(['RPUSH', 'l', 'a', 'b', 'c', 'b']);
  await run(['SET', 's', 'v']);
  await expectReplies(t, run, [
    [['LINSERT', 'l', 'BEFORE', 'b', 'x'], 5],
    [['LINSERT', 'l', 'after', 'b', 'y'], 6],
    [['LRANGE', 'l', '0', '-1'], ['a', 'x', 'b', 'y', 'c', 'b']],
    [['LINSERT', 'l', 'AFTER', 'b', 'z'], 7],
    [['LINSERT', 'l', 'AFTER', 'c', 'end'], 8],
    [['LINSERT', 'l', 'BEFORE', 'a', 'start'], 9],
    [['LRANGE', 'l', '0', '-1'], ['start', 'a', 'x', 'b', 'z', 'y', 'c', 'end', 'b']],
    [['LINSERT', 'l', 'AFTER', 'nope', 'q'], -1],
    [['LINSERT', 'missing', 'AFTER', 'a', 'q'], 0],
    [['LINSERT', 'l', 'MIDDLE', 'a', 'q'], SYNTAX],
    [['LINSERT', 'missing', 'MIDDLE', 'a', 'q'], SYNTAX],
    [['LINSERT', 's', 'BEFORE', 'a', 'q'], WRONGTYPE],
    [['LINSERT', 's', 'MIDDLE', 'a', 'q'], SYNTAX],
    [['LINSERT', 'l', 'BEFORE', 'a'], arity('linsert')],
    [['EXISTS', 'missing'], 0],
  ]);
});

t.test('LREM', async (t) => {
  const fresh = async (): Promise<void> => {
    await run(['DEL', 'l']);
    await run(['RPUSH', 'l', 'a', 'b', 'a', 'c', 'a', 'b']);
  };
  await fresh();
  await expectReplies(t, run, [
    [['LREM', 'l', '2', 'a'], 2],
    [['LRANGE', 'l', '0', '-1'], ['b', 'c', 'a', 'b']],
  ]);
  await fresh();
  await expectReplies(t, run, [
    [['LREM', 'l', '-2', 'a'], 2],
    [['LRANGE', 'l', '0', '-1'], ['a', 'b', 'c', 'b']],
  ]);
  await fresh();
  await expectReplies(t, run, [
    [['LREM', 'l', '0', 'a'], 3],
    [['LRANGE', 'l', '0', '-1'], ['b', 'c', 'b']],
    [['LREM', 'l', '-9223372036854775808', 'b'], 2],
    [['LREM', 'l', '5', 'nope'], 0],
    [['LREM', 'l', '1', 'c'], 1],
    [['EXISTS', 'l'], 0],
    [['LREM', 'missing', '1', 'a'], 0],
    [['LREM', 'missing', 'x', 'a'], NOT_INT],
    [['SET', 's', 'v'], 'OK'],
    [['LREM', 's', '1', 'a'], WRONGTYPE],
    [['LREM', 's', 'x', 'a'], NOT_INT],
  ]);
});

t.test('LTRIM', async (t) => {
  const fresh = async (): Promise<void> => {
    await run(['DEL', 'l']);
    await run(['RPUSH', 'l', '0', '1', '2', '3', '4']);
  };
  const cases: [string, string, string[]][] = [
    ['1', '-2', ['1', '2', '3']],
    ['0', '-1', ['0', '1', '2', '3', '4']],
    ['-100', '100', ['0', '1', '2', '3', '4']],
    ['2', '2', ['2']],
    ['-1', '-1', ['4']],
    ['3', '1', []],
    ['5', '10', []],
    ['0', '-6', []],
    ['4', '9223372036854775807', ['4']],
  ];
  for (const [s, e, want] of cases) {
    await fresh();
    t.same(await run(['LTRIM', 'l', s, e]), 'OK', `LTRIM l ${s} ${e}`);
    t.same(await run(['LRANGE', 'l', '0', '-1']), want, `after LTRIM l ${s} ${e}`);
    t.same(await run(['EXISTS', 'l']), want.length > 0 ? 1 : 0);
  }
  await run(['SET', 's', 'v']);
  await expectReplies(t, run, [
    [['LTRIM', 'missing', '0', '1'], 'OK'],
    [['LTRIM', 'missing', 'x', '1'], NOT_INT],
    [['LTRIM', 's', '0', '1'], WRONGTYPE],
    [['LTRIM', 's', '0', 'x'], NOT_INT],
  ]);
});

t.test('LPOS', async (t) => {
  await run(['RPUSH', 'l', 'a', 'b', 'c', 'a', 'b', 'c', 'a']);
  await run(['SET', 's', 'v']);
  await expectReplies(t, run, [
    [['LPOS', 'l', 'a'], 0],
    [['LPOS', 'l', 'c'], 2],
    [['LPOS', 'l', 'z'], null],
    [['LPOS', 'l', 'a', 'RANK', '2'], 3],
    [['LPOS', 'l', 'a', 'RANK', '4'], null],
    [['LPOS', 'l', 'a', 'RANK', '-1'], 6],
    [['LPOS', 'l', 'a', 'RANK', '-2'], 3],
    [['LPOS', 'l', 'b', 'RANK', '-1'], 4],
    [['LPOS', 'l', 'a', 'COUNT', '0'], [0, 3, 6]],
    [['LPOS', 'l', 'a', 'COUNT', '2'], [0, 3]],
    [['LPOS', 'l', 'a', 'COUNT', '2', 'RANK', '2'], [3, 6]],
    [['LPOS', 'l', 'a', 'COUNT', '0', 'RANK', '-1'], [6, 3, 0]],
    [['LPOS', 'l', 'a', 'COUNT', '10', 'RANK', '-2'], [3, 0]],
    [['LPOS', 'l', 'z', 'COUNT', '2'], []],
    [['LPOS', 'l', 'a', 'MAXLEN', '3'], 0],
    [['LPOS', 'l', 'a', 'RANK', '2', 'MAXLEN', '3'], null],
    [['LPOS', 'l', 'a', 'RANK', '2', 'MAXLEN', '4'], 3],
    [['LPOS', 'l', 'a', 'COUNT', '0', 'MAXLEN', '6'], [0, 3]],
    [['LPOS', 'l', 'a', 'COUNT', '0', 'MAXLEN', '1', 'RANK', '-1'], [6]],
    [['LPOS', 'l', 'c', 'RANK', '-1', 'MAXLEN', '1'], null],
    [['LPOS', 'l', 'a', 'MAXLEN', '0'], 0],
    [['LPOS', 'l', 'a', 'rank', '1', 'count', '1', 'maxlen', '0'], [0]],
    [['LPOS', 'l', 'a', 'RANK', '-9223372036854775808'], 6],
    [['LPOS', 'l', 'a', 'RANK', '-9223372036854775808', 'COUNT', '1'], [6, 3, 0]],
    [['LPOS', 'l', 'a', 'RANK', '9223372036854775807'], null],
    [['LPOS', 'missing', 'a'], null],
    [['LPOS', 'missing', 'a', 'COUNT', '1'], []],
    [['LPOS', 's', 'a'], WRONGTYPE],
    [['LPOS', 'l', 'a', 'RANK', '0'], err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")],
    [['LPOS', 'l', 'a', 'RANK', 'x'], NOT_INT],
    [['LPOS', 'l', 'a', 'COUNT', '-1'], err("ERR COUNT can't be negative")],
    [['LPOS', 'l', 'a', 'COUNT', 'x'], err("ERR COUNT can't be negative")],
    [['LPOS', 'l', 'a', 'MAXLEN', '-1'], err("ERR MAXLEN can't be negative")],
    [['LPOS', 'l', 'a', 'MAXLEN', 'x'], err("ERR MAXLEN can't be negative")],
    [['LPOS', 'l', 'a', 'RANK'], SYNTAX],
    [['LPOS', 'l', 'a', 'FOO', '1'], SYNTAX],
    [['LPOS', 'missing', 'a', 'RANK', '0'], err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")],
    [['LPOS', 's', 'a', 'FOO'], SYNTAX],
    [['LPOS', 'l'], arity('lpos')],
  ]);
});

t.test('LMOVE and RPOPLPUSH', async (t) => {
  await run(['RPUSH', '{t}src', 'a', 'b', 'c']);
  await run(['SET', '{t}str', 'v']);
  await expectReplies(t, run, [
    [['LMOVE', '{t}src', '{t}dst', 'LEFT', 'RIGHT'], 'a'],
    [['LMOVE', '{t}src', '{t}dst', 'RIGHT', 'LEFT'], 'c'],
    [['LRANGE', '{t}dst', '0', '-1'], ['c', 'a']],
    [['LMOVE', '{t}src', '{t}dst', 'left', 'left'], 'b'],
    [['EXISTS', '{t}src'], 0],
    [['LRANGE', '{t}dst', '0', '-1'], ['b', 'c', 'a']],
    [['LMOVE', '{t}src', '{t}dst', 'LEFT', 'LEFT'], null],
    [['LMOVE', '{t}dst', '{t}dst', 'LEFT', 'RIGHT'], 'b'],
    [['LRANGE', '{t}dst', '0', '-1'], ['c', 'a', 'b']],
    [['LMOVE', '{t}dst', '{t}dst', 'RIGHT', 'LEFT'], 'b'],
    [['LMOVE', '{t}dst', '{t}dst', 'LEFT', 'LEFT'], 'b'],
    [['LRANGE', '{t}dst', '0', '-1'], ['b', 'c', 'a']],
    [['RPOPLPUSH', '{t}dst', '{t}other'], 'a'],
    [['RPOPLPUSH', '{t}dst', '{t}other'], 'c'],
    [['LRANGE', '{t}other', '0', '-1'], ['c', 'a']],
    [['RPOPLPUSH', '{t}other', '{t}other'], 'a'],
    [['LRANGE', '{t}other', '0', '-1'], ['a', 'c']],
    [['RPOPLPUSH', '{t}missing', '{t}other'], null],
    [['LMOVE', '{t}dst', '{t}str', 'LEFT', 'LEFT'], WRONGTYPE],
    [['LRANGE', '{t}dst', '0', '-1'], ['b']],
    [['LMOVE', '{t}str', '{t}dst', 'LEFT', 'LEFT'], WRONGTYPE],
    [['LMOVE', '{t}missing', '{t}str', 'LEFT', 'LEFT'], null],
    [['RPOPLPUSH', '{t}dst', '{t}str'], WRONGTYPE],
    [['LMOVE', '{t}dst', '{t}x', 'UP', 'LEFT'], SYNTAX],
    [['LMOVE', '{t}dst', '{t}x', 'LEFT', 'DOWN'], SYNTAX],
    [['LMOVE', '{t}str', '{t}x', 'UP', 'LEFT'], SYNTAX],
    [['LMOVE', '{t}dst', '{t}x', 'LEFT'], arity('lmove')],
    [['RPOPLPUSH', '{t}dst'], arity('rpoplpush')],
    // single element source to itself
    [['LMOVE', '{t}dst', '{t}dst', 'LEFT', 'RIGHT'], 'b'],
    [['LRANGE', '{t}dst', '0', '-1'], ['b']],
  ]);
});

t.test('LMPOP', async (t) => {
  await run(['RPUSH', '{m}b', '1', '2', '3', '4']);
  await run(['RPUSH', '{m}c', 'x']);
  await run(['SET', '{m}s', 'v']);
  await expectReplies(t, run, [
    [['LMPOP', '2', '{m}a', '{m}b', 'LEFT'], ['{m}b', ['1']]],
    [['LMPOP', '2', '{m}a', '{m}b', 'RIGHT', 'COUNT', '2'], ['{m}b', ['4', '3']]],
    [['LMPOP', '3', '{m}a', '{m}b', '{m}c', 'left', 'count', '10'], ['{m}b', ['2']]],
    [['EXISTS', '{m}b'], 0],
    [['LMPOP', '1', '{m}a', 'LEFT'], null],
    [['LMPOP', '2', '{m}s', '{m}c', 'LEFT'], WRONGTYPE],
    [['LMPOP', '2', '{m}c', '{m}s', 'LEFT'], ['{m}c', ['x']]],
    [['LMPOP', '2', '{m}a', '{m}s', 'LEFT'], WRONGTYPE],
    [['LMPOP', '0', '{m}a', 'LEFT'], err('ERR numkeys should be greater than 0')],
    [['LMPOP', '-1', '{m}a', 'LEFT'], err('ERR numkeys should be greater than 0')],
    [['LMPOP', 'x', '{m}a', 'LEFT'], err('ERR numkeys should be greater than 0')],
    [['LMPOP', '1', '{m}a', 'MIDDLE'], SYNTAX],
    [['LMPOP', '2', '{m}a', 'LEFT'], SYNTAX],
    [['LMPOP', '1', '{m}a', 'LEFT', 'COUNT', '0'], err('ERR count should be greater than 0')],
    [['LMPOP', '1', '{m}a', 'LEFT', 'COUNT', '-1'], err('ERR count should be greater than 0')],
    [['LMPOP', '1', '{m}a', 'LEFT', 'COUNT', 'x'], err('ERR count should be greater than 0')],
    [['LMPOP', '1', '{m}a', 'LEFT', 'COUNT', '1', 'COUNT', '1'], SYNTAX],
    [['LMPOP', '1', '{m}a', 'LEFT', 'COUNT'], SYNTAX],
    [['LMPOP', '1', '{m}a', 'LEFT', 'FOO'], SYNTAX],
    [['LMPOP', '1', '{m}a'], arity('lmpop')],
  ]);
});

t.test('blocking commands where nothing has to wait', async (t) => {
  await run(['RPUSH', '{b}a', '1', '2', '3']);
  await run(['SET', '{b}s', 'v']);
  await expectReplies(t, run, [
    [['BLPOP', '{b}x', '{b}a', '0'], ['{b}a', '1']],
    [['BRPOP', '{b}a', '{b}x', '0.5'], ['{b}a', '3']],
    [['BLPOP', '{b}s', '{b}a', '0'], WRONGTYPE],
    [['BLPOP', '{b}a', '{b}s', '0'], ['{b}a', '2']],
    [['RPUSH', '{b}a', '1', '2', '3', '4'], 4],
    [['BLMPOP', '0', '2', '{b}x', '{b}a', 'RIGHT', 'COUNT', '2'], ['{b}a', ['4', '3']]],
    [['BLMPOP', '0', '1', '{b}a', 'LEFT'], ['{b}a', ['1']]],
    [['BLMOVE', '{b}a', '{b}d', 'LEFT', 'RIGHT', '0'], '2'],
    [['EXISTS', '{b}a'], 0],
    [['BRPOPLPUSH', '{b}d', '{b}a', '0'], '2'],
    [['BLMOVE', '{b}a', '{b}s', 'LEFT', 'RIGHT', '0'], WRONGTYPE],
    [['BRPOPLPUSH', '{b}s', '{b}a', '0'], WRONGTYPE],
    [['LRANGE', '{b}a', '0', '-1'], ['2']],
    // argument errors come before any key is looked at
    [['BLPOP', '{b}a', '-1'], err('ERR timeout is negative')],
    [['BLPOP', '{b}a', 'abc'], err('ERR timeout is not a float or out of range')],
    [['BLPOP', '{b}a', 'nan'], err('ERR timeout is not a float or out of range')],
    [['BLPOP', '{b}a', 'inf'], err('ERR timeout is negative')],
    [['BLPOP', '{b}a', '1e400'], err('ERR timeout is negative')],
    [['BRPOP', '{b}s', '-0.5'], err('ERR timeout is negative')],
    [['BLMOVE', '{b}a', '{b}d', 'UP', 'RIGHT', '-1'], SYNTAX],
    [['BLMOVE', '{b}a', '{b}d', 'LEFT', 'RIGHT', '-1'], err('ERR timeout is negative')],
    [['BRPOPLPUSH', '{b}a', '{b}d', 'x'], err('ERR timeout is not a float or out of range')],
    [['BLMPOP', 'x', '1', '{b}a', 'LEFT'], err('ERR timeout is not a float or out of range')],
    [['BLMPOP', 'x', '0', '{b}a', 'LEFT'], err('ERR numkeys should be greater than 0')],
    [['BLMPOP', 'x', '1', '{b}a', 'LEFT', 'COUNT', '0'], err('ERR count should be greater than 0')],
    [['BLMPOP', '0', '1', '{b}a', 'UP'], SYNTAX],
    [['BLPOP', '{b}a'], arity('blpop')],
    [['BRPOP', '{b}a'], arity('brpop')],
    [['BLMPOP', '0', '1', '{b}a'], arity('blmpop')],
    [['BLMOVE', '{b}a', '{b}d', 'LEFT', 'RIGHT'], arity('blmove')],
    [['BRPOPLPUSH', '{b}a', '{b}d'], arity('brpoplpush')],
  ]);
});

t.test('blocking through the proxy: a waiter is served by another client, or times out', async (t) => {
  const c = await RespClient.connect(target.port);
  t.teardown(() => c.close());
  const waiting = c.run(['BLPOP', 'pq', '0']);
  await new Promise((r) => setTimeout(r, 100));
  t.same(await run(['RPUSH', 'pq', 'v1', 'v2']), 2);
  t.same(await waiting, ['pq', 'v1']);
  t.same(await run(['LRANGE', 'pq', '0', '-1']), ['v2']);
  const start = Date.now();
  t.same(await c.run(['BLMOVE', '{x}none', '{x}dst', 'LEFT', 'LEFT', '0.1']), null);
  const ms = Date.now() - start;
  t.ok(ms >= 90 && ms < 2000, `0.1 s timeout took ${ms} ms`);
  t.same(await c.run(['PING']), 'PONG', 'the connection works after a timeout');
});

t.test('wrong type and arity for every command', async (t) => {
  await run(['SET', 's', 'v']);
  const rows: [string[], RespValue][] = [
    [['LPUSH', 's', 'a'], WRONGTYPE],
    [['RPUSH', 's', 'a'], WRONGTYPE],
    [['LPUSHX', 's', 'a'], WRONGTYPE],
    [['RPUSHX', 's', 'a'], WRONGTYPE],
    [['LPOP', 's'], WRONGTYPE],
    [['RPOP', 's', '2'], WRONGTYPE],
    [['LPOP', 's', '0'], WRONGTYPE],
    [['LLEN', 's'], WRONGTYPE],
    [['LRANGE', 's', '0', '-1'], WRONGTYPE],
    [['LINDEX', 's', '0'], WRONGTYPE],
    [['LINDEX', 's', 'x'], WRONGTYPE],
    [['LPUSH', 'l'], arity('lpush')],
    [['RPUSH', 'l'], arity('rpush')],
    [['LPUSHX', 'l'], arity('lpushx')],
    [['RPUSHX', 'l'], arity('rpushx')],
    [['RPOP'], arity('rpop')],
    [['LLEN'], arity('llen')],
    [['LLEN', 'a', 'b'], arity('llen')],
    [['LRANGE', 'l', '0'], arity('lrange')],
    [['LINDEX', 'l'], arity('lindex')],
    [['LREM', 'l', '0'], arity('lrem')],
    [['LTRIM', 'l', '0'], arity('ltrim')],
  ];
  await expectReplies(t, run, rows);
  t.same(await run(['GET', 's']), 'v', 'the string is untouched');
});

t.test('binary-safe elements', async (t) => {
  const bin = Buffer.from([0, 1, 2, 13, 10, 0xff, 0xfe, 0x80, 36, 42]);
  const k = Buffer.from([0xde, 0xad, 0, 0xbe]);
  t.same(await run(['RPUSH', k, bin, Buffer.from('plain'), Buffer.alloc(0)]), 3);
  t.same(await run(['LRANGE', k, '0', '-1'], { buffers: true }), [bin, Buffer.from('plain'), Buffer.alloc(0)]);
  t.same(await run(['LPOS', k, bin]), 0);
  t.same(await run(['LREM', k, '0', Buffer.from([0, 1, 2, 13, 10, 0xff, 0xfe, 0x80, 36, 43])]), 0);
  t.same(await run(['LINSERT', k, 'AFTER', bin, Buffer.from([0xc3, 0x28])]), 4);
  t.same(await run(['LINDEX', k, '1'], { buffers: true }), Buffer.from([0xc3, 0x28]));
  t.same(await run(['LPOP', k], { buffers: true }), bin);
  // elements around the one-byte / two-byte varint length boundary of the packed encoding
  for (const n of [126, 127, 128, 129, 16383, 16384]) {
    const v = Buffer.alloc(n, n & 0xff);
    await run(['RPUSH', 'sizes', v]);
  }
  const got = (await run(['LRANGE', 'sizes', '0', '-1'], { buffers: true })) as Buffer[];
  t.same(got.map((b) => b.length), [126, 127, 128, 129, 16383, 16384]);
  t.ok(got.every((b) => b.every((x) => x === (b.length & 0xff))), 'contents intact');
});

t.test('encoding, thresholds and memory', async (t) => {
  // OBJECT ENCODING is always quicklist in Redis 7.0, packed or not.
  await run(['RPUSH', 'small', 'a']);
  t.same(await run(['OBJECT', 'ENCODING', 'small']), 'quicklist');
  const many = Array.from({ length: 2000 }, (_, i) => `element-${i}`);
  t.same(await run(['RPUSH', 'big', ...many]), 2000);
  t.same(await run(['OBJECT', 'ENCODING', 'big']), 'quicklist');
  t.same(await run(['LRANGE', 'big', '0', '-1']), many);
  t.same(await run(['LINDEX', 'big', '1234']), 'element-1234');
  // shrink a heap list back to a few elements and grow it again
  t.same(await run(['LTRIM', 'big', '1000', '1002']), 'OK');
  t.same(await run(['LRANGE', 'big', '0', '-1']), ['element-1000', 'element-1001', 'element-1002']);
  t.same(await run(['LPUSH', 'big', 'h']), 4);
  t.same(await run(['LRANGE', 'big', '0', '-1']), ['h', 'element-1000', 'element-1001', 'element-1002']);

  // MEMORY USAGE grows with the list
  await run(['DEL', 'm']);
  await run(['RPUSH', 'm', 'x']);
  const m1 = (await run(['MEMORY', 'USAGE', 'm'])) as number;
  await run(['RPUSH', 'm', ...Array.from({ length: 100 }, (_, i) => `value-${i}`)]);
  const m2 = (await run(['MEMORY', 'USAGE', 'm'])) as number;
  await run(['RPUSH', 'm', ...Array.from({ length: 5000 }, (_, i) => `value-${i}`)]);
  const m3 = (await run(['MEMORY', 'USAGE', 'm'])) as number;
  t.ok(typeof m1 === 'number' && m1 > 0, `MEMORY USAGE of 1 element: ${m1}`);
  t.ok(m2 > m1, `100 elements use more (${m2} > ${m1})`);
  t.ok(m3 > m2 + 5000 * 8, `5100 elements use more (${m3} > ${m2})`);
  t.same(await run(['MEMORY', 'USAGE', 'missing']), null);

  // list-max-listpack-size accepted from -5 to positive counts
  for (const v of ['-5', '-1', '1', '0', '4', '-2']) {
    t.same(await run(['CONFIG', 'SET', 'list-max-listpack-size', v]), 'OK', `CONFIG SET list-max-listpack-size ${v}`);
    await run(['DEL', 'c']);
    t.same(await run(['RPUSH', 'c', 'a', 'b', 'c', 'd', 'e']), 5);
    t.same(await run(['LPOP', 'c', '2']), ['a', 'b']);
    t.same(await run(['LRANGE', 'c', '0', '-1']), ['c', 'd', 'e']);
  }
  t.same(await run(['CONFIG', 'GET', 'list-max-listpack-size']), ['list-max-listpack-size', '-2']);
});

t.test('keyspace commands on lists', async (t) => {
  await run(['RPUSH', 'a', '1', '2', '3']);
  await expectReplies(t, run, [
    [['TYPE', 'a'], 'list'],
    [['EXPIRE', 'a', '100'], 1],
    [['RPUSH', 'a', '4'], 4],
    [['LPOP', 'a'], '1'],
    [['LSET', 'a', '0', 'x'], 'OK'],
    [['LINSERT', 'a', 'AFTER', 'x', 'y'], 4],
    [['LREM', 'a', '1', 'y'], 1],
    [['LTRIM', 'a', '0', '1'], 'OK'],
    [['TTL', 'a'], 100],
    [['RPOP', 'a', '2'], ['3', 'x']],
    [['EXISTS', 'a'], 0],
    [['TTL', 'a'], -2],
    [['RPUSH', 'a', 'new'], 1],
    [['TTL', 'a'], -1],
  ]);
  // a large (heap) list keeps its TTL too
  await run(['RPUSH', 'h', ...Array.from({ length: 1000 }, (_, i) => String(i))]);
  await run(['EXPIRE', 'h', '200']);
  await run(['LPOP', 'h', '10']);
  await run(['RPUSH', 'h', 'z']);
  t.same(await run(['TTL', 'h']), 200);
  // DEL / UNLINK / EXISTS
  await run(['RPUSH', 'd1', 'a']);
  await run(['RPUSH', 'd2', ...Array.from({ length: 1000 }, (_, i) => String(i))]);
  t.same(await run(['DEL', 'd1', 'd2', 'nope']), 2);
  await run(['RPUSH', 'd1', 'a']);
  t.same(await run(['UNLINK', 'd1']), 1);
  t.same(await run(['EXISTS', 'd1', 'd2']), 0);
  // RENAME / COPY between untagged keys (different workers through the proxy)
  for (const size of [3, 1500]) {
    await run(['DEL', 'src', 'dst', 'copy']);
    const items = Array.from({ length: size }, (_, i) => `v${i}`);
    await run(['RPUSH', 'src', ...items]);
    await run(['PEXPIRE', 'src', '500000']);
    t.same(await run(['RENAME', 'src', 'dst']), 'OK', `RENAME ${size}`);
    t.same(await run(['EXISTS', 'src']), 0);
    t.same(await run(['LRANGE', 'dst', '0', '-1']), items);
    const pttl = (await run(['PTTL', 'dst'])) as number;
    t.ok(pttl > 490_000 && pttl <= 500_000, `RENAME keeps the TTL: ${pttl}`);
    t.same(await run(['COPY', 'dst', 'copy']), 1, `COPY ${size}`);
    t.same(await run(['RPUSH', 'copy', 'extra']), size + 1);
    t.same(await run(['LLEN', 'dst']), size, 'the copy is independent');
    t.same(await run(['LRANGE', 'copy', '0', '-1']), [...items, 'extra']);
    t.same(await run(['TYPE', 'copy']), 'list');
    t.same(await run(['OBJECT', 'ENCODING', 'copy']), 'quicklist');
  }
  // SCAN TYPE list
  await run(['FLUSHALL']);
  await run(['RPUSH', 'l1', 'a']);
  await run(['RPUSH', 'l2', ...Array.from({ length: 600 }, (_, i) => String(i))]);
  await run(['SET', 'str', 'v']);
  const found = new Set<string>();
  let cursor = '0';
  do {
    const r = (await run(['SCAN', cursor, 'TYPE', 'list', 'COUNT', '100'])) as [string, string[]];
    cursor = r[0];
    for (const k of r[1]) found.add(k);
  } while (cursor !== '0');
  t.same([...found].sort(), ['l1', 'l2']);
});

t.test('ioredis: list commands', async (t) => {
  const r = new Redis({ host: '127.0.0.1', port: target.port, maxRetriesPerRequest: 1, retryStrategy: () => null, connectTimeout: 5000 });
  t.teardown(() => r.disconnect());
  t.equal(await r.rpush('io', 'a', 'b', 'c'), 3);
  t.equal(await r.lpush('io', 'z'), 4);
  t.same(await r.lrange('io', 0, -1), ['z', 'a', 'b', 'c']);
  t.equal(await r.lindex('io', -1), 'c');
  t.equal(await r.lset('io', 1, 'A'), 'OK');
  t.equal(await r.linsert('io', 'BEFORE', 'b', 'x'), 5);
  t.equal(await r.lpos('io', 'x'), 2);
  t.equal(await r.lrem('io', 0, 'x'), 1);
  t.same(await r.lpop('io', 2), ['z', 'A']);
  t.equal(await r.rpop('io'), 'c');
  t.equal(await r.llen('io'), 1);
  t.equal(await r.lmove('{io}a', '{io}b', 'LEFT', 'RIGHT'), null);
  await r.rpush('{io}a', '1', '2');
  t.equal(await r.lmove('{io}a', '{io}b', 'LEFT', 'RIGHT'), '1');
  t.equal(await r.rpoplpush('{io}a', '{io}b'), '2');
  t.same(await r.lmpop(2, '{io}a', '{io}b', 'RIGHT', 'COUNT', 5), ['{io}b', ['1', '2']]);
  await r.rpush('{io}q', 'v');
  t.same(await r.blpop('{io}p', '{io}q', 1), ['{io}q', 'v']);
  const pipe = r.pipeline();
  for (let i = 0; i < 500; i++) pipe.rpush('piped', String(i));
  pipe.lrange('piped', 0, -1);
  const res = await pipe.exec();
  t.same(res?.[499]?.[1], 500);
  t.same(res?.[500]?.[1], Array.from({ length: 500 }, (_, i) => String(i)));
  t.equal(await r.ltrim('piped', 0, 9), 'OK');
  t.equal(await r.llen('piped'), 10);
  await r.quit();
});

// --- model test --------------------------------------------------------------------------

function rangeOf(len: number, s: number, e: number): [number, number] | null {
  if (s < 0) s += len;
  if (e < 0) e += len;
  if (s < 0) s = 0;
  if (s > e || s >= len) return null;
  if (e >= len) e = len - 1;
  return [s, e];
}

t.test('model test: random operations against a JS array model', async (t) => {
  const seed = Number(process.env['LIST_MODEL_SEED'] ?? Date.now() % 100000);
  t.comment(`seed ${seed}`);
  const rnd = prng(seed);
  const int = (n: number): number => Math.floor(rnd() * n);
  const keys = ['{m}a', '{m}b', '{m}c', '{m}d'];
  const model = new Map<string, string[]>(keys.map((k) => [k, []]));
  const BIG = 'B'.repeat(2500);
  const element = (): string => {
    const r = rnd();
    if (r < 0.01) return BIG + int(10);
    if (r < 0.05) return `e${int(1000)}-${'x'.repeat(int(200))}`;
    return `v${int(12)}`;
  };
  const idx = (len: number): number => int(len * 2 + 6) - len - 3;

  type Op = { argv: string[]; want: RespValue };
  const step = (shrink: boolean): Op => {
    const key = keys[int(keys.length)]!;
    const list = model.get(key)!;
    const len = list.length;
    const r = rnd();
    const pushP = shrink ? 0.18 : 0.42;
    if (r < pushP) {
      const n = 1 + int(rnd() < 0.1 ? 30 : 3);
      const items = Array.from({ length: n }, element);
      const head = rnd() < 0.5;
      const x = rnd() < 0.1;
      if (x && len === 0) return { argv: [head ? 'LPUSHX' : 'RPUSHX', key, ...items], want: 0 };
      for (const it of items) {
        if (head) list.unshift(it);
        else list.push(it);
      }
      return { argv: [head ? (x ? 'LPUSHX' : 'LPUSH') : x ? 'RPUSHX' : 'RPUSH', key, ...items], want: list.length };
    }
    if (r < pushP + 0.25) {
      const head = rnd() < 0.5;
      const cmd = head ? 'LPOP' : 'RPOP';
      if (rnd() < 0.4) {
        if (len === 0) return { argv: [cmd, key], want: null };
        return { argv: [cmd, key], want: head ? list.shift()! : list.pop()! };
      }
      const n = int(shrink ? 20 : 5);
      if (len === 0) return { argv: [cmd, key, String(n)], want: null };
      const out: string[] = [];
      for (let i = 0; i < n && list.length > 0; i++) out.push(head ? list.shift()! : list.pop()!);
      return { argv: [cmd, key, String(n)], want: out };
    }
    if (r < pushP + 0.30) {
      const pivot = len > 0 && rnd() < 0.8 ? list[int(len)]! : element();
      const after = rnd() < 0.5;
      const e = element();
      const argv = ['LINSERT', key, after ? 'AFTER' : 'BEFORE', pivot, e];
      if (len === 0) return { argv, want: 0 };
      const i = list.indexOf(pivot);
      if (i < 0) return { argv, want: -1 };
      list.splice(after ? i + 1 : i, 0, e);
      return { argv, want: list.length };
    }
    if (r < pushP + 0.35) {
      const e = len > 0 && rnd() < 0.7 ? list[int(len)]! : element();
      const count = int(7) - 3;
      let removed = 0;
      if (count >= 0) {
        for (let i = 0; i < list.length; ) {
          if (list[i] === e && (count === 0 || removed < count)) {
            list.splice(i, 1);
            removed++;
          } else i++;
        }
      } else {
        for (let i = list.length - 1; i >= 0; i--) {
          if (list[i] === e && removed < -count) {
            list.splice(i, 1);
            removed++;
          }
        }
      }
      return { argv: ['LREM', key, String(count), e], want: removed };
    }
    if (r < pushP + 0.40) {
      const i = idx(len);
      const e = element();
      const argv = ['LSET', key, String(i), e];
      if (len === 0) return { argv, want: err('ERR no such key') };
      const j = i < 0 ? i + len : i;
      if (j < 0 || j >= len) return { argv, want: err('ERR index out of range') };
      list[j] = e;
      return { argv, want: 'OK' };
    }
    if (r < pushP + 0.43) {
      const s = shrink ? int(4) : int(3) - 1;
      const e = shrink ? idx(len) : -1 - int(3);
      const rg = rangeOf(len, s, e);
      const kept = rg === null ? [] : list.slice(rg[0], rg[1] + 1);
      model.set(key, kept);
      return { argv: ['LTRIM', key, String(s), String(e)], want: 'OK' };
    }
    if (r < pushP + 0.53) {
      const s = idx(len);
      const e = rnd() < 0.3 ? -1 : idx(len);
      const rg = rangeOf(len, s, e);
      return { argv: ['LRANGE', key, String(s), String(e)], want: rg === null ? [] : list.slice(rg[0], rg[1] + 1) };
    }
    if (r < pushP + 0.58) {
      const i = idx(len);
      const j = i < 0 ? i + len : i;
      return { argv: ['LINDEX', key, String(i)], want: j >= 0 && j < len ? list[j]! : null };
    }
    if (r < pushP + 0.64) {
      const e = len > 0 && rnd() < 0.7 ? list[int(len)]! : element();
      const argv = ['LPOS', key, e];
      let rank = 1;
      let count = -1;
      let maxlen = 0;
      if (rnd() < 0.5) {
        rank = (int(3) + 1) * (rnd() < 0.5 ? -1 : 1);
        argv.push('RANK', String(rank));
      }
      if (rnd() < 0.5) {
        count = int(4);
        argv.push('COUNT', String(count));
      }
      if (rnd() < 0.3) {
        maxlen = int(len + 2);
        argv.push('MAXLEN', String(maxlen));
      }
      const found: number[] = [];
      let matches = 0;
      const scan = maxlen === 0 ? len : Math.min(len, maxlen);
      for (let k = 0; k < scan; k++) {
        const i = rank < 0 ? len - 1 - k : k;
        if (list[i] !== e) continue;
        matches++;
        if (matches >= Math.abs(rank)) {
          found.push(i);
          if (count === -1 || (count !== 0 && found.length >= count)) break;
        }
      }
      return { argv, want: count === -1 ? (found[0] ?? null) : found };
    }
    if (r < pushP + 0.72) {
      const dkey = keys[int(keys.length)]!;
      const from = rnd() < 0.5;
      const to = rnd() < 0.5;
      const argv = ['LMOVE', key, dkey, from ? 'LEFT' : 'RIGHT', to ? 'LEFT' : 'RIGHT'];
      if (len === 0) return { argv, want: null };
      const v = from ? list.shift()! : list.pop()!;
      const dl = model.get(dkey)!;
      if (to) dl.unshift(v);
      else dl.push(v);
      return { argv, want: v };
    }
    if (r < pushP + 0.75) {
      const head = rnd() < 0.5;
      const n = 1 + int(6);
      const order = [key, ...keys.filter((k) => k !== key).slice(0, 1)];
      for (const k of order) {
        const l = model.get(k)!;
        if (l.length === 0) continue;
        const out: string[] = [];
        for (let i = 0; i < n && l.length > 0; i++) out.push(head ? l.shift()! : l.pop()!);
        return { argv: ['LMPOP', '2', ...order, head ? 'LEFT' : 'RIGHT', 'COUNT', String(n)], want: [k, out] };
      }
      return { argv: ['LMPOP', '2', ...order, head ? 'LEFT' : 'RIGHT', 'COUNT', String(n)], want: null };
    }
    if (r < pushP + 0.77) return { argv: ['OBJECT', 'ENCODING', key], want: len > 0 ? 'quicklist' : null };
    if (r < pushP + 0.79) return { argv: ['EXISTS', key], want: len > 0 ? 1 : 0 };
    return { argv: ['LLEN', key], want: len };
  };

  const TOTAL = 100_000;
  const CHUNK = 1000;
  const phases = ['-2', '4', '-1', '1', '8', '-2'];
  let done = 0;
  let mismatches = 0;
  let maxLen = 0;
  let empties = 0;
  for (let p = 0; p < TOTAL / CHUNK; p++) {
    if (p % (TOTAL / CHUNK / phases.length) === 0) {
      const v = phases[Math.floor(p / (TOTAL / CHUNK / phases.length))] ?? '-2';
      t.same(await run(['CONFIG', 'SET', 'list-max-listpack-size', v]), 'OK');
    }
    // grow for a while, then shrink, so lists cross the packed limit both ways
    const shrink = Math.floor(p / 3) % 2 === 1;
    const ops: Op[] = [];
    for (let i = 0; i < CHUNK; i++) ops.push(step(shrink));
    const replies = await runMany(run, ops.map((o) => o.argv), CHUNK);
    for (let i = 0; i < ops.length; i++) {
      const got = replies[i];
      const want = ops[i]!.want;
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        mismatches++;
        if (mismatches <= 5) t.same(got, want, `op ${done + i}: ${ops[i]!.argv.map((a) => (a.length > 30 ? `${a.slice(0, 20)}…(${a.length})` : a)).join(' ')}`);
      }
    }
    done += ops.length;
    for (const l of model.values()) {
      maxLen = Math.max(maxLen, l.length);
      if (l.length === 0) empties++;
    }
    if (mismatches > 5) break;
  }
  // final state check
  for (const k of keys) t.same(await run(['LRANGE', k, '0', '-1']), model.get(k), `final contents of ${k}`);
  t.equal(mismatches, 0, `${done} operations matched the model (max length ${maxLen}, ${empties} empty samples)`);
  t.ok(maxLen > 50 && empties > 0, 'lists grew large and emptied out');
  await run(['CONFIG', 'SET', 'list-max-listpack-size', '-2']);
});

t.test('long lists: reads, edits and pops across many nodes', async (t) => {
  // Tens of thousands of elements (many quicklist nodes in Redis and Shoal), elements
  // of 1-3 byte length prefixes; every read checked against a JS model.
  for (const fill of ['-2', '5']) {
    await run(['CONFIG', 'SET', 'list-max-listpack-size', fill]);
    await run(['DEL', 'long']);
    const rnd = prng(fill === '-2' ? 31 : 32);
    const int = (n: number): number => Math.floor(rnd() * n);
    const element = (i: number): string => (i % 997 === 0 ? `big${i}-${'b'.repeat(i % 2 ? 200 : 17000)}` : `e${i}-${'x'.repeat(i % 23)}`);
    const model: string[] = [];
    const cmds: string[][] = [];
    for (let i = 0; i < 30_000; i += 50) {
      const items = Array.from({ length: 50 }, (_, j) => element(i + j));
      if ((i / 50) % 2 === 0) {
        cmds.push(['RPUSH', 'long', ...items]);
        model.push(...items);
      } else {
        cmds.push(['LPUSH', 'long', ...items]);
        model.unshift(...items.reverse());
      }
    }
    await runMany(run, cmds, 100);
    t.equal(await run(['LLEN', 'long']), model.length, `fill ${fill}: LLEN`);
    let bad = 0;
    const check = async (what: string, got: RespValue, want: RespValue): Promise<void> => {
      if (JSON.stringify(got) === JSON.stringify(want)) return;
      bad++;
      if (bad <= 3) t.same(got, want, `fill ${fill}: ${what}`);
    };
    for (let k = 0; k < 40; k++) {
      const start = int(model.length + 20) - 10;
      const stop = start + int(300);
      const s = start < 0 ? Math.max(0, start + model.length) : start;
      const e = stop < 0 ? stop + model.length : stop;
      await check(`LRANGE ${start} ${stop}`, await run(['LRANGE', 'long', String(start), String(stop)]), s > e ? [] : model.slice(s, e + 1));
      const i = int(model.length * 2) - model.length;
      await check(`LINDEX ${i}`, await run(['LINDEX', 'long', String(i)]), model.at(i) ?? null);
    }
    for (let k = 0; k < 30; k++) {
      const i = int(model.length);
      const v = k % 3 === 0 ? `set${k}-${'s'.repeat(300)}` : `set${k}`;
      await check(`LSET ${i}`, await run(['LSET', 'long', String(i), v]), 'OK');
      model[i] = v;
      const pivot = model[int(model.length)]!;
      const at = model.indexOf(pivot);
      await check(`LINSERT after ${pivot}`, await run(['LINSERT', 'long', 'AFTER', pivot, `ins${k}`]), model.length + 1);
      model.splice(at + 1, 0, `ins${k}`);
    }
    const target = model[int(model.length)]!;
    const from = model.lastIndexOf(target);
    await check('LPOS RANK -1', await run(['LPOS', 'long', target, 'RANK', '-1']), from);
    await check('LREM e1-x', await run(['LREM', 'long', '0', 'e1-x']), model.filter((e) => e === 'e1-x').length);
    for (let i = model.length - 1; i >= 0; i--) if (model[i] === 'e1-x') model.splice(i, 1);
    await check('LPOP 777', await run(['LPOP', 'long', '777']), model.splice(0, 777));
    await check('RPOP 555', await run(['RPOP', 'long', '555']), model.splice(model.length - 555).reverse());
    await check('LTRIM', await run(['LTRIM', 'long', '1000', '-1000']), 'OK');
    model.splice(0, 1000);
    model.splice(model.length - 999);
    await check('final contents', await run(['LRANGE', 'long', '0', '-1']), model);
    t.equal(bad, 0, `fill ${fill}: every reply matched the model (${model.length} elements left)`);
  }
  await run(['CONFIG', 'SET', 'list-max-listpack-size', '-2']);
});

t.test('direct worker connection: lists behave the same (Shoal only)', { skip: !isShoal }, async (t) => {
  // MOVED for a key another worker owns; the owner answers.
  let served = 0;
  for (const port of target.workerPorts) {
    const c = await RespClient.connect(port);
    const r = await c.run(['RPUSH', 'direct', 'x']);
    if (typeof r === 'number') served++;
    else t.match((r as { error: string }).error, /^MOVED \d+ /);
    await c.close();
  }
  t.equal(served, 1, 'exactly one worker owns the key');
  t.same(await run(['LRANGE', 'direct', '0', '-1']), ['x']);
});
