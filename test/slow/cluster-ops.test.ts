// Operations on a running embedded cluster through bin/shoal-cluster (Shoal only;
// docs/replication.md "Operations"). One launcher runs 2 shards x 1 worker with one
// replica each.
//
// 1. manual failover under 20 writers in `eventual` mode (the level that loses writes in
//    a crash): the primary is fenced, the replica catches up, then takes over; no
//    acknowledged write is lost; `shoal-cluster status` (text and --json) shows it;
//    refusals and usage errors have exit codes 1 and 2.
// 2. a lease that could outlive failure detection is refused at start, naming the keys.
// 3. replica add / remove on shard 1.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { alive, isRedis, keySlot, startShoal, type Target } from '../helpers/cluster.js';
import { sleep } from '../helpers/run.js';
import { WriterPool, groupOf, inSlots, nodePid, readTopologyFile, waitConverged } from '../helpers/failover.js';

const execFileP = promisify(execFile);
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'shoal-cluster.js');

async function cli(target: Target, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await execFileP(process.execPath, [CLI, ...args, '--data-dir', target.dataDir!], { timeout: 30_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

if (isRedis) {
  t.plan(0, 'shoal-cluster operations are Shoal-only');
} else {
  const target = await startShoal({ replicas: 1, workers: 1, shards: 2, readyTimeoutMs: 60_000 });
  t.teardown(() => target.stop());

  t.test('manual failover with shoal-cluster under eventual writes loses nothing; status shows it', async (t) => {
    const before = await readTopologyFile(target.dataDir!);
    const { primary, replica } = groupOf(before, 0);
    const pool = await WriterPool.start({ port: target.port, prefix: 'manual', consistency: 'eventual' });
    await sleep(500);
    const started = Date.now();
    const r = await cli(target, ['failover', '--shard', '0', '--worker', '0']);
    t.comment(`shoal-cluster failover: ${Date.now() - started} ms: ${r.stdout.trim()} ${r.stderr.trim()}`);
    t.equal(r.code, 0, 'shoal-cluster failover exits 0');
    t.match(r.stdout, new RegExp(`shard 0 worker 0: ${primary.node} .* -> ${replica.node} `), 'it names the old and the new primary');
    await sleep(500);
    await pool.stop();
    const missing = await pool.missing(target.port);
    t.equal(missing.length, 0, `none of ${pool.acked.length} acknowledged writes lost in the manual failover${missing.length ? ` (e.g. ${missing.slice(0, 3).map((w) => w.key).join(', ')})` : ''}`);
    const after = await readTopologyFile(target.dataDir!);
    t.equal(groupOf(after, 0).primary.id, replica.id, `${replica.node} is the primary of shard 0 now`);

    const conv = await waitConverged(replica.port, primary.port, pool.acked.filter((w) => inSlots(primary.slots, keySlot(w.key))).slice(-50).map((w) => w.key));
    t.ok(conv.ok, `the old primary ${primary.node} follows the new one (${conv.detail})`);

    // Read again: on a loaded machine a stalled worker may have been failed over meanwhile.
    const now = await readTopologyFile(target.dataDir!);
    const cur = groupOf(now, 0);
    const status = await cli(target, ['status']);
    t.equal(status.code, 0, 'shoal-cluster status exits 0');
    t.comment(status.stdout);
    t.match(status.stdout, new RegExp(`^epoch ${now.epoch}\\b`, 'm'), 'status prints the epoch');
    t.match(status.stdout, new RegExp(`shard 0 worker 0 +slots ${primary.slots[0]![0]}-${primary.slots[0]![1]}`), 'status prints the group and its slots');
    t.match(status.stdout, new RegExp(`primary +${cur.primary.node} +127\\.0\\.0\\.1:${cur.primary.port} +pid \\d+ +offset \\d+`), 'the primary with pid and offset');
    t.match(status.stdout, new RegExp(`replica +${cur.replica.node} +127\\.0\\.0\\.1:${cur.replica.port} +pid \\d+ +offset \\d+ +lag \\d+ +link (up|sync|down)`), 'the replica with lag and link');
    t.match(status.stdout, new RegExp(`recent failovers:[\\s\\S]*manual +shard 0 worker 0: ${primary.node} \\S+ -> ${replica.node} \\S+, epoch \\d+ \\(fenced at offset \\d+; switched in \\d+ ms\\)`), 'status lists the manual failover');
    const json = await cli(target, ['status', '--json']);
    const parsed = JSON.parse(json.stdout) as { epoch: number; groups: { primary: { node: string; pid: number | null } }[] };
    t.ok(parsed.epoch >= now.epoch, 'status --json has the epoch');
    t.ok(typeof parsed.groups[0]?.primary.node === 'string' && typeof parsed.groups[0]?.primary.pid === 'number', `status --json names the primary and its pid (${parsed.groups[0]?.primary.node})`);

    const refused = await cli(target, ['failover', '--shard', '9']);
    t.equal(refused.code, 1, 'failover of an unknown shard exits 1');
    t.match(refused.stderr, /no group shard 9/, 'and says why');
    const usage = await cli(target, ['failover']);
    t.equal(usage.code, 2, 'a missing --shard is a usage error (exit 2)');
  });

  t.test('a lease that could outlive failure detection is a config error naming the keys', async (t) => {
    const launcher = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'shoal.js');
    const r = await execFileP(process.execPath, [launcher, '--replicas', '1', '--lease-ms', '500', '--failover-check-ms', '100', '--failover-misses', '5', '--data-dir', `${target.dataDir}/never`], { timeout: 30_000 })
      .then(() => ({ code: 0, stderr: '' }), (e: { code?: number; stderr?: string }) => ({ code: e.code ?? -1, stderr: e.stderr ?? '' }));
    t.equal(r.code, 1, 'the launcher exits 1 before starting anything');
    t.match(r.stderr, /config leaseMs: lease-ms \(500\) must be below failover-check-ms x failover-misses \(100 x 5 = 500\)/, `it names the keys: ${r.stderr.trim()}`);
  });

  t.test('shoal-cluster replica add / remove', async (t) => {
    const before = await readTopologyFile(target.dataDir!);
    const { primary } = groupOf(before, 1);
    const add = await cli(target, ['replica', 'add', '--shard', '1']);
    t.equal(add.code, 0, `replica add exits 0 (${add.stdout.trim()} ${add.stderr.trim()})`);
    const m = /added (shard-1-replica-\d+) \(ports (\d+)\)/.exec(add.stdout);
    t.ok(m, 'it names the new node and its port');
    if (m === null) return;
    const [, node, port] = m as unknown as [string, string, string];
    const topo = await readTopologyFile(target.dataDir!);
    t.ok((topo.replicas ?? []).some((w) => w.node === node && w.port === Number(port) && w.shard === 1), `${node} is a replica of shard 1 in the topology`);
    t.ok(topo.epoch > before.epoch, 'epoch went up');
    const pid = nodePid(topo, node);
    t.ok(pid !== undefined && alive(pid), `${node} runs (pid ${pid})`);
    const conv = await waitConverged(primary.port, Number(port), []);
    t.ok(conv.ok, `${node} synced from shard 1's primary (${conv.detail})`);

    const primaryRemove = await cli(target, ['replica', 'remove', '--shard', '1', '--replica', primary.node!]);
    t.equal(primaryRemove.code, 1, 'removing the primary\'s node is refused');
    t.match(primaryRemove.stderr, /is the primary of shard 1 worker 0/, 'with the reason');

    const rm = await cli(target, ['replica', 'remove', '--shard', '1', '--replica', node]);
    t.equal(rm.code, 0, `replica remove exits 0 (${rm.stdout.trim()} ${rm.stderr.trim()})`);
    const gone = await readTopologyFile(target.dataDir!);
    t.notOk((gone.replicas ?? []).some((w) => w.node === node), `${node} left the topology`);
    t.equal(nodePid(gone, node), undefined, `${node} left the process list`);
    const deadline = Date.now() + 5000;
    while (pid !== undefined && alive(pid) && Date.now() < deadline) await sleep(50);
    t.ok(pid === undefined || !alive(pid), `${node}'s process stopped`);
  });
}
