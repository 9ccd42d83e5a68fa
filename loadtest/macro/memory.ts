// Scenario `memory`: bytes per key, from the outside (RSS), Shoal vs redis-server.
//
// Per value size (16 and 100 B) and per server, on a freshly started server: read
// the RSS of the processes that hold data, load MEMORY_KEYS keys `key:<12 digits>`
// (16 bytes) with pipelined SETs (at most 20k unanswered), let the server sit idle
// SETTLE_MS (RSS sampled every 250 ms, the last sample counts), read RSS again,
// bytes/key = delta / N; then GET 200 random keys back and compare bytes. Method of
// ../shared/bench/memory.mjs, one fresh server per (size, server), one server alive
// at a time. Data processes: the shard process(es) of the embedded cluster (from GET
// /topology; the proxy's RSS is reported apart), the shoal-shard process, redis-server.

import {
  envList, envNum, field, fmt, fmtMiB, info, keyName, log, mdTable, rssBytes, sleep, startRedis, startTarget,
  stopTarget, textTable, verdict, die, type Section, type Target, type TargetKind,
} from './harness.js';
import { connect, load } from './load.js';
import { showReply } from '../resp-client.js';

const KEYS = Math.max(1, Math.floor(envNum('MEMORY_KEYS', 1_000_000)));
const SIZES = envList('MEMORY_SIZES', '16,100').map(Number);
const TARGETS = envList('MEMORY_TARGETS', 'redis,shard,cluster') as TargetKind[];
const SETTLE_MS = envNum('SETTLE_MS', 2000);
const WINDOW = 20_000;
const VERIFY = 200;
/** Target from the issue: Shoal's bytes/key <= this x Redis's, judged on the embedded cluster's shards. */
const GOAL = 1.0;

/** S bytes: the key's 12-digit index, then 'v' padding (shorter values: the index's last S digits). */
function valueOf(i: number, size: number): Buffer {
  const d = String(i).padStart(12, '0');
  return Buffer.from(size >= 12 ? d + 'v'.repeat(size - 12) : d.slice(12 - size));
}

interface Measure {
  label: string;
  size: number;
  command: string;
  rssBefore: number;
  rssAfter: number;
  rssPeak: number;
  proxyAfter: number | undefined;
  usedBefore: number | undefined;
  usedAfter: number | undefined;
  loadSecs: number;
  checked: number;
  bpk: number;
}

async function measure(t: Target, size: number): Promise<Measure> {
  const c = await connect(t.port);
  try {
    if ((await c.send(['PING'])) !== 'PONG') die(`${t.label}: PING did not answer +PONG`, 2);
    const dbsize = await c.send(['DBSIZE']);
    if (typeof dbsize === 'number' && dbsize > 0) log(`  warning: ${t.label} holds ${dbsize} keys before loading (not fresh)`);
    await sleep(300);
    const rssBefore = rssBytes(t.dataPids);
    const usedBefore = field(await info(c, 'memory'), 'used_memory');
    const r = await load(c, {
      total: KEYS,
      window: WINDOW,
      batch: 1000,
      label: `${t.label} ${size} B`,
      build: (b, i) => { b.add(['SET', keyName(i + 1), valueOf(i + 1, size)]); },
    });
    if (r.errors) die(`${t.label}: ${r.errors} SETs failed while loading (first: ${r.firstError})`, 3);
    let rssAfter = 0;
    let rssPeak = 0;
    for (let k = 0; k < Math.max(1, Math.round(SETTLE_MS / 250)); k++) {
      await sleep(250);
      rssAfter = rssBytes(t.dataPids);
      rssPeak = Math.max(rssPeak, rssAfter);
    }
    const proxyAfter = t.proxyPids.length ? rssBytes(t.proxyPids) : undefined;
    const usedAfter = field(await info(c, 'memory'), 'used_memory');
    // A server that drops writes must not look cheap: read a sample back, byte for byte.
    const idx = [1, KEYS, ...Array.from({ length: VERIFY - 2 }, () => 1 + Math.floor(Math.random() * KEYS))];
    const got = await c.pipeline(idx.map((i) => ['GET', keyName(i)]));
    idx.forEach((i, j) => {
      const v = got[j];
      if (!Buffer.isBuffer(v) || !v.equals(valueOf(i, size))) {
        die(`${t.label}: GET ${keyName(i)} returned ${showReply(v)}, expected ${JSON.stringify(valueOf(i, size).toString())}`, 3);
      }
    });
    const bpk = (rssAfter - rssBefore) / KEYS;
    log(`  ${t.label} ${size} B: ${fmt(bpk, 1)} B/key (RSS ${fmtMiB(rssBefore)} -> ${fmtMiB(rssAfter)}, peak ${fmtMiB(rssPeak)}; `
      + `loaded in ${fmt(r.secs, 1)} s = ${fmt(KEYS / r.secs)} SET/s; ${idx.length} keys read back OK)`);
    return {
      label: t.label, size, command: t.command, rssBefore, rssAfter, rssPeak, proxyAfter, usedBefore, usedAfter,
      loadSecs: r.secs, checked: idx.length, bpk,
    };
  } finally {
    c.close();
  }
}

export async function runMemory(): Promise<Section> {
  const rows: Measure[] = [];
  for (const size of SIZES) {
    for (const kind of TARGETS) {
      log(`memory: fresh ${kind}, ${KEYS} keys x ${size} B`);
      const t = kind === 'redis' ? await startRedis() : await startTarget(kind);
      try {
        rows.push(await measure(t, size));
      } finally {
        await stopTarget(t);
      }
    }
  }
  const redisOf = (size: number) => rows.find((r) => r.label === 'redis' && r.size === size)?.bpk;
  const ratio = (r: Measure) => r.bpk / (redisOf(r.size) ?? NaN);
  const head = ['server', 'value', 'bytes/key', 'x redis', 'data RSS before', 'after', 'peak', 'proxy RSS',
    'used_memory B/key', 'load s', 'SET/s'];
  const table = rows.map((r) => [r.label, `${r.size} B`, fmt(r.bpk, 1), r.label === 'redis' ? '1.000' : fmt(ratio(r), 3),
    fmtMiB(r.rssBefore), fmtMiB(r.rssAfter), fmtMiB(r.rssPeak), fmtMiB(r.proxyAfter),
    r.usedAfter !== undefined && r.usedBefore !== undefined ? fmt((r.usedAfter - r.usedBefore) / KEYS, 1) : 'n/a',
    fmt(r.loadSecs, 1), fmt(KEYS / r.loadSecs)]);
  const goals = SIZES.map((size) => {
    const c = rows.find((r) => r.label === 'cluster' && r.size === size);
    const x = c ? ratio(c) : undefined;
    return [`${size} B`, `cluster shard processes <= ${GOAL.toFixed(1)}x redis`, fmt(x, 3),
      verdict(x === undefined || !Number.isFinite(x) ? undefined : x <= GOAL)];
  });
  const commands = [...new Map(rows.map((r) => [r.label, r.command])).entries()];
  const text = [textTable(head, table), ...goals.map((g) => `goal memory ${g[0]}: ${g[1]}: ${g[3]} (ratio ${g[2]})`)].join('\n');
  const markdown = `## Memory: bytes per key (RSS)

Method (as \`../shared/bench/memory.mjs\`): on a freshly started server, ${KEYS} keys \`key:<12 digits>\` (16 B) set
with pipelined SETs (at most ${WINDOW} unanswered), values of the listed size (the key's index, then \`v\` padding);
${SETTLE_MS} ms idle, RSS sampled every 250 ms, last sample counts; bytes/key = (VmRSS after - VmRSS before) / ${KEYS}
over the processes holding data: for the embedded cluster the shard process(es) listed by \`GET /topology\` with role
\`shard\` (the proxy's RSS is the "proxy RSS" column, not counted), for shard-direct the shoal-shard process, for
redis the redis-server. ${VERIFY} random keys are read back and compared byte for byte. One fresh server per row, one
server alive at a time; a single measurement per row (Redis is deterministic to ~0.1 B/key here, a Node target
moves by a few % with GC timing). \`used_memory B/key\` is the server's own INFO accounting (summed over workers
through the proxy).

${commands.map(([l, c]) => `- ${l}: \`${c}\``).join('\n')}

${mdTable(head, table)}

### Target (from the issue): Shoal <= 1.0x Redis bytes/key (embedded cluster's shard processes)

${mdTable(['value', 'goal', 'ratio', 'verdict'], goals)}
`;
  return { scenario: 'memory', text, markdown };
}
