// Shared plumbing of `npm run bench` (loadtest/bench.ts) and its macro scenarios
// (loadtest/macro/*.ts): env knobs, logging and exit codes, /proc readers, free
// ports, the servers this run starts (and stops, by pid), readiness checks, one
// redis-benchmark run with CPU accounting, and table formatting.
//
// Every process stopped here was started here, and is stopped by pid.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RespClient, showReply } from '../resp-client.js';

// ---------------------------------------------------------------- config

export function envNum(name: string, def: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) die(`${name}=${v} is not a non-negative number`, 1);
  return n;
}
export function envList(name: string, def: string): string[] {
  return (process.env[name] ?? def).split(/[\s,]+/).filter((s) => s !== '');
}

/** The repository root (this file is dist/loadtest/macro/harness.js once built). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const HOST = '127.0.0.1';

// ---------------------------------------------------------------- logging, exit

export class BenchError extends Error {
  constructor(message: string, readonly code: number) { super(message); }
}
export function die(message: string, code: number): never { throw new BenchError(message, code); }
export function log(msg: string): void {
  process.stderr.write(`[${new Date().toTimeString().slice(0, 8)}] ${msg}\n`);
}
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const PAUSE = envNum('PAUSE', 0.5);
export const QUIET_PCT = envNum('QUIET_PCT', 10);
export const QUIET_MAX = envNum('QUIET_MAX', 15);
export const READY_TIMEOUT = envNum('READY_TIMEOUT', 30);
export const RUN_TIMEOUT = envNum('RUN_TIMEOUT', 120);

export const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-bench-'));

// ---------------------------------------------------------------- /proc

export const HZ = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/** Fields of /proc/PID/stat after the `(comm)`: index 0 = state, 1 = ppid, 11 = utime, 12 = stime. */
export function statFields(pid: number | 'self'): string[] | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** pid plus all its descendants (by ppid), as of now. */
export function processTree(root: number): number[] {
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
export function cpuOf(pids: readonly number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const pid of pids) {
    const f = statFields(pid);
    if (f) m.set(pid, Number(f[11]) + Number(f[12]));
  }
  return m;
}
/** Jiffies used between two snapshots, counting only pids present in both. */
export function cpuDelta(a: Map<number, number>, b: Map<number, number>): number {
  let t = 0;
  for (const [pid, v] of b) {
    const v0 = a.get(pid);
    if (v0 !== undefined) t += v - v0;
  }
  return t;
}

/** [busy, total] jiffies of the whole machine. */
export function sysJiffies(): [number, number] {
  const f = (fs.readFileSync('/proc/stat', 'latin1').split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
  const [u = 0, n = 0, s = 0, idle = 0, io = 0, irq = 0, sirq = 0, st = 0] = f;
  return [u + n + s + irq + sirq + st, u + n + s + idle + io + irq + sirq + st];
}

/** CPU jiffies of this process plus its reaped children (redis-benchmark once it has exited). */
export function selfAndReapedJiffies(): { self: number; reaped: number } {
  const f = statFields('self');
  return {
    self: Number(f?.[11] ?? 0) + Number(f?.[12] ?? 0),
    reaped: Number(f?.[13] ?? 0) + Number(f?.[14] ?? 0),
  };
}

/** Pids holding a socket that listens on `port` ([] if none or not readable). */
export function pidsListeningOn(port: number): number[] {
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

export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** First port of `count` consecutive free ports, below the ephemeral range (redis-benchmark's client sockets). */
export async function freePorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = await portFree(p);
    if (ok) return base;
  }
  return die(`could not find ${count} consecutive free TCP ports`, 1);
}

export function canConnect(port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: HOST });
    const done = (ok: boolean) => { clearTimeout(t); s.destroy(); resolve(ok); };
    const t = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

// ---------------------------------------------------------------- child processes

export interface Server {
  name: string;
  port: number;
  child: ChildProcess;
  pid: number;
  logFile: string;
  exited: { code: number | null; signal: string | null } | null;
  knownPids: Set<number>; // pids ever seen in its tree, so orphans can be stopped by pid
}
export const servers = new Set<Server>();
/** The redis-benchmark run in flight, if any (killed on exit). */
export const running: { benchChild: ChildProcess | null } = { benchChild: null };

export function startServer(name: string, argv: string[], port: number): Server {
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
export function serverPids(s: Server): number[] {
  if (s.exited) return [];
  const pids = processTree(s.pid);
  for (const p of pids) s.knownPids.add(p);
  return pids;
}

export function logTail(s: Server, lines = 15): string {
  try {
    const t = fs.readFileSync(s.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    return t === '' ? '(log empty)' : t;
  } catch {
    return '(no log)';
  }
}

export function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** SIGTERM to the root, up to 5 s for it and its descendants to go, then SIGKILL by pid. */
export async function stopServer(s: Server): Promise<void> {
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
export function killAllSync(): void {
  const benchChild = running.benchChild;
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
export async function waitReady(s: Server): Promise<void> {
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
export function checkPortOwner(s: Server): void {
  const owners = pidsListeningOn(s.port);
  if (owners.length === 0) return; // not readable (not root?): cannot check
  const ours = new Set(serverPids(s));
  if (!owners.some((p) => ours.has(p))) {
    die(`port ${s.port} is held by pid ${owners.join(',')}, not by ${s.name} (pid ${s.pid}); refusing to measure it`, 2);
  }
}
// ---------------------------------------------------------------- one redis-benchmark run

export interface Run {
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
export async function quietGate(pause: number): Promise<boolean> {
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

/** What one redis-benchmark run does: `-t test -n n -r keyspace -c clients -P pipeline -d valueSize --csv`. */
export interface BenchSpec {
  test: string; pipeline: number; n: number; clients: number; keyspace: number; valueSize: number;
  /** Appended to the argv (a later -p wins: e.g. `-p TLS_PORT --tls --cacert ...` for the tls scenario). */
  extraArgs?: string[];
}

export function benchArgs(port: number, b: BenchSpec): string[] {
  return ['-h', HOST, '-p', String(port), '-t', b.test, '-n', String(b.n), '-r', String(b.keyspace),
    '-c', String(b.clients), '-P', String(b.pipeline), '-d', String(b.valueSize), '--csv', ...(b.extraArgs ?? [])];
}

/**
 * One redis-benchmark run against `s` (CPU of `others` is not counted as "other").
 * `gate` false (calibration) only rests 0.2 s instead of the quiet gate. `prepare`
 * runs after the gate and before the clock starts (e.g. a prefill whose TTLs must
 * not tick away while the gate waits).
 */
export async function benchRun(s: Server, others: readonly Server[], b: BenchSpec, gate = true,
  prepare?: () => Promise<void>): Promise<Run> {
  const quiet = gate ? await quietGate(PAUSE) : (await sleep(200), true);
  if (prepare) await prepare();
  if (s.exited || !(await canConnect(s.port))) {
    die(`${s.name} no longer accepts connections on port ${s.port} (crashed?).\n--- last lines of ${s.logFile}:\n${logTail(s)}`, 4);
  }
  const mine = serverPids(s);
  const theirs = others.flatMap(serverPids);
  const { test, n } = b;
  const args = benchArgs(s.port, b);

  const m0 = cpuOf(mine), o0 = cpuOf(theirs), j0 = selfAndReapedJiffies(), [b0] = sysJiffies();
  const t0 = process.hrtime.bigint();
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn('redis-benchmark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.benchChild = child;
    let out = '', err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const timer = setTimeout(() => { err += `\n(killed after RUN_TIMEOUT=${RUN_TIMEOUT} s)`; child.kill('SIGKILL'); }, RUN_TIMEOUT * 1000);
    child.on('error', (e) => { clearTimeout(timer); resolve({ code: -1, stdout: out, stderr: String(e) }); });
    child.on('close', (c) => { clearTimeout(timer); running.benchChild = null; resolve({ code: c, stdout: out, stderr: err }); });
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const m1 = cpuOf(mine), o1 = cpuOf(theirs), j1 = selfAndReapedJiffies(), [b1] = sysJiffies();

  // LRANGE_100's row reads "LRANGE_100 (first 100 elements)"; LPUSH's own row is exactly "LPUSH".
  const T = test.toUpperCase();
  const row = stdout.split('\n').find((l) => l.startsWith(`"${T}"`) || l.startsWith(`"${T} (`));
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


// ---------------------------------------------------------------- stats, tables

export const median = (xs: number[]): number => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] ?? NaN : ((v[m - 1] ?? NaN) + (v[m] ?? NaN)) / 2;
};

export const fmt = (x: number | undefined, d = 0) => (x !== undefined && Number.isFinite(x) ? x.toFixed(d) : 'n/a');
export const MiB = 1024 * 1024;
export const fmtMiB = (bytes: number | undefined, d = 1) => (bytes === undefined ? 'n/a' : `${fmt(bytes / MiB, d)} MiB`);

export function textTable(head: string[], rows: string[][], leftCols = 2): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i < leftCols ? c.padEnd(w[i] ?? 0) : c.padStart(w[i] ?? 0))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}
export function mdTable(head: string[], rows: string[][], leftCols = 2): string {
  return [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < leftCols ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function versionOf(cmd: string): string {
  const r = spawnSync(cmd, ['--version'], { encoding: 'utf8' });
  return (r.stdout ?? '').trim() || 'unknown';
}

/** One scenario's contribution to stdout and to RESULTS.md (a `## ` section, or several). */
export interface Section { scenario: string; text: string; markdown: string }

/** met / not met / n/a for a measured value against a bound. */
export function verdict(ok: boolean | undefined): string {
  return ok === undefined ? 'n/a' : ok ? 'met' : 'not met';
}

// ---------------------------------------------------------------- /proc memory, INFO, topology

/** VmRSS in bytes summed over pids; a pid that is gone is an error (a server died under us). */
export function rssBytes(pids: readonly number[]): number {
  let kb = 0;
  for (const pid of pids) {
    let status: string;
    try { status = fs.readFileSync(`/proc/${pid}/status`, 'latin1'); } catch {
      return die(`cannot read /proc/${pid}/status: process gone (crashed?)`, 2);
    }
    kb += Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? NaN);
  }
  return kb * 1024;
}

/** INFO [section] as a field map (fields of every section returned). */
export async function info(c: RespClient, section: string): Promise<Map<string, string>> {
  const r = await c.send(['INFO', section]);
  const m = new Map<string, string>();
  if (!Buffer.isBuffer(r)) return m;
  for (const line of r.toString('latin1').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) m.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return m;
}
/** A numeric INFO field, undefined when the server does not report it. */
export function field(m: Map<string, string>, key: string): number | undefined {
  const v = m.get(key);
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** Sends a command and requires +OK; returns the error text instead of failing when `soft`. */
export async function mustOk(c: RespClient, argv: string[], who: string, soft = false): Promise<string | undefined> {
  const r = await c.send(argv);
  if (r === 'OK') return undefined;
  const msg = `${who}: ${argv.join(' ')} -> ${showReply(r)}`;
  if (soft) { log(`  warning: ${msg}`); return msg; }
  return die(msg, 3);
}

// ---------------------------------------------------------------- targets

export type TargetKind = 'shard' | 'cluster' | 'redis';

/** A started server plus which of its processes hold data (for RSS). */
export interface Target {
  kind: TargetKind;
  /** shard-direct, cluster or redis */
  label: string;
  server: Server;
  port: number;
  /** Processes holding the data: the shard process(es) of a cluster, else the server's tree. */
  dataPids: number[];
  /** The cluster's proxy process(es) ([] otherwise). */
  proxyPids: number[];
  /** Human-readable command that started it (ports as placeholders). */
  command: string;
}

// Snapshots off, as the redis-server beside them (--save '').
export const SHARD_CMD = "node dist/bin/shoal-shard.js --port P --workers 1 --save ''";
export const CLUSTER_CMD = "node dist/bin/shoal.js --port P --http-port H --shard-port S --data-dir D --save '' --replicas 0";
export const REDIS_CMD = "redis-server --port P --bind 127.0.0.1 --save '' --appendonly no";

function targetOverride(): string[] | undefined {
  const override = process.env['BENCH_TARGET_CMD'];
  if (!override) return undefined;
  let argv: unknown;
  try { argv = JSON.parse(override); } catch { die('BENCH_TARGET_CMD must be a JSON array of strings', 1); }
  if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string')) die('BENCH_TARGET_CMD must be a JSON array of strings', 1);
  return argv as string[];
}

interface TopologyJson { processes?: { role?: string; pid?: number }[] }

/** Shard and proxy pids of an embedded cluster from GET /topology (polled until the shards are listed). */
async function clusterPids(s: Server, httpPort: number): Promise<{ shards: number[]; proxies: number[] }> {
  const deadline = Date.now() + READY_TIMEOUT * 1000;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://${HOST}:${httpPort}/topology`);
      const t = (await res.json()) as TopologyJson;
      const procs = t.processes ?? [];
      const shards = procs.filter((p) => p.role === 'shard' && typeof p.pid === 'number' && p.pid > 0).map((p) => p.pid as number);
      const proxies = procs.filter((p) => p.role === 'proxy' && typeof p.pid === 'number' && p.pid > 0).map((p) => p.pid as number);
      if (shards.length > 0 && shards.every(alive)) {
        const tree = new Set(serverPids(s));
        const foreign = [...shards, ...proxies].filter((p) => !tree.has(p));
        if (foreign.length) die(`${s.name}: /topology names pid ${foreign.join(',')}, not a process started by this run`, 2);
        return { shards, proxies };
      }
      last = `no live shard process listed yet (${JSON.stringify(procs)})`;
    } catch (e) {
      if (e instanceof BenchError) throw e;
      last = (e as Error).message;
    }
    await sleep(250);
  }
  return die(`${s.name}: GET http://${HOST}:${httpPort}/topology did not list the shard processes within ${READY_TIMEOUT} s (${last})`, 2);
}

/**
 * Starts a fresh Shoal target (`shard` = shoal-shard --workers 1, `cluster` = the
 * embedded cluster) with `extra` flags appended, waits until it serves PING and SET,
 * and finds its data processes. BENCH_TARGET_CMD replaces the command (testing aid).
 */
export async function startTarget(kind: 'shard' | 'cluster', extra: string[] = []): Promise<Target> {
  const label = kind === 'shard' ? 'shard-direct' : 'cluster';
  const override = targetOverride();
  const base = await freePorts(kind === 'cluster' && !override ? 10 : 1);
  let argv: string[];
  if (override) argv = [...override.map((a) => a.replaceAll('{port}', String(base))), ...extra];
  else if (kind === 'shard') argv = [process.execPath, 'dist/bin/shoal-shard.js', '--port', String(base), '--workers', '1', '--save', '', ...extra];
  else {
    const dataDir = fs.mkdtempSync(path.join(WORK, `${label}-data-`));
    argv = [process.execPath, 'dist/bin/shoal.js', '--port', String(base), '--http-port', String(base + 1),
      // No replicas (npm start runs one per primary): the figures compare with one redis-server; the replication scenario measures replicas.
      '--shard-port', String(base + 2), '--data-dir', dataDir, '--save', '', '--replicas', '0', ...extra];
  }
  const server = startServer(label, argv, base);
  await waitReady(server);
  let dataPids = serverPids(server);
  let proxyPids: number[] = [];
  if (kind === 'cluster' && !override) {
    const p = await clusterPids(server, base + 1);
    dataPids = p.shards;
    proxyPids = p.proxies;
  }
  await deleteReadyKey(server.port);
  const command = override ? `BENCH_TARGET_CMD ${override.join(' ')}` : kind === 'shard' ? SHARD_CMD : CLUSTER_CMD;
  log(`${label}: data pids ${dataPids.join(',')}${proxyPids.length ? `, proxy pid ${proxyPids.join(',')}` : ''}`);
  return { kind, label, server, port: base, dataPids, proxyPids, command: [command, ...extra].join(' ') };
}

/** A private redis-server (`--save '' --appendonly no`) plus `extra` flags, checked to be the process we started. */
export async function startRedis(extra: string[] = [], name = 'redis'): Promise<Target> {
  const port = await freePorts(1);
  const s = startServer(name, ['redis-server', '--port', String(port), '--bind', HOST, '--save', '',
    '--appendonly', 'no', '--daemonize', 'no', '--dir', WORK, ...extra], port);
  await waitReady(s);
  const c = await RespClient.connect(port);
  try {
    const inf = await c.send(['INFO', 'server']);
    const pid = Buffer.isBuffer(inf) ? /process_id:(\d+)/.exec(inf.toString())?.[1] : undefined;
    if (Number(pid) !== s.pid) die(`the redis-server answering on port ${port} is pid ${pid}, not the one started (${s.pid})`, 2);
  } finally {
    c.close();
  }
  await deleteReadyKey(port);
  return { kind: 'redis', label: name, server: s, port, dataPids: [s.pid], proxyPids: [], command: [REDIS_CMD, ...extra].join(' ') };
}

/**
 * A minimal Node TCP forwarder (tcp-forwarder.ts) in front of `upstream`: one Node hop
 * and nothing else, the floor under any proxy written in Node.
 */
export async function startForwarder(upstream: Target, label: string): Promise<Target> {
  const port = await freePorts(1);
  const script = fileURLToPath(new URL('./tcp-forwarder.js', import.meta.url));
  const s = startServer(`${upstream.label}-forwarder`, [process.execPath, script, String(port), String(upstream.port), HOST], port);
  await waitReady(s);
  await deleteReadyKey(port);
  return {
    kind: upstream.kind, label, server: s, port, dataPids: upstream.dataPids, proxyPids: [s.pid],
    command: `node dist/loadtest/macro/tcp-forwarder.js P ${upstream.label}-port`,
  };
}

/** waitReady leaves `shoal-bench:ready` behind; scenarios that count keys want an empty server. */
async function deleteReadyKey(port: number): Promise<void> {
  const c = await RespClient.connect(port, HOST);
  try { await c.send(['DEL', 'shoal-bench:ready']); } finally { c.close(); }
}

export async function stopTarget(t: Target): Promise<void> {
  await stopServer(t.server);
  log(`${t.label} stopped`);
}

/** Fails with the server's log tail if it exited. */
export function checkAlive(t: Target): void {
  if (t.server.exited) {
    die(`${t.label} exited (code ${t.server.exited.code}, signal ${t.server.exited.signal}).\n`
      + `--- last lines of ${t.server.logFile}:\n${logTail(t.server)}`, 4);
  }
}

// ---------------------------------------------------------------- deterministic randomness

/** mulberry32: small, fast, seeded; the same seed gives the same stream on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `key:` + 12 digits = 16 bytes, the layout of redis-benchmark -r and ../shared/bench. */
export const keyName = (i: number) => `key:${String(i).padStart(12, '0')}`;

/** Progress to stderr every `pct` % of `total`. */
export function progress(label: string, total: number, pct = 10): (done: number) => void {
  const step = Math.max(1, Math.floor((total * pct) / 100));
  let next = step;
  const t0 = Date.now();
  return (done: number) => {
    while (done >= next) {
      const secs = (Date.now() - t0) / 1000;
      log(`  ${label}: ${Math.round((next * 100) / total)}% (${next}/${total}, ${Math.round(next / Math.max(secs, 0.001))}/s)`);
      next += step;
    }
  };
}
