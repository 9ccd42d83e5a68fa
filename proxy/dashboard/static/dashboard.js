// The dashboard page's logic (docs/dashboard.md): polls /dashboard/data once a second,
// keeps about two minutes of derived points (rates are computed here, from successive
// cumulative samples: feed-math.js), and redraws tiles, charts and the topology tables.
//
// Admin token: /dashboard/auth (open) says whether the proxy has one; if so and this tab
// has none stored, the token form shows before any request that would be refused. A
// 401 from the feed (wrong or changed token) shows the form too. The token is kept in
// sessionStorage (this tab only) and sent as `Authorization: Bearer`.

import { barChart, lineChart } from './charts.js';
import { bytesText, countText, durationText, interval, slotText } from './feed-math.js';

const FEED = '/dashboard/data';
const PERIOD_MS = 1000;
const WINDOW_SEC = 120;
const TOKEN_KEY = 'shoal-admin-token';

const FAMILY_COLORS = {
  string: '#2f6fdb', list: '#e07b00', hash: '#1a9e77', set: '#8e44ad', sortedset: '#c62828',
  bitmap: '#6d4c41', hyperloglog: '#d81b60', geo: '#3949ab', stream: '#00acc1', bloom: '#7cb342', pubsub: '#00897b',
  keyspace: '#5c6bc0', transaction: '#f4b400', scripting: '#8d6e63', connection: '#90a4ae', server: '#455a64', unknown: '#000000',
};

const $ = (id) => document.getElementById(id);

/** Derived points, oldest first: interval() results plus gauges of the sample. */
const points = [];
let last = null;
let timer = null;

function token() {
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

function setStatus(text, cls) {
  const el = $('status');
  el.textContent = text;
  el.className = `status ${cls}`;
}

function showTokenForm(message) {
  $('token-message').textContent = message;
  $('token-form').hidden = false;
  $('panels').hidden = true;
  $('token').focus();
}

function schedule(startedAt) {
  clearTimeout(timer);
  timer = setTimeout(poll, Math.max(0, startedAt + PERIOD_MS - Date.now()));
}

async function poll() {
  const startedAt = Date.now();
  const headers = {};
  const t = token();
  if (t !== '') headers.authorization = `Bearer ${t}`;
  let res;
  try {
    res = await fetch(FEED, { headers, cache: 'no-store' });
  } catch (err) {
    setStatus(`cannot reach the proxy: ${err.message}`, 'bad');
    schedule(startedAt);
    return;
  }
  if (res.status === 401) {
    // Stop polling until a token is entered: every refused request is logged by the proxy.
    setStatus('admin token needed', 'warn');
    showTokenForm(t === '' ? 'This proxy has an admin token. Enter it to see its figures; it is kept for this browser tab only.' : 'The proxy refused this token. Enter the admin token again.');
    return;
  }
  if (!res.ok) {
    setStatus(`feed answered ${res.status}`, 'bad');
    schedule(startedAt);
    return;
  }
  let sample;
  try {
    sample = await res.json();
  } catch (err) {
    setStatus(`bad feed: ${err.message}`, 'bad');
    schedule(startedAt);
    return;
  }
  ingest(sample);
  render(sample);
  schedule(startedAt);
}

function ingest(sample) {
  const d = interval(last, sample);
  last = sample;
  const clients = sample.processes.reduce((a, p) => a + p.connectedClients, 0);
  points.push({ time: sample.time, d, clients });
  while (points.length > 0 && points[0].time < sample.time - (WINDOW_SEC + 5) * 1000) points.shift();
}

function series(name, color, pick) {
  return { name, color, points: points.map((p) => [p.time, pick(p)]) };
}

function setFigure(id, value, text) {
  const el = $(id);
  el.textContent = text;
  el.dataset.value = value === null || value === undefined ? '' : String(value);
}

function render(sample) {
  const down = sample.workers.filter((w) => !w.up).length;
  const missing = sample.proxyProcesses.configured - sample.proxyProcesses.answering;
  if (down > 0 || missing > 0) {
    const parts = [];
    if (down > 0) parts.push(`${down} worker${down > 1 ? 's' : ''} not answering`);
    if (missing > 0) parts.push(`${missing} proxy process${missing > 1 ? 'es' : ''} not answering`);
    setStatus(parts.join(', '), 'warn');
  } else {
    setStatus('live', 'ok');
  }
  $('updated').textContent = `updated ${new Date(sample.time).toLocaleTimeString()}`;

  const now = sample.time;
  const cur = points[points.length - 1];
  const d = cur.d;
  setFigure('ops-total', d?.totalOps, d ? countText(d.totalOps) : '–');
  setFigure('hit-ratio', d?.hitRatio, d?.hitRatio === null || !d ? '–' : `${(d.hitRatio * 100).toFixed(1)} %`);
  setFigure('p50', d?.p50Us, d ? durationText(d.p50Us) : '–');
  setFigure('p99', d?.p99Us, d ? durationText(d.p99Us) : '–');
  setFigure('clients', cur.clients, String(cur.clients));
  setFigure('evicted', d?.evictedPerSec, d ? countText(d.evictedPerSec) : '–');
  setFigure('expired', d?.expiredPerSec, d ? countText(d.expiredPerSec) : '–');
  setFigure('errors', d?.errorsPerSec, d ? countText(d.errorsPerSec) : '–');

  // Families with traffic in the window, after the total.
  const active = sample.families.filter((f) => points.some((p) => p.d && p.d.ops[f] > 0));
  lineChart($('chart-ops'), {
    now, windowSec: WINDOW_SEC, minMax: 10, format: countText, title: 'operations per second',
    series: [series('total', '#1d2330', (p) => p.d?.totalOps ?? null), ...active.map((f) => series(f, FAMILY_COLORS[f] ?? '#888', (p) => p.d?.ops[f] ?? null))],
  });
  lineChart($('chart-latency'), {
    now, windowSec: WINDOW_SEC, minMax: 100, format: durationText, title: 'latency',
    series: [series('p50', '#2f6fdb', (p) => p.d?.p50Us ?? null), series('p99', '#c62828', (p) => p.d?.p99Us ?? null)],
  });
  lineChart($('chart-hits'), {
    now, windowSec: WINDOW_SEC, max: 1, format: (v) => `${Math.round(v * 100)} %`, title: 'hit ratio',
    series: [series('hits / lookups', '#1a9e77', (p) => p.d?.hitRatio ?? null)],
  });
  lineChart($('chart-keys'), {
    now, windowSec: WINDOW_SEC, minMax: 10, format: countText, title: 'evictions and expirations',
    series: [series('evicted/s', '#c62828', (p) => p.d?.evictedPerSec ?? null), series('expired/s', '#e07b00', (p) => p.d?.expiredPerSec ?? null)],
  });
  lineChart($('chart-clients'), {
    now, windowSec: WINDOW_SEC, minMax: 4, format: (v) => String(Math.round(v)), title: 'clients',
    series: [series('connected', '#5c6bc0', (p) => p.clients)],
  });
  barChart($('chart-memory'), sample.workers.map((w) => ({
    label: `shard ${w.shard} / ${w.worker}`,
    value: w.usedMemory,
    limit: w.maxmemory || null,
    text: !w.up ? 'down' : w.maxmemory ? `${bytesText(w.usedMemory)} of ${bytesText(w.maxmemory)} (${Math.round((100 * w.usedMemory) / w.maxmemory)} %)` : `${bytesText(w.usedMemory)}, no limit`,
  })));

  renderTopology(sample);
}

function cell(tr, text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

/** "closed", or the states that are not, with how many proxy processes see them. */
function breakerText(link, processes) {
  const b = link.breaker;
  if (b.open === 0 && b['half-open'] === 0) return b.closed > 0 ? ['closed', 'ok'] : ['–', ''];
  const parts = [];
  if (b.open > 0) parts.push(`open${processes > 1 ? ` (${b.open}/${processes})` : ''}`);
  if (b['half-open'] > 0) parts.push(`half-open${processes > 1 ? ` (${b['half-open']}/${processes})` : ''}`);
  return [parts.join(', '), b.open > 0 ? 'bad' : 'warn'];
}

function renderTopology(sample) {
  $('epoch').textContent = sample.topology.epoch === null ? '' : `epoch ${sample.topology.epoch}`;
  const answering = sample.proxyProcesses.answering;
  const rows = sample.workers.map((w) => {
    const tr = document.createElement('tr');
    tr.dataset.endpoint = w.endpoint;
    cell(tr, String(w.shard));
    cell(tr, String(w.worker));
    cell(tr, w.endpoint);
    cell(tr, slotText(w.slots)).className = 'slots';
    cell(tr, w.role);
    if (w.up) cell(tr, 'up', 'ok');
    else cell(tr, `down: ${w.error ?? '?'}`, 'bad');
    cell(tr, `${w.link.up}/${answering}`, w.link.up < answering ? 'bad' : '');
    const [text, cls] = breakerText(w.link, answering);
    cell(tr, text, cls).className += ' breaker';
    cell(tr, String(w.link.queueDepth));
    cell(tr, w.maxmemory ? `${bytesText(w.usedMemory)} / ${bytesText(w.maxmemory)}` : bytesText(w.usedMemory));
    cell(tr, w.evictedKeys === null ? '–' : countText(w.evictedKeys));
    cell(tr, w.expiredKeys === null ? '–' : countText(w.expiredKeys));
    return tr;
  });
  $('workers').tBodies[0].replaceChildren(...rows);

  const procs = sample.topology.processes.map((p) => {
    const tr = document.createElement('tr');
    cell(tr, p.role);
    cell(tr, p.name);
    cell(tr, String(p.pid));
    cell(tr, p.ports.join(', ') || '–');
    cell(tr, slotText(p.slots));
    return tr;
  });
  $('processes').tBodies[0].replaceChildren(...procs);

  const notes = [];
  if (sample.topology.error) notes.push(`Topology not loaded: ${sample.topology.error}.`);
  if (!sample.latencyTracking) notes.push('latency-tracking is off: the latency figures stand still.');
  notes.push('Latency is timed in the proxy (dispatch → reply) in power-of-two buckets, so p50/p99 are estimates within a factor of two.');
  notes.push('Every worker is a primary: Shoal has no replicas yet.');
  $('notes').textContent = notes.join(' ');
}

async function start() {
  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
    $('token').value = '';
    $('token-form').hidden = true;
    $('panels').hidden = false;
    setStatus('connecting…', '');
    poll();
  });
  // Ask first whether a token is needed, so a tab without one shows the form instead of
  // sending a request that is sure to be refused.
  try {
    const res = await fetch('/dashboard/auth', { cache: 'no-store' });
    const auth = await res.json();
    if (auth.tokenRequired && token() === '') {
      setStatus('admin token needed', 'warn');
      showTokenForm('This proxy has an admin token. Enter it to see its figures; it is kept for this browser tab only.');
      return;
    }
  } catch {
    // An older proxy or a network error: the feed's answer decides.
  }
  poll();
}

start();
