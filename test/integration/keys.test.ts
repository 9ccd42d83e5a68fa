// Generic key commands, Redis 7 replies byte for byte. Through the Shoal proxy the
// keys here spread over every worker, so DEL/EXISTS/TOUCH/UNLINK, RENAME, COPY,
// KEYS, SCAN, DBSIZE and FLUSH* all exercise the fan-out paths.

import t from 'tap';
import { useTarget } from '../helpers/cluster.js';
import { err, expectReplies, sleep, type RespValue } from '../helpers/run.js';

const { run } = await useTarget(t);

const SYNTAX = err('ERR syntax error');
const NOT_INT = err('ERR value is not an integer or out of range');
const arity = (cmd: string) => err(`ERR wrong number of arguments for '${cmd}' command`);

t.beforeEach(async () => {
  await run(['FLUSHALL']);
});

const sorted = (v: RespValue): string[] => (Array.isArray(v) ? (v as string[]).slice().sort() : []);

t.test('DEL UNLINK EXISTS TOUCH TYPE', async (t) => {
  await expectReplies(t, run, [
    [['MSET', 'a', '1', 'b', '2', 'c', '3', 'd', '4'], 'OK'],
    [['EXISTS', 'a'], 1],
    [['EXISTS', 'a', 'a', 'nokey', 'b', 'a'], 4],
    [['TOUCH', 'a', 'nokey', 'a', 'c'], 3],
    [['TYPE', 'a'], 'string'],
    [['TYPE', 'nokey'], 'none'],
    [['DEL', 'a', 'a', 'nokey'], 1],
    [['DEL', 'b', 'c'], 2],
    [['EXISTS', 'a', 'b', 'c', 'd'], 1],
    [['UNLINK', 'd', 'nokey', 'd'], 1],
    [['EXISTS', 'd'], 0],
    [['DEL', 'nokey'], 0],
    [['DEL'], arity('del')],
    [['UNLINK'], arity('unlink')],
    [['EXISTS'], arity('exists')],
    [['TOUCH'], arity('touch')],
    [['TYPE'], arity('type')],
  ]);
});

t.test('EXPIRE family with NX XX GT LT', async (t) => {
  await expectReplies(t, run, [
    [['SET', 'k', 'v'], 'OK'],
    [['EXPIRE', 'k', '100', 'XX'], 0],
    [['EXPIRE', 'k', '100', 'NX'], 1],
    [['EXPIRE', 'k', '50', 'NX'], 0],
    [['EXPIRE', 'k', '200', 'GT'], 1],
    [['EXPIRE', 'k', '50', 'GT'], 0],
    [['EXPIRE', 'k', '10', 'LT'], 1],
    [['EXPIRE', 'k', '500', 'LT'], 0],
    [['EXPIRE', 'k', '20', 'XX'], 1],
    [['TTL', 'k'], 20],
    [['PERSIST', 'k'], 1],
    [['PERSIST', 'k'], 0],
    // No TTL counts as infinite: GT never applies, LT always does.
    [['EXPIRE', 'k', '10', 'GT'], 0],
    [['TTL', 'k'], -1],
    [['EXPIRE', 'k', '10', 'LT'], 1],
    [['TTL', 'k'], 10],
    [['EXPIRE', 'nokey', '10'], 0],
    [['PEXPIRE', 'nokey', '10'], 0],
    [['EXPIREAT', 'nokey', '99999999999'], 0],
    [['PERSIST', 'nokey'], 0],
    [['EXPIRE', 'k', '10', 'NX', 'XX'], err('ERR NX and XX, GT or LT options at the same time are not compatible')],
    [['EXPIRE', 'k', '10', 'NX', 'GT'], err('ERR NX and XX, GT or LT options at the same time are not compatible')],
    [['PEXPIRE', 'k', '10', 'LT', 'NX'], err('ERR NX and XX, GT or LT options at the same time are not compatible')],
    [['EXPIRE', 'k', '10', 'GT', 'LT'], err('ERR GT and LT options at the same time are not compatible')],
    [['EXPIRE', 'k', '10', 'FOO'], err('ERR Unsupported option FOO')],
    [['EXPIRE', 'k', '10', '20'], err('ERR Unsupported option 20')],
    [['EXPIRE', 'k', 'abc'], NOT_INT],
    [['EXPIRE', 'k', '9223372036854775807'], err("ERR invalid expire time in 'expire' command")],
    [['PEXPIRE', 'k', '9223372036854775807'], err("ERR invalid expire time in 'pexpire' command")],
    [['EXPIRE', 'k'], arity('expire')],
    [['PEXPIREAT'], arity('pexpireat')],
    [['TTL'], arity('ttl')],
    [['TTL', 'k'], 10],
  ]);
});

t.test('non-positive or past expiry deletes the key', async (t) => {
  await expectReplies(t, run, [
    [['SET', 'k', 'v'], 'OK'],
    [['EXPIRE', 'k', '0'], 1],
    [['EXISTS', 'k'], 0],
    [['SET', 'k', 'v'], 'OK'],
    [['EXPIRE', 'k', '-5'], 1],
    [['GET', 'k'], null],
    [['SET', 'k', 'v'], 'OK'],
    [['PEXPIREAT', 'k', '1', 'NX'], 1],
    [['EXISTS', 'k'], 0],
    [['SET', 'k', 'v'], 'OK'],
    [['EXPIREAT', 'k', '1'], 1],
    [['TTL', 'k'], -2],
  ]);
});

t.test('TTL PTTL EXPIRETIME PEXPIRETIME', async (t) => {
  await expectReplies(t, run, [
    [['TTL', 'nokey'], -2],
    [['PTTL', 'nokey'], -2],
    [['EXPIRETIME', 'nokey'], -2],
    [['PEXPIRETIME', 'nokey'], -2],
    [['SET', 'k', 'v'], 'OK'],
    [['TTL', 'k'], -1],
    [['PTTL', 'k'], -1],
    [['EXPIRETIME', 'k'], -1],
    [['PEXPIRETIME', 'k'], -1],
    [['EXPIREAT', 'k', '99999999999'], 1],
    [['EXPIRETIME', 'k'], 99999999999],
    [['PEXPIRETIME', 'k'], 99999999999000],
    [['PEXPIREAT', 'k', '99999999999123'], 1],
    [['PEXPIRETIME', 'k'], 99999999999123],
    [['EXPIRETIME', 'k'], 99999999999],
  ]);
  await run(['PEXPIRE', 'k', '100000']);
  const pttl = await run(['PTTL', 'k']);
  t.ok(typeof pttl === 'number' && pttl > 99_000 && pttl <= 100_000, `PTTL ${String(pttl)}`);
  t.same(await run(['TTL', 'k']), 100);
});

t.test('RENAME RENAMENX', async (t) => {
  await expectReplies(t, run, [
    [['SET', 'a', '1', 'EX', '100'], 'OK'],
    [['RENAME', 'a', 'a'], 'OK'],
    [['RENAME', 'a', 'b'], 'OK'],
    [['EXISTS', 'a'], 0],
    [['GET', 'b'], '1'],
    // The TTL moves with the value.
    [['TTL', 'b'], 100],
    [['SET', 'c', '3'], 'OK'],
    [['RENAME', 'b', 'c'], 'OK'],
    [['GET', 'c'], '1'],
    [['TTL', 'c'], 100],
    [['RENAME', 'nokey', 'x'], err('ERR no such key')],
    [['RENAME', 'nokey', 'nokey'], err('ERR no such key')],
    [['SET', 'd', '4'], 'OK'],
    [['RENAMENX', 'c', 'c'], 0],
    [['RENAMENX', 'c', 'd'], 0],
    [['GET', 'd'], '4'],
    [['RENAMENX', 'c', 'e'], 1],
    [['MGET', 'c', 'e'], [null, '1']],
    [['RENAMENX', 'nokey', 'f'], err('ERR no such key')],
    [['RENAME', '{r}x', '{r}y'], err('ERR no such key')],
    [['SET', '{r}x', 'v'], 'OK'],
    [['RENAME', '{r}x', '{r}y'], 'OK'],
    [['GET', '{r}y'], 'v'],
    [['RENAME', 'a'], arity('rename')],
    [['RENAMENX', 'a', 'b', 'c'], arity('renamenx')],
  ]);
});

t.test('COPY', async (t) => {
  await expectReplies(t, run, [
    [['SET', 'src', 'v', 'EX', '100'], 'OK'],
    [['COPY', 'src', 'dst'], 1],
    [['GET', 'dst'], 'v'],
    [['TTL', 'dst'], 100],
    [['SET', 'src', 'w'], 'OK'],
    [['COPY', 'src', 'dst'], 0],
    [['GET', 'dst'], 'v'],
    [['COPY', 'src', 'dst', 'REPLACE'], 1],
    [['GET', 'dst'], 'w'],
    [['TTL', 'dst'], -1],
    [['COPY', 'nokey', 'z'], 0],
    [['EXISTS', 'z'], 0],
    [['COPY', 'src', 'src'], err('ERR source and destination objects are the same')],
    [['COPY', 'src', 'd0', 'DB', '0'], 1],
    [['COPY', 'src', 'd0', 'DB', '0', 'REPLACE'], 1],
    [['COPY', 'src', 'd0', 'FOO'], SYNTAX],
    [['COPY', 'src', 'd0', 'DB', 'x'], NOT_INT],
    [['COPY', 'src', 'd0', 'DB', '-1'], err('ERR DB index is out of range')],
    [['COPY', 'src'], arity('copy')],
  ]);
  // The copy is independent of the source.
  await expectReplies(t, run, [
    [['APPEND', 'd0', 'x'], 2],
    [['GET', 'src'], 'w'],
  ]);
});

t.test('KEYS glob patterns', async (t) => {
  const names = ['hello', 'hallo', 'hxllo', 'hllo', 'heeeello', 'h?llo', 'h*llo', 'hbllo', 'h[a]llo', 'h\\llo'];
  await run(['MSET', ...names.flatMap((n) => [n, '1'])]);
  const cases: [string, string[]][] = [
    ['h?llo', ['h*llo', 'h?llo', 'h\\llo', 'hallo', 'hbllo', 'hello', 'hxllo']],
    ['h*llo', names.slice().sort()],
    ['h[ae]llo', ['hallo', 'hello']],
    ['h[^e]llo', ['h*llo', 'h?llo', 'h\\llo', 'hallo', 'hbllo', 'hxllo']],
    ['h[a-b]llo', ['hallo', 'hbllo']],
    ['h[b-a]llo', ['hallo', 'hbllo']],
    ['h[!e]llo', ['hello']],
    ['h\\?llo', ['h?llo']],
    ['h\\*llo', ['h*llo']],
    ['h\\[a\\]llo', ['h[a]llo']],
    ['h\\\\llo', ['h\\llo']],
    ['*', names.slice().sort()],
    ['hel*', ['hello']],
    ['x*', []],
    ['hello', ['hello']],
  ];
  for (const [pattern, want] of cases) t.same(sorted(await run(['KEYS', pattern])), want, `KEYS ${pattern}`);
  t.same(await run(['KEYS']), arity('keys'));
});

t.test('SCAN visits every key', async (t) => {
  const keys = Array.from({ length: 300 }, (_, i) => `scan:${i}`);
  await run(['MSET', ...keys.flatMap((k) => [k, 'v']), 'other', 'v']);
  const scanAll = async (extra: string[]): Promise<string[]> => {
    const seen: string[] = [];
    let cursor = '0';
    for (let i = 0; i < 10_000; i++) {
      const reply = await run(['SCAN', cursor, ...extra]);
      if (!Array.isArray(reply) || reply.length !== 2 || typeof reply[0] !== 'string' || !Array.isArray(reply[1])) {
        t.fail(`SCAN reply shape: ${JSON.stringify(reply)}`);
        return seen;
      }
      cursor = reply[0];
      seen.push(...(reply[1] as string[]));
      if (cursor === '0') return seen;
    }
    t.fail('SCAN did not return cursor 0 within 10000 calls');
    return seen;
  };
  const all = await scanAll(['COUNT', '10']);
  t.same([...new Set(all)].sort(), [...keys, 'other'].sort(), 'SCAN COUNT 10: every key at least once');
  const matched = await scanAll(['MATCH', 'scan:1*', 'COUNT', '50']);
  t.same([...new Set(matched)].sort(), keys.filter((k) => k.startsWith('scan:1')).sort(), 'SCAN MATCH scan:1*');
  const typed = await scanAll(['TYPE', 'string']);
  t.same([...new Set(typed)].sort(), [...keys, 'other'].sort(), 'SCAN TYPE string');
  t.same(await scanAll(['TYPE', 'hash']), [], 'SCAN TYPE hash');
  t.same(await scanAll(['MATCH', 'nothing*']), [], 'SCAN MATCH with no hits');
  await expectReplies(t, run, [
    [['SCAN', '0', 'COUNT', '0'], SYNTAX],
    [['SCAN', '0', 'COUNT', 'x'], NOT_INT],
    [['SCAN', '0', 'MATCH'], SYNTAX],
    [['SCAN', '0', 'FOO', 'bar'], SYNTAX],
    [['SCAN', 'abc'], err('ERR invalid cursor')],
    [['SCAN'], arity('scan')],
  ]);
});

t.test('SCAN on an empty database', async (t) => {
  // One redis-server answers ['0', []] at once; cursors are opaque, so a sharded server
  // may take a few empty pages. Either way: no keys, and the cursor reaches 0.
  let cursor = '0';
  const seen: string[] = [];
  for (let i = 0; i < 100; i++) {
    const [next, keys] = (await run(['SCAN', cursor])) as [string, string[]];
    seen.push(...keys);
    cursor = next;
    if (cursor === '0') break;
  }
  t.equal(cursor, '0', 'iteration ends');
  t.same(seen, [], 'no keys');
});

t.test('RANDOMKEY DBSIZE', async (t) => {
  await expectReplies(t, run, [
    [['RANDOMKEY'], null],
    [['DBSIZE'], 0],
    [['MSET', 'a', '1', 'b', '2', 'c', '3', 'd', '4', 'e', '5'], 'OK'],
    [['DBSIZE'], 5],
    [['RANDOMKEY', 'x'], arity('randomkey')],
    [['DBSIZE', 'x'], arity('dbsize')],
  ]);
  const seen = new Set<RespValue>();
  for (let i = 0; i < 50; i++) seen.add(await run(['RANDOMKEY']));
  t.ok([...seen].every((k) => typeof k === 'string' && ['a', 'b', 'c', 'd', 'e'].includes(k)), 'RANDOMKEY returns existing keys');
});

t.test('FLUSHDB FLUSHALL', async (t) => {
  const fill = () => run(['MSET', 'a', '1', 'b', '2', 'c', '3', 'd', '4']);
  await fill();
  await expectReplies(t, run, [
    [['FLUSHDB'], 'OK'],
    [['DBSIZE'], 0],
  ]);
  await fill();
  await expectReplies(t, run, [
    [['FLUSHDB', 'SYNC'], 'OK'],
    [['KEYS', '*'], []],
  ]);
  await fill();
  await expectReplies(t, run, [
    [['FLUSHDB', 'ASYNC'], 'OK'],
    [['EXISTS', 'a', 'b', 'c', 'd'], 0],
  ]);
  await fill();
  await expectReplies(t, run, [
    [['FLUSHALL', 'ASYNC'], 'OK'],
    [['DBSIZE'], 0],
  ]);
  await fill();
  await expectReplies(t, run, [
    [['FLUSHALL', 'SYNC'], 'OK'],
    [['MGET', 'a', 'b'], [null, null]],
    [['FLUSHDB', 'ASYNC', 'SYNC'], SYNTAX],
    [['FLUSHALL', 'FOO'], SYNTAX],
  ]);
});

t.test('expired keys are invisible to every read', async (t) => {
  await run(['MSET', 'live1', 'v', 'live2', 'v']);
  for (const k of ['gone1', 'gone2', 'gone3']) await run(['SET', k, 'v', 'PX', '50']);
  await sleep(120);
  await expectReplies(t, run, [
    [['GET', 'gone1'], null],
    [['EXISTS', 'gone1', 'gone2', 'gone3'], 0],
    [['TTL', 'gone2'], -2],
    [['PTTL', 'gone2'], -2],
    [['TYPE', 'gone3'], 'none'],
    [['TOUCH', 'gone1', 'live1'], 1],
    [['RENAME', 'gone1', 'x'], err('ERR no such key')],
    [['COPY', 'gone2', 'x'], 0],
    [['PERSIST', 'gone3'], 0],
    [['EXPIRE', 'gone3', '100'], 0],
  ]);
  t.same(sorted(await run(['KEYS', '*'])), ['live1', 'live2'], 'KEYS excludes expired');
  const seen: string[] = [];
  let cursor = '0';
  for (let i = 0; i < 1000; i++) {
    const reply = (await run(['SCAN', cursor])) as [string, string[]];
    cursor = reply[0];
    seen.push(...reply[1]);
    if (cursor === '0') break;
  }
  t.same([...new Set(seen)].sort(), ['live1', 'live2'], 'SCAN excludes expired');
  for (let i = 0; i < 20; i++) {
    const k = await run(['RANDOMKEY']);
    if (k !== 'live1' && k !== 'live2') t.fail(`RANDOMKEY returned ${String(k)}`);
  }
  t.same(await run(['DEL', 'gone1', 'gone2', 'live1']), 1);
});
