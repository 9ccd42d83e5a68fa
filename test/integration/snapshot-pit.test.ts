// A background snapshot is a point in time (docs/persistence.md, "Point in time"):
// writers keep hammering a worker while its BGSAVE walks the keyspace, and the file
// must hold exactly the state at the BGSAVE command — every key that existed then,
// with the value it had then (changed, deleted, expired and blocked-then-served keys
// included), and nothing written after. Each key's value names the op that wrote it,
// so "after the instant" is visible. The files are read with the independent parser
// of test/helpers/snapshot-file.ts. Also reports the longest PING round trip a client
// saw during the snapshot. Shoal only (Redis forks; its RDB is not our format).

import t from 'tap';
import { isRedis, useTarget, fetchTopology, keySlot } from '../helpers/cluster.js';
import { RespClient, runMany, pollUntil, sleep, type RespValue } from '../helpers/run.js';
import { readSnapshotFile, shoalDumpFile, decodePacked, type SnapshotRecord } from '../helpers/snapshot-file.js';

if (isRedis) {
  t.pass('Shoal only');
  process.exit(0);
}

const { target, run } = await useTarget(t, { env: { SHOAL_SAVE: '' } });
const topo = await fetchTopology(target.httpPort);
const w0 = topo!.workers!.find((w) => w.worker === 0 && w.shard === 0)!;
const owns = (slot: number) => w0.slots.some(([a, b]) => slot >= a && slot <= b);
let tag = '';
for (let i = 0; !tag; i++) if (owns(keySlot(`{t${i}}`))) tag = `{t${i}}`;
const K = (s: string) => `${tag}${s}`;

type Model = Map<string, string | string[]>;

function rand(n: number): number {
  return Math.floor(Math.random() * n);
}

function recordsOf(file: string): Map<string, SnapshotRecord> {
  const f = readSnapshotFile(file);
  const m = new Map<string, SnapshotRecord>();
  for (const r of f.records) {
    const k = r.key.toString('latin1');
    if (m.has(k)) throw new Error(`key ${k} written twice`);
    m.set(k, r);
  }
  return m;
}

function compare(t: { same(a: unknown, b: unknown, m: string): unknown }, got: Map<string, SnapshotRecord>, want: Model, label: string): void {
  let missing = 0;
  let wrong = 0;
  let extra = 0;
  const firstBad: string[] = [];
  for (const [k, v] of want) {
    const r = got.get(k);
    if (r === undefined) {
      missing++;
      if (firstBad.length < 5) firstBad.push(`missing ${k}`);
      continue;
    }
    const value = Array.isArray(v) ? JSON.stringify(decodePacked(r.value)) : r.value.toString('latin1');
    const expect = Array.isArray(v) ? JSON.stringify(v) : v;
    if (value !== expect) {
      wrong++;
      if (firstBad.length < 5) firstBad.push(`${k}: ${value.slice(0, 60)} != ${expect.slice(0, 60)}`);
    }
  }
  for (const k of got.keys()) {
    if (!want.has(k)) {
      extra++;
      if (firstBad.length < 5) firstBad.push(`extra ${k}`);
    }
  }
  t.same({ missing, wrong, extra }, { missing: 0, wrong: 0, extra: 0 }, `${label}: ${want.size} keys as at the instant ${firstBad.join('; ')}`);
}

/** Random writes numbered from `c`: SET / DEL of existing keys, RPUSH to heap lists, new keys. */
function ops(model: Model, from: number, n: number, keys: number, lists: number, name: (s: string) => string): string[][] {
  const out: string[][] = [];
  for (let c = from; c < from + n; c++) {
    const r = rand(10);
    if (r < 6) {
      const k = name(`k:${rand(keys)}`);
      out.push(['SET', k, `c${c}`]);
      model.set(k, `c${c}`);
    } else if (r < 7) {
      const k = name(`k:${rand(keys)}`);
      out.push(['DEL', k]);
      model.delete(k);
    } else if (r < 9) {
      const k = name(`L:${rand(lists)}`);
      out.push(['RPUSH', k, `c${c}`]);
      const l = model.get(k);
      if (Array.isArray(l)) l.push(`c${c}`);
      else model.set(k, [`c${c}`]);
    } else {
      const k = name(`n:${c}`);
      out.push(['SET', k, `c${c}`]);
      model.set(k, `c${c}`);
    }
  }
  return out;
}

function cloneModel(m: Model): Model {
  const out: Model = new Map();
  for (const [k, v] of m) out.set(k, Array.isArray(v) ? [...v] : v);
  return out;
}

t.test('BGSAVE on a worker holds the state at the command while writes continue', async (t) => {
  const w = await RespClient.connect(target.workerPorts[0]!);
  const blocker = await RespClient.connect(target.workerPorts[0]!);
  const pinger = await RespClient.connect(target.workerPorts[0]!);
  t.teardown(async () => {
    await w.close();
    await blocker.close().catch(() => {});
    await pinger.close();
  });
  const N = 150_000;
  const LISTS = 20;
  const model: Model = new Map();
  const load: string[][] = [];
  for (let i = 0; i < N; i += 100) {
    const cmd = ['MSET'];
    for (let j = i; j < i + 100; j++) {
      cmd.push(K(`k:${j}`), `v${j}:${'x'.repeat(60)}`);
      model.set(K(`k:${j}`), `v${j}:${'x'.repeat(60)}`);
    }
    load.push(cmd);
  }
  for (let j = 0; j < LISTS; j++) {
    const items = Array.from({ length: 2000 }, (_, i) => `i${i}`);
    load.push(['RPUSH', K(`L:${j}`), ...items]);
    model.set(K(`L:${j}`), items);
  }
  load.push(['RPUSH', K('dst'), 'd0']);
  model.set(K('dst'), ['d0']);
  const replies = await runMany(w.run.bind(w), load, 200);
  t.notOk(replies.some((r) => r !== null && typeof r === 'object' && 'error' in r), 'loaded');
  t.equal(await w.run(['OBJECT', 'ENCODING', K('L:0')]), 'quicklist');

  // A client blocked on an empty list: served after the instant, its move must not show.
  const blocked = blocker.run(['BLMOVE', K('src'), K('dst'), 'LEFT', 'RIGHT', '0'], { timeoutMs: 60_000 });
  await sleep(100);

  // Keys that expire while the walk runs: alive at the instant, removed by expiry before
  // the walk reaches most of them (copy-on-write on delete).
  const expiring: string[][] = [];
  const expAt = (i: number) => T0 + 1000 + (i % 3000);
  const T0 = Date.now();
  for (let i = 0; i < 3000; i++) expiring.push(['SET', K(`e:${i}`), `e${i}`, 'PXAT', String(expAt(i))]);

  let c = 1;
  const before = ops(model, c, 5000, N, LISTS, K);
  c += 5000;
  const sent: Array<Promise<RespValue>> = [];
  for (const cmd of [...expiring, ...before]) sent.push(w.run(cmd));
  const instantModel = cloneModel(model);
  const bgsave = w.run(['BGSAVE']);
  // Right after the instant: wake the blocked client, and write on.
  sent.push(w.run(['RPUSH', K('src'), 'late']));
  for (const cmd of ops(model, c, 5000, N, LISTS, K)) sent.push(w.run(cmd));
  c += 5000;
  t.equal(await bgsave, 'Background saving started');
  await Promise.all(sent);
  t.same(await blocked, 'late', 'blocked client served after the instant');

  // Keep writing (and pinging) until the snapshot is done.
  let maxPing = 0;
  let pinging = true;
  const pings = (async () => {
    while (pinging) {
      const t0 = performance.now();
      await pinger.run(['PING']);
      maxPing = Math.max(maxPing, performance.now() - t0);
      await sleep(1);
    }
  })();
  let rounds = 0;
  for (;;) {
    const inf = String(await w.run(['INFO', 'persistence']));
    if (/rdb_bgsave_in_progress:0/.test(inf)) break;
    await runMany(w.run.bind(w), ops(model, c, 2000, N, LISTS, K), 500);
    c += 2000;
    rounds++;
    if (rounds > 200) throw new Error('BGSAVE did not finish');
  }
  pinging = false;
  await pings;
  const inf = String(await w.run(['INFO', 'persistence']));
  t.match(inf, /rdb_last_bgsave_status:ok/);
  const pause = Number(/shoal_rdb_last_max_pause_ms:([\d.]+)/.exec(inf)?.[1]);
  const cow = Number(/shoal_rdb_last_cow_keys:(\d+)/.exec(inf)?.[1]);
  t.comment(`${rounds} write rounds during the snapshot; ${cow} keys copied on write; longest walk slice ${pause} ms; longest PING ${maxPing.toFixed(1)} ms`);
  t.ok(cow > 0, 'writes hit keys the walk had not reached (copy-on-write exercised)');
  // The slice budget is 1 ms of wall time; on a shared 2-core box the OS can stretch any
  // slice (the PING above shows the same stalls), so this only catches a walk that never yields.
  t.ok(pause < 2000, `walk slices yield (longest ${pause} ms)`);

  const file = readSnapshotFile(shoalDumpFile(target.dataDir!, 0));
  const got = recordsOf(shoalDumpFile(target.dataDir!, 0));
  // Expiring keys: in the file (with their expiry) exactly when alive at the instant,
  // though most were deleted by expiry before the walk reached them.
  const instant = file.created;
  let wrongExpiring = 0;
  let alive = 0;
  for (let i = 0; i < 3000; i++) {
    const r = got.get(K(`e:${i}`));
    const wasAlive = expAt(i) > instant;
    if (wasAlive) alive++;
    if (wasAlive !== (r !== undefined) || (r !== undefined && r.expireAt !== expAt(i))) wrongExpiring++;
  }
  t.equal(wrongExpiring, 0, `keys expiring during the walk: the ${alive} alive at the instant are in the file with their expiry, the rest are not`);
  t.equal(await w.run(['EXISTS', K('e:0'), K('e:1'), K('e:2')]), 0, 'and they did expire since');
  for (let i = 0; i < 3000; i++) got.delete(K(`e:${i}`));
  compare(t, got, instantModel, 'worker 0');
  t.equal(await w.run(['LRANGE', K('dst'), '0', '-1']).then((v) => JSON.stringify(v)), JSON.stringify(['d0', 'late']), 'live list moved on');
});

t.test('BGSAVE through the proxy: every worker at the same command', async (t) => {
  await run(['FLUSHALL']);
  const N = 60_000;
  const model: Model = new Map();
  const load: string[][] = [];
  const name = (s: string) => `p:${s}`;
  for (let i = 0; i < N; i++) {
    load.push(['SET', name(`k:${i}`), `v${i}`]);
    model.set(name(`k:${i}`), `v${i}`);
  }
  for (let j = 0; j < 10; j++) {
    const items = Array.from({ length: 1000 }, (_, i) => `i${i}`);
    load.push(['RPUSH', name(`L:${j}`), ...items]);
    model.set(name(`L:${j}`), items);
  }
  await runMany(run, load, 1000);
  let c = 1;
  const sent: Array<Promise<RespValue>> = [];
  for (const cmd of ops(model, c, 3000, N, 10, name)) sent.push(run(cmd));
  c += 3000;
  const instant = cloneModel(model);
  const saves = Number(/rdb_saves:(\d+)/.exec(String(await run(['INFO', 'persistence'])))?.[1] ?? 0);
  sent.push(run(['BGSAVE']));
  for (const cmd of ops(model, c, 3000, N, 10, name)) sent.push(run(cmd));
  c += 3000;
  const replies = await Promise.all(sent);
  t.ok(replies.includes('Background saving started'), 'BGSAVE started on every worker');
  const done = await pollUntil(async () => {
    await runMany(run, ops(model, c, 1000, N, 10, name), 500);
    c += 1000;
    return String(await run(['INFO', 'persistence']));
  }, (s) => /rdb_bgsave_in_progress:0/.test(s) && Number(/rdb_saves:(\d+)/.exec(s)?.[1]) > saves, 30_000, 0);
  t.ok(done.ok, 'both workers finished');
  const got = new Map([...recordsOf(shoalDumpFile(target.dataDir!, 0)), ...recordsOf(shoalDumpFile(target.dataDir!, 1))]);
  compare(t, got, instant, 'both workers');
});

t.test('the walk stays exact while the index grows and shrinks under it', async (t) => {
  // 200k keys, then right after BGSAVE: 100k new keys (the index doubles while the walk
  // runs) and every old key deleted plus most new ones (it shrinks). The file must hold
  // exactly the 200k keys of the instant: "reached" is a test on the hash, not the table.
  await run(['FLUSHALL']);
  const w = await RespClient.connect(target.workerPorts[0]!);
  t.teardown(() => w.close());
  const N = 200_000;
  const model: Model = new Map();
  const load: string[][] = [];
  for (let i = 0; i < N; i += 100) {
    const cmd = ['MSET'];
    for (let j = i; j < i + 100; j++) {
      cmd.push(K(`r:${j}`), `r${j}`);
      model.set(K(`r:${j}`), `r${j}`);
    }
    load.push(cmd);
  }
  await runMany(w.run.bind(w), load, 200);
  const saves = Number(/rdb_saves:(\d+)/.exec(String(await w.run(['INFO', 'persistence'])))?.[1] ?? 0);
  const after: string[][] = [['BGSAVE']];
  for (let i = 0; i < 100_000; i += 100) after.push(['MSET', ...Array.from({ length: 100 }, (_, j) => [K(`g:${i + j}`), 'new']).flat()]);
  for (let i = 0; i < N; i += 100) after.push(['DEL', ...Array.from({ length: 100 }, (_, j) => K(`r:${i + j}`))]);
  for (let i = 0; i < 90_000; i += 100) after.push(['DEL', ...Array.from({ length: 100 }, (_, j) => K(`g:${i + j}`))]);
  const replies = await runMany(w.run.bind(w), after, 500);
  t.equal(replies[0], 'Background saving started');
  t.equal(await w.run(['DBSIZE']), 10_000, 'the live keyspace shrank to 10k keys');
  const done = await pollUntil(async () => String(await w.run(['INFO', 'persistence'])), (s) => Number(/rdb_saves:(\d+)/.exec(s)?.[1]) > saves && /rdb_bgsave_in_progress:0/.test(s), 30_000, 20);
  t.ok(done.ok, 'BGSAVE finished');
  t.match(done.value, /rdb_last_bgsave_status:ok/);
  const cow = Number(/shoal_rdb_last_cow_keys:(\d+)/.exec(done.value)?.[1]);
  t.comment(`${cow} keys copied on write`);
  compare(t, recordsOf(shoalDumpFile(target.dataDir!, 0)), model, 'grow + shrink during the walk');
});
