/**
 * The live dashboard (docs/dashboard.md): the page at /dashboard and its JSON feed at
 * /dashboard/data, both on the admin HTTP server (proxy/http.ts attaches them).
 *
 * The feed gathers what /metrics gathers, through the same calls: every RESP process's
 * MetricsSnapshot (ProcessGroup.askAll 'metrics') and every worker's INFO memory + stats
 * (shard-stats.ts workerStats), plus the topology. It adds nothing to the hot path and
 * keeps no state: counters are cumulative, and the page computes rates from successive
 * samples. They are given per source (per proxy process, keyed by pid; per worker), not
 * summed, so the page can diff each source on its own: a process or worker that misses
 * one sample, or restarts, must not make a summed counter go backwards.
 *
 * The page's files are static (proxy/dashboard/static/: HTML, CSS, two ES modules, no
 * build step). They are read from dist/proxy/dashboard/static when a build copied them,
 * else from the source tree, like the pub/sub demo page. They are served without the
 * admin token, since a browser cannot send a bearer header when it navigates to a page:
 * they hold no data. The feed is guarded exactly like /metrics.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ShoalConfig } from '../../shared/config/schema.js';
import type { SlotRange, Topology } from '../../shared/cluster/topology.js';
import { COMMANDS } from '../../shared/commands/table.js';
import type { ProcessGroup } from '../process-group.js';
import { BUCKETS, BUCKET_BOUNDS_SECONDS, type MetricsSnapshot } from '../metrics.js';
import { workerStats, type WorkerStats } from '../shard-stats.js';

/** How long the feed waits for the proxy processes, and for each worker (as /metrics). */
const ASK_TIMEOUT_MS = 1000;
const WORKER_TIMEOUT_MS = 500;

/** What a route handler returns (proxy/http.ts's Reply). */
export interface DashboardReply {
  status: number;
  type: string;
  body: string;
}

/** proxy/http.ts's `route`: GET + HEAD, the admin token checked when `guarded`. */
export type RouteFn = (path: string, guarded: boolean, handler: () => DashboardReply | Promise<DashboardReply>) => void;

export interface DashboardOptions {
  group: ProcessGroup;
  config: ShoalConfig;
  /** The current topology; throws when it cannot be read. */
  topology: () => Topology;
}

/**
 * Command families, from the command table's ACL categories: the first data-type
 * category a command has, else keyspace / transaction / scripting / connection, else
 * 'server'. The order is the page's legend order; geo, stream and scripting have no
 * commands yet and are listed so rows added later find their family.
 */
export const FAMILIES = [
  'string', 'list', 'hash', 'set', 'sortedset', 'bitmap', 'hyperloglog', 'geo', 'stream', 'bloom', 'pubsub',
  'keyspace', 'transaction', 'scripting', 'connection', 'server', 'unknown',
] as const;
export type Family = (typeof FAMILIES)[number];

const CATEGORY_FAMILIES: readonly Family[] = FAMILIES.filter((f) => f !== 'server' && f !== 'unknown');

/** Command name → family; names not in the table (metrics' 'unknown') are 'unknown'. */
export const COMMAND_FAMILY: ReadonlyMap<string, Family> = new Map(COMMANDS.map((c) => {
  // A row without a family category (PUBSUB has only @slow) falls back to its COMMAND DOCS group.
  const group = c.group === 'sorted-set' ? 'sortedset' : c.group === 'transactions' ? 'transaction' : c.group;
  const family = CATEGORY_FAMILIES.find((f) => c.acl.includes(f)) ?? CATEGORY_FAMILIES.find((f) => f === group) ?? 'server';
  return [c.name, family];
}));

export function familyOf(command: string): Family {
  return COMMAND_FAMILY.get(command) ?? 'unknown';
}

/** Cumulative calls and error replies of one family. */
export interface FamilyCounts {
  calls: number;
  errors: number;
}

/** One RESP process's cumulative figures. */
export interface FeedProcess {
  index: number;
  pid: number;
  uptimeSeconds: number;
  connectedClients: number;
  blockedClients: number;
  residentMemoryBytes: number;
  /** Only families with calls. */
  families: Partial<Record<Family, FamilyCounts>>;
  /** Dispatch → reply times of every command, per latency bucket (not cumulative; see latencyBoundsUs). */
  latencyBuckets: number[];
}

/** How the proxy processes see one worker link. */
export interface FeedLink {
  /** Processes whose link is connected. */
  up: number;
  /** Processes per breaker state. */
  breaker: { closed: number; open: number; 'half-open': number };
  queueDepth: number;
}

export interface FeedWorker {
  id: string;
  shard: number;
  worker: number;
  endpoint: string;
  slots: SlotRange[];
  /** Only primaries exist: Shoal has no replicas yet. */
  role: 'primary';
  /** Answered INFO this time. */
  up: boolean;
  error: string | null;
  usedMemory: number | null;
  maxmemory: number | null;
  evictedKeys: number | null;
  expiredKeys: number | null;
  keyspaceHits: number | null;
  keyspaceMisses: number | null;
  link: FeedLink;
}

export interface FeedTopologyProcess {
  role: string;
  name: string;
  pid: number;
  ports: number[];
  slots: SlotRange[];
}

export interface DashboardFeed {
  /** Server time of the sample, ms since the epoch: the page's rate denominator. */
  time: number;
  /** RESP processes configured, and those whose figures this sample includes. */
  proxyProcesses: { configured: number; answering: number };
  families: readonly Family[];
  /** Upper bound of each latency bucket, µs; the last bucket (+Inf) has none. */
  latencyBoundsUs: number[];
  /** latency-tracking yes: the buckets move. */
  latencyTracking: boolean;
  processes: FeedProcess[];
  workers: FeedWorker[];
  topology: { epoch: number | null; error: string | null; processes: FeedTopologyProcess[] };
}

const LATENCY_BOUNDS_US = BUCKET_BOUNDS_SECONDS.map((s) => Math.round(s * 1e6));

function num(fields: Map<string, string>, key: string): number | null {
  const v = fields.get(key);
  if (v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

function feedProcess(s: MetricsSnapshot): FeedProcess {
  const families: Partial<Record<Family, FamilyCounts>> = {};
  const latencyBuckets = new Array<number>(BUCKETS).fill(0);
  for (const [name, calls, errors, , buckets] of s.commands) {
    const f = familyOf(name);
    const c = (families[f] ??= { calls: 0, errors: 0 });
    c.calls += calls;
    c.errors += errors;
    for (let b = 0; b < BUCKETS; b++) latencyBuckets[b]! += buckets[b] ?? 0;
  }
  return {
    index: s.index,
    pid: s.pid,
    uptimeSeconds: s.uptimeSeconds,
    connectedClients: s.connectedClients,
    blockedClients: s.blockedClients,
    residentMemoryBytes: s.residentMemoryBytes,
    families,
    latencyBuckets,
  };
}

/** Gathers one sample of the feed. */
export async function dashboardFeed(opts: DashboardOptions): Promise<DashboardFeed> {
  const { group, config } = opts;
  let topology: Topology | null = null;
  let topologyError: string | null = null;
  try {
    topology = opts.topology();
  } catch (err) {
    topologyError = (err as Error).message;
  }
  const endpoints = topology?.workers ?? [];
  const [snapshots, stats] = await Promise.all([
    group.askAll('metrics', null, ASK_TIMEOUT_MS) as Promise<MetricsSnapshot[]>,
    workerStats(endpoints, config, WORKER_TIMEOUT_MS),
  ]);

  const links = new Map<string, FeedLink>();
  for (const s of snapshots) {
    for (const l of s.links) {
      const key = `${l.host}:${l.port}`;
      let e = links.get(key);
      if (!e) links.set(key, (e = { up: 0, breaker: { closed: 0, open: 0, 'half-open': 0 }, queueDepth: 0 }));
      if (l.up) e.up++;
      if (l.breakerState === 'closed' || l.breakerState === 'open' || l.breakerState === 'half-open') e.breaker[l.breakerState]++;
      e.queueDepth += l.queueDepth;
    }
  }

  const workers = stats.map((w: WorkerStats): FeedWorker => {
    const endpoint = `${w.endpoint.host}:${w.endpoint.port}`;
    return {
      id: w.endpoint.id,
      shard: w.endpoint.shard,
      worker: w.endpoint.worker,
      endpoint,
      slots: w.endpoint.slots,
      role: 'primary',
      up: w.up,
      error: w.error,
      usedMemory: num(w.fields, 'used_memory'),
      maxmemory: num(w.fields, 'maxmemory'),
      evictedKeys: num(w.fields, 'evicted_keys'),
      expiredKeys: num(w.fields, 'expired_keys'),
      keyspaceHits: num(w.fields, 'keyspace_hits'),
      keyspaceMisses: num(w.fields, 'keyspace_misses'),
      link: links.get(endpoint) ?? { up: 0, breaker: { closed: 0, open: 0, 'half-open': 0 }, queueDepth: 0 },
    };
  });

  // The manager's processes, plus the RESP processes it did not record (single-process
  // mode without a manager; a RESP process restarted since the file was written).
  const processes: FeedTopologyProcess[] = (topology?.processes ?? []).map((p) => ({ role: p.role, name: p.name, pid: p.pid, ports: p.ports, slots: p.slots ?? [] }));
  const known = new Set(processes.map((p) => p.pid));
  for (const s of snapshots) {
    if (!known.has(s.pid)) processes.push({ role: 'proxy', name: group.size > 1 ? `proxy-${s.index}` : 'proxy', pid: s.pid, ports: [config.port], slots: [] });
  }

  return {
    time: Date.now(),
    proxyProcesses: { configured: group.size, answering: snapshots.length },
    families: FAMILIES,
    latencyBoundsUs: LATENCY_BOUNDS_US,
    latencyTracking: config.latencyTracking === 'yes',
    processes: snapshots.map(feedProcess).sort((a, b) => a.index - b.index),
    workers,
    topology: { epoch: topology?.epoch ?? null, error: topologyError, processes },
  };
}

const STATIC_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** The page's files: [url path, file] pairs. */
const STATIC_FILES: ReadonlyArray<readonly [string, string]> = [
  ['/dashboard', 'index.html'],
  ['/dashboard/', 'index.html'],
  ['/dashboard/dashboard.js', 'dashboard.js'],
  ['/dashboard/feed-math.js', 'feed-math.js'],
  ['/dashboard/charts.js', 'charts.js'],
  ['/dashboard/dashboard.css', 'dashboard.css'],
];

/** The static directory: next to this file in dist when a build copied it, else the source tree. */
function staticDir(): string | null {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const dir of [path.join(here, 'static'), path.resolve(here, '..', '..', '..', 'proxy', 'dashboard', 'static')]) {
    try {
      readFileSync(path.join(dir, 'index.html'));
      return dir;
    } catch {
      // try the next place
    }
  }
  return null;
}

/**
 * Registers /dashboard (page, open), /dashboard/auth (whether a token is needed, open)
 * and /dashboard/data (feed, admin token) on the admin HTTP server.
 */
export function attachDashboard(route: RouteFn, opts: DashboardOptions): void {
  const dir = staticDir();
  for (const [url, file] of STATIC_FILES) {
    // Read once: the files do not change while the server runs.
    let body: string | null = null;
    if (dir !== null) {
      try {
        body = readFileSync(path.join(dir, file), 'utf8');
      } catch {
        body = null;
      }
    }
    const type = STATIC_TYPES[path.extname(file)] ?? 'application/octet-stream';
    route(url, false, () => (body === null ? { status: 404, type: 'text/plain', body: `dashboard file ${file} not installed\n` } : { status: 200, type, body }));
  }
  // Open: tells the page whether to ask for the token before its first feed request
  // (a refused request would be logged here and in the browser console).
  route('/dashboard/auth', false, () => ({ status: 200, type: 'application/json', body: JSON.stringify({ tokenRequired: opts.config.adminToken !== '' }) + '\n' }));
  route('/dashboard/data', true, async () => ({ status: 200, type: 'application/json', body: JSON.stringify(await dashboardFeed(opts)) + '\n' }));
}
