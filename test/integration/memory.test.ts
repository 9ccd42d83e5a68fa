// Memory accounting and introspection: used_memory follows writes and deletes and does
// not drift over a million SET/DEL cycles; MEMORY USAGE, MEMORY STATS, OBJECT
// ENCODING / FREQ / IDLETIME / HELP and the INFO memory fields as Redis 7 has them.
// Bulk loads run on their own connection, closed before measuring, so client buffers
// do not count against the measurement.

import t from 'tap';
import { useTarget } from '../helpers/cluster.js';
import { blast, encodeCommand, err, expectReplies, info as infoOf, infoNum as infoNumOf, pollUntil, runMany, runManyFresh, sleep, type RespValue } from '../helpers/run.js';

const { target, run } = await useTarget(t);

const KB = 1024;
const MB = 1024 * KB;
const SYNTAX = err('ERR syntax error');
const LFU_NOT_SELECTED =
  'ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.';
const LFU_SELECTED =
  'ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.';

const info = (section: string): Promise<Map<string, string>> => infoOf(run, section);

const usedMemory = (): Promise<number> => infoNumOf(run, 'memory', 'used_memory');

const load = (commands: string[][], chunk = 1000): Promise<RespValue[]> => runManyFresh(target.port, commands, chunk);

/** used_memory once it stops moving (two equal-ish readings), bounded to 3 s. */
async function settledUsed(): Promise<number> {
  let prev = await usedMemory();
  const r = await pollUntil(
    async () => {
      const cur = await usedMemory();
      const stable = Math.abs(cur - prev) <= 4 * KB;
      prev = cur;
      return { cur, stable };
    },
    (v) => v.stable,
    3000,
    150,
  );
  return r.value.cur;
}

/** Flat RESP2 name/value array (or RESP3 map) → Map. */
function pairs(v: RespValue): Map<string, RespValue> {
  if (v instanceof Map) return new Map([...v].map(([k, val]) => [String(k), val]));
  const out = new Map<string, RespValue>();
  if (Array.isArray(v)) for (let i = 0; i + 1 < v.length; i += 2) out.set(String(v[i]), v[i + 1] ?? null);
  return out;
}

t.beforeEach(async () => {
  await run(['FLUSHALL']);
});

t.teardown(async () => {
  await run(['CONFIG', 'SET', 'maxmemory-policy', 'noeviction']).catch(() => undefined);
});

t.test('INFO memory fields', async (t) => {
  const m = await info('memory');
  for (const f of ['used_memory', 'used_memory_rss', 'used_memory_peak', 'maxmemory', 'mem_fragmentation_ratio', 'allocator_frag_ratio']) {
    const v = m.get(f);
    t.ok(v !== undefined && v !== '' && Number.isFinite(Number(v)), `INFO memory ${f} is a number (${String(v)})`);
  }
  t.match(m.get('used_memory_human') ?? '', /^\d+(\.\d+)?[BKMGT]$/, 'used_memory_human like 1.02M');
  t.equal(m.get('maxmemory'), '0', 'no limit by default');
  t.equal(m.get('maxmemory_policy'), 'noeviction', 'default policy');
  t.ok(Number(m.get('used_memory_peak')) >= Number(m.get('used_memory')), 'peak >= used');
});

t.test('used_memory rises with writes and falls back after deletes', async (t) => {
  const N = 10_000;
  const V = 1000;
  const value = 'm'.repeat(V);
  const base = await settledUsed();
  const keys = Array.from({ length: N }, (_, i) => `acct:${i}`);
  const replies = await load(keys.map((k) => ['SET', k, value]));
  t.equal(replies.filter((r) => r === 'OK').length, N, `${N} SETs OK`);
  const full = await settledUsed();
  const rise = full - base;
  t.ok(rise >= N * V, `used_memory rose by ${rise} >= ${N * V} (the value bytes)`);
  t.ok(rise <= N * V * 1.5 + MB, `used_memory rose by ${rise} <= ${N * V * 1.5 + MB} (overhead under 50% + 1 MB)`);

  const delCmds: string[][] = [];
  for (let i = 0; i < N; i += 1000) delCmds.push(['DEL', ...keys.slice(i, i + 1000)]);
  const deleted = (await load(delCmds)).reduce<number>((a, r) => a + (typeof r === 'number' ? r : 0), 0);
  t.equal(deleted, N, 'every key deleted');
  t.equal(await run(['DBSIZE']), 0);
  const back = await pollUntil(usedMemory, (m) => m <= base + 128 * KB, 5000, 100);
  t.ok(back.ok, `used_memory back to ${back.value} (baseline ${base}, allowed +128 KB)`);
});

t.test('no drift after 1,000,000 SET/DEL cycles on a small key set', async (t) => {
  const KEYS = 100;
  const CYCLES = 1_000_000;
  const sizes = [8, 60, 300, 1];
  // Several frames so each key sees different value sizes; even keys also get a TTL.
  const frames = sizes.map((_, shift) => {
    const parts: Buffer[] = [];
    for (let i = 0; i < KEYS; i++) {
      const size = sizes[(i + shift) % sizes.length] ?? 8;
      const v = String.fromCharCode(97 + ((i + shift) % 26)).repeat(size);
      parts.push(encodeCommand(i % 2 === 0 ? ['SET', `drift:${i}`, v, 'PX', '600000'] : ['SET', `drift:${i}`, v]));
    }
    for (let i = 0; i < KEYS; i++) parts.push(encodeCommand(['DEL', `drift:${i}`]));
    return Buffer.concat(parts);
  });
  const start = await settledUsed();
  const res = await blast(target.port, frames, 2 * KEYS, CYCLES / KEYS, { window: 50, timeoutMs: 50_000 });
  t.equal(res.replies, 2 * CYCLES, `${2 * CYCLES} replies in ${res.ms} ms`);
  t.equal(res.errorCount, 0, `no error replies ${JSON.stringify(res.errors)}`);
  t.equal(await run(['DBSIZE']), 0, 'every key deleted again');
  const end = await pollUntil(usedMemory, (m) => Math.abs(m - start) <= 64 * KB, 5000, 100);
  t.ok(end.ok, `used_memory ${end.value} within 64 KB of ${start} (diff ${end.value - start})`);
});

t.test('MEMORY USAGE', async (t) => {
  await expectReplies(t, run, [
    [['SET', 'small', 'v'], 'OK'],
    [['SET', 'big', 'b'.repeat(10_000)], 'OK'],
    [['SET', 'huge', 'h'.repeat(100_000)], 'OK'],
    [['MEMORY', 'USAGE', 'nokey'], null],
  ]);
  const small = await run(['MEMORY', 'USAGE', 'small']);
  const big = await run(['MEMORY', 'USAGE', 'big']);
  const huge = await run(['MEMORY', 'USAGE', 'huge']);
  t.ok(typeof small === 'number' && small > 0 && small < 200, `small key usage ${String(small)} in (0, 200)`);
  t.ok(typeof big === 'number' && big >= 10_000 && big < 12_000, `10 KB value usage ${String(big)} in [10000, 12000)`);
  t.ok(typeof huge === 'number' && huge >= 100_000 && huge < 120_000, `100 KB value usage ${String(huge)} in [100000, 120000)`);
  t.ok(typeof small === 'number' && typeof big === 'number' && typeof huge === 'number' && small < big && big < huge, 'usage grows with the value');
  t.equal(await run(['MEMORY', 'USAGE', 'big', 'SAMPLES', '0']), big, 'SAMPLES 0 accepted, same figure for a string');
  t.equal(await run(['MEMORY', 'USAGE', 'big', 'SAMPLES', '5']), big);
  await expectReplies(t, run, [
    [['MEMORY', 'USAGE', 'nokey', 'SAMPLES', '0'], null],
    [['MEMORY', 'USAGE', 'big', 'SAMPLES'], SYNTAX],
    [['MEMORY', 'USAGE', 'big', 'FOO', '1'], SYNTAX],
    [['MEMORY', 'USAGE', 'big', 'SAMPLES', 'x'], err('ERR value is not an integer or out of range')],
    [['MEMORY', 'USAGE'], err("ERR wrong number of arguments for 'memory|usage' command")],
    [['DEL', 'big'], 1],
    [['MEMORY', 'USAGE', 'big'], null],
  ]);
});

t.test('OBJECT ENCODING', async (t) => {
  await expectReplies(t, run, [
    [['SET', 'i', '12345'], 'OK'],
    [['OBJECT', 'ENCODING', 'i'], 'int'],
    [['SET', 'neg', '-42'], 'OK'],
    [['OBJECT', 'ENCODING', 'neg'], 'int'],
    [['SET', 'min', '-9223372036854775808'], 'OK'],
    [['OBJECT', 'ENCODING', 'min'], 'int'],
    [['SET', 'max', '9223372036854775807'], 'OK'],
    [['OBJECT', 'ENCODING', 'max'], 'int'],
    // Beyond a signed 64-bit integer, or not in canonical form: a string.
    [['SET', 'over', '9223372036854775808'], 'OK'],
    [['OBJECT', 'ENCODING', 'over'], 'embstr'],
    [['SET', 'lead', '007'], 'OK'],
    [['OBJECT', 'ENCODING', 'lead'], 'embstr'],
    [['SET', 'plus', '+1'], 'OK'],
    [['OBJECT', 'ENCODING', 'plus'], 'embstr'],
    [['SET', 'e', ''], 'OK'],
    [['OBJECT', 'ENCODING', 'e'], 'embstr'],
    [['SET', 's44', 'x'.repeat(44)], 'OK'],
    [['OBJECT', 'ENCODING', 's44'], 'embstr'],
    [['SET', 's45', 'x'.repeat(45)], 'OK'],
    [['OBJECT', 'ENCODING', 's45'], 'raw'],
    [['SET', 'app', 'ab'], 'OK'],
    [['APPEND', 'app', 'c'], 3],
    [['OBJECT', 'ENCODING', 'app'], 'raw'],
    [['INCR', 'i'], 12346],
    [['OBJECT', 'ENCODING', 'i'], 'int'],
    [['OBJECT', 'ENCODING', 'nokey'], null],
    [['OBJECT', 'ENCODING'], err("ERR wrong number of arguments for 'object|encoding' command")],
    [['OBJECT', 'NOSUCH', 'i'], err("ERR unknown subcommand 'NOSUCH'. Try OBJECT HELP.")],
  ]);
});

t.test('OBJECT FREQ and IDLETIME follow the maxmemory policy', async (t) => {
  t.teardown(async () => {
    await run(['CONFIG', 'SET', 'maxmemory-policy', 'noeviction']);
    await run(['CONFIG', 'SET', 'lfu-log-factor', '10']);
  });
  await expectReplies(t, run, [
    [['SET', 'k', 'v'], 'OK'],
    [['OBJECT', 'FREQ', 'k'], err(LFU_NOT_SELECTED)],
    [['OBJECT', 'FREQ', 'nokey'], null],
    [['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru'], 'OK'],
    [['OBJECT', 'FREQ', 'k'], err(LFU_NOT_SELECTED)],
    [['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lfu'], 'OK'],
    [['SET', 'f', 'v'], 'OK'],
    [['OBJECT', 'IDLETIME', 'f'], err(LFU_SELECTED)],
    [['OBJECT', 'IDLETIME', 'nokey'], null],
    [['CONFIG', 'SET', 'maxmemory-policy', 'volatile-lfu'], 'OK'],
    [['OBJECT', 'IDLETIME', 'f'], err(LFU_SELECTED)],
    [['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lfu'], 'OK'],
  ]);
  const f0 = await run(['OBJECT', 'FREQ', 'f']);
  t.ok(typeof f0 === 'number' && f0 >= 0 && f0 <= 255, `OBJECT FREQ of a new key ${String(f0)}`);
  const f0again = await run(['OBJECT', 'FREQ', 'f']);
  t.equal(f0again, f0, 'OBJECT FREQ itself does not count as an access');
  for (let i = 0; i < 20; i++) await run(['GET', 'f']);
  const f1 = await run(['OBJECT', 'FREQ', 'f']);
  t.ok(typeof f0 === 'number' && typeof f1 === 'number' && f1 > f0, `frequency grew with 20 reads (${String(f0)} -> ${String(f1)})`);
  // With lfu-log-factor 0 every access increments the counter.
  await run(['CONFIG', 'SET', 'lfu-log-factor', '0']);
  await run(['SET', 'g', 'v']);
  const g0 = await run(['OBJECT', 'FREQ', 'g']);
  for (let i = 0; i < 10; i++) await run(['GET', 'g']);
  const g1 = await run(['OBJECT', 'FREQ', 'g']);
  t.ok(typeof g0 === 'number' && typeof g1 === 'number' && g1 - g0 === 10, `lfu-log-factor 0: 10 reads add 10 (${String(g0)} -> ${String(g1)})`);
});

t.test('OBJECT IDLETIME grows while idle and resets on access', async (t) => {
  await run(['SET', 'idle', 'v']);
  t.equal(await run(['OBJECT', 'IDLETIME', 'idle']), 0, 'just written');
  await sleep(2200);
  const idle = await run(['OBJECT', 'IDLETIME', 'idle']);
  t.ok(typeof idle === 'number' && idle >= 1 && idle <= 3, `after 2.2 s idle ${String(idle)} in [1, 3]`);
  const again = await run(['OBJECT', 'IDLETIME', 'idle']);
  t.equal(again, idle, 'OBJECT IDLETIME itself does not touch the key');
  t.equal(await run(['GET', 'idle']), 'v');
  t.equal(await run(['OBJECT', 'IDLETIME', 'idle']), 0, 'a read resets it');
  await sleep(1200);
  const w = await run(['OBJECT', 'IDLETIME', 'idle']);
  t.ok(typeof w === 'number' && w >= 1, `idle again ${String(w)}`);
  await run(['SET', 'idle', 'w']);
  t.equal(await run(['OBJECT', 'IDLETIME', 'idle']), 0, 'a write resets it');
});

t.test('OBJECT HELP', async (t) => {
  const help = await run(['OBJECT', 'HELP']);
  t.ok(Array.isArray(help) && help.length >= 8 && help.every((l) => typeof l === 'string'), 'an array of text lines');
  if (Array.isArray(help)) {
    t.equal(help[0], 'OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:');
    const text = help.join('\n');
    for (const sub of ['ENCODING', 'FREQ', 'IDLETIME', 'REFCOUNT', 'HELP']) t.match(text, new RegExp(`^${sub}\\b`, 'm'), `mentions ${sub}`);
  }
  t.same(await run(['OBJECT', 'HELP', 'x']), err("ERR wrong number of arguments for 'object|help' command"));
});

t.test('MEMORY STATS', async (t) => {
  await runMany(run, Array.from({ length: 10 }, (_, i) => ['SET', `ms:${i}`, 'x'.repeat(100)]));
  const raw = await run(['MEMORY', 'STATS']);
  t.ok(Array.isArray(raw) || raw instanceof Map, 'a flat name/value array (RESP2) or a map');
  const stats = pairs(raw);
  const numeric = [
    'peak.allocated',
    'total.allocated',
    'startup.allocated',
    'overhead.total',
    'keys.count',
    'keys.bytes-per-key',
    'dataset.bytes',
    'dataset.percentage',
    'peak.percentage',
    'fragmentation',
  ];
  for (const f of numeric) {
    const v = stats.get(f);
    t.ok(v !== undefined && Number.isFinite(Number(v)), `MEMORY STATS ${f} is a number (${String(v)})`);
  }
  t.equal(stats.get('keys.count'), 10, 'keys.count counts the keys');
  const total = Number(stats.get('total.allocated'));
  const peak = Number(stats.get('peak.allocated'));
  t.ok(peak >= total, `peak.allocated ${peak} >= total.allocated ${total}`);
  const used = await usedMemory();
  t.ok(Math.abs(used - total) <= 256 * KB, `total.allocated ${total} close to used_memory ${used}`);
  t.ok(stats.has('db.0'), 'per-db overhead entry db.0');
  t.same(await run(['MEMORY', 'STATS', 'x']), err("ERR wrong number of arguments for 'memory|stats' command"));
});
