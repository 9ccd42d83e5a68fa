// Expiry: active expiry of keys nobody reads (Redis's active expire cycle deletes them
// in the background, and Shoal must too), the INFO stats expiry counters, memory given
// back after a mass expiry, and the TTL edge cases (non-positive / past / overflowing
// expire times, PERSIST, KEEPTTL, which writes keep or clear a TTL) as Redis 7 replies.

import t from 'tap';
import { useTarget } from '../helpers/cluster.js';
import { err, expectReplies, info as infoOf, infoNum as infoNumOf, pollUntil, runMany, sleep } from '../helpers/run.js';

const { run } = await useTarget(t);

const invalidExpire = (cmd: string) => err(`ERR invalid expire time in '${cmd}' command`);
const MB = 1024 * 1024;

const info = (section: string): Promise<Map<string, string>> => infoOf(run, section);
const infoNum = (section: string, field: string): Promise<number> => infoNumOf(run, section, field);

const usedMemory = (): Promise<number> => infoNum('memory', 'used_memory');
const dbsize = async (): Promise<number> => Number(await run(['DBSIZE']));

t.beforeEach(async () => {
  await run(['FLUSHALL']);
});

t.test('INFO stats has the expiry counters', async (t) => {
  const stats = await info('stats');
  for (const field of ['expired_keys', 'expired_stale_perc', 'expired_time_cap_reached_count']) {
    const v = stats.get(field);
    t.ok(v !== undefined && v !== '' && Number.isFinite(Number(v)), `INFO stats ${field} is a number (${String(v)})`);
  }
});

t.test('active expiry deletes 100,000 keys that are never read', async (t) => {
  const N = 100_000;
  // Survivors: keys with no TTL and with a long TTL must not be touched.
  const keep = [
    ...Array.from({ length: 50 }, (_, i): string[] => ['SET', `keep:plain:${i}`, `p${i}`]),
    ...Array.from({ length: 50 }, (_, i): string[] => ['SET', `keep:ttl:${i}`, `t${i}`, 'EX', '3600']),
  ];
  t.same(new Set(await runMany(run, keep)), new Set(['OK']), 'survivor keys written');
  await sleep(300);
  const baseline = await usedMemory();
  const expired0 = await infoNum('stats', 'expired_keys');
  t.ok(Number.isFinite(baseline) && baseline >= 0, `baseline used_memory ${baseline}`);

  const load: string[][] = [];
  for (let i = 0; i < N; i++) load.push(['SET', `exp:${i}`, `value-${i}`, 'PX', '100']);
  const replies = await runMany(run, load, 5000);
  t.equal(replies.filter((r) => r === 'OK').length, N, `${N} SET PX 100 answered OK`);
  const loadedAt = Date.now();

  // Nothing reads the keys: only active expiry can bring DBSIZE down.
  const drained = await pollUntil(dbsize, (n) => n <= keep.length, 10_000, 100);
  t.ok(drained.ok, `DBSIZE reached ${keep.length} within 10 s of the load (last ${drained.value}, ${Date.now() - loadedAt} ms)`);
  t.equal(drained.value, keep.length, 'exactly the survivors are left');

  const expired = (await infoNum('stats', 'expired_keys')) - expired0;
  t.ok(expired >= N, `INFO stats expired_keys grew by ${expired} (>= ${N})`);

  const mem = await pollUntil(usedMemory, (m) => m <= baseline + MB, 10_000, 200);
  t.ok(mem.ok, `used_memory back to ${mem.value} (baseline ${baseline}, allowed +1 MB) within 10 s`);

  t.equal(await run(['EXISTS', ...keep.map((c) => c[1] as string)]), keep.length, 'every survivor still exists');
  const ttl = await run(['TTL', 'keep:ttl:0']);
  t.ok(typeof ttl === 'number' && ttl > 3500 && ttl <= 3600, `long TTL intact (${String(ttl)})`);
  t.equal(await run(['TTL', 'keep:plain:0']), -1);
});

t.test('an expired key read afterwards is gone and counted', async (t) => {
  const before = await infoNum('stats', 'expired_keys');
  t.equal(await run(['SET', 'lazy', 'v', 'PX', '300']), 'OK');
  const pttl = await run(['PTTL', 'lazy']);
  t.ok(typeof pttl === 'number' && pttl > 0 && pttl <= 300, `PTTL ${String(pttl)} in (0, 300]`);
  await sleep(400);
  await expectReplies(t, run, [
    [['GET', 'lazy'], null],
    [['EXISTS', 'lazy'], 0],
    [['TTL', 'lazy'], -2],
    [['PTTL', 'lazy'], -2],
    [['PERSIST', 'lazy'], 0],
    [['EXPIRE', 'lazy', '100'], 0],
  ]);
  const after = await infoNum('stats', 'expired_keys');
  t.ok(after - before >= 1, `expired_keys counted the expiry (${before} -> ${after})`);
  // SET with an absolute time already in the past is accepted, and the key is gone.
  await expectReplies(t, run, [
    [['SET', 'past', 'v', 'PXAT', '1'], 'OK'],
    [['GET', 'past'], null],
    [['EXISTS', 'past'], 0],
    [['SET', 'past', 'v', 'EXAT', '1'], 'OK'],
    [['EXISTS', 'past'], 0],
  ]);
});

t.test('non-positive and past expire times delete the key', async (t) => {
  await expectReplies(t, run, [
    [['SET', 'k', 'v'], 'OK'],
    [['EXPIRE', 'k', '-1'], 1],
    [['EXISTS', 'k'], 0],
    [['SET', 'k', 'v'], 'OK'],
    [['EXPIRE', 'k', '0'], 1],
    [['GET', 'k'], null],
    [['SET', 'k', 'v'], 'OK'],
    [['PEXPIRE', 'k', '-1000'], 1],
    [['EXISTS', 'k'], 0],
    [['SET', 'k', 'v'], 'OK'],
    [['PEXPIREAT', 'k', '1000'], 1],
    [['TTL', 'k'], -2],
    [['SET', 'k', 'v', 'EX', '100'], 'OK'],
    [['EXPIREAT', 'k', '0'], 1],
    [['EXISTS', 'k'], 0],
    [['SET', 'k', 'v'], 'OK'],
    [['EXPIREAT', 'k', '-5'], 1],
    [['DBSIZE'], 0],
    // Missing keys are not created.
    [['EXPIRE', 'nokey', '-1'], 0],
    [['EXPIRE', 'nokey', '100'], 0],
    [['PEXPIREAT', 'nokey', '1'], 0],
    [['EXISTS', 'nokey'], 0],
  ]);
});

t.test('invalid and overflowing expire times', async (t) => {
  await expectReplies(t, run, [
    [['SET', 'k', 'v'], 'OK'],
    [['EXPIRE', 'k', '9223372036854775807'], invalidExpire('expire')],
    [['EXPIRE', 'k', '9223372036854775'], invalidExpire('expire')],
    [['EXPIRE', 'k', '-9223372036854775808'], invalidExpire('expire')],
    [['PEXPIRE', 'k', '9223372036854775807'], invalidExpire('pexpire')],
    [['EXPIREAT', 'k', '9223372036854775807'], invalidExpire('expireat')],
    [['EXPIRE', 'k', '9223372036854775808'], err('ERR value is not an integer or out of range')],
    [['EXPIRE', 'k', '1.5'], err('ERR value is not an integer or out of range')],
    // The failed calls left the key and its (absent) TTL alone.
    [['GET', 'k'], 'v'],
    [['TTL', 'k'], -1],
    [['SET', 'k', 'v', 'EX', '0'], invalidExpire('set')],
    [['SET', 'k', 'v', 'PX', '-1'], invalidExpire('set')],
    [['SET', 'k', 'v', 'EX', '9223372036854775807'], invalidExpire('set')],
    [['SET', 'k', 'v', 'EXAT', '0'], invalidExpire('set')],
    [['SETEX', 'k', '0', 'v'], invalidExpire('setex')],
    [['PSETEX', 'k', '-5', 'v'], invalidExpire('psetex')],
    [['GETEX', 'k', 'EX', '0'], invalidExpire('getex')],
    [['GETEX', 'k', 'PX', '9223372036854775807'], invalidExpire('getex')],
    [['GET', 'k'], 'v'],
    [['TTL', 'k'], -1],
  ]);
});

t.test('TTL PTTL PERSIST KEEPTTL', async (t) => {
  await expectReplies(t, run, [
    [['TTL', 'nokey'], -2],
    [['PTTL', 'nokey'], -2],
    [['SET', 'k', 'v'], 'OK'],
    [['TTL', 'k'], -1],
    [['PTTL', 'k'], -1],
    [['PERSIST', 'k'], 0],
    [['EXPIRE', 'k', '100'], 1],
    [['TTL', 'k'], 100],
    [['PERSIST', 'k'], 1],
    [['PERSIST', 'k'], 0],
    [['TTL', 'k'], -1],
    [['PERSIST', 'nokey'], 0],
    [['SET', 'k', 'v2', 'EX', '100'], 'OK'],
    [['SET', 'k', 'v3', 'KEEPTTL'], 'OK'],
    [['GET', 'k'], 'v3'],
    [['TTL', 'k'], 100],
    [['SET', 'k', 'v4'], 'OK'],
    [['TTL', 'k'], -1],
    [['SET', 'k', 'v5', 'KEEPTTL'], 'OK'],
    [['TTL', 'k'], -1],
    [['SET', 'fresh', 'v', 'KEEPTTL'], 'OK'],
    [['TTL', 'fresh'], -1],
    [['SET', 'k', 'v', 'EX', '10', 'KEEPTTL'], err('ERR syntax error')],
  ]);
  await run(['PEXPIRE', 'k', '5000']);
  const pttl = await run(['PTTL', 'k']);
  t.ok(typeof pttl === 'number' && pttl > 4000 && pttl <= 5000, `PTTL ${String(pttl)} in (4000, 5000]`);
});

t.test('which writes keep a TTL and which clear it', async (t) => {
  await expectReplies(t, run, [
    [['SET', 'n', '1', 'EX', '100'], 'OK'],
    [['INCR', 'n'], 2],
    [['INCRBY', 'n', '5'], 7],
    [['TTL', 'n'], 100],
    [['SET', 's', 'ab', 'EX', '100'], 'OK'],
    [['APPEND', 's', 'cd'], 4],
    [['SETRANGE', 's', '0', 'X'], 4],
    [['TTL', 's'], 100],
    [['GETEX', 's', 'PERSIST'], 'Xbcd'],
    [['TTL', 's'], -1],
    [['GETEX', 's', 'EX', '50'], 'Xbcd'],
    [['TTL', 's'], 50],
    [['GETSET', 's', 'new'], 'Xbcd'],
    [['TTL', 's'], -1],
    [['SET', 's', 'x', 'EX', '100'], 'OK'],
    [['GETDEL', 's'], 'x'],
    [['SET', 's', 'y'], 'OK'],
    [['TTL', 's'], -1],
    [['SET', 'n', '1', 'EX', '100'], 'OK'],
    [['SET', 'n', '2', 'GET'], '1'],
    [['TTL', 'n'], -1],
  ]);
});
