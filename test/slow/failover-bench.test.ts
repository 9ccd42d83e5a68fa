/**
 * The `failover` and `replication` bench scenarios (loadtest/macro/failover.ts,
 * replication.ts) end to end at tiny size, against real processes:
 * - failover with FAILOVER_TARGETS=redis: a real Redis Cluster (3 + 3,
 *   cluster-node-timeout 1000) started by loadtest/redis-cluster.ts, 2 kills under 20
 *   writers: the section's table has the row with a failover time per kill (positive,
 *   below the first-write timeout), every acknowledged key read back (lost is a number),
 *   the per-kill table, and the failover chart with one line per system;
 * - replication with REPL_CONFIGS=none: the Shoal proxy without a replica beside redis
 *   alone: a row with numbers in both rps cells and the bar chart;
 * - a bad knob fails the scenario with a message naming it.
 * The Shoal halves with replicas need issue 8's replication and are exercised by
 * `npm run bench` itself (see loadtest/RESULTS.md).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { runBench } from '../helpers/bench-run.js';
import { cellNumber, column, parseTables } from '../../loadtest/report/tables.js';
import { chartsFor } from '../../loadtest/report/charts.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-failover-bench-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

function section(file: string, name: string): string {
  const text = fs.readFileSync(file, 'utf8');
  return new RegExp(`<!-- section:${name} -->\\n([\\s\\S]*?)<!-- /section:${name} -->`).exec(text)?.[1] ?? '';
}

t.test('failover against a real Redis Cluster: per-kill times, acknowledged writes read back, chart', async (t) => {
  const file = path.join(tmp, 'RESULTS-failover.md');
  const r = await runBench({ SCENARIOS: 'failover', FAILOVER_TARGETS: 'redis', FAILOVER_REDIS_KILLS: '2', FAILOVER_BLOCKS: '1',
    FAILOVER_SETTLE_MS: '300', FAILOVER_TIMEOUT: '20', RESULTS_FILE: file }, 80_000);
  t.equal(r.code, 0, `bench exits 0\n${r.stderr.slice(-3000)}`);
  const sec = section(file, 'failover');
  const tables = parseTables(sec);
  const summary = tables.find((x) => column(x, /^system$/) >= 0 && column(x, /^p50 ms$/) >= 0);
  t.ok(summary, 'summary table');
  const row = summary?.rows[0] ?? [];
  t.match(row[0] ?? '', /redis cluster/, 'the Redis Cluster row');
  t.equal(cellNumber(row[column(summary!, /^kills$/)]), 2, 'two kills measured');
  const p50 = cellNumber(row[column(summary!, /^p50 ms$/)]), max = cellNumber(row[column(summary!, /^max ms$/)]);
  t.ok(p50 > 0 && p50 <= max && max < 20_000, `failover times are positive and ordered (p50 ${p50}, max ${max})`);
  t.ok(cellNumber(row[column(summary!, /^writes acked$/)]) > 100, 'the writers had writes acknowledged');
  t.ok(Number.isFinite(cellNumber(row[column(summary!, /^acked writes lost$/)])), 'acknowledged writes lost is a number');
  const perKill = tables.find((x) => column(x, /^failover ms$/) >= 0);
  t.equal(perKill?.rows.length, 2, 'one row per kill');
  t.not(perKill?.rows[0]?.[column(perKill, /^group$/)], perKill?.rows[1]?.[column(perKill, /^group$/)], 'the killed group alternates');
  t.match(sec, /!\[[^\]]*\]\(charts\/failover\.svg\)/, 'chart link under the table');
  const svg = fs.readFileSync(path.join(tmp, 'charts', 'failover.svg'), 'utf8');
  t.match(svg, /redis cluster/, 'chart names the system');
  t.match(svg, /p50 goal &lt; 1 s/, 'chart shows the goal lines (XML-escaped)');
  t.equal(chartsFor('failover', sec).length, 1, 'chartsFor draws it from the section again');
  t.notMatch(r.stderr, /still running after SIGTERM/, 'every server stopped on SIGTERM');
});

t.test('replication: Shoal without a replica beside redis alone, bar chart', async (t) => {
  const file = path.join(tmp, 'RESULTS-replication.md');
  const r = await runBench({ SCENARIOS: 'replication', REPL_CONFIGS: 'none', ROUNDS: '1', DURATION: '1', QUIET_MAX: '1', PAUSE: '0.1', RESULTS_FILE: file }, 80_000);
  t.equal(r.code, 0, `bench exits 0\n${r.stderr.slice(-3000)}`);
  const sec = section(file, 'replication');
  const tb = parseTables(sec).find((x) => column(x, /^shoal_rps$/) >= 0);
  const row = tb?.rows[0] ?? [];
  t.match(row[column(tb!, /^workload$/)] ?? '', /SET no replica P=16/, 'the no-replica row');
  t.ok(cellNumber(row[column(tb!, /^shoal_rps$/)]) > 0 && cellNumber(row[column(tb!, /^redis_rps$/)]) > 0, 'rps on both sides');
  t.match(row[column(tb!, /^load1/)] ?? '', /^\d+\.\d\d \(\d+\.\d\d\)$/, 'load average recorded');
  t.match(sec, /\(charts\/replication\.svg\)/, 'bar chart linked');
});

t.test('a bad knob fails the scenario with a message naming it', async (t) => {
  const r = await runBench({ SCENARIOS: 'failover', FAILOVER_TARGETS: 'bogus', NO_RESULTS: '1' }, 20_000);
  t.not(r.code, 0, 'non-zero exit');
  t.match(r.stdout + r.stderr, /FAILOVER_TARGETS: unknown "bogus"/, 'names the knob');
});
