// The circuit breaker per shard worker (Shoal only; docs/resilience.md). A worker that
// stops answering without closing its connection (SIGSTOP) makes its batches time out:
// the breaker opens on that failure rate and the worker's keys fail fast with
// `-CLUSTERDOWN shard S worker W (host:port) is unavailable (circuit open)` while the
// other shard is unaffected; requests accepted before the opening are not failed by
// it. After breaker-reset-ms a probe goes through: a failed probe re-opens, a good
// one closes the circuit. One log line per transition. Breaker settings are checked at
// start with errors naming the key.

import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { fetchTopology, isRedis, keySlot, startShoal } from '../helpers/cluster.js';
import { RespClient, pollUntil, sleep, type RespValue } from '../helpers/run.js';

const execFileP = promisify(execFile);
const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin');
const errorText = (v: RespValue): string => (typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map) && !Buffer.isBuffer(v) && 'error' in v ? v.error : '');

if (isRedis) {
  t.plan(0, 'circuit breakers are Shoal-only');
} else {
  t.test('bad breaker and output-limit settings stop the proxy at start, naming the key', async (t) => {
    const run = async (args: string[]): Promise<{ code: number; stderr: string }> => {
      try {
        await execFileP(process.execPath, [path.join(BIN, 'shoal-proxy.js'), '--port', '0', '--http-port', '0', '--proxy-processes', '1', ...args], { timeout: 30_000 });
        return { code: 0, stderr: '' };
      } catch (e) {
        const err = e as { code?: number; stderr?: string };
        return { code: err.code ?? -1, stderr: err.stderr ?? '' };
      }
    };
    const pct = await run(['--breaker-error-percentage', '0']);
    t.equal(pct.code, 1);
    t.match(pct.stderr, 'breakerErrorPercentage (from --breaker-error-percentage): expected an integer from 1 to 100, got "0"');
    const cobl = await run(['--client-output-buffer-limit', 'normal 1 2']);
    t.equal(cobl.code, 1);
    t.match(cobl.stderr, 'config clientOutputBufferLimit: Wrong number of arguments in buffer limit configuration.');
  });

  // Short breaker timings; an upstream timeout far away, so that only the breaker acts.
  const target = await startShoal({
    workers: 1,
    shards: 2,
    env: { SHOAL_BREAKER_TIMEOUT_MS: '300', SHOAL_BREAKER_RESET_MS: '500', SHOAL_UPSTREAM_TIMEOUT_MS: '20000' },
  });
  t.teardown(() => target.stop());

  t.test('a stalled worker: timeouts open the circuit, probes re-open or close it', async (t) => {
    const topo = await fetchTopology(target.httpPort);
    const stalled = topo?.processes.filter((p) => p.role === 'shard')[1];
    if (stalled === undefined || topo?.workers === undefined) {
      t.fail('no second shard in /topology');
      return;
    }
    const worker = topo.workers.find((w) => w.shard === 1)!;
    const owner = new Int32Array(16384).fill(-1);
    for (const w of topo.workers) for (const [a, b] of w.slots) for (let x = a; x <= b; x++) owner[x] = w.shard;
    const keyOn = (shard: number, prefix: string): string => {
      for (let n = 0; ; n++) if (owner[keySlot(`${prefix}${n}`)] === shard) return `${prefix}${n}`;
    };
    const stalledKey = keyOn(1, 'stall:');
    const liveKey = keyOn(0, 'live:');
    const circuitError = `CLUSTERDOWN shard 1 worker 0 (127.0.0.1:${worker.port}) is unavailable (circuit open)`;
    const label = `127.0.0.1:${worker.port}`;

    const c = await RespClient.connect(target.port);
    t.teardown(() => c.close());
    t.equal(await c.run(['SET', stalledKey, 'v']), 'OK');
    t.equal(await c.run(['SET', liveKey, 'l']), 'OK');

    process.kill(stalled.pid, 'SIGSTOP');
    t.teardown(() => {
      try {
        process.kill(stalled.pid, 'SIGCONT');
      } catch {
        // gone
      }
    });
    const stoppedAt = Date.now();

    // Traffic for the stalled worker: a GET every 20 ms, not waiting for replies.
    const loader = await RespClient.connect(target.port);
    t.teardown(() => loader.close());
    const early: Array<Promise<RespValue | string>> = [];
    let loading = true;
    const load = (async () => {
      while (loading) {
        early.push(loader.run(['GET', stalledKey], { timeoutMs: 15_000 }).catch((e: Error) => `failed: ${e.message}`));
        await sleep(20);
      }
    })();

    // Each probe on a fresh connection: a request to the stalled worker is answered
    // only after it resumes, and would hold the replies of a reused connection.
    const probe = async (timeoutMs: number): Promise<RespValue | string> => {
      const p = await RespClient.connect(target.port);
      try {
        return await p.run(['GET', stalledKey], { timeoutMs });
      } catch {
        return 'no reply';
      } finally {
        await p.close();
      }
    };
    const open = await pollUntil(() => probe(200), (r) => errorText(r as RespValue) === circuitError, 5000, 50);
    t.ok(open.ok, `the circuit opened ${Date.now() - stoppedAt} ms after the worker stalled: ${JSON.stringify(open.value)}`);
    loading = false;
    await load;
    const other = await RespClient.connect(target.port);
    t.teardown(() => other.close());
    const t0 = Date.now();
    t.same(await other.run(['GET', stalledKey], { timeoutMs: 1000 }), { error: circuitError }, 'its keys fail fast');
    t.same(await other.run(['BLPOP', keyOn(1, 'bl:'), '0'], { timeoutMs: 1000 }), { error: circuitError }, 'BLPOP too, without blocking');
    t.equal(await other.run(['GET', liveKey], { timeoutMs: 1000 }), 'l', 'the other shard answers');
    t.ok(Date.now() - t0 < 1000, 'all at once');

    // Still stalled at the next half-open: the probe times out and the circuit re-opens.
    const reopened = await pollUntil(async () => {
      await probe(100);
      return target.stdout?.() ?? '';
    }, (log) => log.includes('"reason":"probe failed"'), 5000, 100);
    t.ok(reopened.ok, 'a probe sent to the stalled worker timed out and re-opened the circuit');

    process.kill(stalled.pid, 'SIGCONT');
    const early0 = await Promise.all(early);
    t.ok(early0.length > 5, `${early0.length} requests were sent before the circuit opened`);
    t.ok(early0.every((r) => r === 'v' || errorText(r as RespValue) === circuitError),
      'each early request got its value once the worker resumed, or the circuit error if it came after the opening');
    t.ok(early0.some((r) => r === 'v'), 'requests accepted before the opening were answered, not failed');

    const closed = await pollUntil(() => probe(2000), (r) => r === 'v', 5000, 50);
    t.ok(closed.ok, `after the worker resumes its keys work again (${closed.ms} ms): ${JSON.stringify(closed.value)}`);
    t.equal(await other.run(['GET', stalledKey], { timeoutMs: 1000 }), 'v');

    const log = (await pollUntil(async () => target.stdout?.() ?? '', (s) => s.includes('"breaker":"closed"'), 2000)).value;
    const lines = log.split('\n').filter((l) => l.includes('"breaker":') && l.includes(label));
    const states = lines.map((l) => /"breaker":"([a-z-]+)"/.exec(l)?.[1]);
    t.equal(states[0], 'open', 'first transition: open');
    t.match(lines[0] ?? '', /"reason":"\d+ of \d+ batches failed"/, 'opened on the failure rate');
    t.equal(states.at(-1), 'closed', 'last transition: closed');
    t.ok(states.every((s, i) => i === 0 || s !== states[i - 1]), `one line per transition, no repeats: ${states.join(' → ')}`);
    t.ok(states.includes('half-open'), 'probing went through half-open');
  });
}
