// Starts and stops the server under test as real child processes, by pid, with bounded
// waits. `SHOAL_TEST_TARGET=redis` runs the same tests against a real redis-server (the
// spec, Redis 7); the default target is an embedded Shoal cluster:
//
//   node dist/bin/shoal.js --port P --http-port H --shard-port S --workers W
//        [--shards N] --data-dir <tmp>
//
// The proxy listens on P, the admin HTTP server on H (`GET /topology`), and the shard
// workers on S .. S + N*W - 1. Readiness means PING answers +PONG on P and on every
// worker port. Stopping sends SIGTERM to the launcher, waits up to 5 s, then SIGKILLs
// it and every process it started (pids from /topology and from /proc, never by name).

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm, readdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RespClient, sleep } from './run.js';

export type TargetKind = 'shoal' | 'redis';

export type Target = {
  /** The client-facing port (Shoal proxy or redis-server). */
  port: number;
  /** Shard worker ports (Shoal only; empty for redis): the primaries at start. */
  workerPorts: number[];
  /** Replica worker ports at start (Shoal with `replicas`; else empty). */
  replicaPorts?: number[];
  /** Admin HTTP port (Shoal only; 0 for redis). */
  httpPort: number;
  /** Every pid known to belong to the target (launcher first). */
  pids: number[];
  kind: TargetKind;
  stop(): Promise<void>;
  /** Shoal only: the launcher's data directory (the topology file is `topology.json` in it). */
  dataDir?: string;
  /** Shoal only: the last 8 KB the launcher and its children wrote to stdout (pino lines). */
  stdout?: () => string;
};

export type TopologyProcess = { role: string; pid: number; name?: string; ports?: number[]; slots?: [number, number][] };
export type TopologyWorker = { id: string; shard: number; worker: number; host: string; port: number; slots: [number, number][] };
export type Topology = { processes: TopologyProcess[]; workers?: TopologyWorker[]; epoch?: number };

export type StartOptions = {
  /** Worker threads per shard process (default 2). */
  workers?: number;
  /** Shard processes (passed as `--shards N` only when given). */
  shards?: number;
  env?: Record<string, string>;
  /** RESP proxy processes (`--proxy-processes`); tests default to 1 so the suite stays fast. */
  proxyProcesses?: number;
  /** Extra redis-server arguments when the target is redis (e.g. TLS flags). */
  redisArgs?: string[];
  /** Shard workers speak only TLS (tls-cluster yes): readiness pings the proxy port only. */
  tlsWorkers?: boolean;
  /** Shoal: use this data directory (kept at stop, for restart tests) instead of a fresh temp one. */
  dataDir?: string;
  /** Shoal: how long to wait for every port to answer (default READY_TIMEOUT_MS). */
  readyTimeoutMs?: number;
  /** Shoal: replicas per primary worker (`--replicas`; default 0 in tests). */
  replicas?: number;
};

/** Compiled repo root: this file lives at dist/test/helpers/cluster.js. */
const DIST_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const LAUNCHER = path.join(DIST_ROOT, 'bin', 'shoal.js');
const READY_TIMEOUT_MS = 20_000;
const execFileP = promisify(execFile);
const STOP_GRACE_MS = 5_000;

const TARGET_ENV = process.env['SHOAL_TEST_TARGET'];
/** `redis` and `redis-cluster` both mean "the spec": real redis-server processes. */
export const targetKind: TargetKind = TARGET_ENV === 'redis' || TARGET_ENV === 'redis-cluster' ? 'redis' : 'shoal';
/** SHOAL_TEST_TARGET=redis-cluster: cluster-mode tests run against a real Redis Cluster. */
export const isRedisCluster = TARGET_ENV === 'redis-cluster';
export const isRedis = targetKind === 'redis';
export const isShoal = targetKind === 'shoal';

/** True when something can bind `port` on all interfaces right now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Finds `count` consecutive free ports (random base, bounded retries). */
export async function freePortRange(count: number, max = 60_000): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * (max - 20_000 - count));
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = await portFree(p);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports after 100 attempts`);
}

/** Keeps the last `limit` characters a stream produced. */
function tail(stream: NodeJS.ReadableStream | null, limit = 8192): () => string {
  let text = '';
  stream?.on('data', (c: Buffer) => {
    text = (text + c.toString('utf8')).slice(-limit);
  });
  return () => text;
}

/** Whether a process with this pid exists (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** All descendants of `root` from /proc (Linux); empty elsewhere. */
async function descendants(root: number): Promise<number[]> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return [];
  }
  const parent = new Map<number, number>();
  await Promise.all(
    entries.filter((e) => /^\d+$/.test(e)).map(async (e) => {
      try {
        const stat = await readFile(`/proc/${e}/stat`, 'utf8');
        // pid (comm) state ppid ... — comm may contain spaces/parens, so split after ')'.
        const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        parent.set(Number(e), Number(rest[1]));
      } catch {
        // process exited while scanning
      }
    }),
  );
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const p = queue.shift() as number;
    for (const [child, pp] of parent) {
      if (pp === p && !out.includes(child)) {
        out.push(child);
        queue.push(child);
      }
    }
  }
  return out;
}

/** Waits until `pid` is gone or `ms` elapse; true when it is gone. */
async function waitGone(pid: number, ms: number, child?: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child ? child.exitCode !== null || child.signalCode !== null : !alive(pid)) return true;
    await sleep(50);
  }
  return child ? child.exitCode !== null || child.signalCode !== null : !alive(pid);
}

/** One PING on `port`; true when it answers +PONG (or NOAUTH: up, with a password set) within 1 s. */
async function pingOnce(port: number): Promise<boolean> {
  let c: RespClient | undefined;
  try {
    c = await RespClient.connect(port, '127.0.0.1', 1000);
    const reply = await c.run(['PING'], { timeoutMs: 1000 });
    const noauth = typeof reply === 'object' && reply !== null && 'error' in reply && String(reply.error).startsWith('NOAUTH');
    return reply === 'PONG' || noauth;
  } catch {
    return false;
  } finally {
    await c?.close();
  }
}

/** GET /topology from the admin port (bounded 2 s); null when unavailable. */
export async function fetchTopology(httpPort: number): Promise<Topology | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${httpPort}/topology`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return null;
    const body = (await res.json()) as Partial<Topology>;
    return Array.isArray(body.processes) ? (body as Topology) : null;
  } catch {
    return null;
  }
}

type Spawned = { child: ChildProcess; stderr: () => string; stdout: () => string; dataDir: string };

/** Stops the launcher, then SIGKILLs any pid left over. */
async function stopAll(sp: Spawned, extraPids: () => number[]): Promise<void> {
  const pid = sp.child.pid;
  const known = new Set<number>(extraPids());
  if (pid !== undefined) for (const d of await descendants(pid)) known.add(d);
  if (pid !== undefined && sp.child.exitCode === null && sp.child.signalCode === null) {
    killPid(pid, 'SIGTERM');
    if (!(await waitGone(pid, STOP_GRACE_MS, sp.child))) {
      killPid(pid, 'SIGKILL');
      await waitGone(pid, 2000, sp.child);
    }
  }
  known.delete(pid ?? -1);
  // Children get a short grace after the launcher exits, then SIGKILL by pid.
  const deadline = Date.now() + 1000;
  for (const p of known) {
    while (alive(p) && Date.now() < deadline) await sleep(50);
    if (alive(p)) {
      killPid(p, 'SIGKILL');
      await waitGone(p, 2000);
    }
  }
  if (sp.dataDir !== '') await rm(sp.dataDir, { recursive: true, force: true });
}

function spawnLogged(cmd: string, args: string[], env: Record<string, string>, dataDir: string): Spawned {
  const child = spawn(cmd, args, {
    cwd: DIST_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr = tail(child.stderr);
  const stdout = tail(child.stdout);
  child.on('error', () => {
    // reported through exitCode / readiness timeout
  });
  return { child, stderr, stdout, dataDir };
}

/** Waits for +PONG on every port; throws (after killing) on exit or timeout. */
async function waitReady(sp: Spawned, ports: number[], what: string, extraPids: () => number[], timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(ports);
  while (pending.size > 0) {
    if (sp.child.exitCode !== null || sp.child.signalCode !== null) {
      await stopAll(sp, extraPids);
      throw new Error(
        `${what} exited (code ${sp.child.exitCode}, signal ${sp.child.signalCode}) before ready; ` +
          `waiting on ports ${[...pending].join(',')}\n--- stderr tail ---\n${sp.stderr()}\n--- stdout tail ---\n${sp.stdout()}`,
      );
    }
    if (Date.now() > deadline) {
      await stopAll(sp, extraPids);
      throw new Error(
        `${what} not ready within ${timeoutMs} ms; no PONG on ports ${[...pending].join(',')}\n` +
          `--- stderr tail ---\n${sp.stderr()}\n--- stdout tail ---\n${sp.stdout()}`,
      );
    }
    for (const p of [...pending]) if (await pingOnce(p)) pending.delete(p);
    if (pending.size > 0) await sleep(100);
  }
}

/** Starts an embedded Shoal cluster (proxy + shard processes) on free ports. */
export async function startShoal(opts: StartOptions = {}): Promise<Target> {
  const workers = opts.workers ?? 2;
  const shards = opts.shards;
  const totalWorkers = workers * (shards ?? 1);
  const replicas = opts.replicas ?? 0;
  let lastErr: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const [port, httpPort] = [await freePortRange(1), await freePortRange(1)];
    const shardPort = await freePortRange(totalWorkers * (1 + replicas));
    const workerPorts = Array.from({ length: totalWorkers }, (_, i) => shardPort + i);
    // Replica set r of primary i listens on shardPort + r * totalWorkers + i (shared/cluster/topology.ts staticReplicas).
    const replicaPorts = Array.from({ length: totalWorkers * replicas }, (_, i) => shardPort + totalWorkers + i);
    const dataDir = opts.dataDir ?? await mkdtemp(path.join(os.tmpdir(), 'shoal-test-'));
    const args = [
      LAUNCHER,
      '--port', String(port),
      '--http-port', String(httpPort),
      '--shard-port', String(shardPort),
      '--workers', String(workers),
      ...(shards !== undefined ? ['--shards', String(shards)] : []),
      '--data-dir', dataDir,
      '--proxy-processes', String(opts.proxyProcesses ?? 1),
      // Replicas only when a test asks: the launcher's default (one per primary) would double every test's processes.
      '--replicas', String(replicas),
      // No save points unless a test asks (env SHOAL_SAVE or CONFIG SET), as the redis
      // target runs with --save '': no background snapshot in the middle of a measurement.
      ...(opts.env?.['SHOAL_SAVE'] === undefined ? ['--save', ''] : []),
    ];
    const sp = spawnLogged(process.execPath, args, opts.env ?? {}, opts.dataDir === undefined ? dataDir : '');
    const topoPids: number[] = [];
    const extraPids = (): number[] => topoPids;
    try {
      await waitReady(sp, opts.tlsWorkers ? [port] : [port, ...workerPorts, ...replicaPorts], 'shoal', extraPids, opts.readyTimeoutMs);
    } catch (err) {
      lastErr = err;
      // Port races with other test files: retry with new ports when it looks like one.
      // uWS reports a taken HTTP port as "cannot listen for HTTP on host:port" (no errno).
      if (/EADDRINUSE|cannot listen/.test(String(err))) continue;
      throw err;
    }
    // Several proxy processes: the port answers once the first listens; wait until
    // /readyz counts every one, so connections spread over all of them.
    if ((opts.proxyProcesses ?? 1) > 1) {
      const want = opts.proxyProcesses!;
      const deadline = Date.now() + READY_TIMEOUT_MS;
      for (;;) {
        const body = await fetch(`http://127.0.0.1:${httpPort}/readyz`, { signal: AbortSignal.timeout(2000) })
          .then(async (r) => (r.ok ? ((await r.json()) as { processes?: number }) : null)).catch(() => null);
        if ((body?.processes ?? 0) >= want) break;
        if (Date.now() > deadline) {
          await stopAll(sp, extraPids);
          throw new Error(`/readyz did not count ${want} proxy processes within ${READY_TIMEOUT_MS} ms`);
        }
        await sleep(100);
      }
    }
    const launcherPid = sp.child.pid as number;
    const pids = [launcherPid];
    const recordTopology = async (): Promise<void> => {
      const topo = await fetchTopology(httpPort);
      for (const proc of topo?.processes ?? []) {
        if (typeof proc.pid === 'number' && !topoPids.includes(proc.pid) && proc.pid !== process.pid) {
          topoPids.push(proc.pid);
          if (!pids.includes(proc.pid)) pids.push(proc.pid);
        }
      }
    };
    await recordTopology();
    for (const d of await descendants(launcherPid)) if (!pids.includes(d)) pids.push(d);
    let stopped: Promise<void> | undefined;
    return {
      port,
      workerPorts,
      replicaPorts,
      httpPort,
      pids,
      kind: 'shoal',
      dataDir,
      stdout: sp.stdout,
      stop: () => {
        stopped ??= (async () => {
          await recordTopology();
          for (const p of pids) if (!topoPids.includes(p)) topoPids.push(p);
          await stopAll(sp, extraPids);
        })();
        return stopped;
      },
    };
  }
  throw lastErr instanceof Error ? lastErr : new Error(String(lastErr));
}

/** Starts a throwaway redis-server (no persistence) on a free port. */
export async function startRedis(extraArgs: readonly string[] = []): Promise<Target> {
  let lastErr: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePortRange(1);
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'shoal-test-redis-'));
    const sp = spawnLogged(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dataDir, '--daemonize', 'no', ...extraArgs],
      {},
      dataDir,
    );
    try {
      await waitReady(sp, [port], 'redis-server', () => []);
    } catch (err) {
      lastErr = err;
      if (/Address already in use|EADDRINUSE/.test(String(err))) continue;
      throw err;
    }
    let stopped: Promise<void> | undefined;
    return {
      port,
      workerPorts: [],
      httpPort: 0,
      pids: [sp.child.pid as number],
      kind: 'redis',
      stop: () => (stopped ??= stopAll(sp, () => [])),
    };
  }
  throw lastErr instanceof Error ? lastErr : new Error(String(lastErr));
}

/**
 * Starts a real Redis Cluster of `nodes` masters (no replicas) on free ports, to check
 * the cluster-mode expectations against Redis itself (`SHOAL_TEST_TARGET=redis-cluster`).
 * `port` is the first node; `workerPorts` are all nodes. There is no proxy.
 */
export async function startRedisCluster(nodes = 3): Promise<Target> {
  // Each node also needs its cluster bus port (port + 10000).
  let base = 0;
  for (let attempt = 0; attempt < 50 && base === 0; attempt++) {
    const b = await freePortRange(nodes, 55_000);
    let ok = true;
    for (let p = b + 10_000; p < b + 10_000 + nodes && ok; p++) ok = await portFree(p);
    if (ok) base = b;
  }
  if (base === 0) throw new Error('no free port range for a redis cluster');
  const ports = Array.from({ length: nodes }, (_, i) => base + i);
  const spawned: Spawned[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(spawned.map((sp) => stopAll(sp, () => [])));
  };
  try {
    for (const port of ports) {
      const dataDir = await mkdtemp(path.join(os.tmpdir(), 'shoal-test-rc-'));
      const sp = spawnLogged(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', path.join(dataDir, 'nodes.conf'),
          '--save', '', '--appendonly', 'no', '--dir', dataDir, '--daemonize', 'no'],
        {},
        dataDir,
      );
      spawned.push(sp);
      await waitReady(sp, [port], 'redis-server (cluster node)', () => []);
    }
    await execFileP('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: 20_000,
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (const port of ports) {
      for (;;) {
        const c = await RespClient.connect(port);
        const info = await c.run(['CLUSTER', 'INFO']);
        await c.close();
        if (typeof info === 'string' && info.includes('cluster_state:ok')) break;
        if (Date.now() > deadline) throw new Error(`redis cluster node ${port} not ok: ${String(info)}`);
        await sleep(100);
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  let stopped: Promise<void> | undefined;
  return {
    port: ports[0] as number,
    workerPorts: ports,
    httpPort: 0,
    pids: spawned.map((sp) => sp.child.pid as number),
    kind: 'redis',
    stop: () => (stopped ??= stop()),
  };
}

/** Starts whatever SHOAL_TEST_TARGET selects (default: shoal). */
export function startTarget(opts: StartOptions = {}): Promise<Target> {
  return isRedis ? startRedis(opts.redisArgs) : startShoal(opts);
}

type Teardownable = { teardown(fn: () => unknown): void };

/**
 * Starts the target, registers `t.teardown` to stop it, and opens one raw client
 * (closed in teardown too): `const { target, run } = await useTarget(t)`.
 */
export async function useTarget(t: Teardownable, opts: StartOptions = {}): Promise<{
  target: Target;
  client: RespClient;
  run: RespClient['run'];
  runRaw: RespClient['runRaw'];
}> {
  const target = await startTarget(opts);
  t.teardown(() => target.stop());
  const client = await RespClient.connect(target.port);
  t.teardown(() => client.close());
  return { target, client, run: client.run.bind(client), runRaw: client.runRaw.bind(client) };
}

// CRC16-CCITT (XModem) as Redis Cluster uses it, with the {hash tag} rule; an
// independent copy so the tests do not trust the implementation under test.
const CRC_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let j = 0; j < 8; j++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

/** Redis Cluster hash slot of `key` (0..16383). */
export function keySlot(key: string | Buffer): number {
  let b = typeof key === 'string' ? Buffer.from(key) : key;
  const open = b.indexOf(0x7b); // '{'
  if (open >= 0) {
    const close = b.indexOf(0x7d, open + 1); // '}'
    if (close > open + 1) b = b.subarray(open + 1, close);
  }
  let crc = 0;
  for (const byte of b) crc = ((crc << 8) & 0xffff) ^ (CRC_TABLE[((crc >> 8) ^ byte) & 0xff] ?? 0);
  return crc & 0x3fff;
}
