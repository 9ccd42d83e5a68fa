/**
 * What one RESP process of the proxy counts, and the plain snapshot it answers the
 * 'metrics' question with (proxy/prometheus.ts merges the processes' snapshots into
 * /metrics text).
 *
 * Per command (hot path), indexed by a number given to each command-table row once:
 *
 *   calls[i]                 replies sent for command i
 *   errors[i]                of which error replies (first byte '-')
 *   usecSum[i]               sum of dispatch → reply times, µs
 *   buckets[i * BUCKETS + b] replies whose time fell in bucket b (not cumulative)
 *
 * Buckets are powers of two: bucket b holds times in (2^(b+2), 2^(b+3)] µs, bucket 0
 * everything up to 8 µs, the last one (+Inf) everything above 2^24 µs (16.8 s). The
 * bucket is `29 - clz32(ceil(µs) - 1)`: no loop, no logarithm.
 *
 * Timing, and what it costs. A command's clock starts when the client's bytes are
 * handed to the decoder: one performance.now() per read event, shared by every command
 * of that read (ProxyClient.runBuffered). It stops when its reply is complete in the
 * proxy (delivered by the worker link, or built locally), read from `replyClock()`: one
 * performance.now() per burst of replies, cached until the current callback's microtasks
 * run. So a pipelined client pays well under one clock read per command and a
 * request/response client about one. Measured by loadtest/micro/metrics-record.bench.ts
 * on the 2-core development VM (kvm-clock, Node 20, busy): performance.now() 60-100 ns;
 * begin + done without clock reads 26-30 ns; 16 commands per read and per reply burst
 * 42-48 ns per command; one per read and per burst (worst case) 210-230 ns. With
 * `latency-tracking no` and `slowlog-log-slower-than -1` there is no clock read at all
 * (docs/observability.md).
 */
import { COMMANDS } from '../shared/commands/table.js';
import { CMD_BLOCKING, CMD_SKIP_SLOWLOG, type CommandSpec } from '../shared/commands/spec.js';
import { kMulti } from '../shared/connection/client-state.js';
import type { ShoalConfig } from '../shared/config/schema.js';
import { Slowlog, answerSlowlog } from './slowlog.js';
import type { ProxyServer } from './proxy-server.js';
import type { ProxyClient } from './client-connection.js';

/** Smallest finite bucket bound: 2^3 µs. */
const MIN_LOG2_US = 3;
/** Finite buckets: 2^3 .. 2^24 µs. */
export const FINITE_BUCKETS = 22;
/** Finite buckets plus +Inf. */
export const BUCKETS = FINITE_BUCKETS + 1;
const MAX_FINITE_US = 2 ** (MIN_LOG2_US + FINITE_BUCKETS - 1);
/** Upper bound of finite bucket b, in seconds (Prometheus `le`). */
export const BUCKET_BOUNDS_SECONDS: readonly number[] = Array.from({ length: FINITE_BUCKETS }, (_, b) => 2 ** (b + MIN_LOG2_US) / 1e6);

/** Metric index → command name: every table row, then 'unknown' for names not in the table. */
export const METRIC_COMMAND_NAMES: readonly string[] = [...COMMANDS.map((c) => c.name), 'unknown'];
const UNKNOWN = COMMANDS.length;
const INDEX = new Map<CommandSpec, number>(COMMANDS.map((c, i) => [c, i]));
const SLOTS = METRIC_COMMAND_NAMES.length;

/** Histogram bucket of a duration in µs. */
export function bucketOf(us: number): number {
  const u = Math.ceil(us);
  if (u <= 2 ** MIN_LOG2_US) return 0;
  if (u > MAX_FINITE_US) return FINITE_BUCKETS;
  return 32 - MIN_LOG2_US - Math.clz32(u - 1);
}

/** One worker link as a process sees it. */
export interface LinkSnapshot {
  shard: number;
  worker: number;
  host: string;
  port: number;
  up: boolean;
  breakerState: string;
  queueDepth: number;
}

/** One RESP process's figures: plain data, so it crosses process boundaries as is. */
export interface MetricsSnapshot {
  index: number;
  pid: number;
  uptimeSeconds: number;
  /** [name, calls, errors, usecSum, buckets (not cumulative)] for commands seen. */
  commands: Array<[string, number, number, number, number[]]>;
  connectedClients: number;
  blockedClients: number;
  connectionsReceived: number;
  netInputBytes: number;
  netOutputBytes: number;
  residentMemoryBytes: number;
  heapUsedBytes: number;
  slowlogLength: number;
  links: LinkSnapshot[];
}

export class ProxyMetrics {
  readonly calls = new Float64Array(SLOTS);
  readonly errors = new Float64Array(SLOTS);
  readonly usecSum = new Float64Array(SLOTS);
  readonly buckets = new Float64Array(SLOTS * BUCKETS);
  /** Bytes read from and written to client sockets. */
  netIn = 0;
  netOut = 0;
  readonly slowlog: Slowlog;
  readonly #config: ShoalConfig;
  #clock = 0;
  #clockValid = false;
  readonly #invalidate = (): void => {
    this.#clockValid = false;
  };

  constructor(config: ShoalConfig, processIndex = 0, processes = 1) {
    this.#config = config;
    this.slowlog = new Slowlog(Math.max(1, processes), Math.max(0, processIndex));
  }

  /** True when commands are timed (latency histograms or the slowlog need it). */
  get timing(): boolean {
    return this.#config.latencyTracking === 'yes' || this.#config.slowlogLogSlowerThan >= 0;
  }

  /** Start of a read event's commands (0 when nothing is timed). */
  readStart(): number {
    return this.timing ? performance.now() : 0;
  }

  /** Completion time for replies of the current callback: one clock read per burst. */
  replyClock(): number {
    if (!this.#clockValid) {
      this.#clock = performance.now();
      this.#clockValid = true;
      queueMicrotask(this.#invalidate);
    }
    return this.#clock;
  }

  /**
   * Marks `client`'s next reply as the reply to this command (ProxyServer.dispatch).
   * The argv is kept for the slowlog unless Redis would not log the command there:
   * EXEC (skip_slowlog), commands queued by MULTI (Redis logs them when EXEC runs them),
   * and blocking commands (their time is mostly waiting, which Redis does not count).
   */
  begin(client: ProxyClient, spec: CommandSpec | undefined, argv: Buffer[]): void {
    client.cmd = spec === undefined ? UNKNOWN : INDEX.get(spec) ?? UNKNOWN;
    client.cmdT0 = client.readAt;
    client.cmdArgv = spec === undefined || spec.flags & (CMD_SKIP_SLOWLOG | CMD_BLOCKING) || (client.state.flags & kMulti && spec.route !== 'transaction') ? null : argv;
  }

  /** A reply is complete: count it, time it, maybe log it. `first` is its first byte. */
  done(client: ProxyClient, cmd: number, t0: number, argv: Buffer[] | null, first: number | undefined): void {
    this.calls[cmd]! += 1;
    if (first === 0x2d) this.errors[cmd]! += 1;
    const cfg = this.#config;
    if (t0 === 0) return; // not timed (timing was off when it was dispatched)
    let us = (this.replyClock() - t0) * 1000;
    if (us < 0) us = 0;
    if (cfg.latencyTracking === 'yes') {
      this.usecSum[cmd]! += us;
      this.buckets[cmd * BUCKETS + bucketOf(us)]! += 1;
    }
    const threshold = cfg.slowlogLogSlowerThan;
    if (threshold >= 0 && argv !== null && us >= threshold) {
      this.slowlog.push(argv, Math.floor(us), client.state.addr, client.state.name, cfg.slowlogMaxLen);
    }
  }

  /** CONFIG RESETSTAT: counters back to zero (the slowlog has its own RESET). */
  reset(): void {
    this.calls.fill(0);
    this.errors.fill(0);
    this.usecSum.fill(0);
    this.buckets.fill(0);
    this.netIn = 0;
    this.netOut = 0;
  }

  snapshot(server: ProxyServer): MetricsSnapshot {
    const commands: MetricsSnapshot['commands'] = [];
    for (let i = 0; i < SLOTS; i++) {
      if (this.calls[i] === 0) continue;
      commands.push([METRIC_COMMAND_NAMES[i]!, this.calls[i]!, this.errors[i]!, this.usecSum[i]!, Array.from(this.buckets.subarray(i * BUCKETS, (i + 1) * BUCKETS))]);
    }
    const mem = process.memoryUsage();
    return {
      index: server.group.index,
      pid: process.pid,
      uptimeSeconds: Math.floor((Date.now() - server.startTime) / 1000),
      commands,
      connectedClients: server.clientCount,
      blockedClients: server.blockedClientCount,
      connectionsReceived: server.stats.connections,
      netInputBytes: this.netIn,
      netOutputBytes: this.netOut,
      residentMemoryBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      slowlogLength: this.slowlog.length,
      links: server.links.map((l) => ({
        shard: l.endpoint.shard,
        worker: l.endpoint.worker,
        host: l.endpoint.host,
        port: l.endpoint.port,
        up: l.up,
        breakerState: l.breakerState,
        queueDepth: l.queueDepth,
      })),
    };
  }
}

/** What a RESP process answers /readyz's question with. */
export interface ReadySnapshot {
  index: number;
  pid: number;
  /** The process's client listeners are open. */
  accepting: boolean;
  workers: number;
  linksDown: string[];
}

/** CONFIG parameters every proxy process must hold the same (docs/observability.md). */
const SHARED_PARAMS = ['slowlog-log-slower-than', 'slowlog-max-len', 'latency-tracking'] as const;
const T_CONFIG = 'observability-config';

interface SharedObservabilityConfig {
  slowlogLogSlowerThan: number;
  slowlogMaxLen: number;
  latencyTracking: 'yes' | 'no';
  /** CONFIG GET's text per parameter, where it differs from the number. */
  text: Array<[string, string]>;
}

/**
 * A CONFIG SET of these parameters reaches every proxy process: the one that ran it
 * shares the values (ProcessGroup.share, so a restarted process gets them too). Shared
 * after the SET completed, from a microtask: if another hook rolled the SET back, the
 * values shared are the old ones, which changes nothing.
 */
function shareObservabilityConfig(server: ProxyServer): void {
  server.runtime.applyHooks.push((changed) => {
    if (!changed.some((n) => (SHARED_PARAMS as readonly string[]).includes(n))) return undefined;
    queueMicrotask(() => {
      const c = server.config;
      const text: Array<[string, string]> = [];
      for (const n of SHARED_PARAMS) {
        const v = server.runtime.values.get(n);
        if (v !== undefined) text.push([n, v]);
      }
      const payload: SharedObservabilityConfig = { slowlogLogSlowerThan: c.slowlogLogSlowerThan, slowlogMaxLen: c.slowlogMaxLen, latencyTracking: c.latencyTracking, text };
      server.group.share(T_CONFIG, payload);
    });
    return undefined;
  });
  server.group.onShared(T_CONFIG, (p) => {
    const s = p as SharedObservabilityConfig;
    server.config.slowlogLogSlowerThan = s.slowlogLogSlowerThan;
    server.config.slowlogMaxLen = s.slowlogMaxLen;
    server.config.latencyTracking = s.latencyTracking;
    for (const [n, v] of s.text) server.runtime.values.set(n, v);
  });
}

/** Registers this RESP process's answers to the admin HTTP side's questions. */
export function answerAdminQuestions(server: ProxyServer): void {
  answerSlowlog(server.group, server.metrics.slowlog);
  shareObservabilityConfig(server);
  server.group.answer('metrics', () => server.metrics.snapshot(server));
  server.group.answer('ready', (): ReadySnapshot => ({
    index: server.group.index,
    pid: process.pid,
    accepting: server.acceptingClients,
    workers: server.links.length,
    linksDown: server.links.filter((l) => !l.up || l.breakerState === 'open').map((l) => l.downError),
  }));
}
