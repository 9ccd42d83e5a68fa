// The load generator (bin/shoal-loadtest) as a real process against real servers:
// - the request counts it reports per command equal the server's own INFO
//   commandstats deltas (through the proxy those are the workers' counters, summed);
// - open loop at a fixed rate against a redis-server stopped with SIGSTOP for 200 ms
//   reports the stall in p99.9 (latency from the intended send time);
// - AUTH, bad options, --help.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { isShoal, startRedis, useTarget } from '../helpers/cluster.js';
import { RespClient, sleep } from '../helpers/run.js';
import { OPTIONS, parseCli } from '../../loadtest/generator/cli.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'shoal-loadtest.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-loadgen-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Cmd { command: string; count: number; errors: number; latency: Record<string, number> }
interface Summary {
  count: number; errors: number; opsPerSec: number; errorTypes: Record<string, number>; commands: Cmd[];
  latency: { p50: number; p99: number; p999: number; max: number }; perSecond: number[]; timedOut: number;
}
interface Doc { runs: Summary[]; compare?: { metrics: { metric: string; a: number; b: number; ratio: number }[] } }

/** Runs the generator (bounded); `onStderr` sees its progress lines as they come. */
function loadtest(args: string[], opts: { timeoutMs?: number; onStderr?: (line: string) => void } = {}):
Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '', partial = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      partial += d.toString();
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) opts.onStderr?.(l);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

async function commandStats(c: RespClient): Promise<Map<string, number>> {
  const text = String(await c.run(['INFO', 'commandstats']));
  const m = new Map<string, number>();
  for (const line of text.split(/\r?\n/)) {
    const r = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (r) m.set(r[1]!.toUpperCase(), Number(r[2]));
  }
  return m;
}

t.test('per-command counts equal the server\'s INFO commandstats deltas', async (t) => {
  const { target, client, run } = await useTarget(t);
  await run(['FLUSHALL']);
  // PUBLISH only where the server has it (Shoal's pub/sub comes with a later issue).
  const hasPublish = typeof (await run(['PUBLISH', 'loadgen-probe', 'x'])) === 'number';
  const mix = `get=40,set=15,mget=10,incr=10,lpush=5,zadd=5,hset=10${hasPublish ? ',publish=5' : ''}`;
  const before = await commandStats(client);
  const json = path.join(tmp, 'counts.json');
  const res = await loadtest(['--port', String(target.port), '-c', '8', '-P', '8', '-n', '10000', '--warmup', '0',
    '--keys', '5000', '--mix', mix, '--mget-keys', '4', '--value-size', '10-200', '--ttl', '100-200', '--json', json, '-q']);
  t.equal(res.code, 0, `exit 0 (stderr: ${res.stderr.slice(-500)})`);
  const after = await commandStats(client);
  const s = (JSON.parse(fs.readFileSync(json, 'utf8')) as Doc).runs[0]!;
  t.equal(s.count, 10000, 'exactly the requested number of requests measured');
  t.equal(s.errors, 0, `no errors (${JSON.stringify(s.errorTypes)})`);
  t.equal(s.timedOut, 0);
  t.equal(s.perSecond.reduce((a, b) => a + b, 0), 10000, 'per-second counts add up');
  t.ok(s.latency.p50 > 0 && s.latency.p50 <= s.latency.p99 && s.latency.p99 <= s.latency.max, 'percentiles ordered');
  const expected = ['GET', 'SET', 'MGET', 'INCR', 'LPUSH', 'ZADD', 'HSET', ...(hasPublish ? ['PUBLISH'] : [])];
  t.same(s.commands.map((c) => c.command).sort(), expected.slice().sort(), 'every command of the mix was sent');
  for (const c of s.commands) {
    const delta = (after.get(c.command) ?? 0) - (before.get(c.command) ?? 0);
    if (isShoal && c.command === 'MGET') {
      // The proxy splits an MGET per worker: each part counts on its worker.
      const workers = target.workerPorts.length;
      t.ok(delta >= c.count && delta <= c.count * workers, `MGET: ${delta} worker calls for ${c.count} MGETs over ${workers} workers`);
      continue;
    }
    t.ok(Math.abs(delta - c.count) <= c.count * 0.01, `${c.command}: generator ${c.count}, server delta ${delta}`);
  }
  t.ok(s.commands.find((c) => c.command === 'GET')!.count > 2500, 'the mix weights hold roughly (GET ~40 %)');
});

t.test('open loop at 2000/s shows a 200 ms SIGSTOP of the server in p99.9', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const pid = redis.pids[0]!;
  let stopped = false;
  const resume = () => { if (stopped) { stopped = false; try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ } } };
  t.teardown(resume);
  const json = path.join(tmp, 'stall.json');
  let progressLines = 0;
  let stallDone: Promise<void> | undefined;
  const res = await loadtest(['--port', String(redis.port), '--rate', '2000', '-c', '4', '-d', '3', '--warmup', '0.5',
    '--keys', '1000', '--prefill', '--mix', 'get=90,set=10', '--json', json], {
    onStderr: (line) => {
      if (!/^\[127\.0\.0\.1:\d+ +\d+s\]/.test(line)) return;
      // After the first progress line (t = 1 s, 0.5 s into the measurement): wait 0.5 s,
      // stop the server for 200 ms, resume it (always, even if the test fails).
      if (++progressLines === 1) {
        stallDone = (async () => {
          await sleep(500);
          process.kill(pid, 'SIGSTOP');
          stopped = true;
          await sleep(200);
          resume();
        })();
      }
    },
  });
  await stallDone;
  t.equal(res.code, 0, `exit 0 (stderr: ${res.stderr.slice(-500)})`);
  t.ok(progressLines >= 3, `a progress line per second (${progressLines})`);
  const s = (JSON.parse(fs.readFileSync(json, 'utf8')) as Doc).runs[0]!;
  t.equal(s.count, 6000, 'every scheduled request was sent and answered (3 s x 2000/s)');
  t.equal(s.errors, 0);
  t.ok(s.latency.p999 >= 180, `p99.9 ${s.latency.p999} ms includes the 200 ms stall`);
  t.ok(s.latency.max >= 195, `max ${s.latency.max} ms`);
});

t.test('AUTH, --compare, bad options and --help', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const c = await RespClient.connect(redis.port);
  t.teardown(() => c.close());
  await c.run(['CONFIG', 'SET', 'requirepass', 'sesame']);

  const ok = await loadtest(['--port', String(redis.port), '--pass', 'sesame', '-n', '2000', '-c', '2', '--warmup', '0', '-q']);
  t.equal(ok.code, 0, `AUTH with the right password (stderr: ${ok.stderr.slice(-300)})`);
  t.match(ok.stdout, /^ALL\s+2000\s+0\s/m, 'the table has the ALL row');
  const wrong = await loadtest(['--port', String(redis.port), '--pass', 'nope', '-n', '10', '-q']);
  t.equal(wrong.code, 2, 'a failed AUTH exits 2');
  t.match(wrong.stderr, /AUTH failed: WRONGPASS invalid username-password pair or user is disabled/);
  const noauth = await loadtest(['--port', String(redis.port), '-n', '100', '-c', '1', '--warmup', '0', '-q']);
  t.equal(noauth.code, 0, 'error replies do not fail the run');
  t.match(noauth.stdout, /errors by type: NOAUTH=100/, 'errors are counted by type');

  // --spin: the busy-polling scheduler sends the same schedule.
  const spin = await loadtest(['--port', String(redis.port), '--pass', 'sesame', '--rate', '2000', '-n', '1000', '--warmup', '0.2',
    '-c', '2', '--spin', '-q']);
  t.equal(spin.code, 0, `--spin (stderr: ${spin.stderr.slice(-300)})`);
  t.match(spin.stdout, /open loop at 2000 req\/s/);
  t.match(spin.stdout, /^ALL\s+1000\s+0\s/m, 'every scheduled request measured');
  t.match(spin.stdout, /^send lag/m);

  // The same workload against two servers (here the same one twice), interleaved.
  const json = path.join(tmp, 'compare.json');
  const cmp = await loadtest(['--port', String(redis.port), '--pass', 'sesame', '--compare', `127.0.0.1:${redis.port}`,
    '--rounds', '2', '-d', '0.3', '--warmup', '0', '-c', '2', '--json', json, '-q']);
  t.equal(cmp.code, 0, `compare (stderr: ${cmp.stderr.slice(-300)})`);
  t.match(cmp.stdout, /medians of 2 interleaved rounds/);
  const doc = JSON.parse(fs.readFileSync(json, 'utf8')) as Doc;
  t.equal(doc.runs.length, 4, 'A B A B');
  t.ok(doc.compare!.metrics.find((m) => m.metric === 'ops/s')!.ratio > 0);

  // Bad options: one as a process (exit status 1, message on stderr), the rest through
  // the same parser in-process.
  const bad = await loadtest(['--mix', 'get=90,flush=10']);
  t.equal(bad.code, 1, 'a bad option exits 1');
  t.match(bad.stderr, /--mix: unknown command "flush" \(use get, set, mget, incr, lpush, zadd, publish, hset, ping\)/);
  for (const [args, msg] of [
    [['--dist', 'pareto'], /--dist: expected uniform or zipf/],
    [['--value-size', '9-3'], /--value-size: expected N or MIN-MAX/],
    [['--connections', '0'], /--connections: expected an integer from 1/],
    [['--rate', 'fast'], /--rate: expected a number/],
    [['--compare', 'nowhere'], /--compare: expected HOST:PORT/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['--user', 'u'], /--user needs --pass/],
  ] as [string[], RegExp][]) {
    t.throws(() => parseCli(args), { name: 'UsageError', message: msg }, args.join(' '));
  }
  const help = await loadtest(['--help']);
  t.equal(help.code, 0);
  for (const [name, spec] of Object.entries(OPTIONS)) {
    const flag = `--${name}`;
    t.match(help.stdout, flag, `--help lists ${flag}`);
    if ('short' in spec) t.match(help.stdout, `-${spec.short}, ${flag}`, `--help lists -${spec.short}`);
  }
});
