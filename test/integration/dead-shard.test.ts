// A shard process dies and comes back (Shoal only): the launcher runs two shard
// processes (`--shards 2 --workers 1`); we SIGKILL one by the pid /topology reports,
// under load. Through the proxy a key owned by the dead shard then fails fast with the
// circuit breaker's error naming the shard and worker (within 1 s of the kill), no
// request hangs, blocking commands on it fail at once, and keys on the live shard keep
// working. We then restart the shard ourselves (`shoal-shard --topology F --shard N`)
// and its keys work again without any intervention: the breaker half-opens, probes and
// closes, one log line per transition.

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { alive, fetchTopology, isRedis, keySlot, startShoal, type TopologyProcess } from '../helpers/cluster.js';
import { RespClient, pollUntil, sleep, type RespValue } from '../helpers/run.js';

const isError = (v: RespValue): v is { error: string } => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map) && !Buffer.isBuffer(v) && 'error' in v;
const errorText = (v: RespValue): string => (isError(v) ? v.error : '');
const SHARD_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'shoal-shard.js');

if (isRedis) {
  t.plan(0, 'killing a shard process is Shoal-only');
} else {
  // A short reset so the test sees the half-open probe quickly; the other breaker
  // settings are the defaults.
  const target = await startShoal({ workers: 1, shards: 2, env: { SHOAL_BREAKER_RESET_MS: '500' } });
  t.teardown(() => target.stop());
  let restarted: ChildProcess | null = null;
  t.teardown(async () => {
    const pid = restarted?.pid;
    if (pid === undefined || !alive(pid)) return;
    process.kill(pid, 'SIGTERM');
    const r = await pollUntil(async () => alive(pid), (a) => !a, 5000);
    if (!r.ok) process.kill(pid, 'SIGKILL');
  });

  t.test('a dead shard fails fast with the breaker error, the live shard keeps working, and it recovers', async (t) => {
    const topo = await fetchTopology(target.httpPort);
    if (topo === null) {
      t.fail(`GET http://127.0.0.1:${target.httpPort}/topology returned no { processes: [...] }`);
      return;
    }
    const shards = topo.processes.filter((p) => p.role === 'shard');
    t.equal(shards.length, 2, '/topology lists two shard processes');
    const dead = shards[shards.length - 1] as TopologyProcess;
    t.type(dead.pid, 'number');
    t.not(dead.pid, process.pid);

    // Which worker ports the dead process serves: its `ports`, else topology.workers.
    const deadIndex = shards.indexOf(dead);
    let deadPorts = (dead.ports ?? []).filter((p) => target.workerPorts.includes(p));
    if (deadPorts.length === 0 && topo.workers) deadPorts = topo.workers.filter((w) => w.shard === deadIndex).map((w) => w.port);
    t.ok(deadPorts.length > 0, `dead shard's worker ports: ${deadPorts.join(',')}`);

    // slot → port, from a worker of the shard that stays alive.
    const livePort = target.workerPorts.find((p) => !deadPorts.includes(p));
    if (livePort === undefined) {
      t.fail('no live worker port');
      return;
    }
    const w = await RespClient.connect(livePort);
    const slotsReply = await w.run(['CLUSTER', 'SLOTS']);
    await w.close();
    const owner = new Int32Array(16384).fill(-1);
    for (const entry of Array.isArray(slotsReply) ? slotsReply : []) {
      const [start, end, master] = entry as [number, number, [string, number]];
      for (let s = start; s <= end; s++) owner[s] = master[1];
    }
    const find = (prefix: string, wantDead: boolean): string => {
      for (let i = 0; i < 100_000; i++) {
        const k = `${prefix}${i}`;
        if (deadPorts.includes(owner[keySlot(k)] ?? -1) === wantDead) return k;
      }
      throw new Error(`no key for ${prefix}`);
    };
    const deadKey = find('dead:', true);
    const liveKey = find('live:', false);
    const deadPort = owner[keySlot(deadKey)] as number;
    const circuitError = `CLUSTERDOWN shard ${deadIndex} worker 0 (127.0.0.1:${deadPort}) is unavailable (circuit open)`;

    const proxy = await RespClient.connect(target.port);
    t.teardown(() => proxy.close());
    t.equal(await proxy.run(['SET', deadKey, 'd']), 'OK', 'SET on the doomed shard before the kill');
    t.equal(await proxy.run(['SET', liveKey, 'l']), 'OK', 'SET on the live shard before the kill');

    // Load across the kill: a request every 5 ms on one connection, alternating the two
    // shards, each bounded by 2 s. Nothing may hang; the live shard never fails.
    const loader = await RespClient.connect(target.port);
    t.teardown(() => loader.close());
    let loading = true;
    const outcomes: Array<{ live: boolean; reply: RespValue | 'timeout' }> = [];
    const pending: Array<Promise<void>> = [];
    const load = (async () => {
      for (let i = 0; loading; i++) {
        const live = i % 2 === 0;
        pending.push(loader.run(['GET', live ? liveKey : deadKey], { timeoutMs: 2000 }).then(
          (reply) => void outcomes.push({ live, reply }),
          () => void outcomes.push({ live, reply: 'timeout' }),
        ));
        await sleep(5);
      }
    })();
    await sleep(200);

    process.kill(dead.pid, 'SIGKILL');
    const killedAt = Date.now();

    // The breaker error within 1 s of the kill.
    const fast = await pollUntil(() => proxy.run(['GET', deadKey], { timeoutMs: 1000 }), (r) => errorText(r) === circuitError, 1000, 10);
    const elapsed = Date.now() - killedAt;
    t.ok(fast.ok && elapsed <= 1000, `circuit error within 1 s of the kill (${elapsed} ms): ${JSON.stringify(fast.value)}`);
    t.equal(errorText(fast.value), circuitError, 'the error names shard, worker and address');

    // Later requests fail fast too, whatever the command.
    const t0 = Date.now();
    t.same(await proxy.run(['SET', deadKey, 'x'], { timeoutMs: 1000 }), { error: circuitError }, 'SET: circuit error');
    t.same(await proxy.run(['INCR', deadKey], { timeoutMs: 1000 }), { error: circuitError }, 'INCR: circuit error');
    t.same(await proxy.run(['BLPOP', deadKey, '0'], { timeoutMs: 1000 }), { error: circuitError }, 'BLPOP fails at once instead of blocking');
    t.ok(Date.now() - t0 < 500, `three fast failures took ${Date.now() - t0} ms`);

    // The live shard is unaffected, on this connection and on a new one.
    t.equal(await proxy.run(['GET', liveKey], { timeoutMs: 1000 }), 'l', 'GET on the live shard');
    t.equal(await proxy.run(['SET', find('live2:', false), 'x'], { timeoutMs: 1000 }), 'OK', 'SET on the live shard');
    t.equal(await proxy.run(['INCR', find('cnt:', false)], { timeoutMs: 1000 }), 1, 'INCR on the live shard');
    const fresh = await RespClient.connect(target.port);
    t.teardown(() => fresh.close());
    t.equal(await fresh.run(['PING'], { timeoutMs: 1000 }), 'PONG', 'new connection: PING');
    t.equal(await fresh.run(['GET', liveKey], { timeoutMs: 1000 }), 'l', 'new connection: GET on the live shard');

    // A while dead: the breaker stays open through several reset periods, logging once.
    await sleep(1500);
    t.same(await proxy.run(['GET', deadKey], { timeoutMs: 1000 }), { error: circuitError }, 'still the circuit error after 1.5 s');
    loading = false;
    await load;
    await Promise.all(pending);
    const hung = outcomes.filter((o) => o.reply === 'timeout');
    t.equal(hung.length, 0, `no request under load hung (${outcomes.length} requests)`);
    const liveBad = outcomes.filter((o) => o.live && o.reply !== 'l');
    t.same(liveBad, [], 'every live-shard request under load succeeded');
    const deadReplies = outcomes.filter((o) => !o.live).map((o) => o.reply);
    t.ok(deadReplies.every((r) => r === 'd' || isError(r)), 'dead-shard requests under load: the value, or an error');
    t.ok(deadReplies.some((r) => errorText(r) === circuitError), 'and the circuit error once open');
    const label = `127.0.0.1:${deadPort}`;
    const openLines = (target.stdout?.() ?? '').split('\n').filter((l) => l.includes('"breaker":"open"') && l.includes(label));
    t.equal(openLines.length, 1, `one "circuit open" log line while the shard is dead: ${openLines.join('\n')}`);

    // Restart the shard by hand; the proxy's link reconnects and the breaker closes.
    const topologyFile = path.join(target.dataDir ?? '', 'topology.json');
    const child = spawn(process.execPath, [SHARD_BIN, '--topology', topologyFile, '--shard', String(deadIndex)], {
      env: { ...process.env, SHOAL_DATA_DIR: target.dataDir ?? '', SHOAL_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    restarted = child;
    let childErr = '';
    child.stderr?.on('data', (c: Buffer) => (childErr += c.toString()));
    const ready = await pollUntil(async () => {
      try {
        const c = await RespClient.connect(deadPort, '127.0.0.1', 500);
        const r = await c.run(['PING'], { timeoutMs: 500 });
        await c.close();
        return r;
      } catch {
        return null;
      }
    }, (r) => r === 'PONG', 10_000);
    t.ok(ready.ok, `restarted shard answers on ${deadPort} (${ready.ms} ms) ${childErr}`);
    const restartedAt = Date.now();

    const back = await pollUntil(() => proxy.run(['SET', deadKey, 'again'], { timeoutMs: 2000 }), (r) => r === 'OK', 5000, 50);
    t.ok(back.ok, `keys of the restarted shard work again without intervention (${Date.now() - restartedAt} ms): ${JSON.stringify(back.value)}`);
    t.equal(await proxy.run(['GET', deadKey], { timeoutMs: 1000 }), 'again', 'GET after recovery');
    t.equal(await fresh.run(['GET', deadKey], { timeoutMs: 1000 }), 'again', 'GET after recovery, other connection');
    t.equal(await proxy.run(['GET', liveKey], { timeoutMs: 1000 }), 'l', 'the live shard still answers');

    const log = await pollUntil(async () => target.stdout?.() ?? '', (s) => s.includes('"breaker":"closed"'), 2000);
    const mine = log.value.split('\n').filter((l) => l.includes('"breaker":') && l.includes(label));
    const states = mine.map((l) => /"breaker":"([a-z-]+)"/.exec(l)?.[1]);
    t.same(states, ['open', 'half-open', 'closed'], 'one log line per transition: open, half-open, closed');
  });
}
