/**
 * The embedded cluster (`npm start`): this process plays the manager role in-process.
 *
 * It writes the topology (slots split evenly over shards x workers; with --replicas N,
 * N replica sets per primary, each set of a shard in its own process), starts every
 * shard process (`--node shard-s` for the primaries, `--node shard-s-replica-r` for the
 * replica sets), then the proxy, all as child processes, and records every process in
 * the topology (role 'shard' named by its node, the proxy's entries as the proxy
 * reports them, and the manager with its control API port).
 *
 * With replicas it runs the FailoverController (manager/failover.ts) over the topology
 * file and the control API (manager/control.ts) for shoal-cluster: status, manual
 * failover, replica add/remove. A shard process that dies is restarted (backoff 200 ms
 * doubling to 2 s) with the same --node once its primaries have been failed over, so
 * it comes back as a replica and resyncs; if one of its groups had no replica to
 * promote it comes back as it was. Without replicas a dead shard process stays down
 * (its slots fail fast through the proxy's breaker), as before replication.
 *
 * On SIGINT/SIGTERM: stop the controller first (no failover while shutting down),
 * then the proxy, then the shards.
 */
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { proxyProcessCount, type ShoalConfig } from '../shared/config/schema.js';
import { configToEnv } from '../shared/config/load.js';
import {
  endpointNode, nodeName, staticReplicas, staticWorkers, workerNodeId,
  type ProcessInfo, type SlotRange, type Topology, type WorkerEndpoint,
} from '../shared/cluster/topology.js';
import { componentLog, createLogger, type Logger } from '../shared/log.js';
import { FileTopologyStore } from './topology-store.js';
import { FailoverController, FailoverRefused, clusterStatus } from './failover.js';
import { ProcessSupervisor, type ChildSpec } from './supervisor.js';
import { BadControlRequest, startControlServer, type ControlServer } from './control.js';

/** Restart backoff of a dead shard process: 200 ms, doubling per quick failure, at most 2 s. */
const RESTART_MIN_MS = 200;
const RESTART_MAX_MS = 2000;
/** A process that ran this long before dying starts its backoff over. */
const RESTART_RESET_AFTER_MS = 10_000;
/** Longest wait for the controller to move a dead node's primaries before restarting it anyway. */
const RELEASE_WAIT_MS = 15_000;

const binPath = (name: string) => fileURLToPath(new URL(`../bin/${name}.js`, import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runEmbedded(config: ShoalConfig): Promise<void> {
  const log = createLogger('shoal', config.logLevel).child({ role: 'manager' });
  const replicated = config.replicas > 0;
  if (replicated) FailoverController.validateConfig(config); // a config error before anything starts
  const dataDir = resolve(config.dataDir);
  const store = new FileTopologyStore(dataDir);
  const managerInfo: ProcessInfo = { role: 'manager', name: 'manager', pid: process.pid, ports: [] };
  /** The topology while no controller runs (without replicas, or before it starts). */
  let staticTopology = initialTopology(config, store.readIfPresent(), log);
  staticTopology.processes = [managerInfo];
  store.writeSync(staticTopology);
  log.info({ dataDir, shards: config.shards, workersPerShard: config.workers, replicas: config.replicas, epoch: staticTopology.epoch, topology: store.file },
    'starting embedded cluster');

  let controller: FailoverController | null = null;
  let control: ControlServer | null = null;
  let proxyProcesses: ProcessInfo[] = [];
  let stopping = false;
  const current = (): Topology => controller?.topology ?? staticTopology;

  const processList = (): ProcessInfo[] => [managerInfo, ...supervisor.infos(), ...proxyProcesses];
  const publishProcesses = (): void => {
    if (stopping) return;
    if (controller) {
      controller.updateProcesses(() => processList()).catch((err: Error) => log.error({ err: err.message }, 'cannot write the process list'));
    } else {
      staticTopology = { ...staticTopology, processes: processList() };
      store.writeSync(staticTopology);
    }
  };

  // glibc raises its mmap threshold after the first large free, after which 1 MiB
  // arena pages come from the heap and freed ones are never returned to the OS. A fixed
  // threshold keeps every page its own mapping, so released pages leave RSS.
  const env = { MALLOC_MMAP_THRESHOLD_: '131072', ...process.env, ...configToEnv(config) };

  /** Quick consecutive failures per node, for the restart backoff. */
  const failures = new Map<string, number>();

  const supervisor = new ProcessSupervisor(env, log, (spec, info, code, signal, ranMs) => {
    if (spec.role !== 'shard' || !replicated) {
      log.error({ node: spec.name, pid: info.pid, code, signal }, `${spec.name} exited unexpectedly; ${spec.role === 'shard' ? 'its slots are unavailable until restart' : 'not restarted'}`);
      publishProcesses();
      return;
    }
    const n = ranMs >= RESTART_RESET_AFTER_MS ? 0 : (failures.get(spec.name) ?? 0);
    failures.set(spec.name, n + 1);
    const delay = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** n);
    const primaries = current().workers.filter((w) => endpointNode(w) === spec.name);
    log.error({ node: spec.name, pid: info.pid, code, signal, ranMs, restartInMs: delay, primaries: primaries.map((w) => `${w.shard}/${w.worker}`) },
      `shard process ${spec.name} (pid ${info.pid}) exited (code ${code}, signal ${signal}); restarting it in ${delay} ms${primaries.length > 0 ? ' once its primaries are failed over' : ''}`);
    publishProcesses();
    void restartShard(spec, delay);
  }, (spec, m) => {
    if (spec.role === 'proxy' && Array.isArray(m.processes)) {
      proxyProcesses = m.processes;
      publishProcesses();
    }
  });

  /** Restarts a dead shard process after `delay` and, if it ran primaries, once they are failed over. */
  const restartShard = async (spec: ChildSpec, delay: number): Promise<void> => {
    const started = Date.now();
    const released = await Promise.all([sleep(delay), controller?.awaitNodeReleased(spec.name, RELEASE_WAIT_MS) ?? true]).then((r) => r[1]);
    if (stopping || supervisor.has(spec.name)) return;
    if (!nodeEndpoints(current(), spec.name).length) {
      log.info({ node: spec.name }, `${spec.name} is no longer in the topology (replica removed): not restarted`);
      return;
    }
    const role = current().workers.some((w) => endpointNode(w) === spec.name) ? 'primary' : 'replica';
    if (!released && role === 'primary') log.warn({ node: spec.name }, `${spec.name}: its primaries could not be failed over (no replica ready); restarting it as primary`);
    try {
      const info = await supervisor.start(shardSpec(spec.name, spec.args));
      log.info({ node: spec.name, pid: info.pid, as: role, ports: info.ports, downMs: Date.now() - started },
        `shard process ${spec.name} restarted (pid ${info.pid}) as ${role}${role === 'replica' ? '; it resyncs from its primary' : ''}`);
      publishProcesses();
    } catch (err) {
      if (stopping) return;
      const n = failures.get(spec.name) ?? 0;
      failures.set(spec.name, n + 1);
      const next = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** n);
      log.error({ node: spec.name, err: (err as Error).message, retryInMs: next }, `restart of ${spec.name} failed; retrying in ${next} ms`);
      void restartShard(spec, next);
    }
  };

  /** A shard process's spec: its node's endpoints (primaries or replicas) from the topology file. */
  const shardSpec = (node: string, args?: string[]): ChildSpec => {
    const eps = nodeEndpoints(current(), node);
    const shard = eps[0]?.shard ?? Number(/^shard-(\d+)/.exec(node)?.[1] ?? 0);
    return {
      name: node, role: 'shard', script: binPath('shoal-shard'),
      args: args ?? ['--topology', store.file, '--shard', String(shard), '--node', node],
      slots: eps.flatMap((w) => w.slots.map(([a, b]) => [a, b] as SlotRange)),
    };
  };

  const stop = async (signal: string, exitCode = 0): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping embedded cluster');
    await controller?.stop();
    await control?.close();
    await supervisor.stopAll();
    log.info('stopped');
    process.exit(exitCode);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  try {
    // The primaries' processes first, then the replicas': half as many Node processes
    // compete for the CPU at once, and a replica finds its primary listening.
    const primaryNodes = [...new Set(staticTopology.workers.map(endpointNode))];
    const replicaNodes = [...new Set((staticTopology.replicas ?? []).map(endpointNode))].filter((n) => !primaryNodes.includes(n));
    await Promise.all(primaryNodes.map((node) => supervisor.start(shardSpec(node))));
    await Promise.all(replicaNodes.map((node) => supervisor.start(shardSpec(node))));
    if (replicated) {
      staticTopology = { ...staticTopology, processes: processList() };
      store.writeSync(staticTopology);
      controller = new FailoverController({ store, config, log: componentLog(log, 'failover') });
      controller.start(staticTopology);
    }
    const processes = proxyProcessCount(config, config.shards * config.workers * (1 + config.replicas));
    await supervisor.start({ name: 'proxy', role: 'proxy', script: binPath('shoal-proxy'), args: ['--topology', store.file, '--proxy-processes', String(processes)] });
    control = await startControlServer({
      host: config.host, port: config.managerPort, adminToken: config.adminToken, log: componentLog(log, 'manager-control'),
      handlers: {
        status: () => controller?.status() ?? clusterStatus(current(), config),
        failover: (shard, worker, replica) => {
          if (!controller) throw new FailoverRefused('manual failover needs replicas: start the cluster with --replicas 1 or more');
          return controller.manualFailover(shard, worker, replica);
        },
        addReplica: (shard) => addReplica(shard),
        removeReplica: (shard, replica) => removeReplica(shard, replica),
      },
    });
    managerInfo.ports = [control.port];
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'embedded cluster failed to start');
    await stop('startup failure', 1);
    return;
  }
  publishProcesses();
  log.info({ port: config.port, httpPort: config.httpPort, shards: config.shards, workers: current().workers.length, replicas: current().replicas?.length ?? 0, managerPort: control.port },
    `Shoal ready — connect with: redis-cli -p ${config.port}`);

  /** Starts one more replica set of `shard` (a new shard process), epoch + 1. */
  async function addReplica(shard: number): Promise<{ node: string; ports: number[]; epoch: number }> {
    if (!controller) throw new FailoverRefused('replica add needs a replicated cluster: start it with --replicas 1 or more');
    const t = controller.topology;
    const groups = t.workers.filter((w) => w.shard === shard).sort((a, b) => a.worker - b.worker);
    if (groups.length === 0) throw new BadControlRequest(`no shard ${shard} in the topology`);
    const all = [...t.workers, ...(t.replicas ?? [])];
    const used = new Set(all.map((w) => w.port));
    const sets = all.filter((w) => w.shard === shard).map((w) => Number(/-replica-(\d+)$/.exec(endpointNode(w))?.[1] ?? 0));
    const primariesTotal = config.shards * config.workers;
    let r = Math.max(0, ...sets) + 1;
    // Ports as staticReplicas lays them out: set r of primary i at base + r * primaries + i.
    const portsFor = (set: number): number[] => groups.map((g) => config.shardBasePort + set * primariesTotal + g.shard * config.workers + g.worker);
    while (portsFor(r).some((p) => used.has(p))) r++;
    const node = nodeName(shard, r);
    const endpoints: WorkerEndpoint[] = groups.map((g, i) => {
      const port = portsFor(r)[i]!;
      return { id: workerNodeId(config.host, port), shard, worker: g.worker, host: config.host, port, slots: g.slots.map(([a, b]) => [a, b] as SlotRange), role: 'replica', node };
    });
    const next = await controller.change(`replica add: ${node} (ports ${endpoints.map((e) => e.port).join(', ')}) for shard ${shard}`, (topo) => {
      // Another add may have taken these ports since they were chosen (changes are serialized, choices are not).
      const taken = [...topo.workers, ...(topo.replicas ?? [])].filter((w) => endpoints.some((e) => e.port === w.port) || endpointNode(w) === node);
      if (taken.length > 0) throw new FailoverRefused(`${node} or its ports were just added by another request; try again`);
      topo.replicas = [...(topo.replicas ?? []), ...endpoints];
      return topo;
    });
    try {
      const info = await supervisor.start(shardSpec(node));
      publishProcesses();
      log.info({ node, pid: info.pid, ports: info.ports, epoch: next.epoch }, `replica ${node} added to shard ${shard}; it syncs from its primaries`);
      return { node, ports: info.ports, epoch: next.epoch };
    } catch (err) {
      await supervisor.stop(node);
      await controller.change(`replica add of ${node} undone: ${(err as Error).message}`, (topo) => {
        topo.replicas = (topo.replicas ?? []).filter((w) => endpointNode(w) !== node);
        return topo;
      });
      throw err;
    }
  }

  /** Stops replica set `replica` (a number or a node name) of `shard`, epoch + 1. */
  async function removeReplica(shard: number, replica: string): Promise<{ node: string; epoch: number }> {
    if (!controller) throw new FailoverRefused('replica remove needs a replicated cluster');
    const node = /^\d+$/.test(replica) ? nodeName(shard, Number(replica)) : replica;
    const eps = nodeEndpoints(controller.topology, node);
    if (eps.length === 0 || eps.some((w) => w.shard !== shard)) throw new BadControlRequest(`shard ${shard} has no node ${node}`);
    const primaries = eps.filter((w) => w.role === 'primary' || controller!.topology.workers.some((p) => p.id === w.id));
    if (primaries.length > 0) {
      throw new FailoverRefused(`${node} is the primary of ${primaries.map((w) => `shard ${w.shard} worker ${w.worker}`).join(', ')}; ` +
        `fail it over first (shoal-cluster failover --shard ${shard} --worker ${primaries[0]!.worker})`);
    }
    const next = await controller.change(`replica remove: ${node} of shard ${shard}`, (topo) => {
      topo.replicas = (topo.replicas ?? []).filter((w) => endpointNode(w) !== node);
      return topo;
    });
    await supervisor.stop(node);
    publishProcesses();
    log.info({ node, epoch: next.epoch }, `replica ${node} removed from shard ${shard}`);
    return { node, epoch: next.epoch };
  }
}

function nodeEndpoints(t: Topology, node: string): WorkerEndpoint[] {
  return [...t.workers, ...(t.replicas ?? [])].filter((w) => endpointNode(w) === node);
}

/**
 * The topology to start with: the static layout for the config, at the previous run's
 * epoch + 1. When the previous run's topology (same data directory) has exactly the
 * same endpoints, its roles are kept: after a failover the data that is newest lives
 * where the primary was.
 */
function initialTopology(config: ShoalConfig, previous: Topology | null, log: Logger): Topology {
  const workers = staticWorkers(config.host, config.shardBasePort, config.shards, config.workers);
  const replicas = config.replicas > 0 ? staticReplicas(config.host, config.shardBasePort, workers, config.replicas) : [];
  const epoch = (previous?.epoch ?? 0) + 1;
  const shape = (eps: readonly WorkerEndpoint[]): string =>
    eps.map((w) => `${w.id}|${w.shard}|${w.worker}|${endpointNode(w)}|${JSON.stringify(w.slots)}`).sort().join('\n');
  if (previous !== null && replicas.length > 0 && shape([...previous.workers, ...(previous.replicas ?? [])]) === shape([...workers, ...replicas])) {
    const moved = previous.workers.filter((w) => endpointNode(w) !== nodeName(w.shard));
    if (moved.length > 0) log.info({ epoch, moved: moved.map((w) => `${w.shard}/${w.worker} on ${endpointNode(w)}`) }, 'keeping the previous run\'s primaries (data directory topology.json)');
    return { epoch, workers: previous.workers, replicas: previous.replicas ?? [], processes: [] };
  }
  return { epoch, workers, ...(replicas.length > 0 ? { replicas } : {}), processes: [] };
}
