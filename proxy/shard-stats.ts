/**
 * The admin HTTP side's own look at the shard workers: one short-lived RESP connection
 * per worker per question (PING for /readyz, INFO memory stats for /metrics), opened
 * with connectWorker (plain or TLS as tls-cluster says) and bounded by a timeout, so a
 * dead or hung worker is reported as down instead of holding the HTTP reply.
 *
 * It runs where the HTTP server runs (the cluster primary, or the only proxy process),
 * which has no worker links of its own: asking the RESP processes instead would make
 * every one of them query every worker.
 */
import type { Socket } from 'node:net';
import type { WorkerEndpoint } from '../shared/cluster/topology.js';
import type { ShoalConfig } from '../shared/config/schema.js';
import { parseInfo } from '../shared/info.js';
import { replyEnd } from '../shared/resp/reply-scanner.js';
import { connectWorker, upstreamReadyEvent } from './upstream/connect.js';

export interface WorkerAnswer {
  endpoint: WorkerEndpoint;
  /** The reply's payload (bulk or simple string); null when the worker did not answer. */
  reply: string | null;
  /** Why there is no reply: connection error, timeout, or the worker's error line. */
  error: string | null;
}

function encode(argv: readonly string[]): Buffer {
  let s = `*${argv.length}\r\n`;
  for (const a of argv) s += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
  return Buffer.from(s);
}

/** The text of one complete RESP2 reply: bulk or simple string; errors as { error }. */
function decodeOne(buf: Buffer, end: number): { text: string | null; error: string | null } {
  const type = buf[0];
  const lineEnd = buf.indexOf('\r\n');
  if (type === 0x2b) return { text: buf.toString('utf8', 1, lineEnd), error: null }; // +
  if (type === 0x2d) return { text: null, error: buf.toString('utf8', 1, lineEnd) }; // -
  if (type === 0x24 || type === 0x3d) { // $ bulk, = verbatim
    const len = Number(buf.toString('latin1', 1, lineEnd));
    if (len < 0) return { text: null, error: 'nil reply' };
    const from = lineEnd + 2 + (type === 0x3d ? 4 : 0); // verbatim: skip "txt:"
    return { text: buf.toString('utf8', from, Math.min(end - 2, lineEnd + 2 + len)), error: null };
  }
  return { text: null, error: `unexpected reply type ${String.fromCharCode(type ?? 0x3f)}` };
}

/** Sends one command to one worker on a fresh connection; resolves within timeoutMs. */
export function askWorker(endpoint: WorkerEndpoint, config: ShoalConfig, argv: readonly string[], timeoutMs: number): Promise<WorkerAnswer> {
  return new Promise((resolve) => {
    let socket: Socket;
    let settled = false;
    const finish = (reply: string | null, error: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket?.destroy();
      resolve({ endpoint, reply, error });
    };
    const timer = setTimeout(() => finish(null, `no answer within ${timeoutMs} ms`), timeoutMs);
    try {
      socket = connectWorker(endpoint, config);
    } catch (err) {
      finish(null, (err as Error).message);
      return;
    }
    let got: Buffer = Buffer.alloc(0);
    socket.once(upstreamReadyEvent(socket), () => socket.write(encode(argv)));
    socket.on('data', (chunk: Buffer) => {
      got = got.length === 0 ? chunk : Buffer.concat([got, chunk]);
      let end: number;
      try {
        end = replyEnd(got, 0, got.length);
      } catch (err) {
        finish(null, `bad reply: ${(err as Error).message}`);
        return;
      }
      if (end < 0) return;
      const r = decodeOne(got, end);
      finish(r.text, r.error);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => finish(null, err.code ?? err.message));
    socket.on('close', () => finish(null, 'connection closed'));
  });
}

/** Every worker's answer to PING: what /readyz means by "every shard worker answers". */
export function pingWorkers(workers: readonly WorkerEndpoint[], config: ShoalConfig, timeoutMs: number): Promise<WorkerAnswer[]> {
  return Promise.all(workers.map((w) => askWorker(w, config, ['PING'], timeoutMs)));
}

/** One worker's INFO figures that /metrics shows; fields null when the worker is down. */
export interface WorkerStats {
  endpoint: WorkerEndpoint;
  up: boolean;
  error: string | null;
  fields: Map<string, string>;
}

/** INFO memory + stats from every worker, in parallel, each bounded by timeoutMs. */
export async function workerStats(workers: readonly WorkerEndpoint[], config: ShoalConfig, timeoutMs: number): Promise<WorkerStats[]> {
  const answers = await Promise.all(workers.map((w) => askWorker(w, config, ['INFO', 'memory', 'stats'], timeoutMs)));
  return answers.map((a) => {
    const fields = new Map<string, string>();
    if (a.reply !== null) for (const [, kv] of parseInfo(a.reply)) for (const [k, v] of kv) fields.set(k, v);
    return { endpoint: a.endpoint, up: a.reply !== null, error: a.error, fields };
  });
}
