/**
 * ProxyClient: one client socket on the proxy. Decodes its commands, hands each to
 * the router, and writes replies back in pipeline order: every command gets a
 * ReplySlot at the tail of the client's queue; a slot at the head writes straight
 * into the output buffer, later slots keep their bytes until the head is done.
 * Output leaves in one write per batch of replies.
 */
import type { Socket } from 'node:net';
import { RespDecoder } from '../shared/resp/decoder.js';
import { ReplyWriter } from '../shared/resp/reply-writer.js';
import { ProtocolError } from '../shared/errors.js';
import { WireErrors } from '../shared/resp/wire-errors.js';
import { ClientState, kClosing } from '../shared/connection/client-state.js';
import type { Sink } from './upstream/link.js';
import type { ProxyServer } from './proxy-server.js';
import type { ClientTransaction } from './transactions.js';

/** Pause reading from a client with this many replies outstanding (pipelining backpressure). */
const MAX_OUTSTANDING = 16384;

export class ReplySlot implements Sink {
  data: Buffer | null = null;
  done = false;
  constructor(readonly client: ProxyClient) {}
  deliver(buf: Buffer, start: number, end: number): void {
    this.client.complete(this, buf, start, end);
  }
}

export class ProxyClient {
  readonly state: ClientState;
  readonly out = new ReplyWriter();
  readonly socket: Socket;
  /** MULTI queue and WATCHed keys (proxy/transactions.ts); null until the first MULTI or WATCH. */
  tx: ClientTransaction | null = null;
  readonly #server: ProxyServer;
  readonly #decoder: RespDecoder;
  #queue: ReplySlot[] = [];
  #head = 0;
  #dirty = false;
  #paused = false;
  #closed = false;
  /**
   * Set while a command that must finish before the client's next one runs is in
   * flight (a blocking BLPOP ..., or a multi-step command such as a gathered SUNIONSTORE
   * or a RENAME across workers): the client's later commands wait for it, as Redis
   * runs a pipeline in order. Calling it cancels the command (the client went away).
   */
  #holdCancel: (() => void) | null = null;
  #blocking = false;

  constructor(server: ProxyServer, socket: Socket) {
    this.#server = server;
    this.socket = socket;
    this.state = new ClientState(`${socket.remoteAddress}:${socket.remotePort}`, `${socket.localAddress}:${socket.localPort}`);
    this.#decoder = new RespDecoder({ maxBulkLen: server.config.protoMaxBulkLen });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.#closed = true;
      this.#holdCancel?.();
      server.clientClosed(this);
    });
  }

  /** Waiting for a blocking command's reply (INFO blocked_clients). */
  get isBlocked(): boolean {
    return this.#blocking;
  }

  get outstanding(): number {
    return this.#queue.length - this.#head;
  }

  /** A new slot at the tail of the reply queue. */
  slot(): ReplySlot {
    const s = new ReplySlot(this);
    this.#queue.push(s);
    return s;
  }

  /** A reply computed by the proxy itself, in order. */
  replyLocal(bytes: Buffer): void {
    if (this.#head === this.#queue.length) {
      this.out.raw(bytes);
      this.markDirty();
    } else {
      const s = this.slot();
      s.data = bytes;
      s.done = true;
    }
  }

  complete(slot: ReplySlot, buf: Buffer, start: number, end: number): void {
    if (this.#closed) return;
    if (this.#queue[this.#head] === slot) {
      this.out.rawFrom(buf, start, end);
      this.#head++;
      this.drain();
      this.markDirty();
    } else {
      slot.data = Buffer.from(buf.subarray(start, end));
      slot.done = true;
    }
  }

  private drain(): void {
    const q = this.#queue;
    while (this.#head < q.length && q[this.#head]!.done) {
      this.out.raw(q[this.#head]!.data!);
      this.#head++;
    }
    if (this.#head === q.length) {
      q.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024) {
      this.#queue = q.slice(this.#head);
      this.#head = 0;
    }
    if (this.#paused && this.outstanding < MAX_OUTSTANDING / 2) {
      this.#paused = false;
      this.socket.resume();
    }
  }

  markDirty(): void {
    if (!this.#dirty) {
      this.#dirty = true;
      this.#server.clientDirty(this);
    }
  }

  /** Writes buffered output (called once per turn by the server). */
  flush(): void {
    this.#dirty = false;
    if (this.#closed) return;
    if (this.out.length > 0) this.socket.write(this.out.take());
    if (this.state.flags & kClosing && this.outstanding === 0) this.socket.end();
  }

  /** Commands after the current one wait until release(); `blocking` marks a blocking command (BLPOP ...). */
  hold(cancel: () => void, blocking = false): void {
    this.#holdCancel = cancel;
    this.#blocking = blocking;
  }

  /** The held command replied: run what the client sent meanwhile. */
  release(): void {
    this.#holdCancel = null;
    this.#blocking = false;
    if (!this.#closed) this.runBuffered();
  }

  private onData(chunk: Buffer): void {
    this.#decoder.limits.maxBulkLen = this.#server.config.protoMaxBulkLen;
    this.#decoder.feed(chunk);
    this.state.lastInteraction = Date.now();
    this.runBuffered();
  }

  private runBuffered(): void {
    const server = this.#server;
    try {
      let argv: Buffer[] | null;
      while (this.#holdCancel === null && (argv = this.#decoder.next()) !== null) {
        server.dispatch(this, argv);
        if (this.state.flags & kClosing) {
          this.socket.pause();
          break;
        }
      }
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      const w = new ReplyWriter();
      w.error(WireErrors.protocol(err.message));
      this.replyLocal(w.take());
      this.state.flags |= kClosing;
      this.socket.pause();
    }
    if (!this.#paused && this.outstanding > MAX_OUTSTANDING) {
      this.#paused = true;
      this.socket.pause();
    }
  }
}
