// Scenario `pubsub`: PUBLISH throughput with PUBSUB_SUBS (10) subscribers on the
// channel, the embedded cluster against a private redis-server in the same run.
// redis-benchmark sends `PUBLISH bench:chan <PUBSUB_SIZE-byte payload>` (-c
// PUBSUB_CLIENTS, -P PUBSUB_PIPELINE, -n PUBSUB_N); the subscribers are raw sockets in
// this process that read and count every byte, and the run checks they received every
// message. Goal (issue 6): Shoal ≥ 0.3× Redis. Rounds alternate targets, best kept;
// each measured run follows an uncounted warm-up run of N/4 PUBLISHes (JIT).

import net from 'node:net';
import { spawn } from 'node:child_process';
import {
  HOST, envNum, fmt, log, mdTable, quietGate, PAUSE, RUN_TIMEOUT, running, sleep, startRedis, startTarget, stopTarget, textTable,
  type Section, type Target,
} from './harness.js';

const SUBS = Math.max(1, Math.floor(envNum('PUBSUB_SUBS', 10)));
const N = Math.max(1000, Math.floor(envNum('PUBSUB_N', 200_000)));
const CLIENTS = Math.max(1, Math.floor(envNum('PUBSUB_CLIENTS', 50)));
const PIPELINE = Math.max(1, Math.floor(envNum('PUBSUB_PIPELINE', 16)));
const SIZE = Math.max(1, Math.floor(envNum('PUBSUB_SIZE', 32)));
const ROUNDS = Math.max(1, Math.floor(envNum('PUBSUB_ROUNDS', 2)));
const CHANNEL = 'bench:chan';

interface Subscribers {
  /** Messages received by all subscribers (counted by the frame prefix). */
  received(): number;
  close(): void;
}

/** `SUBS` sockets subscribed to CHANNEL, counting `message` frames. */
async function subscribe(port: number): Promise<Subscribers> {
  const marker = Buffer.from(`$7\r\nmessage\r\n$${CHANNEL.length}\r\n${CHANNEL}\r\n`);
  let count = 0;
  const socks: net.Socket[] = [];
  for (let i = 0; i < SUBS; i++) {
    const s = net.connect({ port, host: HOST });
    socks.push(s);
    let tail = Buffer.alloc(0);
    s.on('data', (chunk: Buffer) => {
      const buf = tail.length ? Buffer.concat([tail, chunk]) : chunk;
      let at = 0;
      for (;;) {
        const k = buf.indexOf(marker, at);
        if (k < 0) break;
        count++;
        at = k + marker.length;
      }
      tail = Buffer.from(buf.subarray(Math.max(at, buf.length - marker.length)));
    });
    s.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      s.once('connect', () => {
        s.write(`*2\r\n$9\r\nSUBSCRIBE\r\n$${CHANNEL.length}\r\n${CHANNEL}\r\n`);
        s.once('data', () => resolve());
      });
      s.once('error', reject);
    });
  }
  return { received: () => count, close: () => socks.forEach((s) => s.destroy()) };
}

/** One redis-benchmark PUBLISH run of `n` requests: requests per second. */
async function publishRun(port: number, n = N): Promise<number> {
  const args = ['-h', HOST, '-p', String(port), '-n', String(n), '-c', String(CLIENTS), '-P', String(PIPELINE), '--csv',
    'PUBLISH', CHANNEL, 'x'.repeat(SIZE)];
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('redis-benchmark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.benchChild = child;
    let o = '';
    child.stdout.on('data', (d: Buffer) => { o += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      running.benchChild = null;
      if (code === 0) resolve(o);
      else reject(new Error(`redis-benchmark exited ${code}: ${o.slice(-300)}`));
    });
  });
  const row = out.split('\n').find((l) => l.startsWith('"PUBLISH'));
  return Number(row?.split(',')[1]?.replace(/"/g, ''));
}

async function measure(t: Target): Promise<{ rps: number; delivered: boolean }> {
  // Warm-up (not counted, nor its deliveries): Shoal's JIT compiles the publish path.
  await publishRun(t.port, Math.ceil(N / 4));
  const subs = await subscribe(t.port);
  try {
    await quietGate(PAUSE);
    const rps = await publishRun(t.port);
    const want = N * SUBS;
    const end = Date.now() + 10_000;
    while (subs.received() < want && Date.now() < end) await sleep(50);
    if (subs.received() !== want) log(`  ${t.label}: subscribers got ${subs.received()} of ${want} messages`);
    return { rps, delivered: subs.received() === want };
  } finally {
    subs.close();
  }
}

export async function runPubsub(): Promise<Section> {
  const shoal = await startTarget('cluster');
  const redis = await startRedis();
  const best = { shoal: 0, redis: 0 };
  let allDelivered = true;
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, t] of (r % 2 === 0 ? [['shoal', shoal], ['redis', redis]] : [['redis', redis], ['shoal', shoal]]) as Array<['shoal' | 'redis', Target]>) {
        const m = await measure(t);
        allDelivered &&= m.delivered;
        best[name] = Math.max(best[name], m.rps);
        log(`  pubsub round ${r + 1}: ${name} ${fmt(m.rps)} PUBLISH/s`);
      }
    }
  } finally {
    await stopTarget(shoal);
    await stopTarget(redis);
  }
  const ratio = best.shoal / best.redis;
  const head = ['target', 'PUBLISH/s', 'deliveries/s', 'vs redis'];
  const rows = [
    ['shoal cluster', fmt(best.shoal), fmt(best.shoal * SUBS), `${fmt(ratio, 2)}x`],
    ['redis-server', fmt(best.redis), fmt(best.redis * SUBS), '1.00x'],
  ];
  const goal = `goal ≥ 0.3x redis: ${ratio >= 0.3 ? 'met' : 'NOT met'}; every message delivered: ${allDelivered ? 'yes' : 'NO'}`;
  return {
    scenario: 'pubsub',
    text: `pubsub (PUBLISH, ${SUBS} subscribers, -c ${CLIENTS} -P ${PIPELINE}, ${SIZE}-byte payload)\n${textTable(head, rows, 1)}\n${goal}`,
    markdown: `## PUBLISH throughput with ${SUBS} subscribers\n\nredis-benchmark \`PUBLISH ${CHANNEL} <${SIZE} bytes>\`, -n ${N} -c ${CLIENTS} -P ${PIPELINE}; `
      + `${SUBS} subscribers reading in the bench process; best of ${ROUNDS} alternating rounds.\n\n${mdTable(head, rows, 1)}\n\n${goal}\n`,
  };
}
