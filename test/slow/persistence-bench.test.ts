/**
 * The `persistence` bench scenario (loadtest/macro/persistence.ts) end to end at tiny
 * size: `bench.js` with SCENARIOS=persistence starts real servers (the embedded cluster
 * with appendonly, shoal-shard, redis-server), runs redis-benchmark and the snapshot
 * measurement, and writes a RESULTS file whose section has the AOF table (one row per
 * mode, numbers in every cell that must have one), the log-cost table, the snapshot
 * table for both servers (the right files, every sample key read back after the
 * restart), the Shoal/redis ratios, the goals with verdicts and the bar chart. A bad
 * knob fails the scenario with a message naming it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { runBench } from '../helpers/bench-run.js';
import { cellNumber, column, parseTables, type MdTable } from '../../loadtest/report/tables.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-persist-bench-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

const KEYS = 10_000;

const cell = (tb: MdTable, row: string[], re: RegExp) => row[column(tb, re)] ?? '';

t.test('tiny persistence scenario: section shape, numbers, chart', async (t) => {
  const file = path.join(tmp, 'RESULTS.md');
  const { code, stdout, stderr } = await runBench({
    SCENARIOS: 'persistence', RESULTS_FILE: file, ROUNDS: '1', DURATION: '0.5', PAUSE: '0', QUIET_MAX: '1',
    PERSIST_MODES: 'everysec,always,off', PERSIST_TARGETS: 'cluster', PERSIST_KEYS: String(KEYS),
  }, 80_000);
  t.equal(code, 0, stderr.slice(-3000));
  t.match(stdout, /\[persistence\]/, 'text summary on stdout');
  t.match(stderr, /load: \d+% \(/, 'progress lines while loading');
  const all = fs.readFileSync(file, 'utf8');
  const sec = /<!-- section:persistence -->([\s\S]*?)<!-- \/section:persistence -->/.exec(all)?.[1] ?? '';
  t.match(sec, /^## Persistence: append-only log throughput and snapshots \(issue 7\)$/m);
  t.match(sec, /--appendonly yes --appendfsync everysec/, 'the exact commands are in the method');
  t.match(sec, /redis-benchmark -t set -P 16 -c 50 -r 100000 -d 3/);
  const tables = parseTables(sec);

  const aof = tables.find((x) => column(x, /^shoal_rps$/) >= 0);
  t.ok(aof, 'AOF table');
  if (aof) {
    t.same(aof.rows.map((r) => cell(aof, r, /^workload$/)), ['SET everysec P=16', 'SET always P=16', 'SET appendonly-no P=16']);
    for (const r of aof.rows) {
      t.equal(cell(aof, r, /^target$/), 'cluster');
      for (const c of [/^shoal_rps$/, /^redis_rps$/, /^ratio$/, /^shoal p99 ms$/, /^redis us\/req$/]) {
        t.ok(cellNumber(cell(aof, r, c)) > 0, `${r[1]} ${c.source}: ${cell(aof, r, c)}`);
      }
      const ratio = cellNumber(cell(aof, r, /^ratio$/));
      const want = cellNumber(cell(aof, r, /^shoal_rps$/)) / cellNumber(cell(aof, r, /^redis_rps$/));
      t.ok(Math.abs(ratio - want) < 0.002 + want * 0.002, `ratio = shoal/redis (${ratio} vs ${want})`);
    }
    t.match(sec, /!\[[^\]]*\]\(charts\/persistence\.svg\)/, 'chart linked');
    t.ok(fs.existsSync(path.join(tmp, 'charts', 'persistence.svg')), 'chart drawn');
  }

  const costT = tables.find((x) => column(x, /^shoal on\/off$/) >= 0);
  t.same(costT?.rows.map((r) => r[1]), ['everysec', 'always'], 'log cost per mode against appendonly no');

  const snap = tables.find((x) => column(x, /^BGSAVE s$/) >= 0);
  t.ok(snap, 'snapshot table');
  if (snap) {
    t.same(snap.rows.map((r) => r[0]), ['shoal-shard', 'redis']);
    t.same(snap.rows.map((r) => cell(snap, r, /^file$/)), ['shard-0/worker-0/dump.sdb', 'dump.rdb'], 'the snapshot files');
    for (const r of snap.rows) {
      t.equal(cell(snap, r, /^keys$/), String(KEYS));
      for (const c of [/^BGSAVE s$/, /^longest GET ms$/, /^file MiB$/, /^restart to ready s$/, /^load \(server log\) s$/, /^empty start s$/]) {
        t.ok(cellNumber(cell(snap, r, c)) > 0, `${r[0]} ${c.source}: ${cell(snap, r, c)}`);
      }
      t.match(cell(snap, r, /^read back$/), /^(\d+)\/\1$/, `${r[0]}: every sample key read back after the restart`);
      t.ok(cellNumber(cell(snap, r, /^restart to ready s$/)) >= cellNumber(cell(snap, r, /^load \(server log\) s$/)) - 0.01,
        `${r[0]}: ready after the load the server logs`);
    }
    t.match(cell(snap, snap.rows[0]!, /^server pause ms$/), /\(walk slice\)$/);
    t.match(cell(snap, snap.rows[1]!, /^server pause ms$/), /\(fork\)$/);
  }

  const ratios = tables.find((x) => column(x, /^shoal\/redis$/) >= 0);
  t.same(ratios?.rows.map((r) => r[0]), ['BGSAVE time', 'longest pause seen by a GET client', 'file size',
    'load: restart to PING + full DBSIZE', 'load: as the server logs it']);
  for (const r of ratios?.rows ?? []) t.ok(cellNumber(r[3]) > 0, `${r[0]} ratio ${r[3]}`);

  const goals = tables.find((x) => column(x, /^verdict$/) >= 0);
  t.equal(goals?.rows.length, 3, 'goals: everysec, always, snapshot pause');
  t.match(goals?.rows[0]?.[1] ?? '', />= 0\.4x redis/);
  t.match(goals?.rows[0]?.[3] ?? '', /^(met|not met)$/);
  t.equal(goals?.rows[1]?.[3], 'reported');
  t.match(goals?.rows[2]?.[3] ?? '', /^(met|not met)$/);
});

t.test('a bad knob fails the scenario and names it', async (t) => {
  const file = path.join(tmp, 'BAD.md');
  const { code, stderr } = await runBench({ SCENARIOS: 'persistence', RESULTS_FILE: file, PERSIST_MODES: 'sometimes' }, 30_000);
  t.equal(code, 1, 'exit code of a usage error');
  t.match(stderr, /PERSIST_MODES: unknown mode "sometimes" \(use everysec, always, no, off = appendonly no\)/);
  t.match(fs.readFileSync(file, 'utf8'), /## persistence: failed/);
});
