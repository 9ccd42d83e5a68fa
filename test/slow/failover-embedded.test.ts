// Failover in embedded mode (Shoal only; docs/replication.md "Manager, failover and
// operations"). One launcher runs 2 shards x 1 worker with one replica each (4 shard
// processes), writes go through the proxy from 20 clients (test/helpers/failover.ts).
//
// 1. strong (the cluster's default consistency here): `kill -9` the primary process of
//    shard 0; writes to its slots are acknowledged again within 2 s of the kill (the
//    target is 1 s; the figure is logged), every acknowledged write is there
//    afterwards, the killed process is restarted as a replica and converges.
// 2. eventual (CONSISTENCY eventual per connection): kill the new primary; the same
//    timing; the number of acknowledged writes lost is reported, not asserted.
// Manual failover, status and replica add/remove: cluster-ops.test.ts.

import t, { type Test } from 'tap';
import { alive, isRedis, keySlot, startShoal, type Target } from '../helpers/cluster.js';
import { sleep } from '../helpers/run.js';
import { WriterPool, groupOf, inSlots, nodePid, readTopologyFile, waitConverged, type TopoEndpoint, type TopoFile } from '../helpers/failover.js';

/** The target is 1 s; the noisy 2-core CI gets 2 s. */
const RECOVERY_LIMIT_MS = 2000;

/** Polls the topology file until `done` (bounded). */
async function waitTopology(target: Target, done: (t: TopoFile) => boolean, timeoutMs: number): Promise<TopoFile | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const topo = await readTopologyFile(target.dataDir!).catch(() => null);
    if (topo !== null && done(topo)) return topo;
    await sleep(50);
  }
  return null;
}

if (isRedis) {
  t.plan(0, 'embedded failover is Shoal-only');
} else {
  const target = await startShoal({ replicas: 1, workers: 1, shards: 2, env: { SHOAL_CONSISTENCY: 'strong' }, readyTimeoutMs: 60_000 });
  t.teardown(() => target.stop());

  /**
   * Kills the primary process of shard 0 under 20 writers; returns what happened.
   * `consistency` undefined = the cluster default (strong here).
   */
  async function killPrimaryUnderLoad(t: Test, prefix: string, consistency?: 'eventual'): Promise<{ pool: WriterPool; recoveryMs: number; killed: TopoEndpoint; promoted: TopoEndpoint; slots: [number, number][] } | null> {
    const before = await readTopologyFile(target.dataDir!);
    const { primary, replica } = groupOf(before, 0);
    const pid = nodePid(before, primary.node!);
    if (pid === undefined) {
      t.fail(`no pid for ${primary.node} in the topology`);
      return null;
    }
    const inGroup = (w: { key: string }): boolean => inSlots(primary.slots, keySlot(w.key));
    const pool = await WriterPool.start({ port: target.port, prefix, ...(consistency ? { consistency } : {}) });
    await sleep(1000);
    t.ok(pool.acked.filter(inGroup).length > 0, `writes to shard 0 are acknowledged before the kill (${pool.acked.length} in all)`);
    const killAt = Date.now();
    process.kill(pid, 'SIGKILL');
    let first = null;
    while (Date.now() - killAt < 10_000 && first === null) {
      await sleep(10);
      first = pool.firstAck(killAt, inGroup, killAt);
    }
    const recoveryMs = first === null ? -1 : first.ackedAt - killAt;
    t.comment(`${prefix}: kill -9 ${primary.node} (pid ${pid}) -> first acknowledged write to its slots sent after the kill: ${recoveryMs} ms`);
    // The manager's own account (shoal-cluster status --json: recent failovers).
    const managerPort = (await readTopologyFile(target.dataDir!)).processes.find((p) => p.role === 'manager')?.ports[0];
    const status = managerPort === undefined ? null : await fetch(`http://127.0.0.1:${managerPort}/status`, { signal: AbortSignal.timeout(5000) })
      .then((r) => r.json() as Promise<{ failovers: { at: number; failoverMs: number; lastAnswerMsAgo?: number; shard: number }[] }>).catch(() => null);
    const record = status?.failovers.filter((f) => f.at >= killAt && f.shard === 0).at(0);
    if (record !== undefined) {
      t.comment(`${prefix}: manager: failover decided ${record.at - record.failoverMs - killAt} ms after the kill (primary silent for ${record.lastAnswerMsAgo} ms), topology written and pushed ${record.failoverMs} ms later`);
    }
    t.ok(first !== null && recoveryMs < RECOVERY_LIMIT_MS, `writes to the killed primary's slots flow again within ${RECOVERY_LIMIT_MS} ms (took ${recoveryMs} ms)`);
    await sleep(1000);
    await pool.stop();
    const after = await readTopologyFile(target.dataDir!);
    const g = groupOf(after, 0);
    t.equal(g.primary.id, replica.id, `the replica ${replica.node} (port ${replica.port}) is shard 0's primary now`);
    t.equal(g.replica.id, primary.id, `${primary.node} is listed as its replica`);
    t.ok(after.epoch > before.epoch, `epoch went up (${before.epoch} -> ${after.epoch})`);
    const errorKinds = new Map<string, number>();
    for (const e of pool.errors) {
      const kind = e.error.split(' ')[0] ?? e.error;
      errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1);
    }
    t.comment(`${prefix}: ${pool.acked.length} acknowledged writes, ${pool.errors.length} errors ${JSON.stringify([...errorKinds])}`);
    return { pool, recoveryMs, killed: primary, promoted: replica, slots: primary.slots };
  }

  /** Waits until `node` runs again (new pid) as a replica and follows the primary. */
  async function checkRejoin(t: Test, killed: TopoEndpoint, promoted: TopoEndpoint, oldPid: number | undefined, sample: string[]): Promise<void> {
    const topo = await waitTopology(target, (tp) => {
      const pid = nodePid(tp, killed.node!);
      return pid !== undefined && pid !== oldPid && alive(pid);
    }, 15_000);
    t.ok(topo !== null, `${killed.node} was restarted by the launcher (new pid ${topo ? nodePid(topo, killed.node!) : '-'})`);
    const conv = await waitConverged(promoted.port, killed.port, sample, 20_000);
    t.ok(conv.ok, `${killed.node} rejoined as a replica of ${promoted.node} and converged in ${conv.ms} ms (${conv.detail}; ${conv.sampled} sampled keys${conv.differing.length ? `, differing: ${conv.differing.slice(0, 3).join('; ')}` : ''})`);
  }

  t.test('strong: kill -9 the primary under 20 writers; fast recovery, no acknowledged write lost, rejoin', async (t) => {
    const before = await readTopologyFile(target.dataDir!);
    const oldPid = nodePid(before, groupOf(before, 0).primary.node!);
    const r = await killPrimaryUnderLoad(t, 'strong');
    if (r === null) return;
    const missing = await r.pool.missing(target.port);
    t.equal(missing.length, 0, `every one of ${r.pool.acked.length} acknowledged writes is present after the failover${missing.length ? ` (missing e.g. ${missing.slice(0, 3).map((w) => w.key).join(', ')})` : ''}`);
    const sample = r.pool.acked.filter((w) => inSlots(r.slots, keySlot(w.key))).slice(-100).map((w) => w.key);
    await checkRejoin(t, r.killed, r.promoted, oldPid, sample);
  });

  t.test('eventual: kill -9 the new primary; fast recovery, lost writes reported, rejoin', async (t) => {
    const before = await readTopologyFile(target.dataDir!);
    const oldPid = nodePid(before, groupOf(before, 0).primary.node!);
    const r = await killPrimaryUnderLoad(t, 'eventual', 'eventual');
    if (r === null) return;
    const missing = await r.pool.missing(target.port);
    t.comment(`eventual: ${missing.length} of ${r.pool.acked.length} acknowledged writes lost in the failover`);
    t.pass(`eventual loss reported (${missing.length})`);
    const sample = r.pool.acked.filter((w) => inSlots(r.slots, keySlot(w.key))).slice(-100).map((w) => w.key);
    await checkRejoin(t, r.killed, r.promoted, oldPid, sample);
  });

}
