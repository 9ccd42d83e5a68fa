// A real Redis Cluster for the failover bench (loadtest/macro/failover.ts): N primaries
// + N replicas, each a redis-server process started here (`--cluster-enabled yes
// --cluster-node-timeout T`, no persistence, as the Shoal targets run with `--save ''`),
// joined with `redis-cli --cluster create ... --cluster-replicas 1 --cluster-yes`.
//
// Invariants:
// - every process is started through the harness (startServer), so it is stopped by
//   pid on exit; kill() sends SIGKILL to the one pid it started for that node;
// - a node keeps its port, directory and nodes.conf across restart(), so a killed
//   primary comes back with its node id, learns that its replica was promoted (higher
//   config epoch) and rejoins as that replica (full resync: it has no data);
// - ports come from one block in the B range (26000-26999) unless FAILOVER_PORT_LO/HI
//   say otherwise; a port is used only if it was free when the block was chosen.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { RespClient, RespError, showReply, type Reply } from './resp-client.js';
import { HOST, WORK, die, envNum, info, log, portFree, sleep, startServer, stopServer, type Server } from './macro/harness.js';

const PORT_LO = envNum('FAILOVER_PORT_LO', 26000);
const PORT_HI = envNum('FAILOVER_PORT_HI', 26999);

/** First port of `count` consecutive free ports in [PORT_LO, PORT_HI] (cluster bus ports are port + 10000). */
export async function freePortBlock(count: number, busPorts = false): Promise<number> {
  const span = PORT_HI - PORT_LO + 1 - count;
  if (span < 0) die(`FAILOVER_PORT_LO..HI (${PORT_LO}-${PORT_HI}) holds fewer than ${count} ports`, 1);
  for (let attempt = 0; attempt < 60; attempt++) {
    const base = PORT_LO + Math.floor(Math.random() * (span + 1));
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = (await portFree(p)) && (!busPorts || (await portFree(p + 10_000)));
    if (ok) return base;
  }
  return die(`no ${count} consecutive free TCP ports in ${PORT_LO}-${PORT_HI}`, 1);
}

/** One RESP request on a fresh connection (short timeouts: nodes may be dead). */
export async function ask(port: number, argv: string[], timeoutMs = 1000): Promise<Reply> {
  const c = await RespClient.connect(port, HOST, timeoutMs);
  try { return await c.send(argv); } finally { c.close(); }
}

/** `INFO section` of the server on `port` as a field map. */
export async function infoOf(port: number, section: string, timeoutMs = 1000): Promise<Map<string, string>> {
  const c = await RespClient.connect(port, HOST, timeoutMs);
  try { return await info(c, section); } finally { c.close(); }
}

export interface ClusterNode {
  /** 0..2N-1, fixed for the life of the cluster. */
  index: number;
  port: number;
  dir: string;
  server: Server;
  /** Process starts (1 = never restarted). */
  starts: number;
}

/** One CLUSTER SLOTS entry: [from, to] served by `primary` (a port), replicas by port. */
export interface SlotOwner { from: number; to: number; primary: number; replicas: number[] }

export class RedisCluster {
  private constructor(readonly nodes: ClusterNode[], readonly nodeTimeoutMs: number, readonly command: string) {}

  /** Starts 2 * `primaries` redis-servers and joins them into a cluster; waits until it is healthy. */
  static async start(primaries = 3, nodeTimeoutMs = 1000): Promise<RedisCluster> {
    const count = primaries * 2;
    const base = await freePortBlock(count, true);
    const nodes: ClusterNode[] = [];
    for (let i = 0; i < count; i++) {
      const port = base + i;
      const dir = fs.mkdtempSync(path.join(WORK, `rc-${port}-`));
      nodes.push({ index: i, port, dir, server: startServer(`redis-cluster-${port}`, argvOf(port, dir, nodeTimeoutMs), port), starts: 1 });
    }
    const cmd = `redis-server --port P --bind 127.0.0.1 --cluster-enabled yes --cluster-node-timeout ${nodeTimeoutMs} --save '' --appendonly no`;
    const cluster = new RedisCluster(nodes, nodeTimeoutMs, cmd);
    for (const n of nodes) await cluster.#waitPing(n, 15_000);
    const args = ['--cluster', 'create', ...nodes.map((n) => `${HOST}:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'];
    log(`redis-cli ${args.join(' ')}`);
    const r = await run('redis-cli', args, 60_000);
    if (r.code !== 0) die(`redis-cli --cluster create failed (exit ${r.code}): ${r.out.trim().split('\n').slice(-5).join(' | ')}`, 2);
    await cluster.waitHealthy(60_000);
    log(`redis cluster: ${primaries} primaries + ${primaries} replicas on ports ${base}-${base + count - 1}, cluster-node-timeout ${nodeTimeoutMs}`);
    return cluster;
  }

  nodeByPort(port: number): ClusterNode | undefined {
    return this.nodes.find((n) => n.port === port);
  }

  alive(n: ClusterNode): boolean {
    return !n.server.exited;
  }

  /** CLUSTER SLOTS from the first live node that answers (undefined if none does). */
  async slots(): Promise<SlotOwner[] | undefined> {
    for (const n of this.nodes) {
      if (!this.alive(n)) continue;
      try {
        const r = await ask(n.port, ['CLUSTER', 'SLOTS'], 500);
        if (Array.isArray(r)) return parseSlots(r);
      } catch { /* try the next node */ }
    }
    return undefined;
  }

  /** SIGKILL to the node's process (the pid started here); resolves once it has exited. */
  async kill(n: ClusterNode): Promise<void> {
    if (n.server.exited) die(`redis cluster node ${n.port} is not running`, 4);
    process.kill(n.server.pid, 'SIGKILL');
    const deadline = Date.now() + 5000;
    while (!n.server.exited && Date.now() < deadline) await sleep(5);
    await stopServer(n.server); // forgets it (already gone)
  }

  /** Starts the node again on its port and directory (nodes.conf kept: it rejoins the cluster). */
  async restart(n: ClusterNode): Promise<void> {
    if (!n.server.exited) die(`redis cluster node ${n.port} is still running`, 4);
    n.starts++;
    n.server = startServer(`redis-cluster-${n.port}`, argvOf(n.port, n.dir, this.nodeTimeoutMs), n.port);
    await this.#waitPing(n, 15_000);
  }

  /**
   * Waits until every node runs, every node says cluster_state:ok and flags no node as
   * failing, and every primary with slots has a replica whose link is up and not syncing.
   */
  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      last = await this.#health().catch((e: Error) => e.message);
      if (last === '') return;
      await sleep(100);
    }
    die(`redis cluster not healthy after ${timeoutMs} ms: ${last}`, 2);
  }

  /** '' when healthy, else the first reason it is not. */
  async #health(): Promise<string> {
    for (const n of this.nodes) {
      if (!this.alive(n)) return `node ${n.port} is not running`;
      const info = await ask(n.port, ['CLUSTER', 'INFO'], 500);
      if (!Buffer.isBuffer(info) || !/cluster_state:ok/.test(info.toString())) return `node ${n.port}: cluster_state not ok`;
      const nodes = await ask(n.port, ['CLUSTER', 'NODES'], 500);
      if (!Buffer.isBuffer(nodes)) return `node ${n.port}: CLUSTER NODES -> ${showReply(nodes)}`;
      const lines = nodes.toString().trim().split('\n');
      if (lines.length !== this.nodes.length) return `node ${n.port} knows ${lines.length} nodes`;
      const bad = lines.find((l) => /\bfail\??\b|handshake|noaddr/.test(l.split(' ')[2] ?? ''));
      if (bad) return `node ${n.port} sees ${bad.split(' ').slice(1, 3).join(' ')}`;
    }
    const slots = await this.slots();
    if (!slots) return 'no node answers CLUSTER SLOTS';
    for (const s of slots) {
      if (s.replicas.length === 0) return `slots ${s.from}-${s.to} (primary ${s.primary}) have no replica`;
      for (const rp of s.replicas) {
        const r = await infoOf(rp, 'replication', 500);
        if (r.get('master_link_status') !== 'up' || r.get('master_sync_in_progress') !== '0') {
          return `replica ${rp} of ${s.primary}: link ${r.get('master_link_status') ?? '?'}, syncing ${r.get('master_sync_in_progress') ?? '?'}`;
        }
      }
    }
    return '';
  }

  async #waitPing(n: ClusterNode, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (n.server.exited) die(`redis cluster node ${n.port} exited (code ${n.server.exited.code}) at start; see ${n.server.logFile}`, 2);
      try { if ((await ask(n.port, ['PING'], 500)) === 'PONG') return; } catch { /* not up yet */ }
      await sleep(50);
    }
    die(`redis cluster node ${n.port} did not answer PING within ${timeoutMs} ms`, 2);
  }

  async stop(): Promise<void> {
    for (const n of this.nodes) if (!n.server.exited) await stopServer(n.server);
  }
}

function argvOf(port: number, dir: string, nodeTimeoutMs: number): string[] {
  return ['redis-server', '--port', String(port), '--bind', HOST, '--daemonize', 'no', '--dir', dir,
    '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', String(nodeTimeoutMs),
    '--save', '', '--appendonly', 'no'];
}

function parseSlots(r: Reply[]): SlotOwner[] {
  const out: SlotOwner[] = [];
  for (const e of r) {
    if (!Array.isArray(e)) continue;
    const [from, to, primary, ...replicas] = e;
    const portOf = (x: Reply | undefined) => (Array.isArray(x) && typeof x[1] === 'number' ? x[1] : NaN);
    if (typeof from !== 'number' || typeof to !== 'number') continue;
    out.push({ from, to, primary: portOf(primary), replicas: replicas.map(portOf).filter(Number.isFinite) });
  }
  return out.sort((a, b) => a.from - b.from);
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const t = setTimeout(() => { out += `\n(killed after ${timeoutMs} ms)`; child.kill('SIGKILL'); }, timeoutMs);
    child.on('error', (e) => { clearTimeout(t); resolve({ code: -1, out: String(e) }); });
    child.on('close', (code) => { clearTimeout(t); resolve({ code, out }); });
  });
}

/** True for a reply that means "not applied, ask again elsewhere/later" in Redis Cluster. */
export function isRedirect(r: Reply): r is RespError {
  return r instanceof RespError && /^(MOVED|ASK) /.test(r.message);
}
