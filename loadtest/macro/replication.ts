// Scenario `replication` (issue 8): what a replica costs in SET throughput, and how far
// it lags, Shoal beside redis-server in the same run.
//
// 1. Throughput: `redis-benchmark -t set -P 16 -c 50 -d 100 -r 100000 --csv`, -n
//    calibrated for ~DURATION s runs, against the Shoal proxy (embedded cluster) with no
//    replica, one replica per primary with consistency eventual, and with strong
//    (`--replicas 0|1 --consistency eventual|strong`), one Shoal cluster alive at a time;
//    and against a redis-server alone and a redis-server with one replica
//    (`--replicaof`), both alive all along (idle when not measured). ROUNDS interleaved
//    counter-balanced pairs per config (Shoal config vs redis alone for "no replica",
//    vs redis with a replica otherwise), medians, ratio Shoal / redis; also each
//    server's rps with a replica / without.
// 2. Lag: one more run per replicated config (and for redis with a replica) while
//    every LAG_SAMPLE_MS ms `INFO replication` is read from each primary
//    (master_repl_offset) and its replica (slave_repl_offset), on their own
//    connections, time-stamped at the middle of each round trip. For each primary
//    sample taken under load (offset grew > 1000 bytes since the previous one), lag =
//    time of the first later replica sample whose offset reached it, minus the primary
//    sample's time. Resolution: about one sample period.
// /proc/loadavg (1 min) is recorded before every run.
//
// Every process is started and stopped through the harness, by pid.

import fs from 'node:fs';
import { RespClient } from '../resp-client.js';
import { ask, freePortBlock, infoOf } from '../redis-cluster.js';
import {
  HOST, WORK, benchRun, die, envList, envNum, fmt, log, mdTable, median, sleep, startServer, stopServer, textTable,
  type BenchSpec, type Run, type Section, type Server,
} from './harness.js';
import { groupKey, logShoal, startShoal, topologyOf, type ShoalCluster } from './shoal-replicas.js';

const ROUNDS = Math.max(1, Math.floor(envNum('ROUNDS', 3)));
const DURATION = envNum('DURATION', 3);
const CONFIGS = envList('REPL_CONFIGS', 'none,eventual,strong').map((x) => x.toLowerCase());
const PIPELINE = Math.max(1, Math.floor(envNum('REPL_PIPELINE', 16)));
const CLIENTS = Math.max(1, Math.floor(envNum('REPL_CLIENTS', 50)));
const VALUE = Math.max(1, Math.floor(envNum('REPL_VALUE', 100)));
const KEYSPACE = Math.max(1, Math.floor(envNum('REPL_KEYSPACE', 100_000)));
const SAMPLE_MS = Math.max(1, envNum('LAG_SAMPLE_MS', 5));
const LAG_RUNS = Math.max(0, Math.floor(envNum('LAG_RUNS', 2)));

export const REPLICATION_KNOBS = ['REPL_CONFIGS', 'REPL_PIPELINE', 'REPL_CLIENTS', 'REPL_VALUE', 'REPL_KEYSPACE', 'LAG_SAMPLE_MS', 'LAG_RUNS'];

const load1 = () => Number(fs.readFileSync('/proc/loadavg', 'latin1').split(' ')[0]);
const spec = (n: number): BenchSpec => ({ test: 'set', pipeline: PIPELINE, n, clients: CLIENTS, keyspace: KEYSPACE, valueSize: VALUE });

interface Measured extends Run { load1: number }

async function run(s: Server, others: Server[], n: number, gate = true): Promise<Measured> {
  const l = load1();
  return { ...(await benchRun(s, others, spec(n), gate)), load1: l };
}

/** Short runs grown until one lasts >= DURATION/3 (warm-up too); -n for ~DURATION s. */
async function calibrate(s: Server, others: Server[]): Promise<number> {
  let n = 10_000 * PIPELINE;
  let r = await run(s, others, n, false);
  for (let i = 0; i < 3 && r.secs < DURATION / 3; i++) {
    n = Math.ceil(n * Math.min(20, DURATION / 3 / Math.max(r.secs, 0.05)) * 1.2);
    r = await run(s, others, n, false);
  }
  return Math.max(10_000, Math.min(50_000_000, Math.round(r.rps * DURATION)));
}

// ---------------------------------------------------------------- lag sampling

interface Sample { t: number; off: number }
interface Pair { name: string; primary: number; replica: number }
export interface LagStats { samples: number; unreached: number; lags: number[] }

/** Polls INFO replication on both ends of each pair every SAMPLE_MS until stop(). */
function startLagSampler(pairs: Pair[]): { stop(): Promise<LagStats> } {
  let running = true;
  const loops = pairs.map(async (p) => {
    const prim = await RespClient.connect(p.primary, HOST, 10_000);
    const repl = await RespClient.connect(p.replica, HOST, 10_000);
    const ps: Sample[] = [], rs: Sample[] = [];
    const sample = async (c: RespClient, fields: string[], into: Sample[]) => {
      const t0 = performance.now();
      const r = await c.send(['INFO', 'replication']);
      const t1 = performance.now();
      const text = Buffer.isBuffer(r) ? r.toString('latin1') : '';
      for (const f of fields) {
        const m = new RegExp(`^${f}:(\\d+)`, 'm').exec(text);
        if (m) { into.push({ t: (t0 + t1) / 2, off: Number(m[1]) }); return; }
      }
    };
    try {
      while (running) {
        const tick = performance.now();
        await Promise.all([sample(prim, ['master_repl_offset'], ps), sample(repl, ['slave_repl_offset', 'master_repl_offset'], rs)]);
        const wait = SAMPLE_MS - (performance.now() - tick);
        if (wait > 0) await sleep(wait);
      }
    } finally {
      prim.close();
      repl.close();
    }
    if (ps.length === 0 || rs.length === 0) die(`lag sampler ${p.name}: no offsets in INFO replication (primary ${ps.length}, replica ${rs.length} samples)`, 4);
    return lagsOf(ps, rs);
  });
  return {
    async stop() {
      running = false;
      const all = await Promise.all(loops);
      return { samples: all.reduce((a, x) => a + x.samples, 0), unreached: all.reduce((a, x) => a + x.unreached, 0), lags: all.flatMap((x) => x.lags) };
    },
  };
}

function lagsOf(ps: Sample[], rs: Sample[]): LagStats {
  const lags: number[] = [];
  let unreached = 0, samples = 0, j = 0;
  for (let i = 1; i < ps.length; i++) {
    const p = ps[i]!;
    if (p.off - ps[i - 1]!.off <= 1000) continue; // not under load
    samples++;
    while (j < rs.length && rs[j]!.t < p.t) j++;
    let k = j;
    while (k < rs.length && rs[k]!.off < p.off) k++;
    if (k >= rs.length) { unreached++; continue; }
    lags.push(rs[k]!.t - p.t);
  }
  return { samples, unreached, lags };
}

const pct = (xs: number[], q: number) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length ? v[Math.min(v.length - 1, Math.ceil((q / 100) * v.length) - 1)] ?? NaN : NaN;
};

// ---------------------------------------------------------------- the scenario

interface Row { config: string; shoal: Measured[]; redis: Measured[]; redisLabel: string; shoalLag?: LagStats; redisLag?: LagStats; lagLoad?: number[] }

async function shoalPairs(c: ShoalCluster): Promise<Pair[]> {
  const t = await topologyOf(c);
  return t.workers.map((w) => {
    const r = (t.replicas ?? []).find((x) => groupKey(x) === groupKey(w));
    if (!r) return die(`${c.server.name}: group ${groupKey(w)} has no replica in /topology`, 4);
    return { name: `group ${groupKey(w)}`, primary: w.port, replica: r.port };
  });
}

interface Redis { label: string; server: Server; port: number; command: string }

/** A private redis-server on a port of the B range (`--save '' --appendonly no`, plus `extra`), answering PING. */
async function startRedisHere(label: string, extra: string[]): Promise<Redis> {
  const port = await freePortBlock(1);
  const server = startServer(label, ['redis-server', '--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no',
    '--daemonize', 'no', '--dir', WORK, ...extra], port);
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (server.exited) die(`${label} exited at start (code ${server.exited.code}); see ${server.logFile}`, 2);
    try { if ((await ask(port, ['PING'], 500)) === 'PONG') break; } catch { /* not up yet */ }
    if (Date.now() > deadline) die(`${label} did not answer PING on ${port} within 15 s`, 2);
    await sleep(50);
  }
  const pid = (await infoOf(port, 'server')).get('process_id');
  if (Number(pid) !== server.pid) die(`the redis-server answering on ${port} is pid ${pid}, not the one started (${server.pid})`, 2);
  return { label, server, port, command: `redis-server --port P --bind 127.0.0.1 --save '' --appendonly no${extra.length ? ` ${extra.join(' ')}` : ''}` };
}

async function waitRedisReplica(port: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const inf = await infoOf(port, 'replication');
    if (inf.get('master_link_status') === 'up' && inf.get('master_sync_in_progress') === '0') return;
    await sleep(100);
  }
  die(`redis replica on ${port} did not sync within 30 s`, 2);
}

export async function runReplication(): Promise<Section> {
  for (const c of CONFIGS) if (!['none', 'eventual', 'strong', 'session'].includes(c)) die(`REPL_CONFIGS: unknown "${c}" (none, eventual, strong, session)`, 1);
  const alone = await startRedisHere('redis-alone', []);
  const primary = await startRedisHere('redis-primary', ['--repl-diskless-sync-delay', '0']);
  const replica = await startRedisHere('redis-replica', ['--replicaof', HOST, String(primary.port)]);
  const rows: Row[] = [];
  const commands: string[] = [];
  const failures: string[] = [];
  try {
    await waitRedisReplica(replica.port);
    commands.push(`- redis alone: \`${alone.command}\``, `- redis with a replica: \`${primary.command}\` + \`${replica.command.replace(String(primary.port), 'P')}\``);
    const nRedis = new Map<string, number>();
    for (const config of CONFIGS) {
      const replicated = config !== 'none';
      const partner = replicated ? primary : alone;
      const partnerOthers = replicated ? [replica.server] : [];
      let c: ShoalCluster | undefined;
      try {
        c = await startShoal(`shoal-repl-${config}`, { replicas: replicated ? 1 : 0, shards: 1, workers: 2, consistency: replicated ? config : 'eventual' });
        if (replicated) logShoal(c, await topologyOf(c));
        commands.push(`- shoal ${config === 'none' ? 'no replica' : `1 replica, ${config}`}: \`${c.command}\``);
        const label = `replication ${config}`;
        log(`${label}: calibrating`);
        const nT = await calibrate(c.server, [partner.server, ...partnerOthers]);
        const nR = nRedis.get(partner.label) ?? await calibrate(partner.server, [c.server, ...partnerOthers]);
        nRedis.set(partner.label, nR);
        log(`${label}: -n shoal=${nT} ${partner.label}=${nR}`);
        const row: Row = { config, shoal: [], redis: [], redisLabel: replicated ? 'redis + replica' : 'redis alone' };
        for (let round = 1; round <= ROUNDS; round++) {
          const order = round % 2 ? ['shoal', 'redis'] : ['redis', 'shoal'];
          for (const side of order) {
            const mine = side === 'shoal';
            const r = mine ? await run(c.server, [partner.server, ...partnerOthers], nT) : await run(partner.server, [c.server, ...partnerOthers], nR);
            (mine ? row.shoal : row.redis).push(r);
            log(`  round ${round}/${ROUNDS} ${mine ? `shoal ${config}` : row.redisLabel}: ${Math.round(r.rps)} rps, p99 ${r.p99} ms, `
              + `server_cpu ${r.serverCpu.toFixed(0)}%, other ${r.other.toFixed(0)}%, load1 ${r.load1}`);
          }
        }
        if (replicated && LAG_RUNS > 0) {
          row.lagLoad = [];
          const pairs = await shoalPairs(c);
          const redisPairs: Pair[] = [{ name: 'redis', primary: primary.port, replica: replica.port }];
          for (let k = 0; k < LAG_RUNS; k++) {
            for (const side of k % 2 ? ['redis', 'shoal'] : ['shoal', 'redis']) {
              const mine = side === 'shoal';
              row.lagLoad.push(load1());
              const sampler = startLagSampler(mine ? pairs : redisPairs);
              await (mine ? run(c.server, [partner.server, ...partnerOthers], nT) : run(partner.server, [c.server, ...partnerOthers], nR));
              await sleep(200);
              const st = await sampler.stop();
              const merge = (a: LagStats | undefined) => ({ samples: (a?.samples ?? 0) + st.samples, unreached: (a?.unreached ?? 0) + st.unreached, lags: [...(a?.lags ?? []), ...st.lags] });
              if (mine) row.shoalLag = merge(row.shoalLag); else row.redisLag = merge(row.redisLag);
              log(`  lag ${mine ? `shoal ${config}` : 'redis'}: ${st.lags.length} samples under load, p50 ${fmt(pct(st.lags, 50), 1)} ms, `
                + `p99 ${fmt(pct(st.lags, 99), 1)} ms, max ${fmt(Math.max(...st.lags), 1)} ms, unreached ${st.unreached}`);
            }
          }
        }
        rows.push(row);
      } catch (e) {
        const msg = `${config}: ${(e as Error).message.split('\n').slice(0, 3).join(' | ')}`;
        log(`  FAILED: ${msg}`);
        failures.push(msg);
      } finally {
        if (c) await stopServer(c.server);
      }
    }
  } finally {
    for (const r of [replica, primary, alone]) await stopServer(r.server);
  }
  return section(rows, commands, failures);
}

const HEAD = ['target', 'workload', 'shoal_rps', 'redis_rps', 'ratio', 'rounds', 'redis side', 'shoal p99 ms', 'redis p99 ms', 'shoal_cpu%', 'other%', 'load1 median (max)'];
const LAG_HEAD = ['server', 'consistency', 'samples under load', 'lag p50 ms', 'lag p99 ms', 'lag max ms', 'unreached', 'load1'];

function section(rows: Row[], commands: string[], failures: string[]): Section {
  const m = (xs: Measured[], f: (r: Measured) => number) => median(xs.map(f));
  const table = rows.map((r) => {
    const s = m(r.shoal, (x) => x.rps), d = m(r.redis, (x) => x.rps);
    const pairs = r.shoal.map((x, i) => x.rps / (r.redis[i]?.rps ?? NaN));
    const loads = [...r.shoal, ...r.redis].map((x) => x.load1);
    return ['proxy', `SET ${r.config === 'none' ? 'no replica' : `1 replica ${r.config}`} P=${PIPELINE}`, fmt(s), fmt(d), fmt(s / d, 3),
      `${fmt(Math.min(...pairs), 2)}-${fmt(Math.max(...pairs), 2)}`, r.redisLabel,
      fmt(m(r.shoal, (x) => x.p99), 2), fmt(m(r.redis, (x) => x.p99), 2), fmt(m(r.shoal, (x) => x.serverCpu)),
      fmt(Math.max(...[...r.shoal, ...r.redis].map((x) => x.other))), `${fmt(median(loads), 2)} (${fmt(Math.max(...loads), 2)})`];
  });
  const none = rows.find((r) => r.config === 'none');
  const cost: string[][] = [];
  for (const r of rows.filter((x) => x.config !== 'none')) {
    const sx = none ? m(r.shoal, (x) => x.rps) / m(none.shoal, (x) => x.rps) : NaN;
    const rx = none ? m(r.redis, (x) => x.rps) / m(none.redis, (x) => x.rps) : NaN;
    cost.push([`1 replica ${r.config}`, fmt(sx, 3), fmt(rx, 3)]);
  }
  const lag: string[][] = [];
  for (const r of rows) {
    const add = (server: string, mode: string, st: LagStats | undefined) => {
      if (!st) return;
      lag.push([server, mode, String(st.samples), fmt(pct(st.lags, 50), 1), fmt(pct(st.lags, 99), 1), fmt(st.lags.length ? Math.max(...st.lags) : NaN, 1),
        String(st.unreached), fmt(median(r.lagLoad ?? []), 2)]);
    };
    add('shoal', r.config, r.shoalLag);
    add('redis + replica', `async (runs beside shoal ${r.config})`, r.redisLag);
  }
  const text = [table.length ? textTable(HEAD, table) : 'no config measured', cost.length ? textTable(['config', 'shoal with/without', 'redis with/without'], cost) : '',
    lag.length ? textTable(LAG_HEAD, lag) : '', ...failures.map((f) => `FAILED ${f}`)].filter((x) => x).join('\n');
  const markdown = `## Replication: SET throughput with a replica, and replication lag (issue 8)

Method: \`redis-benchmark -t set -P ${PIPELINE} -c ${CLIENTS} -d ${VALUE} -r ${KEYSPACE} --csv\` with \`-n\` calibrated per server
for ~${DURATION} s runs, against the Shoal proxy (embedded cluster, 1 shard process x 2 workers, each primary worker with 0
or 1 replica worker in a second shard process) and against redis-server alone or with one replica (\`--replicaof\`); one Shoal
cluster alive at a time, the redis-servers alive all along (idle when not measured); ${ROUNDS} rounds interleaved and
counter-balanced per config, each run after a quiet gate; medians. "no replica" compares with redis alone, the replicated
configs with redis + replica. \`shoal_cpu%\` counts every Shoal process (replicas included); \`other%\` the most CPU anything
else took (the redis replica is not counted there); \`load1\`: /proc/loadavg before each run (2-core machine).

${commands.join('\n')}

${table.length ? mdTable(HEAD, table) : '_No config measured._'}
${failures.length ? `\n${failures.map((f) => `> **Not measured:** ${f}`).join('\n>\n')}\n` : ''}
${cost.length ? `What the replica costs each server (rps with the replica / without, medians of the same runs):\n\n${mdTable(['config', 'shoal with/without', 'redis with/without'], cost, 1)}\n` : ''}
### Replication lag under that load

${LAG_RUNS} extra run(s) per replicated config and for redis + replica, while \`INFO replication\` is read every ${SAMPLE_MS} ms
from each primary (\`master_repl_offset\`) and its replica (\`slave_repl_offset\`) on their own connections (Shoal: each primary
worker and its replica worker directly; time = middle of each round trip). For every primary sample taken under load (offset
+1000 bytes or more since the previous sample), lag = time until the first replica sample at or past that offset. Resolution
about ${SAMPLE_MS} ms (a round trip plus the sample period); \`unreached\`: samples the replica had not reached when sampling stopped
(200 ms after the run).

${lag.length ? mdTable(LAG_HEAD, lag, 2) : '_Not measured._'}
`;
  return { scenario: 'replication', text, markdown: markdown.replace(/\n{3,}/g, '\n\n') };
}
