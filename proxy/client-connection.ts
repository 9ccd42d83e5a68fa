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
import { ClientState, kClosing, kReplyMute, kReplySkip, kReplySkipNext } from '../shared/connection/client-state.js';
import type { Sink, DrainWaiter } from './upstream/link.js';
import { OutputClass, type LimitedClient } from './client-limits.js';
import type { ProxyServer } from './proxy-server.js';
import type { ClientTransaction } from './transactions.js';
import type { ClientPubSub } from './pubsub/commands.js';
import type { ClientReplication } from './consistency.js';

/** What a muted slot (CLIENT REPLY OFF/SKIP) holds instead of its reply. */
const MUTED = Buffer.alloc(0);

/**
 * Pipelining backpressure: reading from a client pauses with more replies outstanding
 * than its window, and resumes below half of it. The window starts at MIN and doubles
 * up to MAX each time the client had taken all its output when it resumes, and falls
 * back to MIN when it had not: a client that reads keeps a deep pipeline, one that does
 * not has at most a few thousand replies in flight when it is paused for output.
 */
const MIN_OUTSTANDING = 1024;
const MAX_OUTSTANDING = 16384;
/**
 * Pause reading from a client once the proxy holds this many output bytes for it (it
 * does not read its replies), until its socket drains below half. With the reply bound
 * above, a client that pipelines without ever reading costs at most this plus its
 * outstanding replies, and its own sends block in the kernel (docs/resilience.md).
 */
const OUTPUT_PAUSE_BYTES = 1024 * 1024;

/** Output written at once, before the end of the turn, when this much is gathered. */
const EAGER_FLUSH_BYTES = 256 * 1024;

/** Why a client's socket is paused (ProxyClient #pause bits); reading resumes when none is left. */
const PAUSE_REPLIES = 1 << 0;  // more replies outstanding than the window
const PAUSE_OUTPUT = 1 << 1;   // OUTPUT_PAUSE_BYTES held for it
const PAUSE_UPSTREAM = 1 << 2; // a worker link it fed is saturated (proxy/upstream/link.ts)

export class ReplySlot implements Sink {
  data: Buffer | null = null;
  done = false;
  /** The command this slot answers, for metrics and SLOWLOG (proxy/metrics.ts); cmd -1: none. */
  cmd = -1;
  t0 = 0;
  argv: Buffer[] | null = null;
  /** Its command ran under CLIENT REPLY OFF/SKIP: the reply is dropped, in order. */
  muted = false;
  constructor(readonly client: ProxyClient) {}
  deliver(buf: Buffer, start: number, end: number): void {
    this.client.complete(this, buf, start, end);
  }
}

export class ProxyClient implements LimitedClient, DrainWaiter {
  readonly state: ClientState;
  readonly out = new ReplyWriter();
  readonly socket: Socket;
  /** MULTI queue and WATCHed keys (proxy/transactions.ts); null until the first MULTI or WATCH. */
  tx: ClientTransaction | null = null;
  /** Channels, patterns and shard channels it subscribed (proxy/pubsub/commands.ts); null until the first. */
  pubsub: ClientPubSub | null = null;
  /** CONSISTENCY level, session offsets, groups written since WAIT (proxy/consistency.ts); null until needed. */
  repl: ClientReplication | null = null;
  readonly #server: ProxyServer;
  readonly #decoder: RespDecoder;
  #queue: ReplySlot[] = [];
  #head = 0;
  #dirty = false;
  #pause = 0;
  /** Pipelining window (MIN_OUTSTANDING .. MAX_OUTSTANDING): see MAX_OUTSTANDING. */
  #window = MIN_OUTSTANDING;
  #closed = false;
  /** Bytes of replies done but queued behind an earlier one (slot.data). */
  #queuedBytes = 0;
  /** Refused at connect (maxclients): never served, never counted. */
  readonly rejected: boolean;
  /** client-output-buffer-limit class and soft-limit clock (proxy/client-limits.ts). */
  outputClass: OutputClass = OutputClass.normal;
  softLimitSince = 0;
  /**
   * Set while a command that must finish before the client's next one runs is in
   * flight (a blocking BLPOP ..., or a multi-step command such as a gathered SUNIONSTORE
   * or a RENAME across workers): the client's later commands wait for it, as Redis
   * runs a pipeline in order. Calling it cancels the command (the client went away).
   */
  #holdCancel: (() => void) | null = null;
  #blocking = false;
  /**
   * Metrics (proxy/metrics.ts): when the current read's commands were handed to the
   * decoder, and the command being dispatched (index, start, argv) until its reply slot
   * or local reply takes it over (cmd -1: none pending).
   */
  readAt = 0;
  cmd = -1;
  cmdT0 = 0;
  cmdArgv: Buffer[] | null = null;

  constructor(server: ProxyServer, socket: Socket) {
    this.#server = server;
    this.socket = socket;
    this.state = new ClientState(`${socket.remoteAddress}:${socket.remotePort}`, `${socket.localAddress}:${socket.localPort}`, server.group.clientIdBase);
    this.#decoder = new RespDecoder({ maxBulkLen: server.config.protoMaxBulkLen });
    this.rejected = !server.limits.admit(socket, server.clientCount);
    if (this.rejected) {
      this.#closed = true;
      return;
    }
    server.limits.track(this);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onSocketDrain());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.#closed = true;
      this.#holdCancel?.();
      server.limits.untrack(this);
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
    if (this.state.flags & kReplyMute) s.muted = true;
    s.cmd = this.cmd;
    s.t0 = this.cmdT0;
    s.argv = this.cmdArgv;
    this.cmd = -1;
    this.#queue.push(s);
    return s;
  }

  /** A reply computed by the proxy itself, in order. */
  replyLocal(bytes: Buffer): void {
    if (this.cmd >= 0) {
      this.#server.metrics.done(this, this.cmd, this.cmdT0, this.cmdArgv, bytes[0]);
      this.cmd = -1;
    }
    if (this.state.flags & kReplyMute) return;
    if (this.#head === this.#queue.length) {
      this.out.raw(bytes);
      this.markDirty();
    } else {
      const s = this.slot();
      s.data = bytes;
      s.done = true;
      this.#queuedBytes += bytes.length;
    }
  }

  /**
   * A pub/sub message, after the replies still owed (a subscription's acknowledgement
   * precedes the channel's messages) — but before `before`, the reply of the client's
   * own PUBLISH still in flight, which Redis sends after the message.
   */
  push(bytes: Buffer, before: ReplySlot | null = null): void {
    if (this.#closed) return;
    if (this.#head === this.#queue.length) {
      this.out.raw(bytes);
      this.markDirty();
    } else {
      const s = new ReplySlot(this);
      s.data = bytes;
      s.done = true;
      const at = before === null ? -1 : this.#queue.lastIndexOf(before);
      if (at >= this.#head) this.#queue.splice(at, 0, s);
      else this.#queue.push(s);
      this.#queuedBytes += bytes.length;
    }
  }

  complete(slot: ReplySlot, buf: Buffer, start: number, end: number): void {
    if (slot.cmd >= 0) this.#server.metrics.done(this, slot.cmd, slot.t0, slot.argv, buf[start]);
    if (this.#closed) return;
    if (this.#queue[this.#head] === slot) {
      if (!slot.muted) this.out.rawFrom(buf, start, end);
      this.#head++;
      this.drain();
      // A frame of many big replies is written as it goes, not gathered in one buffer.
      if (this.out.length >= EAGER_FLUSH_BYTES) this.flush();
      else this.markDirty();
    } else {
      slot.data = slot.muted ? MUTED : Buffer.from(buf.subarray(start, end));
      slot.done = true;
      this.#queuedBytes += slot.data.length;
    }
  }

  private drain(): void {
    const q = this.#queue;
    while (this.#head < q.length && q[this.#head]!.done) {
      const data = q[this.#head]!.data!;
      this.out.raw(data);
      this.#queuedBytes -= data.length;
      this.#head++;
    }
    if (this.#head === q.length) {
      q.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024) {
      this.#queue = q.slice(this.#head);
      this.#head = 0;
    }
    if (this.#pause & PAUSE_REPLIES && this.outstanding < this.#window / 2) {
      this.#window = this.socket.writableLength === 0 ? Math.min(this.#window * 2, MAX_OUTSTANDING) : MIN_OUTSTANDING;
      this.resumeReading(PAUSE_REPLIES);
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
    if (this.out.length > 0) {
      this.#server.metrics.netOut += this.out.length;
      this.socket.write(this.out.take());
    }
    const held = this.socket.writableLength + this.#queuedBytes;
    if (held > 0 || this.#pause & PAUSE_OUTPUT) this.checkOutput(held);
    if (this.state.flags & kClosing && this.outstanding === 0) this.socket.end();
  }

  /** Commands after the current one wait until release(); `blocking` marks a blocking command (BLPOP ...). */
  hold(cancel: () => void, blocking = false): void {
    this.#holdCancel = cancel;
    this.#blocking = blocking;
  }

  /** CLIENT REPLY SKIP: the command after SKIP is muted, the one after that is not (as Redis). */
  private advanceReplySkip(): void {
    const f = this.state.flags & ~kReplySkip;
    this.state.flags = f & kReplySkipNext ? (f & ~kReplySkipNext) | kReplySkip : f;
  }

  /** A command CLIENT PAUSE held (proxy/client-command.ts) runs now, then what came after it. */
  resume(argv: Buffer[]): void {
    this.#holdCancel = null;
    this.#blocking = false;
    if (this.#closed) return;
    this.readAt = this.#server.metrics.readStart(); // its time starts now, not when the pause held it
    this.#server.dispatch(this, argv);
    this.#server.noTouchNow = false;
    this.#server.batchFlags = 0;
    if (this.state.flags & (kReplySkip | kReplySkipNext)) this.advanceReplySkip();
    if (this.state.flags & kClosing) this.socket.pause();
    else this.runBuffered();
  }

  /** Query buffer bytes not yet parsed into commands (CLIENT LIST qbuf). */
  get queryBuffered(): number {
    return this.#decoder.buffered;
  }

  /** Reply bytes not yet on the wire: built, waiting in order, or in the socket (CLIENT LIST omem). */
  get outputBytes(): number {
    return this.out.length + this.socket.writableLength + this.#queuedBytes;
  }

  /** What client-output-buffer-limit measures (proxy/client-limits.ts). */
  get outputHeld(): number {
    return this.outputBytes;
  }

  get lastInteraction(): number {
    return this.state.lastInteraction;
  }

  /** For log lines: id and address. */
  get describe(): string {
    return `id=${this.state.id} addr=${this.state.addr}`;
  }

  /** Closes the connection at once (a limit was crossed), dropping unsent output. */
  kill(): void {
    this.#closed = true;
    this.socket.destroy();
  }

  /** A saturated worker link this client fed has drained (proxy/upstream/link.ts). */
  upstreamDrained(): void {
    this.resumeReading(PAUSE_UPSTREAM);
  }

  /**
   * After a flush that left `held` bytes with the proxy: output-buffer limits (which
   * may close the client), then pause or resume reading on the held bytes.
   */
  private checkOutput(held: number): void {
    if (held > 0 && this.#server.limits.outputExceeded(this, held)) return;
    if (held >= OUTPUT_PAUSE_BYTES) {
      if (!(this.#pause & PAUSE_OUTPUT)) this.pauseReading(PAUSE_OUTPUT);
    } else if (this.#pause & PAUSE_OUTPUT && held < OUTPUT_PAUSE_BYTES / 2) {
      this.resumeReading(PAUSE_OUTPUT);
    }
  }

  private onSocketDrain(): void {
    if (this.#pause & PAUSE_OUTPUT && this.outputHeld < OUTPUT_PAUSE_BYTES / 2) this.resumeReading(PAUSE_OUTPUT);
  }

  private pauseReading(reason: number): void {
    if (this.#pause === 0) this.socket.pause();
    this.#pause |= reason;
  }

  private resumeReading(reason: number): void {
    if (!(this.#pause & reason)) return;
    this.#pause &= ~reason;
    if (this.#pause === 0 && !this.#closed && !(this.state.flags & kClosing)) this.socket.resume();
  }

  /** The held command replied: run what the client sent meanwhile. */
  release(): void {
    this.#holdCancel = null;
    this.#blocking = false;
    if (!this.#closed) this.runBuffered();
  }

  /** AUTH / HELLO / RESET ran: parse what follows with or without Redis's pre-AUTH request limits. */
  authChanged(): void {
    this.#decoder.authRequired = !this.state.authenticated && this.#server.acl.defaultNeedsAuth;
  }

  private onData(chunk: Buffer): void {
    this.#decoder.limits.maxBulkLen = this.#server.config.protoMaxBulkLen;
    this.authChanged();
    this.#decoder.feed(chunk);
    this.#server.metrics.netIn += chunk.length;
    this.state.lastInteraction = Date.now();
    this.runBuffered();
    if (this.#decoder.buffered > 0) this.#server.limits.queryBufferExceeded(this, this.#decoder.buffered);
  }

  private runBuffered(): void {
    const server = this.#server;
    server.upstreamPressure.link = null;
    this.readAt = server.metrics.readStart();
    try {
      let argv: Buffer[] | null;
      while (this.#holdCancel === null && (argv = this.#decoder.next()) !== null) {
        server.dispatch(this, argv);
        if (this.state.flags & (kReplySkip | kReplySkipNext)) this.advanceReplySkip();
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
    } finally {
      // Sends made after this read (gathered commands' later steps) are not this client's.
      server.noTouchNow = false;
      server.batchFlags = 0;
    }
    if (this.outstanding > this.#window && !(this.#pause & PAUSE_REPLIES)) this.pauseReading(PAUSE_REPLIES);
    const saturated = server.upstreamPressure.take();
    if (saturated !== null) {
      if (!(this.#pause & PAUSE_UPSTREAM)) {
        this.pauseReading(PAUSE_UPSTREAM);
        saturated.waitForDrain(this);
      }
    }
  }
}
