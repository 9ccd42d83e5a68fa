// Resynchronisation of a replica, as real processes (test/helpers/replication.ts; with
// SHOAL_TEST_TARGET=redis a Redis Cluster primary + replica, the spec):
//   - partial resync after a dropped link (CLIENT KILL TYPE replica on the primary,
//     CLIENT KILL TYPE master on the replica; on Shoal also a cut at the TCP level
//     through a relay): the replica reconnects with +CONTINUE (INFO stats
//     sync_partial_ok +1, sync_full unchanged) and converges while writers keep writing;
//   - a partial resync from a 16 KB backlog that wrapped many times;
//   - a drop longer than the backlog (repl-backlog-size 16kb, 3 MB written meanwhile):
//     full resync (sync_full +1) and convergence;
//   - the replica killed and restarted: full resync of every type (TTLs, bloom filters),
//     and the primary lists one replica, not a stale one beside it;
//   - full resync of 1,000,000 keys while 20 clients write: DBSIZE equal and every key
//     the writers wrote holds its last acknowledged value on the replica; INFO says
//     master_sync_in_progress:1 / link down and ROLE 'sync' meanwhile; the sync time is
//     reported with t.comment.

import t, { type Test } from 'tap';
import { ReplPair, hasCommand, infoOf, once, startWriters, syncStats, waitFor, type WriterResult } from '../helpers/replication.js';
import { BLOOM_UNIVERSE, replicationWorkload } from '../helpers/repl-workload.js';
import { diffKeyspaces, readKeyspace } from '../helpers/keyspace-diff.js';
import { isShoal } from '../helpers/cluster.js';
import { RespClient, blast, encodeCommand, sleep, type RespValue } from '../helpers/run.js';

/** One read on the replica from a direct client (READONLY first, as Redis Cluster). */
async function readReplica(pair: ReplPair, argv: string[]): Promise<RespValue> {
  const c = await RespClient.connect(pair.replicaPort);
  try {
    await c.run(['READONLY']);
    return await c.run(argv);
  } finally {
    await c.close();
  }
}

/** WAIT 1 on the primary, then the replica offset catch-up. */
async function synced(t: Test, pair: ReplPair, timeoutMs = 30_000): Promise<void> {
  t.equal(await once(pair.primaryPort, ['WAIT', '1', String(timeoutMs)], timeoutMs + 5000), 1, 'WAIT 1 → 1');
  await pair.waitCaughtUp(timeoutMs);
}

/** Every writer key holds its last acknowledged value on the replica (READONLY reads, pipelined). */
async function checkWriters(t: Test, pair: ReplPair, res: WriterResult): Promise<void> {
  const c = await RespClient.connect(pair.replicaPort);
  try {
    await c.run(['READONLY']);
    const entries = [...res.last];
    const wrong: string[] = [];
    for (let i = 0; i < entries.length; i += 1000) {
      const chunk = entries.slice(i, i + 1000);
      const got = await Promise.all(chunk.map(([k]) => c.run(['GET', k], { timeoutMs: 30_000 })));
      chunk.forEach(([k, v], j) => {
        if (got[j] !== v && wrong.length < 10) wrong.push(`${k}: replica ${JSON.stringify(got[j])}, last acknowledged ${v}`);
      });
    }
    t.same(wrong, [], `all ${entries.length} writer keys hold their last acknowledged value on the replica (${res.acked} writes acknowledged, ${res.errors} errors)`);
  } finally {
    await c.close();
  }
}

async function compare(t: Test, pair: ReplPair): Promise<void> {
  const want = await readKeyspace(pair.primaryPort, { bloomProbe: BLOOM_UNIVERSE });
  await pair.waitCaughtUp(20_000);
  const got = await readKeyspace(pair.replicaPort, { bloomProbe: BLOOM_UNIVERSE });
  t.same(diffKeyspaces(want, got, 0), [], `replica keyspace equals the primary's (${want.size} keys)`);
}

/**
 * Writers run; `drop` breaks the link; the replica must come back with a partial
 * resync (sync_partial_ok +1, sync_full unchanged) and converge.
 */
async function partialAfter(t: Test, pair: ReplPair, label: string, drop: () => Promise<boolean>): Promise<void> {
  const before = await syncStats(pair.primaryPort);
  const writers = startWriters(pair.primaryPort, 4, 200, `pr:${label}:`);
  await sleep(200);
  if (!(await drop())) {
    await writers.stop();
    t.fail('the link was not dropped, so there is no resync to check');
    return;
  }
  const back = await waitFor(async () => {
    const s = await syncStats(pair.primaryPort);
    return s.partialOk > before.partialOk || s.full > before.full;
  }, 15_000);
  await sleep(300); // writes keep flowing over the resumed link
  const res = await writers.stop();
  const after = await syncStats(pair.primaryPort);
  t.ok(back.ok, `the replica resynced within ${back.ms} ms of the drop`);
  t.equal(after.partialOk, before.partialOk + 1, `INFO stats sync_partial_ok +1 (+CONTINUE): ${before.partialOk} → ${after.partialOk}`);
  t.equal(after.full, before.full, `INFO stats sync_full unchanged (${before.full} → ${after.full})`);
  t.equal(res.errors, 0, `writers saw no errors (${res.firstErrors.join('; ')})`);
  await pair.waitLinkUp(15_000);
  await synced(t, pair);
  await checkWriters(t, pair, res);
  await compare(t, pair);
}

/**
 * The replica is cut off (SIGSTOP, or the relay blocked) while `drop` breaks the link
 * and 3 MB are written into a 16 KB backlog: it must come back with a full resync.
 */
async function fullAfter(t: Test, pair: ReplPair, label: string, cutOff: () => Promise<boolean>, restore: () => Promise<void>): Promise<void> {
  const primary = await RespClient.connect(pair.primaryPort);
  t.teardown(() => primary.close());
  t.equal(await primary.run(['CONFIG', 'SET', 'repl-backlog-size', '16384']), 'OK', 'CONFIG SET repl-backlog-size 16384');
  const before = await syncStats(pair.primaryPort);
  if (!(await cutOff())) {
    await restore();
    t.fail('the link was not dropped, so there is no resync to check');
    return;
  }
  const value = 'x'.repeat(1000);
  const replies = await Promise.all(Array.from({ length: 3000 }, (_, i) => primary.run(['SET', `big:${label}:${i}`, `${i}:${value}`])));
  t.equal(replies.filter((r) => r !== 'OK').length, 0, '3,000 SETs of 1 KB while the replica is cut off');
  const info = await once(pair.primaryPort, ['INFO', 'replication']);
  t.comment(`backlog while cut off: ${String(info).split(/\r?\n/).filter((l) => l.startsWith('repl_backlog')).join(' ')}`);
  await restore();
  const back = await waitFor(async () => (await syncStats(pair.primaryPort)).full > before.full, 20_000);
  t.ok(back.ok, `a full resync started within ${back.ms} ms`);
  await pair.waitLinkUp(30_000);
  const after = await syncStats(pair.primaryPort);
  t.equal(after.full, before.full + 1, `INFO stats sync_full +1 (${before.full} → ${after.full})`);
  t.equal(after.partialOk, before.partialOk, 'sync_partial_ok unchanged: the offset was outside the backlog');
  t.ok(after.partialErr >= before.partialErr + 1, `sync_partial_err +1: the replica asked for a partial resync first (${before.partialErr} → ${after.partialErr})`);
  await synced(t, pair);
  await compare(t, pair);
  t.equal(await readReplica(pair, ['GET', `big:${label}:2999`]), `2999:${value}`, 'the last write made while cut off is on the replica');
  t.equal(await primary.run(['CONFIG', 'SET', 'repl-backlog-size', '1048576']), 'OK', 'backlog back to 1 MB');
}

/**
 * Cuts the replica off and restores it: through the relay when the pair has one (a
 * network drop), else SIGSTOP + CLIENT KILL TYPE replica (the primary sees the link go).
 */
function linkCutter(t: Test, pair: ReplPair): { how: string; cut(): Promise<boolean>; restore(): Promise<void> } {
  const relay = pair.relays[0];
  if (relay !== undefined) {
    return {
      how: 'TCP relay cut and blocked',
      cut: async () => {
        relay.block(true);
        return t.ok(relay.cut() >= 1, 'the relay cut the replication connection and refuses reconnects');
      },
      restore: async () => relay.block(false),
    };
  }
  return {
    how: 'SIGSTOP + CLIENT KILL TYPE replica',
    cut: async () => {
      await pair.replica!.freeze();
      const n = await once(pair.primaryPort, ['CLIENT', 'KILL', 'TYPE', 'replica']);
      return t.ok(typeof n === 'number' && n >= 1, `CLIENT KILL TYPE replica (${JSON.stringify(n)})`);
    },
    restore: async () => pair.replica!.signalPid('SIGCONT'),
  };
}

t.test('link drops: partial resync inside the backlog, full resync beyond it', async (t) => {
  const pair = await ReplPair.start({ relay: isShoal });
  t.teardown(() => pair.stop());
  t.comment(`target: ${pair.kind}, primary :${pair.primaryPort} (pid ${pair.primary.pid}), replica :${pair.replicaPort} (pid ${pair.replica?.pid})${pair.relays.length ? `, through relay :${pair.relays[0]!.port}` : ''}`);

  await t.test('CLIENT KILL TYPE replica on the primary → partial resync', (t) => partialAfter(t, pair, 'kill-replica', async () => {
    const n = await once(pair.primaryPort, ['CLIENT', 'KILL', 'TYPE', 'replica']);
    return t.ok(typeof n === 'number' && n >= 1, `CLIENT KILL TYPE replica closed the replica link (${JSON.stringify(n)})`);
  }));

  await t.test('CLIENT KILL TYPE master on the replica → partial resync', (t) => partialAfter(t, pair, 'kill-master', async () => {
    const n = await once(pair.replicaPort, ['CLIENT', 'KILL', 'TYPE', 'master']);
    return t.ok(typeof n === 'number' && n >= 1, `CLIENT KILL TYPE master closed the link to the primary (${JSON.stringify(n)})`);
  }));

  await t.test('a drop longer than the backlog (SIGSTOP + CLIENT KILL, 3 MB written) → full resync', (t) => fullAfter(t, pair, 'stopped', async () => {
    await pair.replica!.freeze();
    t.teardown(() => pair.replica?.signalPid('SIGCONT'));
    const n = await once(pair.primaryPort, ['CLIENT', 'KILL', 'TYPE', 'replica']);
    return t.ok(typeof n === 'number' && n >= 1, `CLIENT KILL TYPE replica while the replica is stopped (${JSON.stringify(n)})`);
  }, async () => {
    pair.replica!.signalPid('SIGCONT');
  }));

  await t.test('partial resync from a 16 KB backlog that wrapped many times', async (t) => {
    const primary = await RespClient.connect(pair.primaryPort);
    t.teardown(() => primary.close());
    t.equal(await primary.run(['CONFIG', 'SET', 'repl-backlog-size', '16384']), 'OK', 'CONFIG SET repl-backlog-size 16384');
    const value = 'w'.repeat(1000);
    const before300 = await Promise.all(Array.from({ length: 300 }, (_, i) => primary.run(['SET', `wrap:${i}`, `${i}:${value}`])));
    t.equal(before300.filter((r) => r !== 'OK').length, 0, '300 KB written through the 16 KB backlog while linked');
    await synced(t, pair);
    const before = await syncStats(pair.primaryPort);
    const cutter = linkCutter(t, pair);
    t.comment(`link cut by ${cutter.how}`);
    if (!(await cutter.cut())) {
      await cutter.restore();
      t.fail('the link was not dropped, so there is no resync to check');
      return;
    }
    // ~8 KB of stream while cut off: inside the 16 KB backlog.
    for (let i = 0; i < 8; i++) t.equal(await primary.run(['SET', `wrap:${i}`, `after:${i}:${value}`]), 'OK', `SET wrap:${i} while cut off`);
    await cutter.restore();
    const back = await waitFor(async () => {
      const s = await syncStats(pair.primaryPort);
      return s.partialOk > before.partialOk || s.full > before.full;
    }, 15_000);
    t.ok(back.ok, `the replica resynced within ${back.ms} ms`);
    const after = await syncStats(pair.primaryPort);
    t.equal(after.partialOk, before.partialOk + 1, `sync_partial_ok +1: the offset was inside the wrapped backlog (${before.partialOk} → ${after.partialOk})`);
    t.equal(after.full, before.full, `sync_full unchanged (${before.full} → ${after.full})`);
    await pair.waitLinkUp(15_000);
    await synced(t, pair);
    await compare(t, pair);
    t.equal(await primary.run(['CONFIG', 'SET', 'repl-backlog-size', '1048576']), 'OK', 'backlog back to 1 MB');
  });

  await t.test('the replica process killed (SIGKILL) and restarted → full resync, one replica listed', async (t) => {
    const before = await syncStats(pair.primaryPort);
    await pair.killReplica();
    const gone = await waitFor(async () => (await once(pair.primaryPort, ['INFO', 'replication']).then(String)).includes('connected_slaves:0'), 10_000);
    t.ok(gone.ok, `the primary noticed the dead replica within ${gone.ms} ms (connected_slaves:0)`);
    const primary = await RespClient.connect(pair.primaryPort);
    t.teardown(() => primary.close());
    const replies = await Promise.all(Array.from({ length: 500 }, (_, i) => primary.run(['HSET', `restart:${i % 50}`, `f${i}`, String(i)])));
    t.equal(replies.filter((r) => typeof r !== 'number').length, 0, '500 HSETs while the replica is down');
    // Every type, TTLs included, so the full sync's snapshot carries all of them.
    const bloom = await hasCommand(pair.primaryPort, 'BF.ADD');
    const workload = replicationWorkload({ seed: 7, count: 4000, bloom });
    for (let i = 0; i < workload.length; i += 500) await Promise.all(workload.slice(i, i + 500).map((c) => primary.run(c)));
    await sleep(500); // the workload's short TTLs run out before the comparison
    await pair.startReplica();
    const after = await syncStats(pair.primaryPort);
    t.equal(after.full, before.full + 1, `sync_full +1 (${before.full} → ${after.full}): a restarted replica without persistence needs a full sync`);
    const info = await once(pair.primaryPort, ['INFO', 'replication']).then(String);
    t.match(info, /connected_slaves:1\r?\n/, 'connected_slaves:1: no stale entry for the dead replica');
    t.notMatch(info, /slave1:/, 'no slave1 line');
    await synced(t, pair);
    await compare(t, pair);
  });

  if (pair.relays.length === 0) {
    t.comment('network cut through a TCP relay: Shoal only (a Redis Cluster replica takes its primary\'s address from the cluster bus)');
    return;
  }
  const relay = pair.relays[0]!;
  await t.test('the link cut at the TCP level (relay) → partial resync', (t) => partialAfter(t, pair, 'net-cut', async () => {
    relay.block(true);
    const cut = t.ok(relay.cut() >= 1, 'the relay cut the replication connection');
    await sleep(500);
    relay.block(false);
    return cut;
  }));
  await t.test('the link down at the TCP level while 3 MB are written → full resync', (t) => fullAfter(t, pair, 'net-down', async () => {
    relay.block(true);
    return t.ok(relay.cut() >= 1, 'the relay cut the replication connection and refuses reconnects');
  }, async () => {
    relay.block(false);
  }));
});

t.test('full resync of 1,000,000 keys while 20 clients write', async (t) => {
  const KEYS = 1_000_000;
  const PER_MSET = 100;
  const pair = await ReplPair.start({ withReplica: false, linkTimeoutMs: 80_000 });
  t.teardown(() => pair.stop());
  t.comment(`target: ${pair.kind}, primary :${pair.primaryPort} (pid ${pair.primary.pid})`);

  // 10,000 MSETs of 100 keys, each MSET in one hash-tag slot (Redis Cluster rules).
  const frames: Buffer[] = [];
  for (let j = 0; j < KEYS / PER_MSET; j++) {
    const argv: string[] = ['MSET'];
    for (let i = j * PER_MSET; i < (j + 1) * PER_MSET; i++) argv.push(`{t${j}}:${i}`, `v${i}`);
    frames.push(encodeCommand(argv));
  }
  const loadStart = Date.now();
  const load = await blast(pair.primaryPort, frames, 1, frames.length, { window: 32, timeoutMs: 120_000 });
  t.equal(load.errorCount, 0, `1,000,000 keys loaded in ${Date.now() - loadStart} ms (${load.errors.join('; ')})`);
  t.equal(await once(pair.primaryPort, ['DBSIZE']), KEYS, 'DBSIZE 1,000,000 on the primary');

  const writers = startWriters(pair.primaryPort, 20, 250, 'fw:');
  await sleep(300);
  const ackedBefore = writers.acked();
  const syncStart = Date.now();
  let syncMs = -1;
  // While the replica syncs: what INFO replication and ROLE say, and how long INFO takes.
  const seen = { inProgress: false, linkDownWhileSyncing: false, roleStates: new Set<string>(), infoMaxMs: 0, infoErrors: 0 };
  let sampling = true;
  const sampler = (async () => {
    await sleep(200);
    while (sampling) {
      const t0 = Date.now();
      try {
        const i = await infoOf(pair.replicaPort, 'replication');
        seen.infoMaxMs = Math.max(seen.infoMaxMs, Date.now() - t0);
        if (i.get('master_sync_in_progress') === '1') {
          seen.inProgress = true;
          if (i.get('master_link_status') === 'down') seen.linkDownWhileSyncing = true;
          const role = await once(pair.replicaPort, ['ROLE']);
          if (Array.isArray(role) && typeof role[3] === 'string') seen.roleStates.add(role[3]);
        }
      } catch {
        seen.infoErrors++; // not listening yet, or no answer within 3 s
      }
      await sleep(100);
    }
  })();
  try {
    await pair.startReplica();
    syncMs = Date.now() - syncStart;
  } finally {
    sampling = false;
    await sampler;
    t.comment(`during the sync: master_sync_in_progress:1 seen ${seen.inProgress}, master_link_status:down then ${seen.linkDownWhileSyncing}, ROLE states ${JSON.stringify([...seen.roleStates])}, slowest INFO ${seen.infoMaxMs} ms, ${seen.infoErrors} INFO polls unanswered (process start included)`);
    t.ok(seen.inProgress, 'INFO replication on the replica said master_sync_in_progress:1 while the 1M-key sync ran');
    t.ok(seen.linkDownWhileSyncing, 'master_link_status:down while the sync is in progress (as Redis)');
    t.ok(seen.roleStates.has('sync'), `ROLE on the replica said 'sync' during the full sync (saw ${JSON.stringify([...seen.roleStates])})`);
    const ackedDuring = writers.acked() - ackedBefore;
    if (syncMs >= 0) await sleep(500); // writes after the sync stream normally
    const res = await writers.stop();
    t.comment(`full sync of ${KEYS} keys: ${syncMs} ms from replica start to link up (node start included); ${ackedDuring} writes acknowledged during the sync, ${res.acked} in all`);
    t.ok(syncMs >= 0, 'the replica finished its full sync within 80 s');
    t.equal(res.errors, 0, `the 20 writers saw no errors during the sync (${res.firstErrors.join('; ')})`);
    t.ok(ackedDuring > 0, 'writes were acknowledged while the sync ran');
    if (syncMs >= 0) {
      await synced(t, pair, 60_000);
      const primaryKeys = await once(pair.primaryPort, ['DBSIZE']);
      const c = await RespClient.connect(pair.replicaPort);
      try {
        await c.run(['READONLY']);
        t.equal(await c.run(['DBSIZE']), primaryKeys, `DBSIZE equal on both sides (${String(primaryKeys)})`);
        // A sample of the loaded keys, read back from the replica.
        const sample = Array.from({ length: 2000 }, (_, n) => Math.floor((n * 7919 * 127) % KEYS));
        const got = await Promise.all(sample.map((i) => c.run(['GET', `{t${Math.floor(i / PER_MSET)}}:${i}`])));
        t.equal(sample.filter((i, n) => got[n] !== `v${i}`).length, 0, '2,000 sampled loaded keys hold their values on the replica');
      } finally {
        await c.close();
      }
      await checkWriters(t, pair, res);
    }
  }
});

