// Sorted-set commands, Redis 7.0 replies and error strings byte for byte, both
// encodings (listpack → skiplist, never back), through the proxy. Runs against the
// Shoal proxy by default, or a real redis-server with SHOAL_TEST_TARGET=redis.
// Multi-key commands keep their keys in one hash tag ({t}, {m}); RENAME/COPY pairs
// are picked on different workers on purpose. The tables were checked against
// redis-server 7.0.15. The model test at the end runs >= 100,000 random commands
// against a plain JS model, crossing the encoding limits both ways.

import t from 'tap';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { keySlot, useTarget } from '../helpers/cluster.js';
import { RespClient, err, expectReplies, runMany, type RespValue, type Row } from '../helpers/run.js';

const { target, run, runRaw } = await useTarget(t);

const SYNTAX = err('ERR syntax error');
const NOT_INT = err('ERR value is not an integer or out of range');
const NOT_FLOAT = err('ERR value is not a valid float');
const WRONGTYPE = err('WRONGTYPE Operation against a key holding the wrong kind of value');
const arity = (cmd: string) => err(`ERR wrong number of arguments for '${cmd}' command`);

async function setLimits(entries: number, value: number): Promise<void> {
  for (const [name, v] of [['zset-max-listpack-entries', entries], ['zset-max-listpack-value', value]] as const) {
    const reply = await run(['CONFIG', 'SET', name, String(v)]);
    if (reply !== 'OK') throw new Error(`CONFIG SET ${name} ${v}: ${JSON.stringify(reply)}`);
  }
}

t.beforeEach(async () => {
  await run(['FLUSHALL']);
  await setLimits(128, 64);
});

t.teardown(() => setLimits(128, 64));

/** ZADD key with members m0..m(n-1), score = i: pipelined in batches. */
async function fill(key: string, n: number, scoreOf = (i: number) => String(i), memberOf = (i: number) => `m${i}`): Promise<void> {
  const cmds: string[][] = [];
  for (let i = 0; i < n; i += 200) {
    const argv = ['ZADD', key];
    for (let j = i; j < Math.min(i + 200, n); j++) argv.push(scoreOf(j), memberOf(j));
    cmds.push(argv);
  }
  await runMany(run, cmds, 100);
}

/** A RESP3 connection (HELLO 3) to the same target. */
async function resp3(tt: { teardown(fn: () => unknown): void }): Promise<RespClient> {
  const c = await RespClient.connect(target.port);
  tt.teardown(() => c.close());
  await c.run(['HELLO', '3']);
  return c;
}

/** Two keys (prefix + suffix) whose slots are owned by different workers (halves of the slot space). */
function crossWorkerPair(prefix: string): [string, string] {
  const a = `${prefix}-src`;
  const lowA = keySlot(a) < 8192;
  for (let i = 0; ; i++) {
    const b = `${prefix}-dst${i}`;
    if ((keySlot(b) < 8192) !== lowA) return [a, b];
  }
}


t.test('ZADD flags, ZINCRBY, score parsing and formatting', async (t) => {
  await expectReplies(t, run, [
    [['zadd', '{t}z', '1', 'a', '2', 'b', '3', 'c'], 3],
    [['zadd', '{t}z', 'nx', '5', 'a', '6', 'd'], 1],
    [['zadd', '{t}z', 'xx', '5', 'a', '6', 'e'], 0],
    [['zadd', '{t}z', 'xx', 'ch', '7', 'a', '6', 'e'], 1],
    [['zadd', '{t}z', 'gt', 'ch', '1', 'a', '9', 'b'], 1],
    [['zadd', '{t}z', 'lt', 'ch', '1', 'a', '9', 'c'], 1],
    [['zadd', '{t}z', 'nx', 'xx', '1', 'a'], err('ERR XX and NX options at the same time are not compatible')],
    [['zadd', '{t}z', 'gt', 'lt', '1', 'a'], err('ERR GT, LT, and/or NX options at the same time are not compatible')],
    [['zadd', '{t}z', 'nx', 'gt', '1', 'a'], err('ERR GT, LT, and/or NX options at the same time are not compatible')],
    [['zadd', '{t}z', 'incr', '1', 'a', '2', 'b'], err('ERR INCR option supports a single increment-element pair')],
    [['zadd', '{t}z', 'incr', '1', 'a'], '2'],
    [['zadd', '{t}z', 'incr', 'nx', '1', 'a'], null],
    [['zadd', '{t}z', 'incr', 'xx', '1', 'newm'], null],
    [['zadd', '{t}z', 'incr', 'gt', '-100', 'a'], null],
    [['zadd', '{t}z', '1'], arity('zadd')],
    [['zadd', '{t}z', 'a', '1'], NOT_FLOAT],
    [['zadd', '{t}z', 'nan', 'a'], NOT_FLOAT],
    [['zadd', '{t}z', '1e400', 'a'], NOT_FLOAT],
    [['zadd', '{t}z', 'inf', 'x', '-inf', 'y'], 2],
    [['zincrby', '{t}z', '-inf', 'x'], err('ERR resulting score is not a number (NaN)')],
    [['zadd', '{t}z', 'incr', '+inf', 'y'], err('ERR resulting score is not a number (NaN)')],
    [['zadd', '{t}z', '-0', 'm0'], 1],
    [['zrange', '{t}z', '0', '-1', 'withscores'], ['y', '-inf', 'm0', '0', 'a', '2', 'c', '3', 'd', '6', 'b', '9', 'x', 'inf']],
    [['zincrby', '{t}z', '1', 'a'], '3'],
    [['zincrby', '{t}z', 'abc', 'a'], NOT_FLOAT],
    [['zadd', '{t}z', '0.1', 'f1', '1e-5', 'f2', '1e17', 'f3', '123456789012345678', 'f4', '2.5', 'f5', '0x10', 'f6', '1e-310', 'f7', '+.5', 'f8'], 8],
    [['zscore', '{t}z', 'f1'], '0.10000000000000001'],
    [['zmscore', '{t}z', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8'], ['1.0000000000000001e-05', '1e+17', '1.2345678901234568e+17', '2.5', '16', '9.9999999999999694e-311', '0.5']],
    [['zscore', '{t}z', 'm0'], '0'],
    [['zincrby', '{t}z', '0.1', 'f1'], '0.20000000000000001'],
    [['zincrby', '{t}z', '1e400', 'f1'], NOT_FLOAT],
    [['zadd', '{t}z', ' 1', 'x'], NOT_FLOAT],
    [['zadd', '{t}z', '1 ', 'x'], NOT_FLOAT],
    [['zadd', '{t}z', '1e-400', 'x'], NOT_FLOAT],
    [['zadd', '{t}z', 'xx'], arity('zadd')],
    [['zadd', '{t}z', 'ch'], arity('zadd')],
    [['zadd', '{t}z', 'nx', 'nx', '1', 'a'], 0],
    [['zadd', '{t}z', 'NX', 'Ch', '100', 'brandnew'], 1],
    [['zadd', '{t}z', 'Gt', 'Xx', '1', 'a'], 0],
    [['zadd', '{t}z', 'incr', 'lt', '1', 'a'], null],
    [['zadd', '{t}z', 'incr', 'lt', '-1', 'a'], '2'],
    [['zadd', '{t}z1', 'incr', '5', 'a'], '5'],
    [['zadd', '{t}z1', 'gt', '1', 'b'], 1],
    [['zadd', '{t}z1', 'lt', '10', 'c'], 1],
    [['zrange', '{t}z1', '0', '-1', 'withscores'], ['b', '1', 'a', '5', 'c', '10']],
  ]);
});

t.test('ZSCORE ZMSCORE ZRANK ZREVRANK ZCARD ZCOUNT ZLEXCOUNT ZREM, wrong types and arity', async (t) => {
  await expectReplies(t, run, [
    [['zadd', '{t}z', '1', 'a', '2', 'b', '3', 'c', '3', 'd', 'inf', 'e', '-inf', 'f'], 6],
    [['zscore', '{t}z', 'a'], '1'],
    [['zscore', '{t}z', 'e'], 'inf'],
    [['zscore', '{t}z', 'nope'], null],
    [['zscore', '{t}nokey', 'a'], null],
    [['zmscore', '{t}z', 'a', 'nope', 'f'], ['1', null, '-inf']],
    [['zmscore', '{t}nokey', 'a', 'b'], [null, null]],
    [['zmscore', '{t}z'], arity('zmscore')],
    [['zrank', '{t}z', 'a'], 1],
    [['zrank', '{t}z', 'd'], 4],
    [['zrevrank', '{t}z', 'a'], 4],
    [['zrevrank', '{t}z', 'f'], 5],
    [['zrank', '{t}z', 'nope'], null],
    [['zrank', '{t}nokey', 'a'], null],
    [['zrank', '{t}z', 'a', 'withscore'], arity('zrank')],
    [['zrevrank', '{t}z', 'a', 'withscore'], arity('zrevrank')],
    [['zcard', '{t}z'], 6],
    [['zcard', '{t}nokey'], 0],
    [['zcard'], arity('zcard')],
    [['zcount', '{t}z', '-inf', '+inf'], 6],
    [['zcount', '{t}z', '(1', '3'], 3],
    [['zcount', '{t}z', '3', '(3'], 0],
    [['zcount', '{t}z', '(3', '3'], 0],
    [['zcount', '{t}z', '3', '1'], 0],
    [['zcount', '{t}z', 'inf', 'inf'], 1],
    [['zcount', '{t}z', '(-inf', '(inf'], 4],
    [['zcount', '{t}z', '', ''], 0],
    [['zcount', '{t}z', '(', '3'], 4],
    [['zcount', '{t}z', ' 2', ' 3'], 3],
    [['zcount', '{t}z', '1e400', '+inf'], 1],
    [['zcount', '{t}z', 'x', '3'], err('ERR min or max is not a float')],
    [['zcount', '{t}z', '(x', '3'], err('ERR min or max is not a float')],
    [['zcount', '{t}z', '1', '((3'], err('ERR min or max is not a float')],
    [['zcount', '{t}z', 'nan', '3'], err('ERR min or max is not a float')],
    [['zcount', '{t}z', '1', '3 '], err('ERR min or max is not a float')],
    [['zcount', '{t}nokey', '1', '3'], 0],
    [['zcount', '{t}nokey', 'x', '3'], err('ERR min or max is not a float')],
    [['zadd', '{t}lex', '0', 'a', '0', 'b', '0', 'c', '0', 'd', '0', 'e'], 5],
    [['zlexcount', '{t}lex', '-', '+'], 5],
    [['zlexcount', '{t}lex', '[b', '(d'], 2],
    [['zlexcount', '{t}lex', '(b', '[d'], 2],
    [['zlexcount', '{t}lex', '[a', '[a'], 1],
    [['zlexcount', '{t}lex', '(a', '(a'], 0],
    [['zlexcount', '{t}lex', '+', '-'], 0],
    [['zlexcount', '{t}lex', '-', '-'], 0],
    [['zlexcount', '{t}lex', '[e', '+'], 1],
    [['zlexcount', '{t}lex', '[', '+'], 5],
    [['zlexcount', '{t}lex', 'a', 'b'], err('ERR min or max not valid string range item')],
    [['zlexcount', '{t}lex', '[a', 'b'], err('ERR min or max not valid string range item')],
    [['zlexcount', '{t}lex', '+a', '+'], err('ERR min or max not valid string range item')],
    [['zlexcount', '{t}nokey', '-', '+'], 0],
    [['zlexcount', '{t}nokey', 'a', 'b'], err('ERR min or max not valid string range item')],
    [['set', '{t}str', 'v'], 'OK'],
    [['zadd', '{t}str', '1', 'a'], WRONGTYPE],
    [['zincrby', '{t}str', '1', 'a'], WRONGTYPE],
    [['zscore', '{t}str', 'a'], WRONGTYPE],
    [['zmscore', '{t}str', 'a'], WRONGTYPE],
    [['zcard', '{t}str'], WRONGTYPE],
    [['zrank', '{t}str', 'a'], WRONGTYPE],
    [['zcount', '{t}str', '1', '2'], WRONGTYPE],
    [['zlexcount', '{t}str', '-', '+'], WRONGTYPE],
    [['zrem', '{t}str', 'a'], WRONGTYPE],
    [['zrem', '{t}z', 'a', 'nope', 'b'], 2],
    [['zrem', '{t}z', 'nope'], 0],
    [['zrem', '{t}nokey', 'a'], 0],
    [['zrem', '{t}z'], arity('zrem')],
    [['zrem', '{t}z', 'c', 'd', 'e', 'f'], 4],
    [['exists', '{t}z'], 0],
  ]);
});

t.test('the ZRANGE family: ranks, scores, lex, REV, LIMIT, WITHSCORES and their errors', async (t) => {
  await expectReplies(t, run, [
    [['zadd', '{t}z', '-inf', 'ninf', '1', 'a', '2', 'b', '3', 'c', '3', 'd', '4', 'e', '5', 'f', 'inf', 'pinf'], 8],
    [['zrange', '{t}z', '0', '-1'], ['ninf', 'a', 'b', 'c', 'd', 'e', 'f', 'pinf']],
    [['zrange', '{t}z', '0', '-1', 'withscores'], ['ninf', '-inf', 'a', '1', 'b', '2', 'c', '3', 'd', '3', 'e', '4', 'f', '5', 'pinf', 'inf']],
    [['zrange', '{t}z', '1', '2', 'withscores'], ['a', '1', 'b', '2']],
    [['zrange', '{t}z', '-2', '-1'], ['f', 'pinf']],
    [['zrange', '{t}z', '5', '1'], []],
    [['zrange', '{t}z', '-100', '100'], ['ninf', 'a', 'b', 'c', 'd', 'e', 'f', 'pinf']],
    [['zrange', '{t}z', '100', '200'], []],
    [['zrange', '{t}z', '-100', '-50'], []],
    [['zrange', '{t}z', '0', '9223372036854775807'], ['ninf', 'a', 'b', 'c', 'd', 'e', 'f', 'pinf']],
    [['zrange', '{t}z', '-9223372036854775808', '0'], ['ninf']],
    [['zrange', '{t}z', '0', '99999999999999999999'], NOT_INT],
    [['zrange', '{t}z', '0', '1.5'], NOT_INT],
    [['zrange', '{t}z', '0', '-1', 'rev'], ['pinf', 'f', 'e', 'd', 'c', 'b', 'a', 'ninf']],
    [['zrange', '{t}z', '0', '2', 'rev', 'withscores'], ['pinf', 'inf', 'f', '5', 'e', '4']],
    [['zrange', '{t}z', '0', '-1', 'REV', 'WITHSCORES'], ['pinf', 'inf', 'f', '5', 'e', '4', 'd', '3', 'c', '3', 'b', '2', 'a', '1', 'ninf', '-inf']],
    [['zrange', '{t}z', '-inf', '+inf', 'byscore'], ['ninf', 'a', 'b', 'c', 'd', 'e', 'f', 'pinf']],
    [['zrange', '{t}z', '(1', '(4', 'byscore', 'withscores'], ['b', '2', 'c', '3', 'd', '3']],
    [['zrange', '{t}z', '+inf', '-inf', 'byscore', 'rev'], ['pinf', 'f', 'e', 'd', 'c', 'b', 'a', 'ninf']],
    [['zrange', '{t}z', '4', '(1', 'byscore', 'rev', 'withscores'], ['e', '4', 'd', '3', 'c', '3', 'b', '2']],
    [['zrange', '{t}z', '(1', '+inf', 'byscore', 'limit', '1', '2'], ['c', 'd']],
    [['zrange', '{t}z', '-inf', '+inf', 'byscore', 'limit', '0', '-1', 'withscores'], ['ninf', '-inf', 'a', '1', 'b', '2', 'c', '3', 'd', '3', 'e', '4', 'f', '5', 'pinf', 'inf']],
    [['zrange', '{t}z', '-inf', '+inf', 'byscore', 'limit', '-1', '2'], []],
    [['zrange', '{t}z', '-inf', '+inf', 'byscore', 'limit', '100', '2'], []],
    [['zrange', '{t}z', '-inf', '+inf', 'byscore', 'limit', '2', '0'], []],
    [['zrange', '{t}z', '+inf', '-inf', 'byscore', 'rev', 'limit', '2', '3', 'withscores'], ['e', '4', 'd', '3', 'c', '3']],
    [['zrange', '{t}z', '1', '3', 'byscore', 'limit', '1', '1', 'limit', '0', '1'], ['a']],
    [['zrange', '{t}z', '-inf', '+inf', 'byscore', 'limit', '7', '5'], ['pinf']],
    [['zrange', '{t}z', '-inf', '+inf', 'byscore', 'limit', '8', '5'], []],
    [['zrange', '{t}z', '1', '3', 'byscore', 'rev'], []],
    [['zrange', '{t}nokey', '0', '-1'], []],
    [['zrange', '{t}nokey', '-inf', '+inf', 'byscore'], []],
    [['zrange', '{t}z', '0', '1', 'limit', '0', '1'], err('ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX')],
    [['zrange', '{t}z', '0', '1', 'limit', '0', '-1'], ['ninf', 'a']],
    [['zrange', '{t}z', '0', '1', 'byscore', 'bylex'], SYNTAX],
    [['zrange', '{t}z', '0', '1', 'bylex', 'byscore'], SYNTAX],
    [['zrange', '{t}z', '0', '1', 'rev', 'rev'], SYNTAX],
    [['zrange', '{t}z', '0', '1', 'limit', '0'], SYNTAX],
    [['zrange', '{t}z', '0', '1', 'limit', 'a', 'b'], NOT_INT],
    [['zrange', '{t}z', '0', '1', 'limit', '0', 'b'], NOT_INT],
    [['zrange', '{t}z', '0', '1', 'foo'], SYNTAX],
    [['zrange', '{t}z', 'a', '1'], NOT_INT],
    [['zrange', '{t}z', 'x', 'y', 'byscore'], err('ERR min or max is not a float')],
    [['zrange', '{t}z', 'x', 'y', 'bylex'], err('ERR min or max not valid string range item')],
    [['zrange', '{t}z', '-', '+', 'bylex', 'withscores'], err('ERR syntax error, WITHSCORES not supported in combination with BYLEX')],
    [['zrange', '{t}z', '0', '1', 'withscores', 'limit', '0', '1'], err('ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX')],
    [['zrange', '{t}z', '0'], arity('zrange')],
    [['zrangebyscore', '{t}z', '-inf', '+inf'], ['ninf', 'a', 'b', 'c', 'd', 'e', 'f', 'pinf']],
    [['zrangebyscore', '{t}z', '-inf', '+inf', 'withscores', 'limit', '1', '1'], ['a', '1']],
    [['zrangebyscore', '{t}z', '-inf', '+inf', 'rev'], SYNTAX],
    [['zrangebyscore', '{t}z', '-inf', '+inf', 'byscore'], SYNTAX],
    [['zrangebyscore', '{t}z', '-inf', '+inf', 'limit', '1'], SYNTAX],
    [['zrangebyscore', '{t}z', '3', '3'], ['c', 'd']],
    [['zrangebyscore', '{t}z', 'x', '3'], err('ERR min or max is not a float')],
    [['zrevrangebyscore', '{t}z', '+inf', '-inf', 'withscores'], ['pinf', 'inf', 'f', '5', 'e', '4', 'd', '3', 'c', '3', 'b', '2', 'a', '1', 'ninf', '-inf']],
    [['zrevrangebyscore', '{t}z', '3', '1', 'limit', '1', '10'], ['c', 'b', 'a']],
    [['zrevrangebyscore', '{t}z', '1', '3'], []],
    [['zrevrangebyscore', '{t}z', '(3', '(1', 'withscores'], ['b', '2']],
    [['zrevrange', '{t}z', '0', '1', 'withscores'], ['pinf', 'inf', 'f', '5']],
    [['zrevrange', '{t}z', '-3', '-1'], ['b', 'a', 'ninf']],
    [['zrevrange', '{t}z', '0', '1', 'byscore'], SYNTAX],
    [['zrevrange', '{t}z', '0', '1', 'limit', '0', '1'], err('ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX')],
    [['zadd', '{t}lex', '0', 'a', '0', 'b', '0', 'c', '0', 'd', '0', 'e', '0', 'f', '0', 'g'], 7],
    [['zrangebylex', '{t}lex', '-', '+'], ['a', 'b', 'c', 'd', 'e', 'f', 'g']],
    [['zrangebylex', '{t}lex', '[b', '(d'], ['b', 'c']],
    [['zrangebylex', '{t}lex', '(b', '+'], ['c', 'd', 'e', 'f', 'g']],
    [['zrangebylex', '{t}lex', '-', '+', 'limit', '1', '2'], ['b', 'c']],
    [['zrangebylex', '{t}lex', '-', '+', 'limit', '1', '-1'], ['b', 'c', 'd', 'e', 'f', 'g']],
    [['zrangebylex', '{t}lex', '-', '+', 'limit', '-1', '1'], []],
    [['zrangebylex', '{t}lex', '[a', '[a'], ['a']],
    [['zrangebylex', '{t}lex', '(a', '(a'], []],
    [['zrangebylex', '{t}lex', '+', '+'], []],
    [['zrangebylex', '{t}lex', '-', '-'], []],
    [['zrangebylex', '{t}lex', '[z', '+'], []],
    [['zrangebylex', '{t}lex', '-', '+', 'withscores'], err('ERR syntax error, WITHSCORES not supported in combination with BYLEX')],
    [['zrangebylex', '{t}lex', 'a', '+'], err('ERR min or max not valid string range item')],
    [['zrevrangebylex', '{t}lex', '+', '-'], ['g', 'f', 'e', 'd', 'c', 'b', 'a']],
    [['zrevrangebylex', '{t}lex', '(d', '[a'], ['c', 'b', 'a']],
    [['zrevrangebylex', '{t}lex', '+', '-', 'limit', '1', '2'], ['f', 'e']],
    [['zrevrangebylex', '{t}lex', '[b', '[d'], []],
    [['zrange', '{t}lex', '[b', '[d', 'bylex'], ['b', 'c', 'd']],
    [['zrange', '{t}lex', '[d', '[b', 'bylex', 'rev', 'limit', '1', '5'], ['c', 'b']],
    [['zrange', '{t}lex', '[b', '[d', 'bylex', 'limit', '1', '1'], ['c']],
    [['zrangebyscore', '{t}str', '1', '2'], []],
    [['set', '{t}str', 'x'], 'OK'],
    [['zrange', '{t}str', '0', '-1'], WRONGTYPE],
    [['zrangebyscore', '{t}str', '1', '2'], WRONGTYPE],
    [['zrangebylex', '{t}str', '-', '+'], WRONGTYPE],
    [['zrange', '{t}str', 'x', 'y'], NOT_INT],
  ]);
});

// Lex ranges assume equal scores; with mixed scores a listpack answers by scanning
// from one end (zzlFirstInLexRange / zzlLastInLexRange), which Shoal reproduces.
t.test('lex ranges over mixed scores on a listpack scan as Redis does', async (t) => {
  await expectReplies(t, run, [
    [['zadd', '{t}mix', '0', 'a', '1', 'c', '2', 'b', '3', 'e', '4', 'd', '5', 'z', '5', 'y'], 7],
    [['zrangebylex', '{t}mix', '-', '+'], ['a', 'c', 'b', 'e', 'd', 'y', 'z']],
    [['zrangebylex', '{t}mix', '-', '(b'], ['a']],
    [['zrangebylex', '{t}mix', '[b', '+'], ['c', 'b', 'e', 'd', 'y', 'z']],
    [['zrangebylex', '{t}mix', '[b', '[d'], ['c', 'b']],
    [['zrevrangebylex', '{t}mix', '+', '-'], ['z', 'y', 'd', 'e', 'b', 'c', 'a']],
    [['zrevrangebylex', '{t}mix', '[d', '[b'], ['d', 'e', 'b', 'c']],
    [['zrevrangebylex', '{t}mix', '(d', '-'], ['b', 'c', 'a']],
    [['zlexcount', '{t}mix', '-', '(b'], 1],
    [['zlexcount', '{t}mix', '[a', '[c'], 3],
    [['zlexcount', '{t}mix', '[b', '[bb'], 0],
    [['zrange', '{t}mix', '[a', '[d', 'bylex', 'limit', '1', '2'], ['c', 'b']],
    [['zrange', '{t}mix', '[d', '[a', 'bylex', 'rev', 'limit', '1', '1'], ['e']],
    [['zrangestore', '{t}dst', '{t}mix', '[a', '[d', 'bylex'], 3],
    [['zrange', '{t}dst', '0', '-1', 'withscores'], ['a', '0', 'c', '1', 'b', '2']],
    [['zremrangebylex', '{t}mix', '[a', '[c'], 3],
    [['zrange', '{t}mix', '0', '-1'], ['e', 'd', 'y', 'z']],
    [['zremrangebylex', '{t}mix', '-', '(b'], 0],
    [['zrange', '{t}mix', '0', '-1'], ['e', 'd', 'y', 'z']],
  ]);
});

t.test('ZRANGESTORE and ZREMRANGEBYRANK/SCORE/LEX', async (t) => {
  await expectReplies(t, run, [
    [['zadd', '{t}z', '1', 'a', '2', 'b', '3', 'c', '4', 'd', '5', 'e'], 5],
    [['zrangestore', '{t}dst', '{t}z', '0', '1'], 2],
    [['zrange', '{t}dst', '0', '-1', 'withscores'], ['a', '1', 'b', '2']],
    [['zrangestore', '{t}dst', '{t}z', '0', '1', 'withscores'], SYNTAX],
    [['zrangestore', '{t}dst', '{t}z', '2', '4', 'rev'], 3],
    [['zrange', '{t}dst', '0', '-1', 'withscores'], ['a', '1', 'b', '2', 'c', '3']],
    [['zrangestore', '{t}dst', '{t}z', '(1', '4', 'byscore', 'limit', '1', '2'], 2],
    [['zrange', '{t}dst', '0', '-1', 'withscores'], ['c', '3', 'd', '4']],
    [['zrangestore', '{t}dst', '{t}z', '4', '(1', 'byscore', 'rev', 'limit', '0', '2'], 2],
    [['zrange', '{t}dst', '0', '-1', 'withscores'], ['c', '3', 'd', '4']],
    [['zrangestore', '{t}dst', '{t}z', '[b', '[d', 'bylex'], 3],
    [['zrange', '{t}dst', '0', '-1', 'withscores'], ['b', '2', 'c', '3', 'd', '4']],
    [['zrangestore', '{t}dst', '{t}nokey', '0', '1'], 0],
    [['exists', '{t}dst'], 0],
    [['zadd', '{t}dst', '1', 'x'], 1],
    [['zrangestore', '{t}dst', '{t}z', '10', '20', 'byscore'], 0],
    [['exists', '{t}dst'], 0],
    [['zrangestore', '{t}dst', '{t}z', '5', '1'], 0],
    [['zrangestore', '{t}z', '{t}z', '1', '2'], 2],
    [['zrange', '{t}z', '0', '-1', 'withscores'], ['b', '2', 'c', '3']],
    [['zrangestore', '{t}dst', '{t}z', '0', '1', 'limit', '0', '1'], err('ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX')],
    [['zrangestore', '{t}dst', '{t}z', '0', 'x'], NOT_INT],
    [['zrangestore', '{t}dst', '{t}z'], arity('zrangestore')],
    [['set', '{t}str', 'v'], 'OK'],
    [['zrangestore', '{t}dst', '{t}str', '0', '1'], WRONGTYPE],
    [['zrangestore', '{t}str', '{t}z', '0', '-1'], 2],
    [['type', '{t}str'], 'zset'],
    [['zadd', '{t}r', '1', 'a', '2', 'b', '3', 'c', '4', 'd', '5', 'e'], 5],
    [['zremrangebyrank', '{t}r', '0', '0'], 1],
    [['zremrangebyrank', '{t}r', '5', '1'], 0],
    [['zremrangebyrank', '{t}r', '10', '20'], 0],
    [['zremrangebyrank', '{t}r', '-1', '-1'], 1],
    [['zremrangebyrank', '{t}r', 'a', '1'], NOT_INT],
    [['zremrangebyrank', '{t}r', '0', '1.5'], NOT_INT],
    [['zrange', '{t}r', '0', '-1', 'withscores'], ['b', '2', 'c', '3', 'd', '4']],
    [['zremrangebyscore', '{t}r', '(2', '3'], 1],
    [['zremrangebyscore', '{t}r', 'x', '2'], err('ERR min or max is not a float')],
    [['zremrangebyscore', '{t}r', '5', '1'], 0],
    [['zrange', '{t}r', '0', '-1', 'withscores'], ['b', '2', 'd', '4']],
    [['zremrangebyrank', '{t}r', '0', '-1'], 2],
    [['exists', '{t}r'], 0],
    [['zremrangebyrank', '{t}nokey', '0', '-1'], 0],
    [['zremrangebyscore', '{t}nokey', '-inf', '+inf'], 0],
    [['zremrangebylex', '{t}nokey', '-', '+'], 0],
    [['zremrangebyscore', '{t}nokey', 'x', 'y'], err('ERR min or max is not a float')],
    [['zadd', '{t}lex', '0', 'a', '0', 'b', '0', 'c', '0', 'd', '0', 'e'], 5],
    [['zremrangebylex', '{t}lex', '-', '(b'], 1],
    [['zremrangebylex', '{t}lex', 'x', 'y'], err('ERR min or max not valid string range item')],
    [['zremrangebylex', '{t}lex', '[c', '[d'], 2],
    [['zrange', '{t}lex', '0', '-1'], ['b', 'e']],
    [['zremrangebylex', '{t}lex', '-', '+'], 2],
    [['exists', '{t}lex'], 0],
    [['zremrangebyrank', '{t}str', '0', '-1'], 2],
    [['zremrangebyscore', '{t}str', '0', '1'], 0],
    [['zremrangebylex', '{t}str', '-', '+'], 0],
    [['zremrangebyrank', '{t}r', '0'], arity('zremrangebyrank')],
  ]);
});

t.test('ZPOPMIN ZPOPMAX ZMPOP: counts, shapes and errors', async (t) => {
  await expectReplies(t, run, [
    [['zadd', '{t}a', '1', 'a', '2', 'b', '3', 'c', '4', 'd', '5', 'e'], 5],
    [['zpopmin', '{t}a'], ['a', '1']],
    [['zpopmax', '{t}a', '2'], ['e', '5', 'd', '4']],
    [['zpopmin', '{t}a', '0'], []],
    [['zpopmin', '{t}a', '-1'], err('ERR value is out of range, must be positive')],
    [['zpopmin', '{t}a', 'abc'], err('ERR value is out of range, must be positive')],
    [['zpopmin', '{t}a', '1', '2'], SYNTAX],
    [['zpopmin', '{t}nokey'], []],
    [['zpopmin', '{t}nokey', '2'], []],
    [['zpopmin', '{t}nokey', '0'], []],
    [['zpopmax', '{t}a', '10'], ['c', '3', 'b', '2']],
    [['exists', '{t}a'], 0],
    [['zadd', '{t}a', '1', 'a', '2', 'b', '3', 'c', '4', 'd'], 4],
    [['zmpop', '1', '{t}a', 'min'], ['{t}a', [['a', '1']]]],
    [['zmpop', '2', '{t}nokey', '{t}a', 'max', 'count', '2'], ['{t}a', [['d', '4'], ['c', '3']]]],
    [['zmpop', '1', '{t}nokey', 'min'], null],
    [['zmpop', '0', '{t}a', 'min'], err('ERR numkeys should be greater than 0')],
    [['zmpop', '-1', '{t}a', 'min'], err('ERR numkeys should be greater than 0')],
    [['zmpop', 'abc', '{t}a', 'min'], err('ERR numkeys should be greater than 0')],
    [['zmpop', '1', '{t}a', 'middle'], SYNTAX],
    [['zmpop', '1', '{t}a', 'min', 'count', '0'], err('ERR count should be greater than 0')],
    [['zmpop', '1', '{t}a', 'min', 'count', '-3'], err('ERR count should be greater than 0')],
    [['zmpop', '1', '{t}a', 'min', 'count', 'x'], err('ERR count should be greater than 0')],
    [['zmpop', '1', '{t}a', 'min', 'count', '1', 'count', '2'], SYNTAX],
    [['zmpop', '1', '{t}a', 'min', 'foo'], SYNTAX],
    [['zmpop', '1', '{t}a', 'min', 'count'], SYNTAX],
    [['zmpop', '5', '{t}a', 'min'], SYNTAX],
    [['zmpop', '1', '{t}a', 'MAX', 'COUNT', '10'], ['{t}a', [['b', '2']]]],
    [['exists', '{t}a'], 0],
    [['zmpop', '1', '{t}a'], arity('zmpop')],
    [['set', '{t}s', 'x'], 'OK'],
    [['zmpop', '2', '{t}nokey', '{t}s', 'min'], WRONGTYPE],
    [['zpopmin', '{t}s'], WRONGTYPE],
    [['zpopmax', '{t}s', '0'], WRONGTYPE],
  ]);
});

t.test('ZPOPMIN ZPOPMAX ZMPOP in RESP3', async (t) => {
  const c = await resp3(t);
  await expectReplies(t, c.run.bind(c), [
    [['zadd', '{t}a', '1', 'a', '2', 'b', '3', 'c', '4', 'd', '5', 'e'], 5],
    [['zpopmin', '{t}a'], ['a', 1]],
    [['zpopmax', '{t}a', '2'], [['e', 5], ['d', 4]]],
    [['zpopmin', '{t}a', '0'], []],
    [['zpopmin', '{t}a', '-1'], err('ERR value is out of range, must be positive')],
    [['zpopmin', '{t}a', 'abc'], err('ERR value is out of range, must be positive')],
    [['zpopmin', '{t}a', '1', '2'], SYNTAX],
    [['zpopmin', '{t}nokey'], []],
    [['zpopmin', '{t}nokey', '2'], []],
    [['zpopmin', '{t}nokey', '0'], []],
    [['zpopmax', '{t}a', '10'], [['c', 3], ['b', 2]]],
    [['exists', '{t}a'], 0],
    [['zadd', '{t}a', '1', 'a', '2', 'b', '3', 'c', '4', 'd'], 4],
    [['zmpop', '1', '{t}a', 'min'], ['{t}a', [['a', 1]]]],
    [['zmpop', '2', '{t}nokey', '{t}a', 'max', 'count', '2'], ['{t}a', [['d', 4], ['c', 3]]]],
    [['zmpop', '1', '{t}nokey', 'min'], null],
    [['zmpop', '0', '{t}a', 'min'], err('ERR numkeys should be greater than 0')],
    [['zmpop', '-1', '{t}a', 'min'], err('ERR numkeys should be greater than 0')],
    [['zmpop', 'abc', '{t}a', 'min'], err('ERR numkeys should be greater than 0')],
    [['zmpop', '1', '{t}a', 'middle'], SYNTAX],
    [['zmpop', '1', '{t}a', 'min', 'count', '0'], err('ERR count should be greater than 0')],
    [['zmpop', '1', '{t}a', 'min', 'count', '-3'], err('ERR count should be greater than 0')],
    [['zmpop', '1', '{t}a', 'min', 'count', 'x'], err('ERR count should be greater than 0')],
    [['zmpop', '1', '{t}a', 'min', 'count', '1', 'count', '2'], SYNTAX],
    [['zmpop', '1', '{t}a', 'min', 'foo'], SYNTAX],
    [['zmpop', '1', '{t}a', 'min', 'count'], SYNTAX],
    [['zmpop', '5', '{t}a', 'min'], SYNTAX],
    [['zmpop', '1', '{t}a', 'MAX', 'COUNT', '10'], ['{t}a', [['b', 2]]]],
    [['exists', '{t}a'], 0],
    [['zmpop', '1', '{t}a'], arity('zmpop')],
    [['set', '{t}s', 'x'], 'OK'],
    [['zmpop', '2', '{t}nokey', '{t}s', 'min'], WRONGTYPE],
    [['zpopmin', '{t}s'], WRONGTYPE],
    [['zpopmax', '{t}s', '0'], WRONGTYPE],
  ]);
});

t.test('ZUNION ZINTER ZDIFF, their STORE forms and ZINTERCARD, with sets as inputs', async (t) => {
  await expectReplies(t, run, [
    [['sadd', '{t}set1', 'a', 'b', 'c'], 3],
    [['sadd', '{t}set2', 'c', 'd', '12'], 3],
    [['zadd', '{t}z1', '1', 'a', '2', 'b', '3', 'c'], 3],
    [['zadd', '{t}z2', '10', 'b', '20', 'c', '30', 'd'], 3],
    [['zunion', '2', '{t}z1', '{t}z2'], ['a', 'b', 'c', 'd']],
    [['zunion', '2', '{t}z1', '{t}z2', 'withscores'], ['a', '1', 'b', '12', 'c', '23', 'd', '30']],
    [['zunion', '2', '{t}z1', '{t}z2', 'weights', '2', '3', 'withscores'], ['a', '2', 'b', '34', 'c', '66', 'd', '90']],
    [['zunion', '2', '{t}z1', '{t}z2', 'weights', '2', 'withscores'], err('ERR weight value is not a float')],
    [['zunion', '2', '{t}z1', '{t}z2', 'weights', '2', 'x', 'withscores'], err('ERR weight value is not a float')],
    [['zunion', '2', '{t}z1', '{t}z2', 'weights', '2', '3', '4'], SYNTAX],
    [['zunion', '2', '{t}z1', '{t}z2', 'aggregate', 'min', 'withscores'], ['a', '1', 'b', '2', 'c', '3', 'd', '30']],
    [['zunion', '2', '{t}z1', '{t}z2', 'aggregate', 'max', 'withscores'], ['a', '1', 'b', '10', 'c', '20', 'd', '30']],
    [['zunion', '2', '{t}z1', '{t}z2', 'AGGREGATE', 'SUM', 'WEIGHTS', '1', '-1', 'WITHSCORES'], ['d', '-30', 'c', '-17', 'b', '-8', 'a', '1']],
    [['zunion', '2', '{t}z1', '{t}z2', 'aggregate', 'foo'], SYNTAX],
    [['zunion', '2', '{t}z1', '{t}z2', 'aggregate'], SYNTAX],
    [['zunion', '2', '{t}z1', '{t}z2', 'withscores', 'withscores'], ['a', '1', 'b', '12', 'c', '23', 'd', '30']],
    [['zunion', '3', '{t}z1', '{t}z2', '{t}set1', 'withscores'], ['a', '2', 'b', '13', 'c', '24', 'd', '30']],
    [['zunion', '2', '{t}set1', '{t}set2', 'withscores'], ['12', '1', 'a', '1', 'b', '1', 'd', '1', 'c', '2']],
    [['zunion', '2', '{t}z1', '{t}nokey', 'withscores'], ['a', '1', 'b', '2', 'c', '3']],
    [['zunion', '1', '{t}nokey'], []],
    [['zinter', '3', '{t}z1', '{t}z2', '{t}set1', 'withscores'], ['b', '13', 'c', '24']],
    [['zinter', '2', '{t}z1', '{t}z2', 'withscores'], ['b', '12', 'c', '23']],
    [['zinter', '2', '{t}z1', '{t}z2'], ['b', 'c']],
    [['zinter', '2', '{t}z1', '{t}z2', 'weights', '1', '-1', 'aggregate', 'sum', 'withscores'], ['c', '-17', 'b', '-8']],
    [['zinter', '2', '{t}z1', '{t}z2', 'aggregate', 'max', 'withscores'], ['b', '10', 'c', '20']],
    [['zinter', '2', '{t}z1', '{t}z2', 'aggregate', 'min', 'withscores'], ['b', '2', 'c', '3']],
    [['zinter', '2', '{t}set1', '{t}set2', 'withscores'], ['c', '2']],
    [['zinter', '2', '{t}z1', '{t}nokey', 'withscores'], []],
    [['zinter', '2', '{t}z1', '{t}z1', 'withscores'], ['a', '2', 'b', '4', 'c', '6']],
    [['zdiff', '2', '{t}z1', '{t}z2', 'withscores'], ['a', '1']],
    [['zdiff', '2', '{t}z1', '{t}z2'], ['a']],
    [['zdiff', '2', '{t}z1', '{t}set1', 'withscores'], []],
    [['zdiff', '2', '{t}set1', '{t}z1', 'withscores'], []],
    [['zdiff', '2', '{t}set2', '{t}z2', 'withscores'], ['12', '1']],
    [['zdiff', '2', '{t}z1', '{t}z2', 'weights', '1', '1'], SYNTAX],
    [['zdiff', '2', '{t}z1', '{t}z2', 'aggregate', 'sum'], SYNTAX],
    [['zdiff', '1', '{t}nokey'], []],
    [['zdiff', '1', '{t}z2', 'withscores'], ['b', '10', 'c', '20', 'd', '30']],
    [['zunion', '0', '{t}z1'], err('ERR at least 1 input key is needed for \'zunion\' command')],
    [['zinter', '0', '{t}z1'], err('ERR at least 1 input key is needed for \'zinter\' command')],
    [['zdiff', '0', '{t}z1'], err('ERR at least 1 input key is needed for \'zdiff\' command')],
    [['zunion', '-1', '{t}z1'], err('ERR at least 1 input key is needed for \'zunion\' command')],
    [['zunion', 'abc', '{t}z1'], NOT_INT],
    [['zunion', '3', '{t}z1', '{t}z2'], SYNTAX],
    [['set', '{t}s', 'x'], 'OK'],
    [['zunion', '2', '{t}z1', '{t}s'], WRONGTYPE],
    [['zunion', '2', '{t}z1', '{t}s', 'foo'], WRONGTYPE],
    [['zinter', '2', '{t}z1', '{t}s'], WRONGTYPE],
    [['zdiff', '2', '{t}z1', '{t}s'], WRONGTYPE],
    [['zunionstore', '{t}d', '2', '{t}z1', '{t}z2'], 4],
    [['zrange', '{t}d', '0', '-1', 'withscores'], ['a', '1', 'b', '12', 'c', '23', 'd', '30']],
    [['zunionstore', '{t}d', '2', '{t}z1', '{t}z2', 'withscores'], SYNTAX],
    [['zunionstore', '{t}d', '0', '{t}z1'], err('ERR at least 1 input key is needed for \'zunionstore\' command')],
    [['zinterstore', '{t}d', '2', '{t}z1', '{t}z2', 'weights', '2', '2'], 2],
    [['zrange', '{t}d', '0', '-1', 'withscores'], ['b', '24', 'c', '46']],
    [['zinterstore', '{t}d', '2', '{t}z1', '{t}nokey'], 0],
    [['exists', '{t}d'], 0],
    [['zdiffstore', '{t}d', '2', '{t}z1', '{t}z2'], 1],
    [['zrange', '{t}d', '0', '-1', 'withscores'], ['a', '1']],
    [['zdiffstore', '{t}d', '0', '{t}z1'], err('ERR at least 1 input key is needed for \'zdiffstore\' command')],
    [['zdiffstore', '{t}d', '1', '{t}z1', 'withscores'], SYNTAX],
    [['zinterstore', '{t}s', '2', '{t}z1', '{t}z2'], 2],
    [['type', '{t}s'], 'zset'],
    [['zunionstore', '{t}z1', '2', '{t}z1', '{t}z2'], 4],
    [['zrange', '{t}z1', '0', '-1', 'withscores'], ['a', '1', 'b', '12', 'c', '23', 'd', '30']],
    [['zunionstore', '{t}d', '1', '{t}set1'], 3],
    [['zrange', '{t}d', '0', '-1', 'withscores'], ['a', '1', 'b', '1', 'c', '1']],
    [['zintercard', '2', '{t}z1', '{t}z2'], 3],
    [['zintercard', '2', '{t}z1', '{t}z2', 'limit', '1'], 1],
    [['zintercard', '2', '{t}z1', '{t}z2', 'limit', '0'], 3],
    [['zintercard', '2', '{t}z1', '{t}z2', 'limit', '-1'], err('ERR LIMIT can\'t be negative')],
    [['zintercard', '2', '{t}z1', '{t}z2', 'limit', 'x'], err('ERR LIMIT can\'t be negative')],
    [['zintercard', '2', '{t}z1', '{t}z2', 'withscores'], SYNTAX],
    [['zintercard', '2', '{t}z1', '{t}z2', 'weights', '1', '1'], SYNTAX],
    [['zintercard', '0', '{t}z1'], err('ERR at least 1 input key is needed for \'zintercard\' command')],
    [['zintercard', '1', '{t}set1'], 3],
    [['zintercard', '2', '{t}set1', '{t}set2'], 1],
    [['zintercard', '3', '{t}z1', '{t}z2'], SYNTAX],
    [['zintercard', '1', '{t}nokey'], 0],
    [['zadd', '{t}inf', 'inf', 'a', '-inf', 'b', '1', 'c'], 3],
    [['zadd', '{t}inf2', '-inf', 'a', 'inf', 'b', 'inf', 'c'], 3],
    [['zunion', '2', '{t}inf', '{t}inf2', 'withscores'], ['a', '0', 'b', '0', 'c', 'inf']],
    [['zinter', '2', '{t}inf', '{t}inf2', 'withscores'], ['a', '0', 'b', '0', 'c', 'inf']],
    [['zinter', '2', '{t}inf', '{t}inf2', 'weights', '0', '1', 'withscores'], ['a', '-inf', 'b', 'inf', 'c', 'inf']],
    [['zunion', '1', '{t}inf', 'weights', '0', 'withscores'], ['a', '0', 'b', '0', 'c', '0']],
    [['zunion', '2', '{t}inf', '{t}inf2', 'aggregate', 'min', 'withscores'], ['a', '-inf', 'b', '-inf', 'c', '1']],
    [['zunion', '1', '{t}inf', 'weights', 'nan', 'withscores'], err('ERR weight value is not a float')],
    [['zunion', '1', '{t}inf', 'weights', '1e400', 'withscores'], err('ERR weight value is not a float')],
    [['zunion', '1', '{t}inf', 'weights', 'inf', 'withscores'], ['b', '-inf', 'a', 'inf', 'c', 'inf']],
    [['zunionstore', '{t}d', '1', '{t}inf', 'weights', '-1'], 3],
    [['zrange', '{t}d', '0', '-1', 'withscores'], ['a', '-inf', 'c', '-1', 'b', 'inf']],
  ]);
});

t.test('encodings: listpack by entries and value length, skiplist never converts back', async (t) => {
  await expectReplies(t, run, [
    [['config', 'set', 'zset-max-listpack-entries', '4'], 'OK'],
    [['zadd', '{t}b', '1', 'a', '2', 'b'], 2],
    [['object', 'encoding', '{t}b'], 'listpack'],
    [['zadd', '{t}b', '3', 'c', '4', 'd'], 2],
    [['object', 'encoding', '{t}b'], 'listpack'],
    [['zadd', '{t}b', '5', 'd'], 0],
    [['object', 'encoding', '{t}b'], 'listpack'],
    [['zincrby', '{t}b', '1', 'd'], '6'],
    [['object', 'encoding', '{t}b'], 'listpack'],
    [['zadd', '{t}b', '5', 'e'], 1],
    [['object', 'encoding', '{t}b'], 'skiplist'],
    [['zrem', '{t}b', 'a', 'b', 'c'], 3],
    [['object', 'encoding', '{t}b'], 'skiplist'],
    [['zpopmin', '{t}b', '2'], ['e', '5', 'd', '6']],
    [['exists', '{t}b'], 0],
    [['zadd', '{t}b', '1', 'a'], 1],
    [['object', 'encoding', '{t}b'], 'listpack'],
    [['zadd', '{t}n', '1', 'a', '2', 'b', '3', 'c', '4', 'd', '5', 'e'], 5],
    [['object', 'encoding', '{t}n'], 'skiplist'],
    [['zunionstore', '{t}u', '1', '{t}n'], 5],
    [['object', 'encoding', '{t}u'], 'skiplist'],
    [['zrangestore', '{t}u', '{t}n', '0', '3'], 4],
    [['object', 'encoding', '{t}u'], 'listpack'],
    [['zinterstore', '{t}u', '2', '{t}n', '{t}n'], 5],
    [['object', 'encoding', '{t}u'], 'skiplist'],
    [['config', 'set', 'zset-max-listpack-entries', '0'], 'OK'],
    [['zadd', '{t}w', '1', 'a'], 1],
    [['object', 'encoding', '{t}w'], 'skiplist'],
    [['config', 'set', 'zset-max-listpack-entries', '128'], 'OK'],
    [['config', 'set', 'zset-max-listpack-value', '3'], 'OK'],
    [['zadd', '{t}c', '1', 'abc'], 1],
    [['object', 'encoding', '{t}c'], 'listpack'],
    [['zadd', '{t}c', '2', 'abcd'], 1],
    [['object', 'encoding', '{t}c'], 'skiplist'],
    [['zadd', '{t}e', '1', 'abcd', '2', 'a'], 2],
    [['object', 'encoding', '{t}e'], 'skiplist'],
    [['zadd', '{t}x', '1', 'a', '2', 'b'], 2],
    [['zadd', '{t}x', '3', 'b'], 0],
    [['object', 'encoding', '{t}x'], 'listpack'],
    [['config', 'set', 'zset-max-listpack-value', '1'], 'OK'],
    [['zadd', '{t}x', '4', 'b'], 0],
    [['object', 'encoding', '{t}x'], 'listpack'],
    [['zunionstore', '{t}y', '1', '{t}x'], 2],
    [['object', 'encoding', '{t}y'], 'listpack'],
    [['config', 'set', 'zset-max-listpack-value', '64'], 'OK'],
  ]);
});

t.test('RESP3: scores are doubles, WITHSCORES pairs nest, nulls are _', async (t) => {
  const c = await resp3(t);
  const raw = async (argv: string[]): Promise<string> => (await c.runRaw(argv)).toString('latin1');
  t.equal(await raw(['ZADD', '{t}z', '0.1', 'a', '1', 'b', 'inf', 'c']), ':3\r\n');
  t.equal(await raw(['ZSCORE', '{t}z', 'a']), ',0.10000000000000001\r\n');
  t.equal(await raw(['ZSCORE', '{t}z', 'c']), ',inf\r\n');
  t.equal(await raw(['ZSCORE', '{t}z', 'nope']), '_\r\n');
  t.equal(await raw(['ZMSCORE', '{t}z', 'b', 'nope']), '*2\r\n,1\r\n_\r\n');
  t.equal(await raw(['ZRANGE', '{t}z', '0', '1', 'WITHSCORES']), '*2\r\n*2\r\n$1\r\na\r\n,0.10000000000000001\r\n*2\r\n$1\r\nb\r\n,1\r\n');
  t.equal(await raw(['ZRANGE', '{t}z', '0', '1']), '*2\r\n$1\r\na\r\n$1\r\nb\r\n');
  t.equal(await raw(['ZRANGEBYSCORE', '{t}z', '-inf', '+inf', 'WITHSCORES', 'LIMIT', '0', '1']), '*1\r\n*2\r\n$1\r\na\r\n,0.10000000000000001\r\n');
  t.equal(await raw(['ZINCRBY', '{t}z', '1', 'b']), ',2\r\n');
  t.equal(await raw(['ZADD', '{t}z', 'INCR', '1', 'b']), ',3\r\n');
  t.equal(await raw(['ZADD', '{t}z', 'INCR', 'NX', '1', 'b']), '_\r\n');
  // ZSCAN replies scores as bulk strings, in the listpack's text
  t.equal(await raw(['ZSCAN', '{t}z', '0']), '*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$19\r\n0.10000000000000001\r\n$1\r\nb\r\n$1\r\n3\r\n$1\r\nc\r\n$3\r\ninf\r\n');
  t.equal(await raw(['ZRANDMEMBER', '{t}z', '-1', 'WITHSCORES']).then((s) => s.startsWith('*1\r\n*2\r\n$1\r\n')), true);
  t.equal(await raw(['ZRANDMEMBER', '{t}nokey']), '_\r\n');
  t.equal(await raw(['ZRANDMEMBER', '{t}nokey', '1']), '*0\r\n');
  t.equal(await raw(['ZMPOP', '1', '{t}nokey', 'MIN']), '_\r\n');
  t.equal(await raw(['ZUNION', '1', '{t}z', 'WITHSCORES']), '*3\r\n*2\r\n$1\r\na\r\n,0.10000000000000001\r\n*2\r\n$1\r\nb\r\n,3\r\n*2\r\n$1\r\nc\r\n,inf\r\n');
  t.equal(await raw(['ZPOPMIN', '{t}z']), '*2\r\n$1\r\na\r\n,0.10000000000000001\r\n');
  t.equal(await raw(['ZPOPMIN', '{t}z', '1']), '*1\r\n*2\r\n$1\r\nb\r\n,3\r\n');
  t.equal(await raw(['ZRANGE', '{t}nokey', '0', '-1']), '*0\r\n');
  t.same(await c.run(['ZRANGE', '{t}z', '0', '-1', 'WITHSCORES']), [['c', Infinity]]);
});

t.test('RESP2 wire bytes: scores are bulk strings, null replies', async (t) => {
  t.equal((await runRaw(['ZADD', '{t}z', '1.5', 'a'])).toString(), ':1\r\n');
  t.equal((await runRaw(['ZSCORE', '{t}z', 'a'])).toString(), '$3\r\n1.5\r\n');
  t.equal((await runRaw(['ZSCORE', '{t}z', 'b'])).toString(), '$-1\r\n');
  t.equal((await runRaw(['ZINCRBY', '{t}z', '-inf', 'a'])).toString(), '$4\r\n-inf\r\n');
  t.equal((await runRaw(['ZMPOP', '1', '{t}nokey', 'MAX'])).toString(), '*-1\r\n');
  t.equal((await runRaw(['ZRANK', '{t}z', 'nope'])).toString(), '$-1\r\n');
  t.equal((await runRaw(['ZRANGE', '{t}nokey', '0', '-1'])).toString(), '*0\r\n');
});

t.test('-0: a listpack stores it as 0, a skiplist keeps it', async (t) => {
  await expectReplies(t, run, [
    [['ZINCRBY', '{t}lp', '-0', 'm'], '-0'],
    [['ZSCORE', '{t}lp', 'm'], '0'],
  ]);
  await setLimits(1, 64);
  await expectReplies(t, run, [
    [['ZADD', '{t}sl', '1', 'a', '2', 'b'], 2],
    [['OBJECT', 'ENCODING', '{t}sl'], 'skiplist'],
    [['ZINCRBY', '{t}sl', '-0', 'm'], '-0'],
    [['ZSCORE', '{t}sl', 'm'], '-0'],
    [['ZRANGE', '{t}sl', '0', '0', 'WITHSCORES'], ['m', '-0']],
    [['ZSCAN', '{t}sl', '0', 'MATCH', 'm'], ['0', ['m', '-0']]],
  ]);
});

t.test('binary-safe members order by bytes', async (t) => {
  const members = [Buffer.from([0xff]), Buffer.from([0]), Buffer.from('a\r\nb'), Buffer.from([0x7f, 0]), Buffer.from('')];
  const argv: (string | Buffer)[] = ['ZADD', '{t}bin'];
  for (const m of members) argv.push('0', m);
  t.same(await run(argv), 5);
  const sorted = [...members].sort(Buffer.compare);
  t.same(await run(['ZRANGE', '{t}bin', '0', '-1'], { buffers: true }), sorted);
  t.same(await run(['ZRANGEBYLEX', '{t}bin', Buffer.from([0x28, 0]), '+'], { buffers: true }), sorted.slice(2));
  t.same(await run(['ZSCORE', '{t}bin', Buffer.from([0xff])]), '0');
  t.same(await run(['ZRANK', '{t}bin', Buffer.from('a\r\nb')]), 2);
  // the same on a skiplist
  await setLimits(2, 64);
  t.same(await run(['ZUNIONSTORE', '{t}bin2', '1', '{t}bin']), 5);
  t.same(await run(['OBJECT', 'ENCODING', '{t}bin2']), 'skiplist');
  t.same(await run(['ZRANGE', '{t}bin2', '0', '-1'], { buffers: true }), sorted);
  t.same(await run(['ZRANGEBYLEX', '{t}bin2', Buffer.from([0x28, 0]), '+'], { buffers: true }), sorted.slice(2));
  t.same(await run(['ZREVRANK', '{t}bin2', Buffer.from('')]), 4);
});

t.test('ZADD flags and ZINCRBY on a skiplist answer as on a listpack', async (t) => {
  await fill('{t}sk', 200);
  await expectReplies(t, run, [
    [['OBJECT', 'ENCODING', '{t}sk'], 'skiplist'],
    [['zadd', '{t}sk', 'nx', '5', 'm1', '6', 'new1'], 1],
    [['zadd', '{t}sk', 'xx', '5', 'm1', '6', 'new2'], 0],
    [['zscore', '{t}sk', 'm1'], '5'],
    [['zadd', '{t}sk', 'xx', 'ch', '7', 'm1', '6', 'new2'], 1],
    [['zadd', '{t}sk', 'gt', 'ch', '1', 'm1', '900', 'm2'], 1],
    [['zadd', '{t}sk', 'lt', 'ch', '1', 'm1', '900', 'm3'], 1],
    [['zadd', '{t}sk', 'incr', '1', 'm1'], '2'],
    [['zadd', '{t}sk', 'incr', 'nx', '1', 'm1'], null],
    [['zadd', '{t}sk', 'incr', 'xx', '1', 'newm'], null],
    [['zadd', '{t}sk', 'incr', 'gt', '-100', 'm1'], null],
    [['zadd', '{t}sk', 'inf', 'x', '-inf', 'y'], 2],
    [['zincrby', '{t}sk', '-inf', 'x'], err('ERR resulting score is not a number (NaN)')],
    [['zadd', '{t}sk', 'incr', '+inf', 'y'], err('ERR resulting score is not a number (NaN)')],
    // pairs apply in order: m1 keeps its score, m4 changes twice
    [['zadd', '{t}sk', 'ch', '2', 'm1', '2', 'm4', '4', 'm4'], 2],
    [['zrange', '{t}sk', '0', '3', 'withscores'], ['y', '-inf', 'm0', '0', 'm1', '2', 'm3', '3']],
    [['zmscore', '{t}sk', 'new1', 'new2', 'm2', 'm4', 'x'], ['6', null, '900', '4', 'inf']],
    [['zadd', '{t}sk', 'ch', '10', 'a1', '11', 'a2', '12', 'm5'], 3],
    [['zadd', '{t}sk', 'nan', 'm1'], NOT_FLOAT],
    [['zadd', '{t}sk', '-0', 'm6'], 0],
    [['zscore', '{t}sk', 'm6'], '-0'],
    [['zincrby', '{t}sk', '0.1', 'm6'], '0.10000000000000001'],
    [['zincrby', '{t}sk', '2.5', 'fresh'], '2.5'],
    [['zcard', '{t}sk'], 206],
    [['zrank', '{t}sk', 'm2'], 204],
    [['zrem', '{t}sk', 'm2', 'fresh', 'nope'], 2],
    [['zcard', '{t}sk'], 204],
  ]);
});

t.test('large sorted sets (skiplist) answer like small ones', async (t) => {
  const n = 3000;
  // scores repeat (i % 100) so ties order by member bytes
  const score = (i: number): number => i % 100;
  await fill('{t}big', n, (i) => String(score(i)));
  const model = Array.from({ length: n }, (_, i) => ({ m: `m${i}`, s: score(i) }));
  model.sort((a, b) => a.s - b.s || (a.m < b.m ? -1 : a.m > b.m ? 1 : 0));
  const flat = (xs: { m: string; s: number }[]): string[] => xs.flatMap((x) => [x.m, String(x.s)]);
  await expectReplies(t, run, [
    [['OBJECT', 'ENCODING', '{t}big'], 'skiplist'],
    [['ZCARD', '{t}big'], n],
    [['ZRANK', '{t}big', 'm1234'], model.findIndex((x) => x.m === 'm1234')],
    [['ZREVRANK', '{t}big', 'm1234'], n - 1 - model.findIndex((x) => x.m === 'm1234')],
    [['ZSCORE', '{t}big', 'm1234'], '34'],
    [['ZRANGE', '{t}big', '1000', '1004', 'WITHSCORES'], flat(model.slice(1000, 1005))],
    [['ZRANGE', '{t}big', '-3', '-1'], model.slice(-3).map((x) => x.m)],
    [['ZRANGE', '{t}big', '0', '2', 'REV'], model.slice(-3).reverse().map((x) => x.m)],
    [['ZCOUNT', '{t}big', '(10', '20'], 300],
    [['ZRANGEBYSCORE', '{t}big', '(10', '20', 'LIMIT', '5', '3'], model.filter((x) => x.s > 10 && x.s <= 20).slice(5, 8).map((x) => x.m)],
    [['ZREVRANGEBYSCORE', '{t}big', '20', '(10', 'LIMIT', '5', '3'], model.filter((x) => x.s > 10 && x.s <= 20).reverse().slice(5, 8).map((x) => x.m)],
    [['ZRANGE', '{t}big', '(98', '+inf', 'BYSCORE', 'LIMIT', '0', '2', 'WITHSCORES'], flat(model.filter((x) => x.s > 98).slice(0, 2))],
    [['ZLEXCOUNT', '{t}big', '-', '+'], n],
    [['ZPOPMIN', '{t}big', '2'], flat(model.slice(0, 2))],
    [['ZPOPMAX', '{t}big'], flat(model.slice(-1))],
    [['ZREMRANGEBYSCORE', '{t}big', '-inf', '(50'], 1500 - 2],
    [['ZCARD', '{t}big'], n - 1501],
    [['ZREMRANGEBYRANK', '{t}big', '0', '9'], 10],
    [['ZRANGE', '{t}big', '0', '0'], [model[1510]!.m]],
    [['ZREM', '{t}big', model[1510]!.m, 'nope'], 1],
    [['ZADD', '{t}big', 'CH', '-1', 'm0', '1000', model[1511]!.m], 2],
    [['ZRANGE', '{t}big', '0', '1', 'WITHSCORES'], ['m0', '-1', model[1512]!.m, String(model[1512]!.s)]],
    [['ZRANK', '{t}big', model[1511]!.m], n - 1501 - 10 - 1 + 1 - 1],
    [['ZREMRANGEBYRANK', '{t}big', '0', '-1'], n - 1501 - 10],
    [['EXISTS', '{t}big'], 0],
  ]);
  // a big lex range: equal scores
  await fill('{t}words', 1000, () => '0', (i) => `w${String(i).padStart(4, '0')}`);
  await expectReplies(t, run, [
    [['ZLEXCOUNT', '{t}words', '[w0100', '(w0200'], 100],
    [['ZRANGEBYLEX', '{t}words', '(w0500', '+', 'LIMIT', '0', '2'], ['w0501', 'w0502']],
    [['ZREVRANGEBYLEX', '{t}words', '(w0500', '-', 'LIMIT', '1', '2'], ['w0498', 'w0497']],
    [['ZREMRANGEBYLEX', '{t}words', '[w0100', '(w0900'], 800],
    [['ZCARD', '{t}words'], 200],
    [['ZRANGEBYLEX', '{t}words', '[w0098', '[w0901'], ['w0098', 'w0099', 'w0900', 'w0901']],
  ]);
});

t.test('ZSCAN: a listpack in one reply, a skiplist by cursor, MATCH and COUNT, errors', async (t) => {
  await run(['ZADD', '{t}small', '1', 'a', '2', 'b', '1e17', 'c']);
  await expectReplies(t, run, [
    [['ZSCAN', '{t}small', '0'], ['0', ['a', '1', 'b', '2', 'c', '100000000000000000']]],
    [['ZSCAN', '{t}small', '0', 'COUNT', '1'], ['0', ['a', '1', 'b', '2', 'c', '100000000000000000']]],
    [['ZSCAN', '{t}small', '0', 'MATCH', '[ab]'], ['0', ['a', '1', 'b', '2']]],
    [['ZSCAN', '{t}small', '0', 'COUNT', '0'], SYNTAX],
    [['ZSCAN', '{t}small', '0', 'COUNT', 'x'], NOT_INT],
    [['ZSCAN', '{t}small', '0', 'FOO'], SYNTAX],
    [['ZSCAN', '{t}small', '0', 'MATCH'], SYNTAX],
    [['ZSCAN', '{t}small', 'abc'], err('ERR invalid cursor')],
    [['ZSCAN', '{t}small', '18446744073709551616'], err('ERR invalid cursor')],
    [['ZSCAN', '{t}small', ' 1'], err('ERR invalid cursor')],
    [['ZSCAN', '{t}nokey', '0', 'FOO', 'BAR'], ['0', []]],
    [['ZSCAN', '{t}small'], arity('zscan')],
  ]);
  await run(['SET', '{t}str', 'x']);
  t.same(await run(['ZSCAN', '{t}str', '0']), WRONGTYPE);
  const n = 1000;
  await fill('{t}big', n, (i) => String(i % 37));
  const seen = new Map<string, string>();
  let cursor = '0';
  let calls = 0;
  do {
    const [next, flat] = (await run(['ZSCAN', '{t}big', cursor, 'COUNT', '25'])) as [string, string[]];
    for (let i = 0; i < flat.length; i += 2) seen.set(flat[i]!, flat[i + 1]!);
    cursor = next;
    calls++;
    // members removed and added during the scan: those present throughout must all come back
    if (calls === 3) await run(['ZREM', '{t}big', 'm0', 'm37', 'm74']);
    if (calls === 5) await run(['ZADD', '{t}big', '-5', 'new1', '500', 'new2']);
  } while (cursor !== '0' && calls < 10_000);
  t.ok(calls > 5, `took ${calls} calls`);
  let missing = 0;
  for (let i = 0; i < n; i++) {
    if (i === 0 || i === 37 || i === 74) continue;
    if (seen.get(`m${i}`) !== String(i % 37)) missing++;
  }
  t.equal(missing, 0, 'every member present throughout came back with its score');
  const matched = new Set<string>();
  cursor = '0';
  do {
    const [next, flat] = (await run(['ZSCAN', '{t}big', cursor, 'MATCH', 'm1?', 'COUNT', '100'])) as [string, string[]];
    for (let i = 0; i < flat.length; i += 2) matched.add(flat[i]!);
    cursor = next;
  } while (cursor !== '0');
  t.same([...matched].sort(), ['m10', 'm11', 'm12', 'm13', 'm14', 'm15', 'm16', 'm17', 'm18', 'm19']);
});

t.test('ZRANDMEMBER: distinct picks, repeats with a negative count, scores, errors', async (t) => {
  const check = async (key: string, size: number): Promise<void> => {
    const all = (await run(['ZRANGE', key, '0', '-1'])) as string[];
    t.equal(all.length, size);
    const one = await run(['ZRANDMEMBER', key]);
    t.ok(all.includes(one as string), 'a single member');
    for (const count of [1, 3, Math.floor(size / 2), size - 1]) {
      const got = (await run(['ZRANDMEMBER', key, String(count)])) as string[];
      t.equal(got.length, count, `count ${count}`);
      t.equal(new Set(got).size, count, `count ${count}: distinct`);
      t.ok(got.every((m) => all.includes(m)), `count ${count}: members`);
    }
    const whole = (await run(['ZRANDMEMBER', key, String(size + 5)])) as string[];
    t.same([...whole].sort(), [...all].sort(), 'count > size: the whole set');
    const rep = (await run(['ZRANDMEMBER', key, '-50'])) as string[];
    t.equal(rep.length, 50);
    t.ok(rep.every((m) => all.includes(m)));
    const ws = (await run(['ZRANDMEMBER', key, '-20', 'WITHSCORES'])) as string[];
    t.equal(ws.length, 40);
    for (let i = 0; i < ws.length; i += 2) t.equal(await run(['ZSCORE', key, ws[i]!]), ws[i + 1], 'score of the pick');
  };
  await fill('{t}small', 10);
  await check('{t}small', 10);
  await fill('{t}big', 300);
  await check('{t}big', 300);
  await expectReplies(t, run, [
    [['ZRANDMEMBER', '{t}small', '0'], []],
    [['ZRANDMEMBER', '{t}small', '0', 'WITHSCORES'], []],
    [['ZRANDMEMBER', '{t}small', '1', 'WITHSCORES', 'x'], SYNTAX],
    [['ZRANDMEMBER', '{t}small', '1', 'foo'], SYNTAX],
    [['ZRANDMEMBER', '{t}small', 'abc'], NOT_INT],
    [['ZRANDMEMBER', '{t}small', '-9223372036854775808'], err('ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807')],
    [['ZRANDMEMBER', '{t}small', '4611686018427387904', 'WITHSCORES'], err('ERR value is out of range')],
    [['ZRANDMEMBER', '{t}small', '-4611686018427387904', 'WITHSCORES'], err('ERR value is out of range')],
    [['ZRANDMEMBER', '{t}nokey'], null],
    [['ZRANDMEMBER', '{t}nokey', '5'], []],
    [['ZRANDMEMBER', '{t}nokey', 'x'], NOT_INT],
  ]);
  await run(['SET', '{t}str', 'x']);
  t.same(await run(['ZRANDMEMBER', '{t}str']), WRONGTYPE);
  t.same(await run(['ZRANDMEMBER', '{t}str', '1']), WRONGTYPE);
  const c = await resp3(t);
  const pairs = (await c.run(['ZRANDMEMBER', '{t}small', '3', 'WITHSCORES'])) as [string, number][];
  t.equal(pairs.length, 3);
  t.ok(pairs.every((p) => Array.isArray(p) && p.length === 2 && typeof p[1] === 'number'), 'RESP3: [member, score] pairs');
});

t.test('keyspace: empty sets vanish, TTL survives writes and conversion, DEL EXPIRE TYPE SCAN RENAME COPY', async (t) => {
  await expectReplies(t, run, [
    [['ZADD', 'zk', '1', 'a', '2', 'b'], 2],
    [['TYPE', 'zk'], 'zset'],
    [['EXPIRE', 'zk', '100'], 1],
    [['ZADD', 'zk', '3', 'c'], 1],
    [['ZINCRBY', 'zk', '1', 'a'], '2'],
    [['ZREM', 'zk', 'b'], 1],
    [['TTL', 'zk'], 100],
    [['ZADD', 'zk', '4', 'x'.repeat(100)], 1],
    [['OBJECT', 'ENCODING', 'zk'], 'skiplist'],
    [['TTL', 'zk'], 100],
    [['ZPOPMIN', 'zk'], ['a', '2']],
    [['TTL', 'zk'], 100],
    [['ZREMRANGEBYRANK', 'zk', '0', '-1'], 2],
    [['EXISTS', 'zk'], 0],
    [['TTL', 'zk'], -2],
    [['ZADD', 'zk', '1', 'a'], 1],
    [['TTL', 'zk'], -1],
    [['DEL', 'zk'], 1],
    [['ZADD', 'zk', '1', 'a'], 1],
    [['UNLINK', 'zk'], 1],
    [['EXISTS', 'zk'], 0],
    [['ZADD', 'zk', '1', 'a'], 1],
    [['PEXPIRE', 'zk', '1'], 1],
  ]);
  await new Promise((r) => setTimeout(r, 20));
  t.same(await run(['ZCARD', 'zk']), 0, 'expired');
  for (const [name, big] of [['small', false], ['large', true]] as const) {
    const [src, dst] = crossWorkerPair(`z-${name}`);
    const n = big ? 500 : 5;
    await fill(src, n, (i) => String(i / 4));
    await run(['EXPIRE', src, '1000']);
    const before = await run(['ZRANGE', src, '0', '-1', 'WITHSCORES']);
    const enc = big ? 'skiplist' : 'listpack';
    await expectReplies(t, run, [
      [['OBJECT', 'ENCODING', src], enc],
      [['COPY', src, dst], 1],
      [['ZRANGE', dst, '0', '-1', 'WITHSCORES'], before],
      [['OBJECT', 'ENCODING', dst], enc],
      [['TYPE', dst], 'zset'],
      [['COPY', src, dst], 0],
      [['ZADD', dst, '99', 'extra'], 1],
      [['ZCARD', src], n],
      [['DEL', dst], 1],
      [['RENAME', src, dst], 'OK'],
      [['EXISTS', src], 0],
      [['ZRANGE', dst, '0', '-1', 'WITHSCORES'], before],
      [['OBJECT', 'ENCODING', dst], enc],
      [['TTL', dst], 1000],
      [['ZSCORE', dst, 'm3'], '0.75'],
    ]);
  }
  await run(['FLUSHALL']);
  await run(['ZADD', 'zs1', '1', 'a']);
  await run(['ZADD', 'zs2', '1', 'a']);
  await run(['SET', 'str', 'x']);
  const keys = new Set<string>();
  let cursor = '0';
  do {
    const [next, found] = (await run(['SCAN', cursor, 'TYPE', 'zset', 'COUNT', '100'])) as [string, string[]];
    for (const k of found) keys.add(k);
    cursor = next;
  } while (cursor !== '0');
  t.same([...keys].sort(), ['zs1', 'zs2'], 'SCAN TYPE zset');
});

t.test('MEMORY USAGE grows with the set', async (t) => {
  await run(['ZADD', '{t}m', '1', 'a']);
  const small = (await run(['MEMORY', 'USAGE', '{t}m'])) as number;
  t.ok(typeof small === 'number' && small > 0, `small: ${small}`);
  await fill('{t}m', 100);
  const packed = (await run(['MEMORY', 'USAGE', '{t}m'])) as number;
  t.ok(packed > small, `100 members packed: ${packed} > ${small}`);
  await fill('{t}m', 5000);
  const big = (await run(['MEMORY', 'USAGE', '{t}m'])) as number;
  t.ok(big > packed * 10, `5000 members: ${big}`);
  t.ok(big < 5000 * 400, `5000 members: ${big} bytes is a sane estimate`);
});

t.test('real clients: ioredis and node-redis', async (t) => {
  const io = new Redis({ port: target.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
  await io.connect();
  t.teardown(() => io.quit().catch(() => io.disconnect()));
  t.equal(await io.zadd('{c}z', 1, 'a', 2.5, 'b', '+inf', 'c'), 3);
  t.same(await io.zrange('{c}z', 0, -1, 'WITHSCORES'), ['a', '1', 'b', '2.5', 'c', 'inf']);
  t.equal(await io.zscore('{c}z', 'b'), '2.5');
  t.equal(await io.zincrby('{c}z', 0.1, 'a'), '1.1000000000000001');
  t.same(await io.zrangebyscore('{c}z', '(1', '+inf', 'LIMIT', 0, 1), ['a']);
  t.same(await io.zpopmax('{c}z'), ['c', 'inf']);
  t.equal(await io.zunionstore('{c}u', 2, '{c}z', '{c}z', 'WEIGHTS', 1, 2), 2);
  t.same(await io.zrange('{c}u', 0, -1, 'WITHSCORES'), ['a', '3.3000000000000003', 'b', '7.5']);
  const nr = createClient({ socket: { port: target.port, host: '127.0.0.1' } });
  nr.on('error', () => undefined);
  await nr.connect();
  t.teardown(() => nr.quit().catch(() => undefined));
  t.equal(await nr.zAdd('{c}n', [{ score: 1, value: 'x' }, { score: 2, value: 'y' }]), 2);
  t.same(await nr.zRangeWithScores('{c}n', 0, -1), [{ value: 'x', score: 1 }, { value: 'y', score: 2 }]);
  t.equal(await nr.zCard('{c}n'), 2);
  t.equal(await nr.zRank('{c}n', 'y'), 1);
  t.same(await nr.zmPop('{c}n', 'MIN'), { key: '{c}n', members: [{ value: 'x', score: 1 }] });
});

// --- the model test ----------------------------------------------------------------

/** "%.17g" as Redis 7.0 formats a score (written again here, apart from the server's). */
function g17(d: number): string {
  if (d === Infinity) return 'inf';
  if (d === -Infinity) return '-inf';
  if (Object.is(d, -0)) return '-0';
  if (d === 0) return '0';
  const [mant, expText] = d.toExponential(16).split('e') as [string, string];
  const exp = Number(expText);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  const trim = (s: string): string => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  let out: string;
  if (exp < -4 || exp >= 17) out = `${trim(`${digits[0]}.${digits.slice(1)}`)}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  else if (exp >= 0) out = trim(`${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`);
  else out = trim(`0.${'0'.repeat(-exp - 1)}${digits}`);
  return neg ? `-${out}` : out;
}

/** A score as an argument (String() round-trips through strtod). */
function arg(d: number): string {
  return d === Infinity ? (Math.random() < 0.5 ? 'inf' : '+inf') : d === -Infinity ? '-inf' : String(d);
}

type Entry = { z: Map<string, number>; enc: 'listpack' | 'skiplist' };

/** Redis's order: score, then member bytes (members here are ASCII). */
function ordered(z: Map<string, number>): [string, number][] {
  return [...z].sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

class Model {
  db = new Map<string, Entry>();
  maxEntries = 128;
  maxValue = 64;

  fits(z: Map<string, number>): boolean {
    if (z.size > this.maxEntries) return false;
    for (const m of z.keys()) if (m.length > this.maxValue) return false;
    return true;
  }

  /** A listpack stores integral scores as integers: -0 becomes 0. */
  normalize(e: Entry): void {
    if (e.enc !== 'listpack') return;
    for (const [m, s] of e.z) if (Object.is(s, -0)) e.z.set(m, 0);
  }

  store(key: string, z: Map<string, number>): void {
    if (z.size === 0) {
      this.db.delete(key);
      return;
    }
    const e: Entry = { z, enc: this.fits(z) ? 'listpack' : 'skiplist' };
    this.normalize(e);
    this.db.set(key, e);
  }

  afterWrite(key: string, e: Entry): void {
    if (e.z.size === 0) this.db.delete(key);
    else this.normalize(e);
  }
}

const SCORES = [-Infinity, Infinity, -3, -1, 0, 0, 1, 1, 1, 2, 2, 2.5, 3, 7, 0.1, 0.3, 1e-7, 123456789.125, 1e20];
const INCRS = [1, -1, 0.5, 0.1, 2, 1e17, -Infinity, Infinity];
const WEIGHTS = [1, 2, -1, 0.5];

t.test(`model: 100,000+ random commands against a JS model, crossing the encoding limits`, async (t) => {
  let seed = 20240601;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)]!;
  const model = new Model();
  const KEYS = ['{m}k0', '{m}k1', '{m}k2', '{m}k3', '{m}k4'];
  const LEX = '{m}lex';
  await run(['SET', '{m}str', 'x']);
  let universe = 150;
  const member = (): string => (rnd(200) === 0 ? `long${'x'.repeat(70)}${rnd(3)}` : `m${rnd(universe)}`);
  const bound = (): string => {
    const r = rnd(10);
    if (r === 0) return '-inf';
    if (r === 1) return '+inf';
    return (rnd(3) === 0 ? '(' : '') + arg(pick(SCORES.filter(Number.isFinite)));
  };
  const parseBound = (b: string): { v: number; ex: boolean } => {
    const ex = b.startsWith('(');
    const s = ex ? b.slice(1) : b;
    return { v: s === '-inf' ? -Infinity : s === '+inf' ? Infinity : Number(s), ex };
  };
  const inScore = (s: number, lo: { v: number; ex: boolean }, hi: { v: number; ex: boolean }): boolean =>
    (lo.ex ? s > lo.v : s >= lo.v) && (hi.ex ? s < hi.v : s <= hi.v);
  const flat = (xs: [string, number][], ws: boolean): string[] => (ws ? xs.flatMap(([m, s]) => [m, g17(s)]) : xs.map(([m]) => m));
  const entryOf = (key: string): Entry | undefined => model.db.get(key);
  const lexMember = (): string => String.fromCharCode(97 + rnd(12)) + (rnd(2) ? String.fromCharCode(97 + rnd(5)) : '');
  const lexBound = (): string => {
    const r = rnd(10);
    if (r === 0) return '-';
    if (r === 1) return '+';
    return (rnd(2) ? '[' : '(') + lexMember();
  };
  const lexGte = (m: string, b: string): boolean => b === '-' || (b !== '+' && (b[0] === '(' ? m > b.slice(1) : m >= b.slice(1)));
  const lexLte = (m: string, b: string): boolean => b === '+' || (b !== '-' && (b[0] === '(' ? m < b.slice(1) : m <= b.slice(1)));

  /** One random command and the reply the model expects. */
  const gen = (): Row => {
    const key = pick(KEYS);
    const e = entryOf(key);
    const op = rnd(100);
    if (op < 22) {
      // ZADD with flags
      const flags: string[] = [];
      const nx = rnd(8) === 0;
      const xx = !nx && rnd(6) === 0;
      const gt = !nx && rnd(8) === 0;
      const lt = !nx && !gt && rnd(8) === 0;
      const ch = rnd(4) === 0;
      const incr = rnd(8) === 0;
      if (nx) flags.push('NX');
      if (xx) flags.push('XX');
      if (gt) flags.push('GT');
      if (lt) flags.push('LT');
      if (ch) flags.push('CH');
      if (incr) flags.push('INCR');
      flags.sort(() => rnd(2) - 0.5);
      if (rnd(200) === 0) return [['ZADD', key, 'NX', 'XX', '1', 'a'], err('ERR XX and NX options at the same time are not compatible')];
      if (rnd(200) === 0) return [['ZADD', key, 'GT', 'LT', '1', 'a'], err('ERR GT, LT, and/or NX options at the same time are not compatible')];
      if (rnd(200) === 0) return [['ZADD', '{m}str', '1', 'a'], WRONGTYPE];
      if (rnd(300) === 0) return [['ZADD', key, 'abc', 'a'], NOT_FLOAT];
      const pairs = incr ? 1 : 1 + rnd(3);
      const argv = ['ZADD', key, ...flags];
      const items: [number, string][] = [];
      for (let i = 0; i < pairs; i++) {
        const s = incr ? pick(INCRS) : pick(SCORES);
        const m = member();
        items.push([s, m]);
        argv.push(arg(s), m);
      }
      return [argv, zadd(key, items, { nx, xx, gt, lt, ch, incr })];
    }
    if (op < 28) {
      const inc = pick(INCRS);
      const m = member();
      return [['ZINCRBY', key, arg(inc), m], zadd(key, [[inc, m]], { nx: false, xx: false, gt: false, lt: false, ch: false, incr: true })];
    }
    if (op < 36) {
      const ms = [member(), member()].slice(0, 1 + rnd(2));
      let n = 0;
      if (e) for (const m of ms) if (e.z.delete(m)) n++;
      if (e) model.afterWrite(key, e);
      return [['ZREM', key, ...ms], n];
    }
    if (op < 41) {
      const max = rnd(2) === 0;
      const withCount = rnd(2) === 0;
      const count = withCount ? rnd(4) : 1;
      const argv = [max ? 'ZPOPMAX' : 'ZPOPMIN', key, ...(withCount ? [String(count)] : [])];
      if (!e) return [argv, []];
      const o = ordered(e.z);
      const taken = (max ? o.reverse() : o).slice(0, count);
      for (const [m] of taken) e.z.delete(m);
      model.afterWrite(key, e);
      return [argv, flat(taken, true)];
    }
    if (op < 49) {
      // ZRANGE by rank
      const start = rnd(13) - 6;
      const stop = rnd(13) - 6;
      const rev = rnd(3) === 0;
      const ws = rnd(2) === 0;
      const argv = ['ZRANGE', key, String(start), String(stop), ...(rev ? ['REV'] : []), ...(ws ? ['WITHSCORES'] : [])];
      if (!e) return [argv, []];
      let o = ordered(e.z);
      if (rev) o = o.reverse();
      const n = o.length;
      let a = start < 0 ? n + start : start;
      let b = stop < 0 ? n + stop : stop;
      if (a < 0) a = 0;
      if (a > b || a >= n) return [argv, []];
      if (b >= n) b = n - 1;
      return [argv, flat(o.slice(a, b + 1), ws)];
    }
    if (op < 58) {
      // ZRANGE BYSCORE (or the legacy commands), LIMIT
      const rev = rnd(2) === 0;
      const ws = rnd(2) === 0;
      const lo = bound();
      const hi = bound();
      const limit = rnd(3) === 0 ? [pick([-1, 0, 1, 2, 5]), pick([-1, 0, 1, 3])] : null;
      const legacy = rnd(2) === 0;
      const argv = legacy
        ? [rev ? 'ZREVRANGEBYSCORE' : 'ZRANGEBYSCORE', key, rev ? hi : lo, rev ? lo : hi]
        : ['ZRANGE', key, rev ? hi : lo, rev ? lo : hi, 'BYSCORE', ...(rev ? ['REV'] : [])];
      if (ws) argv.push('WITHSCORES');
      if (limit) argv.push('LIMIT', String(limit[0]), String(limit[1]));
      if (!e) return [argv, []];
      const L = parseBound(lo);
      const H = parseBound(hi);
      let o = ordered(e.z).filter(([, s]) => inScore(s, L, H));
      if (rev) o = o.reverse();
      if (limit) {
        const [off, cnt] = limit as [number, number];
        if (off < 0 || (off > 0 && off >= e.z.size)) o = [];
        else o = o.slice(off, cnt < 0 ? undefined : off + cnt);
      }
      return [argv, flat(o, ws)];
    }
    if (op < 63) {
      const m = member();
      const r = rnd(4);
      const o = e ? ordered(e.z) : [];
      const rank = o.findIndex(([x]) => x === m);
      if (r === 0) return [['ZRANK', key, m], rank < 0 ? null : rank];
      if (r === 1) return [['ZREVRANK', key, m], rank < 0 ? null : o.length - 1 - rank];
      if (r === 2) return [['ZSCORE', key, m], e?.z.has(m) ? g17(e.z.get(m)!) : null];
      const m2 = member();
      return [['ZMSCORE', key, m, m2], [m, m2].map((x) => (e?.z.has(x) ? g17(e.z.get(x)!) : null))];
    }
    if (op < 67) {
      if (rnd(2) === 0) return [['ZCARD', key], e ? e.z.size : 0];
      const lo = bound();
      const hi = bound();
      const L = parseBound(lo);
      const H = parseBound(hi);
      return [['ZCOUNT', key, lo, hi], e ? [...e.z.values()].filter((s) => inScore(s, L, H)).length : 0];
    }
    if (op < 71) {
      if (rnd(2) === 0) {
        const start = rnd(9) - 4;
        const stop = rnd(9) - 4;
        const argv = ['ZREMRANGEBYRANK', key, String(start), String(stop)];
        if (!e) return [argv, 0];
        const o = ordered(e.z);
        const n = o.length;
        let a = start < 0 ? n + start : start;
        let b = stop < 0 ? n + stop : stop;
        if (a < 0) a = 0;
        if (a > b || a >= n) return [argv, 0];
        if (b >= n) b = n - 1;
        for (const [m] of o.slice(a, b + 1)) e.z.delete(m);
        model.afterWrite(key, e);
        return [argv, b - a + 1];
      }
      const lo = bound();
      const hi = bound();
      const argv = ['ZREMRANGEBYSCORE', key, lo, hi];
      if (!e) return [argv, 0];
      const L = parseBound(lo);
      const H = parseBound(hi);
      let n = 0;
      for (const [m, s] of [...e.z]) {
        if (inScore(s, L, H)) {
          e.z.delete(m);
          n++;
        }
      }
      model.afterWrite(key, e);
      return [argv, n];
    }
    if (op < 72) {
      // empty a key now and then, so it is born again as a listpack
      const argv = ['ZREMRANGEBYRANK', key, '0', '-1'];
      const n = e ? e.z.size : 0;
      model.db.delete(key);
      return [argv, n];
    }
    if (op < 77) {
      // ZUNIONSTORE / ZINTERSTORE dst 2 a b [WEIGHTS] [AGGREGATE]
      const inter = rnd(2) === 0;
      const dst = pick(KEYS);
      const srcKeys = [pick(KEYS), pick(KEYS)];
      const weights = rnd(2) === 0 ? [pick(WEIGHTS), pick(WEIGHTS)] : null;
      const agg = pick(['SUM', 'MIN', 'MAX', null]);
      const argv = [inter ? 'ZINTERSTORE' : 'ZUNIONSTORE', dst, '2', ...srcKeys];
      if (weights) argv.push('WEIGHTS', ...weights.map(String));
      if (agg) argv.push('AGGREGATE', agg);
      const how = agg ?? 'SUM';
      const aggregate = (acc: number, v: number): number => {
        if (how === 'SUM') {
          const r = acc + v;
          return Number.isNaN(r) ? 0 : r;
        }
        if (how === 'MIN') return v < acc ? v : acc;
        return v > acc ? v : acc;
      };
      const srcs = srcKeys.map((k, i) => ({ z: entryOf(k)?.z ?? new Map<string, number>(), w: weights ? weights[i]! : 1 }));
      srcs.sort((a, b) => a.z.size - b.z.size);
      const out = new Map<string, number>();
      if (inter) {
        for (const [m, s] of srcs[0]!.z) {
          let acc = srcs[0]!.w * s;
          if (Number.isNaN(acc)) acc = 0;
          const o = srcs[1]!.z.get(m);
          if (o === undefined) continue;
          out.set(m, aggregate(acc, o * srcs[1]!.w));
        }
      } else {
        for (const src of srcs) {
          for (const [m, s] of src.z) {
            let v = src.w * s;
            if (Number.isNaN(v)) v = 0;
            const cur = out.get(m);
            out.set(m, cur === undefined ? v : aggregate(cur, v));
          }
        }
      }
      model.store(dst, out);
      return [argv, out.size];
    }
    if (op < 79) {
      // ZRANGESTORE dst src start stop
      const dst = pick(KEYS);
      const start = rnd(9) - 4;
      const stop = rnd(9) - 2;
      const argv = ['ZRANGESTORE', dst, key, String(start), String(stop)];
      const o = e ? ordered(e.z) : [];
      const n = o.length;
      let a = start < 0 ? n + start : start;
      let b = stop < 0 ? n + stop : stop;
      if (a < 0) a = 0;
      const out = new Map<string, number>();
      if (a <= b && a < n) {
        if (b >= n) b = n - 1;
        for (const [m, s] of o.slice(a, b + 1)) out.set(m, s);
      }
      model.store(dst, out);
      return [argv, out.size];
    }
    if (op < 91) {
      // the lex key: every score 0
      const le = entryOf(LEX);
      const r = rnd(6);
      if (r <= 1) {
        const ms = [lexMember(), lexMember()];
        const argv = ['ZADD', LEX, '0', ms[0]!, '0', ms[1]!];
        const z = le?.z ?? new Map<string, number>();
        const entry = le ?? { z, enc: 'listpack' as const };
        let added = 0;
        for (const m of ms) {
          if (z.has(m)) continue;
          if (entry.enc === 'listpack' && (z.size + 1 > model.maxEntries || m.length > model.maxValue)) entry.enc = 'skiplist';
          z.set(m, 0);
          added++;
        }
        if (!le) model.db.set(LEX, entry);
        return [argv, added];
      }
      const lo = lexBound();
      const hi = lexBound();
      const o = le ? ordered(le.z).filter(([m]) => lexGte(m, lo) && lexLte(m, hi)) : [];
      if (r === 2) return [['ZLEXCOUNT', LEX, lo, hi], o.length];
      if (r === 3) {
        const rev = rnd(2) === 0;
        const limit = rnd(3) === 0 ? [rnd(3), pick([-1, 1, 2])] : null;
        const argv = rev ? ['ZREVRANGEBYLEX', LEX, hi, lo] : ['ZRANGEBYLEX', LEX, lo, hi];
        if (limit) argv.push('LIMIT', String(limit[0]), String(limit[1]));
        let res = rev ? o.reverse() : o;
        if (limit && le) {
          const [off, cnt] = limit as [number, number];
          res = off > 0 && off >= le.z.size ? [] : res.slice(off, cnt < 0 ? undefined : off + cnt);
        }
        return [argv, res.map(([m]) => m)];
      }
      if (r === 4) {
        if (le) {
          for (const [m] of o) le.z.delete(m);
          model.afterWrite(LEX, le);
        }
        return [['ZREMRANGEBYLEX', LEX, lo, hi], o.length];
      }
      const m = lexMember();
      const had = le?.z.delete(m) ?? false;
      if (le) model.afterWrite(LEX, le);
      return [['ZREM', LEX, m], had ? 1 : 0];
    }
    const k = rnd(6) === 0 ? LEX : key;
    return [['OBJECT', 'ENCODING', k], entryOf(k)?.enc ?? null];
  };

  /** ZADD/ZINCRBY in the model (zaddGenericCommand + zsetAdd). */
  function zadd(key: string, items: [number, string][], f: { nx: boolean; xx: boolean; gt: boolean; lt: boolean; ch: boolean; incr: boolean }): RespValue {
    let e = entryOf(key);
    if (!e) {
      if (f.xx) return f.incr ? null : 0;
      e = { z: new Map(), enc: 'listpack' };
    }
    let added = 0;
    let updated = 0;
    let processed = 0;
    let newScore = 0;
    for (const [score0, m] of items) {
      let score = score0;
      const cur = e.z.get(m);
      if (cur !== undefined) {
        if (f.nx) continue;
        if (f.incr) {
          score += cur;
          if (Number.isNaN(score)) return err('ERR resulting score is not a number (NaN)');
        }
        if ((f.lt && score >= cur) || (f.gt && score <= cur)) continue;
        newScore = score;
        if (score !== cur) {
          e.z.set(m, score);
          updated++;
        }
        processed++;
      } else if (!f.xx) {
        if (e.enc === 'listpack' && (e.z.size + 1 > model.maxEntries || m.length > model.maxValue)) e.enc = 'skiplist';
        e.z.set(m, score);
        newScore = score;
        added++;
        processed++;
      }
    }
    if (e.z.size > 0 && !model.db.has(key)) model.db.set(key, e);
    if (model.db.has(key)) model.normalize(e);
    if (f.incr) return processed ? g17(newScore) : null;
    return f.ch ? added + updated : added;
  }

  const phases: { ops: number; entries: number; value: number; universe: number }[] = [
    { ops: 34_000, entries: 128, value: 64, universe: 150 },
    { ops: 36_000, entries: 4, value: 64, universe: 10 },
    { ops: 32_000, entries: 16, value: 8, universe: 30 },
  ];
  let total = 0;
  let mismatches = 0;
  const encodings = new Map<string, number>();
  for (const phase of phases) {
    const rows: Row[] = [];
    rows.push([['CONFIG', 'SET', 'zset-max-listpack-entries', String(phase.entries)], 'OK']);
    rows.push([['CONFIG', 'SET', 'zset-max-listpack-value', String(phase.value)], 'OK']);
    model.maxEntries = phase.entries;
    model.maxValue = phase.value;
    universe = phase.universe;
    for (let i = 0; i < phase.ops; i++) {
      const row = gen();
      if (row[0][0] === 'OBJECT') encodings.set(String(row[1]), (encodings.get(String(row[1])) ?? 0) + 1);
      rows.push(row);
    }
    const replies = await runMany(run, rows.map((r) => r[0]), 1000);
    for (let i = 0; i < rows.length; i++) {
      if (JSON.stringify(replies[i]) !== JSON.stringify(rows[i]![1])) {
        mismatches++;
        if (mismatches <= 10) t.same(replies[i], rows[i]![1], `op ${total + i}: ${rows[i]![0].join(' ')}`);
      }
    }
    total += rows.length;
  }
  t.equal(mismatches, 0, `${total} commands, every reply as the model says`);
  t.ok(total >= 100_000, `${total} commands`);
  t.ok((encodings.get('listpack') ?? 0) > 100 && (encodings.get('skiplist') ?? 0) > 100, `encodings seen: ${JSON.stringify([...encodings])}`);
  // final state, key by key
  for (const key of [...KEYS, LEX]) {
    const e = entryOf(key);
    t.same(await run(['ZRANGE', key, '0', '-1', 'WITHSCORES']), e ? flat(ordered(e.z), true) : [], `final ${key}`);
  }
});
