// Worker replication core (shard/replication/): real shard processes, a primary and a
// replica started from one topology file (test/helpers/replication.ts), no manager.
// Convergence of every data type, replica write refusals, lease and fence refusals,
// SHOAL.TOPOLOGY promotion / demotion with resync, strong holds released by ACKs,
// WAIT, partial resync after a dropped link. Exact reply texts from the contract.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { useReplPair, once, infoOf, waitFor } from '../helpers/replication.js';
import { replicationWorkload, BLOOM_UNIVERSE } from '../helpers/repl-workload.js';
import { readKeyspace, diffKeyspaces } from '../helpers/keyspace-diff.js';
import { RespClient, sleep, encodeCommand, type RespValue } from '../helpers/run.js';
import { encodeFrame, readOffset, FrameKind, FLAG_OFFSET, FLAG_STRONG, FRAME_HEADER, OFFSET_BYTES } from '../../shared/frame/codec.js';
import type { Topology } from '../../shared/cluster/topology.js';

const TRYAGAIN = (e: number): { error: string } => ({ error: `TRYAGAIN Lease expired or fenced: this primary may have been replaced (epoch ${e})` });
const READONLY = { error: "READONLY You can't write against a read only replica." };

async function runAll(port: number, cmds: readonly (readonly string[])[]): Promise<RespValue[]> {
  const c = await RespClient.connect(port);
  try {
    const out: RespValue[] = [];
    for (let i = 0; i < cmds.length; i += 500) out.push(...(await Promise.all(cmds.slice(i, i + 500).map((a) => c.run(a, { timeoutMs: 20_000 })))));
    return out;
  } finally {
    await c.close();
  }
}

/** The topology JSON with the group's primary and replica swapped (failover keeps array order). */
async function swapped(file: string): Promise<string> {
  const topo = JSON.parse(await readFile(file, 'utf8')) as Topology;
  const w = topo.workers.map((x) => ({ ...x }));
  const r = (topo.replicas ?? []).map((x) => ({ ...x }));
  const p = w[0]!;
  w[0] = { ...r[0]!, role: 'primary' };
  r[0] = { ...p, role: 'replica' };
  return JSON.stringify({ workers: w, replicas: r });
}

t.test('every data type converges (full sync, then the stream), expiry DELs included', async (t) => {
  const pair = await useReplPair(t, { kind: 'shoal', withReplica: false });
  // Half before the replica exists (full sync), half after (the stream).
  const cmds = replicationWorkload({ seed: 8, count: 4000, bloom: true });
  await runAll(pair.primaryPort, cmds.slice(0, 2000));
  await pair.startReplica();
  await runAll(pair.primaryPort, cmds.slice(2000));
  await runAll(pair.primaryPort, [['SETBIT', '{g1}bits', '77', '1'], ['PFADD', '{g1}hll', 'a', 'b', 'c'], ['MULTI'], ['INCR', '{g2}ctr'], ['LPUSH', '{g2}lst', 'x'], ['EXEC']]);
  await sleep(600); // the short TTLs (PX <= 400) pass; the primary's DELs follow
  await pair.waitCaughtUp(20_000);
  const [want, got] = await Promise.all([readKeyspace(pair.primaryPort, { bloomProbe: BLOOM_UNIVERSE }), readKeyspace(pair.replicaPort, { bloomProbe: BLOOM_UNIVERSE })]);
  t.ok(want.size > 100, `primary holds ${want.size} keys`);
  t.same(diffKeyspaces(want, got, 5), [], 'replica keyspace equals the primary\'s');
  const r = await infoOf(pair.replicaPort, 'replication');
  t.equal(r.get('role'), 'slave');
  t.equal(r.get('master_link_status'), 'up');
  const p = await infoOf(pair.primaryPort, 'replication');
  t.equal(p.get('connected_slaves'), '1');
  t.match(p.get('slave0') ?? '', /^ip=127\.0\.0\.1,port=\d+,state=online,offset=\d+,lag=\d+$/);
  const role = (await once(pair.replicaPort, ['ROLE'])) as RespValue[];
  t.equal(role[0], 'slave');
  t.equal(role[3], 'connected');
  const stats = await infoOf(pair.primaryPort, 'stats');
  t.equal(stats.get('sync_full'), '1');
});

t.test('lease expiry and fencing refuse writes with the contract text; a topology unfences', async (t) => {
  const pair = await useReplPair(t, { kind: 'shoal', withReplica: false });
  const port = pair.primaryPort;
  t.same(await once(port, ['SHOAL.LEASE', '1', '300']), ['primary', 0, 1, 'none']);
  t.equal(await once(port, ['SET', 'a', '1']), 'OK');
  await sleep(400);
  t.same(await once(port, ['SET', 'a', '2']), TRYAGAIN(1), 'expired lease');
  t.equal(await once(port, ['GET', 'a']), '1', 'the refused write was not applied; reads still answer');
  await once(port, ['SHOAL.LEASE', '1', '5000']);
  t.equal(await once(port, ['SET', 'a', '3']), 'OK', 'renewed');
  const leased = (await once(port, ['SHOAL.LEASE', '2', '5000'])) as RespValue[];
  t.same(leased.slice(0, 1).concat(leased.slice(2)), ['primary', 1, 'none'], 'a newer lease epoch fences');
  t.same(await once(port, ['SET', 'a', '4']), TRYAGAIN(1));
  const topo = JSON.parse(await readFile(pair.topologyFile, 'utf8')) as Topology;
  const json = JSON.stringify({ workers: topo.workers, replicas: topo.replicas });
  t.equal(await once(port, ['SHOAL.TOPOLOGY', '2', json]), 'OK');
  t.same(await once(port, ['SHOAL.TOPOLOGY', '1', json]), { error: 'ERR stale topology epoch 1 (this worker is at 2)' });
  await once(port, ['SHOAL.LEASE', '2', '5000']);
  t.equal(await once(port, ['SET', 'a', '5']), 'OK', 'unfenced by the topology of that epoch');
  // A stopped primary finds stale renewals queued when it resumes: they must not renew.
  const mgr = await RespClient.connect(port);
  const cli = await RespClient.connect(port);
  t.teardown(() => Promise.all([mgr.close(), cli.close()]));
  await mgr.run(['SHOAL.LEASE', '2', '300']);
  t.equal(await cli.run(['SET', 'a', '5b']), 'OK');
  pair.primary.signalPid('SIGSTOP');
  t.teardown(() => pair.primary.signalPid('SIGCONT'));
  const renewals: Array<Promise<RespValue>> = [];
  for (let i = 0; i < 8; i++) {
    renewals.push(mgr.run(['SHOAL.LEASE', '2', '300'], { timeoutMs: 20_000 }));
    await sleep(100);
  }
  const write = cli.run(['SET', 'a', 'stale'], { timeoutMs: 20_000 });
  pair.primary.signalPid('SIGCONT');
  t.same(await write, TRYAGAIN(2), 'no write acknowledged on renewals queued during the stall');
  await Promise.all(renewals);
  await sleep(400);
  await once(port, ['SHOAL.LEASE', '2', '5000']);
  t.equal(await once(port, ['SET', 'a', '5c']), 'OK', 'fresh renewals after one lease period work');
  t.equal(typeof (await once(port, ['SHOAL.FENCE'])), 'number');
  t.same(await once(port, ['SET', 'a', '6']), TRYAGAIN(2), 'SHOAL.FENCE stops writes');
  const i = await infoOf(port, 'replication');
  t.equal(i.get('shoal_epoch'), '2');
  t.equal(i.get('shoal_fenced'), '1');
});

t.test('SHOAL.TOPOLOGY promotes the replica and demotes the primary, which resyncs partially', async (t) => {
  const pair = await useReplPair(t, { kind: 'shoal' });
  await runAll(pair.primaryPort, Array.from({ length: 200 }, (_, i) => ['SET', `k${i}`, `v${i}`]));
  await pair.waitCaughtUp();
  const before = await infoOf(pair.replicaPort, 'replication');
  const json = await swapped(pair.topologyFile);
  t.equal(await once(pair.replicaPort, ['SHOAL.TOPOLOGY', '2', json]), 'OK');
  t.equal(await once(pair.primaryPort, ['SHOAL.TOPOLOGY', '2', json]), 'OK');
  const newP = pair.replicaPort;
  const oldP = pair.primaryPort;
  t.equal(await once(newP, ['SET', 'after', 'yes']), 'OK', 'the promoted replica takes writes');
  const moved = (await once(oldP, ['SET', 'after', 'no'])) as { error: string };
  t.match(moved.error, new RegExp(`^MOVED \\d+ 127\\.0\\.0\\.1:${newP}$`), 'the old primary redirects to the new one');
  const p = await infoOf(newP, 'replication');
  t.equal(p.get('role'), 'master');
  t.equal(p.get('master_replid2'), before.get('master_replid'), 'replid2 = the old history');
  const up = await waitFor(async () => (await infoOf(oldP, 'replication')).get('master_link_status') === 'up', 10_000);
  t.ok(up.ok, 'the demoted primary links to the new one');
  const got = await waitFor(async () => {
    const c = await RespClient.connect(oldP);
    try {
      await c.run(['READONLY']);
      return (await c.run(['GET', 'after'])) === 'yes';
    } finally {
      await c.close();
    }
  }, 10_000);
  t.ok(got.ok, 'writes on the new primary reach the demoted one');
  const s = await infoOf(newP, 'stats');
  t.equal(s.get('sync_partial_ok'), '1', 'partial resync');
});

t.test('a dropped link resyncs partially from the backlog', async (t) => {
  const pair = await useReplPair(t, { kind: 'shoal', relay: true });
  await runAll(pair.primaryPort, Array.from({ length: 100 }, (_, i) => ['SET', `a${i}`, 'x']));
  await pair.waitCaughtUp();
  pair.relays[0]!.cut();
  await runAll(pair.primaryPort, Array.from({ length: 100 }, (_, i) => ['SET', `b${i}`, 'y']));
  const ok = await waitFor(async () => (await infoOf(pair.primaryPort, 'stats')).get('sync_partial_ok') === '1', 10_000);
  t.ok(ok.ok, 'sync_partial_ok counted');
  await pair.waitCaughtUp();
  const [want, got] = await Promise.all([readKeyspace(pair.primaryPort), readKeyspace(pair.replicaPort)]);
  t.same(diffKeyspaces(want, got, 5), []);
  t.equal((await infoOf(pair.primaryPort, 'stats')).get('sync_full'), '1', 'no second full sync');
});

/** Sends one BATCH frame on a fresh framed link; resolves with the REPLIES frame's flags, payload and arrival time. */
function framedBatch(port: number, flags: number, cmds: readonly (readonly string[])[], timeoutMs = 10_000): { sent: number; reply: Promise<{ flags: number; payload: Buffer; at: number }>; close(): void } {
  const socket = net.connect({ port, host: '127.0.0.1' });
  const payload = Buffer.concat(cmds.map((c) => encodeCommand(c)));
  let buf = Buffer.alloc(0);
  const reply = new Promise<{ flags: number; payload: Buffer; at: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no REPLIES frame')), timeoutMs);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= FRAME_HEADER && buf.length >= FRAME_HEADER + buf.readUInt32LE(8)) {
        clearTimeout(timer);
        resolve({ flags: buf.readUInt16LE(2), payload: buf.subarray(FRAME_HEADER, FRAME_HEADER + buf.readUInt32LE(8)), at: Date.now() });
      }
    });
    socket.on('error', reject);
  });
  socket.write(encodeFrame(FrameKind.BATCH, flags, cmds.length, payload));
  return { sent: Date.now(), reply, close: () => socket.destroy() };
}

// One primary + replica pair for the checks that need no fresh history (each pair costs
// a few seconds of process start on a busy machine).
t.test('one pair: refusals, strong holds, framed flags, min-replicas and CONFIG', async (s) => {
  const pair = await useReplPair(s, { kind: 'shoal' });
  // The replica's link is up; the primary must also count it online (its side of the sync ended).
  const online = await waitFor(async () => /state=online/.test((await infoOf(pair.primaryPort, 'replication')).get('slave0') ?? ''), 10_000);
  s.ok(online.ok, 'the primary counts the replica online');
  s.test('min-replicas-to-write, CONFIG parameters, REPLCONF and PSYNC refusals', async (t) => {
    const p = pair.primaryPort;
    t.equal(await once(p, ['CONFIG', 'SET', 'min-replicas-to-write', '2']), 'OK');
    t.same(await once(p, ['SET', 'x', '1']), { error: 'NOREPLICAS Not enough good replicas to write.' });
    t.equal(await once(p, ['CONFIG', 'SET', 'min-replicas-to-write', '1']), 'OK');
    t.equal(await once(p, ['SET', 'x', '1']), 'OK');
    t.same(await once(p, ['CONFIG', 'GET', 'min-replicas-*']), ['min-replicas-to-write', '1', 'min-replicas-max-lag', '10']);
    t.same(await once(p, ['CONFIG', 'SET', 'min-replicas-max-lag', 'x']), { error: "ERR CONFIG SET failed (possibly related to argument 'min-replicas-max-lag') - argument couldn't be parsed into an integer" });
    t.equal(await once(p, ['CONFIG', 'SET', 'repl-backlog-size', '1']), 'OK');
    t.same(await once(p, ['CONFIG', 'GET', 'repl-backlog-size']), ['repl-backlog-size', '16384']);
    t.equal((await infoOf(p, 'replication')).get('repl_backlog_size'), '16384');
    t.same(await once(p, ['REPLCONF', 'bogus', '5']), { error: 'ERR Unrecognized REPLCONF option: bogus' });
    t.same(await once(p, ['REPLCONF', 'listening-port']), { error: 'ERR syntax error' });
    t.same(await once(p, ['WAIT', '1', '-1']), { error: 'ERR timeout is negative' });
    t.same(await once(p, ['WAIT', 'a', '1']), { error: 'ERR value is not an integer or out of range' });
    const f = framedBatch(p, 0, [['PSYNC', '?', '-1']]);
    t.teardown(f.close);
    t.equal((await f.reply).payload.toString(), '-ERR PSYNC is not allowed on a proxy link\r\n');
    const slots = (await once(p, ['CLUSTER', 'SLOTS'])) as RespValue[][];
    t.equal(slots[0]!.length, 4, 'CLUSTER SLOTS lists the replica beside the primary');
    t.equal((slots[0]![3] as RespValue[])[1], pair.replicaPort);
    t.equal(await once(p, ['CONFIG', 'SET', 'min-replicas-to-write', '0', 'repl-backlog-size', '1mb']), 'OK');
  });

  s.test('a replica refuses writes: MOVED for direct keyed writes, READONLY otherwise; READONLY reads', async (t) => {
    t.equal(await once(pair.primaryPort, ['SET', 'k', 'v']), 'OK');
    await pair.waitCaughtUp();
    const moved = (await once(pair.replicaPort, ['SET', 'k', 'x'])) as { error: string };
    t.match(moved.error, new RegExp(`^MOVED \\d+ 127\\.0\\.0\\.1:${pair.primaryPort}$`));
    t.same(await once(pair.replicaPort, ['FLUSHALL']), READONLY);
    const c = await RespClient.connect(pair.replicaPort);
    t.teardown(() => c.close());
    t.match(((await c.run(['GET', 'k'])) as { error: string }).error, /^MOVED /);
    t.equal(await c.run(['READONLY']), 'OK');
    t.equal(await c.run(['GET', 'k']), 'v');
    t.match(((await c.run(['SET', 'k', 'x'])) as { error: string }).error, /^MOVED /, 'READONLY does not allow writes');
    t.same(await once(pair.replicaPort, ['REPLICAOF', 'NO', 'ONE']), { error: 'ERR REPLICAOF not allowed in cluster mode.' });
  });

  s.test('strong holds wait for the replica ACK; WAIT counts acknowledging replicas', async (t) => {
    t.equal(await once(pair.primaryPort, ['WAIT', '1', '2000']), 1);
    const c = await RespClient.connect(pair.primaryPort);
    t.teardown(() => c.close());
    t.equal(await c.run(['CONSISTENCY']), 'session');
    t.equal(await c.run(['CONSISTENCY', 'strong']), 'OK');
    t.same(await c.run(['CONSISTENCY', 'x']), { error: "ERR Invalid consistency level 'x' (eventual, strong, session)" });
    t.equal(await c.run(['SET', 's', '1']), 'OK');
    pair.replica!.signalPid('SIGSTOP');
    t.teardown(() => pair.replica?.signalPid('SIGCONT'));
    await sleep(200); // the stop has taken effect
    const t0 = Date.now();
    let answered = 0;
    const reply = c.run(['SET', 's', '2'], { timeoutMs: 10_000 }).then((r) => {
      answered = Date.now();
      return r;
    });
    await sleep(400);
    t.equal(answered, 0, 'the strong write is held while the replica cannot ACK');
    t.equal(await once(pair.primaryPort, ['GET', 's']), '2', 'it was applied on the primary');
    t.equal(await once(pair.primaryPort, ['WAIT', '1', '100']), 0, 'WAIT times out with 0');
    pair.replica!.signalPid('SIGCONT');
    t.equal(await reply, 'OK');
    t.ok(answered - t0 >= 400, `released after the replica resumed (${answered - t0} ms)`);
  });

  s.test('framed batches: FLAG_OFFSET carries the offset; FLAG_STRONG waits for the replica; replicas serve proxy reads', async (t) => {
    const a = framedBatch(pair.primaryPort, FLAG_OFFSET, [['SET', 'f', '1'], ['GET', 'f']]);
    t.teardown(a.close);
    const ra = await a.reply;
    t.equal(ra.flags & FLAG_OFFSET, FLAG_OFFSET, 'REPLIES carries FLAG_OFFSET');
    const offset = readOffset(ra.payload, 0);
    t.equal(ra.payload.subarray(OFFSET_BYTES).toString(), '+OK\r\n$1\r\n1\r\n');
    t.equal(offset, Number((await infoOf(pair.primaryPort, 'replication')).get('master_repl_offset')), 'the offset after the batch');
    await pair.waitCaughtUp();
    const r = framedBatch(pair.replicaPort, FLAG_OFFSET, [['GET', 'f'], ['SET', 'f', '2']]);
    t.teardown(r.close);
    const rr = await r.reply;
    t.ok(readOffset(rr.payload, 0) >= offset, 'a replica reports its applied offset');
    t.equal(rr.payload.subarray(OFFSET_BYTES).toString(), "$1\r\n1\r\n-READONLY You can't write against a read only replica.\r\n", 'reads served, writes refused');

    pair.replica!.signalPid('SIGSTOP');
    t.teardown(() => pair.replica?.signalPid('SIGCONT'));
    await sleep(200);
    const s = framedBatch(pair.primaryPort, FLAG_STRONG, [['SET', 'g', '1']]);
    t.teardown(s.close);
    let held = true;
    void s.reply.then(() => {
      held = false;
    });
    await sleep(400);
    t.ok(held, 'the strong batch waits while the replica cannot ACK');
    pair.replica!.signalPid('SIGCONT');
    const rs = await s.reply;
    t.equal(rs.payload.toString(), '+OK\r\n');
    t.ok(rs.at - s.sent >= 380, `released after the ACK (${rs.at - s.sent} ms)`);
  });
  s.test('eviction on the primary reaches the replica as DELs; the replica ignores maxmemory', async (t) => {
    const p = pair.primaryPort;
    t.equal(await once(pair.replicaPort, ['CONFIG', 'SET', 'maxmemory', '1mb']), 'OK');
    // 2 MB for data above what the primary already uses (Shoal counts its runtime in used_memory: docs/memory.md).
    const used = Number((await infoOf(p, 'memory')).get('used_memory'));
    t.ok(Number.isFinite(used), `primary used_memory ${used}`);
    t.equal(await once(p, ['CONFIG', 'SET', 'maxmemory', String(used + 2 * 1024 * 1024), 'maxmemory-policy', 'allkeys-lru']), 'OK');
    const value = 'v'.repeat(1000);
    await runAll(p, Array.from({ length: 4000 }, (_, i) => ['SET', `ev${i}`, value]));
    await sleep(300);
    await pair.waitCaughtUp();
    const evicted = Number((await infoOf(p, 'stats')).get('evicted_keys'));
    t.ok(evicted > 0, `the primary evicted ${evicted} keys`);
    const [want, got] = await Promise.all([readKeyspace(p), readKeyspace(pair.replicaPort)]);
    t.same(diffKeyspaces(want, got, 5), [], 'the replica dropped exactly the evicted keys');
    t.equal((await infoOf(pair.replicaPort, 'stats')).get('evicted_keys'), '0', 'the replica evicts nothing itself');
    t.equal(await once(p, ['CONFIG', 'SET', 'maxmemory', '0']), 'OK');
  });
});
