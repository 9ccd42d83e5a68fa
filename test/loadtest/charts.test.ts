/**
 * The SVG charts of loadtest/RESULTS.md (loadtest/report/): the SVG is well-formed XML
 * (a strict checker here, and headless Chromium's XML parser when /usr/bin/chromium
 * exists), bars and points are placed by their values (linear bars from zero, log
 * axes), chart links go under their tables and a second pass changes nothing, the
 * repository's RESULTS.md redraws from its tables, and `bench.js` keeps the links of
 * sections it carries over from an earlier file. Also the maxrate scenario's rate search
 * (ladder, way down, bisection) on simulated servers, since its figure feeds a chart.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { chromium } from 'playwright-core';
import { barChart, lineChart, linearTicks, logDomain, shortNumber } from '../../loadtest/report/svg.js';
import { attachCharts, chartsFor } from '../../loadtest/report/charts.js';
import { cellNumber, parseTables } from '../../loadtest/report/tables.js';
import { renderResults } from '../../loadtest/report/render.js';
import { RateSearch } from '../../loadtest/macro/rate-search.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CHROMIUM = '/usr/bin/chromium';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-charts-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

/**
 * Strict well-formedness (the subset SVG files use): one root element, every tag
 * closed in order, attributes quoted and unique, no raw `<` or bare `&` in text or
 * attribute values. Returns the first problem, or undefined.
 */
function xmlProblem(xml: string): string | undefined {
  let s = xml.replace(/^<\?xml [^?]*\?>\s*/, '');
  const stack: string[] = [];
  let roots = 0;
  const badText = (x: string) => /<|&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);)/i.test(x);
  while (s.length) {
    const lt = s.indexOf('<');
    const textPart = lt < 0 ? s : s.slice(0, lt);
    if (badText(textPart)) return `bad character data: ${textPart.slice(0, 60)}`;
    if (!stack.length && textPart.trim()) return `text outside the root: ${textPart.slice(0, 40)}`;
    if (lt < 0) break;
    s = s.slice(lt);
    if (s.startsWith('<!--')) {
      const end = s.indexOf('-->');
      if (end < 0) return 'unterminated comment';
      s = s.slice(end + 3);
      continue;
    }
    const close = /^<\/([A-Za-z_][\w.-]*)\s*>/.exec(s);
    if (close) {
      if (stack.pop() !== close[1]) return `</${close[1]}> does not close the open element`;
      s = s.slice(close[0].length);
      continue;
    }
    const open = /^<([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/.exec(s);
    if (!open) return `malformed tag: ${s.slice(0, 60)}`;
    const names = [...(open[2] ?? '').matchAll(/([A-Za-z_][\w.:-]*)\s*=\s*("[^"]*"|'[^']*')/g)];
    const seen = new Set<string>();
    for (const [, n, v] of names) {
      if (seen.has(n!)) return `duplicate attribute ${n} in <${open[1]}>`;
      seen.add(n!);
      if (badText(v!.slice(1, -1))) return `bad attribute value ${n}=${v}`;
    }
    if (!stack.length && roots++) return 'more than one root element';
    if (!open[3]) stack.push(open[1]!);
    s = s.slice(open[0].length);
  }
  return stack.length ? `unclosed <${stack.join('> <')}>` : roots === 1 ? undefined : 'no root element';
}

const attr = (el: string, name: string) => Number(new RegExp(`\\s${name}="([^"]*)"`).exec(el)?.[1] ?? NaN);
const elements = (svg: string, cls: string) => [...svg.matchAll(new RegExp(`<[a-z]+ class="${cls}"[^>]*>`, 'g'))].map((m) => m[0]);

t.test('the checker itself rejects broken XML', async (t) => {
  t.equal(xmlProblem('<svg><g></g></svg>'), undefined);
  t.match(xmlProblem('<svg><g></svg>'), /does not close/);
  t.match(xmlProblem('<svg><text>a < b</text></svg>'), /bad character data|malformed/);
  t.match(xmlProblem('<svg><text>R&D</text></svg>'), /bad character data/);
  t.match(xmlProblem('<svg a="1" a="2"/>'), /duplicate attribute/);
  t.match(xmlProblem('<svg x=1/>'), /malformed/);
  t.match(xmlProblem('<svg/><svg/>'), /more than one root/);
});

t.test('axis helpers', async (t) => {
  t.same(linearTicks(620_000), [0, 200_000, 400_000, 600_000, 800_000]);
  t.same(linearTicks(48), [0, 10, 20, 30, 40, 50]);
  t.ok(linearTicks(1).at(-1)! >= 1);
  t.same(logDomain(0.127, 119.7), [0.1, 1000]);
  t.same(logDomain(1, 1), [0.1, 10], 'a lone value, and a bound on a decade, get a margin');
  t.equal(shortNumber(250_000), '250k');
  t.equal(shortNumber(1_500_000), '1.5M');
  t.equal(shortNumber(0.05), '0.05');
  t.equal(shortNumber(1000), '1k');
});

t.test('bar chart: valid XML, bar heights proportional to the values, text escaped', async (t) => {
  const values = [[48_333, 47_346], [249_431, 616_017], [0, 10], [NaN, 5000]];
  const svg = barChart({
    title: 'Throughput <P=1> & "16"', yLabel: 'requests/s',
    series: [{ name: 'Shoal', color: '#1f6fb4' }, { name: 'redis & co', color: '#c0392b' }],
    groups: values.map((v, i) => ({ label: [`W${i}`, 'proxy'], values: v, note: `${i}x` })),
  });
  t.equal(xmlProblem(svg), undefined, 'well-formed');
  t.match(svg, /Throughput &lt;P=1&gt; &amp; &quot;16&quot;/);
  t.match(svg, /data-series="redis &amp; co"/);
  const bars = elements(svg, 'bar');
  t.equal(bars.length, 7, 'one bar per finite value (NaN: none)');
  // heights are written with 2 decimals: proportional to within 0.005 px
  const top = bars.reduce((a, b) => (attr(b, 'data-value') > attr(a, 'data-value') ? b : a));
  const k = attr(top, 'height') / attr(top, 'data-value');
  for (const b of bars) t.ok(Math.abs(attr(b, 'height') - attr(b, 'data-value') * k) <= 0.01, `height ${attr(b, 'height')} for ${attr(b, 'data-value')}`);
  const bottoms = bars.map((b) => attr(b, 'y') + attr(b, 'height'));
  t.ok(bottoms.every((b) => Math.abs(b - bottoms[0]!) < 0.02), 'every bar stands on the same baseline');
  const tallest = bars.reduce((a, b) => (attr(b, 'height') > attr(a, 'height') ? b : a));
  t.equal(attr(tallest, 'data-value'), 616_017);
  t.ok(attr(tallest, 'height') > 150, 'the largest value fills most of the plot (220 px)');
  t.equal(svg.match(/class="note"/g)?.length, 4, 'a note above each group');
});

t.test('line chart: log y axis, categorical and log x, threshold', async (t) => {
  const svg = lineChart({
    title: 'Latency', yLabel: 'ms', xLabel: 'percentile', x: { kind: 'category', labels: ['p50', 'p99', 'p99.9'] },
    series: [{ name: 'Shoal', color: '#1f6fb4', points: [{ x: 0, y: 0.1 }, { x: 1, y: 1 }, { x: 2, y: 10 }] },
      { name: 'redis', color: '#c0392b', marker: 'square', dash: '6 3', points: [{ x: 0, y: 0.2 }, { x: 1, y: NaN }, { x: 2, y: 3 }] }],
    thresholds: [{ y: 1, label: 'p99 < 1 ms' }],
  });
  t.equal(xmlProblem(svg), undefined, 'well-formed');
  const pts = elements(svg, 'point').filter((p) => /data-y/.test(p));
  t.equal(pts.length, 5, 'a NaN point is left out');
  const cy = (p: string) => attr(p, 'cy') || attr(p, 'y') + 4;
  const shoal = pts.filter((p) => /data-series="Shoal"/.test(p)).map(cy);
  t.ok(Math.abs((shoal[0]! - shoal[1]!) - (shoal[1]! - shoal[2]!)) < 0.05, `one decade = same distance (${shoal.join(', ')})`);
  t.ok(shoal[0]! > shoal[2]!, 'larger latency is higher up');
  const xs = pts.filter((p) => /data-series="Shoal"/.test(p)).map((p) => attr(p, 'cx'));
  t.ok(Math.abs((xs[1]! - xs[0]!) - (xs[2]! - xs[1]!)) < 0.05, 'categories evenly spaced');
  const th = /<g class="threshold"><line [^>]*y1="([\d.]+)"/.exec(svg);
  t.ok(th && Math.abs(Number(th[1]) - shoal[1]!) < 0.05, 'the 1 ms line is at the height of the 1 ms point');

  const ladder = lineChart({
    title: 'ladder', yLabel: 'p99', xLabel: 'rate', x: { kind: 'log' },
    series: [{ name: 'a', color: '#000', points: [{ x: 1000, y: 0.5 }, { x: 10_000, y: 0.7 }, { x: 100_000, y: 30 }] }],
  });
  t.equal(xmlProblem(ladder), undefined);
  const lx = elements(ladder, 'point').filter((p) => /data-x/.test(p)).map((p) => attr(p, 'cx'));
  t.ok(Math.abs((lx[1]! - lx[0]!) - (lx[2]! - lx[1]!)) < 0.05, 'log x: 1k, 10k, 100k evenly spaced');
});

const SECTION = `## Throughput (requests/s, medians)

Method: something.

| target | workload | shoal_rps | redis_rps | ratio | rounds |
| --- | --- | ---: | ---: | ---: | ---: |
| proxy | SET P=1 | 25802 | 50023 | 0.516 | 0.48-0.74 |
| proxy | GET P=16 | 244882 | 644630 | 0.380 | 0.34-0.46 |
- \`ratio\` = shoal_rps / redis_rps

## Targets (from the issue)

| target | pipeline | goal |
| --- | --- | ---: |
| proxy | -P 1 | >= 0.5x redis |
`;

t.test('tables: cells and numbers', async (t) => {
  const tabs = parseTables(SECTION);
  t.equal(tabs.length, 2);
  t.same(tabs[0]!.head, ['target', 'workload', 'shoal_rps', 'redis_rps', 'ratio', 'rounds']);
  t.equal(tabs[0]!.rows.length, 2);
  t.equal(tabs[0]!.lastLine, 7);
  t.equal(cellNumber('25802'), 25802);
  t.equal(cellNumber('0.52x'), 0.52);
  t.equal(cellNumber('1,234'), 1234);
  t.ok(Number.isNaN(cellNumber('n/a')));
  t.ok(Number.isNaN(cellNumber('< 4735 (no tested rate passed)')));
  t.ok(Number.isNaN(cellNumber('0.48-0.74')));
});

t.test('attachCharts: link under the table, file written, idempotent', async (t) => {
  const dir = path.join(tmp, 'a', 'charts');
  const first = attachCharts('throughput', SECTION, dir);
  t.same(first.files, [path.join(dir, 'throughput.svg')]);
  const svg = fs.readFileSync(first.files[0]!, 'utf8');
  t.equal(xmlProblem(svg), undefined);
  t.same(elements(svg, 'bar').map((b) => attr(b, 'data-value')), [25802, 50023, 244882, 644630]);
  t.match(svg, />0\.52x</);
  const lines = first.markdown.split('\n');
  const link = lines.findIndex((l) => l.startsWith('![') && l.endsWith('(charts/throughput.svg)'));
  t.equal(link, 9, 'right under the table (after a blank line)');
  t.equal(lines[link + 1], '', 'a blank line before the text that follows');
  t.equal(attachCharts('throughput', first.markdown, dir).markdown, first.markdown, 'a second pass changes nothing');
  t.same(attachCharts('memory', SECTION, dir).files, [], 'no chart for a scenario not drawn');
  t.same(chartsFor('datatypes', SECTION).map((c) => c.file), ['datatypes.svg']);
});

t.test('maxrate-style section: percentile chart and ladder chart (ladder link after </details>)', async (t) => {
  const md = `## Max rate with p99 < 1 ms (open loop)

| server | offered rate | achieved ops/s | p50 ms | p90 ms | p99 ms | p99.9 ms | p99.99 ms | max ms | send lag p99 ms |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| Shoal (proxy) | 4000/s | 3999 | 0.200 | 0.400 | 0.900 | 2.000 | 5.000 | 9.000 | 0.100 |
| redis | 4000/s | 4000 | 0.100 | 0.150 | 0.300 | 0.800 | 1.500 | 2.000 | 0.050 |

<details><summary>Probes</summary>

| server | probe | phase | rate (ops/s) | median p99 ms | p99.9 ms | send lag p99 ms | p99 < 1 ms |
| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |
| Shoal (proxy) | 1 | up | 1000 | 0.500 | 1.000 | 0.100 | yes |
| Shoal (proxy) | 2 | up | 2000 | 1.500 | 3.000 | 0.100 | no |
| redis | 1 | up | 1000 | 0.200 | 0.400 | 0.100 | yes |

</details>

After.
`;
  const dir = path.join(tmp, 'm', 'charts');
  const r = attachCharts('maxrate', md, dir);
  t.same(r.files.map((f) => path.basename(f)), ['maxrate.svg', 'maxrate-ladder.svg']);
  const pct = fs.readFileSync(path.join(dir, 'maxrate.svg'), 'utf8');
  t.equal(xmlProblem(pct), undefined);
  const pts = elements(pct, 'point').filter((p) => /data-y/.test(p));
  t.equal(pts.length, 12, 'six percentiles x two servers');
  t.match(pct, /Shoal \(proxy\) @ 4000\/s/);
  const ladder = fs.readFileSync(path.join(dir, 'maxrate-ladder.svg'), 'utf8');
  t.equal(xmlProblem(ladder), undefined);
  t.equal(elements(ladder, 'point').filter((p) => /data-x/.test(p)).length, 3);
  t.match(ladder, /p99 &lt; 1 ms/, 'the bound is drawn');
  const lines = r.markdown.split('\n');
  const det = lines.indexOf('</details>');
  t.match(lines[det + 2], /\(charts\/maxrate-ladder\.svg\)$/, 'ladder link after the details block, not hidden in it');
});

t.test('the repository RESULTS.md redraws from its tables, twice the same', async (t) => {
  const src = fs.readFileSync(path.join(ROOT, 'loadtest', 'RESULTS.md'), 'utf8');
  const dir = path.join(tmp, 'repo', 'charts');
  const once = renderResults(src, dir);
  const names = once.files.map((f) => path.basename(f));
  for (const want of ['throughput.svg', 'latency.svg']) t.ok(names.includes(want), `${want} drawn (${names.join(', ')})`);
  for (const f of once.files) t.equal(xmlProblem(fs.readFileSync(f, 'utf8')), undefined, `${path.basename(f)} well-formed`);
  for (const n of names) t.match(once.text, `](charts/${n})`);
  t.equal(renderResults(once.text, dir).text, once.text, 'idempotent');
  t.equal(once.text.replace(/\n!\[[^\n]*\]\(charts\/[^)]*\)\n/g, '').replace(/\n{3,}/g, '\n\n'),
    src.replace(/\n!\[[^\n]*\]\(charts\/[^)]*\)\n/g, '').replace(/\n{3,}/g, '\n\n'), 'nothing but chart links changed');
});

t.test('bench.js: a carried-over section keeps its chart link and gets its SVG', async (t) => {
  const dir = path.join(tmp, 'bench');
  fs.mkdirSync(dir);
  const file = path.join(dir, 'RESULTS.md');
  fs.copyFileSync(path.join(ROOT, 'loadtest', 'RESULTS.md'), file);
  fs.mkdirSync(path.join(dir, 'charts'));
  fs.writeFileSync(path.join(dir, 'charts', 'gone-ladder.svg'), '<svg/>'); // linked by no section: removed
  fs.writeFileSync(path.join(dir, 'charts', 'photo.png'), ''); // not ours: kept
  // throughput with no targets: nothing is measured, every other section is carried over
  const env = { ...process.env, SCENARIOS: 'throughput', TARGETS: '', SKIP_MICRO: '1', RESULTS_FILE: file };
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const c = spawn(process.execPath, [path.join(ROOT, 'dist', 'loadtest', 'bench.js')], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const timer = setTimeout(() => c.kill('SIGKILL'), 60_000);
    c.on('close', (code) => { clearTimeout(timer); resolve({ code, stderr: err }); });
  });
  t.equal(code, 0, stderr.slice(-2000));
  const out = fs.readFileSync(file, 'utf8');
  const latency = /<!-- section:latency -->[\s\S]*?<!-- \/section:latency -->/.exec(out)?.[0] ?? '';
  t.match(latency, /> Carried over from the run of/);
  t.match(latency, /\]\(charts\/latency\.svg\)/);
  t.ok(fs.existsSync(path.join(dir, 'charts', 'latency.svg')));
  t.equal(xmlProblem(fs.readFileSync(path.join(dir, 'charts', 'latency.svg'), 'utf8')), undefined);
  t.notOk(fs.existsSync(path.join(dir, 'charts', 'gone-ladder.svg')), 'a chart no section links is removed');
  t.ok(fs.existsSync(path.join(dir, 'charts', 'photo.png')), 'other files are left alone');
});

t.test('Chromium parses every chart and lays bars out by value', { skip: fs.existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed` }, async (t) => {
  const dir = path.join(tmp, 'chromium');
  const { files } = renderResults(fs.readFileSync(path.join(ROOT, 'loadtest', 'RESULTS.md'), 'utf8'), path.join(dir, 'charts'));
  const extra = path.join(dir, 'bars.svg');
  fs.writeFileSync(extra, barChart({
    title: 'b', yLabel: 'y', series: [{ name: 's', color: '#123456' }], groups: [100, 200, 400].map((v) => ({ label: [String(v)], values: [v] })),
  }));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'], timeout: 30_000 });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  for (const f of [...files, extra]) {
    await page.goto(`file://${f}`, { timeout: 15_000 });
    // A string: the test compiles without DOM types.
    const r = await page.evaluate<{ errors: number; root: string; width: number; bars: { v: number; h: number }[] }>(`({
      errors: document.getElementsByTagName('parsererror').length,
      root: document.documentElement.tagName,
      width: document.documentElement.getBoundingClientRect().width,
      bars: [...document.querySelectorAll('rect.bar')].map((b) => ({ v: Number(b.getAttribute('data-value')), h: b.getBoundingClientRect().height })),
    })`);
    t.equal(r.errors, 0, `${path.basename(f)}: no XML parse error`);
    t.equal(r.root, 'svg');
    t.ok(r.width > 300, `${path.basename(f)} renders ${r.width}px wide`);
    if (f === extra) t.same(r.bars.map((b) => Math.round(b.h / r.bars[0]!.h * 100) / 100), [1, 2, 4], 'rendered heights 1:2:4');
  }
  fs.writeFileSync(path.join(dir, 'broken.svg'), '<svg xmlns="http://www.w3.org/2000/svg"><g></svg>');
  await page.goto(`file://${path.join(dir, 'broken.svg')}`);
  t.ok(await page.evaluate<boolean>("document.getElementsByTagName('parsererror').length > 0"), 'a broken SVG does show a parser error (the check can fail)');
});

/** Runs a search against a simulated server whose p99 at rate r is p99(r); returns the rates probed. */
function simulate(p99: (r: number) => number, cap = 1e6, steps = 4): { s: RateSearch<{ rate: number; p99: number }>; rates: number[] } {
  const s = new RateSearch<{ rate: number; p99: number }>({ start: 1000, factor: 2, floor: 250, steps, cap, p99Ms: 1 });
  const rates: number[] = [];
  for (let n = 1; s.next !== undefined && n < 100; n++) {
    rates.push(s.next);
    s.record(n, { rate: s.next, p99: p99(s.next) });
  }
  return { s, rates };
}

t.test('maxrate search: ladder up, then bisection', async (t) => {
  const { s, rates } = simulate((r) => r / 10_000); // passes below 10000/s
  t.same(rates, [1000, 2000, 4000, 8000, 16000, 12000, 10000, 9000, 9500]);
  t.equal(s.pass?.rate, 9500);
  t.equal(s.fail?.rate, 10000);
  t.same(s.probes.map((p) => p.phase), ['up', 'up', 'up', 'up', 'up', 'bisect', 'bisect', 'bisect', 'bisect']);
  t.notOk(s.capped);
});

t.test('maxrate search: first rung fails, down to a pass, then bisection', async (t) => {
  const { s, rates } = simulate((r) => (r <= 300 ? 0.5 : 2));
  t.same(rates, [1000, 500, 250, 375, 313, 282, 298]);
  t.equal(s.pass?.rate, 298);
  t.equal(s.fail?.rate, 313);
});

t.test('maxrate search: nothing passes; lowest rate tried is reported', async (t) => {
  const { s, rates } = simulate(() => 3);
  t.same(rates, [1000, 500, 250], 'stops at the floor');
  t.equal(s.pass, undefined);
  t.same(s.lowest(), { rate: 250, p99: 3 });
});

t.test('maxrate search: passing at the closed-loop cap ends there, flagged', async (t) => {
  const { s, rates } = simulate(() => 0.2, 5000);
  t.same(rates, [1000, 2000, 4000, 5000]);
  t.equal(s.pass?.rate, 5000);
  t.ok(s.capped);
  const frac = simulate(() => 0.2, 5000.7); // a closed-loop median is fractional
  t.same(frac.rates, [1000, 2000, 4000, 5000], 'a fractional cap is probed once, not forever');
  t.ok(frac.s.capped);
});
