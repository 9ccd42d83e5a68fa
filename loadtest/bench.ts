// `npm run bench`: the driver. Runs the selected scenarios (SCENARIOS, default all)
// in this order, each against servers it starts itself, and writes one section per
// scenario into loadtest/RESULTS.md (sections of scenarios not run are carried over
// from the previous file):
//   micro       below, 1.
//   throughput  below, 2. (redis-benchmark, Shoal vs redis-server side by side)
//   datatypes   below, 2. with redis-benchmark's collection tests at -P 16
//   typememory  macro/type-memory.ts  RSS growth of a 1M zset, a 1M hash, 100k small hashes
//   memory      macro/memory.ts    bytes/key by RSS, 1M keys x 16 B and 100 B
//   churn       macro/churn.ts     RSS and fragmentation under eviction, 256mb
//   hitratio    macro/hitratio.ts  Zipf trace hit ratio, allkeys-lru / allkeys-lfu
//   cost        macro/cost.ts      throughput with eviction + TTLs vs plain
//   tls         macro/tls.ts       throughput over TLS vs plain, proxy and redis-server
//   latency     macro/latency.ts   open-loop latency: percentiles at 50 % of the proxy's closed-loop max
//   maxrate     macro/max-rate.ts  open loop: highest rate with p99 < 1 ms, proxy vs redis (issue 9)
//   persistence macro/persistence.ts  AOF SET throughput (everysec/always) and a 1M-key snapshot vs redis (issue 7)
//   replication macro/replication.ts  SET -P 16 with 0/1 replica (eventual, strong) vs redis +- replica, lag p99 (issue 8)
//   failover    macro/failover.ts  kill -9 of a primary under writes: time to first write, acked writes lost, vs Redis Cluster (issue 8)
// A scenario that fails is reported as failed and the next one still runs; the exit
// code is the first failure's. Shared plumbing: macro/harness.ts, macro/load.ts.
//
// 1. Micro: runs every dist/loadtest/micro/*.bench.js as a child process (with a
//    timeout) and keeps its `name ops_per_sec=N` lines.
// 2. Macro, per target (shard-direct, then proxy; only one Shoal target alive at a
//    time on this 2-core box): start it, wait for PING + a routed SET, prefill the
//    redis-benchmark keyspace in it and in a private redis-server, verify SET/GET
//    round trips, then for {SET, GET} x {-P 1, -P 16}: calibrate -n per server for
//    ~DURATION s runs, ROUNDS interleaved counter-balanced pairs (T R, R T, T R),
//    each run behind a quiet gate and with CPU accounting from /proc. Medians per
//    workload, ratio = shoal / redis.
// 3. Prints a table, writes loadtest/RESULTS.md, and draws each section's charts from
//    its tables into loadtest/charts/*.svg, linked from the section (report/charts.ts).
//
// Method borrowed from ../shared/bench (README there explains why each step
// exists). Every process stopped here was started here, and is stopped by pid.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RespClient, showReply, type Reply } from './resp-client.js';
import {
  BenchError, HOST, ROOT, WORK, benchRun as redisBenchmarkRun, die, envList, envNum, freePorts, killAllSync, log,
  mdTable, median, servers, serverPids, startRedis, startServer, stopServer, textTable, versionOf, waitReady,
  type Run, type Section, type Server,
} from './macro/harness.js';
import { runMemory } from './macro/memory.js';
import { runChurn } from './macro/churn.js';
import { runHitratio } from './macro/hitratio.js';
import { runCost } from './macro/cost.js';
import { runTls } from './macro/tls.js';
import { LATENCY_KNOBS, runLatency } from './macro/latency.js';
import { MAXRATE_KNOBS, runMaxRate } from './macro/max-rate.js';
import { attachCharts, pruneCharts } from './report/charts.js';
import { runTypeMemory } from './macro/type-memory.js';
import { runFanout } from './macro/fanout.js';
import { runPubsub } from './macro/pubsub.js';
import { PERSISTENCE_KNOBS, runPersistence } from './macro/persistence.js';
import { FAILOVER_KNOBS, runFailover } from './macro/failover.js';
import { REPLICATION_KNOBS, runReplication } from './macro/replication.js';

const HELP = `usage: npm run bench   (= npm run build && node dist/loadtest/bench.js [--help])

Runs the selected scenarios, Shoal against private redis-servers started here,
and writes loadtest/RESULTS.md with its SVG charts in loadtest/charts/ (see
loadtest/README.md; \`node dist/loadtest/report/render.js\` redraws the charts of an
existing RESULTS.md from its tables).

Environment:
  SCENARIOS=micro,throughput,datatypes,memory,typememory,churn,hitratio,cost,tls,latency,maxrate,fanout,pubsub,persistence,replication,failover   which scenarios (default all)
  fanout: FANOUT_WS=1000 FANOUT_RESP=1000 subscribers, FANOUT_RATE=50 (PUBLISH/s), FANOUT_WINDOW=4, FANOUT_SECS=5
  pubsub: PUBSUB_SUBS=10 subscribers, PUBSUB_N=200000 PUBLISHes, PUBSUB_CLIENTS=50, PUBSUB_PIPELINE=16, PUBSUB_SIZE=32, PUBSUB_ROUNDS=2
  throughput (redis-benchmark SET/GET, -P 1 and 16, Shoal vs redis):
  TARGETS=shard,proxy  which Shoal targets to measure (shard = shoal-shard --workers 1,
                       proxy = shoal.js embedded cluster); TARGETS= (empty) skips the pass
  ROUNDS=3             interleaved measured pairs per workload
  DURATION=3           seconds per measured redis-benchmark run (-n is calibrated)
  SKIP_MICRO=1         skip the micro benches
  CLIENTS=50 KEYSPACE=100000 PIPELINES=1,16 TESTS=set,get
  PAUSE=0.5 QUIET_PCT=10 QUIET_MAX=15   rest, then wait (at most QUIET_MAX s) until
                       the machine is < QUIET_PCT % busy before each run
  BENCH_ACL=1          redis and the proxy run with an ACL file; redis-benchmark logs in
                       as a restricted user (0: everyone is the default user)
  MAX_OTHER=30 RETRIES=2   redo a pair when other processes took > MAX_OTHER % of a core
  READY_TIMEOUT=30     seconds a server gets to answer PING and a SET
  RUN_TIMEOUT=120      hard cap per redis-benchmark run (s)
  MICRO_TIMEOUT=120    hard cap per micro bench file (s)
  datatypes (redis-benchmark on collections, Shoal vs redis; uses TARGETS, ROUNDS, DURATION, CLIENTS):
            DATATYPE_TESTS=lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100 DATATYPE_PIPELINE=16
  typememory: TYPEMEM_DATASETS=zset-1m,hash-1m,hashes-100k TYPEMEM_TARGETS=redis,cluster TYPEMEM_SCALE=1
  memory:   MEMORY_KEYS=1000000 MEMORY_SIZES=16,100 MEMORY_TARGETS=redis,shard,cluster
            SETTLE_MS=2000
  churn:    CHURN_SETS=5000000 CHURN_BIG_SETS=2000000 CHURN_KEYSPACE=10000000
            CHURN_MAXMEMORY=256mb CHURN_WINDOW=1000 SAMPLE_MS=2000 CHURN_TARGETS=cluster,redis
  hitratio: HIT_REQUESTS=5000000 HIT_KEYS=1000000 HIT_SKEW=0.99 HIT_CAPACITY=200000
            HIT_CALIBRATE=50000 HIT_WINDOW=100 HIT_POLICIES=allkeys-lru,allkeys-lfu HIT_SEED=20261126
  cost:     COST_MAXMEMORY (default: half the used_memory of the loaded keyspace, per server)
            COST_TESTS=set,get COST_PIPELINE=16 COST_KEYSPACE=100000 COST_TTL_PCT=50
            COST_REDIS=1 (0: skip the redis reference); uses ROUNDS, DURATION
  tls:      TLS_TARGETS=cluster,redis (also: cluster-links = tls-cluster yes) TLS_TESTS=set,get
            TLS_PIPELINES=1,16 TLS_KEYSPACE=100000; uses ROUNDS, DURATION
  latency:  (open loop, loadtest/generator; ~1 min) LAT_KEYS=100000 LAT_VALUE=100 LAT_MIX=get=90,set=10
            LAT_CONNECTIONS=16 LAT_PIPELINE=0 (open-loop cap per connection, 0 = none)
            LAT_CLOSED_CONNECTIONS=50 LAT_CLOSED_PIPELINE=16 LAT_SECS=2 LAT_WARMUP=0.5
            LAT_ROUNDS=3 LAT_WAIT=sleep (or spin: lower send lag, takes a core)
            LAT_LOW_RATE=1000 (the Node-hop baseline's light load: redis, redis behind a
            bare Node forwarder, the proxy)
  maxrate:  (the latency knobs, plus; ~3-5 min) LAT_P99_MS=1 MAXRATE_START=1000 MAXRATE_FACTOR=2 (ladder)
            MAXRATE_FLOOR=250 (lowest rate tried if the first rung fails) MAXRATE_STEPS=4 (bisection)
  persistence: (issue 7; ~5 min) PERSIST_PARTS=aof,snapshot
            aof: PERSIST_MODES=everysec,always,off (off = appendonly no; also: no) PERSIST_TARGETS=cluster,shard
                 PERSIST_KEYSPACE=100000 PERSIST_PIPELINE=16; uses ROUNDS, DURATION
            snapshot: PERSIST_KEYS=1000000 PERSIST_VALUE=100 PERSIST_SNAP_ROUNDS=1 PERSIST_TIMEOUT=300 (s per BGSAVE/restart)
  replication: (issue 8; ~3 min) REPL_CONFIGS=none,eventual,strong REPL_PIPELINE=16 REPL_CLIENTS=50 REPL_VALUE=100
            REPL_KEYSPACE=100000 LAG_SAMPLE_MS=5 LAG_RUNS=2; uses ROUNDS, DURATION
  failover: (issue 8; ~10 min) FAILOVER_TARGETS=strong,eventual,redis FAILOVER_KILLS=20 FAILOVER_REDIS_KILLS=10
            FAILOVER_BLOCKS=2 FAILOVER_CLIENTS=20 FAILOVER_GAP_MS=5 FAILOVER_VALUE=32 FAILOVER_TIMEOUT=30 (s to first write)
            FAILOVER_RECOVER_TIMEOUT=90 FAILOVER_SETTLE_MS=1500 FAILOVER_SHARDS=2 FAILOVER_WORKERS=1 FAILOVER_NODE_TIMEOUT=1000
            FAILOVER_PORT_LO=26000 FAILOVER_PORT_HI=26999 (ports of the Shoal and Redis Cluster processes of both scenarios)
  KEEP_WORK=1          keep the work dir (server logs, raw outputs)
  NO_RESULTS=1         do not write loadtest/RESULTS.md
  RESULTS_FILE=PATH    write (and carry sections over from) PATH instead
  BENCH_TARGET_CMD     testing aid: JSON argv replacing every Shoal target, "{port}"
                       substituted, e.g. '["redis-server","--port","{port}","--save",""]'
                       (scenario flags such as --maxmemory are appended)

Exit: 0 ok (targets met or not), 1 setup/usage, 2 a server did not come up,
3 a server failed SET/GET verification, 4 a benchmark run failed (a failed
scenario does not stop the others; the first failure's code is returned).`;

const ROUNDS = Math.max(1, Math.floor(envNum('ROUNDS', 3)));
const DURATION = envNum('DURATION', 3);
const CLIENTS = envNum('CLIENTS', 50);
const KEYSPACE = envNum('KEYSPACE', 100_000);
const PIPELINES = envList('PIPELINES', '1,16').map(Number);
const TESTS = envList('TESTS', 'set,get').map((t) => t.toLowerCase());
const MAX_OTHER = envNum('MAX_OTHER', 30);
const RETRIES = envNum('RETRIES', 2);
const MICRO_TIMEOUT = envNum('MICRO_TIMEOUT', 120);
const TARGET_NAMES = envList('TARGETS', 'shard,proxy');
const VALUE_SIZE = 3; // redis-benchmark's default -d, so SET runs keep the prefilled size
const KNOBS = ['SCENARIOS', 'BENCH_ACL', 'ROUNDS', 'DURATION', 'TARGETS', 'SKIP_MICRO', 'CLIENTS', 'KEYSPACE', 'PIPELINES', 'TESTS',
  'PAUSE', 'QUIET_PCT', 'QUIET_MAX', 'MAX_OTHER', 'RETRIES', 'BENCH_TARGET_CMD',
  'MEMORY_KEYS', 'MEMORY_SIZES', 'MEMORY_TARGETS', 'SETTLE_MS',
  'CHURN_SETS', 'CHURN_BIG_SETS', 'CHURN_KEYSPACE', 'CHURN_MAXMEMORY', 'CHURN_WINDOW', 'SAMPLE_MS',
  'HIT_REQUESTS', 'HIT_KEYS', 'HIT_SKEW', 'HIT_CAPACITY', 'HIT_CALIBRATE', 'HIT_WINDOW', 'HIT_POLICIES', 'HIT_SEED',
  'FANOUT_WS', 'FANOUT_RESP', 'FANOUT_RATE', 'FANOUT_WINDOW', 'FANOUT_SECS',
  'PUBSUB_SUBS', 'PUBSUB_N', 'PUBSUB_CLIENTS', 'PUBSUB_PIPELINE', 'PUBSUB_SIZE', 'PUBSUB_ROUNDS',
  'COST_MAXMEMORY', 'COST_TESTS', 'COST_PIPELINE', 'COST_KEYSPACE', 'COST_TTL_PCT', 'COST_REDIS',
  'DATATYPE_TESTS', 'DATATYPE_PIPELINE', 'TYPEMEM_SCALE', 'TYPEMEM_DATASETS', 'TYPEMEM_TARGETS',
  'TLS_TARGETS', 'TLS_TESTS', 'TLS_PIPELINES', 'TLS_KEYSPACE', ...LATENCY_KNOBS, ...MAXRATE_KNOBS, ...PERSISTENCE_KNOBS,
  ...REPLICATION_KNOBS, ...FAILOVER_KNOBS];
/** Every scenario, in the order they run and appear in RESULTS.md. */
const ALL_SCENARIOS = ['micro', 'throughput', 'datatypes', 'memory', 'typememory', 'churn', 'hitratio', 'cost', 'tls', 'latency', 'maxrate', 'fanout', 'pubsub', 'persistence', 'replication', 'failover'];
/** redis-benchmark tests of the datatypes scenario (collections), at DATATYPE_PIPELINE. */
const DATATYPE_TESTS = envList('DATATYPE_TESTS', 'lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100').map((t) => t.toLowerCase());
const DATATYPE_PIPELINE = envNum('DATATYPE_PIPELINE', 16);

/** Goals from the issue: minimum shoal/redis rps ratio per target and pipeline depth. */
const GOALS: Record<string, Record<number, number>> = {
  'shard-direct': { 1: 0.8, 16: 0.5 },
  proxy: { 1: 0.5, 16: 0.3 },
};
/** Goals of the datatypes scenario (issue 4): per test, -P 16. */
const DATATYPE_GOALS: Record<string, number> = { 'shard-direct': 0.5, proxy: 0.3 };

// ---------------------------------------------------------------- prefill / verify

const keyName = (i: number) => `key:${String(i).padStart(12, '0')}`;
/** 3 bytes derived from the index, so a server returning another key's value is caught. */
const valueOf = (i: number) => (i % 46_656).toString(36).padStart(VALUE_SIZE, '0');

async function prefillAndVerify(s: Server): Promise<void> {
  const t0 = Date.now();
  const c = await RespClient.connect(s.port, HOST);
  try {
    const BATCH = 2000;
    const inflight: Promise<Reply[]>[] = [];
    const check = (replies: Reply[], from: number) => {
      replies.forEach((r, j) => {
        if (r !== 'OK') die(`${s.name}: prefill SET ${keyName(from + j)} got ${showReply(r)}, expected +OK`, 3);
      });
    };
    for (let from = 0; from < KEYSPACE; from += BATCH) {
      const cmds: string[][] = [];
      for (let i = from; i < Math.min(KEYSPACE, from + BATCH); i++) cmds.push(['SET', keyName(i), valueOf(i)]);
      const f = from;
      inflight.push(c.pipeline(cmds).then((r) => { check(r, f); return r; }));
      if (inflight.length >= 8) await inflight.shift();
    }
    await Promise.all(inflight);

    // A server that answers +OK to everything would post great numbers: check bytes.
    const samples = [0, KEYSPACE - 1, ...Array.from({ length: 200 }, () => Math.floor(Math.random() * KEYSPACE))];
    const got = await c.pipeline(samples.map((i) => ['GET', keyName(i)]));
    samples.forEach((i, j) => {
      const r = got[j];
      if (!Buffer.isBuffer(r) || r.toString('latin1') !== valueOf(i)) {
        die(`${s.name}: GET ${keyName(i)} returned ${showReply(r)}, expected "${valueOf(i)}" (the prefilled value)`, 3);
      }
    });
    const key = `shoal-bench:verify:${process.pid}:${Date.now()}`;
    const val = Buffer.from([0x00, 0x0d, 0x0a, 0xff, 0x24, 0x2a, ...Buffer.from(`value of ${key}`)]);
    const [setR, getR, missR] = await c.pipeline([['SET', key, val], ['GET', key], ['GET', `${key}:absent`]]);
    if (setR !== 'OK') die(`${s.name}: SET ${key} got ${showReply(setR)}, expected +OK`, 3);
    if (!Buffer.isBuffer(getR) || !getR.equals(val)) {
      die(`${s.name}: GET ${key} returned ${showReply(getR)}, not the ${val.length} binary bytes just SET`, 3);
    }
    if (missR !== null) die(`${s.name}: GET of a missing key returned ${showReply(missR)}, expected nil`, 3);
  } finally {
    c.close();
  }
  log(`${s.name}: prefilled ${KEYSPACE} keys x ${VALUE_SIZE} B and verified SET/GET/missing-key in ${Date.now() - t0} ms`);
}

/**
 * BENCH_ACL=1 (default): redis-server and the proxy load the same ACL file and
 * redis-benchmark logs in as `bench`, a user limited to some categories and key
 * patterns, so every command pays the ACL check (the issue measures the proxy "with
 * ACL and metrics on"). Shard workers have no ACL: shard-direct runs as `default`.
 */
const BENCH_ACL = process.env['BENCH_ACL'] !== '0';
const ACL_FILE = path.join(WORK, 'bench.acl');
const ACL_LOGIN = ['--user', 'bench', '-a', 'benchpass'];
if (BENCH_ACL) {
  fs.writeFileSync(ACL_FILE, ['user default on nopass ~* &* +@all',
    'user bench on >benchpass ~key:* ~my* ~counter:* resetchannels -@all +@read +@write +@connection -@dangerous +config|get', ''].join('\n'));
}
const aclArgs = (s: Server): string[] => (BENCH_ACL && s.name !== 'shard-direct' ? ACL_LOGIN : []);

/** One redis-benchmark run of the throughput pass (its keyspace, clients and value size). */
function benchRun(s: Server, other: Server, test: string, pipeline: number, n: number, gate = true): Promise<Run> {
  return redisBenchmarkRun(s, [other], { test, pipeline, n, clients: CLIENTS, keyspace: KEYSPACE, valueSize: VALUE_SIZE, extraArgs: aclArgs(s) }, gate);
}

/** Short runs grown until one lasts >= DURATION/3 (they double as warm-up); returns -n for ~DURATION s. */
async function calibrate(s: Server, other: Server, test: string, pipeline: number): Promise<number> {
  let n = 10_000 * pipeline;
  let r = await benchRun(s, other, test, pipeline, n, false);
  for (let i = 0; i < 3 && r.secs < DURATION / 3; i++) {
    n = Math.ceil(n * Math.min(20, DURATION / 3 / Math.max(r.secs, 0.05)) * 1.2);
    r = await benchRun(s, other, test, pipeline, n, false);
  }
  return Math.max(10_000, Math.min(50_000_000, Math.round(r.rps * DURATION)));
}

// ---------------------------------------------------------------- workloads

interface Row {
  target: string;
  test: string;
  pipeline: number;
  shoal: Run[];
  redis: Run[];
}


async function measureWorkload(target: Server, redis: Server, test: string, pipeline: number): Promise<Row> {
  const wl = `${target.name} ${test.toUpperCase()} P=${pipeline}`;
  log(`${wl}: calibrating`);
  const nT = await calibrate(target, redis, test, pipeline);
  const nR = await calibrate(redis, target, test, pipeline);
  log(`${wl}: -n ${target.name}=${nT} redis=${nR}`);
  const row: Row = { target: target.name, test: test.toUpperCase(), pipeline, shoal: [], redis: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 ? [target, redis] : [redis, target];
    for (let attempt = 0; ; attempt++) {
      const pair = new Map<Server, Run>();
      for (const side of order) {
        log(`${wl}: round ${round}/${ROUNDS} ${side.name}${attempt ? ` (retry ${attempt})` : ''}`);
        const r = await benchRun(side, side === target ? redis : target, test, pipeline, side === target ? nT : nR);
        pair.set(side, r);
        log(`  ${Math.round(r.rps)} rps in ${r.secs.toFixed(2)} s, p50=${r.p50} p99=${r.p99} ms, `
          + `server_cpu=${r.serverCpu.toFixed(0)}% (${r.usPerReq.toFixed(2)} us/req), other_cpu=${r.other.toFixed(0)}%`
          + `${r.quiet ? '' : ' (started on a busy machine)'}`);
      }
      // Redo a pair disturbed by a burst; when the box was busy even before the runs
      // (quiet gate gave up), a redo would only meet the same load: keep it, flagged.
      const runs = [...pair.values()];
      const disturbed = runs.some((r) => r.other > MAX_OTHER);
      if (!disturbed || attempt >= RETRIES || runs.some((r) => !r.quiet)) {
        row.shoal.push(pair.get(target) as Run);
        row.redis.push(pair.get(redis) as Run);
        break;
      }
      log(`  round ${round}: other processes used > ${MAX_OTHER}% of a core; redoing this pair`);
    }
  }
  return row;
}

interface Summary {
  row: Row;
  shoalRps: number;
  redisRps: number;
  ratio: number;
  pairMin: number;
  pairMax: number;
  shoalCpu: number;
  redisCpu: number;
  cost: number;
  other: number;
}

function summarize(row: Row): Summary {
  const pairs = row.shoal.map((r, i) => r.rps / (row.redis[i]?.rps ?? NaN));
  const shoalRps = median(row.shoal.map((r) => r.rps));
  const redisRps = median(row.redis.map((r) => r.rps));
  return {
    row,
    shoalRps,
    redisRps,
    ratio: shoalRps / redisRps,
    pairMin: Math.min(...pairs),
    pairMax: Math.max(...pairs),
    shoalCpu: median(row.shoal.map((r) => r.serverCpu)),
    redisCpu: median(row.redis.map((r) => r.serverCpu)),
    cost: median(row.shoal.map((r) => r.usPerReq)) / median(row.redis.map((r) => r.usPerReq)),
    other: Math.max(...row.shoal.map((r) => r.other), ...row.redis.map((r) => r.other)),
  };
}

// ---------------------------------------------------------------- targets

interface TargetSpec { name: string; ports: number; argv: (base: number, dataDir: string) => string[] }

function targetSpecs(): TargetSpec[] {
  const node = process.execPath;
  const override = process.env['BENCH_TARGET_CMD'];
  const fromOverride = (name: string): TargetSpec | undefined => {
    if (!override) return undefined;
    let argv: unknown;
    try { argv = JSON.parse(override); } catch { die('BENCH_TARGET_CMD must be a JSON array of strings', 1); }
    if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string')) die('BENCH_TARGET_CMD must be a JSON array of strings', 1);
    return { name, ports: 1, argv: (p) => (argv as string[]).map((a) => a.replaceAll('{port}', String(p))) };
  };
  const all: Record<string, TargetSpec> = {
    shard: fromOverride('shard-direct') ?? {
      name: 'shard-direct',
      ports: 1,
      argv: (p) => [node, 'dist/bin/shoal-shard.js', '--port', String(p), '--workers', '1', '--save', ''],
    },
    proxy: fromOverride('proxy') ?? {
      // proxy on p, admin HTTP on p+1, shard workers from p+2 up (room for 8)
      name: 'proxy',
      ports: 10,
      argv: (p, dataDir) => [node, 'dist/bin/shoal.js', '--port', String(p), '--http-port', String(p + 1),
        // No replicas (npm start runs one per primary): compared with one redis-server.
        '--shard-port', String(p + 2), '--data-dir', dataDir, '--save', '', '--replicas', '0'],
    },
  };
  return TARGET_NAMES.map((t) => all[t] ?? die(`TARGETS: unknown target "${t}" (use shard, proxy)`, 1));
}

// ---------------------------------------------------------------- micro

interface Micro { file: string; lines: string[]; status: string }

async function runMicro(): Promise<Micro[]> {
  const dir = path.join(ROOT, 'dist', 'loadtest', 'micro');
  let files: string[] = [];
  try { files = fs.readdirSync(dir).filter((f) => f.endsWith('.bench.js')).sort(); } catch { /* none */ }
  if (files.length === 0) log(`micro: no ${path.relative(ROOT, dir)}/*.bench.js found`);
  const out: Micro[] = [];
  for (const f of files) {
    log(`micro: ${f}`);
    const res = await new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [path.join(dir, f)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let so = '', se = '';
      child.stdout.on('data', (d: Buffer) => { so += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { se += d.toString(); });
      const timer = setTimeout(() => child.kill('SIGKILL'), MICRO_TIMEOUT * 1000);
      child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout: so, stderr: se }); });
    });
    const lines = res.stdout.split('\n').map((l) => l.trim()).filter((l) => /^\S+ ops_per_sec=[\d.e+]+/.test(l));
    let status = 'ok';
    if (res.signal === 'SIGKILL') status = `killed after MICRO_TIMEOUT=${MICRO_TIMEOUT} s`;
    else if (res.code !== 0) status = `exit ${res.code}: ${res.stderr.trim().split('\n').slice(-1)[0] ?? ''}`;
    else if (lines.length === 0) status = 'printed no "name ops_per_sec=N" line';
    for (const l of lines) log(`  ${l}`);
    if (status !== 'ok') log(`  ${f}: ${status}`);
    out.push({ file: f, lines, status });
  }
  return out;
}

// ---------------------------------------------------------------- report

const fmt = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-');

const HEAD = ['target', 'workload', 'shoal_rps', 'redis_rps', 'ratio', 'rounds', 'shoal_cpu%', 'redis_cpu%', 'cost', 'other%'];
function tableRows(sums: Summary[]): string[][] {
  return sums.map((s) => [s.row.target, `${s.row.test} P=${s.row.pipeline}`, fmt(s.shoalRps), fmt(s.redisRps),
    fmt(s.ratio, 3), `${fmt(s.pairMin, 2)}-${fmt(s.pairMax, 2)}`, fmt(s.shoalCpu), fmt(s.redisCpu), fmt(s.cost, 2), `${fmt(s.other)}${s.other > MAX_OTHER ? '!' : ''}`]);
}

interface Goal { target: string; pipeline: number; min: number; worst: number | undefined; verdict: string }
function goals(sums: Summary[]): Goal[] {
  const out: Goal[] = [];
  for (const [target, byP] of Object.entries(GOALS)) {
    for (const [p, min] of Object.entries(byP)) {
      const rows = sums.filter((s) => s.row.target === target && s.row.pipeline === Number(p));
      const worst = rows.length ? Math.min(...rows.map((s) => s.ratio)) : undefined;
      const noisy = rows.some((s) => s.other > MAX_OTHER) ? ' (disturbed rows)' : '';
      const verdict = worst === undefined ? 'not measured' : `${worst >= min ? 'met' : 'not met'}${noisy}`;
      out.push({ target, pipeline: Number(p), min, worst, verdict });
    }
  }
  return out;
}

function disturbedWarning(sums: Summary[]): string {
  const bad = sums.filter((s) => s.other > MAX_OTHER).length;
  return bad === 0 ? '' : `${bad} of ${sums.length} rows ran while other processes used more than ${MAX_OTHER} % of a core `
    + '(other% marked !): those numbers are not reliable; rerun on a quiet machine.';
}


function commandLine(): string {
  const env = KNOBS.filter((k) => process.env[k] !== undefined).map((k) => `${k}=${JSON.stringify(process.env[k])}`);
  return [...env, 'npm run bench'].join(' ');
}

function throughputSection(sums: Summary[]): Section {
  const g = goals(sums);
  const text = !sums.length ? '' : [textTable(HEAD, tableRows(sums)),
    ...(disturbedWarning(sums) ? [`WARNING: ${disturbedWarning(sums)}`] : []),
    ...g.filter((x) => x.verdict !== 'not measured')
      .map((x) => `goal ${x.target} -P ${x.pipeline} >= ${x.min}: ${x.verdict} (worst ratio ${fmt(x.worst ?? NaN, 3)})`)].join('\n');
  const markdown = `## Throughput (requests/s, medians)

Method: ${KEYSPACE} keys \`key:000000000000..\` prefilled with ${VALUE_SIZE}-byte values in both servers and read
back; \`redis-benchmark -t TEST -r ${KEYSPACE} -c ${CLIENTS} -P P -d ${VALUE_SIZE} --csv\` with \`-n\` calibrated per
server for ~${DURATION} s runs; ${ROUNDS} rounds interleaved and counter-balanced (Shoal,redis / redis,Shoal / ...),
each run after a quiet gate; medians per workload. The redis-server is private
(\`--save '' --appendonly no\`). Shoal targets run one at a time:
- shard-direct: \`node dist/bin/shoal-shard.js --port P --workers 1 --save ''\`
- proxy: \`node dist/bin/shoal.js --port P --http-port H --shard-port S --data-dir TMP --save '' --replicas 0\` (embedded cluster)
${disturbedWarning(sums) ? `\n> **Warning:** ${disturbedWarning(sums)}\n` : ''}
${sums.length ? mdTable(HEAD, tableRows(sums)) : '_No macro runs (TARGETS was empty)._'}

- \`ratio\` = shoal_rps / redis_rps (> 1: Shoal faster); \`rounds\` = range of the per-round ratios.
- \`shoal_cpu%\`, \`redis_cpu%\`: server CPU during the runs in % of one core (all processes and threads of the
  target: launcher, proxy, shard workers). At -P 1 redis-benchmark is the bottleneck on a 2-core box, so read
  these before the ratio.
- \`cost\` = Shoal's CPU per request / redis's. \`other%\`: most CPU any other process took during a kept run
  (% of one core); above ~20 distrust the row, \`!\` marks rows above MAX_OTHER (kept after retries or because the
  machine was busy before the run). Noise floor (redis vs redis): ratios 0.88-1.12.

## Targets (from the issue)

${mdTable(['target', 'pipeline', 'goal', 'worst ratio (SET, GET)', 'verdict'],
  g.map((x) => [x.target, `-P ${x.pipeline}`, `>= ${x.min}x redis`, x.worst === undefined ? '-' : x.worst.toFixed(3), x.verdict]))}
`;
  return { scenario: 'throughput', text, markdown };
}

function datatypesSection(sums: Summary[]): Section {
  const verdicts = sums.map((x) => {
    const min = DATATYPE_GOALS[x.row.target];
    return min === undefined ? 'no goal' : x.ratio >= min ? 'met' : 'not met';
  });
  const rows = tableRows(sums).map((r, i) => [...r, verdicts[i]!]);
  const head = [...HEAD, 'goal'];
  const goalLine = Object.entries(DATATYPE_GOALS).map(([t, m]) => `${t} >= ${m}x`).join(', ');
  const text = !sums.length ? '' : [textTable(head, rows), ...(disturbedWarning(sums) ? [`WARNING: ${disturbedWarning(sums)}`] : []),
    `goals (each test, -P ${DATATYPE_PIPELINE}): ${goalLine}; met ${verdicts.filter((v) => v === 'met').length}/${verdicts.length}`].join('\n');
  const markdown = `## Collections throughput (requests/s, medians)

Method: as the throughput scenario (same targets, calibration, ${ROUNDS} interleaved counter-balanced rounds, quiet
gate, medians), with \`redis-benchmark -t TEST -r ${KEYSPACE} -c ${CLIENTS} -P ${DATATYPE_PIPELINE}\` for each of
${DATATYPE_TESTS.join(', ')} (redis-benchmark's keys: mylist, myset, myhash, myzset; one key each, so one worker
serves each test). Goals from the issue: ${goalLine} Redis on each test.
${disturbedWarning(sums) ? `\n> **Warning:** ${disturbedWarning(sums)}\n` : ''}
${sums.length ? mdTable(head, rows) : '_No runs (TARGETS was empty)._'}
`;
  return { scenario: 'datatypes', text, markdown };
}

function microSection(micro: Micro[]): Section {
  const lines = micro.flatMap((m) => (m.status === 'ok' ? m.lines : [...m.lines, `# ${m.file}: ${m.status}`]));
  return {
    scenario: 'micro',
    text: lines.join('\n'),
    markdown: `## Micro benches\n\n${micro.length === 0 ? '_No dist/loadtest/micro/*.bench.js found._' : '```\n' + lines.join('\n') + '\n```'}\n`,
  };
}

function failedSection(scenario: string, e: unknown): Section {
  const msg = e instanceof Error ? e.message : String(e);
  return {
    scenario,
    text: `${scenario}: FAILED: ${msg}`,
    markdown: `## ${scenario}: failed\n\nThe scenario stopped with an error; no figures:\n\n\`\`\`\n${msg}\n\`\`\`\n`,
  };
}

/**
 * The `<!-- section:NAME -->` blocks of an earlier RESULTS.md, for the scenarios not
 * run this time (a file from before the markers existed yields throughput and micro).
 */
function oldSections(file: string): Map<string, string> {
  const out = new Map<string, string>();
  let text = '';
  try { text = fs.readFileSync(file, 'utf8'); } catch { return out; }
  const gen = /Generated (\S+) by `([^`]*)`/.exec(text);
  const note = `> Carried over from the run of ${gen?.[1] ?? 'an earlier date'} (\`${gen?.[2] ?? '?'}\`): not rerun this time.`;
  const mark = (block: string) => {
    const b = block.trim().replace(/\n{3,}/g, '\n\n');
    if (b.includes('> Carried over from the run of')) return `${b}\n`;
    const nl = b.indexOf('\n');
    return nl < 0 ? `${b}\n\n${note}\n` : `${b.slice(0, nl)}\n\n${note}\n\n${b.slice(nl).trimStart()}\n`;
  };
  const re = /<!-- section:(\w+) -->\n([\s\S]*?)<!-- \/section:\1 -->/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.set(m[1] ?? '', mark(m[2] ?? ''));
  if (out.size === 0) {
    const thr = /^## Throughput[\s\S]*?(?=^## Micro benches)/m.exec(text)?.[0];
    const method = /^- Method:[\s\S]*?(?=^\n|^## )/m.exec(text)?.[0];
    if (thr) {
      const nl = thr.indexOf('\n');
      out.set('throughput', mark(`${thr.slice(0, nl)}\n\n${(method ?? '').replace(/^- /, '').replace(/^ {2}/gm, '')}${thr.slice(nl)}`));
    }
    const micro = /^## Micro benches[\s\S]*$/m.exec(text)?.[0];
    if (micro) out.set('micro', mark(micro));
  }
  return out;
}

function writeResults(file: string, startedAt: Date, loadStart: string, sections: Section[], selected: string[]): void {
  const cpuModel = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'latin1'))?.[1] ?? 'unknown cpu';
  const old = oldSections(file);
  const ran = new Set(sections.map((x) => x.scenario));
  const blocks: string[] = [];
  const carried: string[] = [];
  const chartsDir = path.join(path.dirname(file), 'charts');
  const charts: string[] = [];
  for (const name of ALL_SCENARIOS) {
    const sec = sections.find((x) => x.scenario === name);
    let body = sec?.markdown ?? old.get(name);
    if (!sec && body) carried.push(name);
    if (!body) continue;
    // Carried-over sections are redrawn from their tables too, so their links stay valid.
    try {
      const drawn = attachCharts(name, body, chartsDir);
      body = drawn.markdown;
      charts.push(...drawn.files);
      for (const f of drawn.files) log(`chart ${path.relative(process.cwd(), f) || f}`);
    } catch (e) {
      log(`${name}: charts not drawn: ${(e as Error).message}`);
    }
    blocks.push(`<!-- section:${name} -->\n${body.trimEnd()}\n<!-- /section:${name} -->`);
  }
  const md = `<!-- Generated by \`npm run bench\` (loadtest/bench.ts). Do not edit by hand: rerun it. -->
# Benchmark results

Generated ${startedAt.toISOString()} by \`${commandLine()}\` (see [README.md](README.md)).

- Machine: ${os.cpus().length} cpus (nproc ${os.availableParallelism()}), ${cpuModel}, ${os.type()} ${os.release()},
  ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM; loadavg ${loadStart} at start, ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} at end
- Node ${process.version}; ${versionOf('redis-server')}; redis-benchmark ${versionOf('redis-benchmark').replace(/^redis-benchmark\s*/, '')}
- Scenarios run: ${[...ran].join(', ') || 'none'} (selected: ${selected.join(', ')})${carried.length ? `; carried over from earlier runs: ${carried.join(', ')}` : ''}

${blocks.join('\n\n')}
`;
  fs.writeFileSync(file, md);
  for (const f of pruneCharts(chartsDir, charts)) log(`removed ${path.relative(process.cwd(), f) || f} (no section links it)`);
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(HELP);
    return;
  }
  const startedAt = new Date();
  const loadStart = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  const selected = envList('SCENARIOS', ALL_SCENARIOS.join(',')).map((x) => x.toLowerCase());
  for (const x of selected) if (!ALL_SCENARIOS.includes(x)) die(`SCENARIOS: unknown scenario "${x}" (use ${ALL_SCENARIOS.join(', ')})`, 1);
  const want = (x: string) => selected.includes(x);
  const specs = want('throughput') || want('datatypes') ? targetSpecs() : [];
  if (selected.some((x) => x !== 'micro')) {
    for (const tool of ['redis-server', 'redis-benchmark']) {
      if (spawnSync(tool, ['--version']).error) die(`${tool} not found (apt-get install -y redis-server redis-tools)`, 1);
    }
    for (const script of ['dist/bin/shoal-shard.js', 'dist/bin/shoal.js']) {
      if (!process.env['BENCH_TARGET_CMD'] && !fs.existsSync(path.join(ROOT, script))) {
        die(`${script} not found; did \`npm run build\` emit it?`, 2);
      }
    }
  }

  const sections: Section[] = [];
  let firstError: unknown = null;
  /** Runs one scenario; a failure is recorded (and its servers stopped) and the next scenario still runs. */
  const scenario = async (name: string, fn: () => Promise<Section>) => {
    if (!want(name)) return;
    const t0 = Date.now();
    log(`=== scenario ${name}`);
    try {
      const sec = await fn();
      sections.push({ ...sec, markdown: `${sec.markdown.trimEnd()}\n\n_Scenario wall time: ${Math.round((Date.now() - t0) / 1000)} s._\n` });
    } catch (e) {
      if (interrupted) throw e;
      firstError ??= e;
      log(`scenario ${name} FAILED: ${e instanceof Error ? e.message : String(e)}`);
      sections.push(failedSection(name, e));
      for (const s of [...servers]) await stopServer(s);
    }
    log(`=== scenario ${name} took ${Math.round((Date.now() - t0) / 1000)} s`);
  };

  if (process.env['SKIP_MICRO'] !== '1') await scenario('micro', async () => microSection(await runMicro()));
  /** Every Shoal target against one private redis-server, for each pipeline depth and test. */
  const measureTargets = async (tests: string[], pipelines: number[]): Promise<Summary[]> => {
    const sums: Summary[] = [];
    if (!specs.length) return sums;
    const redis = (await startRedis(BENCH_ACL ? ['--aclfile', ACL_FILE] : [])).server;
    for (const spec of specs) {
      const base = await freePorts(spec.ports);
      const dataDir = fs.mkdtempSync(path.join(WORK, `${spec.name}-data-`));
      const acl = BENCH_ACL && spec.name === 'proxy' ? ['--aclfile', ACL_FILE] : [];
      const target = startServer(spec.name, [...spec.argv(base, dataDir), ...acl], base);
      await waitReady(target);
      log(`${spec.name}: processes ${serverPids(target).join(',')}; redis pid ${redis.pid}`);
      await prefillAndVerify(target);
      await prefillAndVerify(redis);
      for (const P of pipelines) {
        for (const t of tests) {
          const s = summarize(await measureWorkload(target, redis, t, P));
          sums.push(s);
          log(`${spec.name} ${t.toUpperCase()} P=${P}: ratio ${fmt(s.ratio, 3)} (rounds ${fmt(s.pairMin, 2)}-${fmt(s.pairMax, 2)})`);
        }
      }
      await stopServer(target);
      log(`${spec.name} stopped`);
    }
    await stopServer(redis);
    return sums;
  };
  await scenario('throughput', async () => throughputSection(await measureTargets(TESTS, PIPELINES)));
  await scenario('datatypes', async () => datatypesSection(await measureTargets(DATATYPE_TESTS, [DATATYPE_PIPELINE])));
  await scenario('memory', runMemory);
  await scenario('typememory', runTypeMemory);
  await scenario('churn', runChurn);
  await scenario('hitratio', runHitratio);
  await scenario('cost', runCost);
  await scenario('tls', runTls);
  await scenario('latency', runLatency);
  await scenario('maxrate', runMaxRate);
  await scenario('fanout', runFanout);
  await scenario('pubsub', runPubsub);
  await scenario('persistence', runPersistence);
  await scenario('replication', runReplication);
  await scenario('failover', runFailover);

  console.log(`# ${commandLine()}  (${os.availableParallelism()} cpus, node ${process.version})`);
  for (const x of sections) if (x.text) console.log(`\n[${x.scenario}]\n${x.text}`);
  if (process.env['NO_RESULTS'] !== '1') {
    const file = process.env['RESULTS_FILE'] ? path.resolve(process.env['RESULTS_FILE']) : path.join(ROOT, 'loadtest', 'RESULTS.md');
    writeResults(file, startedAt, loadStart, sections, selected);
    log(`wrote ${path.relative(process.cwd(), file) || file}`);
  }
  if (firstError) throw firstError;
}

let keepWork = process.env['KEEP_WORK'] === '1';
let interrupted = false;
process.on('exit', () => {
  killAllSync();
  if (keepWork) process.stderr.write(`work dir kept: ${WORK}\n`);
  else fs.rmSync(WORK, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    interrupted = true;
    log(`${sig}: stopping the servers started here`);
    for (const s of servers) { try { process.kill(s.pid, 'SIGTERM'); } catch { /* gone */ } }
    setTimeout(() => process.exit(130), 1000).unref();
  });
}

main().then(() => process.exit(0), (e: unknown) => {
  if (interrupted) process.exit(130);
  keepWork = true;
  if (e instanceof BenchError) {
    process.stderr.write(`bench: ERROR: ${e.message}\n`);
    process.exit(e.code);
  }
  process.stderr.write(`bench: unexpected error: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
