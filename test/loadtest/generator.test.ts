/**
 * The load generator's parts, in-process: the Zipf and uniform samplers, the reply
 * scanner (every fixture whole and at every prefix), CommandWriter's bytes (decoded by
 * the server's own RESP decoder), the open-loop timeline (intended times, round
 * robin, warm-up boundary) and the option parser.
 */
import t from 'tap';
import { performance } from 'node:perf_hooks';
import { RespDecoder } from '../../shared/resp/decoder.js';
import { Rng, UniformSampler, ZipfSampler } from '../../loadtest/generator/distribution.js';
import { errorPrefix } from '../../loadtest/generator/error-reply.js';
import { replyEnd } from '../../shared/resp/reply-scanner.js';
import { CMD, CommandWriter, parseMix, type Workload } from '../../loadtest/generator/workload.js';
import { OpenLoopScheduler } from '../../loadtest/generator/open-loop.js';
import { newHistogram } from '../../loadtest/generator/stats.js';
import type { LoadConnection } from '../../loadtest/generator/connection.js';
import { parseCli } from '../../loadtest/generator/cli.js';

t.test('zipf: rank frequencies follow 1/k^s', async (t) => {
  for (const s of [0.99, 1, 1.3]) {
    const n = 1000;
    const z = new ZipfSampler(n, s, new Rng(42));
    const counts = new Float64Array(n);
    const N = 300_000;
    for (let i = 0; i < N; i++) {
      const k = z.sample();
      if (!(k >= 0 && k < n && Number.isInteger(k))) t.fail(`sample ${k} out of range`);
      counts[k]!++;
    }
    let h = 0;
    for (let k = 1; k <= n; k++) h += k ** -s;
    for (const k of [1, 2, 3, 10, 100]) {
      const expected = (k ** -s / h) * N;
      const got = counts[k - 1]!;
      t.ok(Math.abs(got - expected) < 5 * Math.sqrt(expected) + expected * 0.02, `s=${s} rank ${k}: ${got} vs ${expected.toFixed(0)} expected`);
    }
  }
  // Huge key spaces need no table and stay in range.
  const big = new ZipfSampler(2 ** 31 - 1, 0.99, new Rng(1));
  for (let i = 0; i < 10_000; i++) {
    const k = big.sample();
    if (!(k >= 0 && k < 2 ** 31 - 1)) t.fail(`big sample ${k}`);
  }
  t.throws(() => new ZipfSampler(10, 0, new Rng(1)), /skew must be > 0/);
});

t.test('uniform: in range, flat, seeded', async (t) => {
  const u = new UniformSampler(10, new Rng(7));
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < 100_000; i++) counts[u.sample()]!++;
  t.ok(counts.every((c) => c > 9000 && c < 11000), `flat: ${counts.join(' ')}`);
  const a = new Rng(5), b = new Rng(5);
  t.same(Array.from({ length: 5 }, () => a.next()), Array.from({ length: 5 }, () => b.next()), 'same seed, same stream');
});

const replies = ['+OK\r\n', '-ERR unknown command\r\n', ':12\r\n', '$5\r\nhello\r\n', '$-1\r\n', '$0\r\n\r\n',
  '$4\r\na\r\nb\r\n', '*2\r\n$1\r\na\r\n*1\r\n:1\r\n', '*-1\r\n', '*0\r\n', '_\r\n', '%1\r\n+a\r\n:1\r\n',
  '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n', `$300\r\n${'x'.repeat(300)}\r\n`];

t.test('reply scanner: every fixture whole and at every prefix', async (t) => {
  const all = Buffer.from(replies.join(''), 'latin1');
  const ends: number[] = [];
  let off = 0;
  for (const r of replies) ends.push((off += r.length));
  // Scanning a prefix finds exactly the replies it holds whole.
  for (let len = 0; len <= all.length; len++) {
    let pos = 0, n = 0;
    for (;;) {
      const next = replyEnd(all, pos, len);
      if (next < 0) break;
      if (next !== ends[n]) t.fail(`prefix ${len}: reply ${n} ends at ${next}, expected ${ends[n]}`);
      pos = next;
      n++;
    }
    const expected = ends.filter((e) => e <= len).length;
    if (n !== expected) t.fail(`prefix ${len}: ${n} replies, expected ${expected}`);
  }
  t.pass('all prefixes');
  t.equal(errorPrefix(Buffer.from(replies[1]!), 0, replies[1]!.length), 'ERR');
  t.equal(errorPrefix(Buffer.from(replies[12]!), 0, replies[12]!.length), 'WRONGTYPE');
  t.throws(() => replyEnd(Buffer.from('?x\r\n'), 0, 4), /malformed reply \(byte 0x3f at offset 0\)/);
  t.throws(() => replyEnd(Buffer.from('$x\r\n'), 0, 4), /malformed reply \(byte 0x78 at offset 1\)/);
});

const workload = (over: Partial<Workload> = {}): Workload => ({
  keys: 1000, dist: 'uniform', zipfSkew: 0.99, valueMin: 5, valueMax: 40, mix: parseMix('get=1,set=1,mget=1,incr=1,lpush=1,zadd=1,publish=1,hset=1,ping=1'),
  mgetKeys: 3, fields: 7, ttlMin: 10, ttlMax: 20, seed: 9, ...over,
});

t.test('CommandWriter: valid RESP the server decoder accepts, by the mix', async (t) => {
  const w = new CommandWriter(workload());
  const buf = Buffer.alloc(w.maxBytes * 2000);
  let off = 0;
  const codes: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const code = w.pick();
    codes.push(code);
    const before = off;
    off = w.write(code, buf, off);
    if (off - before > w.maxBytes) t.fail(`command of ${off - before} bytes > maxBytes ${w.maxBytes}`);
  }
  const d = new RespDecoder();
  d.feed(buf.subarray(0, off));
  const cmds: string[][] = [];
  for (let argv = d.next(); argv !== null; argv = d.next()) cmds.push(argv.map((a) => a.toString('latin1')));
  t.equal(cmds.length, 2000, 'every command decodes');
  const key = (prefix: string) => new RegExp(`^${prefix}:\\d{12}$`);
  const seen = new Set<string>();
  cmds.forEach((c, i) => {
    const name = c[0]!;
    seen.add(name);
    const ok = (() => {
      switch (codes[i]) {
        case CMD.get: return name === 'GET' && c.length === 2 && key('key').test(c[1]!);
        case CMD.set: return name === 'SET' && c.length === 5 && key('key').test(c[1]!) && c[2]!.length >= 5 && c[2]!.length <= 40
          && c[3] === 'EX' && Number(c[4]) >= 10 && Number(c[4]) <= 20;
        case CMD.mget: return name === 'MGET' && c.length === 4 && c.slice(1).every((k) => key('key').test(k));
        case CMD.incr: return name === 'INCR' && key('ctr').test(c[1]!);
        case CMD.lpush: return name === 'LPUSH' && key('lst').test(c[1]!) && c.length === 3;
        case CMD.zadd: return name === 'ZADD' && key('zst').test(c[1]!) && /^\d+$/.test(c[2]!) && /^m:\d{12}$/.test(c[3]!) && Number(c[3]!.slice(2)) < 7;
        case CMD.publish: return name === 'PUBLISH' && key('chn').test(c[1]!) && c.length === 3;
        case CMD.hset: return name === 'HSET' && key('hsh').test(c[1]!) && /^f:\d{12}$/.test(c[2]!) && c.length === 4;
        case CMD.ping: return name === 'PING' && c.length === 1;
        default: return false;
      }
    })();
    if (!ok) t.fail(`command ${i} (code ${codes[i]}): ${JSON.stringify(c).slice(0, 200)}`);
  });
  t.equal(seen.size, 9, 'all nine commands appear');
  // Mix weights: get=90,set=10 gives ~90 % GETs.
  const w2 = new CommandWriter(workload({ mix: parseMix('get=90,set=10') }));
  let gets = 0;
  for (let i = 0; i < 20_000; i++) if (w2.pick() === CMD.get) gets++;
  t.ok(gets > 17_600 && gets < 18_400, `${gets} GETs of 20000`);
  // The prefill writes plain SETs of key:<i>.
  const n = w.writeSetAt(42, buf, 0);
  const d2 = new RespDecoder();
  d2.feed(buf.subarray(0, n));
  const argv = d2.next()!.map((a) => a.toString('latin1'));
  t.equal(argv.length, 3);
  t.equal(argv[1], 'key:000000000042');
});

t.test('open loop: request i at t0 + i/rate on connection i mod C', async (t) => {
  const C = 3;
  const fakes = Array.from({ length: C }, () => ({ times: [] as number[], flushes: 0, dirty: false,
    enqueue(x: number) { this.times.push(x); }, flush() { this.flushes++; } }));
  const rate = 1000; // 1 per ms
  const t0 = performance.now() - 50; // 50 ms in the past: ~51 requests due at once
  const s = new OpenLoopScheduler(fakes as unknown as LoadConnection[], rate, t0, 0.01, 100, true, 'spin');
  t.equal(s.measureStart, t0 + 10, 'warm-up = ceil(0.01 s x 1000/s) = 10 requests');
  let scheduled = 0, stopped = false;
  const run = { issuing: true, outstanding: 0, scheduled: (n: number) => { scheduled += n; }, stopIssuing: () => { stopped = true; run.issuing = false; } };
  const lag = newHistogram();
  s.start(run, lag);
  s.stop();
  t.ok(scheduled >= 50 && scheduled <= 110, `${scheduled} due in the first tick`);
  const all = fakes.flatMap((f, c) => f.times.map((x) => ({ c, x })));
  t.equal(all.length, scheduled);
  for (const { c, x } of all) {
    const i = Math.round((x - t0) * rate / 1000);
    if (Math.abs(x - (t0 + i)) > 1e-6 || i % C !== c) t.fail(`time ${x - t0} on connection ${c}`);
  }
  t.ok(fakes.every((f) => f.flushes === 1), 'one flush (one write) per connection per tick');
  t.ok(lag.totalCount > 0 && lag.totalCount <= scheduled - 10, 'send lag recorded for measured requests only');
  // With 110 requests in total (10 warm-up + 100), the scheduler stops by itself.
  const s2 = new OpenLoopScheduler(fakes as unknown as LoadConnection[], rate, performance.now() - 500, 0.01, 100, true);
  run.issuing = true;
  scheduled = 0;
  s2.start(run, newHistogram());
  s2.stop();
  t.equal(scheduled, 110);
  t.ok(stopped, 'stops issuing after the last request');
});

t.test('options', async (t) => {
  const o = parseCli(['-p', '7000', '-c', '4', '--rate', '500', '--value-size', '10-20', '--ttl', '60', '--dist', 'zipf', '--zipf-skew', '1.2']);
  if (o === 'help') throw new Error('unexpected help');
  t.equal(o.load.port, 7000);
  t.equal(o.load.pipeline, 0, 'open loop: no pipeline cap by default');
  t.same([o.load.workload.valueMin, o.load.workload.valueMax, o.load.workload.ttlMin, o.load.workload.ttlMax], [10, 20, 60, 60]);
  t.equal(o.load.workload.zipfSkew, 1.2);
  const c = parseCli([]);
  if (c === 'help') throw new Error('unexpected help');
  t.equal(c.load.pipeline, 1, 'closed loop: pipeline 1 by default');
  t.same(c.load.workload.mix, [{ command: 'get', weight: 90 }, { command: 'set', weight: 10 }]);
  t.equal(parseCli(['-h']), 'help');
});
