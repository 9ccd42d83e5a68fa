/**
 * The admin HTTP server on uWebSockets.js (docs/observability.md). It runs in the
 * process that serves HTTP: the cluster primary in multi-process mode, the only proxy
 * process otherwise. It holds no proxy state of its own: what the RESP processes know
 * comes through ProcessGroup.askAll ('metrics', 'ready'), what the workers know
 * through short RESP connections of its own (proxy/shard-stats.ts), and the topology
 * from the manager's file.
 *
 *   GET /healthz   200 while this process serves HTTP (liveness)         open
 *   GET /readyz    200 when the topology is loaded, every proxy process   open
 *                  answers, accepts clients and has its worker links
 *                  up, and every worker answers PING; else 503 with
 *                  the reasons (JSON)
 *   GET /metrics   Prometheus text (proxy/prometheus.ts)                  token
 *   GET /topology  the topology: workers, slots, processes (JSON)        token
 *   GET /dashboard the live dashboard page; its feed /dashboard/data     open / token
 *                  (proxy/dashboard/, docs/dashboard.md)
 *
 * With `admin-token` set, "token" routes need `Authorization: Bearer <token>` (401
 * otherwise). /healthz and /readyz stay open so load balancer probes, which often
 * cannot send headers, keep working; they reveal only up/down and worker addresses.
 * HEAD works wherever GET does.
 *
 * uWS rule: a handler that answers after an await must register res.onAborted first
 * and write inside res.cork; `respond` below does both for every route.
 */
import { readFileSync } from 'node:fs';
import { createHash, timingSafeEqual } from 'node:crypto';
import uws, { type HttpRequest, type HttpResponse, type TemplatedApp } from '@trufflesuite/uws-js-unofficial';
import type { ShoalConfig } from '../shared/config/schema.js';
import { staticWorkers, type Topology, type WorkerEndpoint } from '../shared/cluster/topology.js';
import { componentLog, type Logger } from '../shared/log.js';
import type { ProcessGroup } from './process-group.js';
import type { MetricsSnapshot, ReadySnapshot } from './metrics.js';
import { renderMetrics, PROMETHEUS_CONTENT_TYPE } from './prometheus.js';
import { pingWorkers, workerStats } from './shard-stats.js';
import { attachPubSub } from './pubsub/websocket.js';
import { attachDashboard } from './dashboard/dashboard.js';
import type { AclStore } from './acl/acl-store.js';
import { describeReplication } from './topology-view.js';
import type { TopologySource } from '../shared/cluster/topology-source.js';

/** How long /metrics and /readyz wait for the proxy processes. */
const ASK_TIMEOUT_MS = 1000;
/** How long they wait for each worker (all workers are asked in parallel). */
const WORKER_TIMEOUT_MS = 500;

export interface HttpOptions {
  group: ProcessGroup;
  config: ShoalConfig;
  /** The manager's topology file; without one the workers come from the config (shards x workers). */
  topologyFile?: string;
  /** Cluster mode: the topology as etcd holds it (shared/cluster/etcd-topology-source.ts). */
  topologySource?: TopologySource;
  log: Logger;
  /** The ProxyServer's ACL in single-process mode, for WebSocket pub/sub; the primary keeps a copy. */
  acl?: AclStore;
}

export interface HttpHandle {
  /** The uWS app, for routes other modules serve on the same port (WebSocket pub/sub ...). */
  readonly app: TemplatedApp;
  close(): void;
}

interface Reply {
  status: number;
  type: string;
  body: string;
}

const STATUS_TEXT: Record<number, string> = { 200: '200 OK', 401: '401 Unauthorized', 404: '404 Not Found', 500: '500 Internal Server Error', 503: '503 Service Unavailable' };

const json = (status: number, value: unknown): Reply => ({ status, type: 'application/json', body: JSON.stringify(value) + '\n' });

/** The topology as the manager wrote it, or as the config describes it; throws when unreadable. */
function loadTopology(opts: HttpOptions): Topology {
  if (opts.topologySource !== undefined) return structuredClone(opts.topologySource.current);
  if (opts.topologyFile === undefined) {
    const c = opts.config;
    return { epoch: 1, workers: staticWorkers(c.host, c.shardBasePort, c.shards, c.workers), processes: [] };
  }
  // The manager rewrites the file on every change: read it per request so it is never stale.
  const topo = JSON.parse(readFileSync(opts.topologyFile, 'utf8')) as Topology;
  if (!Array.isArray(topo.workers) || topo.workers.length === 0) throw new Error(`${opts.topologyFile} lists no workers`);
  if (!Array.isArray(topo.processes)) topo.processes = [];
  return topo;
}

function workerName(w: WorkerEndpoint): string {
  return `shard ${w.shard} worker ${w.worker} (${w.host}:${w.port})`;
}

/** Compares bearer tokens in constant time (hashing first makes the lengths equal). */
function tokenMatches(header: string, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (m === null) return false;
  const a = createHash('sha256').update(m[1]!).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

export function startHttp(opts: HttpOptions): Promise<HttpHandle> {
  const { group, config } = opts;
  const log = componentLog(opts.log, 'http');
  const app = uws.App();

  /**
   * Registers GET and HEAD for `path`. The request is read before the first await (a
   * uWS HttpRequest lives only during the callback); the reply is written corked, and
   * not at all if the client went away meanwhile.
   */
  const route = (path: string, guarded: boolean, handler: () => Reply | Promise<Reply>): void => {
    const serve = (res: HttpResponse, req: HttpRequest, head: boolean): void => {
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      const token = config.adminToken;
      let pending: Promise<Reply>;
      if (guarded && token !== '' && !tokenMatches(req.getHeader('authorization'), token)) {
        log.info({ path, remote: Buffer.from(res.getRemoteAddressAsText()).toString() }, 'admin HTTP request refused: missing or wrong bearer token');
        pending = Promise.resolve(json(401, { error: 'unauthorized: send Authorization: Bearer <admin-token>' }));
      } else {
        pending = Promise.resolve().then(handler);
      }
      pending
        .catch((err: unknown): Reply => {
          log.error({ err, path }, 'admin HTTP handler failed');
          return json(500, { error: (err as Error).message });
        })
        .then((r) => {
          if (aborted) return;
          res.cork(() => {
            res.writeStatus(STATUS_TEXT[r.status] ?? String(r.status)).writeHeader('content-type', r.type);
            if (r.status === 401) res.writeHeader('www-authenticate', 'Bearer realm="shoal-admin"');
            if (head) res.endWithoutBody(Buffer.byteLength(r.body));
            else res.end(r.body);
          });
        });
    };
    app.get(path, (res, req) => serve(res, req, false));
    app.head(path, (res, req) => serve(res, req, true));
  };

  const started = Date.now();
  route('/healthz', false, () => json(200, { status: 'ok', pid: process.pid, uptimeSeconds: Math.floor((Date.now() - started) / 1000) }));

  route('/readyz', false, async () => {
    let topology: Topology;
    try {
      topology = loadTopology(opts);
    } catch (err) {
      return json(503, { status: 'not ready', reasons: [`topology not loaded: ${(err as Error).message}`] });
    }
    const [answers, pings] = await Promise.all([
      group.askAll('ready', null, ASK_TIMEOUT_MS) as Promise<ReadySnapshot[]>,
      pingWorkers(topology.workers, config, WORKER_TIMEOUT_MS),
    ]);
    const reasons: string[] = [];
    if (answers.length < group.size) reasons.push(`${group.size - answers.length} of ${group.size} proxy processes did not answer within ${ASK_TIMEOUT_MS} ms`);
    for (const a of answers) {
      if (!a.accepting) reasons.push(`proxy process ${a.index} (pid ${a.pid}) is not accepting clients yet`);
      for (const down of a.linksDown) reasons.push(`proxy process ${a.index} (pid ${a.pid}): ${down}`);
    }
    for (const p of pings) if (p.reply === null) reasons.push(`${workerName(p.endpoint)} does not answer: ${p.error}`);
    if (reasons.length > 0) return json(503, { status: 'not ready', reasons });
    return json(200, { status: 'ready', processes: answers.length, workers: topology.workers.length, epoch: topology.epoch });
  });

  route('/metrics', true, async () => {
    let workers: WorkerEndpoint[] = [];
    try {
      workers = loadTopology(opts).workers;
    } catch {
      // No topology: the proxy figures still show; the workers are unknown.
    }
    const [snapshots, stats] = await Promise.all([
      group.askAll('metrics', null, ASK_TIMEOUT_MS) as Promise<MetricsSnapshot[]>,
      workerStats(workers, config, WORKER_TIMEOUT_MS),
    ]);
    return { status: 200, type: PROMETHEUS_CONTENT_TYPE, body: renderMetrics({ snapshots, processes: group.size, workers: stats }) };
  });

  route('/topology', true, async () => {
    let topology: Topology;
    try {
      topology = loadTopology(opts);
    } catch (err) {
      return json(503, { error: `topology unavailable: ${(err as Error).message}` });
    }
    // Every RESP process of this proxy, besides what the manager recorded (the primary).
    const answers = (await group.askAll('ready', null, ASK_TIMEOUT_MS)) as ReadySnapshot[];
    const known = new Set(topology.processes.map((p) => p.pid));
    if (opts.topologyFile === undefined && !known.has(process.pid)) {
      topology.processes.push({ role: 'proxy', name: 'proxy', pid: process.pid, ports: [config.port, config.httpPort] });
      known.add(process.pid);
    }
    for (const a of answers) {
      if (!known.has(a.pid)) topology.processes.push({ role: 'proxy', name: `proxy-${a.index}`, pid: a.pid, ports: [config.port] });
    }
    // Roles, pids, offsets and lag of every shard worker (proxy/topology-view.ts).
    return json(200, await describeReplication(topology, group, ASK_TIMEOUT_MS));
  });

  const pubsub = attachPubSub(app, opts); // /pubsub and /pubsub/demo (docs/websocket-pubsub.md)
  attachDashboard(route, { group, config, topology: () => loadTopology(opts) }); // /dashboard, /dashboard/data (docs/dashboard.md)

  app.any('/*', (res) => {
    res.writeStatus('404 Not Found').writeHeader('content-type', 'application/json').end(JSON.stringify({ error: 'not found: /healthz /readyz /metrics /topology /dashboard' }) + '\n');
  });

  return new Promise((resolve, reject) => {
    app.listen(config.host, config.httpPort, (token) => {
      if (!token) return reject(new Error(`cannot listen for HTTP on ${config.host}:${config.httpPort}`));
      log.info({ port: config.httpPort, token: config.adminToken !== '' }, 'admin HTTP listening (/healthz /readyz /metrics /topology)');
      resolve({ app, close: () => { pubsub.close(); uws.us_listen_socket_close(token); } });
    });
  });
}
