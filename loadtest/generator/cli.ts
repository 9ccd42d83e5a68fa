// `shoal-loadtest` / `npm run loadtest -- ...`: options, --help, the runs (one, or
// interleaved A B A B with --compare), progress on stderr, tables on stdout, --json.

import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { prefill } from './prefill.js';
import { runLoad, type LoadOptions } from './run.js';
import { compare, formatCompare, formatRun, summarize, type CompareSummary, type RunSummary } from './report.js';
import { COMMANDS, parseMix, parseRange, WorkloadError, type Workload } from './workload.js';

export const HELP = `Usage: shoal-loadtest [options]        (or: npm run loadtest -- [options])

Drives a Redis-protocol server (Shoal or Redis) with a configurable workload and
reports throughput, latency percentiles (HdrHistogram: p50 p90 p99 p99.9 p99.99 max)
and errors by type. A progress line goes to stderr every second, the results to
stdout as a table (and to --json FILE).

Target:
  --host HOST              server address (default 127.0.0.1)
  -p, --port PORT          server port (default 6379)
  --user USER              AUTH as this user (needs --pass)
  --pass PASSWORD          AUTH PASSWORD (or AUTH USER PASSWORD with --user) on every connection

Load shape:
  -c, --connections N      connections (default 50)
  -P, --pipeline N         max unanswered requests per connection; the closed loop
                           writes batches of N, like redis-benchmark -P (default 1);
                           open loop: requests beyond N wait in the client, timed
                           from their intended send time (default: no limit)
  --rate N                 OPEN LOOP: N requests/s in total on a fixed timeline,
                           request i at t0 + i/N on connection i mod C; latency is
                           measured from each request's intended send time, so a
                           server stall is not hidden (no coordinated omission).
                           Without --rate: closed loop, as fast as replies come back
  --spin                   open loop: busy-poll the event loop instead of sleeping
                           between requests (the lowest send lag, but a full core
                           while requests are in flight: on a small machine that core
                           is taken from the server under test)
  -d, --duration SECS      measured seconds (default 10)
  -n, --requests N         measure N requests instead of a duration
  --warmup SECS            seconds of load before measuring, not recorded (default 1)

Workload:
  --keys N                 keys per data type: key:000000000000 .. (default 100000)
  --dist uniform|zipf      key popularity (default uniform)
  --zipf-skew S            zipf exponent, > 0 (default 0.99)
  --value-size N|MIN-MAX   value bytes, fixed or uniform in a range (default 100)
  --mix CMD=W,...          command mix by weight (default get=90,set=10); commands:
                           ${COMMANDS.join(' ')}
                           (GET SET MGET on key:*, INCR ctr:*, LPUSH lst:*, ZADD zst:*,
                           HSET hsh:*, PUBLISH chn:*; an MGET counts as one request)
  --mget-keys N            keys per MGET (default 10)
  --fields N               distinct HSET fields / ZADD members per key (default 100)
  --ttl SECS|MIN-MAX       SETs carry EX with this TTL in seconds (default: no TTL)
  --prefill                SET every key:N of the key space first, so GETs hit
  --seed N                 random seed; same seed, same request stream (default 1)

Output:
  --json FILE              also write the results as JSON ("-": stdout instead of the tables)
  -q, --quiet              no progress lines

Comparison:
  --compare HOST:PORT      run the same workload against a second server B too,
                           interleaved A B A B ..., and print medians and B/A ratios
  --rounds N               rounds of the comparison (default 3)
  --compare-user USER      AUTH user for B (default: --user)
  --compare-pass PASSWORD  AUTH password for B (default: --pass)

Other:
  --connect-timeout MS     connect + AUTH timeout (default 5000)
  --drain-timeout MS       after the last request, how long to wait for the
                           outstanding replies; later ones count as TIMEOUT (default 10000)
  -h, --help               this text

Exit status: 0 ok, 1 bad usage, 2 could not connect or AUTH failed,
3 a run failed (connection lost, replies missing).`;

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface CliOptions {
  load: Omit<LoadOptions, 'progress' | 'label'>;
  prefill: boolean;
  json: string | undefined;
  quiet: boolean;
  compare: { host: string; port: number; user?: string | undefined; pass?: string | undefined } | undefined;
  rounds: number;
}

function num(flag: string, v: string | undefined, def: number, min: number, max = Number.MAX_SAFE_INTEGER, integer = true): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${flag}: expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got "${v}"`);
  }
  return n;
}

function hostPort(flag: string, v: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(v);
  if (!m) throw new UsageError(`${flag}: expected HOST:PORT, got "${v}"`);
  return { host: (m[1] || '127.0.0.1').replace(/^\[(.*)\]$/, '$1'), port: num(flag, m[2], 0, 1, 65535) };
}

/** Every option (--help lists each one; a test checks that). */
export const OPTIONS = {
  host: { type: 'string' }, port: { type: 'string', short: 'p' }, user: { type: 'string' }, pass: { type: 'string' },
  connections: { type: 'string', short: 'c' }, pipeline: { type: 'string', short: 'P' }, rate: { type: 'string' },
  duration: { type: 'string', short: 'd' }, requests: { type: 'string', short: 'n' }, warmup: { type: 'string' },
  keys: { type: 'string' }, dist: { type: 'string' }, 'zipf-skew': { type: 'string' }, 'value-size': { type: 'string' },
  mix: { type: 'string' }, 'mget-keys': { type: 'string' }, fields: { type: 'string' }, ttl: { type: 'string' },
  prefill: { type: 'boolean' }, seed: { type: 'string' }, json: { type: 'string' }, quiet: { type: 'boolean', short: 'q' },
  compare: { type: 'string' }, rounds: { type: 'string' }, 'compare-user': { type: 'string' }, 'compare-pass': { type: 'string' },
  spin: { type: 'boolean' }, 'connect-timeout': { type: 'string' }, 'drain-timeout': { type: 'string' }, help: { type: 'boolean', short: 'h' },
} as const;

export function parseCli(argv: string[]): CliOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, strict: true, allowPositionals: false, options: OPTIONS });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (v.user !== undefined && v.pass === undefined) throw new UsageError('--user needs --pass');
  const dist = v.dist ?? 'uniform';
  if (dist !== 'uniform' && dist !== 'zipf') throw new UsageError(`--dist: expected uniform or zipf, got "${dist}"`);
  try {
    const [valueMin, valueMax] = parseRange('--value-size', v['value-size'] ?? '100', 0, 64 * 1024 * 1024);
    const [ttlMin, ttlMax] = v.ttl === undefined ? [0, 0] : parseRange('--ttl', v.ttl, 1, 100 * 365 * 86400);
    const workload: Workload = {
      keys: num('--keys', v.keys, 100_000, 1, 2 ** 31 - 1),
      dist,
      zipfSkew: num('--zipf-skew', v['zipf-skew'], 0.99, 0.0001, 100, false),
      valueMin, valueMax,
      mix: parseMix(v.mix ?? 'get=90,set=10'),
      mgetKeys: num('--mget-keys', v['mget-keys'], 10, 1, 100_000),
      fields: num('--fields', v.fields, 100, 1, 2 ** 31 - 1),
      ttlMin, ttlMax,
      seed: num('--seed', v.seed, 1, 0, 2 ** 32 - 1),
    };
    const requests = num('--requests', v.requests, 0, 1);
    const compareTarget = v.compare === undefined ? undefined : hostPort('--compare', v.compare);
    return {
      load: {
        host: v.host ?? '127.0.0.1',
        port: num('--port', v.port, 6379, 1, 65535),
        user: v.user,
        pass: v.pass,
        connections: num('--connections', v.connections, 50, 1, 10_000),
        pipeline: num('--pipeline', v.pipeline, v.rate === undefined ? 1 : 0, 1, 100_000),
        workload,
        duration: num('--duration', v.duration, 10, 0.001, 365 * 86400, false),
        requests,
        warmup: num('--warmup', v.warmup, 1, 0, 3600, false),
        rate: num('--rate', v.rate, 0, 0.001, 1e9, false),
        wait: v.spin ? 'spin' : 'sleep',
        connectTimeoutMs: num('--connect-timeout', v['connect-timeout'], 5000, 1),
        drainTimeoutMs: num('--drain-timeout', v['drain-timeout'], 10_000, 0),
      },
      prefill: v.prefill ?? false,
      json: v.json,
      quiet: v.quiet ?? false,
      compare: compareTarget && {
        ...compareTarget,
        user: v['compare-user'] ?? v.user,
        pass: v['compare-pass'] ?? v.pass,
      },
      rounds: num('--rounds', v.rounds, 3, 1, 1000),
    };
  } catch (e) {
    if (e instanceof WorkloadError) throw new UsageError(e.message);
    throw e;
  }
}

/** Exit codes of the CLI. */
export const EXIT = { ok: 0, usage: 1, connect: 2, failed: 3 } as const;

class ConnectError extends Error {}

export async function main(argv: string[]): Promise<number> {
  let o: CliOptions | 'help';
  try {
    o = parseCli(argv);
  } catch (e) {
    process.stderr.write(`shoal-loadtest: ${(e as Error).message}\n(see --help)\n`);
    return EXIT.usage;
  }
  if (o === 'help') {
    process.stdout.write(`${HELP}\n`);
    return EXIT.ok;
  }
  const opts = o;
  const log = (line: string) => { if (!opts.quiet) process.stderr.write(`${line}\n`); };
  const toStdout = opts.json !== '-';
  const targets: { host: string; port: number; user?: string | undefined; pass?: string | undefined }[] = [
    { host: opts.load.host, port: opts.load.port, user: opts.load.user, pass: opts.load.pass }];
  if (opts.compare) targets.push(opts.compare);
  const runs: RunSummary[][] = targets.map(() => []);
  try {
    if (opts.prefill) {
      for (const t of targets) {
        const t0 = Date.now();
        log(`prefill ${t.host}:${t.port}: ${opts.load.workload.keys} keys`);
        try {
          await prefill({ ...t, connectTimeoutMs: opts.load.connectTimeoutMs }, opts.load.workload);
        } catch (e) {
          throw new ConnectError((e as Error).message);
        }
        log(`prefill ${t.host}:${t.port}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      }
    }
    const rounds = opts.compare ? opts.rounds : 1;
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < targets.length; i++) {
        const t = targets[i]!;
        const name = opts.compare ? `${i === 0 ? 'A' : 'B'} ${t.host}:${t.port}` : `${t.host}:${t.port}`;
        if (opts.compare) log(`round ${r + 1}/${rounds}: ${name}`);
        let result;
        try {
          result = await runLoad({ ...opts.load, ...t, label: name, progress: opts.quiet ? undefined : log });
        } catch (e) {
          throw new ConnectError((e as Error).message);
        }
        const s = summarize(result);
        runs[i]!.push(s);
        if (toStdout) process.stdout.write(`${formatRun(s)}\n\n`);
        if (s.failure || s.timedOut) {
          writeJson(opts, runs, undefined);
          process.stderr.write(`shoal-loadtest: run against ${s.target} failed: ${s.failure ?? `${s.timedOut} requests without a reply`}\n`);
          return EXIT.failed;
        }
      }
    }
  } catch (e) {
    process.stderr.write(`shoal-loadtest: ${(e as Error).message}\n`);
    writeJson(opts, runs, undefined);
    return e instanceof ConnectError ? EXIT.connect : EXIT.failed;
  }
  let cmp: CompareSummary | undefined;
  if (opts.compare) {
    cmp = compare(runs[0]!, runs[1]!);
    if (toStdout) process.stdout.write(`${formatCompare(cmp)}\n`);
  }
  writeJson(opts, runs, cmp);
  return EXIT.ok;
}

function writeJson(o: CliOptions, runs: RunSummary[][], cmp: CompareSummary | undefined): void {
  if (o.json === undefined) return;
  const doc = {
    tool: 'shoal-loadtest',
    date: new Date().toISOString(),
    options: { ...o.load, pass: o.load.pass === undefined ? undefined : '***', prefill: o.prefill, rounds: o.rounds },
    runs: runs.flat(),
    ...(cmp ? { compare: cmp } : {}),
  };
  const text = `${JSON.stringify(doc, null, 2)}\n`;
  if (o.json === '-') process.stdout.write(text);
  else fs.writeFileSync(o.json, text);
}
