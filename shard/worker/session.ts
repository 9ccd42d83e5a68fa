/**
 * One TCP connection to a worker: either a direct RESP client (cluster-aware client,
 * redis-cli, redis-benchmark) or a framed link from a proxy, told apart by the first
 * byte (shared/frame/codec.ts). Commands of one socket read run as one batch and
 * their replies leave in one write.
 */
import type { Socket } from 'node:net';
import { RespDecoder } from '../../shared/resp/decoder.js';
import { ReplyWriter } from '../../shared/resp/reply-writer.js';
import { ProtocolError } from '../../shared/errors.js';
import { WireErrors } from '../../shared/resp/wire-errors.js';
import { ClientState, kBlocked, kClosing, kFramed, kConsStrong } from '../../shared/connection/client-state.js';
import { FrameReader, FrameKind, FLAG_RESP3, FLAG_STRONG, FLAG_OFFSET, OFFSET_BYTES, FRAME_MAGIC, FRAME_HEADER, writeFrameHeader, writeOffset } from '../../shared/frame/codec.js';
import type { CommandContext } from '../commands/context.js';
import type { WorkerServer } from './server.js';
import type { Logger } from '../../shared/log.js';
import { forgetClient } from '../commands/transactions.js';
import { registerSubscriber, markHubLink } from '../commands/pubsub.js';
import { PUBSUB_LINK_MAGIC } from '../../shared/pubsub/replies.js';

const EMPTY = Buffer.alloc(0);

export class WorkerSession {
  readonly #socket: Socket;
  readonly #server: WorkerServer;
  readonly #decoder: RespDecoder;
  readonly #ctx: CommandContext;
  readonly #log: Logger;
  #frames: FrameReader | null = null;
  #first = true;
  #pushFlush = false;
  /** Replies waiting for the append-only log (appendfsync always) or for replicas (strong). */
  #held = 0;
  /** Of those, replies waiting for the in-sync replicas (shard/replication/primary.ts hold). */
  #replHeld = 0;
  /** Strong consistency: the replication offset the replies built so far wait for (0 = none). */
  #strongTo = 0;

  constructor(server: WorkerServer, socket: Socket, log: Logger) {
    this.#socket = socket;
    this.#server = server;
    this.#log = log;
    const client = new ClientState(`${socket.remoteAddress}:${socket.remotePort}`, `${socket.localAddress}:${socket.localPort}`);
    this.#decoder = new RespDecoder({ maxBulkLen: server.config.protoMaxBulkLen });
    this.#ctx = { ks: server.ks, out: new ReplyWriter(), client, server, resume: () => this.resume() };
    server.sessions.set(socket, client);
    const subscriber = registerSubscriber(client, (bytes) => this.push(bytes));
    server.stats.connections++;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      server.sessions.delete(socket);
      server.blocking.cancel(client);
      forgetClient(server, client);
      server.pubsub.drop(subscriber);
    });
  }

  private onData(chunk: Buffer): void {
    const server = this.#server;
    server.stats.netIn += chunk.length;
    server.ks.setNow(Date.now());
    this.#decoder.limits.maxBulkLen = server.config.protoMaxBulkLen;
    if (this.#first) {
      this.#first = false;
      if (chunk[0] === FRAME_MAGIC) {
        this.#frames = new FrameReader();
        this.#ctx.client.flags |= kFramed;
        this.#log.debug({ peer: this.#ctx.client.addr }, 'proxy link connected');
      } else if (chunk[0] === PUBSUB_LINK_MAGIC) {
        markHubLink(this.#ctx.client);
        this.#log.debug({ peer: this.#ctx.client.addr }, 'proxy pub/sub link connected');
        chunk = chunk.subarray(1);
      }
    }
    try {
      if (this.#frames) this.runFrames(chunk);
      else this.runResp(chunk);
    } catch (err) {
      if (err instanceof ProtocolError) {
        this.#ctx.out.error(WireErrors.protocol(err.message));
        this.#ctx.client.flags |= kClosing;
      } else {
        this.#log.error({ err }, 'connection failed; closing it');
        this.#ctx.out.reset();
        this.#socket.destroy();
        return;
      }
    }
    this.flush();
  }

  /** Runs every complete command buffered, unless (or until) one blocks the connection. */
  private runResp(chunk: Buffer): void {
    const decoder = this.#decoder;
    const ctx = this.#ctx;
    decoder.feed(chunk);
    let argv: Buffer[] | null;
    const repl = this.#server.replication;
    const before = repl.offset;
    while (!(ctx.client.flags & (kBlocked | kClosing)) && (argv = decoder.next()) !== null) {
      this.#server.execute(ctx, argv);
    }
    // CONSISTENCY strong on a direct client: its writes' replies wait for the replicas.
    if (ctx.client.flags & kConsStrong && repl.offset > before) this.#strongTo = repl.offset;
    ctx.client.lastInteraction = this.#server.ks.now;
  }

  /** The blocked command replied (served or timed out): send it, then run what arrived meanwhile. */
  private resume(): void {
    if (this.#socket.destroyed) return;
    // Deferred: the reply may have been written while another connection's command runs.
    queueMicrotask(() => {
      if (this.#socket.destroyed || this.#ctx.client.flags & kBlocked) return;
      try {
        this.runResp(EMPTY);
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        this.#ctx.out.error(WireErrors.protocol(err.message));
        this.#ctx.client.flags |= kClosing;
      }
      this.flush();
    });
  }

  /** Each BATCH frame's commands run in order; their replies go back as one REPLIES frame. */
  private runFrames(chunk: Buffer): void {
    const frames = this.#frames!;
    const ctx = this.#ctx;
    const out = ctx.out;
    frames.feed(chunk);
    let f;
    while ((f = frames.next()) !== null) {
      if (f.kind !== FrameKind.BATCH) continue; // CONTROL messages come with the manager work
      const proto = f.flags & FLAG_RESP3 ? 3 : 2;
      out.proto = proto;
      ctx.client.proto = proto;
      // FLAG_OFFSET: the payload starts with the replication offset after the batch.
      const withOffset = f.flags & FLAG_OFFSET ? OFFSET_BYTES : 0;
      out.ensure(FRAME_HEADER + withOffset);
      const headerAt = out.pos;
      out.pos += FRAME_HEADER + withOffset;
      this.#decoder.feed(f.payload);
      for (let i = 0; i < f.count; i++) {
        const argv = this.#decoder.next();
        if (argv === null) throw new ProtocolError(`Protocol error: batch frame holds fewer than ${f.count} commands`);
        this.#server.execute(ctx, argv);
      }
      const repl = this.#server.replication;
      if (withOffset !== 0) writeOffset(out.buf, headerAt + FRAME_HEADER, repl.servingOffset);
      // FLAG_STRONG: the REPLIES frame waits until the in-sync replicas have the batch.
      if (f.flags & FLAG_STRONG && repl.role === 'primary') this.#strongTo = repl.offset;
      writeFrameHeader(out.buf, headerAt, FrameKind.REPLIES, withOffset !== 0 ? FLAG_OFFSET : 0, f.count, out.pos - headerAt - FRAME_HEADER);
    }
  }

  /** A pub/sub message for this connection: after the replies already built, sent this turn. */
  private push(bytes: Buffer): void {
    if (this.#socket.destroyed) return;
    this.#ctx.out.raw(bytes);
    if (!this.#pushFlush) {
      this.#pushFlush = true;
      queueMicrotask(() => {
        this.#pushFlush = false;
        this.flush();
      });
    }
  }

  private flush(): void {
    const out = this.#ctx.out;
    if (out.length > 0) {
      const bytes = out.take();
      this.#server.stats.netOut += bytes.length;
      // appendfsync always: replies wait until the turn's log bytes are durable
      // (shard/persistence/aof.ts group commit); later replies queue behind held ones.
      const aof = this.#server.aof;
      const strongTo = this.#strongTo;
      this.#strongTo = 0;
      if ((aof.holding !== 0 || this.#held !== 0) && aof.hold(() => this.release(bytes, strongTo), this.#held !== 0)) this.#held++;
      else if (!this.holdForReplicas(bytes, strongTo)) this.#socket.write(bytes);
    }
    if (this.#ctx.client.flags & kClosing && this.#held === 0) this.#socket.end();
  }

  /** A held reply's log bytes are durable: send it (or hold it for the replicas). */
  private release(bytes: Buffer, strongTo = 0): void {
    this.#held--;
    if (this.#socket.destroyed) return;
    if (this.holdForReplicas(bytes, strongTo)) return;
    this.#socket.write(bytes);
    if (this.#held === 0 && this.#ctx.client.flags & kClosing) this.#socket.end();
  }

  /**
   * Strong consistency (FLAG_STRONG, CONSISTENCY strong): holds the reply until every
   * in-sync replica acknowledged `strongTo`; a reply behind a held one waits too (order).
   * True when held. If the worker is demoted meanwhile the held writes may be lost, so
   * the connection closes instead of acknowledging them.
   */
  private holdForReplicas(bytes: Buffer, strongTo: number): boolean {
    if (strongTo === 0 && this.#replHeld === 0) return false;
    const repl = this.#server.replication;
    const held = repl.primary.hold(strongTo !== 0 ? strongTo : repl.offset, () => {
      // Released in FIFO order: straight to the socket.
      this.#replHeld--;
      this.#held--;
      if (this.#socket.destroyed) return;
      this.#socket.write(bytes);
      if (this.#held === 0 && this.#ctx.client.flags & kClosing) this.#socket.end();
    }, () => this.#socket.destroy(), this.#replHeld !== 0);
    if (!held) return false;
    this.#replHeld++;
    this.#held++;
    return true;
  }
}
