// Cluster mode straight against the shard workers (Shoal only): each worker speaks
// the Redis Cluster protocol (CLUSTER SLOTS/SHARDS/NODES/MYID/INFO/KEYSLOT, -MOVED,
// -CROSSSLOT), so ioredis' Cluster client can talk to the workers directly. Through
// the proxy, the same cross-slot commands just work.
//
// Skipped with SHOAL_TEST_TARGET=redis (a single redis-server is not a cluster);
// SHOAL_TEST_TARGET=redis-cluster checks these expectations against a real 3-node
// Redis Cluster (no proxy, so the proxy checks are skipped there).

import t from 'tap';
import { Cluster } from 'ioredis';
import { isRedis, isRedisCluster, keySlot, startRedisCluster, startShoal, type Target } from '../helpers/cluster.js';
import { RespClient, err, type RespValue } from '../helpers/run.js';

const HEX40 = /^[0-9a-f]{40}$/;

if (isRedis && !isRedisCluster) {
  t.plan(0, 'cluster mode against workers is Shoal-only (SHOAL_TEST_TARGET=redis-cluster checks it against Redis Cluster)');
} else {
  const target: Target = isRedisCluster ? await startRedisCluster(3) : await startShoal({ workers: 3 });
  t.teardown(() => target.stop());
  const hasProxy = !isRedisCluster;
  const workers = new Map<number, RespClient>();
  for (const p of target.workerPorts) {
    const c = await RespClient.connect(p);
    workers.set(p, c);
    t.teardown(() => c.close());
  }
  const on = (port: number, argv: string[]): Promise<RespValue> => {
    const c = workers.get(port);
    if (c === undefined) throw new Error(`no connection to worker ${port}`);
    return c.run(argv);
  };
  const firstPort = target.workerPorts[0] as number;

  // slot → owning worker port, from CLUSTER SLOTS on the first worker.
  const owner = new Int32Array(16384).fill(-1);
  const slotsReply = await on(firstPort, ['CLUSTER', 'SLOTS']);
  for (const entry of Array.isArray(slotsReply) ? slotsReply : []) {
    const [start, end, master] = entry as [number, number, [string, number, string]];
    for (let s = start; s <= end; s++) owner[s] = master[1];
  }
  /** A key (with prefix) whose slot the worker at `port` owns / does not own. */
  const keyWhere = (prefix: string, pred: (ownerPort: number, slot: number) => boolean): string => {
    for (let i = 0; i < 100_000; i++) {
      const k = `${prefix}${i}`;
      const slot = keySlot(k);
      if (pred(owner[slot] ?? -1, slot)) return k;
    }
    throw new Error(`no key found for ${prefix}`);
  };

  t.beforeEach(async () => {
    for (const p of target.workerPorts) await on(p, ['FLUSHALL']);
  });

  t.test('CLUSTER SLOTS covers every slot exactly once, on every worker', async (t) => {
    t.ok(Array.isArray(slotsReply), 'CLUSTER SLOTS is an array');
    let covered = 0;
    const seen = new Int8Array(16384);
    const ports = new Set<number>();
    for (const entry of Array.isArray(slotsReply) ? slotsReply : []) {
      t.ok(Array.isArray(entry) && entry.length >= 3, 'entry: start, end, master[, replicas]');
      const [start, end, master] = entry as [number, number, RespValue[]];
      t.ok(Number.isInteger(start) && Number.isInteger(end) && start <= end, `range ${start}-${end}`);
      for (let s = start; s <= end; s++) {
        if (seen[s] === 1) t.fail(`slot ${s} listed twice`);
        seen[s] = 1;
        covered++;
      }
      t.equal(master[0], '127.0.0.1', 'master host');
      t.type(master[1], 'number');
      t.match(String(master[2]), HEX40, 'master node id');
      ports.add(master[1] as number);
    }
    t.equal(covered, 16384, 'all 16384 slots assigned');
    t.same([...ports].sort(), target.workerPorts.slice().sort(), 'every worker owns slots');
    for (const p of target.workerPorts.slice(1)) {
      t.same(await on(p, ['CLUSTER', 'SLOTS']), slotsReply, `worker ${p} reports the same CLUSTER SLOTS`);
    }
  });

  t.test('CLUSTER KEYSLOT', async (t) => {
    t.equal(await on(firstPort, ['CLUSTER', 'KEYSLOT', 'foo']), 12182);
    t.equal(await on(firstPort, ['CLUSTER', 'KEYSLOT', 'bar']), 5061);
    t.equal(await on(firstPort, ['CLUSTER', 'KEYSLOT', '{user1000}.following']), await on(firstPort, ['CLUSTER', 'KEYSLOT', '{user1000}.followers']));
    t.equal(await on(firstPort, ['CLUSTER', 'KEYSLOT', '']), 0);
    const samples = ['a{}b', '{}x', 'x{', 'x}{y}', '{a}{b}', 'héllo', ...Array.from({ length: 100 }, (_, i) => `key:${i * 7919}`)];
    for (const k of samples) {
      const got = await on(firstPort, ['CLUSTER', 'KEYSLOT', k]);
      if (got !== keySlot(k)) t.fail(`CLUSTER KEYSLOT ${k}: ${String(got)} != ${keySlot(k)}`);
    }
    t.pass('KEYSLOT agrees with CRC16 for every sample');
    t.same(await on(firstPort, ['CLUSTER', 'KEYSLOT']), err("ERR wrong number of arguments for 'cluster|keyslot' command"));
    t.same(await on(firstPort, ['CLUSTER', 'FOO']), err("ERR unknown subcommand 'FOO'. Try CLUSTER HELP."));
  });

  t.test('CLUSTER MYID NODES', async (t) => {
    const ids = new Set<string>();
    for (const p of target.workerPorts) {
      const myid = await on(p, ['CLUSTER', 'MYID']);
      t.match(String(myid), HEX40, `worker ${p} MYID`);
      ids.add(String(myid));
      const nodes = await on(p, ['CLUSTER', 'NODES']);
      t.type(nodes, 'string');
      const lines = String(nodes).split('\n');
      t.equal(lines.pop(), '', 'ends with a newline');
      t.equal(lines.length, target.workerPorts.length, 'one line per node');
      const myself = lines.filter((l) => / myself,master /.test(l));
      t.equal(myself.length, 1, 'exactly one myself line');
      t.ok(myself[0]?.startsWith(`${String(myid)} 127.0.0.1:${p}@`), 'myself line is this worker');
      for (const line of lines) {
        t.match(line, /^[0-9a-f]{40} 127\.0\.0\.1:\d+@\d+(,\S*)? (myself,)?master - 0 \d+ \d+ connected( \d+(-\d+)?)+$/, `NODES line: ${line}`);
        // The slots on the line agree with CLUSTER SLOTS.
        const port = Number(/127\.0\.0\.1:(\d+)@/.exec(line)?.[1]);
        const ranges = line.split(' ').slice(8);
        for (const r of ranges) {
          const [a, b] = r.split('-').map(Number) as [number, number | undefined];
          if (owner[a] !== port || owner[b ?? a] !== port) t.fail(`NODES range ${r} for ${port} disagrees with CLUSTER SLOTS`);
        }
      }
    }
    t.equal(ids.size, target.workerPorts.length, 'every worker has its own id');
  });

  t.test('CLUSTER SHARDS', async (t) => {
    const shards = await on(firstPort, ['CLUSTER', 'SHARDS']);
    t.ok(Array.isArray(shards), 'array');
    let slotsTotal = 0;
    const ports: number[] = [];
    for (const shard of Array.isArray(shards) ? shards : []) {
      const s = shard as RespValue[];
      t.equal(s[0], 'slots');
      t.equal(s[2], 'nodes');
      const ranges = s[1] as number[];
      t.equal(ranges.length % 2, 0, 'slots come in start/end pairs');
      for (let i = 0; i + 1 < ranges.length; i += 2) slotsTotal += (ranges[i + 1] as number) - (ranges[i] as number) + 1;
      for (const node of s[3] as RespValue[][]) {
        const fields = node.filter((_, i) => i % 2 === 0);
        t.same(fields.slice(0, 7), ['id', 'port', 'ip', 'endpoint', 'role', 'replication-offset', 'health'], 'field order');
        const m = new Map<string, RespValue>();
        for (let i = 0; i + 1 < node.length; i += 2) m.set(String(node[i]), node[i + 1] ?? null);
        t.match(String(m.get('id')), HEX40);
        t.equal(m.get('ip'), '127.0.0.1');
        t.equal(m.get('endpoint'), '127.0.0.1');
        t.equal(m.get('role'), 'master');
        t.equal(m.get('health'), 'online');
        t.type(m.get('replication-offset'), 'number');
        ports.push(m.get('port') as number);
        for (const k of ['id', 'port', 'ip', 'endpoint', 'role', 'replication-offset', 'health']) t.ok(m.has(k), `node has ${k}`);
      }
    }
    t.equal(slotsTotal, 16384, 'shards cover all slots');
    t.same(ports.sort(), target.workerPorts.slice().sort(), 'one node per worker');
  });

  t.test('CLUSTER INFO', async (t) => {
    const info = String(await on(firstPort, ['CLUSTER', 'INFO']));
    const n = target.workerPorts.length;
    t.match(info, /^cluster_state:ok\r\n/);
    t.match(info, /\r\ncluster_slots_assigned:16384\r\n/);
    t.match(info, /\r\ncluster_slots_ok:16384\r\n/);
    t.match(info, /\r\ncluster_slots_fail:0\r\n/);
    t.match(info, new RegExp(`\r\ncluster_known_nodes:${n}\r\n`));
    t.match(info, new RegExp(`\r\ncluster_size:${n}\r\n`));
    t.ok(info.endsWith('\r\n'));
  });

  t.test('a worker answers -MOVED for keys it does not own', async (t) => {
    for (const p of target.workerPorts) {
      const foreign = keyWhere(`moved:${p}:`, (o) => o !== p);
      const slot = keySlot(foreign);
      const moved = err(`MOVED ${slot} 127.0.0.1:${owner[slot]}`);
      t.same(await on(p, ['GET', foreign]), moved, `GET on ${p}`);
      t.same(await on(p, ['SET', foreign, 'v']), moved, `SET on ${p}`);
      t.same(await on(p, ['MGET', `{${foreign}}a`, `{${foreign}}b`]), err(`MOVED ${keySlot(`{${foreign}}a`)} 127.0.0.1:${owner[slot]}`), 'same-slot MGET');
      const own = keyWhere(`own:${p}:`, (o) => o === p);
      t.equal(await on(p, ['SET', own, 'v']), 'OK', `SET own key on ${p}`);
      t.equal(await on(p, ['GET', own]), 'v');
      t.equal(await on(owner[slot] as number, ['SET', foreign, 'there']), 'OK', 'the owner accepts it');
    }
  });

  t.test('cross-slot multi-key commands on a worker → -CROSSSLOT', async (t) => {
    const crossslot = err("CROSSSLOT Keys in request don't hash to the same slot");
    for (const p of target.workerPorts) {
      // Two keys this worker owns but in different slots still fail.
      const k1 = keyWhere(`cs:${p}:a`, (o) => o === p);
      const k2b = keyWhere(`cs:${p}:b`, (o, slot) => o === p && slot !== keySlot(k1));
      t.same(await on(p, ['MGET', k1, k2b]), crossslot, `MGET on ${p}`);
      t.same(await on(p, ['MSET', k1, '1', k2b, '2']), crossslot, `MSET on ${p}`);
      t.same(await on(p, ['DEL', k1, k2b]), crossslot, `DEL on ${p}`);
      t.same(await on(p, ['EXISTS', k1, k2b]), crossslot, `EXISTS on ${p}`);
      // `{tag}x` hashes like `tag`.
      const tag = keyWhere(`tag${p}-`, (o) => o === p);
      t.equal(await on(p, ['MSET', `{${tag}}x`, '1', `{${tag}}y`, '2']), 'OK', 'same tag: MSET works');
      t.same(await on(p, ['MGET', `{${tag}}x`, `{${tag}}y`]), ['1', '2'], 'same tag: MGET works');
    }
    t.same(await on(firstPort, ['MGET', 'a', 'b']), crossslot, 'MGET a b');
  });

  t.test('through the proxy, cross-worker MGET works', { skip: !hasProxy && 'no proxy in a real Redis Cluster' }, async (t) => {
    const proxy = await RespClient.connect(target.port);
    t.teardown(() => proxy.close());
    const keys = target.workerPorts.map((p) => keyWhere(`px:${p}:`, (o) => o === p));
    t.equal(await proxy.run(['MSET', ...keys.flatMap((k, i) => [k, `v${i}`])]), 'OK');
    t.same(await proxy.run(['MGET', ...keys, 'px:none']), [...keys.map((_, i) => `v${i}`), null]);
    t.same(await proxy.run(['MGET', 'a', 'b']), [null, null]);
    for (const [i, k] of keys.entries()) {
      t.equal(await on(owner[keySlot(k)] as number, ['GET', k]), `v${i}`, `${k} stored on its owning worker`);
    }
    t.equal(await proxy.run(['DEL', ...keys]), keys.length);
  });

  t.test('ioredis Cluster: SET/GET 1,000 keys over all slots', async (t) => {
    const cluster = new Cluster([{ host: '127.0.0.1', port: firstPort }], {
      clusterRetryStrategy: () => null,
      redisOptions: { maxRetriesPerRequest: 1, connectTimeout: 5000 },
    });
    cluster.on('error', () => {
      // surfaced through rejected commands
    });
    t.teardown(async () => {
      try {
        await cluster.quit();
      } catch {
        cluster.disconnect();
      }
    });
    const keys = Array.from({ length: 1000 }, (_, i) => `ic:${i}`);
    await Promise.all(keys.map((k, i) => cluster.set(k, `v${i}`)));
    const values = await Promise.all(keys.map((k) => cluster.get(k)));
    t.same(values, keys.map((_, i) => `v${i}`), 'every GET returns its SET');
    let total = 0;
    for (const p of target.workerPorts) {
      const n = await on(p, ['DBSIZE']);
      t.ok(typeof n === 'number' && n > 0, `worker ${p} holds ${String(n)} keys`);
      total += typeof n === 'number' ? n : 0;
    }
    t.equal(total, 1000, 'the workers hold exactly the 1,000 keys');
    const expected = new Map<number, number>();
    for (const k of keys) expected.set(owner[keySlot(k)] as number, (expected.get(owner[keySlot(k)] as number) ?? 0) + 1);
    for (const p of target.workerPorts) t.equal(await on(p, ['DBSIZE']), expected.get(p) ?? 0, `worker ${p} holds the keys of its slots`);
  });
}
