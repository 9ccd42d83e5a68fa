/**
 * BlockingConnections: plain RESP connections from the proxy to workers, one per
 * blocking command in flight (BLPOP, BLMOVE, BZPOPMIN ...).
 *
 * A blocking command can wait for minutes; on the shared framed link it would hold
 * every later reply of every client behind it (replies come back in order). So each
 * one gets a connection of its own, borrowed from a small per-worker idle pool and
 * returned after the reply. The worker blocks that connection as it would any Redis
 * client, serves waiters in the order they blocked, and cancels the wait when the
 * connection closes — which is what the proxy does when the client disconnects.
 * No upstream timeout applies: the command's own timeout bounds the wait.
 */
import type { Socket } from 'node:net';
import { replyEnd } from '../../shared/resp/reply-scanner.js';
import { endpointName, type WorkerEndpoint } from '../../shared/cluster/topology.js';
import type { Sink } from './link.js';
import { connectWorker } from './connect.js';
import type { ShoalConfig } from '../../shared/config/schema.js';

/** Idle connections kept per worker and protocol. */
const MAX_IDLE = 8;

function encode(argv: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${argv.length}\r\n`)];
  for (const a of argv) parts.push(Buffer.from(`$${a.length}\r\n`), Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

const HELLO3 = encode([Buffer.from('HELLO'), Buffer.from('3')]);

class BlockingConnection {
  readonly socket: Socket;
  #buf: Buffer = Buffer.alloc(0);
  /** Replies to drop before the one for the pending sink (HELLO's). */
  #skip = 0;
  #sink: Sink | null = null;
  #onDone: (() => void) | null = null;
  closed = false;

  constructor(readonly endpoint: WorkerEndpoint, proto: 2 | 3, config: ShoalConfig, onClose: (c: BlockingConnection) => void) {
    this.socket = connectWorker(endpoint, config);
    this.socket.setNoDelay(true);
    if (proto === 3) {
      this.socket.write(HELLO3);
      this.#skip = 1;
    }
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', () => {});
    this.socket.on('close', () => {
      this.closed = true;
      const sink = this.#sink;
      this.#sink = null;
      if (sink) {
        const line = Buffer.from(`-CLUSTERDOWN ${endpointName(endpoint)} is unavailable: connection closed\r\n`);
        sink.deliver(line, 0, line.length);
      }
      onClose(this);
    });
  }

  get busy(): boolean {
    return this.#sink !== null;
  }

  send(argv: readonly Uint8Array[], sink: Sink, onDone: () => void): void {
    this.#sink = sink;
    this.#onDone = onDone;
    this.socket.write(encode(argv));
  }

  private onData(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    for (;;) {
      const end = replyEnd(this.#buf, 0, this.#buf.length);
      if (end < 0) return;
      const reply = this.#buf;
      this.#buf = reply.subarray(end);
      if (this.#skip > 0) {
        this.#skip--;
        continue;
      }
      const sink = this.#sink;
      const done = this.#onDone;
      this.#sink = null;
      this.#onDone = null;
      sink?.deliver(reply, 0, end);
      done?.();
    }
  }
}

export class BlockingConnections {
  readonly #idle = new Map<string, BlockingConnection[]>();
  #closed = false;

  /** `owner.config` is read at each connect (plain or TLS: proxy/upstream/connect.ts). */
  constructor(private readonly owner: { readonly config: ShoalConfig }) {}

  /**
   * Sends argv on a connection of its own to `endpoint`; the reply goes to sink.
   * Returns a cancel function (the client went away): it closes that connection so
   * the worker forgets the wait.
   */
  send(endpoint: WorkerEndpoint, proto: 2 | 3, argv: readonly Uint8Array[], sink: Sink): () => void {
    const poolKey = `${endpoint.host}:${endpoint.port}/${proto}`;
    const idle = this.#idle.get(poolKey);
    let conn = idle?.pop();
    while (conn !== undefined && conn.closed) conn = idle?.pop();
    conn ??= new BlockingConnection(endpoint, proto, this.owner.config, (c) => this.forget(poolKey, c));
    const c = conn;
    let finished = false;
    c.send(argv, sink, () => {
      finished = true;
      this.release(poolKey, c);
    });
    return () => {
      if (!finished) {
        finished = true;
        c.socket.destroy();
      }
    };
  }

  close(): void {
    this.#closed = true;
    for (const list of this.#idle.values()) for (const c of list) c.socket.destroy();
    this.#idle.clear();
  }

  private release(poolKey: string, c: BlockingConnection): void {
    const list = this.#idle.get(poolKey) ?? [];
    if (this.#closed || c.closed || list.length >= MAX_IDLE) {
      c.socket.destroy();
      return;
    }
    list.push(c);
    this.#idle.set(poolKey, list);
  }

  private forget(poolKey: string, c: BlockingConnection): void {
    const list = this.#idle.get(poolKey);
    if (!list) return;
    const i = list.indexOf(c);
    if (i >= 0) list.splice(i, 1);
  }
}
