// Two small SVG charts for the dashboard, redrawn from scratch on every sample (a few
// hundred points at most, once a second, so there is nothing to gain from diffing):
//
//   lineChart(el, opts)  time series over a fixed window ending now; gaps where a value is null
//   barChart(el, bars)   horizontal bars of a value against a limit (memory vs maxmemory)
//
// No dependencies; text goes in through textContent only.

const SVG = 'http://www.w3.org/2000/svg';

function svgEl(name, attrs, parent) {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (parent) parent.appendChild(el);
  return el;
}

/** A "nice" axis maximum at or above v: 1, 2, 2.5, 5 × 10^k. */
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * Draws series over the last `windowSec` seconds ending at `now` (ms).
 *   opts.series: [{ name, color, points: [[timeMs, value | null], ...] }]
 *   opts.format: value → axis/legend text
 *   opts.max:    fixed y maximum (e.g. 1 for a ratio); otherwise from the data,
 *                at least opts.minMax (so an idle chart's ticks stay readable)
 *   opts.legend: show the series' latest values under the chart (default true)
 */
export function lineChart(container, opts) {
  const width = 560;
  const height = 200;
  const m = { top: 10, right: 12, bottom: 22, left: 62 };
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const windowMs = (opts.windowSec ?? 120) * 1000;
  const now = opts.now;
  const from = now - windowMs;

  let top = 0;
  for (const s of opts.series) for (const [t, v] of s.points) if (t >= from && v !== null && v > top) top = v;
  const yMax = opts.max ?? niceMax(Math.max(top, opts.minMax ?? 0));
  const x = (t) => m.left + ((t - from) / windowMs) * w;
  const y = (v) => m.top + h - (Math.min(v, yMax) / yMax) * h;

  const svg = svgEl('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img' });
  if (opts.title) svgEl('title', {}, svg).textContent = opts.title;
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    svgEl('line', { x1: m.left, x2: m.left + w, y1: y(v), y2: y(v), class: i === 0 ? 'axis' : 'grid' }, svg);
    const label = svgEl('text', { x: m.left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, svg);
    label.textContent = opts.format(v);
  }
  for (let s = 0; s <= windowMs / 1000; s += 30) {
    const t = now - s * 1000;
    const label = svgEl('text', { x: x(t), y: height - 6, 'text-anchor': s === 0 ? 'end' : 'middle', class: 'tick' }, svg);
    label.textContent = s === 0 ? 'now' : `-${s}s`;
  }
  for (const s of opts.series) {
    let d = '';
    let pen = false;
    for (const [t, v] of s.points) {
      if (t < from) continue;
      if (v === null || v === undefined) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    }
    if (d !== '') svgEl('path', { d, fill: 'none', stroke: s.color, 'stroke-width': 1.8, 'stroke-linejoin': 'round' }, svg);
  }

  container.replaceChildren(svg);
  if (opts.legend !== false) {
    const legend = document.createElement('ul');
    legend.className = 'legend';
    for (const s of opts.series) {
      const last = s.points.length > 0 ? s.points[s.points.length - 1][1] : null;
      const li = document.createElement('li');
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = s.color;
      const name = document.createElement('span');
      name.textContent = s.name;
      const value = document.createElement('span');
      value.className = 'value';
      value.textContent = last === null ? '–' : opts.format(last);
      li.append(swatch, name, value);
      legend.appendChild(li);
    }
    container.appendChild(legend);
  }
}

/**
 * One horizontal bar per item: `value` against `limit` (the bar's full width); an item
 * without a limit is drawn against the largest value shown and says "no limit".
 *   bars: [{ label, value: number | null, limit: number | null, text }]
 */
export function barChart(container, bars) {
  const rowH = 30;
  const width = 560;
  const labelW = 120;
  const textW = 200;
  const w = width - labelW - textW;
  const height = Math.max(1, bars.length) * rowH;
  const scale = Math.max(1, ...bars.map((b) => (b.limit ? 0 : b.value ?? 0)));
  const svg = svgEl('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart bars', role: 'img' });
  bars.forEach((b, i) => {
    const y0 = i * rowH + 5;
    const label = svgEl('text', { x: 0, y: y0 + 15, class: 'bar-label' }, svg);
    label.textContent = b.label;
    svgEl('rect', { x: labelW, y: y0, width: w, height: rowH - 10, class: 'bar-track' }, svg);
    const full = b.limit ? b.limit : scale;
    const frac = b.value === null ? 0 : Math.min(1, b.value / full);
    const cls = b.limit && frac >= 0.9 ? 'bar-fill high' : 'bar-fill';
    svgEl('rect', { x: labelW, y: y0, width: Math.max(frac > 0 ? 1 : 0, frac * w), height: rowH - 10, class: cls }, svg);
    const text = svgEl('text', { x: labelW + w + 8, y: y0 + 15, class: 'bar-text' }, svg);
    text.textContent = b.text;
  });
  container.replaceChildren(svg);
}
