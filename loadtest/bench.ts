// `npm run bench`: micro benches, then Shoal vs redis-server side by side.
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
// 3. Prints a table, writes loadtest/RESULTS.md.
//
// Method borrowed from ../shared/bench (README there explains why each step
// exists). Every process stopped here was started here, and is stopped by pid.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RespClient, showReply, type Reply } from './resp-client.js';

const HELP = `usage: npm run bench   (= npm run build && node dist/loadtest/bench.js [--help])

Runs dist/loadtest/micro/*.bench.js, then measures Shoal against a private
redis-server with redis-benchmark and writes loadtest/RESULTS.md.

Environment:
  TARGETS=shard,proxy  which Shoal targets to measure (shard = shoal-shard --workers 1,
                       proxy = shoal.js embedded cluster); TARGETS= (empty) skips macro
  ROUNDS=3             interleaved measured pairs per workload
  DURATION=3           seconds per measured redis-benchmark run (-n is calibrated)
  SKIP_MICRO=1         skip the micro benches
  CLIENTS=50 KEYSPACE=100000 PIPELINES=1,16 TESTS=set,get
  PAUSE=0.5 QUIET_PCT=10 QUIET_MAX=15   rest, then wait (at most QUIET_MAX s) until
                       the machine is < QUIET_PCT % busy before each run
  MAX_OTHER=30 RETRIES=2   redo a pair when other processes took > MAX_OTHER % of a core
  READY_TIMEOUT=30     seconds a server gets to answer PING and a SET
  RUN_TIMEOUT=120      hard cap per redis-benchmark run (s)
  MICRO_TIMEOUT=120    hard cap per micro bench file (s)
  KEEP_WORK=1          keep the work dir (server logs, raw outputs)
  NO_RESULTS=1         do not write loadtest/RESULTS.md
  BENCH_TARGET_CMD     testing aid: JSON argv replacing every Shoal target, "{port}"
                       substituted, e.g. '["redis-server","--port","{port}","--save",""]'

Exit: 0 ok (targets met or not), 1 setup/usage, 2 a server did not come up,
3 a server failed SET/GET verification, 4 a benchmark run failed.`;

// ---------------------------------------------------------------- config

function envNum(name: string, def: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) die(`${name}=${v} is not a non-negative number`, 1);
  return n;
}
function envList(name: string, def: string): string[] {
  return (process.env[name] ?? def).split(/[\s,]+/).filter((s) => s !== '');
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const HOST = '127.0.0.1';
const ROUNDS = Math.max(1, Math.floor(envNum('ROUNDS', 3)));
const DURATION = envNum('DURATION', 3);
const CLIENTS = envNum('CLIENTS', 50);
const KEYSPACE = envNum('KEYSPACE', 100_000);
const PIPELINES = envList('PIPELINES', '1,16').map(Number);
const TESTS = envList('TESTS', 'set,get').map((t) => t.toLowerCase());
const PAUSE = envNum('PAUSE', 0.5);
const QUIET_PCT = envNum('QUIET_PCT', 10);
const QUIET_MAX = envNum('QUIET_MAX', 15);
const MAX_OTHER = envNum('MAX_OTHER', 30);
const RETRIES = envNum('RETRIES', 2);
const READY_TIMEOUT = envNum('READY_TIMEOUT', 30);
const RUN_TIMEOUT = envNum('RUN_TIMEOUT', 120);
const MICRO_TIMEOUT = envNum('MICRO_TIMEOUT', 120);
const TARGET_NAMES = envList('TARGETS', 'shard,proxy');
const VALUE_SIZE = 3; // redis-benchmark's default -d, so SET runs keep the prefilled size
const KNOBS = ['ROUNDS', 'DURATION', 'TARGETS', 'SKIP_MICRO', 'CLIENTS', 'KEYSPACE', 'PIPELINES', 'TESTS',
  'PAUSE', 'QUIET_PCT', 'QUIET_MAX', 'MAX_OTHER', 'RETRIES', 'BENCH_TARGET_CMD'];

/** Goals from the issue: minimum shoal/redis rps ratio per target and pipeline depth. */
const GOALS: Record<string, Record<number, number>> = {
  'shard-direct': { 1: 0.8, 16: 0.5 },
  proxy: { 1: 0.5, 16: 0.3 },
};

// ---------------------------------------------------------------- logging, exit

class BenchError extends Error {
  constructor(message: string, readonly code: number) { super(message); }
}
function die(message: string, code: number): never { throw new BenchError(message, code); }
function log(msg: string): void {
  process.stderr.write(`[${new Date().toTimeString().slice(0, 8)}] ${msg}\n`);
}
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-bench-'));

// ---------------------------------------------------------------- /proc

const HZ = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/** Fields of /proc/PID/stat after the `(comm)`: index 0 = state, 1 = ppid, 11 = utime, 12 = stime. */
function statFields(pid: number | 'self'): string[] | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** pid plus all its descendants (by ppid), as of now. */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const ppid = Number(statFields(Number(d))?.[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(d));
    children.set(ppid, list);
  }
  const all = [root];
  for (let i = 0; i < all.length; i++) {
    for (const c of children.get(all[i] ?? -1) ?? []) if (!all.includes(c)) all.push(c);
  }
  return all;
}

/** utime+stime jiffies per pid (all threads); exited pids are left out. */
function cpuOf(pids: readonly number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const pid of pids) {
    const f = statFields(pid);
    if (f) m.set(pid, Number(f[11]) + Number(f[12]));
  }
  return m;
}
/** Jiffies used between two snapshots, counting only pids present in both. */
function cpuDelta(a: Map<number, number>, b: Map<number, number>): number {
  let t = 0;
  for (const [pid, v] of b) {
    const v0 = a.get(pid);
    if (v0 !== undefined) t += v - v0;
  }
  return t;
}

/** [busy, total] jiffies of the whole machine. */
function sysJiffies(): [number, number] {
  const f = (fs.readFileSync('/proc/stat', 'latin1').split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
  const [u = 0, n = 0, s = 0, idle = 0, io = 0, irq = 0, sirq = 0, st = 0] = f;
  return [u + n + s + irq + sirq + st, u + n + s + idle + io + irq + sirq + st];
}

/** CPU jiffies of this process plus its reaped children (redis-benchmark once it has exited). */
function selfAndReapedJiffies(): { self: number; reaped: number } {
  const f = statFields('self');
  return {
    self: Number(f?.[11] ?? 0) + Number(f?.[12] ?? 0),
    reaped: Number(f?.[13] ?? 0) + Number(f?.[14] ?? 0),
  };
}

/** Pids holding a socket that listens on `port` ([] if none or not readable). */
function pidsListeningOn(port: number): number[] {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set<string>();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try { text = fs.readFileSync(f, 'latin1'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const c = line.trim().split(/\s+/);
      if (c[1]?.endsWith(hex) && c[3] === '0A' && c[9] !== undefined) inodes.add(c[9]);
    }
  }
  if (inodes.size === 0) return [];
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let fds: string[];
    try { fds = fs.readdirSync(`/proc/${d}/fd`); } catch { continue; }
    for (const fd of fds) {
      let link = '';
      try { link = fs.readlinkSync(`/proc/${d}/fd/${fd}`); } catch { continue; }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m?.[1] !== undefined && inodes.has(m[1])) { out.push(Number(d)); break; }
    }
  }
  return out;
}

// ---------------------------------------------------------------- ports

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** First port of `count` consecutive free ports, below the ephemeral range (redis-benchmark's client sockets). */
async function freePorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = await portFree(p);
    if (ok) return base;
  }
  return die(`could not find ${count} consecutive free TCP ports`, 1);
}

function canConnect(port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: HOST });
    const done = (ok: boolean) => { clearTimeout(t); s.destroy(); resolve(ok); };
    const t = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

// ---------------------------------------------------------------- child processes

interface Server {
  name: string;
  port: number;
  child: ChildProcess;
  pid: number;
  logFile: string;
  exited: { code: number | null; signal: string | null } | null;
  knownPids: Set<number>; // pids ever seen in its tree, so orphans can be stopped by pid
}
const servers = new Set<Server>();
let benchChild: ChildProcess | null = null; // the redis-benchmark run in flight, if any

function startServer(name: string, argv: string[], port: number): Server {
  const [cmd, ...args] = argv;
  if (cmd === undefined) die(`${name}: empty command`, 1);
  const logFile = path.join(WORK, `${name}.log`);
  const fd = fs.openSync(logFile, 'a');
  log(`starting ${name}: ${argv.map((a) => (/^[\w./:=,{}-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')}`);
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  if (child.pid === undefined) die(`${name}: could not spawn ${cmd}`, 2);
  const s: Server = { name, port, child, pid: child.pid, logFile, exited: null, knownPids: new Set([child.pid]) };
  child.on('error', (e) => { s.exited ??= { code: null, signal: String(e.message) }; });
  child.on('exit', (code, signal) => { s.exited = { code, signal }; });
  servers.add(s);
  return s;
}

/** The server's current processes (root + descendants), remembered for cleanup. */
function serverPids(s: Server): number[] {
  if (s.exited) return [];
  const pids = processTree(s.pid);
  for (const p of pids) s.knownPids.add(p);
  return pids;
}

function logTail(s: Server, lines = 15): string {
  try {
    const t = fs.readFileSync(s.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    return t === '' ? '(log empty)' : t;
  } catch {
    return '(no log)';
  }
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** SIGTERM to the root, up to 5 s for it and its descendants to go, then SIGKILL by pid. */
async function stopServer(s: Server): Promise<void> {
  serverPids(s);
  const pids = [...s.knownPids];
  if (!s.exited) { try { process.kill(s.pid, 'SIGTERM'); } catch { /* gone */ } }
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && (!s.exited || pids.some((p) => p !== s.pid && alive(p)))) await sleep(50);
  for (const p of pids) {
    if (p === s.pid ? !s.exited : alive(p)) {
      log(`${s.name}: pid ${p} still running after SIGTERM + 5 s, sending SIGKILL`);
      try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
    }
  }
  servers.delete(s);
}

/** Last resort on exit/signal: SIGKILL every process we started (and saw in their trees). */
function killAllSync(): void {
  if (benchChild?.pid !== undefined && benchChild.exitCode === null) {
    try { process.kill(benchChild.pid, 'SIGKILL'); } catch { /* gone */ }
  }
  for (const s of servers) {
    for (const p of s.knownPids) {
      if (p === s.pid && s.exited) continue;
      try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
    }
  }
  servers.clear();
}

/**
 * Bounded wait until `s` answers PING with +PONG and a keyed SET with +OK (a proxy
 * may answer PING before its shards are up). Fails fast if the process exits.
 */
async function waitReady(s: Server): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT * 1000;
  let last = 'no connection yet';
  while (Date.now() < deadline) {
    if (s.exited) {
      die(`${s.name} exited (code ${s.exited.code}, signal ${s.exited.signal}) before answering PING on port ${s.port}.\n`
        + `--- last lines of ${s.logFile}:\n${logTail(s)}`, 2);
    }
    try {
      const c = await RespClient.connect(s.port, HOST, 2000);
      try {
        const [ping, set] = await c.pipeline([['PING'], ['SET', 'shoal-bench:ready', '1']]);
        if (ping === 'PONG' && set === 'OK') {
          checkPortOwner(s);
          log(`${s.name} ready on port ${s.port} (pid ${s.pid})`);
          return;
        }
        last = `PING -> ${showReply(ping)}, SET -> ${showReply(set)}`;
      } finally {
        c.close();
      }
    } catch (e) {
      if (e instanceof BenchError) throw e;
      last = (e as Error).message;
    }
    await sleep(200);
  }
  die(`${s.name} did not answer PING (+PONG) and SET (+OK) on ${HOST}:${s.port} within ${READY_TIMEOUT} s `
    + `(last: ${last}).\n--- last lines of ${s.logFile}:\n${logTail(s)}`, 2);
}

/** Refuse to measure a process we did not start (e.g. a leftover server on that port). */
function checkPortOwner(s: Server): void {
  const owners = pidsListeningOn(s.port);
  if (owners.length === 0) return; // not readable (not root?): cannot check
  const ours = new Set(serverPids(s));
  if (!owners.some((p) => ours.has(p))) {
    die(`port ${s.port} is held by pid ${owners.join(',')}, not by ${s.name} (pid ${s.pid}); refusing to measure it`, 2);
  }
}

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

// ---------------------------------------------------------------- one redis-benchmark run

interface Run {
  rps: number;
  secs: number;
  n: number;
  p50: number;
  p99: number;
  serverCpu: number; // % of one core, all the server's processes and threads
  usPerReq: number;  // server CPU microseconds per request
  other: number;     // % of one core used by anything but the servers, redis-benchmark and us
  quiet: boolean;
}

/** Rest PAUSE s, then wait until the machine is < QUIET_PCT % busy over 0.5 s (at most QUIET_MAX s). */
async function quietGate(pause: number): Promise<boolean> {
  await sleep(pause * 1000);
  const start = Date.now();
  for (;;) {
    const [b0, t0] = sysJiffies();
    await sleep(500);
    const [b1, t1] = sysJiffies();
    const pct = ((b1 - b0) * 100) / Math.max(1, t1 - t0);
    if (pct < QUIET_PCT) return true;
    if (Date.now() - start >= QUIET_MAX * 1000) {
      log(`  machine still ${pct.toFixed(0)}% busy after ${QUIET_MAX} s of waiting; running anyway`);
      return false;
    }
  }
}

function benchArgs(port: number, test: string, pipeline: number, n: number): string[] {
  return ['-h', HOST, '-p', String(port), '-t', test, '-n', String(n), '-r', String(KEYSPACE),
    '-c', String(CLIENTS), '-P', String(pipeline), '-d', String(VALUE_SIZE), '--csv'];
}

/** One run of `n` requests against `s`; `gate` false (calibration) only rests 0.2 s instead of the quiet gate. */
async function benchRun(s: Server, other: Server, test: string, pipeline: number, n: number, gate = true): Promise<Run> {
  const quiet = gate ? await quietGate(PAUSE) : (await sleep(200), true);
  if (s.exited || !(await canConnect(s.port))) {
    die(`${s.name} no longer accepts connections on port ${s.port} (crashed?).\n--- last lines of ${s.logFile}:\n${logTail(s)}`, 4);
  }
  const mine = serverPids(s);
  const theirs = serverPids(other);
  const args = benchArgs(s.port, test, pipeline, n);

  const m0 = cpuOf(mine), o0 = cpuOf(theirs), j0 = selfAndReapedJiffies(), [b0] = sysJiffies();
  const t0 = process.hrtime.bigint();
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn('redis-benchmark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    benchChild = child;
    let out = '', err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const timer = setTimeout(() => { err += `\n(killed after RUN_TIMEOUT=${RUN_TIMEOUT} s)`; child.kill('SIGKILL'); }, RUN_TIMEOUT * 1000);
    child.on('error', (e) => { clearTimeout(timer); resolve({ code: -1, stdout: out, stderr: String(e) }); });
    child.on('close', (c) => { clearTimeout(timer); benchChild = null; resolve({ code: c, stdout: out, stderr: err }); });
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const m1 = cpuOf(mine), o1 = cpuOf(theirs), j1 = selfAndReapedJiffies(), [b1] = sysJiffies();

  const row = stdout.split('\n').find((l) => l.startsWith(`"${test.toUpperCase()}"`));
  if (code !== 0 || row === undefined) {
    die(`redis-benchmark ${args.join(' ')} against ${s.name} failed (exit ${code}): `
      + `${(stderr + stdout).trim().split('\n').slice(-3).join(' | ')}`, 4);
  }
  // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  const cols = row.split(',').map((c) => Number(c.replace(/"/g, '')));
  const rps = cols[1] ?? NaN;
  const serverJ = cpuDelta(m0, m1);
  const otherServerJ = cpuDelta(o0, o1);
  const benchJ = j1.reaped - j0.reaped;
  const selfJ = j1.self - j0.self;
  return {
    rps,
    secs: wall,
    n,
    p50: cols[4] ?? NaN,
    p99: cols[6] ?? NaN,
    serverCpu: mine.length ? (serverJ / HZ / wall) * 100 : NaN,
    usPerReq: mine.length ? (serverJ / HZ / n) * 1e6 : NaN,
    other: Math.max(0, ((b1 - b0 - serverJ - otherServerJ - benchJ - selfJ) / HZ / wall) * 100),
    quiet,
  };
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

const median = (xs: number[]): number => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] ?? NaN : ((v[m - 1] ?? NaN) + (v[m] ?? NaN)) / 2;
};

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
      argv: (p) => [node, 'dist/bin/shoal-shard.js', '--port', String(p), '--workers', '1'],
    },
    proxy: fromOverride('proxy') ?? {
      // proxy on p, admin HTTP on p+1, shard workers from p+2 up (room for 8)
      name: 'proxy',
      ports: 10,
      argv: (p, dataDir) => [node, 'dist/bin/shoal.js', '--port', String(p), '--http-port', String(p + 1),
        '--shard-port', String(p + 2), '--data-dir', dataDir],
    },
  };
  return TARGET_NAMES.map((t) => all[t] ?? die(`TARGETS: unknown target "${t}" (use shard, proxy)`, 1));
}

async function startRedis(): Promise<Server> {
  const port = await freePorts(1);
  const s = startServer('redis', ['redis-server', '--port', String(port), '--bind', HOST, '--save', '',
    '--appendonly', 'no', '--daemonize', 'no', '--dir', WORK], port);
  await waitReady(s);
  const c = await RespClient.connect(port);
  try {
    const info = await c.send(['INFO', 'server']);
    const pid = Buffer.isBuffer(info) ? /process_id:(\d+)/.exec(info.toString())?.[1] : undefined;
    if (Number(pid) !== s.pid) die(`the redis-server answering on port ${port} is pid ${pid}, not the one started (${s.pid})`, 2);
  } finally {
    c.close();
  }
  return s;
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

function goalFor(target: string, pipeline: number): number | undefined {
  return GOALS[target]?.[pipeline];
}

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

function textTable(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i < 2 ? c.padEnd(w[i] ?? 0) : c.padStart(w[i] ?? 0))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}
function mdTable(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function versionOf(cmd: string): string {
  const r = spawnSync(cmd, ['--version'], { encoding: 'utf8' });
  return (r.stdout ?? '').trim() || 'unknown';
}

function commandLine(): string {
  const env = KNOBS.filter((k) => process.env[k] !== undefined).map((k) => `${k}=${JSON.stringify(process.env[k])}`);
  return [...env, 'npm run bench'].join(' ');
}

function writeResults(file: string, startedAt: Date, loadStart: string, sums: Summary[], micro: Micro[] | null): void {
  const cpuModel = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'latin1'))?.[1] ?? 'unknown cpu';
  const g = goals(sums);
  const md = `<!-- Generated by \`npm run bench\` (loadtest/bench.ts). Do not edit by hand: rerun it. -->
# Benchmark results

Generated ${startedAt.toISOString()} by \`${commandLine()}\` (see [README.md](README.md)).

- Machine: ${os.cpus().length} cpus (nproc ${os.availableParallelism()}), ${cpuModel}, ${os.type()} ${os.release()};
  loadavg ${loadStart} at start, ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} at end
- Node ${process.version}; ${versionOf('redis-server')}; redis-benchmark ${versionOf('redis-benchmark').replace(/^redis-benchmark\s*/, '')}
- Method: ${KEYSPACE} keys \`key:000000000000..\` prefilled with ${VALUE_SIZE}-byte values in both servers and read
  back; \`redis-benchmark -t TEST -r ${KEYSPACE} -c ${CLIENTS} -P P -d ${VALUE_SIZE} --csv\` with \`-n\` calibrated per
  server for ~${DURATION} s runs; ${ROUNDS} rounds interleaved and counter-balanced (Shoal,redis / redis,Shoal / ...),
  each run after a quiet gate; medians per workload. The redis-server is private
  (\`--save '' --appendonly no\`). Shoal targets run one at a time:
  - shard-direct: \`node dist/bin/shoal-shard.js --port P --workers 1\`
  - proxy: \`node dist/bin/shoal.js --port P --http-port H --shard-port S --data-dir TMP\` (embedded cluster)

## Throughput (requests/s, medians)
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

## Micro benches

${micro === null ? '_Skipped (SKIP_MICRO=1)._' : micro.length === 0 ? '_No dist/loadtest/micro/*.bench.js found._'
    : '```\n' + micro.flatMap((m) => (m.status === 'ok' ? m.lines : [...m.lines, `# ${m.file}: ${m.status}`])).join('\n') + '\n```'}
`;
  fs.writeFileSync(file, md);
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(HELP);
    return;
  }
  const startedAt = new Date();
  const loadStart = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  const specs = targetSpecs();
  if (specs.length) {
    for (const tool of ['redis-server', 'redis-benchmark']) {
      if (spawnSync(tool, ['--version']).error) die(`${tool} not found (apt-get install -y redis-server redis-tools)`, 1);
    }
    for (const t of specs) {
      const script = t.argv(0, '')[1];
      if (!process.env['BENCH_TARGET_CMD'] && script && !fs.existsSync(path.join(ROOT, script))) {
        die(`${t.name}: ${script} not found; did \`npm run build\` emit it?`, 2);
      }
    }
  }

  const micro = process.env['SKIP_MICRO'] === '1' ? null : await runMicro();

  const sums: Summary[] = [];
  if (specs.length) {
    const redis = await startRedis();
    for (const spec of specs) {
      const base = await freePorts(spec.ports);
      const dataDir = fs.mkdtempSync(path.join(WORK, `${spec.name}-data-`));
      const target = startServer(spec.name, spec.argv(base, dataDir), base);
      await waitReady(target);
      log(`${spec.name}: processes ${serverPids(target).join(',')}; redis pid ${redis.pid}`);
      await prefillAndVerify(target);
      await prefillAndVerify(redis);
      for (const P of PIPELINES) {
        for (const t of TESTS) {
          const s = summarize(await measureWorkload(target, redis, t, P));
          sums.push(s);
          log(`${spec.name} ${t.toUpperCase()} P=${P}: ratio ${fmt(s.ratio, 3)} (rounds ${fmt(s.pairMin, 2)}-${fmt(s.pairMax, 2)})`);
        }
      }
      await stopServer(target);
      log(`${spec.name} stopped`);
    }
    await stopServer(redis);
  }

  console.log(`# ${commandLine()}  (${os.availableParallelism()} cpus, node ${process.version})`);
  if (micro) for (const m of micro) for (const l of m.status === 'ok' ? m.lines : [...m.lines, `# ${m.file}: ${m.status}`]) console.log(l);
  if (sums.length) {
    console.log(textTable(HEAD, tableRows(sums)));
    if (disturbedWarning(sums)) console.log(`WARNING: ${disturbedWarning(sums)}`);
    for (const x of goals(sums)) {
      if (x.verdict !== 'not measured') {
        console.log(`goal ${x.target} -P ${x.pipeline} >= ${x.min}: ${x.verdict} (worst ratio ${fmt(x.worst ?? NaN, 3)})`);
      }
    }
  }
  if (process.env['NO_RESULTS'] !== '1') {
    const file = path.join(ROOT, 'loadtest', 'RESULTS.md');
    writeResults(file, startedAt, loadStart, sums, micro);
    log(`wrote ${path.relative(process.cwd(), file) || file}`);
  }
}

let keepWork = process.env['KEEP_WORK'] === '1';
process.on('exit', () => {
  killAllSync();
  if (keepWork) process.stderr.write(`work dir kept: ${WORK}\n`);
  else fs.rmSync(WORK, { recursive: true, force: true });
});
let interrupted = false;
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
