/**
 * Shard process main thread: the control plane of one shard. It spawns one worker
 * thread per worker endpoint of this shard in the topology, waits until each
 * listens, reports readiness (log line, and an IPC message when forked by the
 * launcher) and stops them on SIGINT/SIGTERM.
 */
import { Worker } from 'node:worker_threads';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { ShoalConfig } from '../shared/config/schema.js';
import type { WorkerEndpoint } from '../shared/cluster/topology.js';
import { readTopologyOnce } from '../shared/cluster/open-topology-source.js';
import { staticWorkers, endpointNode, nodeName } from '../shared/cluster/topology.js';
import { createLogger } from '../shared/log.js';
import { ShoalError, ErrorCodes } from '../shared/errors.js';
import { serverTlsOptions } from '../shared/tls/settings.js';
import type { WorkerInit } from './worker/server.js';
import { serveSnapshotSink } from './persistence/snapshot-pool.js';

export interface ShardOptions {
  config: ShoalConfig;
  /** This shard's index in the topology. */
  shard: number;
  /** The shard process to run (its endpoints in the topology, primaries or replicas); default `shard-<shard>`. */
  node?: string;
  /** Topology file written by the manager; absent (and no config etcdEndpoints) = standalone (this shard owns all slots). */
  topologyFile?: string;
}

const START_TIMEOUT_MS = 15000;
/**
 * V8 young generation per worker thread. Node's default (16 MiB semi-spaces) lets
 * each worker keep ~48 MiB of short-lived garbage resident, which a cache counts
 * against every key; 8 MiB keeps scavenges cheap and RSS close to the data. A guess
 * tuned by loadtest/macro/memory.ts, not a derived figure.
 */
const WORKER_YOUNG_GEN_MB = 8;
/** Between the startup GC and the RSS reading: V8 unmaps freed pages in background tasks. */
const STARTUP_SETTLE_MS = 100;

export async function runShard(opts: ShardOptions): Promise<void> {
  // Gives the worker isolates created below a `gc` function: shard/worker/idle-gc.ts
  // collects once when a worker goes quiet after a burst.
  setFlagsFromString('--expose-gc');
  // The launcher (manager/supervisor.ts) starts this process with --max-semi-space-size=1:
  // the main thread allocates little, and V8's default 16 MiB semi-spaces would keep
  // megabytes of its garbage resident. The flag is process-wide and overrides the
  // workers' resourceLimits, so it is cleared before they start (0 = use the limits).
  setFlagsFromString('--max-semi-space-size=0');
  const { config } = opts;
  const log = createLogger('shoal-shard', config.logLevel).child({ shard: opts.shard, node: opts.node ?? nodeName(opts.shard) });
  let workers: WorkerEndpoint[];
  let replicas: WorkerEndpoint[] = [];
  let epoch = 1;
  // Cluster mode (--etcd-endpoints) reads it from etcd, embedded mode from the manager's file.
  const topo = await readTopologyOnce(config, opts.topologyFile);
  if (topo !== null) {
    workers = topo.workers;
    replicas = topo.replicas ?? [];
    epoch = topo.epoch;
  } else {
    workers = staticWorkers(config.host, config.shardBasePort, 1, config.workers);
  }
  const node = opts.node ?? nodeName(opts.shard);
  const mine = [...workers, ...replicas].filter((w) => endpointNode(w) === node);
  if (config.tlsCluster === 'yes') serverTlsOptions(config); // a bad TLS file fails here, naming its key
  if (mine.length === 0) throw new ShoalError(ErrorCodes.TOPOLOGY, `shard process ${node} has no workers in the topology`);

  const threads: Worker[] = [];
  await Promise.all(mine.map((self) => new Promise<void>((resolve, reject) => {
    const init: WorkerInit = { self, topology: workers, replicas, epoch, config };
    const t = new Worker(new URL('./worker/main.js', import.meta.url), {
      workerData: init,
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GEN_MB },
    });
    threads.push(t);
    const timer = setTimeout(() => reject(new ShoalError(ErrorCodes.PROCESS, `worker on port ${self.port} did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    t.on('message', (m: { type: string; error?: { code: typeof ErrorCodes[keyof typeof ErrorCodes]; message: string } }) => {
      if (m.type === 'listening') {
        clearTimeout(timer);
        log.info({ worker: self.worker, port: self.port, slots: self.slots, role: self.role ?? 'primary' }, 'worker listening');
        resolve();
      } else if (m.type === 'snapshot-sink') {
        serveSnapshotSink(t, m as unknown as Parameters<typeof serveSnapshotSink>[1]);
      } else if (m.type === 'loading') {
        timer.refresh(); // a large snapshot is still loading: not stuck
        process.send?.({ type: 'loading' });
      } else if (m.type === 'error' && m.error) {
        clearTimeout(timer);
        reject(ShoalError.fromJSON(m.error));
      }
    });
    t.on('error', (err) => {
      clearTimeout(timer);
      log.error({ err, port: self.port }, 'worker thread crashed');
      reject(err);
    });
    t.on('exit', (code) => {
      if (!stopping) {
        log.fatal({ port: self.port, code }, 'worker thread exited; stopping the shard');
        process.exit(1);
      }
    });
  })));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping shard');
    for (const t of threads) t.postMessage({ type: 'stop' });
    setTimeout(() => process.exit(0), 200).unref();
    Promise.all(threads.map((t) => new Promise((r) => t.once('exit', r)))).then(() => process.exit(0), () => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('disconnect', () => stop('parent disconnected'));

  const startup = await measureStartup(threads);
  log.info({ ports: mine.map((w) => w.port), workers: mine.length, startupBytesPerWorker: startup }, 'shard ready');
  const room = config.maxmemory / mine.length - startup;
  if (config.maxmemory > 0 && room < 0.1 * startup) {
    // As Redis warns when maxmemory is below what it already uses: legal, but data gets (almost) no room.
    log.warn({ maxmemory: config.maxmemory, usedMemoryStartup: startup * mine.length },
      `maxmemory ${config.maxmemory} leaves ${Math.max(0, Math.round(room / 1048576))} MiB per worker for data: the runtime counts ${Math.round((startup * mine.length) / 1048576)} MiB of it (used_memory_startup, docs/memory.md); writes will evict or get OOM`);
  }
  process.send?.({ type: 'ready', shard: opts.shard, ports: mine.map((w) => w.port) });
}

/**
 * used_memory_startup (docs/memory.md): the runtime's resident memory once every worker
 * listens — process RSS (Node binary, three V8 heaps, libraries, thread stacks) minus
 * the arenas' page bytes (data loaded from disk) — split evenly between the workers.
 * Each worker counts its share in used_memory, so maxmemory bounds the process's RSS
 * as Redis's used_memory counts its own overhead. Measured once, after a full GC of
 * every isolate (startup garbage is not runtime, and without it the figure varied by
 * +-3 MiB from start to start: the capacity left for data should not) and a short
 * settle for V8 to unmap freed pages; resolves when every worker has applied it, before
 * the process reports ready. Under load the runtime stays within a few MiB of it
 * (churn bench: "end RSS - pages"), covered by the arena's page slack.
 */
async function measureStartup(threads: Worker[]): Promise<number> {
  // Each worker collects and answers with its arena's page bytes (data loaded from disk).
  const pages = await Promise.all(threads.map((t) => ask(t, { type: 'gc', bytes: 0 }, 'gc-done')));
  (runInNewContext('typeof gc === "function" ? gc : undefined') as (() => void) | undefined)?.();
  await new Promise((r) => setTimeout(r, STARTUP_SETTLE_MS));
  const arenas = pages.reduce((a, b) => a + b, 0);
  const share = Math.max(0, Math.round((process.memoryUsage.rss() - arenas) / threads.length));
  await Promise.all(threads.map((t) => ask(t, { type: 'startup-memory', bytes: share }, 'startup-memory-set')));
  return share;
}

/** Posts `msg` to a worker and resolves with the `bytes` of its reply of type `reply`. */
function ask(t: Worker, msg: { type: string; bytes: number }, reply: string): Promise<number> {
  return new Promise((resolve) => {
    const on = (m: { type: string; bytes?: number }) => {
      if (m.type !== reply) return;
      t.off('message', on);
      resolve(m.bytes ?? 0);
    };
    t.on('message', on);
    t.postMessage(msg);
  });
}
