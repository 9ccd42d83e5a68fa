// Shoal in cluster mode for the failover bench (macro/failover.ts): a real 3-member etcd
// on loopback, two shoal-manager (one leads by etcd lease), four shoal-shard processes
// (2 shards x 1 worker, each primary with one replica process) and one shoal-proxy, all
// with --etcd-endpoints, as docs/cluster-mode.md runs them on three machines.
//
// Invariants: every process is started through the harness (stopped by pid on exit);
// there is no supervisor in cluster mode (systemd's job on a real machine), so the bench
// restarts a killed shard process itself once its slots have a new primary, with the
// same argv: it reads the topology from etcd and comes back as a replica. Ports: one
// block of the B range. The etcd prefix is private to this run.

import fs from 'node:fs';
import path from 'node:path';
import { ask, freePortBlock, infoOf } from '../redis-cluster.js';
import type { Reply } from '../resp-client.js';
import { HOST, WORK, die, log, logTail, sleep, startServer, stopServer, type Server } from './harness.js';

export const ETCD_BIN = process.env['ETCD_BIN'] ?? '/usr/bin/etcd';

export interface ShardNode { node: string; shard: number; port: number; argv: string[]; server: Server; starts: number }

export interface ClusterMode {
  proxyPort: number;
  httpPort: number;
  nodes: ShardNode[];
  command: string;
  /** Ranges from CLUSTER SLOTS of a live worker: [from, to, primary port]. */
  slots(): Promise<{ from: number; to: number; primary: number }[] | undefined>;
  kill(n: ShardNode): Promise<void>;
  restart(n: ShardNode): Promise<void>;
  stop(): Promise<void>;
}

/** Whether the cluster-mode pieces exist (helper E's bin/shoal-manager and etcd). */
export function clusterModeAvailable(): string | undefined {
  if (!fs.existsSync(ETCD_BIN)) return `${ETCD_BIN} not found (apt-get install etcd-server)`;
  if (!fs.existsSync(path.join('dist', 'bin', 'shoal-manager.js'))) return 'dist/bin/shoal-manager.js not built';
  return undefined;
}

async function waitUntil(what: string, ms: number, check: () => Promise<boolean>, servers: Server[]): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const dead = servers.find((s) => s.exited);
    if (dead) die(`${dead.name} exited (code ${dead.exited?.code}) while waiting for ${what}.\n--- last lines of ${dead.logFile}:\n${logTail(dead)}`, 2);
    try { if (await check()) return; } catch { /* not yet */ }
    if (Date.now() > deadline) die(`${what}: not within ${ms} ms`, 2);
    await sleep(50);
  }
}

export async function startClusterMode(consistency: string, label: string): Promise<ClusterMode> {
  const base = await freePortBlock(16);
  const dir = fs.mkdtempSync(path.join(WORK, `${label}-`));
  const etcd: Server[] = [];
  const members = [0, 1, 2].map((i) => ({ name: `etcd-${i}`, client: base + 8 + 2 * i, peer: base + 9 + 2 * i }));
  const initial = members.map((m) => `${m.name}=http://${HOST}:${m.peer}`).join(',');
  for (const m of members) {
    const data = fs.mkdtempSync(path.join(dir, `${m.name}-`));
    etcd.push(startServer(`${label}-${m.name}`, [ETCD_BIN, '--name', m.name, '--data-dir', data,
      '--listen-client-urls', `http://${HOST}:${m.client}`, '--advertise-client-urls', `http://${HOST}:${m.client}`,
      '--listen-peer-urls', `http://${HOST}:${m.peer}`, '--initial-advertise-peer-urls', `http://${HOST}:${m.peer}`,
      '--initial-cluster', initial, '--initial-cluster-state', 'new', '--initial-cluster-token', `shoal-bench-${process.pid}-${base}`,
      '--heartbeat-interval', '50', '--election-timeout', '500', '--log-level', 'warn', '--logger', 'zap'], m.client));
  }
  const all: Server[] = [...etcd];
  const stopAll = async () => { for (const s of [...all].reverse()) if (!s.exited) await stopServer(s); };
  try {
    await waitUntil('etcd healthy', 20_000, async () => {
      const ok = await Promise.all(members.map(async (m) => {
        const res = await fetch(`http://${HOST}:${m.client}/health`, { signal: AbortSignal.timeout(1000) });
        return res.ok && ((await res.json()) as { health?: string }).health === 'true';
      }));
      return ok.every(Boolean);
    }, etcd);
    const endpoints = members.map((m) => `http://${HOST}:${m.client}`).join(',');
    const common = ['--etcd-endpoints', endpoints, '--etcd-prefix', `/shoal-bench-${process.pid}`];
    const spec = {
      workersPerShard: 1,
      shards: [0, 1].map((s) => ({ primary: { host: HOST, port: base + 2 + s }, replicas: [{ host: HOST, port: base + 4 + s }] })),
    };
    const clusterFile = path.join(dir, 'cluster.json');
    fs.writeFileSync(clusterFile, JSON.stringify(spec));
    const bin = (name: string) => path.join('dist', 'bin', `${name}.js`);
    for (const [i, name] of ['manager-a', 'manager-b'].entries()) {
      all.push(startServer(`${label}-${name}`, [process.execPath, bin('shoal-manager'), ...common, '--cluster', clusterFile, '--name', name,
        '--manager-lease-seconds', '2', '--manager-port', String(base + 6 + i)], base + 6 + i));
      if (i === 0) await sleep(1000); // the first one bootstraps the topology and leads
    }
    const nodes: ShardNode[] = [];
    for (const [node, shard, port] of [['shard-0', 0, base + 2], ['shard-1', 1, base + 3], ['shard-0-replica-1', 0, base + 4], ['shard-1-replica-1', 1, base + 5]] as const) {
      const argv = [process.execPath, bin('shoal-shard'), ...common, '--node', node, '--data-dir', dir, '--save', ''];
      const server = startServer(`${label}-${node}`, argv, port);
      all.push(server);
      nodes.push({ node, shard, port, argv, server, starts: 1 });
    }
    for (const n of nodes) await waitUntil(`${n.node} answers PING on ${n.port}`, 30_000, async () => (await ask(n.port, ['PING'], 500)) === 'PONG', all);
    const proxyPort = base, httpPort = base + 1;
    const proxy = startServer(`${label}-proxy`, [process.execPath, bin('shoal-proxy'), ...common, '--port', String(proxyPort),
      '--http-port', String(httpPort), '--proxy-processes', '1', '--consistency', consistency], proxyPort);
    all.push(proxy);
    await waitUntil('proxy answers SET', 30_000, async () => (await ask(proxyPort, ['SET', 'shoal-bench:ready', '1'], 1000)) === 'OK', all);
    for (const n of nodes.filter((x) => x.node.includes('-replica-'))) {
      let last = '';
      await waitUntil(`${n.node} in sync as a replica`, 60_000, async () => (last = await replicaInSync(n.port)) === '', all)
        .catch((e: Error) => die(`${e.message} (last: ${last})`, 2));
    }
    const cm: ClusterMode = {
      proxyPort, httpPort, nodes,
      command: `3 x etcd (loopback, heartbeat 50 ms, election 500 ms); 2 x shoal-manager --manager-lease-seconds 2; `
        + `4 x shoal-shard --node shard-{0,1}[-replica-1] --save ''; shoal-proxy --proxy-processes 1 --consistency ${consistency} `
        + `(2 shards x 1 worker, 1 replica each; cluster file ${JSON.stringify(spec).replace(/\d{5}/g, 'P')})`,
      async slots() {
        for (const n of nodes) {
          if (n.server.exited) continue;
          try {
            const r = await ask(n.port, ['CLUSTER', 'SLOTS'], 500);
            if (!Array.isArray(r)) continue;
            return r.filter(Array.isArray).map((e: Reply[]) => ({ from: Number(e[0]), to: Number(e[1]), primary: Number((e[2] as Reply[] | undefined)?.[1]) }));
          } catch { /* next */ }
        }
        return undefined;
      },
      async kill(n) {
        process.kill(n.server.pid, 'SIGKILL');
        const deadline = Date.now() + 5000;
        while (!n.server.exited && Date.now() < deadline) await sleep(5);
        await stopServer(n.server);
      },
      async restart(n) {
        n.starts++;
        n.server = startServer(`${label}-${n.node}`, n.argv, n.port);
        all.push(n.server);
        await waitUntil(`${n.node} answers PING after restart`, 30_000, async () => (await ask(n.port, ['PING'], 500)) === 'PONG', [n.server]);
      },
      stop: stopAll,
    };
    log(`${label}: cluster mode up: proxy ${proxyPort}, workers ${nodes.map((n) => `${n.node}:${n.port}`).join(' ')}, etcd ${endpoints}`);
    return cm;
  } catch (e) {
    await stopAll();
    throw e;
  }
}

/** '' when the worker on `port` is a replica with its link up and no sync in progress. */
export async function replicaInSync(port: number): Promise<string> {
  const inf = await infoOf(port, 'replication', 1000);
  return inf.get('role') === 'slave' && inf.get('master_link_status') === 'up' && inf.get('master_sync_in_progress') === '0'
    ? '' : `role ${inf.get('role') ?? '?'}, link ${inf.get('master_link_status') ?? '?'}, syncing ${inf.get('master_sync_in_progress') ?? '?'}`;
}
