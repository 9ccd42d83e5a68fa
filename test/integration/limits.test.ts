// Client limits and backpressure, with Redis's names, formats and behaviour:
// maxclients, timeout, tcp-keepalive, client-query-buffer-limit and
// client-output-buffer-limit through CONFIG GET/SET (checked against redis-server with
// SHOAL_TEST_TARGET=redis), then Shoal-only bounds: a client that pipelines a million
// GETs and never reads keeps the proxy's RSS bounded, and a shard worker that stops
// reading makes the proxy pause the clients feeding it instead of buffering.

import net from 'node:net';
import { readFile } from 'node:fs/promises';
import t from 'tap';
import { fetchTopology, isShoal, keySlot, useTarget } from '../helpers/cluster.js';
import { RespClient, encodeCommand, err, pollUntil, rawSend, sleep, type RespValue } from '../helpers/run.js';

const DEFAULT_COBL = 'normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60';
// Two shard processes of one worker each (Shoal), so one can be stopped while the
// other serves; timeouts far away, so only backpressure acts while a worker is stopped.
const { target, run } = await useTarget(t, { workers: 1, shards: 2, env: { SHOAL_UPSTREAM_TIMEOUT_MS: '120000', SHOAL_BREAKER_TIMEOUT_MS: '120000' } });
const port = target.port;

const setFailed = (param: string, detail: string) => err(`ERR CONFIG SET failed (possibly related to argument '${param}') - ${detail}`);

/** VmRSS of a process in bytes. */
async function rss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

/** A raw socket that never reads until told to: resolves once connected. */
function rawConnect(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves when the socket has closed (true) or after ms (false); reads and counts what arrives. */
function drainUntilClosed(s: net.Socket, ms: number): Promise<{ closed: boolean; bytes: number }> {
  return new Promise((resolve) => {
    let bytes = 0;
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ closed, bytes });
    };
    const timer = setTimeout(() => finish(false), ms);
    s.on('data', (c: Buffer) => (bytes += c.length));
    s.on('end', () => finish(true));
    s.on('close', () => finish(true));
    s.on('error', () => finish(true));
    if (s.destroyed) finish(true);
  });
}

t.test('CONFIG GET: the defaults, in Redis format', async (t) => {
  t.same(await run(['CONFIG', 'GET', 'maxclients']), ['maxclients', '10000']);
  t.same(await run(['CONFIG', 'GET', 'timeout']), ['timeout', '0']);
  t.same(await run(['CONFIG', 'GET', 'tcp-keepalive']), ['tcp-keepalive', '300']);
  t.same(await run(['CONFIG', 'GET', 'client-query-buffer-limit']), ['client-query-buffer-limit', '1073741824']);
  t.same(await run(['CONFIG', 'GET', 'client-output-buffer-limit']), ['client-output-buffer-limit', DEFAULT_COBL]);
});

t.test('CONFIG SET: Redis errors for bad values', async (t) => {
  const rows: Array<[string, string, ReturnType<typeof err>]> = [
    ['maxclients', '0', setFailed('maxclients', 'argument must be between 1 and 4294967295 inclusive')],
    ['maxclients', 'abc', setFailed('maxclients', "argument couldn't be parsed into an integer")],
    ['maxclients', '1.5', setFailed('maxclients', "argument couldn't be parsed into an integer")],
    ['timeout', '-1', setFailed('timeout', 'argument must be between 0 and 2147483647 inclusive')],
    ['timeout', '2147483648', setFailed('timeout', 'argument must be between 0 and 2147483647 inclusive')],
    ['timeout', '01', setFailed('timeout', "argument couldn't be parsed into an integer")],
    ['timeout', '+1', setFailed('timeout', "argument couldn't be parsed into an integer")],
    ['tcp-keepalive', '-1', setFailed('tcp-keepalive', 'argument must be between 0 and 2147483647 inclusive')],
    ['client-query-buffer-limit', '1000', setFailed('client-query-buffer-limit', 'argument must be between 1048576 and 9223372036854775807 inclusive')],
    ['client-query-buffer-limit', '1024k', setFailed('client-query-buffer-limit', 'argument must be between 1048576 and 9223372036854775807 inclusive')],
    ['client-query-buffer-limit', 'abc', setFailed('client-query-buffer-limit', 'argument must be a memory value')],
    ['client-query-buffer-limit', '1.5mb', setFailed('client-query-buffer-limit', 'argument must be a memory value')],
    ['client-output-buffer-limit', 'normal 1 2', setFailed('client-output-buffer-limit', 'Wrong number of arguments in buffer limit configuration.')],
    ['client-output-buffer-limit', 'normal 1 1 1 ', setFailed('client-output-buffer-limit', 'Wrong number of arguments in buffer limit configuration.')],
    ['client-output-buffer-limit', 'foo 1 2 3', setFailed('client-output-buffer-limit', 'Invalid client class specified in buffer limit configuration.')],
    ['client-output-buffer-limit', 'master 1 1 1', setFailed('client-output-buffer-limit', 'Invalid client class specified in buffer limit configuration.')],
    ['client-output-buffer-limit', 'normal a 2 3', setFailed('client-output-buffer-limit', 'Error in hard, soft or soft_seconds setting in buffer limit configuration.')],
    ['client-output-buffer-limit', 'normal -1 2 3', setFailed('client-output-buffer-limit', 'Error in hard, soft or soft_seconds setting in buffer limit configuration.')],
    ['client-output-buffer-limit', 'normal 1 2 -3', setFailed('client-output-buffer-limit', 'Error in hard, soft or soft_seconds setting in buffer limit configuration.')],
    ['client-output-buffer-limit', 'normal 1 1 1.5', setFailed('client-output-buffer-limit', 'Error in hard, soft or soft_seconds setting in buffer limit configuration.')],
    ['client-output-buffer-limit', 'normal 1 1 1 foo 1 1 1', setFailed('client-output-buffer-limit', 'Invalid client class specified in buffer limit configuration.')],
  ];
  for (const [param, value, want] of rows) t.same(await run(['CONFIG', 'SET', param, value]), want, `CONFIG SET ${param} "${value}"`);
  // Nothing changed, and a failed group leaves the earlier valid group unapplied too.
  t.same(await run(['CONFIG', 'GET', 'client-output-buffer-limit']), ['client-output-buffer-limit', DEFAULT_COBL]);
});

t.test('CONFIG SET: values round-trip as Redis prints them', async (t) => {
  t.equal(await run(['CONFIG', 'SET', 'client-output-buffer-limit', 'normal 1mb 2kb 3']), 'OK');
  t.same(await run(['CONFIG', 'GET', 'client-output-buffer-limit']), ['client-output-buffer-limit', 'normal 1048576 2048 3 slave 268435456 67108864 60 pubsub 33554432 8388608 60']);
  t.equal(await run(['CONFIG', 'SET', 'client-output-buffer-limit', 'REPLICA 1k 1K 1 pubsub 0 0 0']), 'OK', 'replica is slave; names and units are case-insensitive');
  t.same(await run(['CONFIG', 'GET', 'client-output-buffer-limit']), ['client-output-buffer-limit', 'normal 1048576 2048 3 slave 1000 1000 1 pubsub 0 0 0']);
  t.equal(await run(['CONFIG', 'SET', 'client-output-buffer-limit', '']), 'OK', 'an empty value changes nothing');
  t.same(await run(['CONFIG', 'GET', 'client-output-buffer-limit']), ['client-output-buffer-limit', 'normal 1048576 2048 3 slave 1000 1000 1 pubsub 0 0 0']);
  t.equal(await run(['CONFIG', 'SET', 'client-output-buffer-limit', DEFAULT_COBL]), 'OK');
  t.same(await run(['CONFIG', 'GET', 'client-output-buffer-limit']), ['client-output-buffer-limit', DEFAULT_COBL]);

  t.equal(await run(['CONFIG', 'SET', 'client-query-buffer-limit', '1mb', 'timeout', '100', 'tcp-keepalive', '60']), 'OK');
  t.same(await run(['CONFIG', 'GET', 'client-query-buffer-limit']), ['client-query-buffer-limit', '1048576']);
  t.same(await run(['CONFIG', 'GET', 'timeout']), ['timeout', '100']);
  t.same(await run(['CONFIG', 'GET', 'tcp-keepalive']), ['tcp-keepalive', '60']);
  t.equal(await run(['CONFIG', 'SET', 'client-query-buffer-limit', '1gb', 'timeout', '0', 'tcp-keepalive', '300']), 'OK');
  t.same(await run(['CONFIG', 'GET', 'client-query-buffer-limit']), ['client-query-buffer-limit', '1073741824']);
});

t.test('maxclients: one client too many gets the error and is closed', async (t) => {
  t.equal(await run(['CONFIG', 'SET', 'maxclients', '2']), 'OK');
  t.teardown(() => run(['CONFIG', 'SET', 'maxclients', '10000']));
  const second = await RespClient.connect(port);
  t.teardown(() => second.close());
  t.equal(await second.run(['PING']), 'PONG', 'the second client is served');
  const third = await rawSend(port, encodeCommand(['PING']), { timeoutMs: 3000 });
  t.equal(third.data.toString(), '-ERR max number of clients reached\r\n', 'the third gets Redis\'s error');
  t.ok(third.closed, 'and is closed');
  await second.close();
  const again = await pollUntil(async () => {
    const c = await RespClient.connect(port);
    const r = await c.run(['PING']).catch((e: Error) => e.message);
    await c.close();
    return r;
  }, (r) => r === 'PONG', 3000);
  t.equal(again.value, 'PONG', 'a slot freed by a leaving client is taken by the next');
});

t.test('timeout: an idle client is closed, a blocked one and a busy one are not', async (t) => {
  t.equal(await run(['CONFIG', 'SET', 'timeout', '1']), 'OK');
  t.teardown(() => run(['CONFIG', 'SET', 'timeout', '0']));
  await run(['DEL', 'limits:list']);
  const idle = await RespClient.connect(port);
  const blocked = await RespClient.connect(port);
  const busy = await RespClient.connect(port);
  t.teardown(() => Promise.all([idle.close(), blocked.close(), busy.close()]));
  t.equal(await idle.run(['PING']), 'PONG');
  const popped = blocked.run(['BLPOP', 'limits:list', '0'], { timeoutMs: 15_000 });
  let busyRunning = true;
  const busyLoop = (async () => {
    while (busyRunning) {
      await busy.run(['PING'], { timeoutMs: 2000 }).catch(() => {});
      await run(['PING'], { timeoutMs: 2000 }).catch(() => {}); // the test's own client stays busy too
      await sleep(200);
    }
  })();
  const closed = await pollUntil(async () => idle.closed, (c) => c, 6000);
  await sleep(1200); // another sweep: the blocked and busy clients survive it
  busyRunning = false;
  await busyLoop;
  t.equal(await run(['CONFIG', 'SET', 'timeout', '0']), 'OK');
  t.ok(closed.ok, `the idle client was closed (${closed.ms} ms)`);
  t.notOk(blocked.closed, 'the blocked client is still connected');
  t.notOk(busy.closed, 'the busy client is still connected');
  t.equal(await run(['RPUSH', 'limits:list', 'x']), 1);
  t.same(await popped, ['limits:list', 'x'], 'the blocked client gets its reply');
});

t.test('client-query-buffer-limit: a client over it is closed', async (t) => {
  t.equal(await run(['CONFIG', 'SET', 'client-query-buffer-limit', '1mb']), 'OK');
  t.teardown(() => run(['CONFIG', 'SET', 'client-query-buffer-limit', '1gb']));
  const big = Buffer.concat([Buffer.from('*3\r\n$3\r\nSET\r\n$5\r\nqbufk\r\n$2000000\r\n'), Buffer.alloc(1_500_000, 0x78)]);
  const r = await rawSend(port, big, { timeoutMs: 5000, quietMs: 3000 });
  t.ok(r.closed, 'closed while sending a 2 MB argument');
  t.equal(r.data.length, 0, 'without a reply');
  const c = await RespClient.connect(port);
  t.teardown(() => c.close());
  t.equal(await c.run(['SET', 'qbufk', Buffer.alloc(900_000, 0x79)]), 'OK', 'a 900 KB value is under the limit');
  t.equal(await c.run(['STRLEN', 'qbufk']), 900_000);
  await c.run(['DEL', 'qbufk']);
});

t.test('client-output-buffer-limit normal hard: a client not reading big replies is disconnected', async (t) => {
  t.equal(await run(['SET', 'cobl:big', Buffer.alloc(100_000, 0x61)]), 'OK');
  t.equal(await run(['CONFIG', 'SET', 'client-output-buffer-limit', 'normal 1mb 0 0']), 'OK');
  t.teardown(() => run(['CONFIG', 'SET', 'client-output-buffer-limit', DEFAULT_COBL]));
  const s = await rawConnect();
  const gets = 400;
  s.write(Buffer.concat(Array.from({ length: gets }, () => encodeCommand(['GET', 'cobl:big']))));
  // Not reading: the replies pile up at the server until it drops the client.
  const me = `addr=127.0.0.1:${s.localPort} `;
  const gone = await pollUntil(async () => String(await run(['CLIENT', 'LIST'])), (list) => !list.includes(me), 10_000);
  t.ok(gone.ok, `the server dropped the client (${gone.ms} ms)`);
  const r = await drainUntilClosed(s, 8000);
  t.ok(r.closed, 'the connection was closed');
  t.ok(r.bytes < gets * 100_000, `before all replies arrived (${r.bytes} of ${gets * 100_000} bytes)`);
  t.equal(await run(['PING']), 'PONG', 'other clients are unaffected');
});

t.test('client-output-buffer-limit normal soft: over the soft limit for longer than its seconds', async (t) => {
  t.equal(await run(['SET', 'cobl:big', Buffer.alloc(100_000, 0x61)]), 'OK');
  t.equal(await run(['CONFIG', 'SET', 'client-output-buffer-limit', 'normal 0 256kb 1']), 'OK');
  t.teardown(() => run(['CONFIG', 'SET', 'client-output-buffer-limit', DEFAULT_COBL]));
  const s = await rawConnect();
  const start = Date.now();
  let closedAt = 0;
  s.on('close', () => (closedAt = Date.now()));
  s.on('error', () => {});
  s.pause();
  const get = encodeCommand(['GET', 'cobl:big']);
  // Keep asking (Redis checks the soft limit as replies are added), never reading.
  while (closedAt === 0 && Date.now() - start < 8000) {
    if (s.writableLength < 64 * 1024) s.write(get);
    await sleep(10);
  }
  s.destroy();
  t.ok(closedAt > 0, `closed after ${closedAt - start} ms`);
  t.ok(closedAt - start >= 1000, 'not before the soft seconds passed');
  t.equal(await run(['PING']), 'PONG', 'other clients are unaffected');
});

if (isShoal) {
  const proxyPid = async (httpPort: number): Promise<number> => {
    const topo = await fetchTopology(httpPort);
    const p = topo?.processes.find((x) => x.role === 'proxy');
    if (!p) throw new Error('no proxy process in /topology');
    return p.pid;
  };

  t.test('a client pipelining 1,000,000 GETs and never reading: bounded proxy RSS, others served', async (t) => {
    const pid = await proxyPid(target.httpPort);
    const value = Buffer.alloc(1024, 0x76);
    t.equal(await run(['SET', 'pipe:v', value]), 'OK');
    await run(['DEL', 'pipe:counter']);
    const baseline = await rss(pid);

    let maxRss = baseline;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        maxRss = Math.max(maxRss, await rss(pid));
        await sleep(50);
      }
    })();

    // Another client keeps working meanwhile (its commands on the same worker wait
    // behind the pipeliner's, so a generous bound: it must not starve).
    const other = await RespClient.connect(port);
    t.teardown(() => other.close());
    let otherRunning = true;
    const otherFailures: string[] = [];
    let otherOps = 0;
    const otherLoop = (async () => {
      for (let i = 0; otherRunning; i++) {
        try {
          const setR = await other.run(['SET', `pipe:o${i % 10}`, String(i)], { timeoutMs: 5000 });
          const getR = await other.run(['GET', `pipe:o${i % 10}`], { timeoutMs: 5000 });
          if (setR !== 'OK' || getR !== String(i)) otherFailures.push(`${String(setR)} ${String(getR)}`);
          otherOps += 2;
        } catch (e) {
          otherFailures.push((e as Error).message);
        }
        await sleep(20);
      }
    })();

    const s = await rawConnect();
    s.on('error', () => {});
    s.pause();
    const perChunk = 1000;
    const chunk = Buffer.concat(Array.from({ length: perChunk }, () => encodeCommand(['GET', 'pipe:v'])));
    const total = 1_000_000;
    // Write as fast as the socket takes it, for up to 12 s. Unbounded, the proxy would
    // keep reading and buffering replies (~1 GB for all of them); bounded, it stops
    // reading and our writes stall: no 'drain' for 4 s counts as blocked.
    let written = 0;
    let blocked = false;
    const writeStart = Date.now();
    while (written < total && Date.now() - writeStart < 12_000) {
      written += perChunk;
      if (s.write(chunk)) continue;
      const drained = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          s.off('drain', onDrain);
          resolve(false);
        }, 4000);
        const onDrain = (): void => {
          clearTimeout(timer);
          resolve(true);
        };
        s.once('drain', onDrain);
      });
      if (!drained) {
        blocked = true;
        break;
      }
    }
    // While the pipeliner is stuck, another connection is answered promptly.
    const fresh = await RespClient.connect(port);
    t.teardown(() => fresh.close());
    const during: RespValue[] = [];
    for (let i = 0; i < 10; i++) during.push(await fresh.run(['INCR', 'pipe:counter'], { timeoutMs: 2000 }).catch((e: Error) => e.message));
    t.same(during, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'a new client is served while the pipeliner is blocked');
    await sleep(1000); // the proxy holds what it holds: let RSS settle at its peak
    sampling = false;
    await sampler;
    otherRunning = false;
    await otherLoop;
    const grown = maxRss - baseline;
    t.ok(blocked, `the pipeliner's sends block: ${written} of ${total} commands handed to its socket`);
    // Bound: 1 MiB held output + the replies in flight when reading paused (at most the
    // 16 Ki pipelining window and one 64 KB read of commands: ~20 MB of 1 KB replies,
    // ~4 MB once the window has shrunk for a non-reader) + the worker frame carrying
    // them, plus V8 heap slack. Unbounded it would be ~1 GB of replies.
    t.ok(grown < 64 * 1024 * 1024, `proxy RSS grew by ${(grown / 1048576).toFixed(1)} MB (< 64 MB; baseline ${(baseline / 1048576).toFixed(1)} MB)`);
    t.same(otherFailures, [], `another client was served meanwhile (${otherOps} commands)`);
    t.ok(otherOps >= 2, 'and made progress');
    s.destroy();
    t.equal(await run(['PING']), 'PONG', 'the proxy is fine after the pipeliner leaves');
  });

  t.test('a shard worker that stops reading: clients feeding it pause, nothing is dropped', async (t) => {
    const cluster = target;
    const topo = await fetchTopology(cluster.httpPort);
    const shardProcs = topo?.processes.filter((p) => p.role === 'shard') ?? [];
    const stopped = shardProcs[1];
    const pid = await proxyPid(cluster.httpPort);
    if (stopped === undefined || topo?.workers === undefined) {
      t.fail('no second shard in /topology');
      return;
    }
    const stoppedPorts = topo.workers.filter((w) => w.shard === 1).map((w) => w.port);
    const owner = new Int32Array(16384).fill(-1);
    for (const w of topo.workers) for (const [a, b] of w.slots) for (let x = a; x <= b; x++) owner[x] = w.port;
    const keyOn = (stoppedShard: boolean, i: number): string => {
      for (let n = i; ; n++) if (stoppedPorts.includes(owner[keySlot(`bp:${n}`)]!) === stoppedShard) return `bp:${n}`;
    };
    const liveKey = keyOn(false, 0);

    process.kill(stopped.pid, 'SIGSTOP');
    t.teardown(() => {
      try {
        process.kill(stopped.pid, 'SIGCONT');
      } catch {
        // gone already
      }
    });
    const baseline = await rss(pid);

    // 12,000 SETs of 4 KB (48 MB) for the stopped worker, written as fast as the socket takes them.
    const n = 12_000;
    const value = Buffer.alloc(4096, 0x77);
    const frames: Buffer[] = [];
    for (let i = 0, k = 0; i < n; i++) {
      const key = keyOn(true, k);
      k = Number(key.slice(3)) + 1;
      frames.push(encodeCommand(['SET', key, value]));
    }
    const s = await new Promise<net.Socket>((resolve, reject) => {
      const c = net.connect({ port: cluster.port, host: '127.0.0.1' });
      c.once('connect', () => resolve(c));
      c.once('error', reject);
    });
    t.teardown(() => s.destroy());
    let replies = Buffer.alloc(0);
    s.on('data', (c: Buffer) => (replies = Buffer.concat([replies, c])));
    let written = 0;
    let blocked = false;
    while (written < n) {
      const ok = s.write(frames[written++]!);
      if (ok) continue;
      const drained = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 2000);
        s.once('drain', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      if (!drained) {
        blocked = true;
        break;
      }
    }
    t.ok(blocked, `the client is paused: ${written} of ${n} SETs accepted by its socket`);
    const grown = (await rss(pid)) - baseline;
    // Bound: 16 MiB unsent to the worker + a batch and read chunks in flight.
    t.ok(grown < 64 * 1024 * 1024, `proxy RSS grew by ${(grown / 1048576).toFixed(1)} MB while the worker was stopped (< 64 MB)`);

    const other = await RespClient.connect(cluster.port);
    t.teardown(() => other.close());
    t.equal(await other.run(['SET', liveKey, 'v'], { timeoutMs: 1000 }), 'OK', 'a client of the other shard is served meanwhile');
    t.equal(await other.run(['GET', liveKey], { timeoutMs: 1000 }), 'v');

    process.kill(stopped.pid, 'SIGCONT');
    const resumeBy = Date.now() + 20_000;
    while (written < n && Date.now() < resumeBy) {
      if (!s.write(frames[written++]!)) await Promise.race([new Promise((r) => s.once('drain', r)), sleep(5000)]);
    }
    const ok = Buffer.from('+OK\r\n');
    const all = await pollUntil(async () => replies.length, (len) => len >= n * ok.length, 30_000);
    t.equal(replies.length, n * ok.length, `every SET answered after the worker resumed (${all.ms} ms)`);
    t.ok(replies.equals(Buffer.concat(Array.from({ length: n }, () => ok))), 'and every answer is +OK: nothing dropped or failed');
    t.equal(await other.run(['GET', keyOn(true, 0)], { timeoutMs: 2000 }), value.toString(), 'the data is there');
  });
}

t.test('final: defaults restored', async (t) => {
  const names = ['maxclients', 'timeout', 'tcp-keepalive', 'client-query-buffer-limit', 'client-output-buffer-limit'];
  const got: RespValue[] = [];
  for (const n of names) got.push(await run(['CONFIG', 'GET', n]));
  t.same(got, [['maxclients', '10000'], ['timeout', '0'], ['tcp-keepalive', '300'], ['client-query-buffer-limit', '1073741824'], ['client-output-buffer-limit', DEFAULT_COBL]]);
});
