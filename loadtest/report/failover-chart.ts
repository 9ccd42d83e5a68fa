// The failover section's chart (charts/failover.svg), drawn from its summary table
// (`system`, `p50 ms`, `p90 ms`, `max ms`): one line per system over p50 / p90 / max of
// the kill -> first write times, log y axis, with the bounds (p50 < 1 s, max
// < 2 s) as dashed lines. Shoal rows are blue (one dash style per consistency level),
// Redis Cluster red, as in the other charts.

import { lineChart, type LineSeries } from './svg.js';
import { cellNumber, column, type MdTable } from './tables.js';

const SHOAL_COLOR = '#1f6fb4';
const REDIS_COLOR = '#c0392b';
const DASHES = ['', '7 4', '2 3', '10 3 2 3'];

export function failoverChart(tables: MdTable[], title: string): { svg: string; table: MdTable } | undefined {
  const t = tables.find((x) => column(x, /^system$/) >= 0 && column(x, /^p50 ms$/) >= 0 && column(x, /^max ms$/) >= 0);
  if (!t || t.rows.length === 0) return undefined;
  const labels = ['p50', 'p90', 'max'];
  const cols = [column(t, /^p50 ms$/), column(t, /^p90 ms$/), column(t, /^max ms$/)];
  const si = column(t, /^system$/), ci = column(t, /^consistency$/);
  let shoalIndex = 0;
  const series: LineSeries[] = t.rows.map((r) => {
    const system = r[si] ?? '?';
    const redis = /redis/i.test(system);
    return {
      name: ci >= 0 && !redis ? `${system}` : system,
      color: redis ? REDIS_COLOR : SHOAL_COLOR,
      marker: redis ? 'square' : 'circle',
      dash: redis ? '' : DASHES[shoalIndex++ % DASHES.length] ?? '',
      points: cols.map((c, i) => ({ x: i, y: c >= 0 ? cellNumber(r[c]) : NaN })),
    };
  });
  return {
    table: t,
    svg: lineChart({
      title: title.replace(/\s*\(.*\)$/, ''),
      subtitle: 'kill -9 of a primary -> first acknowledged write to its slots, ms (log scale), over all kills',
      yLabel: 'failover time (ms)',
      xLabel: 'percentile of the kills',
      x: { kind: 'category', labels },
      series,
      thresholds: [{ y: 1000, label: 'p50 goal < 1 s' }, { y: 2000, label: 'max goal < 2 s' }],
    }),
  };
}
