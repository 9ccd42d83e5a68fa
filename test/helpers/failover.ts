// WriterPool: N clients (default 20) writing unique keys as fast as each one's
// replies come back, logging every acknowledged write with the time it was sent and
// acknowledged. The failover tests and the failover bench use it to measure the gap a
// failover leaves (kill -> first acknowledged write) and to check afterwards that
// every acknowledged write is present.
//
//   const pool = await WriterPool.start({ port: target.port, consistency: 'strong' });
//   await sleep(1000); kill(...); ...
//   await pool.stop();
//   pool.acked      // [{ key, value, client, sentAt, ackedAt }], in ack order
//   pool.errors     // [{ client, key, at, error }]: error replies and broken links
//   const lost = await pool.missing(port);   // acknowledged keys now absent or different
//
// Each client sends one SET at a time (key `<prefix>:<client>:<seq>`, value
// `v<seq>@<sentAt>`), so an acknowledgement is unambiguous: the reply to that SET was
// +OK. An error reply (-TRYAGAIN, -CLUSTERDOWN ...) is logged and the client moves on to
// a new key after `retryDelayMs`; a broken connection is reopened. Times are
// Date.now() milliseconds. Clients are the raw RespClient of test/helpers/run.ts: no
// library retries or queues hide what the server answered.

import { RespClient, parseInfo, sleep, type RespValue } from './run.js';

export type AckedWrite = { key: string; value: string; client: number; sentAt: number; ackedAt: number };
export type FailedWrite = { key: string; client: number; sentAt: number; at: number; error: string };

export type WriterPoolOptions = {
  /** The proxy's (or any RESP server's) port. */
  port: number;
  host?: string;
  /** Concurrent clients (default 20). */
  clients?: number;
  /** Key prefix (default `w`); give each run its own so runs never share keys. */
  prefix?: string;
  /** Sent as `CONSISTENCY <level>` on every connection (Shoal's per-connection level); absent = the server default. */
  consistency?: 'eventual' | 'strong' | 'session';
  /** Pause after an error before the next write (default 5 ms). */
  retryDelayMs?: number;
  /** Per-write reply timeout (default 5000 ms); a timeout counts as an error (the write's fate is unknown). */
  timeoutMs?: number;
};

const isError = (v: RespValue): v is { error: string } => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map) && !Buffer.isBuffer(v) && 'error' in v;

export class WriterPool {
  readonly acked: AckedWrite[] = [];
  readonly errors: FailedWrite[] = [];
  #running = true;
  #loops: Promise<void>[] = [];
  readonly #opts: Required<Omit<WriterPoolOptions, 'consistency'>> & Pick<WriterPoolOptions, 'consistency'>;

  private constructor(opts: WriterPoolOptions) {
    this.#opts = { host: '127.0.0.1', clients: 20, prefix: 'w', retryDelayMs: 5, timeoutMs: 5000, ...opts };
  }

  /** Connects every client (bounded) and starts writing. */
  static async start(opts: WriterPoolOptions): Promise<WriterPool> {
    const pool = new WriterPool(opts);
    const clients = await Promise.all(Array.from({ length: pool.#opts.clients }, () => pool.#connect()));
    pool.#loops = clients.map((c, i) => pool.#loop(i, c));
    return pool;
  }

  /** Stops writing; resolves once every client's last write is answered or timed out. */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }

  /** The first acknowledgement at or after `t` of a write sent at or after `sentAfter` (null = none). */
  firstAck(t: number, filter: (w: AckedWrite) => boolean = () => true, sentAfter = t): AckedWrite | null {
    for (const w of this.acked) if (w.ackedAt >= t && w.sentAt >= sentAfter && filter(w)) return w;
    return null;
  }

  /**
   * Reads every acknowledged key back through `port` (pipelined GETs on one
   * connection) and returns those now missing or holding another value.
   */
  async missing(port: number, host = this.#opts.host): Promise<AckedWrite[]> {
    const c = await RespClient.connect(port, host);
    const out: AckedWrite[] = [];
    try {
      const BATCH = 500;
      for (let i = 0; i < this.acked.length; i += BATCH) {
        const batch = this.acked.slice(i, i + BATCH);
        const replies = await Promise.all(batch.map((w) => c.run(['GET', w.key], { timeoutMs: 20_000 })));
        batch.forEach((w, j) => {
          if (replies[j] !== w.value) out.push(w);
        });
      }
    } finally {
      await c.close();
    }
    return out;
  }

  async #connect(): Promise<RespClient> {
    const c = await RespClient.connect(this.#opts.port, this.#opts.host, 2000);
    if (this.#opts.consistency !== undefined) {
      const r = await c.run(['CONSISTENCY', this.#opts.consistency], { timeoutMs: 2000 });
      if (r !== 'OK') {
        await c.close();
        throw new Error(`CONSISTENCY ${this.#opts.consistency} answered ${JSON.stringify(r)}`);
      }
    }
    return c;
  }

  async #loop(client: number, first: RespClient): Promise<void> {
    let c: RespClient | null = first;
    let seq = 0;
    while (this.#running) {
      if (c === null || c.closed) {
        try {
          c = await this.#connect();
        } catch (err) {
          this.errors.push({ key: '', client, sentAt: Date.now(), at: Date.now(), error: `connect: ${(err as Error).message}` });
          c = null;
          await sleep(50);
          continue;
        }
      }
      const key = `${this.#opts.prefix}:${client}:${seq++}`;
      const sentAt = Date.now();
      const value = `v${seq}@${sentAt}`;
      let reply: RespValue;
      try {
        reply = await c.run(['SET', key, value], { timeoutMs: this.#opts.timeoutMs });
      } catch (err) {
        this.errors.push({ key, client, sentAt, at: Date.now(), error: (err as Error).message });
        await c.close();
        c = null;
        continue;
      }
      if (reply === 'OK') {
        this.acked.push({ key, value, client, sentAt, ackedAt: Date.now() });
      } else {
        this.errors.push({ key, client, sentAt, at: Date.now(), error: isError(reply) ? reply.error : JSON.stringify(reply) });
        await sleep(this.#opts.retryDelayMs);
      }
    }
    await c?.close();
  }
}

// --- small helpers the failover tests share ---------------------------------------

export type TopoEndpoint = { id: string; shard: number; worker: number; host: string; port: number; slots: [number, number][]; role?: string; node?: string };
export type TopoFile = { epoch: number; workers: TopoEndpoint[]; replicas?: TopoEndpoint[]; processes: { role: string; name: string; pid: number; ports: number[] }[] };

/** The manager's topology file (`<dataDir>/topology.json`), read now. */
export async function readTopologyFile(dataDir: string): Promise<TopoFile> {
  const { readFile } = await import('node:fs/promises');
  return JSON.parse(await readFile(`${dataDir}/topology.json`, 'utf8')) as TopoFile;
}

/** Shard `shard`'s worker-0 replication group: its primary and its (first) replica. */
export function groupOf(topo: TopoFile, shard: number): { primary: TopoEndpoint; replica: TopoEndpoint } {
  const primary = topo.workers.find((w) => w.shard === shard && w.worker === 0)!;
  const replica = (topo.replicas ?? []).find((w) => w.shard === shard && w.worker === 0)!;
  return { primary, replica };
}

/** The pid of shard process `node` in the topology (undefined = not running). */
export function nodePid(t: TopoFile, node: string): number | undefined {
  return t.processes.find((p) => p.role === 'shard' && p.name === node)?.pid;
}

/** Whether `slot` is in the ranges. */
export function inSlots(slots: readonly [number, number][], slot: number): boolean {
  return slots.some(([a, b]) => slot >= a && slot <= b);
}

/** `INFO replication` of one worker as a map (empty when it does not answer within 2 s). */
export async function replicationInfo(port: number): Promise<Map<string, string>> {
  let c: RespClient | undefined;
  try {
    c = await RespClient.connect(port, '127.0.0.1', 2000);
    return parseInfo(await c.run(['INFO', 'replication'], { timeoutMs: 2000 }));
  } catch {
    return new Map();
  } finally {
    await c?.close();
  }
}

export type Convergence = { ok: boolean; ms: number; primaryOffset: number; replicaOffset: number; primaryKeys: number; replicaKeys: number; sampled: number; differing: string[]; detail: string };

/**
 * Waits (bounded) until the replica on `replicaPort` follows the primary on
 * `primaryPort` with its link up at the primary's offset and the same DBSIZE, then
 * compares `sampleKeys` (GET on the primary vs READONLY + GET on the replica).
 * Call it once writes have stopped.
 */
export async function waitConverged(primaryPort: number, replicaPort: number, sampleKeys: readonly string[], timeoutMs = 20_000): Promise<Convergence> {
  const started = Date.now();
  let last: Convergence = { ok: false, ms: 0, primaryOffset: -1, replicaOffset: -1, primaryKeys: -1, replicaKeys: -1, sampled: 0, differing: [], detail: 'not checked' };
  const dbsize = async (port: number): Promise<number> => {
    const c = await RespClient.connect(port, '127.0.0.1', 2000).catch(() => null);
    if (c === null) return -1;
    try {
      const r = await c.run(['DBSIZE'], { timeoutMs: 2000 });
      return typeof r === 'number' ? r : -1;
    } catch {
      return -1;
    } finally {
      await c.close();
    }
  };
  while (Date.now() - started < timeoutMs) {
    const [p, r] = await Promise.all([replicationInfo(primaryPort), replicationInfo(replicaPort)]);
    const primaryOffset = Number(p.get('master_repl_offset') ?? -1);
    const replicaOffset = Number(r.get('slave_repl_offset') ?? -1);
    const [primaryKeys, replicaKeys] = await Promise.all([dbsize(primaryPort), dbsize(replicaPort)]);
    const detail = `primary role:${p.get('role')} offset ${primaryOffset} keys ${primaryKeys}; replica role:${r.get('role')} link:${r.get('master_link_status')} master_port:${r.get('master_port')} offset ${replicaOffset} keys ${replicaKeys}`;
    last = { ok: false, ms: Date.now() - started, primaryOffset, replicaOffset, primaryKeys, replicaKeys, sampled: 0, differing: [], detail };
    if (p.get('role') === 'master' && r.get('role') === 'slave' && r.get('master_link_status') === 'up' && Number(r.get('master_port')) === primaryPort
      && primaryOffset >= 0 && replicaOffset === primaryOffset && primaryKeys === replicaKeys && primaryKeys >= 0) {
      const pc = await RespClient.connect(primaryPort);
      const rc = await RespClient.connect(replicaPort);
      try {
        await rc.run(['READONLY']);
        const differing: string[] = [];
        for (const k of sampleKeys) {
          const [a, b] = await Promise.all([pc.run(['GET', k]), rc.run(['GET', k])]);
          if (JSON.stringify(a) !== JSON.stringify(b)) differing.push(`${k}: primary ${JSON.stringify(a)} replica ${JSON.stringify(b)}`);
        }
        return { ...last, ok: differing.length === 0, ms: Date.now() - started, sampled: sampleKeys.length, differing };
      } finally {
        await pc.close();
        await rc.close();
      }
    }
    await sleep(100);
  }
  return last;
}
