// Scenario `typememory`: RSS growth of collections, Shoal vs redis-server.
//
// Three datasets, each on a freshly started server (one server alive at a time):
//   zset-1m      ZADD zset <i> member:<9 digits>         one sorted set, 1,000,000 members
//   hash-1m      HSET hash field:<9 digits> value:<i>    one hash, 1,000,000 fields
//   hashes-100k  HSET h:<9 digits> f0 v.. f9 v..         100,000 hashes of 10 fields
// RSS of the processes holding data (the embedded cluster's shard processes, from
// GET /topology; redis-server) before and after loading, after SETTLE_MS idle (last
// of the 250 ms samples counts); growth = after - before. Samples are read back
// (ZSCORE / HGET) and compared, so a server that drops writes cannot look cheap.
// Target from the issue: Shoal's growth <= 1.3x Redis's for each dataset.

import {
  envList, envNum, field, fmt, fmtMiB, info, log, mdTable, rssBytes, sleep, startRedis, startTarget,
  stopTarget, textTable, verdict, die, type Section, type Target,
} from './harness.js';
import { connect, load } from './load.js';
import { showReply, type Reply } from '../resp-client.js';

const SCALE = envNum('TYPEMEM_SCALE', 1);
const DATASETS = envList('TYPEMEM_DATASETS', 'zset-1m,hash-1m,hashes-100k');
const TARGETS = envList('TYPEMEM_TARGETS', 'redis,cluster');
const SETTLE_MS = envNum('SETTLE_MS', 2000);
const GOAL = 1.3;
const WINDOW = 20_000;

const pad = (i: number) => String(i).padStart(9, '0');

interface Dataset {
  name: string;
  what: string;
  commands: number;
  build: (i: number) => (string | Buffer)[];
  /** A read that checks item i: [command, expected reply]. */
  check: (i: number) => [string[], string];
  items: number;
}

function datasets(): Dataset[] {
  const M = Math.round(1_000_000 * SCALE);
  const K = Math.round(100_000 * SCALE);
  const all: Dataset[] = [
    {
      name: 'zset-1m', what: `ZADD zset <i> member:<9 digits>, ${M} members`, commands: M, items: M,
      build: (i) => ['ZADD', 'zset', String(i), `member:${pad(i)}`],
      check: (i) => [['ZSCORE', 'zset', `member:${pad(i)}`], String(i)],
    },
    {
      name: 'hash-1m', what: `HSET hash field:<9 digits> value:<i>, ${M} fields`, commands: M, items: M,
      build: (i) => ['HSET', 'hash', `field:${pad(i)}`, `value:${i}`],
      check: (i) => [['HGET', 'hash', `field:${pad(i)}`], `value:${i}`],
    },
    {
      name: 'hashes-100k', what: `HSET h:<9 digits> f0 <v> .. f9 <v>, ${K} hashes x 10 fields`, commands: K, items: K,
      build: (i) => {
        const argv: string[] = ['HSET', `h:${pad(i)}`];
        for (let f = 0; f < 10; f++) argv.push(`f${f}`, `v${f}:${i}`);
        return argv;
      },
      check: (i) => [['HGET', `h:${pad(i)}`, 'f7'], `v7:${i}`],
    },
  ];
  return DATASETS.map((n) => all.find((d) => d.name === n) ?? die(`TYPEMEM_DATASETS: unknown dataset "${n}" (use ${all.map((d) => d.name).join(', ')})`, 1));
}

interface Measure { label: string; dataset: string; rssBefore: number; rssAfter: number; usedDelta: number | undefined; secs: number; growth: number }

async function measure(t: Target, d: Dataset): Promise<Measure> {
  const c = await connect(t.port);
  try {
    await sleep(300);
    const rssBefore = rssBytes(t.dataPids);
    const usedBefore = field(await info(c, 'memory'), 'used_memory');
    const r = await load(c, {
      total: d.commands,
      window: WINDOW,
      batch: 500,
      label: `${t.label} ${d.name}`,
      build: (b, i) => { b.add(d.build(i)); },
      onReply: (rep: Reply, i: number) => {
        if (typeof rep !== 'number') die(`${t.label} ${d.name}: command #${i} got ${showReply(rep)}, expected an integer`, 3);
      },
    });
    if (r.errors) die(`${t.label} ${d.name}: ${r.errors} commands failed (first: ${r.firstError})`, 3);
    let rssAfter = 0;
    for (let k = 0; k < Math.max(1, Math.round(SETTLE_MS / 250)); k++) {
      await sleep(250);
      rssAfter = rssBytes(t.dataPids);
    }
    const usedAfter = field(await info(c, 'memory'), 'used_memory');
    const idx = [0, d.items - 1, ...Array.from({ length: 198 }, () => Math.floor(Math.random() * d.items))];
    const got = await c.pipeline(idx.map((i) => d.check(i)[0]));
    idx.forEach((i, j) => {
      const want = d.check(i)[1];
      const v = got[j];
      if (!Buffer.isBuffer(v) || v.toString() !== want) die(`${t.label} ${d.name}: ${d.check(i)[0].join(' ')} returned ${showReply(v)}, expected ${want}`, 3);
    });
    const growth = rssAfter - rssBefore;
    log(`  ${t.label} ${d.name}: RSS ${fmtMiB(rssBefore)} -> ${fmtMiB(rssAfter)} (+${fmtMiB(growth)}), loaded in ${fmt(r.secs, 1)} s`);
    return {
      label: t.label, dataset: d.name, rssBefore, rssAfter, secs: r.secs, growth,
      usedDelta: usedAfter !== undefined && usedBefore !== undefined ? usedAfter - usedBefore : undefined,
    };
  } finally {
    c.close();
  }
}

export async function runTypeMemory(): Promise<Section> {
  const rows: Measure[] = [];
  const sets = datasets();
  for (const d of sets) {
    for (const kind of TARGETS) {
      log(`typememory: fresh ${kind}, ${d.what}`);
      const t = kind === 'redis' ? await startRedis() : await startTarget('cluster');
      try {
        rows.push(await measure(t, d));
      } finally {
        await stopTarget(t);
      }
    }
  }
  const redisOf = (name: string) => rows.find((r) => r.label === 'redis' && r.dataset === name)?.growth;
  const ratio = (r: Measure) => r.growth / (redisOf(r.dataset) ?? NaN);
  const head = ['server', 'dataset', 'RSS growth', 'x redis', 'RSS before', 'after', 'used_memory growth', 'load s'];
  const table = rows.map((r) => [r.label, r.dataset, fmtMiB(r.growth), r.label === 'redis' ? '1.000' : fmt(ratio(r), 3),
    fmtMiB(r.rssBefore), fmtMiB(r.rssAfter), fmtMiB(r.usedDelta), fmt(r.secs, 1)]);
  const goals = sets.map((d) => {
    const c = rows.find((r) => r.label === 'cluster' && r.dataset === d.name);
    const x = c ? ratio(c) : undefined;
    return [d.name, `cluster shard processes <= ${GOAL}x redis`, fmt(x, 3), verdict(x === undefined || !Number.isFinite(x) ? undefined : x <= GOAL)];
  });
  const text = [textTable(head, table), ...goals.map((g) => `goal typememory ${g[0]}: ${g[1]}: ${g[3]} (ratio ${g[2]})`)].join('\n');
  const markdown = `## Memory: collections (RSS growth)

Method: per dataset, a freshly started server (one alive at a time); RSS (VmRSS) of the processes holding data
(the embedded cluster's shard processes from \`GET /topology\`; redis-server) before loading and after ${SETTLE_MS} ms
idle; growth = after - before. Commands pipelined (at most ${WINDOW} unanswered); 200 samples read back and compared.

${sets.map((d) => `- ${d.name}: ${d.what}`).join('\n')}

${mdTable(head, table)}

### Target (from the issue): Shoal's RSS growth <= ${GOAL}x Redis's per dataset

${mdTable(['dataset', 'goal', 'ratio', 'verdict'], goals)}
`;
  return { scenario: 'typememory', text, markdown };
}
