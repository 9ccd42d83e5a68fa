// A primary cut off from the manager (Shoal only): SIGSTOP the primary process of
// shard 0 while clients write, keep it stopped well past the failover, then SIGCONT.
//
// What must hold (the lease/fence argument of docs/replication.md):
// - No slot has two primaries acknowledging writes: a direct client on the old
//   primary's port keeps 16 SETs in flight on keys of its slots the whole time; a
//   direct client on the replica's port does the same (MOVED while it is a replica).
//   Identity is the port that answered. No +OK from the old port is received after the
//   first +OK from the new one; the writes queued in the stopped process when it
//   resumes are refused (TRYAGAIN, MOVED, READONLY), never acknowledged.
// - 20 clients writing through the proxy (strong) lose no acknowledged write.
// - After SIGCONT the old primary is a replica of the new one and converges.

import net from 'node:net';
import t from 'tap';
import { isRedis, keySlot, startShoal } from '../helpers/cluster.js';
import { encodeCommand, sleep } from '../helpers/run.js';
import { WriterPool, inSlots, nodePid, readTopologyFile, replicationInfo, waitConverged } from '../helpers/failover.js';

type DirectReply = { port: number; key: string; sentAt: number; at: number; reply: string };

/**
 * A raw pipelining writer on one worker port: keeps `window` SETs in flight, logs
 * every reply line (+OK, -TRYAGAIN ..., -MOVED ...) with its receive time.
 */
class DirectWriter {
  readonly replies: DirectReply[] = [];
  #socket: net.Socket | null = null;
  #inflight: Array<{ key: string; sentAt: number }> = [];
  #buf = '';
  #seq = 0;
  #running = true;
  #closed: Promise<void>;

  constructor(readonly port: number, private readonly keys: readonly string[], private readonly window = 16) {
    this.#closed = new Promise((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      this.#socket = s;
      s.setNoDelay(true);
      s.on('connect', () => this.#fill());
      s.on('data', (chunk: Buffer) => this.#onData(chunk.toString('latin1')));
      s.on('error', () => {});
      s.on('close', () => resolve());
    });
  }

  #fill(): void {
    while (this.#running && this.#inflight.length < this.window && this.#socket !== null) {
      const key = `${this.keys[this.#seq % this.keys.length]}:${this.#seq}`;
      this.#seq++;
      this.#inflight.push({ key, sentAt: Date.now() });
      this.#socket.write(encodeCommand(['SET', key, `direct-${this.port}`]));
    }
  }

  #onData(text: string): void {
    this.#buf += text;
    let eol: number;
    while ((eol = this.#buf.indexOf('\r\n')) >= 0) {
      const line = this.#buf.slice(0, eol);
      this.#buf = this.#buf.slice(eol + 2);
      const w = this.#inflight.shift();
      if (w !== undefined) this.replies.push({ port: this.port, key: w.key, sentAt: w.sentAt, at: Date.now(), reply: line });
    }
    // A worker refusing writes answers at once: slow the refusals down a little.
    const last = this.replies[this.replies.length - 1];
    if (last !== undefined && last.reply !== '+OK') setTimeout(() => this.#fill(), 2);
    else this.#fill();
  }

  oks(): DirectReply[] {
    return this.replies.filter((r) => r.reply === '+OK');
  }

  /** Stops sending; waits (bounded) for the replies in flight, then closes. */
  async stop(): Promise<void> {
    this.#running = false;
    const deadline = Date.now() + 3000;
    while (this.#inflight.length > 0 && Date.now() < deadline) await sleep(20);
    this.#socket?.destroy();
    await this.#closed;
  }
}

if (isRedis) {
  t.plan(0, 'SIGSTOP of a shard process is Shoal-only');
} else {
  const target = await startShoal({ replicas: 1, workers: 1, shards: 2, env: { SHOAL_CONSISTENCY: 'strong' }, readyTimeoutMs: 60_000 });
  t.teardown(() => target.stop());

  t.test('SIGSTOP the primary: one primary per slot at any time, nothing acknowledged lost, the old primary rejoins', async (t) => {
    const before = await readTopologyFile(target.dataDir!);
    const primary = before.workers.find((w) => w.shard === 0)!;
    const replica = (before.replicas ?? []).find((w) => w.shard === 0)!;
    const pid = nodePid(before, primary.node!);
    if (pid === undefined) {
      t.fail(`no pid for ${primary.node}`);
      return;
    }
    // Hash tags of the group's slots, for the direct writers (`{pN}:<seq>` keeps the slot).
    const keys: string[] = [];
    for (let i = 0; keys.length < 64; i++) if (inSlots(primary.slots, keySlot(`{p${i}}`))) keys.push(`{p${i}}`);

    const pool = await WriterPool.start({ port: target.port, prefix: 'partition' });
    const oldDirect = new DirectWriter(primary.port, keys.map((k) => `${k}:old`));
    const newDirect = new DirectWriter(replica.port, keys.map((k) => `${k}:new`));
    await sleep(800);
    t.ok(oldDirect.oks().length > 0, `the primary acknowledges direct writes before the stop (${oldDirect.oks().length})`);
    t.equal(newDirect.oks().length, 0, 'the replica acknowledges none while it is a replica');

    const stopAt = Date.now();
    process.kill(pid, 'SIGSTOP');
    let resumed = false;
    t.teardown(() => {
      if (!resumed) process.kill(pid, 'SIGCONT');
    });
    // Wait for the promotion (bounded), then keep the old primary stopped a while longer.
    const promoted = await (async () => {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const topo = await readTopologyFile(target.dataDir!).catch(() => null);
        if (topo && topo.workers.find((w) => w.shard === 0)?.id === replica.id) return Date.now();
        await sleep(20);
      }
      return null;
    })();
    t.ok(promoted !== null, `the replica was promoted ${promoted === null ? 'never' : `${promoted - stopAt} ms after SIGSTOP`}`);
    await sleep(1500);
    const contAt = Date.now();
    process.kill(pid, 'SIGCONT');
    resumed = true;
    await sleep(1500);
    await Promise.all([oldDirect.stop(), newDirect.stop(), pool.stop()]);

    const newOks = newDirect.oks();
    const firstNew = newOks[0];
    t.ok(firstNew !== undefined, `the new primary acknowledges direct writes (${newOks.length}; first ${firstNew ? firstNew.at - stopAt : '-'} ms after SIGSTOP)`);
    if (firstNew !== undefined) {
      const late = oldDirect.oks().filter((r) => r.at >= firstNew.at);
      t.equal(late.length, 0, `no write acknowledged by the old primary (port ${primary.port}) after the new primary's first acknowledgement${late.length ? `: ${late.slice(0, 3).map((r) => `${r.key} at +${r.at - stopAt} ms`).join(', ')}` : ''}`);
    }
    const afterCont = oldDirect.replies.filter((r) => r.at >= contAt);
    const kinds = [...new Set(afterCont.map((r) => r.reply.split(' ')[0]))];
    t.notOk(afterCont.some((r) => r.reply === '+OK'), `after SIGCONT the old primary refuses the queued writes (${afterCont.length} replies: ${kinds.join(', ')})`);
    // Every +OK of the old port was received before the stop took effect (or within the last lease).
    const lastOldOk = oldDirect.oks().at(-1);
    t.comment(`old primary: last +OK ${lastOldOk ? lastOldOk.at - stopAt : '-'} ms after SIGSTOP; ${oldDirect.replies.length} replies in all`);

    const missing = await pool.missing(target.port);
    t.equal(missing.length, 0, `every one of ${pool.acked.length} writes acknowledged through the proxy (strong) is present${missing.length ? ` (missing e.g. ${missing.slice(0, 3).map((w) => w.key).join(', ')})` : ''}`);
    // The direct writes acknowledged by either primary (strong does not apply to direct
    // clients; the old primary's last ones may predate the replica) — report only.
    t.comment(`through the proxy: ${pool.acked.length} acknowledged, ${pool.errors.length} errors`);

    const after = await readTopologyFile(target.dataDir!);
    t.ok((after.replicas ?? []).some((w) => w.id === primary.id), `${primary.node} is a replica in the topology (epoch ${after.epoch})`);
    const info = await replicationInfo(primary.port);
    t.equal(info.get('role'), 'slave', `the old primary says role:slave after SIGCONT (shoal_epoch ${info.get('shoal_epoch')})`);
    const sample = pool.acked.filter((w) => inSlots(primary.slots, keySlot(w.key))).slice(-100).map((w) => w.key);
    const conv = await waitConverged(replica.port, primary.port, sample, 20_000);
    t.ok(conv.ok, `the old primary converged with the new one in ${conv.ms} ms (${conv.detail})`);
  });
}
