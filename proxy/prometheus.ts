/**
 * /metrics: merges the RESP processes' snapshots (proxy/metrics.ts) and the workers'
 * INFO figures (proxy/shard-stats.ts) into Prometheus text exposition format 0.0.4.
 *
 * Merging: counters and gauges that describe the proxy as a whole (commands, bytes,
 * clients, queue depths) are summed over the processes that answered; per-process
 * figures (memory, uptime) keep a `process` label; a breaker's state is counted per
 * state ("how many proxy processes see this worker's breaker open"). Worker figures are
 * per worker, labelled shard / worker / endpoint; a worker that did not answer in time
 * has `shoal_shard_up 0` and no other series this scrape.
 */
import type { MetricsSnapshot } from './metrics.js';
import { BUCKETS, BUCKET_BOUNDS_SECONDS, FINITE_BUCKETS } from './metrics.js';
import type { WorkerStats } from './shard-stats.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Record<string, string | number>;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Builds the text: one family (HELP, TYPE, samples) at a time. */
class Exposition {
  readonly #lines: string[] = [];

  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): this {
    this.#lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, labels: Labels | null, value: number): this {
    let l = '';
    if (labels !== null) {
      const parts: string[] = [];
      for (const [k, v] of Object.entries(labels)) parts.push(`${k}="${escapeLabel(String(v))}"`);
      if (parts.length > 0) l = `{${parts.join(',')}}`;
    }
    this.#lines.push(`${name}${l} ${formatValue(value)}`);
    return this;
  }

  text(): string {
    return this.#lines.join('\n') + '\n';
  }
}

interface MergedCommand {
  calls: number;
  errors: number;
  usecSum: number;
  buckets: number[];
}

function mergeCommands(snapshots: readonly MetricsSnapshot[]): Map<string, MergedCommand> {
  const out = new Map<string, MergedCommand>();
  for (const s of snapshots) {
    for (const [name, calls, errors, usecSum, buckets] of s.commands) {
      let m = out.get(name);
      if (!m) out.set(name, (m = { calls: 0, errors: 0, usecSum: 0, buckets: new Array<number>(BUCKETS).fill(0) }));
      m.calls += calls;
      m.errors += errors;
      m.usecSum += usecSum;
      for (let b = 0; b < BUCKETS; b++) m.buckets[b]! += buckets[b] ?? 0;
    }
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const BREAKER_STATES = ['closed', 'open', 'half-open'] as const;

/** INFO fields shown per worker: [INFO field, metric name, type, help]. */
const WORKER_FIELDS: ReadonlyArray<readonly [string, string, 'counter' | 'gauge', string]> = [
  ['used_memory', 'shoal_shard_used_memory_bytes', 'gauge', 'Bytes of data and index memory the worker accounts (INFO used_memory).'],
  ['maxmemory', 'shoal_shard_maxmemory_bytes', 'gauge', "The worker's share of maxmemory; 0 = no limit (INFO maxmemory)."],
  ['evicted_keys', 'shoal_shard_evicted_keys_total', 'counter', 'Keys evicted under maxmemory (INFO evicted_keys).'],
  ['expired_keys', 'shoal_shard_expired_keys_total', 'counter', 'Keys removed because their TTL passed (INFO expired_keys).'],
  ['keyspace_hits', 'shoal_shard_keyspace_hits_total', 'counter', 'Key lookups that found the key (INFO keyspace_hits); sum over workers for the cluster.'],
  ['keyspace_misses', 'shoal_shard_keyspace_misses_total', 'counter', 'Key lookups that did not (INFO keyspace_misses); sum over workers for the cluster.'],
];

export interface ExpositionInput {
  /** Snapshots of the RESP processes that answered. */
  snapshots: readonly MetricsSnapshot[];
  /** RESP processes the proxy runs (ProcessGroup.size). */
  processes: number;
  workers: readonly WorkerStats[];
}

export function renderMetrics({ snapshots, processes, workers }: ExpositionInput): string {
  const x = new Exposition();
  const sum = (f: (s: MetricsSnapshot) => number): number => snapshots.reduce((a, s) => a + f(s), 0);

  x.family('shoal_proxy_processes', 'gauge', 'RESP-serving proxy processes configured.').sample('shoal_proxy_processes', null, processes);
  x.family('shoal_proxy_processes_answering', 'gauge', 'Proxy processes whose figures this scrape includes (the others did not answer in time).')
    .sample('shoal_proxy_processes_answering', null, snapshots.length);

  const commands = mergeCommands(snapshots);
  x.family('shoal_commands_total', 'counter', 'Commands the proxy replied to, by command (counted at the reply).');
  for (const [cmd, m] of commands) x.sample('shoal_commands_total', { cmd }, m.calls);
  x.family('shoal_command_errors_total', 'counter', 'Commands whose reply was an error, by command.');
  for (const [cmd, m] of commands) x.sample('shoal_command_errors_total', { cmd }, m.errors);
  x.family('shoal_command_duration_seconds', 'histogram', 'Time from dispatch to reply in the proxy, by command (latency-tracking yes).');
  for (const [cmd, m] of commands) {
    let cumulative = 0;
    for (let b = 0; b < FINITE_BUCKETS; b++) {
      cumulative += m.buckets[b]!;
      x.sample('shoal_command_duration_seconds_bucket', { cmd, le: formatValue(BUCKET_BOUNDS_SECONDS[b]!) }, cumulative);
    }
    cumulative += m.buckets[FINITE_BUCKETS]!;
    x.sample('shoal_command_duration_seconds_bucket', { cmd, le: '+Inf' }, cumulative);
    x.sample('shoal_command_duration_seconds_sum', { cmd }, m.usecSum / 1e6);
    x.sample('shoal_command_duration_seconds_count', { cmd }, cumulative);
  }

  x.family('shoal_connected_clients', 'gauge', 'Client connections open now.').sample('shoal_connected_clients', null, sum((s) => s.connectedClients));
  x.family('shoal_blocked_clients', 'gauge', 'Clients waiting in a blocking command (BLPOP ...).').sample('shoal_blocked_clients', null, sum((s) => s.blockedClients));
  x.family('shoal_connections_received_total', 'counter', 'Client connections accepted.').sample('shoal_connections_received_total', null, sum((s) => s.connectionsReceived));
  x.family('shoal_net_input_bytes_total', 'counter', 'Bytes read from client connections.').sample('shoal_net_input_bytes_total', null, sum((s) => s.netInputBytes));
  x.family('shoal_net_output_bytes_total', 'counter', 'Bytes written to client connections.').sample('shoal_net_output_bytes_total', null, sum((s) => s.netOutputBytes));
  x.family('shoal_slowlog_length', 'gauge', 'SLOWLOG entries held, all proxy processes.').sample('shoal_slowlog_length', null, sum((s) => s.slowlogLength));

  x.family('shoal_proxy_resident_memory_bytes', 'gauge', 'Resident set size of each proxy process.');
  for (const s of snapshots) x.sample('shoal_proxy_resident_memory_bytes', { process: s.index, pid: s.pid }, s.residentMemoryBytes);
  x.family('shoal_proxy_heap_used_bytes', 'gauge', 'V8 heap in use in each proxy process.');
  for (const s of snapshots) x.sample('shoal_proxy_heap_used_bytes', { process: s.index, pid: s.pid }, s.heapUsedBytes);
  x.family('shoal_proxy_uptime_seconds', 'gauge', 'Seconds since each proxy process started.');
  for (const s of snapshots) x.sample('shoal_proxy_uptime_seconds', { process: s.index, pid: s.pid }, s.uptimeSeconds);

  // Links: one entry per worker endpoint, summed or counted over processes.
  const links = new Map<string, { labels: Labels; up: number; depth: number; states: Map<string, number> }>();
  for (const s of snapshots) {
    for (const l of s.links) {
      const endpoint = `${l.host}:${l.port}`;
      let e = links.get(endpoint);
      if (!e) links.set(endpoint, (e = { labels: { shard: l.shard, worker: l.worker, endpoint }, up: 0, depth: 0, states: new Map() }));
      if (l.up) e.up++;
      e.depth += l.queueDepth;
      e.states.set(l.breakerState, (e.states.get(l.breakerState) ?? 0) + 1);
    }
  }
  x.family('shoal_upstream_connected', 'gauge', 'Proxy processes whose link to this worker is connected.');
  for (const e of links.values()) x.sample('shoal_upstream_connected', e.labels, e.up);
  x.family('shoal_upstream_breaker_state', 'gauge', "Proxy processes whose circuit breaker for this worker is in this state.");
  for (const e of links.values()) {
    for (const state of BREAKER_STATES) x.sample('shoal_upstream_breaker_state', { ...e.labels, state }, e.states.get(state) ?? 0);
  }
  x.family('shoal_upstream_queue_depth', 'gauge', 'Requests sent to this worker and not answered yet, plus those queued for the next batch (all processes).');
  for (const e of links.values()) x.sample('shoal_upstream_queue_depth', e.labels, e.depth);

  x.family('shoal_shard_up', 'gauge', 'Whether the worker answered INFO within the scrape timeout.');
  const workerLabels = (w: WorkerStats): Labels => ({ shard: w.endpoint.shard, worker: w.endpoint.worker, endpoint: `${w.endpoint.host}:${w.endpoint.port}` });
  for (const w of workers) x.sample('shoal_shard_up', workerLabels(w), w.up ? 1 : 0);
  for (const [field, name, type, help] of WORKER_FIELDS) {
    x.family(name, type, help);
    for (const w of workers) {
      const v = w.fields.get(field);
      if (w.up && v !== undefined && v !== '' && Number.isFinite(Number(v))) x.sample(name, workerLabels(w), Number(v));
    }
  }
  return x.text();
}
