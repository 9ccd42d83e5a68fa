// The admin HTTP server (proxy/http.ts, docs/observability.md) against real processes:
// /healthz, /readyz (503 while a shard is stopped or dead), /metrics parsed by a strict
// Prometheus text parser (counters rise by exactly the commands sent, histograms are
// cumulative and consistent, per-worker memory and breaker state present), metrics
// merged across proxy processes, and the admin token. Shoal-only: Redis has no admin
// HTTP API.

import t from 'tap';
import { isShoal, startShoal, type Target, type Topology } from '../helpers/cluster.js';
import { connect, pollUntil, runMany } from '../helpers/run.js';

type Reply = { status: number; body: string; type: string; ms: number };

async function get(target: Target, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  const start = Date.now();
  const res = await fetch(`http://127.0.0.1:${target.httpPort}${path}`, { method, headers, signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? '', ms: Date.now() - start };
}

const MAXMEMORY = 192 * 1024 * 1024;

// ---- a strict parser for Prometheus text exposition format 0.0.4 ----------------

type Sample = { name: string; labels: Record<string, string>; value: number };
type Family = { name: string; type: string; help: string; samples: Sample[] };

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function parseValue(s: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`bad sample value ${JSON.stringify(s)}`);
  return Number(s);
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`bad labels ${text}`);
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`bad label name ${JSON.stringify(name)}`);
    if (text[eq + 1] !== '"') throw new Error(`label ${name}: value not quoted`);
    let v = '';
    let j = eq + 2;
    for (;; j++) {
      if (j >= text.length) throw new Error(`label ${name}: unterminated value`);
      const c = text[j]!;
      if (c === '"') break;
      if (c === '\\') {
        const n = text[++j];
        if (n === 'n') v += '\n';
        else if (n === '\\' || n === '"') v += n;
        else throw new Error(`label ${name}: bad escape \\${n}`);
      } else {
        v += c;
      }
    }
    if (name in labels) throw new Error(`duplicate label ${name}`);
    labels[name] = v;
    i = j + 1;
    if (text[i] === ',') i++;
    else if (i !== text.length) throw new Error(`bad labels after ${name}: ${text.slice(i)}`);
  }
  return labels;
}

/** Parses the text; throws on anything the format does not allow. */
function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const families = new Map<string, Family>();
  let current: Family | null = null;
  const familyOf = (sample: string): string => {
    for (const suffix of ['_bucket', '_sum', '_count']) {
      const base = sample.slice(0, -suffix.length);
      if (sample.endsWith(suffix) && families.get(base)?.type === 'histogram') return base;
    }
    return sample;
  };
  for (const line of text.slice(0, -1).split('\n')) {
    if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) {
      const [, kind, name, ...rest] = line.split(' ');
      if (!NAME.test(name!)) throw new Error(`bad metric name in ${line}`);
      let f = families.get(name!);
      if (f && f !== current) throw new Error(`family ${name} is not contiguous`);
      if (!f) {
        families.set(name!, (f = { name: name!, type: 'untyped', help: '', samples: [] }));
        current = f;
      }
      if (kind === 'TYPE') {
        if (f.samples.length > 0) throw new Error(`TYPE of ${name} after its samples`);
        const type = rest.join(' ');
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type)) throw new Error(`bad type ${type}`);
        f.type = type;
      } else {
        f.help = rest.join(' ');
      }
      continue;
    }
    if (line.startsWith('#') || line === '') continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
    if (!m) throw new Error(`bad sample line ${JSON.stringify(line)}`);
    const fam = familyOf(m[1]!);
    const f = families.get(fam);
    if (!f || f !== current) throw new Error(`sample ${m[1]} outside its family block`);
    f.samples.push({ name: m[1]!, labels: m[3] ? parseLabels(m[3]) : {}, value: parseValue(m[4]!) });
  }
  return families;
}

function value(fams: Map<string, Family>, name: string, labels: Record<string, string> = {}, family = name): number | undefined {
  const f = fams.get(family);
  const s = f?.samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value;
}

/** Checks every histogram: cumulative buckets, +Inf = _count, one _sum; returns the problems. */
function histogramProblems(fams: Map<string, Family>): string[] {
  const problems: string[] = [];
  for (const f of fams.values()) {
    if (f.type !== 'histogram') continue;
    const series = new Map<string, Sample[]>();
    for (const s of f.samples) {
      const { le, ...rest } = s.labels;
      const key = JSON.stringify(rest);
      if (!series.has(key)) series.set(key, []);
      series.get(key)!.push(s);
      if (s.name.endsWith('_bucket') && le === undefined) problems.push(`${s.name} without le`);
    }
    for (const [key, samples] of series) {
      const buckets = samples.filter((s) => s.name.endsWith('_bucket'));
      const les = buckets.map((b) => parseValue(b.labels['le']!));
      for (let i = 1; i < buckets.length; i++) {
        if (!(les[i]! > les[i - 1]!)) problems.push(`${key}: le not increasing`);
        if (buckets[i]!.value < buckets[i - 1]!.value) problems.push(`${key}: bucket counts not cumulative at le=${les[i]}`);
      }
      if (les[les.length - 1] !== Infinity) problems.push(`${key}: no +Inf bucket`);
      const count = samples.find((s) => s.name.endsWith('_count'));
      const sum = samples.filter((s) => s.name.endsWith('_sum'));
      if (count === undefined || count.value !== buckets[buckets.length - 1]?.value) problems.push(`${key}: _count != +Inf bucket`);
      if (sum.length !== 1 || !(sum[0]!.value >= 0)) problems.push(`${key}: bad _sum`);
    }
  }
  return problems;
}

async function scrape(target: Target, headers: Record<string, string> = {}): Promise<Map<string, Family>> {
  const r = await get(target, '/metrics', headers);
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}: ${r.body}`);
  return parseExposition(r.body);
}

t.test('the parser itself rejects what Prometheus rejects', async (t) => {
  t.throws(() => parseExposition('a 1'), /newline/);
  t.throws(() => parseExposition('# TYPE a counter\na{x="1} 1\n'), /unterminated/);
  t.throws(() => parseExposition('# TYPE a counter\na 1\n# TYPE b gauge\nb 1\na 2\n'), /outside/);
  t.throws(() => parseExposition('# TYPE a counter\na one\n'), /bad sample/);
  t.same(parseExposition('# TYPE a counter\na{x="q\\"\\n"} 1.5e3\n').get('a')!.samples[0], { name: 'a', labels: { x: 'q"\n' }, value: 1500 });
});

if (!isShoal) {
  t.pass('admin HTTP is Shoal-only');
} else {
  // ~100 MiB for data above the shard process's runtime (~85 MiB with one worker), which maxmemory counts (docs/memory.md).
  const target = await startShoal({ shards: 2, workers: 1, env: { SHOAL_MAXMEMORY: String(MAXMEMORY) } });
  t.teardown(() => target.stop());
  const topo = JSON.parse((await get(target, '/topology')).body) as Topology;
  const workers = topo.workers ?? [];

  t.test('/healthz and /readyz on a healthy cluster', async (t) => {
    const h = await get(target, '/healthz');
    t.equal(h.status, 200);
    t.match(JSON.parse(h.body), { status: 'ok' });
    t.equal((await get(target, '/healthz', {}, 'HEAD')).status, 200, 'HEAD works too');
    const r = await pollUntil(() => get(target, '/readyz'), (x) => x.status === 200, 5000);
    t.equal(r.value.status, 200, r.value.body);
    t.match(JSON.parse(r.value.body), { status: 'ready', workers: 2, processes: 1 });
    t.equal((await get(target, '/nope')).status, 404);
  });

  t.test('/topology lists workers and processes', async (t) => {
    t.equal(workers.length, 2);
    t.ok(topo.processes.some((p) => p.role === 'proxy'), 'the proxy is listed');
    t.equal(topo.processes.filter((p) => p.role === 'shard').length, 2);
  });

  t.test('/metrics: strict format, exact counters, consistent histograms', async (t) => {
    const r = await get(target, '/metrics');
    t.equal(r.status, 200);
    t.match(r.type, /^text\/plain; version=0\.0\.4/);
    const before = parseExposition(r.body);
    const { run, close } = await connect(target.port);
    t.teardown(close);
    await runMany(run, [
      ...Array.from({ length: 25 }, (_, i) => ['GET', `k${i}`]),
      ...Array.from({ length: 10 }, (_, i) => ['SET', `k${i}`, 'x'.repeat(1000)]),
      ['NOSUCHCOMMAND'], ['NOSUCHCOMMAND', 'a'], ['GET'],
    ], 7); // pipelined in chunks of 7
    const after = await scrape(target);
    const delta = (name: string, labels: Record<string, string>, family = name): number => (value(after, name, labels, family) ?? 0) - (value(before, name, labels, family) ?? 0);
    t.equal(delta('shoal_commands_total', { cmd: 'get' }), 26, '25 GETs + 1 GET with a wrong arity');
    t.equal(delta('shoal_commands_total', { cmd: 'set' }), 10);
    t.equal(delta('shoal_commands_total', { cmd: 'unknown' }), 2);
    t.equal(delta('shoal_command_errors_total', { cmd: 'unknown' }), 2);
    t.equal(delta('shoal_command_errors_total', { cmd: 'get' }), 1);
    t.equal(delta('shoal_command_errors_total', { cmd: 'set' }), 0);
    const h = 'shoal_command_duration_seconds';
    t.equal(delta(`${h}_count`, { cmd: 'set' }, h), 10, 'the histogram counts every SET');
    t.equal(value(after, `${h}_count`, { cmd: 'get' }, h), value(after, 'shoal_commands_total', { cmd: 'get' }));
    t.ok(delta(`${h}_sum`, { cmd: 'set' }, h) > 0, 'SET time accumulates');
    t.same(histogramProblems(after), [], 'every histogram is cumulative and consistent');
    t.ok(delta('shoal_net_input_bytes_total', {}) >= 10 * 1000, 'bytes in count the SET values');
    t.ok(delta('shoal_net_output_bytes_total', {}) > 0);
    t.equal(value(after, 'shoal_connected_clients'), 1, 'this test\'s connection');
    t.equal(value(after, 'shoal_proxy_processes_answering'), 1);
    for (const f of after.values()) t.ok(f.help !== '' && f.type !== 'untyped', `${f.name} has HELP and TYPE`);
  });

  t.test('latency-tracking no: counters still count, histograms stand still', async (t) => {
    const { run, close } = await connect(target.port);
    t.teardown(close);
    const before = await scrape(target);
    t.equal(await run(['CONFIG', 'SET', 'latency-tracking', 'no']), 'OK');
    await runMany(run, Array.from({ length: 5 }, () => ['INCR', 'n']));
    t.equal(await run(['CONFIG', 'SET', 'latency-tracking', 'yes']), 'OK');
    const after = await scrape(target);
    const h = 'shoal_command_duration_seconds';
    t.equal((value(after, 'shoal_commands_total', { cmd: 'incr' }) ?? 0) - (value(before, 'shoal_commands_total', { cmd: 'incr' }) ?? 0), 5);
    t.equal(value(after, `${h}_count`, { cmd: 'incr' }, h) ?? 0, value(before, `${h}_count`, { cmd: 'incr' }, h) ?? 0);
  });

  t.test('per-worker memory, keyspace and breaker state', async (t) => {
    const { run, close } = await connect(target.port);
    t.teardown(close);
    await runMany(run, Array.from({ length: 10 }, (_, i) => ['GET', `k${i}`])); // set by the test above
    const fams = await scrape(target);
    for (const w of workers) {
      const l = { endpoint: `${w.host}:${w.port}` };
      t.equal(value(fams, 'shoal_shard_up', l), 1, `${l.endpoint} up`);
      t.ok((value(fams, 'shoal_shard_used_memory_bytes', l) ?? 0) > 0, `${l.endpoint} used_memory`);
      t.equal(value(fams, 'shoal_shard_maxmemory_bytes', l), MAXMEMORY, `${l.endpoint} maxmemory (one worker per shard)`);
      t.ok(value(fams, 'shoal_shard_evicted_keys_total', l) !== undefined);
      t.ok(value(fams, 'shoal_shard_expired_keys_total', l) !== undefined);
      t.equal(value(fams, 'shoal_upstream_breaker_state', { ...l, state: 'closed' }), 1);
      t.equal(value(fams, 'shoal_upstream_breaker_state', { ...l, state: 'open' }), 0);
      t.equal(value(fams, 'shoal_upstream_connected', l), 1);
      t.equal(value(fams, 'shoal_upstream_queue_depth', l), 0);
    }
    const hits = workers.reduce((s, w) => s + (value(fams, 'shoal_shard_keyspace_hits_total', { endpoint: `${w.host}:${w.port}` }) ?? 0), 0);
    t.ok(hits >= 10, `GETs of existing keys counted as hits (${hits})`);
  });

  t.test('a stopped shard: /readyz 503 and /metrics answers at once with it down', async (t) => {
    const shard1 = topo.processes.find((p) => p.role === 'shard' && p.name === 'shard-1')!;
    const w1 = workers.find((w) => w.shard === 1)!;
    process.kill(shard1.pid, 'SIGSTOP');
    t.teardown(() => {
      try { process.kill(shard1.pid, 'SIGCONT'); } catch { /* gone */ }
    });
    const r = await get(target, '/readyz');
    t.equal(r.status, 503);
    t.match(JSON.parse(r.body).reasons.join('\n'), new RegExp(`shard 1 worker 0 \\(127\\.0\\.0\\.1:${w1.port}\\) does not answer: no answer within`));
    const m = await get(target, '/metrics');
    t.equal(m.status, 200);
    t.ok(m.ms < 3000, `/metrics took ${m.ms} ms`);
    const fams = parseExposition(m.body);
    t.equal(value(fams, 'shoal_shard_up', { endpoint: `127.0.0.1:${w1.port}` }), 0, 'the stopped worker is down');
    t.equal(value(fams, 'shoal_shard_used_memory_bytes', { endpoint: `127.0.0.1:${w1.port}` }), undefined, 'and has no memory figures');
    t.equal(value(fams, 'shoal_shard_up', { endpoint: `127.0.0.1:${workers.find((w) => w.shard === 0)!.port}` }), 1);
    process.kill(shard1.pid, 'SIGCONT');
    const back = await pollUntil(() => get(target, '/readyz'), (x) => x.status === 200, 10_000);
    t.equal(back.value.status, 200, 'ready again once it runs');
  });

  t.test('a dead shard: /readyz 503, breaker open, /metrics marks it down', async (t) => {
    const shard1 = topo.processes.find((p) => p.role === 'shard' && p.name === 'shard-1')!;
    const w1 = workers.find((w) => w.shard === 1)!;
    const l = { endpoint: `127.0.0.1:${w1.port}` };
    process.kill(shard1.pid, 'SIGKILL');
    const r = await pollUntil(() => get(target, '/readyz'), (x) => x.status === 503, 5000);
    t.equal(r.value.status, 503);
    const reasons = (JSON.parse(r.value.body) as { reasons: string[] }).reasons.join('\n');
    t.match(reasons, /does not answer: (ECONNREFUSED|ECONNRESET|connection closed)/);
    const open = await pollUntil(() => scrape(target), (f) => value(f, 'shoal_upstream_breaker_state', { ...l, state: 'open' }) === 1, 5000);
    t.ok(open.ok, 'the breaker of the dead worker is open');
    t.equal(value(open.value, 'shoal_upstream_connected', l), 0);
    t.equal(value(open.value, 'shoal_shard_up', l), 0);
    t.equal((await get(target, '/healthz')).status, 200, 'still alive');
  });

  t.test('admin token; metrics merged across proxy processes', async (t) => {
    const secured = await startShoal({ workers: 1, proxyProcesses: 2, env: { SHOAL_ADMIN_TOKEN: 's3cret' } });
    t.teardown(() => secured.stop());
    const ready = await pollUntil(() => get(secured, '/readyz'), (x) => x.status === 200, 20_000, 200);
    t.equal(ready.value.status, 200, '/readyz stays open, and says when both processes accept clients');
    t.match(JSON.parse(ready.value.body), { processes: 2 });
    for (const path of ['/metrics', '/topology']) {
      const none = await get(secured, path);
      t.equal(none.status, 401, `${path} without a token`);
      t.match(JSON.parse(none.body), { error: /unauthorized/ });
      t.equal((await get(secured, path, { authorization: 'Bearer wrong' })).status, 401, `${path} with a wrong token`);
      t.equal((await get(secured, path, { authorization: 's3cret' })).status, 401, `${path} without "Bearer"`);
      t.equal((await get(secured, path, { authorization: 'Bearer s3cret' })).status, 200, `${path} with the token`);
    }
    t.equal((await get(secured, '/healthz')).status, 200, '/healthz stays open');

    const auth = { authorization: 'Bearer s3cret' };
    const before = await scrape(secured, auth);
    t.equal(value(before, 'shoal_proxy_processes'), 2);
    t.equal(value(before, 'shoal_proxy_processes_answering'), 2);
    t.equal(before.get('shoal_proxy_resident_memory_bytes')?.samples.length, 2, 'one RSS per process');
    // Connections spread over both processes; the merged counter is their sum.
    const clients = await Promise.all(Array.from({ length: 6 }, () => connect(secured.port)));
    t.teardown(() => Promise.all(clients.map((c) => c.close())));
    for (const c of clients) await runMany(c.run, Array.from({ length: 7 }, (_, i) => ['ECHO', String(i)]));
    const after = await scrape(secured, auth);
    t.equal((value(after, 'shoal_commands_total', { cmd: 'echo' }) ?? 0) - (value(before, 'shoal_commands_total', { cmd: 'echo' }) ?? 0), 42);
    t.equal(value(after, 'shoal_connected_clients'), 6);
    t.same(histogramProblems(after), []);
    const topo2 = JSON.parse((await get(secured, '/topology', auth)).body) as Topology;
    t.ok(topo2.processes.filter((p) => p.role.startsWith('proxy')).length >= 3, 'the primary and both RESP processes');
  });
}
