// Scenario `failover` (issue 8): how long writes stop when a primary is killed, and
// how many acknowledged writes a failover loses, Shoal beside a real Redis Cluster in
// the same run.
//
// Per target (one alive at a time, started fresh for each block of kills; blocks of the
// targets interleaved and counter-balanced: A B C, C B A, ...):
// - Shoal embedded: `node dist/bin/shoal.js --replicas 1 --shards 2 --workers 1
//   --consistency strong|eventual ...` (two replication groups, each primary in its own
//   shard process, so one kill takes out exactly one group);
// - Redis Cluster: 3 primaries + 3 replicas, cluster-node-timeout 1000 (redis-cluster.ts).
// FAILOVER_CLIENTS clients write unique keys in a closed loop (a short gap after each
// reply), through the proxy for Shoal and slot-routed for Redis (a "smart client": the
// slot map from CLUSTER SLOTS, MOVED followed, the map refreshed at most every 20 ms
// while writes fail). Every acknowledged key is remembered with its value.
// One kill: the group to kill alternates; SIGKILL to the process holding its primary
// (a pid this run started), at t0. Failover time = first +OK of a write SENT after t0
// to a key in the killed group's slots, minus t0. Then: Shoal's manager restarts the
// killed process, which must rejoin as a replica with its link up and no sync in
// progress (bounded wait); for Redis the bench restarts the killed node once the
// failover is done (its nodes.conf makes it rejoin as the new primary's replica) and
// waits for the cluster to be healthy. Then every acknowledged key so far is read back
// (Shoal: through the proxy with CONSISTENCY strong so reads go to primaries; Redis:
// from the slot's primary): a key missing or with another value is an acknowledged
// write lost. Each kill records the 1-minute load average (/proc/loadavg).
//
// Every process is started and stopped here, by pid.

import fs from 'node:fs';
import { keySlot } from '../../shared/cluster/slot.js';
import { RespClient, RespError, showReply, type Reply } from '../resp-client.js';
import { RedisCluster, isRedirect, type SlotOwner } from '../redis-cluster.js';
import { HOST, alive, die, envList, envNum, fmt, log, mdTable, median, sleep, stopServer, textTable, verdict, type Section } from './harness.js';
import { clusterModeAvailable, replicaInSync, startClusterMode } from './shoal-cluster-mode.js';
import { groupKey, logShoal, nodeOf, pidOfNode, replicaState, startShoal, topologyOf, type TopologyView } from './shoal-replicas.js';

const TARGETS = envList('FAILOVER_TARGETS', 'strong,eventual,cluster,redis').map((x) => x.toLowerCase());
const KILLS = Math.max(1, Math.floor(envNum('FAILOVER_KILLS', 20)));
const REDIS_KILLS = Math.max(1, Math.floor(envNum('FAILOVER_REDIS_KILLS', 10)));
const CLUSTER_KILLS = Math.max(1, Math.floor(envNum('FAILOVER_CLUSTER_KILLS', 20)));
const BLOCKS = Math.max(1, Math.floor(envNum('FAILOVER_BLOCKS', 2)));
const CLIENTS = Math.max(1, Math.floor(envNum('FAILOVER_CLIENTS', 20)));
const GAP_MS = envNum('FAILOVER_GAP_MS', 5);
const VALUE_BYTES = Math.max(8, Math.floor(envNum('FAILOVER_VALUE', 32)));
const FIRST_WRITE_TIMEOUT = envNum('FAILOVER_TIMEOUT', 30);
const RECOVER_TIMEOUT = envNum('FAILOVER_RECOVER_TIMEOUT', 90);
const SETTLE_MS = envNum('FAILOVER_SETTLE_MS', 1500);
const SHARDS = Math.max(1, Math.floor(envNum('FAILOVER_SHARDS', 2)));
const WORKERS = Math.max(1, Math.floor(envNum('FAILOVER_WORKERS', 1)));
const NODE_TIMEOUT = envNum('FAILOVER_NODE_TIMEOUT', 1000);
const P50_GOAL_MS = 1000;
const MAX_GOAL_MS = 2000;

export const FAILOVER_KNOBS = ['FAILOVER_TARGETS', 'FAILOVER_KILLS', 'FAILOVER_REDIS_KILLS', 'FAILOVER_CLUSTER_KILLS', 'FAILOVER_BLOCKS', 'FAILOVER_CLIENTS',
  'FAILOVER_GAP_MS', 'FAILOVER_VALUE', 'FAILOVER_TIMEOUT', 'FAILOVER_RECOVER_TIMEOUT', 'FAILOVER_SETTLE_MS', 'FAILOVER_SHARDS',
  'FAILOVER_WORKERS', 'FAILOVER_NODE_TIMEOUT', 'FAILOVER_PORT_LO', 'FAILOVER_PORT_HI'];

// ---------------------------------------------------------------- the writers

type WriteResult = 'ok' | { error: string };

interface Writer { set(key: string, value: string, slot: number): Promise<WriteResult>; close(): void }

/** One client of the Shoal proxy: one connection, reconnected after an error. */
class ProxyWriter implements Writer {
  #c: RespClient | undefined;
  constructor(readonly port: number) {}
  async set(key: string, value: string): Promise<WriteResult> {
    try {
      this.#c ??= await RespClient.connect(this.port, HOST, 5000);
    } catch (e) {
      return { error: `connect: ${(e as Error).message}` };
    }
    try {
      const r = await this.#c.send(['SET', key, value]);
      return r === 'OK' ? 'ok' : { error: showReply(r) };
    } catch (e) {
      this.#c.close();
      this.#c = undefined;
      return { error: `connection: ${(e as Error).message}` };
    }
  }
  close(): void { this.#c?.close(); }
}

/** The slot map of a Redis Cluster client, shared by the writers; refreshed at most every 20 ms. */
class SlotRouter {
  readonly ports = new Int32Array(16384).fill(-1);
  #refreshing: Promise<void> | undefined;
  #last = 0;
  constructor(readonly cluster: RedisCluster) {}
  load(slots: SlotOwner[]): void {
    for (const s of slots) for (let i = s.from; i <= s.to; i++) this.ports[i] = s.primary;
  }
  refresh(): Promise<void> {
    this.#refreshing ??= (async () => {
      const wait = this.#last + 20 - Date.now();
      if (wait > 0) await sleep(wait);
      try {
        const s = await this.cluster.slots();
        if (s) this.load(s);
      } finally {
        this.#last = Date.now();
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }
}

/** One Redis Cluster client: a connection per node, MOVED followed, the map refreshed on errors. */
class ClusterWriter implements Writer {
  readonly #conns = new Map<number, Promise<RespClient>>();
  constructor(readonly router: SlotRouter) {}
  #drop(port: number): void {
    const c = this.#conns.get(port);
    this.#conns.delete(port);
    c?.then((x) => x.close(), () => { /* never connected */ });
  }
  /** The reply of the slot's primary (after MOVED hops), or an error that never reached a server reply. */
  async request(argv: string[], slot: number): Promise<{ reply: Reply } | { error: string }> {
    for (let hop = 0; hop < 5; hop++) {
      const port = this.router.ports[slot] ?? -1;
      if (port < 0) { await this.router.refresh(); continue; }
      let conn = this.#conns.get(port);
      if (!conn) {
        conn = RespClient.connect(port, HOST, 2000);
        this.#conns.set(port, conn);
      }
      let r: Reply;
      try { r = await (await conn).send(argv); } catch (e) {
        this.#drop(port);
        void this.router.refresh();
        return { error: `connection ${port}: ${(e as Error).message}` };
      }
      if (isRedirect(r)) {
        const m = /^(MOVED|ASK) (\d+) [^:]+:(\d+)/.exec(r.message);
        if (m) this.router.ports[Number(m[2])] = Number(m[3]);
        continue;
      }
      if (r instanceof RespError) void this.router.refresh();
      return { reply: r };
    }
    return { error: 'too many redirects' };
  }
  async set(key: string, value: string, slot: number): Promise<WriteResult> {
    const r = await this.request(['SET', key, value], slot);
    if ('error' in r) return r;
    return r.reply === 'OK' ? 'ok' : { error: showReply(r.reply) };
  }
  close(): void { for (const port of [...this.#conns.keys()]) this.#drop(port); }
}

/** The kill being measured: writes sent after t0 to the killed slots decide its failover time. */
interface Window { t0: bigint; killed: Uint8Array; firstOk?: bigint; errors: number; errorKinds: Map<string, number> }

class WriterPool {
  readonly acked: number[][] = [];
  readonly values: (string | undefined)[] = [];
  running = true;
  window: Window | undefined;
  ok = 0;
  errors = 0;
  readonly errorKinds = new Map<string, number>();
  readonly #loops: Promise<void>[] = [];
  readonly #writers: Writer[] = [];

  constructor(readonly tag: string, make: () => Writer) {
    for (let c = 0; c < CLIENTS; c++) {
      this.acked.push([]);
      const w = make();
      this.#writers.push(w);
      this.#loops.push(this.#loop(c, w));
    }
  }

  static keyOf(tag: string, c: number, seq: number): string { return `fo:${tag}:${c}:${seq}`; }
  static valueOf(tag: string, c: number, seq: number): string { return `${c}:${seq}:${tag}:`.padEnd(VALUE_BYTES, 'v'); }

  async #loop(c: number, w: Writer): Promise<void> {
    for (let seq = 0; this.running; seq++) {
      const key = WriterPool.keyOf(this.tag, c, seq);
      const slot = keySlot(Buffer.from(key));
      const win = this.window;
      const sent = process.hrtime.bigint();
      const r = await w.set(key, WriterPool.valueOf(this.tag, c, seq), slot);
      const now = process.hrtime.bigint();
      if (r === 'ok') {
        this.ok++;
        this.acked[c]!.push(seq);
        if (win && win === this.window && win.firstOk === undefined && sent >= win.t0 && win.killed[slot]) win.firstOk = now;
      } else {
        this.errors++;
        const kind = r.error.replace(/\d+/g, 'N').slice(0, 80);
        this.errorKinds.set(kind, (this.errorKinds.get(kind) ?? 0) + 1);
        if (win && win === this.window) {
          win.errors++;
          win.errorKinds.set(kind, (win.errorKinds.get(kind) ?? 0) + 1);
        }
        await sleep(10);
      }
      if (GAP_MS > 0) await sleep(GAP_MS);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.#loops);
    for (const w of this.#writers) w.close();
  }

  /** Every acknowledged (client, seq) so far, as of now. */
  snapshot(): { c: number; seq: number }[] {
    const out: { c: number; seq: number }[] = [];
    this.acked.forEach((list, c) => { for (const seq of list.slice()) out.push({ c, seq }); });
    return out;
  }
}

// ---------------------------------------------------------------- targets

interface Kill { n: number; group: string; node: string; ms: number; lost: number; newLost: number; load1: number; recoverMs: number; errors: number }

interface KillTarget {
  label: string;
  /** Slots of each replication group now (group name -> mask). */
  groups(): Promise<Map<string, { mask: Uint8Array; node: string }>>;
  /** SIGKILLs the process holding `group`'s primary; returns t0 (just before the signal) and the node. */
  kill(group: string): Promise<{ t0: bigint; node: string }>;
  /** After the failover: the killed process is back as a replica and in sync. */
  recover(node: string): Promise<void>;
  writer(): Writer;
  /** Reads `keys` back from the primaries: the values found (null = missing). */
  read(keys: string[]): Promise<(string | null)[]>;
  stop(): Promise<void>;
  command: string;
}

const load1 = () => Number(fs.readFileSync('/proc/loadavg', 'latin1').split(' ')[0]);
const maskOf = (ranges: [number, number][]) => {
  const m = new Uint8Array(16384);
  for (const [a, b] of ranges) m.fill(1, a, b + 1);
  return m;
};

async function shoalTarget(mode: string, block: number): Promise<KillTarget> {
  const c = await startShoal(`shoal-${mode}-${block}`, { replicas: 1, shards: SHARDS, workers: WORKERS, consistency: mode });
  const t = await topologyOf(c);
  logShoal(c, t);
  let reader: RespClient | undefined;
  const killedPids = new Map<string, number>();
  return {
    label: `shoal embedded ${mode}`,
    command: c.command,
    async groups() {
      const topo = await topologyOf(c);
      return new Map(topo.workers.map((w) => [groupKey(w), { mask: maskOf(w.slots), node: nodeOf(w) }]));
    },
    async kill(group) {
      const topo = await topologyOf(c);
      const p = topo.workers.find((w) => groupKey(w) === group);
      if (!p) return die(`shoal: no primary for group ${group} in /topology`, 4);
      const node = nodeOf(p);
      const pid = pidOfNode(c, topo, node);
      killedPids.set(node, pid);
      const t0 = process.hrtime.bigint();
      process.kill(pid, 'SIGKILL');
      log(`  kill -9 ${node} (pid ${pid}), primary of group ${group} (epoch ${topo.epoch})`);
      return { t0, node };
    },
    async recover(node) {
      const deadline = Date.now() + RECOVER_TIMEOUT * 1000;
      const old = killedPids.get(node);
      let last = '';
      while (Date.now() < deadline) {
        if (c.server.exited) die(`${c.server.name} exited (code ${c.server.exited.code})`, 4);
        try {
          const topo: TopologyView = await topologyOf(c);
          const p = topo.processes.find((x) => x.role === 'shard' && x.name === node);
          if (!p || p.pid === old || !alive(p.pid)) last = `${node} not restarted yet (topology pid ${p?.pid ?? 'none'}, killed ${old})`;
          else if (topo.workers.some((w) => nodeOf(w) === node)) last = `${node} (pid ${p.pid}) still holds a primary in /topology (epoch ${topo.epoch})`;
          else last = await replicaState(c, topo);
          if (last === '') { logShoal(c, topo); return; }
        } catch (e) { last = (e as Error).message; }
        await sleep(100);
      }
      die(`shoal: ${node} did not rejoin as an in-sync replica within ${RECOVER_TIMEOUT} s: ${last}`, 4);
    },
    writer: () => new ProxyWriter(c.port),
    async read(keys) {
      reader ??= await openStrongReader(c.port);
      return readThrough(reader, keys, `shoal embedded ${mode}`);
    },
    async stop() { reader?.close(); await stopServer(c.server); },
  };
}

async function redisTarget(): Promise<KillTarget> {
  const cluster = await RedisCluster.start(3, NODE_TIMEOUT);
  const router = new SlotRouter(cluster);
  const killedSlots = new Map<number, SlotOwner[]>();
  const slotsNow = async () => {
    const s = await cluster.slots();
    if (!s) return die('redis cluster: no node answers CLUSTER SLOTS', 4);
    return s;
  };
  router.load(await slotsNow());
  const reader = new ClusterWriter(router);
  return {
    label: `redis cluster (node-timeout ${NODE_TIMEOUT} ms)`,
    command: cluster.command,
    async groups() {
      const out = new Map<string, { mask: Uint8Array; node: string }>();
      const s = await slotsNow();
      // Groups by their slot ranges, which stay with the group across failovers.
      for (const o of s) out.set(`slots ${o.from}-${o.to}`, { mask: maskOf([[o.from, o.to]]), node: String(o.primary) });
      return out;
    },
    async kill(group) {
      const s = await slotsNow();
      const o = s.find((x) => `slots ${x.from}-${x.to}` === group);
      const node = o ? cluster.nodeByPort(o.primary) : undefined;
      if (!o || !node) return die(`redis cluster: no primary for ${group}`, 4);
      killedSlots.set(node.port, s.filter((x) => x.primary === node.port));
      log(`  kill -9 redis node ${node.port} (pid ${node.server.pid}), primary of ${group}`);
      const t0 = process.hrtime.bigint();
      await cluster.kill(node);
      return { t0, node: String(node.port) };
    },
    async recover(nodeName) {
      const node = cluster.nodeByPort(Number(nodeName));
      if (!node) return die(`redis cluster: unknown node ${nodeName}`, 4);
      // Restart only once another node serves its slots (before that it would come back as their primary, empty).
      const deadline = Date.now() + RECOVER_TIMEOUT * 1000;
      const mine = killedSlots.get(node.port) ?? [];
      for (;;) {
        const s = await cluster.slots();
        if (s && mine.every((m) => s.some((x) => x.from === m.from && x.primary !== node.port))) break;
        if (Date.now() > deadline) die(`redis cluster: slots of ${node.port} not taken over within ${RECOVER_TIMEOUT} s`, 4);
        await sleep(50);
      }
      await cluster.restart(node);
      await cluster.waitHealthy(RECOVER_TIMEOUT * 1000);
      router.load(await slotsNow());
    },
    writer: () => new ClusterWriter(router),
    async read(keys) {
      const out: (string | null)[] = new Array(keys.length).fill(null);
      // Per key through the slot map (with MOVED); in parallel batches to keep it quick.
      for (let i = 0; i < keys.length; i += 500) {
        await Promise.all(keys.slice(i, i + 500).map(async (k, j) => {
          const deadline = Date.now() + READ_RETRY_MS;
          for (;;) {
            const r = await reader.request(['GET', k], keySlot(Buffer.from(k)));
            if (!('error' in r) && !(r.reply instanceof RespError)) {
              out[i + j] = Buffer.isBuffer(r.reply) ? r.reply.toString('latin1') : null;
              return;
            }
            const what = 'error' in r ? r.error : showReply(r.reply);
            noteRetry('redis cluster', what);
            if (Date.now() > deadline) die(`redis cluster: GET ${k} during verification -> ${what} for ${READ_RETRY_MS} ms`, 4);
            await sleep(100);
          }
        }));
      }
      return out;
    },
    async stop() { reader.close(); await cluster.stop(); },
  };
}

/** Shoal in cluster mode (etcd, two managers): the bench restarts a killed shard process, as a supervisor would. */
async function clusterTarget(block: number): Promise<KillTarget> {
  const cm = await startClusterMode('strong', `shoal-cluster-${block}`);
  let reader: RespClient | undefined;
  const rangesNow = async () => {
    const s = await cm.slots();
    if (!s || s.length === 0) return die('shoal cluster mode: no worker answers CLUSTER SLOTS', 4);
    return s;
  };
  const killed = new Map<string, { from: number; to: number }[]>();
  return {
    label: 'shoal cluster mode (etcd) strong',
    command: cm.command,
    async groups() {
      return new Map((await rangesNow()).map((o) => [`slots ${o.from}-${o.to}`, { mask: maskOf([[o.from, o.to]]), node: String(o.primary) }]));
    },
    async kill(group) {
      const o = (await rangesNow()).find((x) => `slots ${x.from}-${x.to}` === group);
      const n = o ? cm.nodes.find((x) => x.port === o.primary) : undefined;
      if (!o || !n) return die(`shoal cluster mode: no primary process for ${group}`, 4);
      killed.set(n.node, (await rangesNow()).filter((x) => x.primary === n.port));
      log(`  kill -9 ${n.node} (pid ${n.server.pid}), primary of ${group}`);
      const t0 = process.hrtime.bigint();
      await cm.kill(n);
      return { t0, node: n.node };
    },
    async recover(node) {
      const n = cm.nodes.find((x) => x.node === node);
      if (!n) return die(`shoal cluster mode: unknown node ${node}`, 4);
      const deadline = Date.now() + RECOVER_TIMEOUT * 1000;
      const mine = killed.get(node) ?? [];
      for (;;) {
        const s = await cm.slots();
        if (s && mine.every((m) => s.some((x) => x.from === m.from && x.primary !== n.port))) break;
        if (Date.now() > deadline) die(`shoal cluster mode: slots of ${node} not taken over within ${RECOVER_TIMEOUT} s`, 4);
        await sleep(50);
      }
      await cm.restart(n);
      let last = '';
      while (Date.now() < deadline) {
        try { last = await replicaInSync(n.port); } catch (e) { last = (e as Error).message; }
        if (last === '') return;
        await sleep(100);
      }
      die(`shoal cluster mode: ${node} did not rejoin as an in-sync replica within ${RECOVER_TIMEOUT} s: ${last}`, 4);
    },
    writer: () => new ProxyWriter(cm.proxyPort),
    async read(keys) {
      reader ??= await openStrongReader(cm.proxyPort);
      return readThrough(reader, keys, 'shoal cluster mode (etcd) strong');
    },
    async stop() { reader?.close(); await cm.stop(); },
  };
}

async function openStrongReader(port: number): Promise<RespClient> {
  const reader = await RespClient.connect(port, HOST, 10_000);
  const r = await reader.send(['CONSISTENCY', 'strong']);
  if (r !== 'OK') log(`  warning: CONSISTENCY strong -> ${showReply(r)} (reads may go to replicas)`);
  return reader;
}

/** Reads that fail (an error reply, a dropped connection) are retried for this long before the block gives up. */
const READ_RETRY_MS = 20_000;
/** Read errors retried during verification, per target label (reported: they are unavailability, not loss). */
const readRetries = new Map<string, { count: number; first: string }>();

function noteRetry(who: string, what: string): void {
  const r = readRetries.get(who) ?? { count: 0, first: what };
  r.count++;
  readRetries.set(who, r);
}

async function readThrough(reader: RespClient, keys: string[], who: string): Promise<(string | null)[]> {
  const out: (string | null)[] = [];
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000);
    const got = await reader.pipeline(batch.map((k) => ['GET', k]));
    for (const [j, g0] of got.entries()) {
      let g = g0;
      const deadline = Date.now() + READ_RETRY_MS;
      while (g instanceof RespError) {
        noteRetry(who, g.message);
        if (Date.now() > deadline) die(`${who}: GET ${batch[j]} during verification -> ${showReply(g)} for ${READ_RETRY_MS} ms`, 4);
        await sleep(100);
        g = await reader.send(['GET', batch[j]!]);
      }
      out.push(Buffer.isBuffer(g) ? g.toString('latin1') : null);
    }
  }
  return out;
}

// ---------------------------------------------------------------- one block of kills

interface Block { target: string; mode: string; command: string; kills: Kill[]; acked: number; lost: number; writes: number; errors: number; errorKinds: Map<string, number>; note?: string }

async function runBlock(name: string, block: number, kills: number): Promise<Block> {
  const t = name === 'redis' ? await redisTarget() : name === 'cluster' ? await clusterTarget(block) : await shoalTarget(name, block);
  const tag = `${name.slice(0, 1)}${block}`;
  const pool = new WriterPool(tag, () => t.writer());
  const lost = new Set<string>();
  const out: Block = { target: t.label, mode: name, command: t.command, kills: [], acked: 0, lost: 0, writes: 0, errors: 0, errorKinds: pool.errorKinds };
  try {
    await sleep(2000);
    if (pool.ok === 0) die(`${t.label}: no write succeeded in the first 2 s (errors: ${[...pool.errorKinds].slice(0, 3).map(([k, v]) => `${v}x ${k}`).join('; ')})`, 4);
    const groupNames = [...(await t.groups()).keys()].sort();
    for (let k = 0; k < kills; k++) {
      const group = groupNames[(k + block) % groupNames.length]!;
      const g = (await t.groups()).get(group);
      if (!g) die(`${t.label}: group ${group} vanished`, 4);
      const l1 = load1();
      // The window opens before the signal (t0 unknown yet: no write counts until it is set).
      const win: Window = { t0: 2n ** 63n, killed: g.mask, errors: 0, errorKinds: new Map() };
      pool.window = win;
      const { t0, node } = await t.kill(group);
      win.t0 = t0;
      const deadline = Date.now() + FIRST_WRITE_TIMEOUT * 1000;
      while (win.firstOk === undefined && Date.now() < deadline) await sleep(5);
      pool.window = undefined;
      if (win.firstOk === undefined) {
        out.note = `kill ${k + 1}: no write to ${group} succeeded within ${FIRST_WRITE_TIMEOUT} s (errors: ${[...win.errorKinds].slice(0, 3).map(([e, v]) => `${v}x ${e}`).join('; ')})`;
        log(`  ${out.note}`);
        break;
      }
      const ms = Number(win.firstOk - t0) / 1e6;
      const r0 = Date.now();
      await t.recover(node);
      const recoverMs = Date.now() - r0 + ms;
      // Read back every acknowledged write so far.
      const snap = pool.snapshot();
      const keys = snap.map((x) => WriterPool.keyOf(tag, x.c, x.seq));
      const got = await t.read(keys);
      let missing = 0, newLost = 0;
      snap.forEach((x, i) => {
        if (got[i] !== WriterPool.valueOf(tag, x.c, x.seq)) {
          missing++;
          if (!lost.has(keys[i]!)) { lost.add(keys[i]!); newLost++; }
        }
      });
      out.kills.push({ n: k + 1, group, node, ms, lost: missing, newLost, load1: l1, recoverMs, errors: win.errors });
      log(`  kill ${k + 1}/${kills} ${t.label} ${group}: first write after ${ms.toFixed(0)} ms (${win.errors} errors meanwhile), `
        + `rejoined in sync after ${(recoverMs / 1000).toFixed(1)} s; ${keys.length} acked keys read back, ${newLost} newly lost (${lost.size} in all); load1 ${l1}`);
      await sleep(SETTLE_MS);
    }
  } finally {
    await pool.stop();
    out.acked = pool.acked.reduce((a, l) => a + l.length, 0);
    out.writes = pool.ok + pool.errors;
    out.errors = pool.errors;
    out.lost = lost.size;
    await t.stop();
  }
  return out;
}

// ---------------------------------------------------------------- section

const pct = (xs: number[], p: number) => {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!v.length) return NaN;
  return v[Math.min(v.length - 1, Math.ceil((p / 100) * v.length) - 1)] ?? NaN;
};

export async function runFailover(): Promise<Section> {
  for (const x of TARGETS) if (!['strong', 'eventual', 'session', 'cluster', 'redis'].includes(x)) die(`FAILOVER_TARGETS: unknown "${x}" (strong, eventual, session, cluster, redis)`, 1);
  const blocks: Block[] = [];
  const failures: string[] = [];
  for (let b = 0; b < BLOCKS; b++) {
    const order = b % 2 === 0 ? TARGETS : [...TARGETS].reverse();
    for (const name of order) {
      if (name === 'cluster' && clusterModeAvailable()) {
        if (b === 0) failures.push(`cluster mode not measured: ${clusterModeAvailable()}`);
        continue;
      }
      const total = name === 'redis' ? REDIS_KILLS : name === 'cluster' ? CLUSTER_KILLS : KILLS;
      const n = Math.floor(total / BLOCKS) + (b < total % BLOCKS ? 1 : 0);
      if (n === 0) continue;
      log(`failover block ${b + 1}/${BLOCKS}: ${name}, ${n} kills`);
      try {
        blocks.push(await runBlock(name, b, n));
      } catch (e) {
        const msg = `${name} block ${b + 1}: ${(e as Error).message.split('\n')[0]}`;
        log(`  FAILED: ${msg}`);
        failures.push(msg);
      }
    }
  }
  return section(blocks, failures);
}

const HEAD = ['system', 'consistency', 'kills', 'p50 ms', 'p90 ms', 'max ms', 'rejoin p50 s', 'writes acked', 'acked writes lost', 'write errors', 'load1 median (max)'];

function section(blocks: Block[], failures: string[]): Section {
  const byTarget = new Map<string, Block[]>();
  for (const b of blocks) byTarget.set(b.target, [...(byTarget.get(b.target) ?? []), b]);
  const rows: string[][] = [];
  const goals: string[][] = [];
  const perKill: string[][] = [];
  for (const [target, bs] of byTarget) {
    const kills = bs.flatMap((b) => b.kills);
    const ms = kills.map((k) => k.ms);
    const mode = bs[0]?.mode === 'redis' ? 'async (Redis)' : bs[0]?.mode === 'cluster' ? 'strong' : bs[0]?.mode ?? '?';
    const lost = bs.reduce((a, b) => a + b.lost, 0);
    const acked = bs.reduce((a, b) => a + b.acked, 0);
    const loads = kills.map((k) => k.load1);
    rows.push([target, mode, String(kills.length), fmt(pct(ms, 50)), fmt(pct(ms, 90)), fmt(Math.max(...ms)),
      fmt(median(kills.map((k) => k.recoverMs / 1000)), 1), String(acked), String(lost),
      String(bs.reduce((a, b) => a + b.errors, 0)), `${fmt(median(loads), 2)} (${fmt(Math.max(...loads), 2)})`]);
    if (bs[0]?.mode !== 'redis') {
      goals.push([`${target}: failover p50`, `< ${P50_GOAL_MS} ms`, `${fmt(pct(ms, 50))} ms`, verdict(ms.length ? pct(ms, 50) < P50_GOAL_MS : undefined)]);
      goals.push([`${target}: failover max`, `< ${MAX_GOAL_MS} ms`, `${fmt(Math.max(...ms))} ms`, verdict(ms.length ? Math.max(...ms) < MAX_GOAL_MS : undefined)]);
      if (mode === 'strong') goals.push([`${target}: acknowledged writes lost`, '0', String(lost), verdict(kills.length ? lost === 0 : undefined)]);
      else goals.push([`${target}: acknowledged writes lost`, 'report', `${lost} of ${acked}`, 'reported']);
    }
    for (const b of bs) for (const k of b.kills) perKill.push([target, String(k.n), k.group, k.node, fmt(k.ms), fmt(k.recoverMs / 1000, 1), String(k.errors), String(k.newLost), fmt(k.load1, 2)]);
  }
  const notes = [...blocks.filter((b) => b.note).map((b) => `${b.target}: ${b.note}`), ...failures];
  const errorKinds = [...byTarget].map(([target, bs]) => {
    const kinds = new Map<string, number>();
    for (const b of bs) for (const [k, v] of b.errorKinds) kinds.set(k, (kinds.get(k) ?? 0) + v);
    return `- ${target}: ${[...kinds].sort((a, c) => c[1] - a[1]).slice(0, 4).map(([k, v]) => `${v}x \`${k}\``).join(', ') || 'none'}`;
  });
  const retried = [...readRetries].map(([who, r]) => `- ${who}: ${r.count} read(s) retried during verification (first: \`${r.first.replace(/\d+/g, 'N')}\`); unavailability, not loss`);
  const cmds = [...new Map(blocks.map((b) => [b.target, b.command])).entries()].map(([t, c]) => `- ${t}: \`${c}\``);
  const text = [rows.length ? textTable(HEAD, rows) : 'no kill measured', ...goals.map((g) => `goal ${g[0]} ${g[1]}: ${g[3]} (${g[2]})`), ...notes].join('\n');
  const markdown = `## Failover: kill -9 of a primary under writes (issue 8)

Method: ${CLIENTS} clients write unique keys (${VALUE_BYTES}-byte values) in a closed loop, ${GAP_MS} ms pause after each
reply (10 ms more after an error), Shoal through its proxy, Redis Cluster through a slot-routing client of ours (slot
map from \`CLUSTER SLOTS\`, \`MOVED\` followed, the map re-read at most every 20 ms while writes fail). One target alive
at a time, started fresh for each block; ${BLOCKS} block(s) per target, interleaved and counter-balanced. Each kill:
\`kill -9\` of the process holding one group's primary (the group alternates); **failover time** = from the signal to
the first +OK of a write *sent after it* to a key of that group's slots. Then the killed process must be back as an
in-sync replica (Shoal: restarted by the manager, \`master_link_status:up\`, no sync in progress; Redis: restarted by
the bench once a replica has taken its slots, then \`cluster_state:ok\` everywhere and every replica linked): \`rejoin\`
is kill to that point. Then **every acknowledged write so far** is read back (Shoal: through the proxy with
\`CONSISTENCY strong\`, i.e. from the primaries; Redis: from each slot's primary); a missing key or another value is an
acknowledged write lost. \`load1\`: /proc/loadavg at each kill (2-core machine).

${cmds.join('\n')}

${rows.length ? mdTable(HEAD, rows) : '_No kill measured._'}
${notes.length ? `\n${notes.map((n) => `> **Not complete:** ${n}`).join('\n>\n')}\n` : ''}
Errors the writers saw (all kills): 

${errorKinds.join('\n')}
${retried.length ? `\nVerification reads that failed and were retried (up to ${READ_RETRY_MS / 1000} s each):\n\n${retried.join('\n')}\n` : ''}
### Targets (from the issue)

${goals.length ? mdTable(['figure', 'goal', 'measured', 'verdict'], goals, 2) : '_Not measured._'}

<details><summary>Every kill</summary>

${perKill.length ? mdTable(['system', 'kill', 'group', 'process killed', 'failover ms', 'rejoin s', 'errors meanwhile', 'lost (new)', 'load1'], perKill, 4) : '_none_'}

</details>
`;
  return { scenario: 'failover', text, markdown: markdown.replace(/\n{3,}/g, '\n\n') };
}
