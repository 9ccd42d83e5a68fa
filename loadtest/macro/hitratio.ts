// Scenario `hitratio`: cache hit ratio of a Zipf trace under allkeys-lru / allkeys-lfu,
// Shoal (embedded cluster) vs redis-server at the same relative capacity.
//
// 1. One trace, generated here from a fixed seed: HIT_REQUESTS requests over HIT_KEYS
//    distinct keys, Zipf skew HIT_SKEW (rank r drawn with p ~ 1/r^s; ranks mapped to
//    key ids by a seeded shuffle). The same trace is replayed against every server.
// 2. Capacity calibration, per server, on a fresh instance without maxmemory: INFO
//    used_memory before and after HIT_CALIBRATE items (the trace's keys, 100-byte
//    values) gives bytes per item; maxmemory = used_before + per_item x HIT_CAPACITY, so
//    each server holds about HIT_CAPACITY items (20 % of the keys by default).
// 3. Replay, per policy and server, on a fresh instance started with that maxmemory,
//    re-based on the instance's own empty used_memory (CONFIG SET maxmemory = its
//    used_memory + per_item x HIT_CAPACITY): Shoal's used_memory includes a runtime
//    share measured at start that differs by a few MiB between processes, which at
//    ~30 MiB of data would move the capacity by ~10 %. Then (policy by CONFIG SET,
//    through the proxy for Shoal): GET; on a miss, SET the
//    100-byte value. Requests go in windows of HIT_WINDOW: the window's distinct keys
//    are GET in one pipeline, the misses are SET at the head of the next window's
//    pipeline (same connection, so per key the order is kept). A key repeated inside
//    a window counts as a hit after its first occurrence (a sequential replay would have
//    just set it). Hit ratio over the whole trace and over its second half (warm).

import {
  checkAlive, die, envList, envNum, field, fmt, fmtMiB, info, keyName, log, mdTable, mustOk, progress, rng,
  startRedis, startTarget, stopTarget, textTable, verdict, type Section, type Target,
} from './harness.js';
import { connect, load } from './load.js';
import { CommandBatch, RespError, type Reply } from '../resp-client.js';

const REQUESTS = Math.max(1, Math.floor(envNum('HIT_REQUESTS', 5_000_000)));
const KEYS = Math.max(1, Math.floor(envNum('HIT_KEYS', 1_000_000)));
const SKEW = envNum('HIT_SKEW', 0.99);
const CAPACITY = Math.max(1, Math.floor(envNum('HIT_CAPACITY', 200_000)));
const CALIBRATE = Math.max(1000, Math.floor(envNum('HIT_CALIBRATE', 50_000)));
const WINDOW = Math.max(1, Math.floor(envNum('HIT_WINDOW', 100)));
const POLICIES = envList('HIT_POLICIES', 'allkeys-lru,allkeys-lfu');
const SEED = Math.floor(envNum('HIT_SEED', 20261126));
const VALUE_SIZE = 100;
const GOAL_POINTS = 2;

/** 100 bytes: the 12-digit key id, then 'v' padding (so a wrong value is caught). */
const valueOf = (id: number) => Buffer.from(String(id).padStart(12, '0') + 'v'.repeat(VALUE_SIZE - 12));

function zipfTrace(): Uint32Array {
  const t0 = Date.now();
  const cdf = new Float64Array(KEYS);
  let sum = 0;
  for (let r = 0; r < KEYS; r++) cdf[r] = sum += 1 / Math.pow(r + 1, SKEW);
  for (let r = 0; r < KEYS; r++) cdf[r] = (cdf[r] ?? 0) / sum;
  const rand = rng(SEED);
  const perm = new Uint32Array(KEYS);
  for (let i = 0; i < KEYS; i++) perm[i] = i;
  for (let i = KEYS - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const x = perm[i] ?? 0;
    perm[i] = perm[j] ?? 0;
    perm[j] = x;
  }
  const trace = new Uint32Array(REQUESTS);
  for (let i = 0; i < REQUESTS; i++) {
    const u = rand();
    let lo = 0, hi = KEYS - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cdf[mid] ?? 1) < u) lo = mid + 1;
      else hi = mid;
    }
    trace[i] = perm[lo] ?? 0;
  }
  const distinct = new Set(trace).size;
  log(`hitratio: trace of ${REQUESTS} requests over ${KEYS} keys (skew ${SKEW}, seed ${SEED}; ${distinct} distinct keys used) in ${Date.now() - t0} ms`);
  return trace;
}

interface Calibration { label: string; usedBefore: number; perItem: number; maxmemory: number }

async function calibrate(t: Target): Promise<Calibration> {
  const c = await connect(t.port);
  try {
    const before = field(await info(c, 'memory'), 'used_memory');
    const r = await load(c, { total: CALIBRATE, window: 20_000, build: (b, i) => { b.add(['SET', keyName(i), valueOf(i)]); } });
    if (r.errors) die(`${t.label}: ${r.errors} SETs failed while calibrating (first: ${r.firstError})`, 3);
    const after = field(await info(c, 'memory'), 'used_memory');
    if (before === undefined || after === undefined) {
      return die(`${t.label}: INFO memory has no used_memory; cannot size maxmemory for the hit-ratio runs`, 3);
    }
    const perItem = (after - before) / CALIBRATE;
    const maxmemory = Math.round(before + perItem * CAPACITY);
    log(`  ${t.label}: used_memory ${before} -> ${after} for ${CALIBRATE} items: ${fmt(perItem, 1)} B/item; `
      + `maxmemory for ${CAPACITY} items = ${maxmemory} B`);
    return { label: t.label, usedBefore: before, perItem, maxmemory };
  } finally {
    c.close();
  }
}

interface Replay {
  label: string;
  policy: string;
  maxmemory: number;
  infoMaxmemory: number | undefined;
  hits: number;
  warmHits: number;
  warmTotal: number;
  setErrors: number;
  firstError: string | undefined;
  secs: number;
  dbsize: number | undefined;
  used: number | undefined;
  evicted: number | undefined;
}

async function replay(t: Target, trace: Uint32Array, policy: string, cal: Calibration): Promise<Replay> {
  const c = await connect(t.port);
  try {
    const empty = field(await info(c, 'memory'), 'used_memory') ?? cal.usedBefore;
    const maxmemory = Math.round(empty + cal.perItem * CAPACITY);
    await mustOk(c, ['CONFIG', 'SET', 'maxmemory', String(maxmemory)], t.label);
    log(`  ${t.label}: used_memory empty ${empty} (calibration instance: ${cal.usedBefore}); maxmemory ${maxmemory}`);
    await mustOk(c, ['CONFIG', 'SET', 'maxmemory-policy', policy], t.label);
    const infoMaxmemory = field(await info(c, 'memory'), 'maxmemory');
    if (infoMaxmemory !== undefined && Math.abs(infoMaxmemory - maxmemory) > 0.05 * maxmemory) {
      log(`  warning: ${t.label}: INFO maxmemory reads ${infoMaxmemory}, configured ${maxmemory}`);
    }
    const tick = progress(`${t.label} ${policy} replay`, REQUESTS);
    const half = Math.floor(REQUESTS / 2);
    const seen = new Map<number, number>(); // key id -> index in `order`
    let order: number[] = [];
    let toSet: number[] = [];
    let hitOf = new Uint8Array(WINDOW);
    let hits = 0, warmHits = 0, setErrors = 0;
    let firstError: string | undefined;
    const batch = new CommandBatch(64 * 1024);
    let nSet = 0, k = 0;
    const onReply = (r: Reply) => {
      const i = k++;
      if (i < nSet) {
        if (r !== 'OK') { setErrors++; firstError ??= r instanceof RespError ? `-${r.message}` : String(r); }
        return;
      }
      const j = i - nSet;
      if (r === null) { hitOf[j] = 0; return; }
      if (!Buffer.isBuffer(r) || r.length !== VALUE_SIZE || r.toString('latin1', 0, 12) !== String(order[j]).padStart(12, '0')) {
        die(`${t.label}: GET ${keyName(order[j] ?? -1)} returned a wrong value`, 3);
      }
      hitOf[j] = 1;
    };
    const t0 = process.hrtime.bigint();
    for (let s = 0; s < REQUESTS; s += WINDOW) {
      const e = Math.min(REQUESTS, s + WINDOW);
      seen.clear();
      order = [];
      for (let i = s; i < e; i++) {
        const id = trace[i] ?? 0;
        if (!seen.has(id)) { seen.set(id, order.length); order.push(id); }
      }
      if (hitOf.length < order.length) hitOf = new Uint8Array(order.length);
      for (const id of toSet) batch.add(['SET', keyName(id), valueOf(id)]);
      for (const id of order) batch.add(['GET', keyName(id)]);
      nSet = toSet.length;
      k = 0;
      const n = batch.count;
      await c.stream(batch.take(), n, onReply, 0);
      const first = new Set<number>();
      for (let i = s; i < e; i++) {
        const id = trace[i] ?? 0;
        let hit = true;
        if (!first.has(id)) { first.add(id); hit = hitOf[seen.get(id) ?? 0] === 1; }
        if (hit) { hits++; if (i >= half) warmHits++; }
      }
      toSet = order.filter((_, j) => hitOf[j] === 0);
      if ((s / WINDOW) % 64 === 0) tick(e);
    }
    for (const id of toSet) batch.add(['SET', keyName(id), valueOf(id)]);
    nSet = batch.count;
    k = 0;
    if (nSet) await c.stream(batch.take(), nSet, onReply, 0);
    tick(REQUESTS);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    checkAlive(t);
    const dbsize = await c.send(['DBSIZE']);
    const mem = await info(c, 'memory');
    const stats = await info(c, 'stats');
    const res: Replay = {
      label: t.label, policy, maxmemory, infoMaxmemory, hits, warmHits, warmTotal: REQUESTS - half, setErrors, firstError, secs,
      dbsize: typeof dbsize === 'number' ? dbsize : undefined, used: field(mem, 'used_memory'), evicted: field(stats, 'evicted_keys'),
    };
    log(`  ${t.label} ${policy}: hit ratio ${fmt((100 * hits) / REQUESTS, 2)} % (warm half ${fmt((100 * warmHits) / res.warmTotal, 2)} %), `
      + `${fmt(secs, 1)} s, dbsize ${res.dbsize ?? 'n/a'}, evicted ${res.evicted ?? 'n/a'}${setErrors ? `, ${setErrors} SET errors (${firstError})` : ''}`);
    return res;
  } finally {
    c.close();
  }
}

type Kind = 'redis' | 'cluster';
const start = (kind: Kind, maxmemory?: number): Promise<Target> => {
  const mm = maxmemory === undefined ? [] : ['--maxmemory', String(maxmemory)];
  return kind === 'redis' ? startRedis(mm) : startTarget('cluster', mm);
};

export async function runHitratio(): Promise<Section> {
  const trace = zipfTrace();
  const kinds: Kind[] = ['redis', 'cluster'];
  const cal = new Map<Kind, Calibration>();
  const commands = new Map<Kind, string>();
  for (const kind of kinds) {
    log(`hitratio: calibrating ${kind}`);
    const t = await start(kind);
    commands.set(kind, t.command.replace(/ --maxmemory \d+$/, ''));
    try { cal.set(kind, await calibrate(t)); } finally { await stopTarget(t); }
  }
  const runs: Replay[] = [];
  for (const policy of POLICIES) {
    for (const kind of kinds) {
      const c = cal.get(kind);
      if (c === undefined) continue;
      log(`hitratio: ${kind} ${policy}, maxmemory ~${c.maxmemory} (${fmtMiB(c.maxmemory)})`);
      const t = await start(kind, c.maxmemory);
      try { runs.push(await replay(t, trace, policy, c)); } finally { await stopTarget(t); }
    }
  }
  const pct = (a: number, b: number) => (100 * a) / b;
  const head = ['server', 'policy', 'maxmemory', 'INFO maxmemory', 'hit %', 'warm-half hit %', 'dbsize at end',
    'used_memory at end', 'evicted', 'SET errors', 'replay s'];
  const rows = runs.map((r) => [r.label, r.policy, String(r.maxmemory), String(r.infoMaxmemory ?? 'n/a'),
    fmt(pct(r.hits, REQUESTS), 2), fmt(pct(r.warmHits, r.warmTotal), 2), String(r.dbsize ?? 'n/a'), fmtMiB(r.used),
    String(r.evicted ?? 'n/a'), r.setErrors ? `${r.setErrors} (${r.firstError ?? ''})` : '0', fmt(r.secs, 1)]);
  const goals = POLICIES.map((policy) => {
    const s = runs.find((r) => r.label === 'cluster' && r.policy === policy);
    const rd = runs.find((r) => r.label === 'redis' && r.policy === policy);
    const d = s && rd ? pct(s.hits, REQUESTS) - pct(rd.hits, REQUESTS) : undefined;
    return [policy, `Shoal >= Redis - ${GOAL_POINTS} points`, d === undefined ? 'n/a' : `${d >= 0 ? '+' : ''}${fmt(d, 2)} points`,
      verdict(d === undefined ? undefined : d >= -GOAL_POINTS && (s?.setErrors ?? 0) === 0)];
  });
  const calRows = kinds.map((k) => {
    const x = cal.get(k);
    return [k, fmt(x?.usedBefore), fmt(x?.perItem, 1), String(x?.maxmemory ?? 'n/a')];
  });
  const text = [textTable(['server', 'used_memory empty', 'B/item', 'maxmemory'], calRows, 1), textTable(head, rows),
    ...goals.map((g) => `goal hitratio ${g[0]}: ${g[1]}: ${g[3]} (${g[2]})`)].join('\n');
  const markdown = `## Hit ratio: Zipf trace, GET then SET on miss

Method: one trace, ${REQUESTS} requests over ${KEYS} keys, Zipf skew ${SKEW}, seed ${SEED} (ranks mapped to keys by a
seeded shuffle), replayed against each server: GET, and on a miss SET a ${VALUE_SIZE}-byte value. Windows of
${WINDOW} requests: the window's distinct keys are read in one pipeline, its misses are SET at the head of the next
window's pipeline (same connection); a key repeated within a window counts as a hit after its first occurrence
(identical for both servers). Capacity: per server, on a fresh instance, INFO used_memory before/after ${CALIBRATE}
items gives bytes per item; maxmemory = used_memory(empty) + per_item x ${CAPACITY} (~${fmt((100 * CAPACITY) / KEYS)} %
of the keys), passed at start (\`--maxmemory\`; for Shoal per shard process, which the embedded cluster has one
of) and re-based on each replay instance's own empty used_memory (\`CONFIG SET maxmemory\`: Shoal's includes a runtime
share measured at start, a few MiB different from process to process), policy by \`CONFIG SET maxmemory-policy\` (through the proxy for Shoal). A fresh server per replay, one server
alive at a time, one run. "hit %" counts every request of the trace (cold start included), "warm-half" only its
second half.

${[...commands].map(([k, c]) => `- ${k}: \`${c} --maxmemory BYTES\``).join('\n')}

Calibration:

${mdTable(['server', 'used_memory empty', 'B/item', 'maxmemory'], calRows, 1)}

${mdTable(head, rows)}

### Target (from the issue): Shoal (embedded cluster) >= Redis - ${GOAL_POINTS} points, per policy

${mdTable(['policy', 'goal', 'Shoal - Redis (whole trace)', 'verdict'], goals)}
`;
  return { scenario: 'hitratio', text, markdown };
}
