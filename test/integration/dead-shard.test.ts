// A shard process dies (Shoal only): the launcher runs two shard processes
// (`--shards 2 --workers 1`); we SIGKILL one by the pid /topology reports. Through
// the proxy a key owned by the dead shard then gets a fast error reply naming the
// shard or worker (within 5 s, no hang), and keys on the live shard keep working.

import t from 'tap';
import { fetchTopology, isRedis, keySlot, startShoal, type TopologyProcess } from '../helpers/cluster.js';
import { RespClient, sleep, type RespValue } from '../helpers/run.js';

const isError = (v: RespValue): v is { error: string } => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map) && !Buffer.isBuffer(v) && 'error' in v;

if (isRedis) {
  t.plan(0, 'killing a shard process is Shoal-only');
} else {
  const target = await startShoal({ workers: 1, shards: 2 });
  t.teardown(() => target.stop());

  t.test('a dead shard gives a fast error, the live shard keeps working', async (t) => {
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

    const proxy = await RespClient.connect(target.port);
    t.teardown(() => proxy.close());
    t.equal(await proxy.run(['SET', deadKey, 'd']), 'OK', 'SET on the doomed shard before the kill');
    t.equal(await proxy.run(['SET', liveKey, 'l']), 'OK', 'SET on the live shard before the kill');

    process.kill(dead.pid, 'SIGKILL');
    const killedAt = Date.now();
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(dead.pid, 0);
      } catch {
        break;
      }
      await sleep(50);
    }

    const reply = await proxy.run(['GET', deadKey], { timeoutMs: 5000 });
    const elapsed = Date.now() - killedAt;
    t.ok(elapsed <= 5500, `error within 5 s of the kill (${elapsed} ms)`);
    t.ok(isError(reply), `GET on the dead shard is an error reply: ${JSON.stringify(reply)}`);
    if (isError(reply)) {
      t.match(reply.error, /shard|worker/i, 'the error names the shard or worker');
      t.ok(
        reply.error.includes(String(deadPort)) || new RegExp(`shard[ -]?${deadIndex}\\b`, 'i').test(reply.error),
        `the error identifies the dead one (port ${deadPort} or shard ${deadIndex}): ${reply.error}`,
      );
    }
    // Later requests fail fast too.
    const again = Date.now();
    const reply2 = await proxy.run(['SET', deadKey, 'x'], { timeoutMs: 5000 });
    t.ok(isError(reply2), 'SET on the dead shard is an error reply');
    t.ok(Date.now() - again <= 5000, 'and it is fast');

    // The live shard is unaffected, on this connection and on a new one.
    t.equal(await proxy.run(['GET', liveKey], { timeoutMs: 5000 }), 'l', 'GET on the live shard');
    t.equal(await proxy.run(['SET', find('live2:', false), 'x'], { timeoutMs: 5000 }), 'OK', 'SET on the live shard');
    t.equal(await proxy.run(['INCR', find('cnt:', false)], { timeoutMs: 5000 }), 1, 'INCR on the live shard');
    const fresh = await RespClient.connect(target.port);
    t.teardown(() => fresh.close());
    t.equal(await fresh.run(['PING'], { timeoutMs: 5000 }), 'PONG', 'new connection: PING');
    t.equal(await fresh.run(['GET', liveKey], { timeoutMs: 5000 }), 'l', 'new connection: GET on the live shard');
  });
}
