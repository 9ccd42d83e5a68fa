/**
 * Proxy process: composition root (docs/proxy-processes.md).
 *
 *   proxy-processes = 1   one process: RESP listeners + admin HTTP, no cluster module
 *   proxy-processes = N   a node:cluster primary (admin HTTP, supervision, no RESP) and
 *                         N RESP workers sharing the client port(s)
 *
 * A RESP process reads the topology, opens links to every shard worker and serves
 * clients on the listeners openClientListeners() creates. The process that serves
 * HTTP (the primary, or the only process) tells the embedded manager `ready` once
 * every RESP process listens, with the workers' pids for the topology. SIGINT/SIGTERM
 * stop everything cleanly.
 */
import { createServer, type Server } from 'node:net';
import { readFileSync } from 'node:fs';
import type { Cluster } from 'node:cluster';
import { proxyProcessCount, type ShoalConfig } from '../shared/config/schema.js';
import { staticWorkers, type Topology, type WorkerEndpoint, type ProcessInfo } from '../shared/cluster/topology.js';
import { createLogger, type Logger } from '../shared/log.js';
import { ShoalError, ErrorCodes } from '../shared/errors.js';
import { ProxyServer } from './proxy-server.js';
import { followTopology } from './topology-follower.js';
import { openTopologySource } from '../shared/cluster/open-topology-source.js';
import type { TopologySource } from '../shared/cluster/topology-source.js';
import { startHttp } from './http.js';
import { startProxyTls, checkProxyTls } from './tls.js';
import { ProcessGroup, CLIENT_ID_BLOCK } from './process-group.js';
import { ProcessSupervisor, WORKER_ENV, LISTENING } from './process-supervisor.js';

export interface ProxyOptions {
  config: ShoalConfig;
  topologyFile?: string;
}

/** Workers get this long to listen; the embedded manager waits 20 s for `ready`. */
const WORKERS_START_TIMEOUT_MS = 15_000;
/** Workers get this long to stop after SIGTERM (the manager allows 5 s in all). */
const WORKERS_STOP_GRACE_MS = 3_000;

/** Something a stop closes. */
interface Closeable {
  close(): unknown;
}

/** The manager's messages: `ready` once, `proxy-processes` when a worker restarted. */
export interface ProxyReadyMessage {
  type: 'ready' | 'proxy-processes';
  ports?: number[];
  processes: ProcessInfo[];
}

export async function runProxy(opts: ProxyOptions): Promise<void> {
  const processes = proxyProcessCount(opts.config);
  opts = { ...opts, config: { ...opts.config, proxyProcesses: processes } };
  if (processes <= 1) return runSingle(opts);
  const { default: cluster } = await import('node:cluster');
  return cluster.isPrimary ? runPrimary(opts, cluster) : runWorker(opts);
}

function loadWorkers(opts: ProxyOptions): WorkerEndpoint[] {
  const { config } = opts;
  if (opts.topologyFile) return (JSON.parse(readFileSync(opts.topologyFile, 'utf8')) as Topology).workers;
  return staticWorkers(config.host, config.shardBasePort, config.shards, config.workers);
}

function listen(server: Server, port: number, host: string, key: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new ShoalError(ErrorCodes.PROCESS, `proxy cannot listen on ${host}:${port} (${key}): ${err.message}`)));
    server.listen(port, host, () => resolve());
  });
}

/**
 * The one place that opens the client listeners of a RESP process: plain RESP on
 * `port`, TLS on `tls-port` (docs/tls.md). In a cluster worker each listen() goes
 * through the primary, so every worker shares the same ports.
 */
async function openClientListeners(server: ProxyServer, config: ShoalConfig): Promise<Closeable[]> {
  const tcp = createServer((socket) => server.accept(socket));
  await listen(tcp, config.port, config.host, 'port');
  const tls = await startProxyTls(server, config.host); // tls-port and tls-cluster (docs/tls.md)
  server.acceptingClients = true; // /readyz waits for this in every process
  return [tcp, tls];
}

/** A RESP-serving process: the router and its listeners. */
async function serveResp(opts: ProxyOptions, group: ProcessGroup, log: Logger): Promise<Closeable> {
  const workers = loadWorkers(opts);
  const server = new ProxyServer(opts.config, workers, log, group);
  const follower = await followTopology(server, opts.config, opts.topologyFile, log); // failover, replicas (proxy/topology-follower.ts)
  const listeners = await openClientListeners(server, opts.config);
  return {
    close: () => {
      follower?.close();
      for (const l of listeners) l.close();
      server.close();
    },
  };
}

/** Cluster mode: the admin HTTP (/topology, /readyz, /metrics) reads the topology from etcd. */
async function etcdTopologyForHttp(config: ShoalConfig): Promise<{ topologySource?: TopologySource }> {
  const source = config.etcdEndpoints === '' ? null : await openTopologySource(config);
  return source === null ? {} : { topologySource: source };
}

/** Runs `stop` once on SIGINT, SIGTERM or when the parent's IPC channel closes. */
function onStop(log: Logger, stop: () => unknown): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping proxy');
    void Promise.resolve(stop()).finally(() => setTimeout(() => process.exit(0), 100).unref());
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
  process.on('disconnect', () => handler('parent disconnected'));
}

async function runSingle(opts: ProxyOptions): Promise<void> {
  const { config } = opts;
  const log = createLogger('shoal-proxy', config.logLevel);
  const group = ProcessGroup.single();
  const workers = loadWorkers(opts);
  const server = new ProxyServer(config, workers, log, group);
  const follower = await followTopology(server, opts.config, opts.topologyFile, log); // failover, replicas (proxy/topology-follower.ts)
  const listeners = await openClientListeners(server, config);
  const http = await startHttp({ group, config, ...(opts.topologyFile ? { topologyFile: opts.topologyFile } : {}), ...(await etcdTopologyForHttp(config)), log, acl: server.acl });
  log.info({ port: config.port, workers: workers.length, processes: 1 }, `proxy ready: redis-cli -p ${config.port}`);
  const ready: ProxyReadyMessage = { type: 'ready', ports: [config.port, config.httpPort], processes: [] };
  process.send?.(ready);
  onStop(log, () => {
    follower?.close();
    for (const l of listeners) l.close();
    http.close();
    server.close();
  });
}

async function runPrimary(opts: ProxyOptions, cluster: Cluster): Promise<void> {
  const { config } = opts;
  const n = config.proxyProcesses;
  const log = createLogger('shoal-proxy', config.logLevel).child({ component: 'proxy-primary' });
  // Round-robin: the primary accepts and hands connections out in turn, so clients
  // spread exactly; with SCHED_NONE the kernel picks, unevenly (28/22, 21/29 for 50
  // connections over 2 workers), for the same throughput on long-lived connections
  // (docs/proxy-processes.md). NODE_CLUSTER_SCHED_POLICY=none still overrides.
  if (process.env['NODE_CLUSTER_SCHED_POLICY'] === undefined) cluster.schedulingPolicy = cluster.SCHED_RR;
  cluster.setupPrimary({ serialization: 'advanced' });
  checkProxyTls(config); // a bad TLS file fails once here, naming its key, not in every worker
  const group = ProcessGroup.primary(n);
  const http = await startHttp({ group, config, ...(opts.topologyFile ? { topologyFile: opts.topologyFile } : {}), ...(await etcdTopologyForHttp(config)), log });
  const supervisor = new ProcessSupervisor(cluster, group, log, [config.port]);
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => (stopping ??= (async () => {
    await supervisor.stop(WORKERS_STOP_GRACE_MS);
    http.close();
  })());
  onStop(log, stop);
  try {
    await supervisor.start(WORKERS_START_TIMEOUT_MS);
  } catch (err) {
    await stop();
    throw err;
  }
  supervisor.onChange = () => {
    const m: ProxyReadyMessage = { type: 'proxy-processes', processes: supervisor.processes() };
    process.send?.(m);
  };
  log.info({ port: config.port, processes: n, pids: supervisor.processes().map((p) => p.pid) }, `proxy ready (${n} processes): redis-cli -p ${config.port}`);
  const ready: ProxyReadyMessage = { type: 'ready', ports: [config.port, config.httpPort], processes: supervisor.processes() };
  process.send?.(ready);
}

async function runWorker(opts: ProxyOptions): Promise<void> {
  const { config } = opts;
  const index = Number(process.env[WORKER_ENV.index]);
  const idBlock = Number(process.env[WORKER_ENV.idBlock] ?? index);
  const log = createLogger('shoal-proxy', config.logLevel).child({ proxyProcess: index });
  const group = ProcessGroup.worker(index, config.proxyProcesses, idBlock * CLIENT_ID_BLOCK);
  // The primary's shared state (ACL users, a CLIENT PAUSE in force ...) before any client.
  await group.initialized();
  const resp = await serveResp(opts, group, log);
  process.send?.({ type: LISTENING, index });
  onStop(log, () => resp.close());
}
