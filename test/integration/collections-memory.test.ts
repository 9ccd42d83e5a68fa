// Collections and the memory engine: used_memory follows large (heap) collections up
// and down, eviction under maxmemory removes whole collections and keeps used_memory
// under the limit, TTLs expire collections, and deleting a huge collection does not
// stall the worker. Runs against Redis too (SHOAL_TEST_TARGET=redis): every assertion
// is one Redis satisfies.

import t from 'tap';
import { useTarget } from '../helpers/cluster.js';
import { connect, infoNum, pollUntil, runManyFresh, sleep, type RespValue } from '../helpers/run.js';

const { target, run } = await useTarget(t);
const MB = 1024 * 1024;

const usedMemory = (): Promise<number> => infoNum(run, 'memory', 'used_memory');

const load = (commands: string[][], chunk = 1000): Promise<RespValue[]> => runManyFresh(target.port, commands, chunk);

t.beforeEach(async () => {
  await run(['FLUSHALL']);
});

t.teardown(async () => {
  await run(['CONFIG', 'SET', 'maxmemory', '0']).catch(() => undefined);
  await run(['CONFIG', 'SET', 'maxmemory-policy', 'noeviction']).catch(() => undefined);
});

t.test('used_memory follows a large hash, sorted set, set and list up and back down', async (t) => {
  const base = await usedMemory();
  const N = 50_000;
  const cmds: string[][] = [];
  for (let i = 0; i < N; i++) {
    cmds.push(['HSET', 'h', `field:${i}`, `value:${i}`]);
    cmds.push(['ZADD', 'z', String(i), `member:${i}`]);
    cmds.push(['SADD', 's', `member:${i}`]);
    cmds.push(['RPUSH', 'l', `element:${i}`]);
  }
  await load(cmds);
  const full = await usedMemory();
  const grew = full - base;
  // Each element is >= 10 bytes of payload: 4 collections x 50k x 10 B = 2 MB at the very least.
  t.ok(grew > 2 * MB, `used_memory grew by ${grew} bytes for 200k elements`);
  t.ok(grew < 200 * MB, `and by a sane amount (${grew})`);
  for (const [k, type] of [['h', 'hash'], ['z', 'zset'], ['s', 'set'], ['l', 'list']] as const) {
    t.equal(await run(['TYPE', k]), type);
    const usage = await run(['MEMORY', 'USAGE', k]);
    t.ok(typeof usage === 'number' && usage > N * 10, `MEMORY USAGE ${k} = ${String(usage)} counts its elements`);
  }
  t.equal(await run(['DEL', 'h', 'z']), 2);
  t.equal(await run(['UNLINK', 's', 'l']), 2);
  const after = await pollUntil(usedMemory, (v) => v - base < grew / 20, 3000);
  t.ok(after.ok, `used_memory back near the baseline after DEL/UNLINK (${after.value - base} bytes above)`);
});

t.test('collections expire: packed and large ones, lazily and actively', async (t) => {
  await run(['RPUSH', 'small', 'a', 'b']);
  await run(['HSET', 'smallh', 'f', 'v']);
  await load(Array.from({ length: 2000 }, (_, i) => ['ZADD', 'bigz', String(i), `m${i}`]));
  for (const k of ['small', 'smallh', 'bigz']) t.equal(await run(['PEXPIRE', k, '150']), 1);
  t.equal(await run(['LPUSH', 'small', 'c']), 3, 'a write keeps the TTL');
  t.ok((await run(['PTTL', 'small'])) as number > 0, 'TTL still set after LPUSH');
  const gone = await pollUntil(() => run(['EXISTS', 'small', 'smallh', 'bigz']), (v) => v === 0, 3000, 50);
  t.ok(gone.ok, 'all three expired');
  t.equal(await run(['TYPE', 'bigz']), 'none');
});

t.test('eviction removes whole collections and keeps used_memory under maxmemory', async (t) => {
  t.teardown(async () => {
    await run(['CONFIG', 'SET', 'maxmemory', '0']);
    await run(['CONFIG', 'SET', 'maxmemory-policy', 'noeviction']);
  });
  const base = await usedMemory();
  const limit = base + 8 * MB;
  t.equal(await run(['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru']), 'OK');
  t.equal(await run(['CONFIG', 'SET', 'maxmemory', String(limit)]), 'OK');
  // 400 hashes of 300 fields with 80-byte values (hash tables in Redis and Shoal): ~40 MB if nothing were evicted.
  let over = 0;
  for (let k = 0; k < 400; k += 20) {
    const cmds: string[][] = [];
    for (let j = k; j < k + 20; j++) {
      for (let f = 0; f < 300; f += 50) {
        const argv = ['HSET', `hash:${j}`];
        for (let g = f; g < f + 50; g++) argv.push(`field:${g}`, `value-${g}-${'x'.repeat(72)}`);
        cmds.push(argv);
      }
    }
    const replies = await load(cmds, 100);
    for (const r of replies) if (typeof r !== 'number') t.fail(`HSET replied ${JSON.stringify(r)}`);
    const used = await usedMemory();
    if (used > limit * 1.02) over++;
  }
  t.equal(over, 0, 'used_memory never above maxmemory (+2%) at the samples');
  const left = (await run(['DBSIZE'])) as number;
  t.ok(left > 0 && left < 400, `some hashes were evicted (${left} of 400 left)`);
  // Survivors are whole: an evicted hash is gone, never half-emptied.
  for (let j = 0; j < 400; j++) {
    const n = await run(['HLEN', `hash:${j}`]);
    if (n !== 0 && n !== 300) t.fail(`hash:${j} has ${String(n)} fields`);
  }
});

t.test('deleting a huge sorted set does not stall the worker', async (t) => {
  const N = 300_000;
  const cmds: string[][] = [];
  for (let i = 0; i < N; i += 100) {
    const argv = ['ZADD', 'huge'];
    for (let j = i; j < i + 100; j++) argv.push(String(j), `member:${j}`);
    cmds.push(argv);
  }
  await load(cmds, 200);
  t.equal(await run(['ZCARD', 'huge']), N);
  const pinger = await connect(target.port);
  let worst = 0;
  let stop = false;
  const pings = (async () => {
    while (!stop) {
      const t0 = process.hrtime.bigint();
      await pinger.run(['EXISTS', 'huge']);
      worst = Math.max(worst, Number(process.hrtime.bigint() - t0) / 1e6);
      await sleep(1);
    }
  })();
  await sleep(50);
  t.equal(await run(['UNLINK', 'huge']), 1);
  await sleep(300);
  stop = true;
  await pings;
  await pinger.close();
  t.ok(worst < 250, `longest EXISTS round trip around the UNLINK: ${worst.toFixed(1)} ms`);
  t.equal(await run(['EXISTS', 'huge']), 0);
});
