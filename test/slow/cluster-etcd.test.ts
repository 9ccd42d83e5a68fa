// Cluster mode on a real 3-member etcd (loopback): topology, epochs and manager
// leadership in etcd (docs/cluster-mode.md). Real processes: 3 etcd members, two
// shoal-manager, four shoal-shard (2 shards x 1 worker, one replica each), one
// shoal-proxy, all started with --etcd-endpoints.
//
//   1. topology round trip: the first leader bootstraps the cluster file into etcd;
//      shards and the proxy read it from there and serve traffic;
//   2. epoch guard: an old leader that lost its lease cannot write the topology
//      (in-process managers on their own prefix);
//   3. failover under load: kill -9 shard-0's primary while 20 clients write through
//      the proxy in strong mode: writes to its slots succeed again < 2 s (figure
//      logged), and every acknowledged write is present afterwards;
//   4. manager failover: kill -9 the leading manager: the other leads within the lease
//      TTL (+ etcd's 500 ms expiry tick; figure logged), and a primary failure after
//      that is still handled.
//
// Shoal-only (etcd and the manager are Shoal's); skipped with SHOAL_TEST_TARGET=redis.
import t, { type Test } from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Etcd3 } from 'etcd3';
import { isRedis, freePortRange, keySlot, fetchTopology } from '../helpers/cluster.js';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd.js';
import { Proc, once } from '../helpers/replication.js';
import { RespClient, sleep, type RespValue } from '../helpers/run.js';
import { WriterPool, inSlots, type AckedWrite } from '../helpers/failover.js';
import { connectEtcd, etcdKeys } from '../../shared/cluster/etcd-client.js';
import { parseTopology } from '../../shared/cluster/etcd-topology-source.js';
import { slotOwners, type Topology } from '../../shared/cluster/topology.js';
import { parseClusterSpec, readClusterSpec, topologyFromSpec, type ClusterSpec } from '../../manager/cluster-spec.js';
import { EtcdTopologyStore, TopologyWriteRefused } from '../../manager/etcd-store.js';
import { ManagerLeadership, type LeaderToken } from '../../manager/leader.js';
import { createLogger } from '../../shared/log.js';

const DIST_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = (name: string): string => path.join(DIST_ROOT, 'bin', `${name}.js`);
const LEASE_SECONDS = 2;
/** etcd 3.4 revokes expired leases on a 500 ms tick (lessor runLoop). */
const ETCD_EXPIRY_TICK_MS = 500;
const CLIENTS = 20;

if (isRedis) {
  t.plan(0, 'cluster mode on etcd is Shoal-only');
} else {
  const etcd: EtcdCluster = await startEtcdCluster(3);
  t.teardown(() => etcd.stop());
  const client: Etcd3 = connectEtcd(etcd.endpoints);
  t.teardown(() => client.close());
  const prefix = `/shoal-test-${process.pid}`;
  const keys = etcdKeys(prefix);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'shoal-cluster-etcd-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));

  const base = await freePortRange(6);
  const [proxyPort, httpPort] = [base, base + 1];
  const spec: ClusterSpec = {
    workersPerShard: 1,
    shards: [
      { primary: { host: '127.0.0.1', port: base + 2 }, replicas: [{ host: '127.0.0.1', port: base + 4 }] },
      { primary: { host: '127.0.0.1', port: base + 3 }, replicas: [{ host: '127.0.0.1', port: base + 5 }] },
    ],
  };
  const clusterFile = path.join(dataDir, 'cluster.json');
  await writeFile(clusterFile, JSON.stringify(spec));

  const procs: Proc[] = [];
  t.teardown(async () => {
    await Promise.all(procs.map((p) => p.stop()));
  });
  const common = ['--etcd-endpoints', etcd.endpoints, '--etcd-prefix', prefix, '--log-level', 'info'];
  const startManager = (name: string): Proc => {
    const p = new Proc(name, process.execPath, [bin('shoal-manager'), ...common, '--cluster', clusterFile, '--name', name, '--manager-lease-seconds', String(LEASE_SECONDS)]);
    procs.push(p);
    return p;
  };
  const startShard = (node: string): Proc => {
    const p = new Proc(node, process.execPath, [bin('shoal-shard'), ...common, '--node', node, '--data-dir', dataDir, '--save', '']);
    procs.push(p);
    return p;
  };
  const dump = (): string => procs.map((p) => p.tail(2500)).join('\n');

  const readTopology = async (): Promise<Topology | null> => parseTopology(await client.get(keys.topology).buffer());
  const readLeader = async (): Promise<{ name: string; pid: number } | null> => {
    const s = await client.get(keys.leader).string();
    return s === null ? null : (JSON.parse(s) as { name: string; pid: number });
  };
  /** Polls `fn` every 10 ms until it returns a value (not undefined), bounded. */
  const waitFor = async <T>(what: string, ms: number, fn: () => Promise<T | undefined>): Promise<T> => {
    const deadline = Date.now() + ms;
    for (;;) {
      let v: T | undefined;
      try {
        v = await fn();
      } catch {
        v = undefined;
      }
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms\n${dump()}`);
      await sleep(10);
    }
  };
  const pingable = async (port: number): Promise<true | undefined> => ((await once(port, ['PING'], 1000)) === 'PONG' ? true : undefined);

  // The first manager bootstraps and leads; the second follows.
  const managerA = startManager('manager-a');
  await waitFor('manager-a leads', 15_000, async () => ((await readLeader())?.name === 'manager-a' ? true : undefined));
  await waitFor('topology bootstrapped', 15_000, async () => (await readTopology()) ?? undefined);
  const managerB = startManager('manager-b');
  await waitFor('manager-b follows', 15_000, async () => (managerB.output.includes('manager following') ? true : undefined));
  const shards = new Map<string, Proc>();
  for (const node of ['shard-0', 'shard-1', 'shard-0-replica-1', 'shard-1-replica-1']) shards.set(node, startShard(node));
  for (const port of [base + 2, base + 3, base + 4, base + 5]) await waitFor(`worker ${port} answers`, 20_000, () => pingable(port));
  const proxy = new Proc('proxy', process.execPath, [bin('shoal-proxy'), ...common, '--port', String(proxyPort), '--http-port', String(httpPort), '--proxy-processes', '1', '--consistency', 'strong']);
  procs.push(proxy);
  await waitFor('proxy answers', 20_000, () => pingable(proxyPort));

  t.test('topology round trip: bootstrapped into etcd, shards and proxy read it from there and serve', async (t) => {
    const stored = await readTopology();
    const expected = topologyFromSpec(spec);
    t.ok(stored, 'topology in etcd');
    t.same(stored?.workers, expected.workers, 'primaries as the cluster file says');
    t.same(stored?.replicas, expected.replicas, 'replicas as the cluster file says');
    t.equal(await client.get(keys.epoch).string(), String(stored?.epoch).padStart(16, '0'), 'epoch key beside it');
    t.ok(stored?.processes.some((p) => p.role === 'manager' && p.name === 'manager-a'), 'the leader records itself in the process list');
    const view = await fetchTopology(httpPort);
    t.same(view?.workers?.map((w) => w.port), expected.workers.map((w) => w.port), 'the proxy\'s /topology shows the primaries from etcd');
    // The leader's control API (shoal-cluster status), its port recorded in the topology.
    const controlPort = stored?.processes.find((p) => p.role === 'manager')?.ports[0];
    const status = await fetch(`http://127.0.0.1:${controlPort}/status`, { signal: AbortSignal.timeout(2000) });
    const body = (await status.json()) as { epoch?: number; groups?: unknown[] };
    t.equal(status.status, 200, 'GET /status on the leading manager');
    t.equal(body.groups?.length, 2, 'two replication groups in its status');
    // Each shard process runs the endpoints its --node names, on the ports from etcd.
    const slots = (await once(base + 2, ['CLUSTER', 'SLOTS'])) as RespValue[];
    t.equal(slots.length, 2, 'CLUSTER SLOTS on a worker: two ranges, from the etcd topology');
    const c = await RespClient.connect(proxyPort);
    try {
      let ok = 0;
      for (let i = 0; i < 200; i++) if ((await c.run(['SET', `rt:${i}`, `v${i}`])) === 'OK') ok++;
      t.equal(ok, 200, '200 SETs through the proxy');
      let same = 0;
      for (let i = 0; i < 200; i++) if ((await c.run(['GET', `rt:${i}`])) === `v${i}`) same++;
      t.equal(same, 200, 'all 200 keys read back through the proxy (both shards)');
    } finally {
      await c.close();
    }
  });

  t.test('cluster file: the 3-machine example and refused files', async (t) => {
    const example = readClusterSpec(path.join(DIST_ROOT, '..', 'config', 'cluster-3-machines.json'));
    const topo = topologyFromSpec(example);
    t.equal(topo.workers.length, 6, '3 shards x 2 workers: 6 primaries');
    t.equal(topo.replicas?.length, 6, 'one replica of each');
    t.doesNotThrow(() => slotOwners(topo.workers), 'every slot owned exactly once');
    t.same([...new Set(topo.workers.map((w) => `${w.node}@${w.host}`))], ['shard-0@10.0.0.1', 'shard-1@10.0.0.2', 'shard-2@10.0.0.3'], 'primaries per machine');
    t.same([...new Set(topo.replicas!.map((w) => `${w.node}@${w.host}`))], ['shard-0-replica-1@10.0.0.2', 'shard-1-replica-1@10.0.0.3', 'shard-2-replica-1@10.0.0.1'], 'each replica on the next machine');
    t.ok(topo.replicas!.every((r) => JSON.stringify(r.slots) === JSON.stringify(topo.workers.find((w) => w.shard === r.shard && w.worker === r.worker)?.slots)), 'replicas carry their primary\'s slots');
    t.throws(() => parseClusterSpec({ workersPerShard: 2, shards: [{ primary: { host: 'a', port: 7000 } }, { primary: { host: 'a', port: 7001 } }] }), /a:7001 is used by two workers/, 'overlapping ports refused');
    t.throws(() => parseClusterSpec({ shards: [{ primary: { host: 'a', port: 0 } }] }), /shards\[0\]\.primary/, 'a bad port names where it is');
    t.throws(() => parseClusterSpec({ shards: [] }), /non-empty array/, 'no shards refused');
  });

  t.test('epoch guard: an old leader that lost its lease cannot write the topology', async (t) => {
    const gp = `${prefix}-guard`;
    const log = createLogger('test', 'warn');
    const a = new ManagerLeadership(client, { prefix: gp, name: 'old', ttlSeconds: 1, log });
    const b = new ManagerLeadership(client, { prefix: gp, name: 'new', ttlSeconds: 1, log });
    t.teardown(async () => {
      await a.stop();
      await b.stop();
    });
    await a.start();
    await waitFor('a leads', 5000, async () => (a.isLeader ? true : undefined));
    await b.start();
    const storeA = new EtcdTopologyStore(client, gp, a);
    const t1: Topology = { ...topologyFromSpec(spec), epoch: 1 };
    t.equal(await storeA.bootstrap(t1), true, 'the leader bootstraps epoch 1');
    await storeA.write({ ...t1, epoch: 2 });
    t.equal((await new EtcdTopologyStore(client, gp).read()).epoch, 2, 'the leader writes epoch 2');

    // "a" is paused or cut off: its token survives in memory while etcd revokes its lease.
    const stale: LeaderToken = a.token!;
    const staleStore = new EtcdTopologyStore(client, gp, { token: stale });
    let lostReason = '';
    a.onLost((r) => (lostReason = r));
    await client.leaseClient.leaseRevoke({ ID: stale.leaseId });
    await waitFor('b leads', 5000, async () => (b.isLeader ? true : undefined));
    t.notOk(a.isLeader, `the old leader stepped down at once (${lostReason})`);
    const storeB = new EtcdTopologyStore(client, gp, b);
    await storeB.write({ ...t1, epoch: 3 });

    // The old leader, not knowing yet: etcd's transaction refuses it, whatever epoch it carries.
    for (const epoch of [2, 3, 4, 100]) {
      const err = await staleStore.write({ ...t1, epoch }).then(() => null, (e: unknown) => e);
      t.ok(err instanceof TopologyWriteRefused, `stale leader's epoch ${epoch} write refused`);
      t.equal((err as TopologyWriteRefused | null)?.reason, epoch < 3 ? 'stale-epoch' : 'not-leader', `reason for epoch ${epoch}`);
    }
    const errLocal = await storeA.write({ ...t1, epoch: 9 }).then(() => null, (e: unknown) => e);
    t.equal((errLocal as TopologyWriteRefused | null)?.reason, 'not-leader', 'the old leader\'s own store refuses before reaching etcd');
    // The new leader cannot go back in time either.
    const errOld = await storeB.write({ ...t1, epoch: 2 }).then(() => null, (e: unknown) => e);
    t.equal((errOld as TopologyWriteRefused | null)?.reason, 'stale-epoch', 'the leader cannot write an older epoch');
    const final = await new EtcdTopologyStore(client, gp).read();
    t.equal(final.epoch, 3, 'etcd still holds the new leader\'s epoch 3');
  });

  /** kill -9 the primary process of shard `s` under load; returns the recovery figure. */
  const killPrimaryUnderLoad = async (t: Test, s: number, tag: string): Promise<void> => {
    const before = await readTopology();
    const primary = before!.workers.find((w) => w.shard === s)!;
    const node = primary.node!;
    const proc = [...shards.entries()].find(([n]) => n === node)?.[1];
    t.ok(proc?.running, `${node} (primary of shard ${s}, port ${primary.port}) is running`);
    const inGroup = (w: AckedWrite): boolean => inSlots(primary.slots, keySlot(w.key));
    const pool = await WriterPool.start({ port: proxyPort, clients: CLIENTS, prefix: tag, consistency: 'strong' });
    await sleep(700);
    const ackedBeforeKill = pool.acked.length;
    const killAt = Date.now();
    await proc!.kill9();
    const first = await waitFor(`writes to shard ${s} succeed again`, 10_000, async () => pool.firstAck(killAt, inGroup) ?? undefined);
    const recovered = first.ackedAt - killAt;
    await sleep(500);
    await pool.stop();
    const after = await readTopology();
    const errors = new Map<string, number>();
    for (const e of pool.errors) errors.set(e.error.split(' ')[0]!, (errors.get(e.error.split(' ')[0]!) ?? 0) + 1);
    t.comment(`cluster mode: kill -9 ${node} -> first acknowledged write to its slots after ${recovered} ms; ${pool.acked.length} writes acknowledged (${ackedBeforeKill} before the kill), errors ${JSON.stringify(Object.fromEntries(errors))}; epoch ${before!.epoch} -> ${after!.epoch}`);
    t.ok(recovered < 2000, `writes succeed again within 2 s of the kill (${recovered} ms)`);
    t.ok(after!.epoch > before!.epoch, 'the epoch went up in etcd');
    const promoted = after!.workers.find((w) => w.shard === s)!;
    t.not(promoted.node, node, `shard ${s} is now served by ${promoted.node}`);
    t.ok(after!.replicas?.some((w) => w.node === node && w.role === 'replica'), `${node} is a replica in the topology now`);
    const missing = await pool.missing(proxyPort);
    t.equal(missing.length, 0, `strong mode: every one of ${pool.acked.length} acknowledged writes is present${missing.length ? ` (missing e.g. ${missing.slice(0, 5).map((w) => w.key).join(', ')})` : ''}`);
  };

  t.test('failover under load in cluster mode: kill -9 the primary, 20 clients writing through the proxy (strong)', async (t) => {
    await killPrimaryUnderLoad(t, 0, 'fo1');
    // The old primary's process, restarted, reads the topology from etcd: it comes back as a replica.
    const oldPort = spec.shards[0]!.primary.port;
    const restarted = startShard('shard-0');
    shards.set('shard-0', restarted);
    await waitFor('restarted shard-0 answers', 20_000, () => pingable(oldPort));
    let lastRole: RespValue = null;
    const role = await waitFor('restarted shard-0 is a connected replica', 15_000, async () => {
      const r = (lastRole = await once(oldPort, ['ROLE'])) as RespValue[];
      return r[0] === 'slave' && r[3] === 'connected' ? r : undefined;
    }).catch((err: Error) => {
      throw new Error(`${err.message.split('\n')[0]} (last ROLE: ${JSON.stringify(lastRole)})`);
    });
    t.equal(role[0], 'slave', `the restarted old primary is a replica of ${String(role[1])}:${String(role[2])}`);
  });

  t.test('manager failover: the other manager leads within the lease TTL and still fails over', async (t) => {
    const leader = await readLeader();
    t.equal(leader?.name, 'manager-a', 'manager-a leads');
    // Writers run through the takeover: while no manager leads, primaries' leases are not
    // renewed, so writes pause until the new leader's first health check (docs/cluster-mode.md).
    const pool = await WriterPool.start({ port: proxyPort, clients: CLIENTS, prefix: 'mgr', consistency: 'strong' });
    await sleep(300);
    const killAt = Date.now();
    await managerA.kill9();
    const tookMs = await waitFor('manager-b leads', 10_000, async () => ((await readLeader())?.name === 'manager-b' ? Date.now() - killAt : undefined));
    const resumed = await waitFor('writes resume under manager-b', 10_000, async () => pool.firstAck(killAt + tookMs) ?? undefined);
    await sleep(200);
    await pool.stop();
    let gap = 0;
    let prevAck = killAt;
    for (const w of pool.acked) {
      if (w.ackedAt < killAt) continue;
      gap = Math.max(gap, w.ackedAt - prevAck);
      prevAck = w.ackedAt;
    }
    t.comment(`cluster mode: kill -9 the leading manager -> manager-b leads after ${tookMs} ms (lease TTL ${LEASE_SECONDS * 1000} ms); longest pause between acknowledged writes ${gap} ms, first write acknowledged under the new leader ${resumed.ackedAt - killAt} ms after the kill`);
    t.ok(tookMs < LEASE_SECONDS * 1000 + ETCD_EXPIRY_TICK_MS + 250, `manager-b leads within the lease TTL (+ etcd's ${ETCD_EXPIRY_TICK_MS} ms expiry tick, + 250 ms for the campaign and this poll): ${tookMs} ms`);
    const afterTakeover = resumed.ackedAt - killAt - tookMs;
    t.ok(afterTakeover < 750, `writes flow again right after the takeover (${afterTakeover} ms after it)`);
    t.equal((await pool.missing(proxyPort)).length, 0, `every one of ${pool.acked.length} writes acknowledged around the takeover is present`);
    await waitFor('manager-b runs the failover controller', 5000, async () => (managerB.output.includes('leading: failover controller running') ? true : undefined));
    await sleep(300); // a few health-check rounds
    await killPrimaryUnderLoad(t, 1, 'fo2');
  });

  t.test('a leader paused past its lease wakes up as a follower and writes nothing', async (t) => {
    const managerC = startManager('manager-c');
    await waitFor('manager-c follows', 15_000, async () => (managerC.output.includes('manager following') ? true : undefined));
    t.equal((await readLeader())?.name, 'manager-b', 'manager-b leads');
    const epochBefore = (await readTopology())!.epoch;
    const stopAt = Date.now();
    managerB.signalPid('SIGSTOP');
    const tookMs = await waitFor('manager-c leads', 10_000, async () => ((await readLeader())?.name === 'manager-c' ? Date.now() - stopAt : undefined));
    t.comment(`cluster mode: SIGSTOP the leading manager -> manager-c leads after ${tookMs} ms`);
    await waitFor('manager-c records itself', 5000, async () => ((await readTopology())?.processes.some((p) => p.role === 'manager' && p.name === 'manager-c') ? true : undefined));
    const outputBefore = managerB.output.length;
    managerB.signalPid('SIGCONT');
    await waitFor('manager-b steps down', 5000, async () => (managerB.output.slice(outputBefore).includes('manager lost leadership') ? true : undefined));
    await sleep(500);
    const woke = managerB.output.slice(outputBefore);
    t.match(woke, /manager lost leadership: stopped acting/, 'the old leader logs that it stopped acting');
    t.notMatch(woke, /"msg":"topology epoch/, 'and changed no topology after waking');
    const after = await readTopology();
    t.equal((await readLeader())?.name, 'manager-c', 'manager-c still leads');
    t.ok(after!.epoch >= epochBefore, `the epoch never went back (${epochBefore} -> ${after!.epoch})`);
    t.same(after!.processes.filter((p) => p.role === 'manager').map((p) => p.name), ['manager-c'], 'the topology names manager-c as the manager');
  });

  t.test('one etcd member dies (the raft leader): the manager keeps leading and failover still works', async (t) => {
    const status = await client.maintenance.status();
    let victim = '';
    for (const m of etcd.members) {
      const one = connectEtcd(`http://127.0.0.1:${m.clientPort}`);
      try {
        if ((await one.maintenance.status()).header?.member_id === status.leader) victim = m.name;
      } finally {
        one.close();
      }
    }
    t.not(victim, '', `etcd raft leader is ${victim}`);
    const managerC = procs.find((p) => p.name === 'manager-c')!;
    const outputBefore = managerC.output.length;
    etcd.kill(victim);
    await sleep(LEASE_SECONDS * 1000 + 500); // past a whole manager lease
    t.equal((await readLeader())?.name, 'manager-c', 'manager-c still leads');
    // Ideally the lease is renewed through another member without a gap. When the client
    // takes longer than the lease to reach one (seen once on a loaded CI box), the manager
    // must step down (it cannot know the lease survived) and lead again within a lease TTL.
    const lines = managerC.output.slice(outputBefore).split('\n')
      .flatMap((l) => { try { return [JSON.parse(l) as { time: number; msg: string }]; } catch { return []; } });
    const lost = lines.find((l) => l.msg.startsWith('manager lost leadership'));
    if (lost === undefined) t.pass('without a moment of lost leadership');
    else {
      const back = lines.find((l) => l.time >= lost.time && l.msg === 'manager elected leader');
      t.ok(back !== undefined && back.time - lost.time < LEASE_SECONDS * 1000,
        `leadership lost once and regained ${back === undefined ? 'never' : `${back.time - lost.time} ms`} later (within the ${LEASE_SECONDS} s lease)`);
    }
    await killPrimaryUnderLoad(t, 0, 'fo3');
  });
}
