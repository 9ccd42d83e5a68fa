// Pub/sub across two proxy processes (Shoal only): subscribers with ioredis (RESP2)
// and node-redis (RESP2 and RESP3) on both processes, publishers on both; every
// message reaches every subscriber exactly once and in order per publisher; PUBLISH
// counts receivers across both processes; pattern and sharded channels; PUBSUB counts
// agree from either process; a subscriber that stops reading on one process is
// disconnected while subscribers on both keep receiving.

import net from 'node:net';
import t from 'tap';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { fetchTopology, isRedis, startShoal, type Target } from '../helpers/cluster.js';
import { RespClient, encodeCommand, pollUntil, sleep } from '../helpers/run.js';

async function proxyWorkerPids(target: Target): Promise<number[]> {
  const topo = await fetchTopology(target.httpPort);
  return (topo?.processes ?? []).filter((p) => p.role === 'proxy-worker').map((p) => p.pid);
}

const pidOf = (text: string): number => Number(/process_id:(\d+)/.exec(text)?.[1]);

type NodeRedis = ReturnType<typeof createClient>;

/** A client opened again until it lands on proxy process `pid` (connections are spread round-robin). */
async function landOn<C>(pid: number, open: () => Promise<C>, pidOfClient: (c: C) => Promise<number>, close: (c: C) => Promise<void>): Promise<C> {
  for (let i = 0; i < 30; i++) {
    const c = await open();
    if ((await pidOfClient(c)) === pid) return c;
    await close(c);
  }
  throw new Error(`no connection landed on proxy process ${pid}`);
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end && !cond()) await sleep(25);
  return cond();
}

if (isRedis) {
  t.plan(0, 'several proxy processes is Shoal-only');
} else {
  const target = await startShoal({ workers: 2, shards: 2, proxyProcesses: 2 });
  t.teardown(() => target.stop());
  const port = target.port;
  const pids = (await pollUntil(() => proxyWorkerPids(target), (p) => p.length === 2, 10_000)).value;
  const io = (): Promise<Redis> => Promise.resolve(new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, retryStrategy: () => null }));
  const ioOn = (pid: number): Promise<Redis> => landOn(pid, io, async (r) => pidOf(await r.info('server')), async (r) => { r.disconnect(); });
  const nrOn = (pid: number, RESP: 2 | 3): Promise<NodeRedis> => landOn(pid,
    async () => {
      const c = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false }, RESP });
      c.on('error', () => {});
      await c.connect();
      return c as NodeRedis;
    },
    async (c) => pidOf(await c.info('server')),
    async (c) => { await c.quit(); });
  const opened: Array<{ close(): unknown }> = [];
  t.teardown(() => Promise.all(opened.map((c) => c.close())));
  const ioKept = async (pid: number): Promise<Redis> => {
    const r = await ioOn(pid);
    opened.push({ close: () => r.disconnect() });
    return r;
  };
  const nrKept = async (pid: number, RESP: 2 | 3): Promise<NodeRedis> => {
    const c = await nrOn(pid, RESP);
    opened.push({ close: () => c.quit().catch(() => {}) });
    return c;
  };

  t.test('every message once per subscriber, in order per publisher, across processes', async (t) => {
    t.equal(pids.length, 2);
    /** received[subscriber] = "channel|publisher:seq" in arrival order. */
    const received: string[][] = [];
    const channels = ['news', 'sport'];
    for (const pid of pids) {
      const r = await ioKept(pid);
      const got: string[] = [];
      received.push(got);
      r.on('message', (ch: string, m: string) => got.push(`${ch}|${m}`));
      await r.subscribe(...channels);
      for (const RESP of [2, 3] as const) {
        const sub = await nrKept(pid, RESP); // landed on `pid` (checked with INFO before subscribing)
        const got2: string[] = [];
        received.push(got2);
        await sub.subscribe(channels, (m: string, ch: string) => got2.push(`${ch}|${m}`));
      }
    }
    // Pattern subscribers, one per process.
    const pgot: string[][] = [];
    for (const pid of pids) {
      const r = await ioKept(pid);
      const got: string[] = [];
      pgot.push(got);
      r.on('pmessage', (_p: string, ch: string, m: string) => got.push(`${ch}|${m}`));
      await r.psubscribe('[ns]*');
    }
    const pubs: Redis[] = [];
    for (const pid of pids) for (let i = 0; i < 2; i++) pubs.push(await ioKept(pid));
    const N = 200;
    const counts: number[] = [];
    await Promise.all(pubs.map(async (p, pi) => {
      for (let s = 0; s < N; s++) {
        const ch = channels[s % 2]!;
        counts.push(await p.publish(ch, `${pi}:${s}`));
      }
    }));
    const subs = received.length;
    t.equal(subs, 6);
    t.ok(counts.every((n) => n === subs + 2), `every PUBLISH counted ${subs} channel + 2 pattern receivers (${[...new Set(counts)].join(',')})`);
    const want = pubs.length * N;
    t.ok(await waitFor(() => received.every((g) => g.length >= want) && pgot.every((g) => g.length >= want), 15_000), 'all delivered');
    for (const [i, g] of [...received, ...pgot].entries()) {
      t.equal(g.length, want, `subscriber ${i}: exactly ${want} messages`);
      t.equal(new Set(g).size, g.length, `subscriber ${i}: no duplicates`);
      const last = new Map<string, number>();
      let ordered = true;
      for (const m of g) {
        const [, body] = m.split('|') as [string, string];
        const [pub, seq] = body.split(':').map(Number) as [number, number];
        if ((last.get(String(pub)) ?? -1) >= seq) ordered = false;
        last.set(String(pub), seq);
      }
      t.ok(ordered, `subscriber ${i}: in order per publisher`);
    }
    // Counts agree from both processes.
    for (const p of [pubs[0]!, pubs[pubs.length - 1]!]) {
      t.same(await p.call('PUBSUB', 'NUMSUB', 'news', 'sport', 'none'), ['news', subs, 'sport', subs, 'none', 0]);
      t.equal(await p.call('PUBSUB', 'NUMPAT'), 1);
      t.same(((await p.call('PUBSUB', 'CHANNELS')) as string[]).sort(), ['news', 'sport']);
    }
  });

  t.test('sharded channels across processes', async (t) => {
    const got: string[][] = [];
    for (const pid of pids) {
      const r = await ioKept(pid);
      const g: string[] = [];
      got.push(g);
      r.on('smessage', (ch: string, m: string) => g.push(`${ch}|${m}`));
      await r.ssubscribe('{room}a', '{room}b');
    }
    const p0 = await ioKept(pids[0]!);
    const p1 = await ioKept(pids[1]!);
    t.equal(await p0.spublish('{room}a', 'x'), 2);
    t.equal(await p1.spublish('{room}b', 'y'), 2);
    t.equal(await p1.publish('{room}a', 'plain'), 0);
    t.ok(await waitFor(() => got.every((g) => g.length >= 2), 5000));
    for (const g of got) t.same(g, ['{room}a|x', '{room}b|y']);
    t.same(await p1.call('PUBSUB', 'SHARDNUMSUB', '{room}a'), ['{room}a', 2]);
    t.same(((await p0.call('PUBSUB', 'SHARDCHANNELS')) as string[]).sort(), ['{room}a', '{room}b']);
  });

  t.test('a subscriber that stops reading is disconnected; the others keep receiving', async (t) => {
    const admin = await RespClient.connect(port);
    t.teardown(() => admin.close());
    // CONFIG SET through one process holds for every process.
    t.equal(await admin.run(['CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 1mb 512kb 1']), 'OK');
    t.teardown(() => admin.run(['CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 32mb 8mb 60']));
    // The slow subscriber lands on process 0 (checked with INFO before it subscribes).
    let slow: net.Socket | null = null;
    // Raw sockets (it must stop reading) until one lands on process 0.
    for (let i = 0; i < 30 && slow === null; i++) {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.on('error', () => {});
      await new Promise<void>((resolve) => s.once('connect', () => resolve()));
      s.write(encodeCommand(['INFO', 'server']));
      const text = await new Promise<string>((resolve) => {
        let acc = '';
        const on = (d: Buffer): void => {
          acc += d.toString();
          if (acc.includes('process_id:') && acc.endsWith('\r\n\r\n')) { s.off('data', on); resolve(acc); }
        };
        s.on('data', on);
        setTimeout(() => resolve(acc), 2000);
      });
      if (pidOf(text) === pids[0]) slow = s;
      else s.destroy();
    }
    if (slow === null) throw new Error('no raw connection landed on process 0');
    const sl = slow;
    t.teardown(() => sl.destroy());
    let slowClosed = false;
    sl.on('close', () => { slowClosed = true; });
    sl.write(encodeCommand(['SUBSCRIBE', 'flood']));
    await new Promise<void>((resolve) => sl.once('data', () => resolve()));
    sl.pause();
    const fast: Redis[] = [];
    const got = [0, 0];
    for (const [i, pid] of pids.entries()) {
      const r = await ioKept(pid);
      r.on('message', () => { got[i]!++; });
      await r.subscribe('flood');
      fast.push(r);
    }
    const pub = await ioKept(pids[0]!);
    const pad = 'x'.repeat(16 * 1024);
    const total = 1500;
    for (let i = 0; i < total; i += 100) {
      const p = pub.pipeline();
      for (let j = i; j < i + 100; j++) p.publish('flood', pad);
      await p.exec();
    }
    t.ok(await waitFor(() => got[0] === total && got[1] === total, 20_000), `subscribers on both processes got all ${total} (${got.join(', ')})`);
    sl.on('data', () => {});
    sl.resume();
    t.ok(await waitFor(() => slowClosed, 5000), 'the slow subscriber was disconnected');
  });

}
