// Turns load runs into numbers people read: a plain summary object (also the --json
// output), a text table per run, and for --compare the medians of interleaved runs of
// two servers with their ratios.

import { encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import type { LoadResult } from './run.js';
import { newHistogram } from './stats.js';
import { COMMANDS } from './workload.js';

/** Latency percentiles in milliseconds. */
export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  p9999: number;
  max: number;
  mean: number;
}

export interface CommandSummary {
  command: string;
  count: number;
  errors: number;
  opsPerSec: number;
  latency: Percentiles;
}

export interface RunSummary {
  target: string;
  mode: 'closed' | 'open';
  /** Open loop: the requested rate (requests/s). */
  rate?: number;
  connections: number;
  pipeline: number;
  /** Seconds from the start of measurement to the last recorded reply. */
  elapsed: number;
  /** Recorded replies (error replies included). */
  count: number;
  opsPerSec: number;
  errors: number;
  /** Error replies by their first word, plus CONNECTION_LOST / TIMEOUT for requests without a reply. */
  errorTypes: Record<string, number>;
  latency: Percentiles;
  commands: CommandSummary[];
  /** Replies completed in each whole second of the measurement. */
  perSecond: number[];
  /** Open loop: how late the generator wrote requests versus their intended times. */
  sendLag?: Percentiles;
  failure?: string;
  /** Requests given up after the drain timeout. */
  timedOut: number;
  /** HdrHistogram of all latencies (us), compressed base64 (decodeFromCompressedBase64). */
  hdr: string;
}

const ms = (us: number) => Math.round(us) / 1000;

export function percentiles(h: Histogram): Percentiles {
  if (h.totalCount === 0) return { p50: NaN, p90: NaN, p99: NaN, p999: NaN, p9999: NaN, max: NaN, mean: NaN };
  // A percentile is reported as its bucket's highest equivalent value: clamp to the max seen.
  const max = h.maxValue;
  const at = (p: number) => ms(Math.min(h.getValueAtPercentile(p), max));
  return {
    p50: at(50),
    p90: at(90),
    p99: at(99),
    p999: at(99.9),
    p9999: at(99.99),
    max: ms(max),
    mean: ms(h.mean),
  };
}

export function summarize(r: LoadResult): RunSummary {
  const st = r.stats;
  const total = st.total();
  const commands: CommandSummary[] = [];
  COMMANDS.forEach((name, code) => {
    const h = st.histograms[code];
    const count = st.counts[code] ?? 0;
    const errors = st.errors[code] ?? 0;
    if (!h && errors === 0) return;
    commands.push({
      command: name.toUpperCase(), count, errors, opsPerSec: count / r.elapsed,
      latency: percentiles(h ?? newHistogram()),
    });
  });
  const count = total.totalCount;
  const errorTypes = Object.fromEntries([...st.errorTypes].sort((a, b) => b[1] - a[1]));
  const errors = Object.values(errorTypes).reduce((a, b) => a + b, 0);
  return {
    target: r.target,
    mode: r.mode,
    ...(r.mode === 'open' ? { rate: r.options.rate } : {}),
    connections: r.options.connections,
    pipeline: r.options.pipeline,
    elapsed: r.elapsed,
    count,
    opsPerSec: count / r.elapsed,
    errors,
    errorTypes,
    latency: percentiles(total),
    commands,
    perSecond: st.perSecond.slice(),
    ...(r.mode === 'open' ? { sendLag: percentiles(st.sendLag) } : {}),
    ...(r.failure ? { failure: r.failure } : {}),
    timedOut: r.timedOut,
    hdr: encodeIntoCompressedBase64(total),
  };
}

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '-');
const int = (x: number) => (Number.isFinite(x) ? String(Math.round(x)) : '-');

export function table(head: string[], rows: string[][], left = 1): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i < left ? c.padEnd(w[i] ?? 0) : c.padStart(w[i] ?? 0))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

const LAT_HEAD = ['p50', 'p90', 'p99', 'p99.9', 'p99.99', 'max'];
const latCells = (p: Percentiles) => [p.p50, p.p90, p.p99, p.p999, p.p9999, p.max].map(f3);

/** One run as a text table (latencies in ms). */
export function formatRun(s: RunSummary): string {
  const mode = s.mode === 'open' ? `open loop at ${s.rate} req/s` : 'closed loop';
  const lines = [
    `${s.target}: ${mode}, ${s.connections} connections, pipeline ${s.pipeline || 'unlimited'}, ${s.elapsed.toFixed(2)} s measured`,
    table(['command', 'requests', 'errors', 'ops/s', ...LAT_HEAD.map((x) => `${x} ms`)], [
      ...s.commands.map((c) => [c.command, int(c.count), int(c.errors), int(c.opsPerSec), ...latCells(c.latency)]),
      ['ALL', int(s.count), int(s.errors), int(s.opsPerSec), ...latCells(s.latency)],
    ]),
  ];
  if (s.errors) lines.push(`errors by type: ${Object.entries(s.errorTypes).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  if (s.sendLag) {
    lines.push(`send lag (generator's own delay, counted in the latencies): p50 ${f3(s.sendLag.p50)} p99 ${f3(s.sendLag.p99)} `
      + `p99.9 ${f3(s.sendLag.p999)} max ${f3(s.sendLag.max)} ms`);
  }
  if (s.perSecond.length) lines.push(`replies per second: ${s.perSecond.join(' ')}`);
  if (s.timedOut) lines.push(`WARNING: ${s.timedOut} requests got no reply before the drain timeout`);
  if (s.failure) lines.push(`FAILED: ${s.failure}`);
  return lines.join('\n');
}

export function median(xs: number[]): number {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

export interface CompareSummary {
  a: string;
  b: string;
  rounds: number;
  /** Median per metric for each server, and b / a. */
  metrics: { metric: string; a: number; b: number; ratio: number }[];
}

const METRICS: [string, (s: RunSummary) => number][] = [
  ['ops/s', (s) => s.opsPerSec],
  ['p50 ms', (s) => s.latency.p50],
  ['p90 ms', (s) => s.latency.p90],
  ['p99 ms', (s) => s.latency.p99],
  ['p99.9 ms', (s) => s.latency.p999],
  ['p99.99 ms', (s) => s.latency.p9999],
  ['max ms', (s) => s.latency.max],
  ['errors', (s) => s.errors],
];

export function compare(a: RunSummary[], b: RunSummary[]): CompareSummary {
  return {
    a: a[0]?.target ?? '?',
    b: b[0]?.target ?? '?',
    rounds: Math.min(a.length, b.length),
    metrics: METRICS.map(([metric, get]) => {
      const ma = median(a.map(get));
      const mb = median(b.map(get));
      return { metric, a: ma, b: mb, ratio: mb / ma };
    }),
  };
}

export function formatCompare(c: CompareSummary): string {
  return [
    `medians of ${c.rounds} interleaved rounds (A = ${c.a}, B = ${c.b}; ratio = B / A)`,
    table(['metric', 'A', 'B', 'B/A'], c.metrics.map((m) => [m.metric,
      m.metric === 'ops/s' || m.metric === 'errors' ? int(m.a) : f3(m.a),
      m.metric === 'ops/s' || m.metric === 'errors' ? int(m.b) : f3(m.b),
      Number.isFinite(m.ratio) ? m.ratio.toFixed(3) : '-'])),
  ].join('\n');
}
