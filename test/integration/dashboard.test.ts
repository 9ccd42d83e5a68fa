// The dashboard (proxy/dashboard/, docs/dashboard.md) against a real embedded cluster
// with an admin token: the JSON feed /dashboard/data (401 without the token; fields;
// counters per command family, keyspace hits/misses and latency buckets rising by
// exactly the commands sent; the page's own rate math, feed-math.js, imported from the
// source tree), and the page in headless Chromium (Debian's `chromium` driven by
// playwright-core): the token form, no console errors, the topology with both workers
// and their slot ranges, the ops/s figure rising while the load generator
// (dist/bin/shoal-loadtest.js, closed loop) runs. The screenshot is saved as
// test/artifacts/dashboard.png (gitignored). Shoal only; without /usr/bin/chromium the
// browser part is skipped with a note.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { chromium, type Page } from 'playwright-core';
import { isShoal, startShoal, type Target } from '../helpers/cluster.js';
import { connect, pollUntil } from '../helpers/run.js';
import type { DashboardFeed } from '../../proxy/dashboard/dashboard.js';

const execFileP = promisify(execFile);
const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'dash-s3cret';
const HERE = path.dirname(fileURLToPath(import.meta.url)); // dist/test/integration
const ROOT = path.resolve(HERE, '..', '..', '..');
const ARTIFACTS = path.join(ROOT, 'test', 'artifacts');
const LOADGEN = path.resolve(HERE, '..', '..', 'bin', 'shoal-loadtest.js');

interface Interval {
  seconds: number;
  ops: Record<string, number>;
  totalOps: number;
  p50Us: number | null;
  p99Us: number | null;
  hitRatio: number | null;
}
/** The page's rate math, from the source tree (it is served from there, not compiled). */
const feedMath = (await import(pathToFileURL(path.join(ROOT, 'proxy', 'dashboard', 'static', 'feed-math.js')).href)) as {
  interval: (prev: DashboardFeed, cur: DashboardFeed) => Interval | null;
  quantile: (counts: number[], bounds: number[], q: number) => number | null;
  slotText: (ranges: Array<[number, number]>) => string;
};

async function get(target: Target, urlPath: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(`http://127.0.0.1:${target.httpPort}${urlPath}`, { headers, signal: AbortSignal.timeout(5000) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}

const auth = { authorization: `Bearer ${TOKEN}` };

async function feed(target: Target): Promise<DashboardFeed> {
  const r = await get(target, '/dashboard/data', auth);
  if (r.status !== 200) throw new Error(`/dashboard/data answered ${r.status}: ${r.body}`);
  return JSON.parse(r.body) as DashboardFeed;
}

const calls = (f: DashboardFeed, family: string): number =>
  f.processes.reduce((a, p) => a + ((p.families as Record<string, { calls: number } | undefined>)[family]?.calls ?? 0), 0);
const sumWorkers = (f: DashboardFeed, field: 'keyspaceHits' | 'keyspaceMisses'): number => f.workers.reduce((a, w) => a + (w[field] ?? 0), 0);
const timed = (f: DashboardFeed): number => f.processes.reduce((a, p) => a + p.latencyBuckets.reduce((x, y) => x + y, 0), 0);

const MAXMEMORY = 192 * 1024 * 1024;

if (!isShoal) {
  t.pass('the dashboard is Shoal-only');
} else {
  // Two shard processes of one worker each (maxmemory is per shard process, so each
  // worker's share is all of it: 192 MiB, ~100 MiB for data above the runtime that
  // maxmemory counts, docs/memory.md), so one can be killed. One RESP proxy process: several
  // start too slowly on a busy 2-core machine (the feed's merging across processes is
  // the same askAll that /metrics uses, tested in admin-http.test.ts).
  const target = await startShoal({ shards: 2, workers: 1, env: { SHOAL_ADMIN_TOKEN: TOKEN, SHOAL_MAXMEMORY: String(MAXMEMORY) } });
  t.teardown(() => target.stop());

  t.test('the feed is guarded like /metrics; the page is not', async (t) => {
    const refused: Array<Record<string, string>> = [{}, { authorization: 'Bearer wrong' }, { authorization: TOKEN }];
    for (const headers of refused) {
      const r = await get(target, '/dashboard/data', headers);
      t.equal(r.status, 401, `/dashboard/data with ${JSON.stringify(headers)}`);
      t.match(JSON.parse(r.body), { error: /unauthorized/ });
    }
    t.same(JSON.parse((await get(target, '/dashboard/auth')).body), { tokenRequired: true });
    const page = await get(target, '/dashboard');
    t.equal(page.status, 200);
    t.match(page.type, /^text\/html/);
    t.match(page.body, /<script type="module" src="\/dashboard\/dashboard\.js">/);
    for (const [file, type] of [['dashboard.js', /^text\/javascript/], ['charts.js', /^text\/javascript/], ['feed-math.js', /^text\/javascript/], ['dashboard.css', /^text\/css/]] as const) {
      const r = await get(target, `/dashboard/${file}`);
      t.equal(r.status, 200, file);
      t.match(r.type, type, `${file} content-type`);
    }
    t.equal((await get(target, '/dashboard/')).status, 200, 'with a trailing slash too');
    const head = await fetch(`http://127.0.0.1:${target.httpPort}/dashboard/data`, { method: 'HEAD', signal: AbortSignal.timeout(5000) });
    t.equal(head.status, 401, 'HEAD is guarded too');
    const missing = await get(target, '/dashboard/nope.js');
    t.equal(missing.status, 404);
    t.match(missing.body, /\/dashboard/, 'the 404 lists /dashboard');
  });

  t.test('feed fields: families, workers with slots and memory, topology, breakers', async (t) => {
    const f = await feed(target);
    t.ok(f.time > 0 && Math.abs(f.time - Date.now()) < 60_000, 'server time');
    t.same(f.proxyProcesses, { configured: 1, answering: 1 });
    t.ok(f.families.includes('string') && f.families.includes('sortedset') && f.families.includes('pubsub'), 'families');
    t.equal(f.latencyBoundsUs[0], 8);
    t.equal(f.latencyBoundsUs.length + 1, f.processes[0]?.latencyBuckets.length, 'one bucket per bound plus +Inf');
    t.equal(f.latencyTracking, true);
    t.same(f.processes.map((p) => p.index), [0], 'one entry per RESP process');
    t.equal(f.workers.length, 2);
    const ports = f.workers.map((w) => Number(w.endpoint.split(':')[1]));
    t.same(ports, target.workerPorts);
    t.same(f.workers.map((w) => w.slots), [[[0, 8191]], [[8192, 16383]]]);
    for (const w of f.workers) {
      t.equal(w.role, 'primary');
      t.equal(w.up, true);
      t.equal(w.maxmemory, MAXMEMORY, 'the worker\'s maxmemory share');
      t.ok(typeof w.usedMemory === 'number' && w.usedMemory >= 0, 'used_memory');
      t.type(w.evictedKeys, 'number');
      t.type(w.expiredKeys, 'number');
      t.same(w.link, { up: 1, breaker: { closed: 1, open: 0, 'half-open': 0 }, queueDepth: 0 }, 'link up, breaker closed');
    }
    const roles = f.topology.processes.map((p) => p.role).sort();
    t.same(roles, ['manager', 'proxy', 'shard', 'shard']);
    t.same(f.topology.processes.filter((p) => p.role === 'shard').map((p) => p.slots), [[[0, 8191]], [[8192, 16383]]]);
    t.equal(f.topology.error, null);
  });

  t.test('counters rise by exactly the commands sent; the page math turns them into rates', async (t) => {
    const c = await connect(target.port);
    t.teardown(() => c.close());
    await c.run(['FLUSHALL']);
    const before = await feed(target);
    for (let i = 0; i < 10; i++) await c.run(['SET', `dash:k${i}`, 'v']);
    for (let i = 0; i < 10; i++) await c.run(['GET', `dash:k${i}`]); // hits
    for (let i = 0; i < 5; i++) await c.run(['GET', `dash:missing${i}`]); // misses
    for (let i = 0; i < 3; i++) await c.run(['LPUSH', 'dash:list', 'x']);
    await c.run(['HSET', 'dash:hash', 'f', 'v']);
    await c.run(['ZADD', 'dash:zset', '1', 'm']);
    await c.run(['SETBIT', 'dash:bits', '7', '1']);
    t.same(await c.run(['SET', 'dash:k0']), { error: "ERR wrong number of arguments for 'set' command" });
    const after = await feed(target);
    t.equal(calls(after, 'string') - calls(before, 'string'), 26, '10 SET + 15 GET + 1 failed SET');
    t.equal(calls(after, 'list') - calls(before, 'list'), 3);
    t.equal(calls(after, 'hash') - calls(before, 'hash'), 1);
    t.equal(calls(after, 'sortedset') - calls(before, 'sortedset'), 1);
    t.equal(calls(after, 'bitmap') - calls(before, 'bitmap'), 1);
    const stringErrors = (f: DashboardFeed): number => f.processes.reduce((a, p) => a + (p.families.string?.errors ?? 0), 0);
    const errors = stringErrors(after) - stringErrors(before);
    t.equal(errors, 1, 'the wrong-arity SET counts as an error reply');
    t.equal(sumWorkers(after, 'keyspaceHits') - sumWorkers(before, 'keyspaceHits'), 10, 'keyspace hits');
    t.equal(sumWorkers(after, 'keyspaceMisses') - sumWorkers(before, 'keyspaceMisses'), 5, 'keyspace misses');
    t.equal(timed(after) - timed(before), 32, 'every command timed once');
    t.ok(after.time > before.time, 'time moves');

    const d = feedMath.interval(before, after);
    t.ok(d !== null, 'two samples make an interval');
    t.ok(Math.abs(d!.ops['string']! * d!.seconds - 26) < 1e-6, 'ops/s × seconds = the string commands sent');
    t.ok(Math.abs(d!.totalOps * d!.seconds - 32) < 1e-6, 'total');
    t.equal(d!.hitRatio, 10 / 15, 'hit ratio over the interval');
    t.ok(d!.p50Us !== null && d!.p99Us !== null && d!.p50Us <= d!.p99Us, 'p50 <= p99');
    // A counter that went backwards (RESETSTAT, a restarted process) is left out, not negative.
    t.equal(feedMath.interval(after, { ...before, time: after.time + 1000 })!.totalOps, 0);
    t.equal(feedMath.interval(after, after), null, 'no interval without time passing');
    t.equal(feedMath.quantile([0, 10, 0], [8, 16], 0.5), 12, 'interpolated inside the bucket');
    t.equal(feedMath.quantile([0, 0, 4], [8, 16], 0.99), 16, 'the open bucket: its lower bound');
    t.equal(feedMath.quantile([0, 0, 0], [8, 16], 0.5), null);
    t.equal(feedMath.slotText([[0, 8191], [9000, 9000]]), '0-8191, 9000');
  });

  t.test('headless Chromium: token, topology, ops/s rising under load, screenshot', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed` }, async (t) => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'], timeout: 30_000 });
    t.teardown(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    const url = `http://127.0.0.1:${target.httpPort}/dashboard`;

    await page.goto(url, { timeout: 15_000 });
    await page.waitForSelector('#token-form:not([hidden])', { timeout: 10_000 });
    await page.fill('#token', TOKEN);
    await page.click('#token-form button');
    await page.waitForSelector('#status.ok', { timeout: 10_000 });
    t.equal(await page.textContent('#status'), 'live');

    // Topology: both workers, their slot ranges, primary, breaker closed.
    await page.waitForFunction('document.querySelectorAll("#workers tbody tr").length === 2', undefined, { timeout: 5000 });
    // Expressions as strings: this file is compiled without the DOM library.
    const rows = await page.evaluate<string[][]>('Array.from(document.querySelectorAll("#workers tbody tr"), (tr) => Array.from(tr.cells, (td) => td.textContent))');
    t.same(rows.map((r) => [r[2], r[3], r[4], r[7]]), [
      [`127.0.0.1:${target.workerPorts[0]}`, '0-8191', 'primary', 'closed'],
      [`127.0.0.1:${target.workerPorts[1]}`, '8192-16383', 'primary', 'closed'],
    ]);
    const procRoles = await page.evaluate<string[]>('Array.from(document.querySelectorAll("#processes tbody tr td:first-child"), (td) => td.textContent)');
    t.same([...procRoles].sort(), ['manager', 'proxy', 'shard', 'shard']);

    // Idle: wait for a first rate, then run the load generator and watch the figure rise.
    const opsNow = (p: Page): Promise<number> => p.evaluate<number>('Number(document.getElementById("ops-total").dataset.value || "NaN")');
    const idle = await pollUntil(() => opsNow(page), (v) => Number.isFinite(v), 5000, 200);
    t.ok(idle.ok && idle.value < 50, `idle ops/s is low (${idle.value})`);
    const load = execFileP(process.execPath, [LOADGEN, '-p', String(target.port), '-c', '4', '-d', '5', '--warmup', '0', '-q', '--keys', '1000', '--json', '-'], { timeout: 30_000 });
    const busy = await pollUntil(() => opsNow(page), (v) => v > 300, 12_000, 200);
    t.ok(busy.ok, `ops/s rose to ${busy.value} under load`);
    const p99 = await page.evaluate<string>('document.getElementById("p99").dataset.value');
    t.ok(Number(p99) > 0, `p99 shown (${p99} µs)`);
    const legend = await page.evaluate<string[]>('Array.from(document.querySelectorAll("#chart-ops .legend li"), (li) => li.textContent)');
    t.ok(legend.some((l) => l.startsWith('string')), `the string family is charted: ${legend.join(' | ')}`);
    const { stdout } = await load;
    t.ok(JSON.parse(stdout), 'the load generator finished and reported');
    await mkdir(ARTIFACTS, { recursive: true });
    const shot = path.join(ARTIFACTS, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    t.ok(existsSync(shot), `screenshot saved: ${shot}`);

    // The token is kept for the tab: a reload goes straight to the figures.
    await page.reload({ timeout: 15_000 });
    await page.waitForSelector('#status.ok', { timeout: 10_000 });
    t.equal(await page.isHidden('#token-form'), true, 'no token form after a reload');
    t.same(problems, [], 'no console errors or warnings');

    // A dead shard: its worker shows down, and its breaker open.
    const f = await feed(target);
    const shard1 = f.topology.processes.find((p) => p.role === 'shard' && p.name === 'shard-1')!;
    process.kill(shard1.pid, 'SIGKILL');
    const open = await pollUntil(() => feed(target), (x) => x.workers[1]?.up === false && x.workers[1].link.breaker.open === 1, 10_000, 200);
    t.ok(open.ok, 'the feed shows the dead worker down, its breaker open');
    t.match(open.value.workers[1]?.error, /ECONNREFUSED|ECONNRESET|connection closed/);
    t.equal(open.value.workers[1]?.usedMemory, null, 'no figures from a dead worker');
    t.equal(open.value.workers[0]?.up, true, 'the other worker is fine');
    await page.waitForSelector('#status.warn', { timeout: 10_000 });
    t.equal(await page.textContent('#status'), '1 worker not answering');
    const breakerCells = 'Array.from(document.querySelectorAll("#workers tbody td.breaker"), (td) => [td.textContent, td.className])';
    const breakers = await pollUntil(() => page.evaluate<Array<[string, string]>>(breakerCells), (b) => b[1]?.[0] === 'open', 5000, 200);
    t.same(breakers.value.map(([text]) => text), ['closed', 'open'], 'the page shows the open breaker');
    t.match(breakers.value[1]?.[1], /\bbad\b/, 'marked as bad');
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-dead-shard.png'), fullPage: true });
    t.same(problems, [], 'still no console errors');

    // A wrong token: the feed's 401 brings the form back (this page's console shows the 401).
    const other = await browser.newPage();
    await other.goto(url, { timeout: 15_000 });
    await other.waitForSelector('#token-form:not([hidden])', { timeout: 10_000 });
    await other.fill('#token', 'wrong');
    await other.click('#token-form button');
    await other.waitForFunction('/refused/.test(document.getElementById("token-message").textContent) && !document.getElementById("token-form").hidden', undefined, { timeout: 10_000 });
    t.match(await other.textContent('#token-message'), /refused/);
    t.equal(await other.textContent('#status'), 'admin token needed');
  });

}
