// --prefill: SET every string key of the key space (key:000000000000 .. key:<keys-1>)
// once, with values of the workload's sizes, so GETs and MGETs hit. Pipelined over a
// few connections with a bounded number of unanswered SETs; every reply must be +OK.

import net from 'node:net';
import { errorLine } from './error-reply.js';
import { replyEnd } from '../../shared/resp/reply-scanner.js';
import { CommandWriter, type Workload } from './workload.js';

export interface PrefillTarget {
  host: string;
  port: number;
  user?: string | undefined;
  pass?: string | undefined;
  connectTimeoutMs: number;
}

const BATCH = 1000;
const WINDOW = 8; // batches unanswered per connection

function authBytes(t: PrefillTarget): Buffer {
  const argv = t.user === undefined ? ['AUTH', t.pass ?? ''] : ['AUTH', t.user, t.pass ?? ''];
  return Buffer.from(`*${argv.length}\r\n${argv.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
}

/** Writes keys [from, to) on one connection; resolves when all replies are +OK. */
function fillRange(t: PrefillTarget, writer: CommandWriter, from: number, to: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: t.host, port: t.port, noDelay: true });
    let carry = Buffer.alloc(0);
    let next = from;
    let answered = from;
    let skipAuth = t.pass !== undefined ? 1 : 0;
    const timer = setTimeout(() => fail(new Error(`connect to ${t.host}:${t.port} timed out`)), t.connectTimeoutMs);
    const fail = (e: Error) => { clearTimeout(timer); socket.destroy(); reject(e); };
    const pump = () => {
      while (next < to && next - answered < BATCH * WINDOW) {
        const n = Math.min(BATCH, to - next);
        const buf = Buffer.allocUnsafe(n * writer.maxBytes);
        let off = 0;
        for (let i = 0; i < n; i++) off = writer.writeSetAt(next + i, buf, off);
        socket.write(buf.subarray(0, off));
        next += n;
      }
    };
    socket.on('error', (e) => fail(new Error(`prefill ${t.host}:${t.port}: ${e.message}`)));
    socket.on('close', () => { if (answered < to) fail(new Error(`prefill ${t.host}:${t.port}: connection closed`)); });
    socket.on('connect', () => {
      clearTimeout(timer);
      if (skipAuth) socket.write(authBytes(t));
      pump();
    });
    socket.on('data', (chunk: Buffer) => {
      const data = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      let pos = 0;
      for (;;) {
        const end = replyEnd(data, pos, data.length);
        if (end < 0) break;
        if (data[pos] !== 43) { // not +OK
          const what = skipAuth ? 'AUTH' : `SET key #${answered}`;
          return fail(new Error(`prefill ${t.host}:${t.port}: ${what} -> -${errorLine(data, pos, end)}`));
        }
        if (skipAuth) skipAuth = 0;
        else answered++;
        pos = end;
      }
      carry = Buffer.from(data.subarray(pos));
      if (answered >= to) {
        socket.destroy();
        resolve();
        return;
      }
      pump();
    });
  });
}

/** SETs keys 0 .. keys-1 over `connections` connections. */
export async function prefill(t: PrefillTarget, w: Workload, connections = 4): Promise<void> {
  const n = w.keys;
  const per = Math.ceil(n / connections);
  const jobs: Promise<void>[] = [];
  for (let c = 0; c < connections && c * per < n; c++) {
    jobs.push(fillRange(t, new CommandWriter({ ...w, seed: w.seed + 1000 + c }), c * per, Math.min(n, (c + 1) * per)));
  }
  await Promise.all(jobs);
}
