// Scenario `fanout`: one publisher, FANOUT_WS WebSocket subscribers (/pubsub on the
// proxy's HTTP port) and FANOUT_RESP RESP subscribers (the proxy's RESP port), all on
// one channel of the embedded cluster (docs/websocket-pubsub.md, docs/pubsub.md).
//
// Two phases of FANOUT_SECS each:
//   rate  the publisher sends FANOUT_RATE messages/s on a fixed timeline (open loop):
//         publish-to-delivery latency (p50/p99/max) at a load the box carries;
//   max   the publisher keeps FANOUT_WINDOW PUBLISHes outstanding, as fast as they
//         are answered: deliveries per second at saturation, and the latency then.
// Latency runs from just before the PUBLISH is written to when a subscriber socket
// has read the message; every delivery counts. Publisher and all subscribers live
// in this process and share the 2-core box with the cluster, so the figures include
// the cost of reading 2,000 sockets here (reported as the bench's own CPU).

import net from 'node:net';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import {
  HOST, cpuDelta, cpuOf, die, envNum, fmt, log, mdTable, selfAndReapedJiffies, serverPids, sleep, startTarget, stopTarget,
  textTable, HZ, type Section, type Target,
} from './harness.js';

const WS_SUBS = Math.max(0, Math.floor(envNum('FANOUT_WS', 1000)));
const RESP_SUBS = Math.max(0, Math.floor(envNum('FANOUT_RESP', 1000)));
const RATE = Math.max(1, envNum('FANOUT_RATE', 50));
const WINDOW = Math.max(1, Math.floor(envNum('FANOUT_WINDOW', 4)));
const SECS = envNum('FANOUT_SECS', 5);
const CHANNEL = 'fanout';
/** The payload: a send timestamp (ms, performance.now()) at a fixed width, so frames have a fixed size. */
const STAMP_WIDTH = 16;

/** Delivery latencies (ms) and counts of one phase. */
class Sink {
  latencies = new Float64Array(1 << 20);
  count = 0;
  record(sentAt: number): void {
    const lat = performance.now() - sentAt;
    if (this.count === this.latencies.length) {
      const bigger = new Float64Array(this.latencies.length * 2);
      bigger.set(this.latencies);
      this.latencies = bigger;
    }
    this.latencies[this.count++] = lat;
  }
}

let sink = new Sink();

/** A RESP subscriber: counts fixed-size `message` frames and reads their timestamps. */
function respSubscriber(port: number): Promise<net.Socket> {
  const confirm = Buffer.from(`*3\r\n$9\r\nsubscribe\r\n$${CHANNEL.length}\r\n${CHANNEL}\r\n:1\r\n`);
  const head = `*3\r\n$7\r\nmessage\r\n$${CHANNEL.length}\r\n${CHANNEL}\r\n$${STAMP_WIDTH}\r\n`;
  const frame = head.length + STAMP_WIDTH + 2;
  return new Promise((resolve, reject) => {
    const s = net.connect(port, HOST);
    let pending: Buffer = Buffer.alloc(0);
    let subscribed = false;
    s.setNoDelay(true);
    s.once('error', reject);
    s.on('connect', () => s.write(`SUBSCRIBE ${CHANNEL}\r\n`));
    s.on('data', (chunk: Buffer) => {
      let buf: Buffer = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      if (!subscribed) {
        if (buf.length < confirm.length) { pending = buf; return; }
        if (!buf.subarray(0, confirm.length).equals(confirm)) { s.destroy(); reject(new Error(`unexpected SUBSCRIBE reply ${JSON.stringify(buf.subarray(0, 60).toString())}`)); return; }
        subscribed = true;
        resolve(s);
        buf = buf.subarray(confirm.length);
      }
      let at = 0;
      while (buf.length - at >= frame) {
        sink.record(Number(buf.toString('latin1', at + head.length, at + head.length + STAMP_WIDTH)));
        at += frame;
      }
      pending = at === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(at));
    });
  });
}

/** A WebSocket subscriber (JSON frames). */
function wsSubscriber(httpPort: number): Promise<WebSocket> {
  const marker = '"message":"';
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${HOST}:${httpPort}/pubsub`);
    ws.once('error', reject);
    ws.on('open', () => ws.send(JSON.stringify({ op: 'subscribe', channels: [CHANNEL] })));
    ws.on('message', (data: Buffer) => {
      const text = data.toString();
      const at = text.indexOf(marker);
      if (at >= 0 && text.startsWith('{"type":"message"')) sink.record(Number(text.slice(at + marker.length, at + marker.length + STAMP_WIDTH)));
      else if (text.startsWith('{"type":"subscribe"')) resolve(ws);
    });
    ws.on('close', (code) => {
      if (code !== 1000 && code !== 1005) closedEarly++;
    });
  });
}
let closedEarly = 0;

/** A minimal RESP publisher: PUBLISH with a callback per integer reply, in order. */
function publisher(port: number): Promise<{ publish(done: (n: number) => void): void; close(): void }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, HOST);
    s.setNoDelay(true);
    const waiting: Array<(n: number) => void> = [];
    let pending = '';
    s.once('error', reject);
    s.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      let nl: number;
      while ((nl = pending.indexOf('\r\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 2);
        if (line[0] !== ':') die(`fanout: PUBLISH replied ${line}`, 3);
        waiting.shift()?.(Number(line.slice(1)));
      }
    });
    s.on('connect', () => resolve({
      publish(done) {
        const stamp = performance.now().toFixed(3).padStart(STAMP_WIDTH, '0');
        waiting.push(done);
        s.write(`*3\r\n$7\r\nPUBLISH\r\n$${CHANNEL.length}\r\n${CHANNEL}\r\n$${STAMP_WIDTH}\r\n${stamp}\r\n`);
      },
      close: () => s.destroy(),
    }));
  });
}

interface Phase { name: string; published: number; receivers: number; deliveries: number; expected: number; secs: number; p50: number; p99: number; max: number; benchCpu: number; serverCpu: number }

function quantile(sorted: Float64Array, q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN;
}

async function phase(name: string, t: Target, pub: Awaited<ReturnType<typeof publisher>>, rate: number | null): Promise<Phase> {
  sink = new Sink();
  const pids = serverPids(t.server);
  const cpu0 = cpuOf(pids);
  const self0 = selfAndReapedJiffies().self;
  const t0 = performance.now();
  let published = 0;
  let replied = 0;
  let receivers = -1;
  const onReply = (n: number): void => {
    replied++;
    receivers = receivers < 0 ? n : Math.min(receivers, n);
  };
  const end = t0 + SECS * 1000;
  if (rate !== null) {
    // Open loop: message i is due at t0 + i / rate.
    while (performance.now() < end) {
      const due = t0 + (published * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await sleep(Math.min(wait, 20));
      else { pub.publish(onReply); published++; }
    }
  } else {
    await new Promise<void>((resolve) => {
      const next = (n: number): void => {
        onReply(n);
        if (performance.now() < end) { pub.publish(next); published++; } else if (replied === published) resolve();
      };
      for (let i = 0; i < WINDOW; i++) { pub.publish(next); published++; }
    });
  }
  // Let deliveries finish (bounded): every reply, then every subscriber's copy.
  const expected = (): number => published * (WS_SUBS + RESP_SUBS);
  const deadline = performance.now() + 30_000;
  let last = -1;
  let still = performance.now();
  while ((replied < published || sink.count < expected()) && performance.now() < deadline) {
    await sleep(20);
    if (sink.count !== last) { last = sink.count; still = performance.now(); } else if (performance.now() - still > 3000) break;
  }
  const secs = (performance.now() - t0) / 1000;
  const serverCpu = (cpuDelta(cpu0, cpuOf(pids)) / HZ / secs) * 100;
  const benchCpu = ((selfAndReapedJiffies().self - self0) / HZ / secs) * 100;
  const sorted = sink.latencies.slice(0, sink.count).sort();
  return { name, published, receivers, deliveries: sink.count, expected: expected(), secs, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.length ? sorted[sorted.length - 1]! : NaN, benchCpu, serverCpu };
}

export async function runFanout(): Promise<Section> {
  const t = await startTarget('cluster');
  const httpPort = t.port + 1;
  const sockets: Array<net.Socket | WebSocket> = [];
  try {
    log(`fanout: opening ${WS_SUBS} WebSocket and ${RESP_SUBS} RESP subscribers`);
    for (let i = 0; i < WS_SUBS; i += 50) sockets.push(...(await Promise.all(Array.from({ length: Math.min(50, WS_SUBS - i) }, () => wsSubscriber(httpPort)))));
    for (let i = 0; i < RESP_SUBS; i += 50) sockets.push(...(await Promise.all(Array.from({ length: Math.min(50, RESP_SUBS - i) }, () => respSubscriber(t.port)))));
    const pub = await publisher(t.port);
    const phases: Phase[] = [];
    for (const [name, rate] of [[`rate ${RATE}/s`, RATE], [`max (window ${WINDOW})`, null]] as const) {
      const p = await phase(name, t, pub, rate);
      phases.push(p);
      log(`fanout ${name}: ${p.published} published, ${p.deliveries}/${p.expected} delivered in ${fmt(p.secs, 1)} s `
        + `(${fmt(p.deliveries / p.secs)} deliveries/s), p50 ${fmt(p.p50, 1)} ms, p99 ${fmt(p.p99, 1)} ms`);
    }
    pub.close();
    const head = ['phase', 'published', 'PUBLISH receivers', 'delivered', 'deliveries/s', 'messages/s', 'p50 ms', 'p99 ms', 'max ms', 'cluster CPU %', 'bench CPU %'];
    const rows = phases.map((p) => [p.name, String(p.published), String(p.receivers), `${p.deliveries} of ${p.expected}`, fmt(p.deliveries / p.secs),
      fmt(p.published / p.secs, 1), fmt(p.p50, 1), fmt(p.p99, 1), fmt(p.max, 1), fmt(p.serverCpu), fmt(p.benchCpu)]);
    const closedNote = closedEarly ? `\n${closedEarly} WebSocket subscribers were closed during the run (websocket-max-buffered: the bench could not read fast enough).` : '';
    const markdown = `## fanout: one publisher, ${WS_SUBS} WebSocket + ${RESP_SUBS} RESP subscribers on one channel

Method: the embedded cluster (\`${t.command}\`); ${WS_SUBS} WebSocket clients (\`ws\`, JSON frames) on
\`/pubsub\` and ${RESP_SUBS} raw RESP clients SUBSCRIBEd to one channel, one RESP publisher, all in the
bench process. Phase "rate": ${RATE} PUBLISH/s on a fixed timeline for ${SECS} s; phase "max":
${WINDOW} PUBLISHes outstanding for ${SECS} s. Latency: PUBLISH written → message read by a
subscriber, every delivery counted (seconds include draining the last deliveries).
The bench process reads all ${WS_SUBS + RESP_SUBS} sockets on one core, so "max" is bounded by it too.

${mdTable(head, rows, 1)}${closedNote}
`;
    return { scenario: 'fanout', text: textTable(head, rows, 1) + closedNote, markdown };
  } finally {
    for (const s of sockets) s instanceof WebSocket ? s.terminate() : s.destroy();
    await stopTarget(t);
  }
}
