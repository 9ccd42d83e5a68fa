// Which chart each RESULTS.md section gets, drawn from the section's own tables:
//   throughput, datatypes  grouped bars, Shoal vs redis ops/s per workload, ratio on top
//                          (charts/<scenario>.svg)
//   persistence            the same bars for its AOF table (SET per appendfsync mode)
//   replication            the same bars: SET with 0/1 replica, Shoal vs redis (+ replica)
//   failover               failover time p50/p90/max per system (report/failover-chart.ts)
//   latency, maxrate       latency percentiles (p50 .. max) per server and offered rate,
//                          log axis (charts/<scenario>.svg), and where the section has a
//                          rate search table, p99 against offered rate with the p99 bound
//                          (charts/<scenario>-ladder.svg)
// attachCharts writes the SVG files next to RESULTS.md and puts a `![..](charts/..)`
// link under the table each chart comes from, replacing the links of an earlier run, so
// running it twice gives the same text.

import fs from 'node:fs';
import path from 'node:path';
import { barChart, lineChart, type LineSeries } from './svg.js';
import { cellNumber, column, parseTables, type MdTable } from './tables.js';
import { failoverChart } from './failover-chart.js';

export interface Chart {
  /** File name under charts/ (e.g. throughput.svg). */
  file: string;
  /** Alt text of the markdown image link. */
  alt: string;
  svg: string;
  /** The table it is drawn from (the link goes under it). */
  table: MdTable;
}

const SHOAL_COLOR = '#1f6fb4';
const REDIS_COLOR = '#c0392b';
const DASHES = ['', '7 4', '2 3', '10 3 2 3'];

const isRedis = (name: string) => /redis/i.test(name) && !/shoal/i.test(name);
const serverStyle = (name: string) => (isRedis(name)
  ? { color: REDIS_COLOR, marker: 'square' as const }
  : { color: SHOAL_COLOR, marker: 'circle' as const });

/** The charts for one section (none when its tables are not of a kind drawn here). */
export function chartsFor(scenario: string, markdown: string): Chart[] {
  const tables = parseTables(markdown);
  const out: Chart[] = [];
  const title = /^## (.+)$/m.exec(markdown)?.[1]?.trim() ?? scenario;
  if (scenario === 'throughput' || scenario === 'datatypes' || scenario === 'persistence' || scenario === 'replication') {
    const t = tables.find((x) => column(x, /^shoal_rps$/) >= 0 && column(x, /^redis_rps$/) >= 0);
    if (t) out.push({ file: `${scenario}.svg`, alt: `${title}: Shoal vs redis ops/s per workload`, svg: throughputChart(t, title), table: t });
  }
  const fo = scenario === 'failover' ? failoverChart(tables, title) : undefined; // report/failover-chart.ts
  if (fo) out.push({ file: 'failover.svg', alt: `${title}: failover time percentiles, Shoal vs Redis Cluster`, ...fo });
  if (scenario === 'latency' || scenario === 'maxrate') {
    const pct = percentileChart(tables, title);
    if (pct) out.push({ file: `${scenario}.svg`, alt: `${title}: latency percentiles, Shoal vs redis`, ...pct });
    const ladder = ladderChart(tables, title);
    if (ladder) out.push({ file: `${scenario}-ladder.svg`, alt: `${title}: p99 against offered rate`, ...ladder });
  }
  return out;
}

function throughputChart(t: MdTable, title: string): string {
  const [ti, wi, si, ri, qi] = [column(t, /^target$/), column(t, /^workload$/), column(t, /^shoal_rps$/), column(t, /^redis_rps$/), column(t, /^ratio$/)];
  const targets = new Set(t.rows.map((r) => r[ti] ?? ''));
  const groups = t.rows.map((r) => {
    const shoal = cellNumber(r[si]), redis = cellNumber(r[ri]);
    const ratio = qi >= 0 && Number.isFinite(cellNumber(r[qi])) ? cellNumber(r[qi]) : shoal / redis;
    return {
      // "LRANGE_100 P=16" on two lines keeps the groups narrow
      label: (r[wi] ?? '?').split(/ (?=P=)/),
      ...(ti >= 0 && targets.size > 1 ? { panel: r[ti] ?? '' } : {}),
      values: [shoal, redis],
      note: Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : 'n/a',
    };
  });
  const only = targets.size === 1 ? ` (${[...targets][0]})` : '';
  return barChart({
    title: `${title.replace(/\s*\(.*\)$/, '')}${only}`,
    subtitle: 'median requests/s; the number above each pair is Shoal / redis',
    yLabel: 'requests/s',
    series: [{ name: 'Shoal', color: SHOAL_COLOR }, { name: 'redis-server', color: REDIS_COLOR }],
    groups,
  });
}

const PCT_LABELS: [RegExp, string][] = [
  [/^p50\b/, 'p50'], [/^p90\b/, 'p90'], [/^p99\b(?!\.)/, 'p99'], [/^p99\.9\b(?!9)/, 'p99.9'], [/^p99\.99\b/, 'p99.99'], [/^max\b/, 'max'],
];

/**
 * Percentile curves from a table with a `server` column, an offered-rate column and
 * percentile columns (p50 ms .. max ms), or from the older latency layout (rows
 * "p50 at N/s ...", one column per server).
 */
function percentileChart(tables: MdTable[], title: string): { svg: string; table: MdTable } | undefined {
  type Curve = { server: string; rate: string; values: Map<string, number> };
  let curves: Curve[] = [];
  let source: MdTable | undefined;
  const wide = tables.find((t) => column(t, /^server$/) >= 0 && column(t, /^p50\b/) >= 0 && column(t, /^p99\.9\b/) >= 0);
  if (wide) {
    const si = column(wide, /^server$/), ri = column(wide, /rate/i);
    curves = wide.rows.map((r) => {
      const values = new Map<string, number>();
      wide.head.forEach((h, i) => {
        const label = PCT_LABELS.find(([re]) => re.test(h))?.[1];
        if (label) values.set(label, cellNumber(r[i]));
      });
      return { server: r[si] ?? '?', rate: ri >= 0 ? (r[ri] ?? '') : '', values };
    });
    source = wide;
  } else {
    const old = tables.find((t) => t.rows.some((r) => /^p50 at \d+\/s/.test(r[0] ?? '')));
    if (old) {
      const servers = old.head.slice(1).filter((h) => !/\//.test(h));
      const byKey = new Map<string, Curve>();
      for (const r of old.rows) {
        const m = /^(p50|p90|p99|p99\.9|p99\.99|max) at (\d+)\/s/.exec(r[0] ?? '');
        if (!m) continue;
        servers.forEach((s, i) => {
          const key = `${s}@${m[2]}`;
          const c = byKey.get(key) ?? { server: s, rate: `${m[2]}/s`, values: new Map<string, number>() };
          c.values.set(m[1]!, cellNumber(r[i + 1]));
          byKey.set(key, c);
        });
      }
      curves = [...byKey.values()];
      source = old;
    }
  }
  if (!source || curves.length === 0) return undefined;
  const labels = PCT_LABELS.map(([, l]) => l).filter((l) => curves.some((c) => Number.isFinite(c.values.get(l) ?? NaN)));
  const rates = [...new Set(curves.map((c) => c.rate))];
  const series: LineSeries[] = curves.map((c) => ({
    name: `${c.server}${c.rate ? ` @ ${/\/s$/.test(c.rate) ? c.rate : `${c.rate}/s`}` : ''}`,
    ...serverStyle(c.server),
    dash: DASHES[rates.indexOf(c.rate) % DASHES.length] ?? '',
    points: labels.map((l, i) => ({ x: i, y: c.values.get(l) ?? NaN })),
  }));
  return {
    table: source,
    svg: lineChart({
      title: title.replace(/\s*\(.*\)$/, ''),
      subtitle: 'latency percentiles in ms (log scale), open loop, from the intended send time',
      yLabel: 'latency (ms)',
      xLabel: 'percentile',
      x: { kind: 'category', labels },
      series,
    }),
  };
}

/** p99 against offered rate from a search table (server, rate (ops/s), median p99 ms, `p99 < N ms`). */
function ladderChart(tables: MdTable[], title: string): { svg: string; table: MdTable } | undefined {
  const t = tables.find((x) => column(x, /^server$/) >= 0 && column(x, /^rate \(ops\/s\)$/) >= 0 && column(x, /^median p99 ms$/) >= 0);
  if (!t) return undefined;
  const [si, ri, pi] = [column(t, /^server$/), column(t, /^rate \(ops\/s\)$/), column(t, /^median p99 ms$/)];
  const bound = Number(/p99 < ([\d.]+) ms/.exec(t.head.join(' '))?.[1] ?? NaN);
  const byServer = new Map<string, { x: number; y: number }[]>();
  for (const r of t.rows) {
    const s = r[si] ?? '?';
    const list = byServer.get(s) ?? [];
    list.push({ x: cellNumber(r[ri]), y: cellNumber(r[pi]) });
    byServer.set(s, list);
  }
  const series: LineSeries[] = [...byServer].map(([name, pts]) => ({
    name, ...serverStyle(name), points: pts.filter((p) => p.x > 0).sort((a, b) => a.x - b.x),
  }));
  return {
    table: t,
    svg: lineChart({
      title: `${title.replace(/\s*\(.*\)$/, '')}: p99 against offered rate`,
      subtitle: 'median p99 of the runs at each rate tried (log scales); below the dashed line = pass',
      yLabel: 'p99 latency (ms)',
      xLabel: 'offered rate (requests/s)',
      x: { kind: 'log' },
      series,
      ...(Number.isFinite(bound) ? { thresholds: [{ y: bound, label: `p99 < ${bound} ms` }] } : {}),
    }),
  };
}

const CHART_LINK = /^!\[[^\]\n]*\]\(charts\/[\w.-]+\.svg\)\s*$/;

/**
 * Draws `scenario`'s charts from `markdown`, writes them into `chartsDir`, and returns
 * the markdown with one image link under each source table (old chart links removed).
 */
export function attachCharts(scenario: string, markdown: string, chartsDir: string): { markdown: string; files: string[] } {
  const text = markdown.split('\n').filter((l) => !CHART_LINK.test(l)).join('\n').replace(/\n{3,}/g, '\n\n');
  const charts = chartsFor(scenario, text);
  if (charts.length === 0) return { markdown: text, files: [] };
  fs.mkdirSync(chartsDir, { recursive: true });
  const lines = text.split('\n');
  // Insert bottom-up so earlier line numbers stay valid.
  const inserts = charts.map((c) => ({ at: anchorLine(lines, c.table), link: `![${c.alt.replace(/[[\]]/g, '')}](charts/${c.file})` }))
    .sort((a, b) => b.at - a.at);
  for (const ins of inserts) lines.splice(ins.at + 1, 0, '', ins.link, '');
  const files: string[] = [];
  for (const c of charts) {
    const f = path.join(chartsDir, c.file);
    fs.writeFileSync(f, c.svg);
    files.push(f);
  }
  return { markdown: lines.join('\n').replace(/\n{3,}/g, '\n\n'), files };
}

/** The line after which a chart link goes: the table's last row, or the `</details>` closing it. */
function anchorLine(lines: string[], t: MdTable): number {
  let open = false;
  for (let i = t.firstLine - 1; i >= 0; i--) {
    if (/^<\/details>/.test(lines[i]!.trim())) break;
    if (/^<details/.test(lines[i]!.trim())) { open = true; break; }
  }
  if (!open) return t.lastLine;
  for (let i = t.lastLine + 1; i < lines.length; i++) if (/^<\/details>/.test(lines[i]!.trim())) return i;
  return t.lastLine;
}

/**
 * Deletes the charts in `chartsDir` that no section links any more (e.g. a ladder chart
 * of an older latency layout); only files named like ours (`name.svg`, `name-kind.svg`).
 */
export function pruneCharts(chartsDir: string, keep: readonly string[]): string[] {
  const kept = new Set(keep.map((f) => path.resolve(f)));
  let names: string[] = [];
  try { names = fs.readdirSync(chartsDir); } catch { return []; }
  const removed: string[] = [];
  for (const n of names) {
    const f = path.resolve(chartsDir, n);
    if (!/^[a-z]+(-[a-z]+)?\.svg$/.test(n) || kept.has(f)) continue;
    fs.rmSync(f, { force: true });
    removed.push(f);
  }
  return removed;
}
