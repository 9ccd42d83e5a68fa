// Consistency levels through the proxy (docs/replication.md, "Consistency"), on an
// embedded cluster with one replica per primary worker (Shoal only):
//   - CONSISTENCY: the connection's level, setting it, errors, RESET;
//   - session: a client writes then reads 10,000 times, keys over both workers, and
//     never misses its own write, while replicas serve a real share of the reads
//     (INFO commandstats on the replica ports, and the proxy's shoal_replica_reads);
//   - strong: every acknowledged write is already on the replica (read there directly
//     with READONLY right after the ack);
//   - eventual: reads reach the replicas;
//   - WAIT through the proxy: the replica count that acknowledged the client's writes,
//     a timeout when asking for more, and Redis's argument errors.

import t from 'tap';
import { isRedis, startShoal } from '../helpers/cluster.js';
import { RespClient, parseInfo, type RespValue } from '../helpers/run.js';

const errorText = (v: RespValue): string => (typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map) && !Buffer.isBuffer(v) && 'error' in v ? v.error : '');

/** cmdstat_<cmd> calls on a worker port (0 when never called). */
async function calls(port: number, cmd: string): Promise<number> {
  const c = await RespClient.connect(port);
  try {
    const info = parseInfo(await c.run(['INFO', 'commandstats']));
    const line = info.get(`cmdstat_${cmd}`) ?? '';
    return Number(/calls=(\d+)/.exec(line)?.[1] ?? 0);
  } finally {
    await c.close();
  }
}

async function sumCalls(ports: readonly number[], cmd: string): Promise<number> {
  let n = 0;
  for (const p of ports) n += await calls(p, cmd);
  return n;
}

if (isRedis) {
  t.plan(0, 'consistency levels and replica reads through the proxy are Shoal-only');
} else {
  const target = await startShoal({ workers: 2, replicas: 1, readyTimeoutMs: 60_000 });
  t.teardown(() => target.stop());
  const replicaPorts = target.replicaPorts ?? [];
  const primaryPorts = target.workerPorts;

  t.test('CONSISTENCY reads and sets the connection level; errors; RESET restores the default', async (t) => {
    const c = await RespClient.connect(target.port);
    t.teardown(() => c.close());
    t.equal(String(await c.run(['CONSISTENCY'])), 'session', 'the config default (consistency session)');
    t.equal(await c.run(['CONSISTENCY', 'strong']), 'OK');
    t.equal(String(await c.run(['CONSISTENCY'])), 'strong');
    t.equal(await c.run(['CONSISTENCY', 'EVENTUAL']), 'OK', 'case-insensitive');
    t.equal(String(await c.run(['CONSISTENCY'])), 'eventual');
    t.equal(errorText(await c.run(['CONSISTENCY', 'linearizable'])), "ERR Invalid consistency level 'linearizable' (eventual, strong, session)");
    t.equal(errorText(await c.run(['CONSISTENCY', 'strong', 'extra'])), "ERR wrong number of arguments for 'consistency' command");
    t.equal(String(await c.run(['CONSISTENCY'])), 'eventual', 'unchanged by the errors');
    const other = await RespClient.connect(target.port);
    t.equal(String(await other.run(['CONSISTENCY'])), 'session', 'per connection: another client keeps the default');
    await other.close();
    t.equal(await c.run(['RESET']), 'RESET');
    t.equal(String(await c.run(['CONSISTENCY'])), 'session', 'RESET goes back to the default');
  });

  t.test('session: 10,000 write-then-read pairs never miss their own write; replicas serve reads', async (t) => {
    const c = await RespClient.connect(target.port);
    t.teardown(() => c.close());
    t.equal(await c.run(['CONSISTENCY', 'session']), 'OK');
    const replicaBefore = await sumCalls(replicaPorts, 'get');
    const primaryBefore = await sumCalls(primaryPorts, 'get');
    const info0 = parseInfo(await c.run(['INFO', 'server']));
    const served0 = Number(info0.get('shoal_replica_reads') ?? 0);
    let misses = 0;
    const firstMisses: string[] = [];
    const started = Date.now();
    for (let i = 0; i < 10_000; i++) {
      const key = `sess:${i % 997}:${i}`; // spread over both workers' slots
      const value = `v${i}`;
      const set = await c.run(['SET', key, value]);
      if (set !== 'OK') t.fail(`SET ${key}: ${JSON.stringify(set)}`);
      const got = await c.run(['GET', key]);
      if (String(got) !== value) {
        misses++;
        if (firstMisses.length < 5) firstMisses.push(`${key}: ${JSON.stringify(got)}`);
      }
    }
    const ms = Date.now() - started;
    t.equal(misses, 0, `no read missed its own write (${firstMisses.join('; ')})`);
    const replicaGets = (await sumCalls(replicaPorts, 'get')) - replicaBefore;
    const primaryGets = (await sumCalls(primaryPorts, 'get')) - primaryBefore;
    const served = Number(parseInfo(await c.run(['INFO', 'server'])).get('shoal_replica_reads') ?? 0) - served0;
    t.comment(`10,000 pairs in ${ms} ms: GETs on replicas ${replicaGets}, on primaries ${primaryGets}, proxy shoal_replica_reads +${served}`);
    t.ok(replicaGets >= 1000, `replicas served a real share of the reads (${replicaGets} of 10,000 by INFO commandstats)`);
    t.ok(served >= 1000, `the proxy counts the replica reads (${served})`);
  });

  t.test('session: pipelined write then read of the same key reads the write', async (t) => {
    const c = await RespClient.connect(target.port);
    t.teardown(() => c.close());
    for (let round = 0; round < 200; round++) {
      const key = `pipe:${round}`;
      const [set, get] = await Promise.all([c.run(['SET', key, String(round)]), c.run(['GET', key])]);
      t.equal(set, 'OK');
      if (String(get) !== String(round)) {
        t.fail(`round ${round}: GET saw ${JSON.stringify(get)}`);
        return;
      }
    }
    t.pass('200 pipelined SET+GET pairs read their write');
  });

  t.test('strong: an acknowledged write is already on the replica', async (t) => {
    const c = await RespClient.connect(target.port);
    t.teardown(() => c.close());
    t.equal(await c.run(['CONSISTENCY', 'strong']), 'OK');
    const replicas = await Promise.all(replicaPorts.map((p) => RespClient.connect(p)));
    t.teardown(() => Promise.all(replicas.map((r) => r.close())));
    for (const r of replicas) t.equal(await r.run(['READONLY']), 'OK');
    let missing = 0;
    let firstMissing = '';
    for (let i = 0; i < 500; i++) {
      const key = `strong:${i}`;
      const set = await c.run(['SET', key, `s${i}`]);
      if (set !== 'OK') t.fail(`SET ${key}: ${JSON.stringify(set)}`);
      // Ask every replica: the one of the key's group has it, the other answers MOVED.
      const replies = await Promise.all(replicas.map((r) => r.run(['GET', key])));
      if (!replies.some((v) => String(v) === `s${i}`)) {
        missing++;
        firstMissing ||= `${key}: ${JSON.stringify(replies)}`;
      }
    }
    t.equal(missing, 0, `every acknowledged strong write was on its replica at the ack (${firstMissing})`);
  });

  t.test('eventual: single-key reads reach the replicas', async (t) => {
    const c = await RespClient.connect(target.port);
    t.teardown(() => c.close());
    t.equal(await c.run(['CONSISTENCY', 'eventual']), 'OK');
    t.equal(await c.run(['SET', 'ev:key', 'x']), 'OK');
    t.equal(await c.run(['WAIT', '1', '1000']), 1, 'the replica has it');
    const before = await sumCalls(replicaPorts, 'get');
    const primaryBefore = await sumCalls(primaryPorts, 'get');
    let wrong = 0;
    for (let i = 0; i < 400; i++) if (String(await c.run(['GET', 'ev:key'])) !== 'x') wrong++;
    t.equal(wrong, 0, 'every read found the value (written and WAITed for)');
    const onReplicas = (await sumCalls(replicaPorts, 'get')) - before;
    const onPrimaries = (await sumCalls(primaryPorts, 'get')) - primaryBefore;
    t.comment(`eventual: ${onReplicas} GETs on replicas, ${onPrimaries} on primaries`);
    t.ok(onReplicas >= 100, `round-robin sends reads to the replica (${onReplicas} of 400)`);
    t.ok(onPrimaries >= 100, `and to the primary (${onPrimaries} of 400)`);
  });

  t.test('WAIT through the proxy', async (t) => {
    const c = await RespClient.connect(target.port);
    t.teardown(() => c.close());
    t.equal(await c.run(['SET', 'wait:a', '1']), 'OK');
    t.equal(await c.run(['SET', 'wait:b', '2']), 'OK');
    t.equal(await c.run(['WAIT', '1', '2000']), 1, 'one replica acknowledged the writes');
    t.equal(await c.run(['WAIT', '0', '0']), 1, 'no writes since: the connected replicas, at once');
    t.equal(await c.run(['SET', 'wait:c', '3']), 'OK');
    const t0 = Date.now();
    t.equal(await c.run(['WAIT', '2', '300']), 1, 'asking for more replicas than exist: the count after the timeout');
    const waited = Date.now() - t0;
    t.ok(waited >= 250 && waited < 2000, `waited for the timeout (${waited} ms)`);
    t.equal(errorText(await c.run(['WAIT', 'x', '0'])), 'ERR value is not an integer or out of range');
    t.equal(errorText(await c.run(['WAIT', '1', '-1'])), 'ERR timeout is negative');
    t.equal(errorText(await c.run(['WAIT', '1'])), "ERR wrong number of arguments for 'wait' command");
    // The client's pipeline waits behind WAIT, in order.
    const [w, p] = await Promise.all([c.run(['WAIT', '1', '1000']), c.run(['PING'])]);
    t.same([w, p], [1, 'PONG']);
  });
}
