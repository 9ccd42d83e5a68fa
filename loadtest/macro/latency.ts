// Scenario `latency`: latency under a fixed offered load (open loop), Shoal through
// the proxy side by side with a redis-server, using the load generator
// (loadtest/generator/, in this process) on a 90/10 GET/SET mix of 100-byte values.
//
// 1. Closed-loop maximum (issue 5's reference): each server driven as fast as it
//    answers (LAT_CLOSED_CONNECTIONS x LAT_CLOSED_PIPELINE), LAT_ROUNDS interleaved
//    runs, median ops/s.
// 2. Issue 5's figure: both servers at 50 % of the proxy's closed-loop maximum, every
//    percentile p50 .. max (the section's chart).
// 3. The floor under those figures: redis-server behind the smallest Node proxy there
//    is (tcp-forwarder.ts, bytes piped, nothing parsed), at the same 50 % rate and at
//    LAT_LOW_RATE, beside redis direct and Shoal's proxy: what one Node hop costs by
//    itself on this machine, before any proxy work.
// The highest rate with p99 < 1 ms (issue 9) is the `maxrate` scenario (max-rate.ts),
// which reuses the runs below (measure, interleaved, the percentile table).
//
// Open loop: requests on a timeline, latency from each one's intended send time (see
// generator/open-loop.ts), so a server that falls behind shows it. The generator
// shares the 2-core box with the servers; its own send lag is reported per figure.

import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { prefill } from '../generator/prefill.js';
import { runLoad, type LoadOptions } from '../generator/run.js';
import { summarize, type RunSummary } from '../generator/report.js';
import { parseMix, type Workload } from '../generator/workload.js';
import {
  HOST, HZ, PAUSE, cpuDelta, cpuOf, die, envNum, fmt, log, mdTable, median, quietGate, selfAndReapedJiffies, serverPids,
  startForwarder, startRedis, startTarget, stopTarget, sysJiffies, textTable, verdict, checkAlive, type Section, type Target,
} from './harness.js';

export const KEYS = Math.max(1, Math.floor(envNum('LAT_KEYS', 100_000)));
export const VALUE = Math.floor(envNum('LAT_VALUE', 100));
export const MIX = process.env['LAT_MIX'] || 'get=90,set=10';
export const CONNECTIONS = Math.max(1, Math.floor(envNum('LAT_CONNECTIONS', 16)));
export const PIPELINE = Math.floor(envNum('LAT_PIPELINE', 0));
const CLOSED_CONNECTIONS = Math.max(1, Math.floor(envNum('LAT_CLOSED_CONNECTIONS', 50)));
const CLOSED_PIPELINE = Math.max(1, Math.floor(envNum('LAT_CLOSED_PIPELINE', 16)));
export const SECS = envNum('LAT_SECS', 2);
export const WARMUP = envNum('LAT_WARMUP', 0.5);
export const ROUNDS = Math.max(1, Math.floor(envNum('LAT_ROUNDS', 3)));
/** The p99 bound of issue 9's figure (maxrate). */
export const P99_MS = envNum('LAT_P99_MS', 1);
/** How the open-loop scheduler waits: sleep (a worker-thread alarm, no core) or spin. */
export const WAIT = process.env['LAT_WAIT'] === 'spin' ? 'spin' : 'sleep';
/** Issue 5: p99 through the proxy at 50 % of its closed-loop maximum. */
const HALF_GOAL_MS = 1;
/** The hop baseline's light load (ops/s). */
const LOW_RATE = Math.max(1, envNum('LAT_LOW_RATE', 1000));

export const LATENCY_KNOBS = ['LAT_KEYS', 'LAT_VALUE', 'LAT_MIX', 'LAT_CONNECTIONS', 'LAT_PIPELINE', 'LAT_CLOSED_CONNECTIONS',
  'LAT_CLOSED_PIPELINE', 'LAT_SECS', 'LAT_WARMUP', 'LAT_ROUNDS', 'LAT_P99_MS', 'LAT_WAIT', 'LAT_LOW_RATE'];

/** The server names used in tables (charts colour by them: "redis" is redis). */
export const SERVER_NAMES = ['Shoal (proxy)', 'redis'];
/** The hop baseline's third target. */
const FORWARDER_NAME = 'redis via a Node forwarder';

interface Measured { s: RunSummary; serverCpu: number; genCpu: number; other: number }

export function workload(): Workload {
  return {
    keys: KEYS, dist: 'uniform', zipfSkew: 0.99, valueMin: VALUE, valueMax: VALUE, mix: parseMix(MIX),
    mgetKeys: 10, fields: 100, ttlMin: 0, ttlMax: 0, seed: 20261127,
  };
}

/** One generator run against `t` (open loop at `rate`, closed loop when rate = 0), with CPU accounting. */
async function measure(t: Target, rate: number, seed: number): Promise<Measured> {
  checkAlive(t);
  const closed = rate === 0;
  const opts: LoadOptions = {
    host: HOST, port: t.port, connections: closed ? CLOSED_CONNECTIONS : CONNECTIONS, pipeline: closed ? CLOSED_PIPELINE : PIPELINE,
    workload: { ...workload(), seed }, duration: SECS, requests: 0, warmup: WARMUP, rate, wait: WAIT,
    connectTimeoutMs: 5000, drainTimeoutMs: 10_000,
  };
  // A forwarder's target holds its data in the redis-server behind it: count both.
  const pids = [...new Set([...serverPids(t.server), ...t.dataPids])];
  const c0 = cpuOf(pids), j0 = selfAndReapedJiffies(), [b0] = sysJiffies(), w0 = performance.now();
  const r = await runLoad(opts);
  const c1 = cpuOf(pids), j1 = selfAndReapedJiffies(), [b1] = sysJiffies(), wall = (performance.now() - w0) / 1000;
  const s = summarize(r);
  if (s.failure || s.timedOut) die(`${t.label}: load run failed: ${s.failure ?? `${s.timedOut} requests without a reply`}`, 4);
  if (s.errors) die(`${t.label}: ${s.errors} error replies (${JSON.stringify(s.errorTypes)})`, 3);
  const server = cpuDelta(c0, c1), gen = j1.self - j0.self;
  const pct = (j: number) => (j / HZ / wall) * 100;
  return { s, serverCpu: pct(server), genCpu: pct(gen), other: Math.max(0, pct(b1 - b0 - server - gen)) };
}

const line = (t: Target, m: Measured, rate: number) => `  ${t.label}${rate ? ` @ ${Math.round(rate)}/s` : ' closed loop'}: `
  + `${Math.round(m.s.opsPerSec)} ops/s p50 ${fmt(m.s.latency.p50, 3)} p99 ${fmt(m.s.latency.p99, 3)} p99.9 ${fmt(m.s.latency.p999, 3)} ms`
  + `${m.s.sendLag ? ` (send lag p99 ${fmt(m.s.sendLag.p99, 3)} ms)` : ''}, server ${fmt(m.serverCpu)}% gen ${fmt(m.genCpu)}% other ${fmt(m.other)}%`;

/** Medians over the runs of one server at one rate (percentiles in ms). */
export interface Figure {
  rate: number; ops: number; opsMax: number;
  p50: number; p90: number; p99: number; p999: number; p9999: number; max: number;
  lag99: number; serverCpu: number; genCpu: number; other: number;
}

function figure(rate: number, ms: Measured[]): Figure {
  const med = (f: (m: Measured) => number) => median(ms.map(f));
  return {
    rate,
    ops: med((m) => m.s.opsPerSec),
    opsMax: Math.max(...ms.map((m) => m.s.opsPerSec)),
    p50: med((m) => m.s.latency.p50),
    p90: med((m) => m.s.latency.p90),
    p99: med((m) => m.s.latency.p99),
    p999: med((m) => m.s.latency.p999),
    p9999: med((m) => m.s.latency.p9999),
    max: med((m) => m.s.latency.max),
    lag99: med((m) => m.s.sendLag?.p99 ?? NaN),
    serverCpu: med((m) => m.serverCpu),
    genCpu: med((m) => m.genCpu),
    other: Math.max(...ms.map((m) => m.other)),
  };
}

/**
 * LAT_ROUNDS rounds, counter-balanced (A B, B A, ...), each server at its own rate
 * (0 = closed loop, undefined = this server sits this set out); one quiet gate per
 * set. Returns the medians per server (undefined for a server that sat out).
 */
export async function interleaved(targets: Target[], rates: (number | undefined)[], what: string): Promise<(Figure | undefined)[]> {
  await quietGate(PAUSE);
  const runs: Measured[][] = targets.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 ? [...targets.keys()].reverse() : [...targets.keys()];
    for (const i of order) {
      const rate = rates[i];
      if (rate === undefined) continue;
      const m = await measure(targets[i]!, rate, 1000 + round); // same request stream for both servers
      runs[i]!.push(m);
      log(`${what} round ${round + 1}/${ROUNDS}:${line(targets[i]!, m, rate)}`);
    }
  }
  return runs.map((r, i) => (r.length ? figure(rates[i] ?? 0, r) : undefined));
}

/**
 * Starts Shoal (embedded cluster, through the proxy) and a redis-server, prefilled,
 * warmed up (with `forwarder`, a third target: the redis behind a Node forwarder);
 * stops them after `fn`.
 */
export async function withServers<T>(fn: (targets: Target[]) => Promise<T>, opts: { forwarder?: boolean } = {}): Promise<T> {
  const shoal = await startTarget('cluster');
  let redis: Target | undefined;
  let fwd: Target | undefined;
  try {
    redis = await startRedis();
    const data = [shoal, redis];
    if (opts.forwarder) fwd = await startForwarder(redis, FORWARDER_NAME);
    const targets = fwd ? [shoal, redis, fwd] : data;
    for (const t of data) {
      const t0 = Date.now();
      await prefill({ host: HOST, port: t.port, connectTimeoutMs: 5000 }, workload());
      log(`${t.label}: prefilled ${KEYS} keys x ${VALUE} B in ${Date.now() - t0} ms`);
    }
    // A discarded closed-loop run each: a fresh Node server runs its first seconds in
    // the interpreter, and redis's allocator warms up too.
    for (const t of targets) {
      const m = await measure(t, 0, 1);
      log(`warm-up:${line(t, m, 0)}`);
    }
    return await fn(targets);
  } finally {
    await stopTarget(shoal);
    if (fwd) await stopTarget(fwd);
    if (redis) await stopTarget(redis);
  }
}

/** Closed-loop maxima of both servers (medians and best runs). */
export async function closedLoop(targets: Target[]): Promise<Figure[]> {
  return (await interleaved(targets, targets.map(() => 0), 'closed loop')) as Figure[];
}

export const r0 = (x: number) => fmt(x, 0);
export const ms3 = (x: number) => fmt(x, 3);

/**
 * Every percentile of each figure, one row per server and rate: the table the
 * section's chart is drawn from (loadtest/report/charts.ts reads these headers).
 */
export function percentileTable(rows: { server: string; f: Figure }[]): { head: string[]; rows: string[][] } {
  return {
    head: ['server', 'offered rate', 'achieved ops/s', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'p99.99 ms', 'max ms', 'send lag p99 ms'],
    rows: rows.map(({ server, f }) => [server, `${r0(f.rate)}/s`, r0(f.ops), ms3(f.p50), ms3(f.p90), ms3(f.p99), ms3(f.p999),
      ms3(f.p9999), ms3(f.max), ms3(f.lag99)]),
  };
}

/** The workload and open-loop method, as one paragraph both sections use. */
export function methodText(shoal: Target, redis: Target): string {
  return `Method: the load generator (\`loadtest/generator\`, \`npm run loadtest\`) in the bench process, against
Shoal through the proxy (\`${shoal.command}\`) and a redis-server (\`${redis.command}\`), both running
during the whole scenario. Workload: ${KEYS} keys prefilled with ${VALUE}-byte values, mix \`${MIX}\`, uniform keys.
Open loop: requests on a timeline at a fixed rate over ${CONNECTIONS} connections (pipeline cap
${PIPELINE || 'none'}, scheduler ${WAIT === 'spin' ? 'spinning' : 'sleeping between requests'}), each request's latency measured from its intended
send time (no coordinated omission; the generator's own lateness is in the figures and shown as "send lag"). Each run: ${WARMUP} s
warm-up, ${SECS} s measured; ${ROUNDS} runs per server per figure, interleaved and counter-balanced, medians.`;
}

export async function runLatency(): Promise<Section> {
  return withServers(async (targets) => {
    const [shoal, redis] = targets as [Target, Target, Target];
    const closed = await closedLoop([shoal, redis]);
    log(`closed-loop max: ${shoal.label} ${Math.round(closed[0]!.ops)}/s, redis ${Math.round(closed[1]!.ops)}/s`);
    // issue 5: 50 % of the proxy's closed-loop maximum (the forwarder beside them)
    const fifty = closed[0]!.ops / 2;
    const atFifty = (await interleaved(targets, [fifty, fifty, fifty], `50% of ${shoal.label}'s closed-loop max`)) as Figure[];
    const atLow = (await interleaved(targets, [LOW_RATE, LOW_RATE, LOW_RATE], `${LOW_RATE}/s`)) as Figure[];
    return section(shoal, redis, closed, fifty, atFifty, atLow);
  }, { forwarder: true });
}

function section(shoal: Target, redis: Target, closed: Figure[], fifty: number, atFifty: Figure[], atLow: Figure[]): Section {
  const names = SERVER_NAMES;
  const head = ['figure', names[0]!, names[1]!, 'shoal/redis'];
  const latRow = (label: string, f: Figure[], k: 'p50' | 'p99' | 'p999') => [label, ms3(f[0]![k]), ms3(f[1]![k]), fmt(f[0]![k] / f[1]![k], 2)];
  const rows = [
    [`closed-loop max (ops/s; ${CLOSED_CONNECTIONS} conns, pipeline ${CLOSED_PIPELINE})`, r0(closed[0]!.ops), r0(closed[1]!.ops), fmt(closed[0]!.ops / closed[1]!.ops, 3)],
    latRow(`p50 at ${r0(fifty)}/s = 50% of the proxy's closed-loop max (ms)`, atFifty, 'p50'),
    latRow(`p99 at ${r0(fifty)}/s (ms)`, atFifty, 'p99'),
    latRow(`p99.9 at ${r0(fifty)}/s (ms)`, atFifty, 'p999'),
  ];
  const all = [...names, FORWARDER_NAME];
  const pct = percentileTable(atFifty.map((f, i) => ({ server: all[i]!, f })));
  // The hop baseline: each target at both rates, what the proxy adds over redis direct
  // beside what a bare Node hop adds.
  const hopHead = ['offered rate', 'target', 'p50 ms', 'p99 ms', 'p99.9 ms', 'send lag p99 ms', 'p99 minus redis direct (ms)'];
  const hopRows = [atLow, atFifty].flatMap((f) => [1, 2, 0].map((i) => [`${r0(f[i]!.rate)}/s`, all[i]!, ms3(f[i]!.p50), ms3(f[i]!.p99),
    ms3(f[i]!.p999), ms3(f[i]!.lag99), i === 1 ? '' : ms3(f[i]!.p99 - f[1]!.p99)]));
  const ctxHead = ['run set', 'server', 'ops/s', 'send lag p99 ms', 'server cpu%', 'generator cpu%', 'other%'];
  const ctx = (label: string, f: Figure[]) => f.map((x, i) => [label, all[i]!, r0(x.ops), ms3(x.lag99), r0(x.serverCpu), r0(x.genCpu), r0(x.other)]);
  const ctxRows = [...ctx('closed loop', closed), ...ctx(`${r0(fifty)}/s`, atFifty), ...ctx(`${r0(LOW_RATE)}/s`, atLow)];
  const goalOk = Number.isFinite(atFifty[0]!.p99) ? atFifty[0]!.p99 <= HALF_GOAL_MS : undefined;
  const goal = `issue 5: p99 through the proxy at 50% of its closed-loop max (${r0(fifty)}/s) <= ${HALF_GOAL_MS} ms: `
    + `${verdict(goalOk)} (${ms3(atFifty[0]!.p99)} ms)`;
  const busiest = Math.max(...[...closed, ...atFifty, ...atLow].map((f) => f.other));
  const warning = busiest > 30 ? `other processes used up to ${r0(busiest)} % of a core during these runs (see \`other%\`): `
    + 'latency tails on a 2-core box follow any other load; rerun on a quiet machine.' : '';
  const text = [textTable(head, rows, 1), goal, ...(warning ? [`WARNING: ${warning}`] : []), '',
    textTable(pct.head, pct.rows), '', textTable(hopHead, hopRows), '', textTable(ctxHead, ctxRows)].join('\n');
  const markdown = `## Latency under a fixed load (open loop)

${methodText(shoal, redis)}
1. Closed-loop maximum: ${CLOSED_CONNECTIONS} connections x pipeline ${CLOSED_PIPELINE}, as fast as replies come.
2. Issue 5: both servers at 50 % of the proxy's closed-loop maximum.

The highest rate with p99 < 1 ms (issue 9) is in the \`maxrate\` section.
${warning ? `\n> **Warning:** ${warning}\n` : ''}
${mdTable(head, rows, 1)}

### Target (from the issue)

- ${goal}

### Percentiles at ${r0(fifty)}/s (ms, medians of the runs)

${mdTable(pct.head, pct.rows, 2)}

### What one Node hop costs by itself

\`${FORWARDER_NAME}\`: the same redis-server behind \`loadtest/macro/tcp-forwarder.ts\`, the smallest
proxy Node can run (each connection piped to redis, nothing parsed or routed). Its latency over redis
direct is what any Node proxy pays on this machine before doing any work; Shoal's proxy adds a
second hop (proxy to shard worker) and the routing. Medians of the runs, at ${r0(LOW_RATE)}/s and at the
50 % rate above.

${mdTable(hopHead, hopRows, 2)}

### Context

\`send lag\`: how late the generator's scheduler got to requests (counted in the latencies). CPU in % of
one core during the runs: the server's processes (Shoal: launcher, proxy, shard; the forwarder with its redis), the generator (this
process), everything else (\`other\`). On the 2-core box the generator and a multi-process Shoal share
the cores, so a rate limit can be the generator's (lag grows) rather than the server's.

${mdTable(ctxHead, ctxRows, 2)}

Machine: ${os.availableParallelism()} cpus.
`;
  return { scenario: 'latency', text, markdown };
}
