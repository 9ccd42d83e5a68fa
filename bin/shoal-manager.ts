#!/usr/bin/env node
/**
 * shoal-manager: one manager of a cluster-mode Shoal (docs/cluster-mode.md). Run two
 * or more on different machines; etcd elects one leader by lease (manager/leader.ts).
 *
 * The leader bootstraps the topology from --cluster FILE when etcd has none, then
 * runs the FailoverController (manager/failover.ts) over the etcd store
 * (manager/etcd-store.ts). The others follow and take over within
 * --manager-lease-seconds of the leader's death. A leader that loses its lease stops
 * the controller at once (before anyone else can be elected) and campaigns again.
 */
import { hostname } from 'node:os';
import { loadConfig, helpText } from '../shared/config/load.js';
import { ShoalError, ConfigError } from '../shared/errors.js';
import { createLogger } from '../shared/log.js';
import { connectEtcd } from '../shared/cluster/etcd-client.js';
import { readClusterSpec, topologyFromSpec, type ClusterSpec } from '../manager/cluster-spec.js';
import { EtcdTopologyStore } from '../manager/etcd-store.js';
import { ManagerLeadership } from '../manager/leader.js';
import { FailoverController, FailoverRefused } from '../manager/failover.js';
import { startControlServer, type ControlServer } from '../manager/control.js';
import { awaitWorkersUp } from '../manager/cluster-bootstrap.js';

const USAGE = `Usage: shoal-manager --etcd-endpoints URLS [--cluster FILE] [options]

Cluster mode: topology, epochs and manager leadership live in etcd. Start two or
more managers; one leads (etcd lease of --manager-lease-seconds), health-checks every
shard worker and fails over dead primaries; another takes over when it dies.
The first leader creates the topology from --cluster FILE if etcd has none
(example: config/cluster-3-machines.json, docs/cluster-mode.md):
  shoal-manager --etcd-endpoints http://10.0.0.1:2379,http://10.0.0.2:2379,http://10.0.0.3:2379 \\
    --cluster config/cluster-3-machines.json --name manager-a`;

/** A stopping manager gives its lease back and closes links within this. */
const STOP_GRACE_MS = 3000;

try {
  const { config, flags } = loadConfig({ extraFlags: { cluster: { type: 'string' }, name: { type: 'string' } } });
  if (flags['help']) {
    process.stdout.write(helpText(USAGE, [
      '--cluster FILE          cluster file: shards, replicas, hosts, ports (bootstraps the topology once)',
      '--name NAME             this manager\'s name in etcd and the logs (default manager-<host>-<pid>)',
    ]));
    process.exit(0);
  }
  const spec: ClusterSpec | null = typeof flags['cluster'] === 'string' ? readClusterSpec(flags['cluster']) : null;
  // The cluster file may carry the etcd endpoints/prefix; flags and environment win.
  if (config.etcdEndpoints === '' && spec?.etcdEndpoints) config.etcdEndpoints = spec.etcdEndpoints;
  if (typeof flags['etcd-prefix'] !== 'string' && process.env['SHOAL_ETCD_PREFIX'] === undefined && spec?.etcdPrefix) config.etcdPrefix = spec.etcdPrefix;
  if (config.etcdEndpoints === '') throw new ConfigError('etcdEndpoints', 'shoal-manager runs in cluster mode: give --etcd-endpoints (or etcdEndpoints in the cluster file); embedded mode is `npm start`');
  FailoverController.validateConfig(config);

  const name = typeof flags['name'] === 'string' ? flags['name'] : `manager-${hostname()}-${process.pid}`;
  const log = createLogger('shoal-manager', config.logLevel).child({ role: 'manager', manager: name });
  const client = connectEtcd(config.etcdEndpoints);
  const leadership = new ManagerLeadership(client, { prefix: config.etcdPrefix, name, ttlSeconds: config.managerLeaseSeconds, log });
  const store = new EtcdTopologyStore(client, config.etcdPrefix, leadership);

  let controller: FailoverController | null = null;
  /** Bumped on every election and loss: a start that finishes after a loss is dropped. */
  let term = 0;

  leadership.onElected(() => {
    const myTerm = ++term;
    void (async () => {
      const t0 = Date.now();
      let topology = await store.tryRead();
      if (topology === null) {
        if (spec === null) {
          log.error({ key: store.keys.topology }, 'etcd holds no topology and no --cluster FILE was given: cannot bootstrap; waiting (start a manager with --cluster FILE)');
          return;
        }
        const created = await store.bootstrap(topologyFromSpec(spec));
        topology = await store.read();
        if (created) {
          log.info({ key: store.keys.topology, epoch: topology.epoch, primaries: topology.workers.length, replicas: topology.replicas?.length ?? 0 }, 'topology bootstrapped in etcd from the cluster file');
          // A new cluster: let its processes start before missed checks count (manager/cluster-bootstrap.ts).
          await awaitWorkersUp(topology, config, log, () => myTerm === term && leadership.isLeader);
          topology = await store.read();
        }
      }
      if (myTerm !== term || !leadership.isLeader) return;
      const fc = new FailoverController({ store, config, log, mayAct: () => leadership.isLeader });
      controller = fc;
      fc.start(topology);
      log.info({ epoch: topology.epoch, startMs: Date.now() - t0 }, `manager ${name} leading: failover controller running at epoch ${topology.epoch}`);
      // Let the first health check renew the primaries' leases (they ran out while no
      // manager led) before the process-list write below: proxies holding writes that a
      // lease-expired primary refused resend them on that topology write.
      const firstRound = Date.now() + config.failoverCheckMs * config.failoverMisses;
      while (Date.now() < firstRound && myTerm === term && fc.status().groups.some((g) => g.primary.lastReplyMsAgo === null)) {
        await new Promise((r) => setTimeout(r, 10));
      }
      if (myTerm !== term) return;
      // The topology's process list names the leading manager and its control port (shoal-cluster finds it there).
      await fc.updateProcesses((ps) => [...ps.filter((p) => p.role !== 'manager'), { role: 'manager', name, pid: process.pid, ports: control ? [control.port] : [] }]).catch((err: Error) => {
        log.warn({ err: err.message }, 'could not record this manager in the topology');
      });
    })().catch((err: Error) => log.error({ err: err.message }, 'leader start failed; following again'));
  });

  leadership.onLost(() => {
    term++;
    const fc = controller;
    controller = null;
    // stop() clears the check timer synchronously: no further lease, check or failover
    // leaves this manager; a change already in flight is refused by the store's guard.
    void fc?.stop().catch(() => {});
  });

  // The control API (shoal-cluster status / failover) on every manager; only the leader acts on it.
  const notLeading = (): never => {
    const l = leadership.leader;
    throw new FailoverRefused(`manager ${name} does not lead${l ? `: ask ${l.name} (pid ${l.pid} on ${l.host})` : ' (election in progress)'}`);
  };
  const control: ControlServer | null = await startControlServer({
    host: config.host, port: config.managerPort, adminToken: config.adminToken, log: log.child({ component: 'manager-control' }),
    handlers: {
      status: () => (controller ?? notLeading()).status(),
      failover: (shard, worker, replica) => (controller ?? notLeading()).manualFailover(shard, worker, replica),
      addReplica: () => Promise.reject(new FailoverRefused('cluster mode: replica sets come from the cluster file; start shoal-shard --node shard-S-replica-R on a machine listed there')),
      removeReplica: () => Promise.reject(new FailoverRefused('cluster mode: stop the replica\'s shoal-shard process on its machine')),
    },
  }).catch((err: Error) => {
    log.warn({ err: err.message }, 'manager control API not started');
    return null;
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping manager');
    setTimeout(() => process.exit(0), STOP_GRACE_MS).unref();
    void (async () => {
      await leadership.stop(); // revokes the lease: a follower leads at once
      await controller?.stop();
      await control?.close();
      client.close();
    })().finally(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  log.info({ etcd: config.etcdEndpoints, prefix: config.etcdPrefix, leaseSeconds: config.managerLeaseSeconds }, `manager ${name} campaigning for leadership`);
  await leadership.start();
} catch (err) {
  process.stderr.write(`shoal-manager: ${err instanceof ShoalError ? err.message : String((err as Error)?.stack ?? err)}\n`);
  process.exit(1);
}
