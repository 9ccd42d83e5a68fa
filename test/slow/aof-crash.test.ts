// Crash safety of the append-only log: 20 clients write as fast as they can (pipelined
// RPUSH of a per-client sequence, and MULTI INCR a INCR b EXEC) while the shard process
// is killed with SIGKILL at a random moment; after each restart every acknowledged
// write is present, the list is an exact prefix (nothing out of order or doubled) and
// every MULTI block is all or nothing (a == b). appendfsync always: ≥ 20 kills (two
// shards side by side, ten each); everysec: what is lost was acknowledged within about
// the last second before the kill. Shoal only (a standalone shard process).
import t, { type Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RespClient, sleep } from '../helpers/run.js';
import { freePortRange, isRedis } from '../helpers/cluster.js';
import { ShardProc, waitPortFree } from '../helpers/shard-process.js';

const CLIENTS = 20;
const WINDOW = 8;

interface ClientLog {
  /** RPUSH elements acknowledged (0..acked-1), and the next index to push. */
  acked: number;
  next: number;
  /** EXEC replies received since the last restart, and the counter's value then. */
  execAcked: number;
  execBase: number;
  /** Ack time of each list index (everysec loss bound). */
  ackAt: number[];
}

/** One client's writer until its connection dies. */
async function writer(port: number, id: number, log: ClientLog): Promise<void> {
  let c: RespClient;
  try {
    c = await RespClient.connect(port);
  } catch {
    return;
  }
  const l = `{c${id}}l`;
  const a = `{c${id}}a`;
  const b = `{c${id}}b`;
  const inflight = new Set<Promise<unknown>>();
  try {
    for (;;) {
      while (inflight.size < WINDOW) {
        const i = log.next++;
        const p1 = c.run(['RPUSH', l, String(i)], { timeoutMs: 30_000 }).then(() => {
          if (i + 1 > log.acked) log.acked = i + 1;
          log.ackAt[i] = Date.now();
        });
        void c.run(['MULTI']).catch(() => {});
        void c.run(['INCR', a]).catch(() => {});
        void c.run(['INCR', b]).catch(() => {});
        const p2 = c.run(['EXEC'], { timeoutMs: 30_000 }).then(() => {
          log.execAcked++;
        });
        const both = Promise.all([p1, p2]);
        inflight.add(both);
        void both.then(() => inflight.delete(both), () => inflight.delete(both));
      }
      await Promise.race(inflight);
    }
  } catch {
    // killed: the connection closed
  } finally {
    await c.close().catch(() => {});
  }
}

/** After a restart: checks every client's data against what was acknowledged; resets the logs to what is there. */
async function verify(t: Test, port: number, logs: ClientLog[], killAt: number, lossBoundMs: number | null): Promise<{ lost: number; maxLossMs: number }> {
  const c = await RespClient.connect(port);
  let lost = 0;
  let maxLossMs = 0;
  let bad = 0;
  try {
    for (let id = 0; id < logs.length; id++) {
      const log = logs[id]!;
      const list = (await c.run(['LRANGE', `{c${id}}l`, '0', '-1'])) as string[];
      const av = Number((await c.run(['GET', `{c${id}}a`])) ?? 0);
      const bv = Number((await c.run(['GET', `{c${id}}b`])) ?? 0);
      const prefix = list.every((v, i) => v === String(i));
      if (!prefix) {
        bad++;
        t.fail(`client ${id}: list is not the exact sequence 0..${list.length - 1}`);
      }
      if (av !== bv) {
        bad++;
        t.fail(`client ${id}: MULTI half applied (a=${av} b=${bv})`);
      }
      const wantExec = log.execBase + log.execAcked;
      if (lossBoundMs === null) {
        if (list.length < log.acked) {
          bad++;
          t.fail(`client ${id}: ${log.acked} pushes acknowledged, ${list.length} present`);
        }
        if (av < wantExec) {
          bad++;
          t.fail(`client ${id}: ${wantExec} EXEC acknowledged, counter ${av}`);
        }
      } else if (list.length < log.acked) {
        lost += log.acked - list.length;
        const firstLostAck = log.ackAt[list.length] ?? killAt;
        maxLossMs = Math.max(maxLossMs, killAt - firstLostAck);
      }
      log.acked = list.length;
      log.next = list.length;
      log.execBase = av;
      log.execAcked = 0;
      log.ackAt.length = list.length;
    }
  } finally {
    await c.close();
  }
  if (lossBoundMs !== null && lost > 0) t.ok(maxLossMs <= lossBoundMs, `everysec: lost ${lost} acknowledged pushes, acknowledged at most ${maxLossMs} ms before the kill`);
  if (bad === 0) t.pass('every acknowledged write present, nothing half-applied');
  return { lost, maxLossMs };
}

async function lane(t: Test, dir: string, port: number, kills: number, args: string[], lossBoundMs: number | null, budgetMs = 55_000): Promise<void> {
  const started = Date.now();
  const logs: ClientLog[] = Array.from({ length: CLIENTS }, () => ({ acked: 0, next: 0, execAcked: 0, execBase: 0, ackAt: [] }));
  let p = await ShardProc.start(port, dir, args);
  t.teardown(() => p.kill9());
  let total = 0;
  let k = 0;
  for (; k < kills; k++) {
    // A machine far busier than CI (every start takes seconds) stops early rather than time out.
    if (Date.now() - started > budgetMs) {
      t.comment(`time budget spent: ${k} of ${kills} kills done`);
      break;
    }
    const writers = logs.map((log, id) => writer(port, id, log));
    await sleep(100 + Math.floor(Math.random() * 400));
    const killAt = Date.now();
    const before = logs.reduce((n, l) => n + l.acked, 0);
    p.kill9();
    await p.exited;
    await Promise.all(writers);
    total += before;
    await waitPortFree(port);
    p = await ShardProc.start(port, dir, args);
    await verify(t, port, logs, killAt, lossBoundMs);
  }
  t.ok(total > 0, `lane ${path.basename(dir)}: ${k} kills, ${total} acknowledged pushes checked`);
  await p.killAndWait();
}

if (isRedis) {
  t.pass('crash tests drive a Shoal shard process; nothing to check against redis-server');
} else {
  const root = await mkdtemp(path.join(os.tmpdir(), 'shoal-aof-crash-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));

  await t.test('appendfsync always: kill -9 under 20 writing clients, 20 times', async (t) => {
    const base = await freePortRange(2);
    const args = ['--appendonly', 'yes', '--appendfsync', 'always', '--log-level', 'warn'];
    await Promise.all([
      lane(t, path.join(root, 'always-a'), base, 10, args, null),
      lane(t, path.join(root, 'always-b'), base + 1, 10, args, null),
    ]);
  });

  await t.test('appendfsync everysec: the loss is bounded by about a second of writes', async (t) => {
    const port = await freePortRange(1);
    await lane(t, path.join(root, 'everysec'), port, 2, ['--appendonly', 'yes', '--appendfsync', 'everysec', '--log-level', 'warn'], 2500);
  });
}
