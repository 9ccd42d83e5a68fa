// One load run against one server: open the connections (AUTH if asked), drive them
// closed-loop (each connection keeps `pipeline` requests going, the next batch as soon
// as the previous one is answered) or open-loop (open-loop.ts: a fixed rate on a
// timeline), warm up without recording, measure for a duration or a request count,
// wait for the last replies (bounded), and return the statistics.

import { performance } from 'node:perf_hooks';
import { LoadConnection, type RunControl } from './connection.js';
import { OpenLoopScheduler, type WaitMode } from './open-loop.js';
import { RunStats } from './stats.js';
import { CommandWriter, type Workload } from './workload.js';

export interface LoadOptions {
  host: string;
  port: number;
  user?: string | undefined;
  pass?: string | undefined;
  connections: number;
  /** Max unanswered requests per connection (closed loop: the batch size); 0 = no limit (open loop only). */
  pipeline: number;
  workload: Workload;
  /** Measured seconds (after warm-up); ignored when `requests` is set. */
  duration: number;
  /** Measured request count instead of a duration (0 = use duration). */
  requests: number;
  /** Seconds of load before measuring (not recorded). */
  warmup: number;
  /** Requests per second across all connections (open loop); 0 = closed loop. */
  rate: number;
  /** Open loop: sleep between requests (default) or spin (see open-loop.ts). */
  wait?: WaitMode | undefined;
  connectTimeoutMs: number;
  /** How long to wait for outstanding replies after the last request (then they count as lost). */
  drainTimeoutMs: number;
  /** Called about once a second with a progress line (no trailing newline). */
  progress?: ((line: string) => void) | undefined;
  /** Shown in progress lines (e.g. the server's address). */
  label?: string | undefined;
}

export interface LoadResult {
  options: LoadOptions;
  target: string;
  mode: 'closed' | 'open';
  stats: RunStats;
  /** Seconds from the start of measurement to the last recorded reply. */
  elapsed: number;
  /** Why the run stopped early (a connection broke), if it did. */
  failure?: string | undefined;
  /** Requests given up after the drain timeout. */
  timedOut: number;
}

const fmtMs = (us: number) => (us / 1000).toFixed(us < 10_000 ? 3 : 1);

class Run implements RunControl {
  readonly writer: CommandWriter;
  readonly stats: RunStats;
  readonly measureStart: number;
  readonly measureEnd: number;
  issuing = true;
  outstanding = 0;
  failure: string | undefined;
  #budget: number;
  #done: () => void = () => {};
  readonly finished: Promise<void>;

  constructor(readonly opts: LoadOptions, readonly conns: LoadConnection[], t0: number, measureStart: number) {
    this.writer = new CommandWriter(opts.workload);
    this.measureStart = measureStart;
    this.measureEnd = opts.requests > 0 ? Infinity : measureStart + opts.duration * 1000;
    this.#budget = opts.requests > 0 ? opts.requests : Infinity;
    this.stats = new RunStats(measureStart);
    this.finished = new Promise((r) => { this.#done = r; });
    void t0;
  }

  grant(want: number, now: number): number {
    if (!this.issuing) return 0;
    if (now >= this.measureEnd) {
      this.stopIssuing();
      return 0;
    }
    let g = want;
    if (now >= this.measureStart && this.#budget !== Infinity) {
      g = Math.min(want, this.#budget);
      this.#budget -= g;
      if (this.#budget === 0) this.stopIssuing();
    }
    this.outstanding += g;
    return g;
  }

  /** Open loop: `n` requests were scheduled. */
  scheduled(n: number): void {
    this.outstanding += n;
  }

  settled(n: number): void {
    this.outstanding -= n;
    if (!this.issuing && this.outstanding <= 0) this.#done();
  }

  /** Set by runLoad: starts the drain clock. */
  onStopIssuing: () => void = () => {};

  stopIssuing(): void {
    if (!this.issuing) return;
    this.issuing = false;
    if (this.outstanding <= 0) this.#done();
    else this.onStopIssuing();
  }

  broken(_conn: LoadConnection, reason: string): void {
    this.failure ??= reason;
    this.issuing = false;
    for (const c of this.conns) c.abandon('CONNECTION_LOST');
    this.outstanding = 0;
    this.#done();
  }

  finishNow(): void {
    this.#done();
  }
}

/** Opens `n` connections in parallel; closes the ones that opened if any fails. */
export async function openConnections(o: Pick<LoadOptions, 'host' | 'port' | 'user' | 'pass' | 'connectTimeoutMs'>, n: number, cap: number): Promise<LoadConnection[]> {
  const settled = await Promise.allSettled(Array.from({ length: n }, () => LoadConnection.open(o, cap)));
  const ok = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const bad = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (bad) {
    for (const c of ok) c.close();
    throw bad.reason instanceof Error ? bad.reason : new Error(String(bad.reason));
  }
  return ok;
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  if (opts.pipeline <= 0 && opts.rate <= 0) throw new RangeError('closed loop needs pipeline >= 1');
  const conns = await openConnections(opts, opts.connections, opts.pipeline > 0 ? opts.pipeline : Infinity);
  const openLoop = opts.rate > 0;
  const t0 = performance.now();
  let measureStart = t0 + opts.warmup * 1000;
  let scheduler: OpenLoopScheduler | undefined;
  if (openLoop) {
    scheduler = new OpenLoopScheduler(conns, opts.rate, t0, opts.warmup, opts.requests > 0 ? opts.requests : opts.duration * opts.rate,
      opts.requests > 0, opts.wait ?? 'sleep');
    measureStart = scheduler.measureStart;
  }
  const run = new Run(opts, conns, t0, measureStart);
  for (const c of conns) c.attach(run, openLoop);

  const label = opts.label ?? `${opts.host}:${opts.port}`;
  let last = performance.now();
  const progress = opts.progress === undefined ? undefined : setInterval(() => {
    const now = performance.now();
    const iv = run.stats.takeInterval();
    const secs = (now - last) / 1000;
    last = now;
    let inFlight = 0, queued = 0;
    for (const c of conns) { inFlight += c.inFlight; queued += c.queued; }
    const phase = now < measureStart ? 'warm-up ' : '';
    const h = iv.hist;
    const lat = iv.count ? `p50 ${fmtMs(h.getValueAtPercentile(50))} p99 ${fmtMs(h.getValueAtPercentile(99))} `
      + `p99.9 ${fmtMs(h.getValueAtPercentile(99.9))} max ${fmtMs(h.maxValue)} ms` : 'no replies';
    opts.progress?.(`[${label} ${((now - t0) / 1000).toFixed(0).padStart(3)}s] ${phase}${Math.round(iv.count / secs)} ops/s  ${lat}`
      + `  errors ${iv.errors}  in-flight ${inFlight}${openLoop ? `  queued ${queued}` : ''}`);
  }, 1000);

  let endTimer: NodeJS.Timeout | undefined;
  let drainTimer: NodeJS.Timeout | undefined;
  let timedOut = 0;
  const startDrain = () => {
    drainTimer = setTimeout(() => {
      for (const c of conns) timedOut += c.abandon('TIMEOUT');
      run.finishNow();
    }, opts.drainTimeoutMs);
  };
  run.onStopIssuing = startDrain;
  if (openLoop) {
    scheduler!.start(run, run.stats.sendLag);
  } else {
    for (const c of conns) c.sendBatch(t0);
    // The closed loop stops at the first batch after measureEnd; this timer covers a
    // server that answers nothing (then no batch would ask).
    if (opts.requests === 0) endTimer = setTimeout(() => run.stopIssuing(), run.measureEnd - performance.now() + 1);
  }
  await run.finished;
  scheduler?.stop();
  clearTimeout(endTimer);
  clearTimeout(drainTimer);
  if (progress) clearInterval(progress);
  for (const c of conns) c.close();
  run.stats.flush();
  const elapsed = Math.max(0.001, (run.stats.lastCompletion - measureStart) / 1000);
  return {
    options: opts, target: `${opts.host}:${opts.port}`, mode: openLoop ? 'open' : 'closed',
    stats: run.stats, elapsed, failure: run.failure, timedOut,
  };
}
