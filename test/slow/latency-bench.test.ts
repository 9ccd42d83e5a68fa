/**
 * The `latency` bench scenario (loadtest/macro/latency.ts) end to end at tiny size:
 * bench.js with SCENARIOS=latency starts the embedded cluster, a redis-server and a
 * bare Node forwarder in front of that redis (loadtest/macro/tcp-forwarder.ts), drives
 * all of them with the open-loop generator and writes a section with issue 5's table,
 * the percentile table (one row per target), the Node-hop table (each target at both
 * rates, p99 over redis direct) and the context table with every target's CPU.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { runBench } from '../helpers/bench-run.js';
import { cellNumber, column, parseTables } from '../../loadtest/report/tables.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-latency-bench-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

const TARGETS = ['Shoal (proxy)', 'redis', 'redis via a Node forwarder'];

t.test('tiny latency scenario: the forwarder baseline beside redis and the proxy', async (t) => {
  const file = path.join(tmp, 'RESULTS.md');
  const { code, stderr } = await runBench({
    SCENARIOS: 'latency', RESULTS_FILE: file, PAUSE: '0', QUIET_MAX: '1', LAT_KEYS: '2000', LAT_SECS: '0.5',
    LAT_WARMUP: '0.2', LAT_ROUNDS: '1', LAT_LOW_RATE: '300',
  }, 100_000);
  t.equal(code, 0, stderr.slice(-3000));
  const all = fs.readFileSync(file, 'utf8');
  const sec = /<!-- section:latency -->([\s\S]*?)<!-- \/section:latency -->/.exec(all)?.[1] ?? '';
  t.match(sec, /### What one Node hop costs by itself/);
  const tables = parseTables(sec);

  const pct = tables.find((x) => column(x, /^server$/) >= 0 && column(x, /^p99\.9 ms$/) >= 0);
  t.same(pct?.rows.map((r) => r[0]), TARGETS, 'percentiles of all three targets at the 50 % rate');

  const hop = tables.find((x) => column(x, /^p99 minus redis direct/) >= 0);
  t.ok(hop, 'Node-hop table');
  if (hop) {
    const ti = column(hop, /^target$/), ri = column(hop, /^offered rate$/), pi = column(hop, /^p99 ms$/), di = column(hop, /^p99 minus/);
    t.same(hop.rows.map((r) => r[ti]), [TARGETS[1], TARGETS[2], TARGETS[0], TARGETS[1], TARGETS[2], TARGETS[0]]);
    t.equal(hop.rows[0]![ri], '300/s', 'the light rate first');
    t.not(hop.rows[3]![ri], '300/s', 'then the 50 % rate');
    for (const r of hop.rows) {
      t.ok(cellNumber(r[pi]) > 0, `${r[ri]} ${r[ti]}: p99 ${r[pi]}`);
      if (r[ti] === 'redis') t.equal(r[di], '', 'redis direct is the reference');
    }
    for (const k of [1, 2, 4, 5]) {
      const row = hop.rows[k]!;
      const redis = hop.rows[k < 3 ? 0 : 3]!;
      const want = cellNumber(row[pi]) - cellNumber(redis[pi]); // the difference may be negative: Number(), not cellNumber
      t.ok(Math.abs(Number(row[di]) - want) < 0.002, `${row[ti]} at ${row[ri]}: p99 minus redis's (${row[di]} vs ${want})`);
    }
  }

  const ctx = tables.find((x) => column(x, /^server cpu%$/) >= 0);
  const fwdRows = ctx?.rows.filter((r) => r[1] === TARGETS[2]) ?? [];
  t.equal(fwdRows.length, 2, 'the forwarder in the context table at both open-loop rates');
  for (const r of fwdRows) t.ok(cellNumber(r[4]) > 0, `forwarder + its redis used CPU (${r[4]} %)`);
});
