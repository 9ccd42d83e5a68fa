/**
 * The embedded cluster (`npm start`): this process plays the manager role in-process.
 * It writes a static topology (slots split evenly over shards x workers), starts the
 * shard processes and then the proxy as child processes, records every process in
 * the topology, and stops them all on SIGINT/SIGTERM. A child that dies is reported
 * (and marked in the topology), not restarted: failover comes with replication.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { proxyProcessCount, type ShoalConfig } from '../shared/config/schema.js';
import { configToEnv } from '../shared/config/load.js';
import { staticWorkers, type Topology, type ProcessInfo } from '../shared/cluster/topology.js';
import { createLogger } from '../shared/log.js';
import { ShoalError, ErrorCodes } from '../shared/errors.js';
import { TopologyStore } from './topology-store.js';

const START_TIMEOUT_MS = 20000;
const STOP_GRACE_MS = 5000;

const binPath = (name: string) => fileURLToPath(new URL(`../bin/${name}.js`, import.meta.url));

export async function runEmbedded(config: ShoalConfig): Promise<void> {
  const log = createLogger('shoal', config.logLevel).child({ role: 'manager' });
  const dataDir = resolve(config.dataDir);
  const store = new TopologyStore(dataDir);
  const workers = staticWorkers(config.host, config.shardBasePort, config.shards, config.workers);
  const topology: Topology = {
    epoch: 1,
    workers,
    processes: [{ role: 'manager', name: 'manager', pid: process.pid, ports: [] }],
  };
  store.write(topology);
  log.info({ dataDir, shards: config.shards, workersPerShard: config.workers, topology: store.file }, 'starting embedded cluster');

  const children: Array<{ child: ChildProcess; info: ProcessInfo }> = [];
  /** The proxy's RESP processes when it runs several (proxy/main.ts). */
  let proxyProcesses: ProcessInfo[] = [];
  let stopping = false;
  // glibc raises its mmap threshold after the first large free, after which 1 MiB
  // arena pages come from the heap and freed ones are never returned to the OS. A fixed
  // threshold keeps every page its own mapping, so released pages leave RSS.
  const env = { MALLOC_MMAP_THRESHOLD_: '131072', ...process.env, ...configToEnv(config) };

  const start = (name: string, role: ProcessInfo['role'], script: string, args: string[], slots?: ProcessInfo['slots']): Promise<void> =>
    new Promise((resolveStart, reject) => {
      const child = fork(script, args, { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const info: ProcessInfo = { role, name, pid: child.pid ?? -1, ports: [], ...(slots ? { slots } : {}) };
      children.push({ child, info });
      const timer = setTimeout(() => reject(new ShoalError(ErrorCodes.PROCESS, `${name} did not become ready within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      child.on('message', (m: { type: string; ports?: number[]; processes?: ProcessInfo[] }) => {
        // A multi-process proxy lists its RESP processes (at ready, and again after a restart).
        if (Array.isArray(m.processes)) {
          proxyProcesses = m.processes;
          topology.processes = [...topology.processes.filter((p) => p.role !== 'proxy-worker'), ...proxyProcesses];
          store.write(topology);
        }
        if (m.type === 'loading') timer.refresh(); // a shard still loading its snapshot
        if (m.type !== 'ready') return;
        clearTimeout(timer);
        info.ports = m.ports ?? [];
        resolveStart();
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (stopping) return;
        log.error({ name, pid: info.pid, code, signal }, `${name} exited unexpectedly; its slots are unavailable until restart`);
        topology.processes = topology.processes.filter((p) => p.pid !== info.pid);
        store.write(topology);
        reject(new ShoalError(ErrorCodes.PROCESS, `${name} exited during start (code ${code}, signal ${signal})`));
      });
    });

  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping embedded cluster');
    // Proxies first, so no client request is cut off by a shard going away under it.
    for (const role of ['proxy', 'shard'] as const) {
      const alive = children.filter(({ child, info }) => info.role === role && child.exitCode === null && child.signalCode === null);
      for (const { child } of alive) child.kill('SIGTERM');
      await Promise.race([
        Promise.all(alive.map(({ child }) => new Promise((r) => child.once('exit', r)))),
        new Promise((r) => setTimeout(r, STOP_GRACE_MS)),
      ]);
      for (const { child } of alive) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  try {
    await Promise.all(Array.from({ length: config.shards }, (_, s) => {
      const slots = workers.filter((w) => w.shard === s).flatMap((w) => w.slots);
      return start(`shard-${s}`, 'shard', binPath('shoal-shard'), ['--topology', store.file, '--shard', String(s)], slots);
    }));
    const processes = proxyProcessCount(config, config.shards * config.workers);
    await start('proxy', 'proxy', binPath('shoal-proxy'), ['--topology', store.file, '--proxy-processes', String(processes)]);
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'embedded cluster failed to start');
    await stop('startup failure');
    return;
  }
  topology.processes = [topology.processes[0]!, ...children.map((c) => c.info), ...proxyProcesses];
  store.write(topology);
  log.info({ port: config.port, httpPort: config.httpPort, shards: config.shards, workers: workers.length },
    `Shoal ready — connect with: redis-cli -p ${config.port}`);
}
