// Plain SVG charts for loadtest/RESULTS.md, written as strings (no dependency, no
// browser at build time): grouped bars on a linear axis from zero (throughput, Shoal
// vs redis per workload) and lines with markers on a log axis (latency percentiles,
// p99 against offered rate). Every number in the picture comes from the spec; the
// output is self-contained XML (no external fonts, styles or scripts) so GitHub and a
// browser render it the same, and each bar and point carries `data-*` attributes with
// its value so tests can check that the geometry follows the data.

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';
/** Rough width of one character at 12 px (layout only; text never needs to fit exactly). */
const CHAR_W = 6.8;

/** Escapes text for an XML text node or a double-quoted attribute. */
export function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' }[c] ?? c));
}

const num = (x: number) => (Math.round(x * 100) / 100).toString();

/** 1234 -> "1.2k", 250000 -> "250k", 0.05 -> "0.05": axis labels that stay short. */
export function shortNumber(x: number): string {
  const a = Math.abs(x);
  const trim = (v: number, d: number) => v.toFixed(d).replace(/\.?0+$/, '');
  if (a >= 1e9) return `${trim(x / 1e9, 1)}G`;
  if (a >= 1e6) return `${trim(x / 1e6, 1)}M`;
  if (a >= 1e3) return `${trim(x / 1e3, 1)}k`;
  if (a >= 1 || a === 0) return trim(x, 1);
  return trim(x, Math.min(6, 1 - Math.floor(Math.log10(a))));
}

/** Ticks 0..top for a linear axis: about `count` steps of 1, 2, 2.5 or 5 x 10^k. */
export function linearTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const rough = max / count;
  const mag = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * mag >= rough) ?? 10) * mag;
  const ticks: number[] = [];
  for (let i = 0; i * step < max + step * 1e-9 || ticks.length < 2; i++) ticks.push(i * step);
  if ((ticks[ticks.length - 1] ?? 0) < max) ticks.push(ticks.length * step);
  return ticks;
}

/**
 * Decades covering [min, max] with a margin (a point or bound never sits on the frame),
 * at least one decade: the range of a log axis.
 */
export function logDomain(min: number, max: number): [number, number] {
  let lo = 10 ** Math.floor(Math.log10(min / 1.2));
  let hi = 10 ** Math.ceil(Math.log10(max * 1.2));
  if (hi <= lo) hi = lo * 10;
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) { lo = 0.1; hi = 10; }
  return [lo, hi];
}

function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${num(x)}" y="${num(y)}"${attrs ? ` ${attrs}` : ''}>${xmlEscape(s)}</text>`;
}

function document(width: number, height: number, title: string, body: string[]): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12" role="img">`,
    `<title>${xmlEscape(title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

function heading(title: string, subtitle: string | undefined, width: number): string[] {
  return [
    text(width / 2, 22, title, 'text-anchor="middle" font-size="15" font-weight="600" fill="#222"'),
    ...(subtitle ? [text(width / 2, 40, subtitle, 'text-anchor="middle" font-size="11" fill="#555"')] : []),
  ];
}

export interface Series {
  name: string;
  color: string;
  /** SVG stroke-dasharray for lines ('' = solid). */
  dash?: string;
  marker?: 'circle' | 'square' | 'diamond';
}

/** A legend box: one row per series, swatch + name, top-left corner at (x, y). */
function legend(series: Series[], x: number, y: number, kind: 'bar' | 'line'): string[] {
  const w = 34 + Math.max(...series.map((s) => s.name.length)) * CHAR_W;
  const out = [`<g class="legend"><rect x="${num(x)}" y="${num(y)}" width="${num(w)}" height="${series.length * 18 + 8}" fill="#ffffff" fill-opacity="0.85" stroke="#ccc"/>`];
  series.forEach((s, i) => {
    const cy = y + 13 + i * 18;
    if (kind === 'bar') out.push(`<rect x="${num(x + 8)}" y="${num(cy - 6)}" width="14" height="12" fill="${s.color}"/>`);
    else {
      out.push(`<line x1="${num(x + 6)}" y1="${num(cy)}" x2="${num(x + 26)}" y2="${num(cy)}" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
      out.push(marker(s, x + 16, cy, ''));
    }
    out.push(text(x + 30, cy + 4, s.name, 'fill="#222"'));
  });
  out.push('</g>');
  return out;
}

function marker(s: Series, x: number, y: number, data: string): string {
  const common = `fill="${s.color}" stroke="#ffffff" stroke-width="1"${data}`;
  switch (s.marker ?? 'circle') {
    case 'square': return `<rect class="point" x="${num(x - 4)}" y="${num(y - 4)}" width="8" height="8" ${common}/>`;
    case 'diamond': return `<path class="point" d="M${num(x)} ${num(y - 5)}L${num(x + 5)} ${num(y)}L${num(x)} ${num(y + 5)}L${num(x - 5)} ${num(y)}Z" ${common}/>`;
    default: return `<circle class="point" cx="${num(x)}" cy="${num(y)}" r="4" ${common}/>`;
  }
}

// ---------------------------------------------------------------- grouped bars

export interface BarGroup {
  /** Label under the group, one entry per line. */
  label: string[];
  /** One value per series (NaN: not measured, no bar). */
  values: number[];
  /** Printed above the group (e.g. the shoal/redis ratio). */
  note?: string;
  /** Groups with the same panel share a plot; panels are stacked, titled, on one y scale. */
  panel?: string;
}

export interface BarChartSpec {
  title: string;
  subtitle?: string;
  yLabel: string;
  series: Series[];
  groups: BarGroup[];
}

const BAR_W = 22;
const GROUP_GAP = 26;
const PLOT_H = 220;

/**
 * Grouped vertical bars, linear y axis from 0; the bar height of value v is v / top of
 * the axis. Groups are split into panels (e.g. one per target) stacked vertically, all
 * on the same scale, so a wide table stays readable at a page's width.
 */
export function barChart(spec: BarChartSpec): string {
  const n = spec.series.length;
  const panels: { name: string | undefined; groups: BarGroup[] }[] = [];
  for (const g of spec.groups) {
    const p = panels.find((x) => x.name === g.panel);
    if (p) p.groups.push(g); else panels.push({ name: g.panel, groups: [g] });
  }
  const groupW = n * BAR_W + GROUP_GAP;
  const labelW = Math.max(0, ...spec.groups.flatMap((g) => g.label.map((l) => l.length * CHAR_W))) + 12;
  const slot = Math.max(groupW, labelW);
  const perPanel = Math.max(1, ...panels.map((p) => p.groups.length));
  const left = 72, right = 20, top = spec.subtitle ? 58 : 44;
  const labelLines = Math.max(1, ...spec.groups.map((g) => g.label.length));
  const panelTitleH = panels.some((p) => p.name) ? 22 : 0;
  const panelH = panelTitleH + 24 + PLOT_H + 12 + labelLines * 14;
  const legendH = n * 18 + 8;
  const width = Math.max(520, left + right + perPanel * slot);
  const height = top + legendH + panels.length * panelH + 8;
  const plotW = width - left - right;
  const max = Math.max(0, ...spec.groups.flatMap((g) => g.values.filter(Number.isFinite)));
  const ticks = linearTicks(max);
  const yTop = ticks[ticks.length - 1] ?? 1;
  const body = heading(spec.title, spec.subtitle, width);
  body.push(...legend(spec.series, left, top, 'bar'));
  panels.forEach((panel, pi) => {
    const panelTop = top + legendH + pi * panelH;
    const plotTop = panelTop + panelTitleH + 24;
    const y = (v: number) => plotTop + PLOT_H - (v / yTop) * PLOT_H;
    body.push(`<g class="panel"${panel.name ? ` data-panel="${xmlEscape(panel.name)}"` : ''}>`);
    if (panel.name) body.push(text(left, panelTop + panelTitleH + 6, panel.name, 'font-size="13" font-weight="600" fill="#222"'));
    body.push('<g class="axis y">');
    for (const t of ticks) {
      body.push(`<line x1="${left}" y1="${num(y(t))}" x2="${num(left + plotW)}" y2="${num(y(t))}" stroke="${t === 0 ? '#444' : '#e3e3e3'}"/>`);
      body.push(text(left - 6, y(t) + 4, shortNumber(t), 'text-anchor="end" fill="#444"'));
    }
    body.push(text(16, plotTop + PLOT_H / 2, spec.yLabel, `text-anchor="middle" fill="#444" transform="rotate(-90 16 ${num(plotTop + PLOT_H / 2)})"`));
    body.push('</g>');
    const xStart = left + (plotW - panel.groups.length * slot) / 2;
    panel.groups.forEach((g, gi) => {
      const gx = xStart + gi * slot + (slot - n * BAR_W) / 2;
      const label = [...g.label, ...(g.panel ? [g.panel] : [])].join(' ');
      body.push(`<g class="group" data-label="${xmlEscape(label)}">`);
      g.values.forEach((v, si) => {
        const s = spec.series[si];
        if (!s || !Number.isFinite(v)) return;
        const h = Math.max(0, (v / yTop) * PLOT_H);
        body.push(`<rect class="bar" x="${num(gx + si * BAR_W)}" y="${num(plotTop + PLOT_H - h)}" width="${BAR_W - 2}" height="${num(h)}" fill="${s.color}" data-series="${xmlEscape(s.name)}" data-value="${v}"><title>${xmlEscape(`${s.name}, ${label}: ${Math.round(v * 100) / 100}`)}</title></rect>`);
      });
      const high = Math.max(0, ...g.values.filter(Number.isFinite));
      if (g.note) body.push(text(gx + (n * BAR_W) / 2, y(high) - 6, g.note, 'class="note" text-anchor="middle" font-weight="600" fill="#222"'));
      g.label.forEach((l, li) => body.push(text(gx + (n * BAR_W) / 2, plotTop + PLOT_H + 16 + li * 14, l, 'text-anchor="middle" fill="#333"')));
      body.push('</g>');
    });
    body.push('</g>');
  });
  return document(width, height, spec.title, body);
}

// ---------------------------------------------------------------- lines on a log axis

export interface LineSeries extends Series {
  /** x: a category index (categorical x axis) or a value (log x axis); y > 0. */
  points: { x: number; y: number }[];
}

export interface LineChartSpec {
  title: string;
  subtitle?: string;
  yLabel: string;
  xLabel: string;
  /** Categorical x (evenly spaced labels, point x = index) or a log x axis over the points' values. */
  x: { kind: 'category'; labels: string[] } | { kind: 'log' };
  series: LineSeries[];
  /** Horizontal reference lines (e.g. the 1 ms p99 bound). */
  thresholds?: { y: number; label: string }[];
}

/** Lines with markers on a log y axis (decades, with 2 and 5 gridlines when the range is short). */
export function lineChart(spec: LineChartSpec): string {
  const pts = spec.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y) && p.y > 0 && Number.isFinite(p.x));
  const ys = [...pts.map((p) => p.y), ...(spec.thresholds ?? []).map((t) => t.y)];
  const [yLo, yHi] = ys.length ? logDomain(Math.min(...ys), Math.max(...ys)) : [0.1, 10];
  const legendW = 40 + Math.max(0, ...spec.series.map((s) => s.name.length)) * CHAR_W;
  const left = 72, top = spec.subtitle ? 56 : 42, plotW = 520, plotH = 300, bottom = 48;
  const right = legendW + 24;
  const width = left + plotW + right, height = top + plotH + bottom;
  const ly = (v: number) => top + plotH - ((Math.log10(v) - Math.log10(yLo)) / (Math.log10(yHi) - Math.log10(yLo))) * plotH;

  let lx: (v: number) => number;
  const xTicks: { at: number; label: string }[] = [];
  if (spec.x.kind === 'category') {
    const n = spec.x.labels.length;
    lx = (i: number) => left + (n <= 1 ? plotW / 2 : 20 + (i / (n - 1)) * (plotW - 40));
    spec.x.labels.forEach((l, i) => xTicks.push({ at: i, label: l }));
  } else {
    const xs = pts.map((p) => p.x).filter((x) => x > 0);
    const [xLo, xHi] = xs.length ? logDomain(Math.min(...xs), Math.max(...xs)) : [1, 10];
    lx = (v: number) => left + ((Math.log10(v) - Math.log10(xLo)) / (Math.log10(xHi) - Math.log10(xLo))) * plotW;
    for (const t of logTicks(xLo, xHi)) xTicks.push({ at: t.v, label: t.label ? shortNumber(t.v) : '' });
  }

  const body = heading(spec.title, spec.subtitle, width);
  body.push('<g class="axis y">');
  for (const t of logTicks(yLo, yHi)) {
    body.push(`<line x1="${left}" y1="${num(ly(t.v))}" x2="${left + plotW}" y2="${num(ly(t.v))}" stroke="${t.major ? '#d6d6d6' : '#efefef'}"/>`);
    if (t.label) body.push(text(left - 6, ly(t.v) + 4, shortNumber(t.v), 'text-anchor="end" fill="#444"'));
  }
  body.push(text(16, top + plotH / 2, spec.yLabel, `text-anchor="middle" fill="#444" transform="rotate(-90 16 ${num(top + plotH / 2)})"`));
  body.push('</g>', '<g class="axis x">');
  body.push(`<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="#444"/>`);
  for (const t of xTicks) {
    body.push(`<line x1="${num(lx(t.at))}" y1="${top + plotH}" x2="${num(lx(t.at))}" y2="${top + plotH + 4}" stroke="#444"/>`);
    if (t.label) body.push(text(lx(t.at), top + plotH + 18, t.label, 'text-anchor="middle" fill="#333"'));
  }
  body.push(text(left + plotW / 2, top + plotH + 38, spec.xLabel, 'text-anchor="middle" fill="#444"'));
  body.push('</g>');
  for (const th of spec.thresholds ?? []) {
    body.push(`<g class="threshold"><line x1="${left}" y1="${num(ly(th.y))}" x2="${left + plotW}" y2="${num(ly(th.y))}" stroke="#888" stroke-dasharray="6 4"/>`);
    body.push(`${text(left + 4, ly(th.y) - 5, th.label, 'font-size="11" fill="#555"')}</g>`);
  }
  for (const s of spec.series) {
    const ok = s.points.filter((p) => Number.isFinite(p.y) && p.y > 0 && Number.isFinite(p.x));
    body.push(`<g class="series" data-series="${xmlEscape(s.name)}">`);
    if (ok.length > 1) {
      const d = ok.map((p, i) => `${i ? 'L' : 'M'}${num(lx(p.x))} ${num(ly(p.y))}`).join('');
      body.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    }
    for (const p of ok) {
      const data = ` data-series="${xmlEscape(s.name)}" data-x="${p.x}" data-y="${p.y}"`;
      body.push(marker(s, lx(p.x), ly(p.y), data).replace('/>', `><title>${xmlEscape(`${s.name}: ${p.y}`)}</title></${markerTag(s)}>`));
    }
    body.push('</g>');
  }
  body.push(...legend(spec.series, left + plotW + 14, top, 'line'));
  return document(width, height, spec.title, body);
}

const markerTag = (s: Series) => (s.marker === 'square' ? 'rect' : s.marker === 'diamond' ? 'path' : 'circle');

/** Gridlines of a log axis over whole decades: 1, 2, 5 x 10^k when few decades, else decades only. */
function logTicks(lo: number, hi: number): { v: number; major: boolean; label: boolean }[] {
  const decades = Math.round(Math.log10(hi / lo));
  const out: { v: number; major: boolean; label: boolean }[] = [];
  for (let k = 0; k <= decades; k++) {
    const base = lo * 10 ** k;
    out.push({ v: base, major: true, label: true });
    if (k < decades) {
      for (const m of decades <= 2 ? [2, 5] : decades <= 4 ? [3] : []) out.push({ v: base * m, major: false, label: decades <= 2 });
    }
  }
  return out;
}
