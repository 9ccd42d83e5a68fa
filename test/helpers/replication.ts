// A primary + replica pair as real processes, for the replication tests. Two kinds:
//
//   shoal: a topology file (staticWorkers + staticReplicas, epoch 1) in a temp data dir,
//          and two shard processes started by node name:
//            node dist/bin/shoal-shard.js --topology F --node shard-0 --data-dir D --save ''
//            node dist/bin/shoal-shard.js --topology F --node shard-0-replica-1 ...
//          group g = (shard 0, worker g): primary port base + g, replica port base + W + g.
//          No manager runs, so no lease is ever enforced (contract: standalone shards).
//   redis: two cluster-enabled redis-servers, the first owning all 16384 slots, the
//          second joined with CLUSTER MEET + CLUSTER REPLICATE: a Redis Cluster group, so
//          MOVED / READONLY / REPLICAOF answers are the spec for Shoal's worker groups.
//
// `kind` defaults to SHOAL_TEST_TARGET (redis → redis). Extra arguments (`args`) are
// passed to both processes; Shoal's flags carry Redis's config names
// (--repl-backlog-size, --min-replicas-to-write), so the same list works for both.
//
// Invariants: every process is started by this file and killed by its pid (SIGKILL
// after a 3 s SIGTERM grace); every wait is bounded and throws with the processes'
// recent output, so a failing test says what the servers logged.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { staticReplicas, staticWorkers, type Topology } from '../../shared/cluster/topology.js';
import { isRedis } from './cluster.js';
import { RespClient, parseInfo, sleep, type RespValue } from './run.js';
import { TcpRelay } from './tcp-relay.js';

const DIST_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHARD_BIN = path.join(DIST_ROOT, 'bin', 'shoal-shard.js');
const HOST = '127.0.0.1';
const READY_MS = 20_000;
const STOP_GRACE_MS = 3_000;

export type ReplKind = 'shoal' | 'redis';

/** One child process: pid, output tail, exit promise. */
export class Proc {
  output = '';
  exitCode: number | null = null;
  signal: NodeJS.Signals | null = null;
  readonly exited: Promise<void>;
  readonly child: ChildProcess;

  constructor(readonly name: string, cmd: string, args: readonly string[]) {
    this.child = spawn(cmd, args, { cwd: DIST_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (c: Buffer): void => {
      this.output = (this.output + c.toString('utf8')).slice(-32 * 1024);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.child.on('error', (e) => keep(Buffer.from(`spawn error: ${String(e)}\n`)));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => {
      this.exitCode = code;
      this.signal = signal;
      resolve();
    }));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exitCode === null && this.signal === null;
  }

  /** Sends `sig` by pid (SIGSTOP / SIGCONT / SIGKILL); no-op once exited. */
  signalPid(sig: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(this.pid, sig);
    } catch {
      // already gone
    }
  }

  /**
   * SIGSTOP, then waits until every thread of the process is in state T (stopped) in
   * /proc (bounded 2 s): the signal is asynchronous, and a worker thread running on
   * another core could otherwise still answer for a moment.
   */
  async freeze(): Promise<void> {
    this.signalPid('SIGSTOP');
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline) {
      try {
        const tasks = await readdir(`/proc/${this.pid}/task`);
        const states = await Promise.all(tasks.map(async (tid) => {
          const stat = await readFile(`/proc/${this.pid}/task/${tid}/stat`, 'utf8');
          return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
        }));
        if (states.every((st) => st === 'T' || st === 't')) return;
      } catch {
        return; // no /proc (or the process is gone): nothing more to wait for
      }
      await sleep(5);
    }
    throw new Error(`${this.name} (pid ${this.pid}) not stopped 2 s after SIGSTOP`);
  }

  async kill9(): Promise<void> {
    this.signalPid('SIGKILL');
    await this.exited;
  }

  /** SIGCONT (it may be stopped), SIGTERM, then SIGKILL after the grace. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.signalPid('SIGCONT');
    this.signalPid('SIGTERM');
    const t = setTimeout(() => this.signalPid('SIGKILL'), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(t);
  }

  tail(chars = 3000): string {
    return `--- ${this.name} (pid ${this.pid}) ---\n${this.output.slice(-chars)}`;
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: HOST, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** `count` consecutive free ports (and, for redis cluster nodes, their bus ports + 10000). */
async function freePorts(count: number, busPorts: boolean): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * (45_000 - 20_000 - count));
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = (await portFree(p)) && (!busPorts || (await portFree(p + 10_000)));
    if (ok) return base;
  }
  throw new Error(`no ${count} free ports`);
}

/** One command on a fresh connection (bounded). */
export async function once(port: number, argv: readonly string[], timeoutMs = 3000): Promise<RespValue> {
  const c = await RespClient.connect(port, HOST, timeoutMs);
  try {
    return await c.run(argv, { timeoutMs });
  } finally {
    await c.close();
  }
}

/** INFO <section> on a fresh connection, as a field map. */
export async function infoOf(port: number, section: string): Promise<Map<string, string>> {
  return parseInfo(await once(port, ['INFO', section]));
}

async function pingable(port: number): Promise<boolean> {
  try {
    return (await once(port, ['PING'], 1000)) === 'PONG';
  } catch {
    return false;
  }
}

export type ReplGroup = { primary: number; replica: number };

export type StartReplOptions = {
  kind?: ReplKind;
  /** Worker threads per Shoal shard process = replication groups (default 1; redis: always 1). */
  workers?: number;
  /** Config flags for both processes (Redis config names). */
  args?: readonly string[];
  /** Start the replica too (default true); false → call startReplica() later. */
  withReplica?: boolean;
  /** How long startReplica waits for the link to come up (default 30 s). */
  linkTimeoutMs?: number;
  /**
   * Shoal only: the replica reaches each primary through a TcpRelay (its topology file
   * names the relay's port for the primary), so a test can cut the link at the network
   * level (`pair.relays[g].cut()`).
   */
  relay?: boolean;
};

export class ReplPair {
  primary!: Proc;
  replica: Proc | null = null;
  readonly groups: ReplGroup[];
  /** With `relay`: one per group, between the replica and the primary. */
  relays: TcpRelay[] = [];
  /** The topology file the replica process reads (differs from the primary's with `relay`). */
  replicaTopologyFile: string;
  #redisJoined = false;

  private constructor(
    readonly kind: ReplKind,
    readonly dataDir: string,
    readonly topologyFile: string,
    readonly base: number,
    readonly workers: number,
    readonly args: readonly string[],
    readonly linkTimeoutMs: number,
  ) {
    this.groups = Array.from({ length: workers }, (_, g) => ({ primary: base + g, replica: base + workers + g }));
    this.replicaTopologyFile = topologyFile;
  }

  get primaryPort(): number {
    return this.groups[0]!.primary;
  }

  get replicaPort(): number {
    return this.groups[0]!.replica;
  }

  /**
   * Starts the pair; a start that fails only because a process booted too slowly (the
   * shard's own 15 s worker start timeout, or no PONG in time, on a loaded machine) is
   * retried once on fresh ports. Replication failures (link never up) are not retried.
   */
  static async start(opts: StartReplOptions = {}): Promise<ReplPair> {
    try {
      return await ReplPair.#startOnce(opts);
    } catch (e) {
      if (!/did not start within|no PONG on|exited \(1\) before answering PING/.test(String(e))) throw e;
      return ReplPair.#startOnce(opts);
    }
  }

  static async #startOnce(opts: StartReplOptions): Promise<ReplPair> {
    const kind = opts.kind ?? (isRedis ? 'redis' : 'shoal');
    const workers = kind === 'redis' ? 1 : (opts.workers ?? 1);
    const dataDir = await mkdtemp(path.join(os.tmpdir(), `shoal-repl-${kind}-`));
    const base = await freePorts(workers * 2, kind === 'redis');
    const topologyFile = path.join(dataDir, 'topology.json');
    if (kind === 'shoal') {
      const primaries = staticWorkers(HOST, base, 1, workers);
      const topo: Topology = { epoch: 1, workers: primaries, replicas: staticReplicas(HOST, base, primaries, 1), processes: [] };
      await writeFile(topologyFile, JSON.stringify(topo, null, 2));
    }
    const pair = new ReplPair(kind, dataDir, topologyFile, base, workers, opts.args ?? [], opts.linkTimeoutMs ?? 30_000);
    try {
      if (opts.relay) {
        if (kind !== 'shoal') throw new Error('relay: Shoal only (a Redis Cluster replica learns its primary\'s address from the cluster bus)');
        const relayBase = await freePorts(workers, false);
        for (const g of pair.groups) pair.relays.push(await TcpRelay.start(relayBase + pair.relays.length, g.primary, HOST));
        const topo = JSON.parse(await readFile(topologyFile, 'utf8')) as Topology;
        topo.workers = topo.workers.map((w, i) => ({ ...w, port: relayBase + i }));
        pair.replicaTopologyFile = path.join(dataDir, 'topology-replica.json');
        await writeFile(pair.replicaTopologyFile, JSON.stringify(topo, null, 2));
      }
      // One process at a time: booting both at once on a loaded 2-core machine can
      // exceed the shard's 15 s worker start timeout.
      await pair.#startPrimary();
      if (opts.withReplica ?? true) await pair.startReplica();
    } catch (e) {
      await pair.stop();
      throw e;
    }
    return pair;
  }

  #spawn(role: 'primary' | 'replica'): Proc {
    if (this.kind === 'shoal') {
      const node = role === 'primary' ? 'shard-0' : 'shard-0-replica-1';
      const file = role === 'primary' ? this.topologyFile : this.replicaTopologyFile;
      return new Proc(`shoal ${node}`, process.execPath, [SHARD_BIN, '--topology', file, '--node', node, '--data-dir', this.dataDir, '--save', '', ...this.args]);
    }
    const port = role === 'primary' ? this.primaryPort : this.replicaPort;
    return new Proc(`redis ${role} :${port}`, 'redis-server', [
      '--port', String(port), '--bind', HOST, '--cluster-enabled', 'yes', '--cluster-config-file', path.join(this.dataDir, `nodes-${port}.conf`),
      '--save', '', '--appendonly', 'no', '--dir', this.dataDir, '--daemonize', 'no',
      // Full syncs start at once (Redis 7 waits 5 s for more replicas by default).
      '--repl-diskless-sync-delay', '0', ...this.args,
    ]);
  }

  async #waitPing(p: Proc, ports: readonly number[]): Promise<void> {
    const deadline = Date.now() + READY_MS;
    for (const port of ports) {
      while (!(await pingable(port))) {
        if (!p.running) throw new Error(`${p.name} exited (${p.exitCode ?? p.signal}) before answering PING on ${port}\n${p.tail()}`);
        if (Date.now() > deadline) throw new Error(`${p.name}: no PONG on ${port} within ${READY_MS} ms\n${p.tail()}`);
        await sleep(50);
      }
    }
  }

  async #startPrimary(): Promise<void> {
    this.primary = this.#spawn('primary');
    await this.#waitPing(this.primary, this.groups.map((g) => g.primary));
    if (this.kind === 'redis') {
      const r = await once(this.primaryPort, ['CLUSTER', 'ADDSLOTSRANGE', '0', '16383']);
      if (r !== 'OK') throw new Error(`CLUSTER ADDSLOTSRANGE: ${JSON.stringify(r)}`);
      await this.#until(async () => String(await once(this.primaryPort, ['CLUSTER', 'INFO'])).includes('cluster_state:ok'), 'redis primary cluster_state:ok', 10_000);
    }
  }

  /** Starts (or restarts) the replica process and waits until every group's link is up and synced. */
  async startReplica(): Promise<void> {
    if (this.replica?.running) throw new Error('replica already running');
    this.replica = this.#spawn('replica');
    await this.#waitPing(this.replica, this.groups.map((g) => g.replica));
    if (this.kind === 'redis' && !this.#redisJoined) {
      const primaryId = String(await once(this.primaryPort, ['CLUSTER', 'MYID']));
      await once(this.replicaPort, ['CLUSTER', 'MEET', HOST, String(this.primaryPort)]);
      await this.#until(async () => (await once(this.replicaPort, ['CLUSTER', 'REPLICATE', primaryId])) === 'OK', 'CLUSTER REPLICATE', 10_000);
      this.#redisJoined = true;
    }
    await this.waitLinkUp(this.linkTimeoutMs);
  }

  /** Waits until every replica reports master_link_status:up and no sync in progress. */
  async waitLinkUp(timeoutMs = this.linkTimeoutMs): Promise<number> {
    const start = Date.now();
    for (const g of this.groups) {
      await this.#until(async () => {
        const i = await infoOf(g.replica, 'replication');
        return i.get('master_link_status') === 'up' && i.get('master_sync_in_progress') === '0';
      }, `replica :${g.replica} link up (INFO replication master_link_status:up)`, Math.max(1, timeoutMs - (Date.now() - start)));
    }
    return Date.now() - start;
  }

  /**
   * Waits until every replica's slave_repl_offset reaches the primary's
   * master_repl_offset read at the call (the primary's later PINGs do not move the
   * target); resolves with the ms taken.
   */
  async waitCaughtUp(timeoutMs = 30_000): Promise<number> {
    const start = Date.now();
    for (const g of this.groups) {
      const target = Number((await infoOf(g.primary, 'replication')).get('master_repl_offset'));
      if (!Number.isFinite(target)) throw new Error(`primary :${g.primary} has no master_repl_offset in INFO replication`);
      let last = '';
      await this.#until(async () => {
        const i = await infoOf(g.replica, 'replication');
        last = `slave_repl_offset=${i.get('slave_repl_offset')} link=${i.get('master_link_status')}`;
        return Number(i.get('slave_repl_offset')) >= target;
      }, () => `replica :${g.replica} offset reaching the primary's ${target} (last: ${last})`, Math.max(1, timeoutMs - (Date.now() - start)));
    }
    return Date.now() - start;
  }

  async #until(probe: () => Promise<boolean>, what: string | (() => string), timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastErr = '';
    for (;;) {
      try {
        if (await probe()) return;
      } catch (e) {
        lastErr = String(e);
      }
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}${lastErr ? ` (last error: ${lastErr})` : ''}\n${this.logs()}`);
      await sleep(50);
    }
  }

  async killReplica(): Promise<void> {
    await this.replica?.kill9();
  }

  /** Recent output of both processes (for failure messages). */
  logs(chars = 2000): string {
    return [this.primary?.tail(chars), this.replica?.tail(chars)].filter(Boolean).join('\n');
  }

  async stop(): Promise<void> {
    await Promise.all([this.primary?.stop(), this.replica?.stop(), ...this.relays.map((r) => r.close())]);
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

/** Starts a pair and registers its stop in `t.teardown`. */
export async function useReplPair(t: { teardown(fn: () => unknown): void }, opts: StartReplOptions = {}): Promise<ReplPair> {
  const pair = await ReplPair.start(opts);
  t.teardown(() => pair.stop());
  return pair;
}

/** Whether the server on `port` knows `command` (COMMAND INFO answers a row). */
export async function hasCommand(port: number, command: string): Promise<boolean> {
  const r = await once(port, ['COMMAND', 'INFO', command]);
  return Array.isArray(r) && r[0] !== null && r[0] !== undefined;
}

export type WriterResult = {
  /** key → the last value a SET of it was acknowledged with (+OK). */
  last: Map<string, string>;
  acked: number;
  errors: number;
  firstErrors: string[];
};

/**
 * `clients` connections each writing `SET <prefix><c>:<n % keysPerClient> <c>:<seq>`
 * one at a time (a closed loop) until `stop()`; keeps the last acknowledged value of
 * every key, to check a replica against after the writers stop.
 */
export function startWriters(port: number, clients: number, keysPerClient: number, prefix = 'w:'): { acked(): number; stop(): Promise<WriterResult> } {
  let stopping = false;
  const result: WriterResult = { last: new Map(), acked: 0, errors: 0, firstErrors: [] };
  const loops = Array.from({ length: clients }, async (_, c) => {
    const client = await RespClient.connect(port);
    try {
      for (let seq = 0; !stopping; seq++) {
        const key = `${prefix}${c}:${seq % keysPerClient}`;
        const value = `${c}:${seq}`;
        const r = await client.run(['SET', key, value], { timeoutMs: 30_000 });
        if (r === 'OK') {
          result.last.set(key, value);
          result.acked++;
        } else {
          result.errors++;
          if (result.firstErrors.length < 5) result.firstErrors.push(JSON.stringify(r));
        }
      }
    } finally {
      await client.close();
    }
  });
  return {
    acked: () => result.acked,
    async stop() {
      stopping = true;
      await Promise.all(loops);
      return result;
    },
  };
}

/** INFO stats sync counters of a primary. */
export async function syncStats(port: number): Promise<{ full: number; partialOk: number; partialErr: number }> {
  const s = await infoOf(port, 'stats');
  return { full: Number(s.get('sync_full')), partialOk: Number(s.get('sync_partial_ok')), partialErr: Number(s.get('sync_partial_err')) };
}

/** Polls `probe` until true or `timeoutMs`; resolves with whether it became true and the ms taken. */
export async function waitFor(probe: () => Promise<boolean>, timeoutMs: number, intervalMs = 50): Promise<{ ok: boolean; ms: number }> {
  const start = Date.now();
  for (;;) {
    try {
      if (await probe()) return { ok: true, ms: Date.now() - start };
    } catch {
      // the server may be restarting: keep polling
    }
    if (Date.now() - start > timeoutMs) return { ok: false, ms: Date.now() - start };
    await sleep(intervalMs);
  }
}
