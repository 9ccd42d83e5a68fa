// maxmemory and the eight eviction policies. Each scenario measures used_memory after
// FLUSHALL, sets maxmemory a few MB above it, writes well past the limit in batches and
// samples used_memory after every batch. Redis evicts before running each command, so
// used_memory may overshoot by at most what one command adds: the bound asserted is
// maxmemory + one value (plus a little allocator bookkeeping). Then it checks which
// keys went: volatile-* never evicts keys without a TTL (and answers -OOM once only
// those are left), volatile-ttl takes the nearest expiry first, allkeys-lru spares
// recently read keys, allkeys-lfu frequently read ones, noeviction refuses writes.
//
// Shoal: maxmemory is per shard process, split between its worker threads, and
// used_memory excludes the process baseline, so the target runs one worker and every
// figure here is a delta against a baseline taken after FLUSHALL.

import t, { type Test } from 'tap';
import { useTarget } from '../helpers/cluster.js';
import { RespClient, err, expectReplies, info as infoOf, infoNum as infoNumOf, sleep, type RespValue } from '../helpers/run.js';

const { target, run } = await useTarget(t, { workers: 1 });

const KB = 1024;
const MB = 1024 * KB;
const HEADROOM = 3 * MB;
const V = 1000;
const VALUE = 'e'.repeat(V);
/** One command's worth of overshoot: the value, its key and bookkeeping. */
const SLACK = V + 4 * KB;
const OOM = 'OOM command not allowed when used memory > \'maxmemory\'.';
const POLICIES = [
  'noeviction',
  'allkeys-lru',
  'allkeys-lfu',
  'allkeys-random',
  'volatile-lru',
  'volatile-lfu',
  'volatile-random',
  'volatile-ttl',
] as const;
type Policy = (typeof POLICIES)[number];

const info = (section: string): Promise<Map<string, string>> => infoOf(run, section);
const infoNum = (section: string, field: string): Promise<number> => infoNumOf(run, section, field);
const usedMemory = (): Promise<number> => infoNum('memory', 'used_memory');
const evictedKeys = (): Promise<number> => infoNum('stats', 'evicted_keys');

/** A second connection for the bulk writes, so INFO samples run between batches. */
const writer = await RespClient.connect(target.port);
t.teardown(() => writer.close());

t.teardown(async () => {
  await run(['CONFIG', 'SET', 'maxmemory', '0']).catch(() => undefined);
  await run(['CONFIG', 'SET', 'maxmemory-policy', 'noeviction']).catch(() => undefined);
});

/** Sends a batch back to back on the writer connection. */
function batch(cmds: readonly string[][]): Promise<RespValue[]> {
  return Promise.all(cmds.map((c) => writer.run(c)));
}

/** Counts how many of `keys` exist (EXISTS in chunks). */
async function existing(keys: readonly string[]): Promise<number> {
  let n = 0;
  for (let i = 0; i < keys.length; i += 500) n += Number(await run(['EXISTS', ...keys.slice(i, i + 500)]));
  return n;
}

type Limit = { base: number; max: number; evicted0: number };

/** FLUSHALL, policy, baseline, then maxmemory = baseline + HEADROOM. */
async function limitAt(tt: Test, policy: Policy): Promise<Limit> {
  tt.teardown(async () => {
    await run(['CONFIG', 'SET', 'maxmemory', '0']);
  });
  await run(['CONFIG', 'SET', 'maxmemory', '0']);
  await run(['FLUSHALL']);
  tt.equal(await run(['CONFIG', 'SET', 'maxmemory-policy', policy]), 'OK', `policy ${policy}`);
  await sleep(200);
  const base = await usedMemory();
  const max = base + HEADROOM;
  tt.equal(await run(['CONFIG', 'SET', 'maxmemory', String(max)]), 'OK', `maxmemory ${max} (baseline ${base} + ${HEADROOM})`);
  return { base, max, evicted0: await evictedKeys() };
}

/** Keys of `count` with `prefix`; `ttl(i)` seconds or none. */
function sets(prefix: string, from: number, count: number, ttl?: (i: number) => number): { keys: string[]; cmds: string[][] } {
  const keys: string[] = [];
  const cmds: string[][] = [];
  for (let i = from; i < from + count; i++) {
    const k = `${prefix}:${i}`;
    keys.push(k);
    const ex = ttl?.(i);
    cmds.push(ex === undefined ? ['SET', k, VALUE] : ['SET', k, VALUE, 'EX', String(ex)]);
  }
  return { keys, cmds };
}

/**
 * Lifts the limit (maxmemory 0) so that counting survivors cannot itself evict: Redis
 * evicts before every command, and EXISTS with 500 names adds to the query buffer.
 */
async function freeze(): Promise<void> {
  await run(['CONFIG', 'SET', 'maxmemory', '0']);
}

/** Bytes one key takes, from a write that fits (never below the value size). */
async function perKeyAfter(lim: Limit, count: number): Promise<number> {
  const used = await usedMemory();
  return Math.max(V, (used - lim.base) / count);
}

type Fill = { errors: string[]; oks: number; maxUsed: number; samples: number };

/**
 * Writes `cmds` in batches of `size`, sampling used_memory after each batch; `between`
 * runs after each batch (reads of hot keys, pauses).
 */
async function fill(cmds: readonly string[][], size: number, between?: () => Promise<void>): Promise<Fill> {
  const out: Fill = { errors: [], oks: 0, maxUsed: 0, samples: 0 };
  for (let i = 0; i < cmds.length; i += size) {
    const replies = await batch(cmds.slice(i, i + size));
    for (const r of replies) {
      if (r === 'OK') out.oks++;
      else out.errors.push(typeof r === 'object' && r !== null && 'error' in r ? r.error : JSON.stringify(r));
    }
    out.maxUsed = Math.max(out.maxUsed, await usedMemory());
    out.samples++;
    if (between) await between();
  }
  return out;
}

function assertBounded(tt: Test, lim: Limit, f: Fill): void {
  tt.ok(
    f.maxUsed <= lim.max + SLACK,
    `used_memory peaked at ${f.maxUsed} over ${f.samples} samples; maxmemory ${lim.max} (+${f.maxUsed - lim.max}, allowed +${SLACK})`,
  );
}

t.test('CONFIG SET/GET maxmemory and the eviction settings', async (t) => {
  await run(['FLUSHALL']);
  t.teardown(async () => {
    await run(['CONFIG', 'SET', 'maxmemory', '0']);
    await run(['CONFIG', 'SET', 'maxmemory-policy', 'noeviction']);
    await run(['CONFIG', 'SET', 'maxmemory-samples', '5']);
    await run(['CONFIG', 'SET', 'lfu-log-factor', '10']);
    await run(['CONFIG', 'SET', 'lfu-decay-time', '1']);
  });
  await expectReplies(t, run, [
    [['CONFIG', 'GET', 'maxmemory'], ['maxmemory', '0']],
    [['CONFIG', 'GET', 'maxmemory-policy'], ['maxmemory-policy', 'noeviction']],
    [['CONFIG', 'SET', 'maxmemory', '100mb'], 'OK'],
    [['CONFIG', 'GET', 'maxmemory'], ['maxmemory', '104857600']],
    [['CONFIG', 'SET', 'maxmemory', '1GB'], 'OK'],
    [['CONFIG', 'GET', 'maxmemory'], ['maxmemory', '1073741824']],
    [['CONFIG', 'SET', 'maxmemory', '2m'], 'OK'],
    [['CONFIG', 'GET', 'maxmemory'], ['maxmemory', '2000000']],
    [['CONFIG', 'SET', 'maxmemory', '64kb'], 'OK'],
    [['CONFIG', 'GET', 'maxmemory'], ['maxmemory', '65536']],
    [['CONFIG', 'SET', 'maxmemory', '123456789'], 'OK'],
    [['CONFIG', 'GET', 'maxmemory'], ['maxmemory', '123456789']],
    [['CONFIG', 'SET', 'maxmemory', 'lots'], err("ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value")],
    [['CONFIG', 'SET', 'maxmemory', '-1'], err("ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value")],
    [['CONFIG', 'GET', 'maxmemory'], ['maxmemory', '123456789']],
    [['CONFIG', 'SET', 'maxmemory', '0'], 'OK'],
    [['CONFIG', 'GET', 'maxmemory'], ['maxmemory', '0']],
  ]);
  for (const p of POLICIES) {
    await expectReplies(t, run, [
      [['CONFIG', 'SET', 'maxmemory-policy', p], 'OK'],
      [['CONFIG', 'GET', 'maxmemory-policy'], ['maxmemory-policy', p]],
    ]);
    t.equal((await info('memory')).get('maxmemory_policy'), p, `INFO memory maxmemory_policy ${p}`);
  }
  await expectReplies(t, run, [
    [['CONFIG', 'SET', 'maxmemory-policy', 'ALLKEYS-LRU'], 'OK'],
    [['CONFIG', 'GET', 'maxmemory-policy'], ['maxmemory-policy', 'allkeys-lru']],
    [
      ['CONFIG', 'SET', 'maxmemory-policy', 'lru'],
      err(
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: " +
          'volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction',
      ),
    ],
    [['CONFIG', 'GET', 'maxmemory-policy'], ['maxmemory-policy', 'allkeys-lru']],
    [['CONFIG', 'SET', 'maxmemory-samples', '10'], 'OK'],
    [['CONFIG', 'GET', 'maxmemory-samples'], ['maxmemory-samples', '10']],
    [['CONFIG', 'SET', 'maxmemory-samples', '0'], err("ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument must be between 1 and 2147483647 inclusive")],
    [['CONFIG', 'SET', 'lfu-log-factor', '20'], 'OK'],
    [['CONFIG', 'GET', 'lfu-log-factor'], ['lfu-log-factor', '20']],
    [['CONFIG', 'SET', 'lfu-log-factor', '-1'], err("ERR CONFIG SET failed (possibly related to argument 'lfu-log-factor') - argument must be between 0 and 2147483647 inclusive")],
    [['CONFIG', 'SET', 'lfu-decay-time', '2'], 'OK'],
    [['CONFIG', 'GET', 'lfu-decay-time'], ['lfu-decay-time', '2']],
    [['CONFIG', 'SET', 'lfu-decay-time', 'x'], err("ERR CONFIG SET failed (possibly related to argument 'lfu-decay-time') - argument couldn't be parsed into an integer")],
  ]);
  await run(['CONFIG', 'SET', 'maxmemory', '100mb']);
  const m = await info('memory');
  t.equal(m.get('maxmemory'), '104857600', 'INFO memory maxmemory');
  t.equal(m.get('maxmemory_human'), '100.00M', 'INFO memory maxmemory_human');
  t.equal(m.get('maxmemory_policy'), 'allkeys-lru');
});

t.test('noeviction: writes get OOM, reads and DEL still work, nothing is evicted', async (t) => {
  const lim = await limitAt(t, 'noeviction');
  const { keys, cmds } = sets('ne', 0, Math.ceil((2 * HEADROOM) / V));
  const f = await fill(cmds, 100);
  t.ok(f.oks > 0 && f.oks < cmds.length, `${f.oks} of ${cmds.length} writes accepted before the limit`);
  t.ok(f.errors.length > 0, `${f.errors.length} writes refused`);
  t.same(new Set(f.errors), new Set([OOM]), 'every refusal is exactly the OOM error');
  assertBounded(t, lim, f);
  t.equal(await run(['DBSIZE']), f.oks, 'every accepted write is still there');
  t.equal(await existing(keys.slice(0, f.oks)), f.oks, 'the accepted keys are the first ones written');
  t.equal((await evictedKeys()) - lim.evicted0, 0, 'evicted_keys did not move');
  // Used memory hovers right at the limit now; lower the limit a little so that the
  // checks below run clearly over it whatever client buffers do meanwhile.
  await run(['CONFIG', 'SET', 'maxmemory', String(lim.max - 256 * KB)]);
  await expectReplies(t, run, [
    [['GET', 'ne:0'], VALUE],
    [['EXISTS', 'ne:1'], 1],
    [['SET', 'ne:new', 'x'], err(OOM)],
    [['APPEND', 'ne:0', 'x'], err(OOM)],
    [['INCR', 'counter'], err(OOM)],
    [['GET', 'ne:0'], VALUE],
  ]);
  const before = await usedMemory();
  const freed = 500;
  t.equal(await run(['DEL', ...keys.slice(0, freed)]), freed, `DEL ${freed} keys works under OOM`);
  const after = await usedMemory();
  t.ok(before - after >= freed * V, `DEL freed ${before - after} bytes (>= ${freed * V})`);
  await expectReplies(t, run, [
    [['SET', 'ne:new', 'x'], 'OK'],
    [['GET', 'ne:new'], 'x'],
  ]);
  t.equal((await evictedKeys()) - lim.evicted0, 0, 'still nothing evicted');
});

t.test('allkeys-random: stays under the limit, evicts keys without a TTL', async (t) => {
  const lim = await limitAt(t, 'allkeys-random');
  const { keys, cmds } = sets('ar', 0, Math.ceil((3 * HEADROOM) / V));
  const f = await fill(cmds, 100);
  t.same(f.errors, [], 'no write refused');
  t.equal(f.oks, cmds.length);
  assertBounded(t, lim, f);
  await freeze();
  const left = Number(await run(['DBSIZE']));
  const evicted = (await evictedKeys()) - lim.evicted0;
  t.ok(left < cmds.length / 2, `${left} of ${cmds.length} keys left`);
  t.equal(evicted, cmds.length - left, `evicted_keys ${evicted} = written - left`);
  t.equal(await existing(keys), left, 'the keys left are among those written');
  // Random: early keys are not all gone (LRU-like order would take them first).
  const early = await existing(keys.slice(0, 500));
  t.ok(early > 0, `${early} of the first 500 keys survived`);
});

/** Shared LRU/LFU scenario: hot keys read during the fill, cold keys never. */
async function hotCold(t: Test, policy: 'allkeys-lru' | 'allkeys-lfu'): Promise<void> {
  const lim = await limitAt(t, policy);
  const hot = sets('hot', 0, 100);
  const cold = sets('cold', 0, 1000);
  const first = await fill([...hot.cmds, ...cold.cmds], 100);
  t.equal(first.oks, 1100, 'hot and cold keys fit');
  const perKey = await perKeyAfter(lim, 1100);
  const capacity = Math.floor(HEADROOM / perKey);
  const readHot = async (times: number): Promise<void> => {
    for (let r = 0; r < times; r++) await batch(hot.keys.map((k) => ['GET', k]));
  };
  // LRU clocks in Redis tick once a second: let the cold keys age first.
  await sleep(policy === 'allkeys-lru' ? 1100 : 0);
  await readHot(policy === 'allkeys-lru' ? 1 : 10);
  // LRU: evict ~70% of the cold keys' worth; LFU: evict more than the cold keys.
  const extra = policy === 'allkeys-lru' ? 700 : 2000;
  const fresh = sets('fresh', 0, Math.max(500, capacity - 1100 + extra));
  const f = await fill(fresh.cmds, 100, async () => {
    await readHot(1);
    if (policy === 'allkeys-lru') await sleep(100);
  });
  t.same(f.errors, [], 'no write refused');
  assertBounded(t, lim, f);
  await freeze();
  const evicted = (await evictedKeys()) - lim.evicted0;
  t.ok(evicted > 0, `evicted_keys ${evicted}`);
  const hotLeft = (await existing(hot.keys)) / hot.keys.length;
  const coldLeft = (await existing(cold.keys)) / cold.keys.length;
  t.ok(hotLeft >= 0.9, `hot keys survived: ${(hotLeft * 100).toFixed(1)}% (>= 90%)`);
  t.ok(coldLeft <= 0.75, `untouched cold keys survived: ${(coldLeft * 100).toFixed(1)}% (<= 75%)`);
  t.ok(hotLeft - coldLeft >= 0.25, `hot survive much better (${(hotLeft * 100).toFixed(1)}% vs ${(coldLeft * 100).toFixed(1)}%)`);
}

t.test('allkeys-lru: recently read keys survive, untouched ones go', async (t) => {
  await hotCold(t, 'allkeys-lru');
});

t.test('allkeys-lfu: frequently read keys survive, untouched ones go', async (t) => {
  await hotCold(t, 'allkeys-lfu');
});

for (const policy of ['volatile-lru', 'volatile-lfu', 'volatile-random'] as const) {
  t.test(`${policy}: only keys with a TTL are evicted; OOM once none are left`, async (t) => {
    const lim = await limitAt(t, policy);
    const plain = sets('plain', 0, 500);
    const first = await fill(plain.cmds, 100);
    t.equal(first.oks, 500, 'keys without a TTL written');
    const perKey = await perKeyAfter(lim, 500);
    const capacity = Math.floor(HEADROOM / perKey);
    const vol = sets('vol', 0, capacity, () => 3600);
    const f = await fill(vol.cmds, 100);
    t.same(f.errors, [], 'no write refused while keys with a TTL remain');
    assertBounded(t, lim, f);
    await freeze();
    const evicted = (await evictedKeys()) - lim.evicted0;
    t.ok(evicted > 0, `evicted_keys ${evicted}`);
    t.equal(await existing(plain.keys), 500, 'every key without a TTL survived');
    const volLeft = await existing(vol.keys);
    t.equal(volLeft, vol.keys.length - evicted, `the evictions all hit keys with a TTL (${volLeft} left)`);
    await run(['CONFIG', 'SET', 'maxmemory', String(lim.max)]);

    // More keys without a TTL: they push out the remaining TTL keys, then hit OOM.
    const more = sets('more', 0, capacity);
    let oks = 0;
    let oomAt = -1;
    const moreErrors = new Set<string>();
    for (let i = 0; i < more.cmds.length && oomAt < 0; i += 50) {
      const replies = await batch(more.cmds.slice(i, i + 50));
      replies.forEach((r, j) => {
        if (r === 'OK') oks++;
        else {
          moreErrors.add(typeof r === 'object' && r !== null && 'error' in r ? r.error : JSON.stringify(r));
          if (oomAt < 0) oomAt = i + j;
        }
      });
    }
    t.ok(oomAt >= 0, `writes without a TTL eventually refused (after ${oks} accepted)`);
    t.same([...moreErrors], [OOM], 'with the OOM error');
    t.equal(await run(['GET', 'plain:0']), VALUE, 'reads still work');
    await freeze();
    t.equal(await existing(vol.keys), 0, 'by then every key with a TTL had been evicted');
    t.equal(await existing(plain.keys), 500, 'and still no key without a TTL was');
    t.equal(await existing(more.keys), oks, 'every accepted write is still there');
    t.equal((await evictedKeys()) - lim.evicted0, vol.keys.length, 'evicted_keys = keys with a TTL written');
    t.equal(await run(['DEL', 'plain:0', 'plain:1']), 2);
  });
}

t.test('volatile-ttl: the nearest expiry goes first, keys without a TTL never', async (t) => {
  const lim = await limitAt(t, 'volatile-ttl');
  const plain = sets('plain', 0, 200);
  t.equal((await fill(plain.cmds, 100)).oks, 200, 'keys without a TTL written');
  const perKey = await perKeyAfter(lim, 200);
  const capacity = Math.floor(HEADROOM / perKey);
  const n = Math.floor(capacity * 0.3);
  // Short and long TTLs interleaved, so write order says nothing about expiry order.
  const cmds: string[][] = [];
  const short: string[] = [];
  const long: string[] = [];
  for (let i = 0; i < n; i++) {
    short.push(`short:${i}`);
    long.push(`long:${i}`);
    cmds.push(['SET', `short:${i}`, VALUE, 'EX', String(1000 + (i % 100))]);
    cmds.push(['SET', `long:${i}`, VALUE, 'EX', String(100_000 + (i % 100))]);
  }
  const first = await fill(cmds, 100);
  t.equal(first.oks, 2 * n, 'short and long TTL keys fit');
  // Then enough longer-lived keys to evict about half of the short ones' worth.
  const later = sets('later', 0, Math.max(200, capacity - 200 - 2 * n + Math.floor(0.5 * n)), () => 200_000);
  const f = await fill(later.cmds, 100);
  t.same(f.errors, [], 'no write refused');
  assertBounded(t, lim, f);
  await freeze();
  const evicted = (await evictedKeys()) - lim.evicted0;
  t.ok(evicted > 0, `evicted_keys ${evicted}`);
  t.equal(await existing(plain.keys), 200, 'every key without a TTL survived');
  const shortLeft = (await existing(short)) / n;
  const longLeft = (await existing(long)) / n;
  t.ok(longLeft >= 0.9, `long TTLs survived: ${(longLeft * 100).toFixed(1)}% (>= 90%)`);
  t.ok(shortLeft <= 0.7, `short TTLs survived: ${(shortLeft * 100).toFixed(1)}% (<= 70%)`);
  const laterLeft = await existing(later.keys);
  t.ok(laterLeft >= 0.9 * later.keys.length, `the longest TTLs survived: ${laterLeft}/${later.keys.length}`);
});
