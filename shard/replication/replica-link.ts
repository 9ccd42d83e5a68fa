/**
 * ReplicaLink: a replica worker's connection to its group's primary (the replica end
 * of the protocol in docs/replication.md, "Worker protocol and control commands").
 *
 *   connect ─▶ handshake: REPLCONF listening-port, REPLCONF capa shoal, PSYNC <replid> <offset+1>
 *                 │ +FULLRESYNC <replid> <offset>            │ +CONTINUE <replid>
 *                 ▼                                          │
 *              bulk: `$<len>\r\n` + len bytes → repl-recv.sdb │
 *                 ▼                                          │
 *              loading: flush the keyspace, loadSnapshot      │
 *                 ▼                                          ▼
 *              stream: RESP commands applied through WorkerServer.execute by the
 *                      master-link client; REPLCONF ACK <applied> after every chunk
 *                      and every second
 *   close / error / 5 s of silence ─▶ reconnect after 100 ms, doubling to 2 s
 *
 * Offsets: the backlog (./backlog.ts) receives every stream byte as it arrives
 * (slave_read_repl_offset); `applied` counts bytes of whole commands run (the decoder's
 * consumed bytes at command boundaries, never inside a MULTI block): slave_repl_offset,
 * what ACKs report. When the
 * link drops the backlog is cut back to `applied`, so a PSYNC continues at a command
 * boundary and a promoted replica's history holds only commands it ran.
 *
 * Applying: the master-link client is framed (internal commands, keys of several slots)
 * and flagged kMasterLink (no ownership, OOM or write-refusal checks); replies are
 * dropped. The clock commands see is 0 while a chunk applies (as the AOF loader), so
 * nothing expires lazily: the primary's DELs do that.
 *
 * Owner: the worker thread.
 */
import net, { type Socket } from 'node:net';
import tls from 'node:tls';
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { WorkerServer } from '../worker/server.js';
import type { WorkerEndpoint } from '../../shared/cluster/topology.js';
import type { Logger } from '../../shared/log.js';
import type { CommandContext } from '../commands/context.js';
import { RespDecoder } from '../../shared/resp/decoder.js';
import { ReplyWriter } from '../../shared/resp/reply-writer.js';
import { ClientState, kFramed, kMasterLink, kMulti } from '../../shared/connection/client-state.js';
import { discardTransaction } from '../commands/transactions.js';
import { clientTlsOptions } from '../../shared/tls/settings.js';
import { loadSnapshot } from '../persistence/snapshot.js';
import { workerFile } from '../persistence/data-dir.js';
import { ReplicationBacklog } from './backlog.js';

export type LinkState = 'connect' | 'connecting' | 'handshake' | 'sync' | 'loading' | 'connected';

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2000;
const ACK_EVERY_MS = 1000;
/** No byte from the primary for this long (it PINGs every second): the link is dead. */
const SILENCE_MS = 5000;
const LF = 0x0a;

export interface LinkOwner {
  readonly server: WorkerServer;
  /** The backlog, created on the first full resync. */
  backlog: ReplicationBacklog | null;
  log: Logger | null;
}

export class ReplicaLink {
  state: LinkState = 'connect';
  /** Bytes of whole commands applied (slave_repl_offset). */
  applied = 0;
  lastIo = Date.now();
  /** When the link last went down after being up (0 = never up: INFO says -1, as Redis). */
  downSince = 0;
  syncTotal = -1;
  syncRead = 0;
  syncStartedAt = 0;
  #socket: Socket | null = null;
  #stopped = false;
  #retryMs = RETRY_MIN_MS;
  #retryTimer: NodeJS.Timeout | null = null;
  /** Handshake lines still expected before the PSYNC reply. */
  #okLeft = 0;
  #line: Buffer[] = [];
  #lastLine = '';
  #fd = -1;
  #file = '';
  #pending: Buffer[] = [];
  #decoder: RespDecoder | null = null;
  /** Bytes fed to the decoder since the stream began, and the offset it began at. */
  #fed = 0;
  #base = 0;
  #lastAck = -1;
  #lastAckAt = 0;
  #fullReplid = '';
  readonly #ctx: CommandContext;
  errors = 0;

  constructor(readonly owner: LinkOwner, readonly primary: WorkerEndpoint) {
    const client = new ClientState(`${primary.host}:${primary.port}`, 'master-link');
    client.flags |= kFramed | kMasterLink;
    client.name = 'master';
    const server = owner.server;
    this.#ctx = { ks: server.ks, out: new ReplyWriter(), client, server, resume: () => {} };
  }

  get linkStatus(): 'up' | 'down' | 'sync' {
    if (this.state === 'connected') return 'up';
    if (this.state === 'sync' || this.state === 'loading' || this.state === 'handshake') return 'sync';
    return 'down';
  }

  /** Bytes received of the stream (slave_read_repl_offset). */
  get readOffset(): number {
    return this.owner.backlog?.offset ?? 0;
  }

  start(): void {
    this.#stopped = false;
    this.#connect();
  }

  /** CLIENT KILL TYPE master: drops the connection (it reconnects and resyncs); false when there is none. */
  kill(): boolean {
    if (this.#socket === null) return false;
    this.#close('killed by CLIENT KILL');
    return true;
  }

  /** Stops for good (promotion, a new primary, shutdown). */
  stop(): void {
    this.#stopped = true;
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#close('link stopped');
  }

  #connect(): void {
    if (this.#stopped) return;
    const server = this.owner.server;
    const { host, port } = this.primary;
    this.state = 'connecting';
    const config = server.config;
    let socket: Socket;
    try {
      socket = config.tlsCluster === 'yes' ? tls.connect({ ...clientTlsOptions(config), host, port, rejectUnauthorized: true }) : net.connect({ host, port });
    } catch (err) {
      // A bad TLS file: say so and keep retrying (CONFIG SET may fix it).
      this.owner.log?.error({ primary: `${host}:${port}`, err: (err as Error).message }, 'cannot connect to the primary');
      this.state = 'connect';
      this.#socket = null;
      this.#scheduleRetry();
      return;
    }
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.once(socket instanceof tls.TLSSocket ? 'secureConnect' : 'connect', () => this.#handshake());
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => {
      if (this.state === 'connecting') this.owner.log?.debug({ primary: `${host}:${port}`, err: err.message }, 'cannot reach the primary');
      else this.owner.log?.warn({ primary: `${host}:${port}`, err: err.message }, 'link to the primary failed');
    });
    socket.on('close', () => {
      if (this.#socket === socket) this.#close('connection closed');
    });
  }

  #handshake(): void {
    const socket = this.#socket;
    if (socket === null) return;
    this.state = 'handshake';
    this.lastIo = Date.now();
    const b = this.owner.backlog;
    const replid = b === null ? '?' : b.replid;
    const from = b === null ? -1 : b.offset + 1;
    this.#okLeft = 2;
    this.#line = [];
    socket.write(resp(['REPLCONF', 'listening-port', String(this.owner.server.self.port)]) + resp(['REPLCONF', 'capa', 'shoal']) + resp(['PSYNC', replid, String(from)]));
    this.owner.log?.info({ primary: `${this.primary.host}:${this.primary.port}`, replid, offset: from }, 'connected to the primary; asking for PSYNC');
  }

  #close(why: string): void {
    const socket = this.#socket;
    this.#socket = null;
    if (socket !== null && !socket.destroyed) socket.destroy();
    if (this.#fd !== -1) {
      closeQuietly(this.#fd);
      this.#fd = -1;
      removeQuietly(this.#file);
    }
    const wasUp = this.state === 'connected';
    // Bytes of a command cut in half are not history: continue at the last whole command.
    if (this.#decoder !== null && this.owner.backlog !== null && this.owner.backlog.offset > this.applied) this.owner.backlog.truncateTo(this.applied);
    this.#decoder = null;
    this.#pending = [];
    // A transaction cut by the drop was never run: it starts again with the stream.
    discardTransaction(this.owner.server, this.#ctx.client);
    if (this.state !== 'loading') this.state = 'connect';
    if (wasUp) {
      this.downSince = Date.now();
      this.owner.log?.warn({ primary: `${this.primary.host}:${this.primary.port}`, why, offset: this.applied }, 'link to the primary down');
    }
    this.#scheduleRetry();
  }

  /** Reconnects after 100 ms, doubling to 2 s while it keeps failing. */
  #scheduleRetry(): void {
    if (this.#stopped || this.#retryTimer !== null) return;
    const delay = this.#retryMs;
    this.#retryMs = Math.min(RETRY_MAX_MS, this.#retryMs * 2);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      if (this.state === 'loading') return; // the load's end reconnects
      this.#connect();
    }, delay);
    this.#retryTimer.unref();
  }

  #onData(chunk: Buffer): void {
    this.lastIo = Date.now();
    let p = 0;
    while (p < chunk.length) {
      switch (this.state) {
        case 'handshake':
          p = this.#readHandshake(chunk, p);
          break;
        case 'sync':
          p = this.#readBulk(chunk, p);
          break;
        case 'loading':
          this.#pending.push(chunk.subarray(p));
          return;
        case 'connected':
          this.#applyChunk(p === 0 ? chunk : chunk.subarray(p));
          return;
        default:
          return;
      }
      if (this.#socket === null) return;
    }
  }

  /** One reply line at a time: +OK +OK, then +FULLRESYNC / +CONTINUE / -ERR. */
  #readHandshake(chunk: Buffer, p: number): number {
    const nl = this.#takeLine(chunk, p);
    if (nl === -1) return chunk.length;
    const line = this.#lastLine;
    if (line === '') return nl + 1; // keepalive newline
    if (this.#okLeft > 0) {
      this.#okLeft--;
      if (line[0] === '-') this.owner.log?.warn({ reply: line }, 'primary refused a REPLCONF');
      return nl + 1;
    }
    const b = this.owner.backlog;
    if (line.startsWith('+FULLRESYNC ')) {
      const [, replid, off] = line.split(' ');
      this.#fullReplid = replid ?? '';
      this.#base = Number(off);
      this.state = 'sync';
      this.syncTotal = -1;
      this.syncRead = 0;
      this.syncStartedAt = performance.now();
      this.owner.log?.info({ replid, offset: this.#base }, 'full resync from the primary: receiving its snapshot');
      return nl + 1;
    }
    if (line.startsWith('+CONTINUE')) {
      const replid = line.split(' ')[1];
      if (b === null) return this.#fail('+CONTINUE without a backlog');
      if (replid !== undefined && replid !== b.replid) {
        // The primary moved to a new history (it was promoted): ours stays valid up to here.
        b.replid2 = b.replid;
        b.secondOffset = b.offset + 1;
        b.replid = replid;
      }
      this.#streamFrom(b.offset);
      this.#sendAck(true); // in sync again at once (strong writes count this replica)
      this.owner.log?.info({ replid: b.replid, offset: b.offset }, 'partial resync: continuing the stream');
      return nl + 1;
    }
    this.owner.log?.warn({ reply: line }, 'primary refused PSYNC; retrying');
    return this.#fail(line);
  }

  /**
   * Collects one line (replies before the stream arrive a line at a time, possibly split
   * across chunks): the index of its LF with the line (CR dropped) in #lastLine, or -1
   * when the chunk ended first (the part is kept for the next chunk).
   */
  #takeLine(chunk: Buffer, p: number): number {
    const nl = chunk.indexOf(LF, p);
    if (nl === -1) {
      this.#line.push(chunk.subarray(p));
      return -1;
    }
    this.#line.push(chunk.subarray(p, nl));
    this.#lastLine = Buffer.concat(this.#line).toString('latin1').replace(/\r$/, '');
    this.#line = [];
    return nl;
  }

  #fail(why: string): number {
    this.#close(why);
    return Number.MAX_SAFE_INTEGER;
  }

  /** `$<len>\r\n` then len bytes into repl-recv.sdb. */
  #readBulk(chunk: Buffer, p: number): number {
    if (this.syncTotal < 0) {
      const nl = this.#takeLine(chunk, p);
      if (nl === -1) return chunk.length;
      const line = this.#lastLine;
      if (line === '') return nl + 1;
      if (line[0] !== '$') return this.#fail(`bad bulk header from the primary: ${line.slice(0, 40)}`);
      this.syncTotal = Number(line.slice(1));
      this.#file = workerFile(this.owner.server.config, this.owner.server.self, 'repl-recv.sdb');
      this.#fd = openSync(this.#file, 'w');
      p = nl + 1;
      if (this.syncTotal === 0) return this.#bulkDone(chunk, p);
    }
    const take = Math.min(chunk.length - p, this.syncTotal - this.syncRead);
    let off = 0;
    while (off < take) off += writeSync(this.#fd, chunk, p + off, take - off);
    this.syncRead += take;
    p += take;
    if (this.syncRead === this.syncTotal) return this.#bulkDone(chunk, p);
    return p;
  }

  #bulkDone(chunk: Buffer, p: number): number {
    closeQuietly(this.#fd);
    this.#fd = -1;
    this.state = 'loading';
    if (p < chunk.length) this.#pending.push(chunk.subarray(p));
    void this.#load();
    return chunk.length;
  }

  /** The snapshot replaces the whole keyspace, then the queued stream applies. */
  async #load(): Promise<void> {
    const server = this.owner.server;
    const file = this.#file;
    const t0 = performance.now();
    server.snapshots.running?.abort(new Error('snapshot aborted by a full resync from the primary'));
    server.ks.flush();
    let keys = 0;
    try {
      keys = (await loadSnapshot(server, file, undefined, { keepExpired: true })).keys;
    } catch (err) {
      this.owner.log?.error({ err: (err as Error).message, file }, 'cannot load the snapshot from the primary; resyncing');
      server.ks.flush();
      this.owner.backlog = null;
      this.state = 'connect';
      removeQuietly(file);
      this.#close('snapshot load failed');
      if (this.#socket === null && this.#retryTimer === null && !this.#stopped) this.#connect();
      return;
    }
    removeQuietly(file);
    const size = server.config.replBacklogSize;
    if (this.owner.backlog === null) this.owner.backlog = new ReplicationBacklog(size, this.#fullReplid, this.#base);
    else this.owner.backlog.reset(this.#fullReplid, this.#base);
    if (server.aof.state !== 'off') server.aof.bgrewrite(); // the log restarts from the new data, as Redis after a sync
    const ms = Math.round(performance.now() - this.syncStartedAt);
    this.owner.log?.info({ keys, bytes: this.syncTotal, loadMs: Math.round(performance.now() - t0), totalMs: ms, offset: this.#base }, 'full resync done: snapshot loaded');
    if (this.#socket === null) {
      // The link dropped while loading: PSYNC continues from the snapshot's offset.
      this.applied = this.#base;
      this.state = 'connect';
      if (!this.#stopped && this.#retryTimer === null) this.#connect();
      return;
    }
    const pending = this.#pending;
    this.#pending = [];
    this.#streamFrom(this.#base);
    for (const c of pending) this.#applyChunk(c);
    this.#sendAck(true);
  }

  #streamFrom(offset: number): void {
    this.state = 'connected';
    this.#retryMs = RETRY_MIN_MS;
    this.#base = offset;
    this.applied = offset;
    this.#fed = 0;
    this.#decoder = new RespDecoder({ maxBulkLen: Math.max(this.owner.server.config.protoMaxBulkLen, 512 * 1024 * 1024), maxMultibulkLen: 1 << 30 });
    this.#lastAck = -1;
  }

  /** Runs every whole command in the chunk, then acknowledges. */
  #applyChunk(chunk: Buffer): void {
    const backlog = this.owner.backlog!;
    const decoder = this.#decoder!;
    backlog.append(chunk);
    decoder.feed(chunk);
    this.#fed += chunk.length;
    const server = this.owner.server;
    const ctx = this.#ctx;
    const ks = server.ks;
    ks.now = 0;
    try {
      let argv: Buffer[] | null;
      while ((argv = decoder.next()) !== null) {
        const at = ctx.out.pos;
        server.execute(ctx, argv);
        if (ctx.out.pos > at && ctx.out.buf[at] === 0x2d) {
          this.errors++;
          if (this.errors <= 5) this.owner.log?.warn({ command: argv[0]!.toString('latin1'), reply: ctx.out.buf.toString('latin1', at + 1, Math.min(ctx.out.pos - 2, at + 200)) }, 'a replicated command replied an error');
        }
        // Inside a MULTI block nothing is applied until its EXEC (as Redis's reploff).
        if (!(ctx.client.flags & kMulti)) this.applied = this.#base + this.#fed - decoder.buffered;
        if (ctx.out.pos > 1 << 16) ctx.out.reset();
      }
    } catch (err) {
      this.owner.log?.error({ err: (err as Error).message }, 'bad replication stream; resyncing');
      this.#close('protocol error');
      return;
    } finally {
      ks.setNow(Date.now());
      ctx.out.reset();
    }
    this.#sendAck(false);
  }

  /** REPLCONF ACK <applied>: after each chunk (strong writes wait for it) and every second. */
  #sendAck(force: boolean): void {
    const socket = this.#socket;
    if (socket === null || this.state !== 'connected') return;
    if (!force && this.applied === this.#lastAck) return;
    this.#lastAck = this.applied;
    this.#lastAckAt = Date.now();
    socket.write(resp(['REPLCONF', 'ACK', String(this.applied)]));
  }

  /** REPLCONF GETACK from the primary. */
  ackNow(): void {
    queueMicrotask(() => this.#sendAck(true));
  }

  /** Worker tick: the periodic ACK and the silence check. */
  tick(now: number): void {
    if (this.state === 'connected' && now - this.#lastAckAt >= ACK_EVERY_MS) this.#sendAck(true);
    if ((this.state === 'connected' || this.state === 'handshake' || this.state === 'sync') && now - this.lastIo > SILENCE_MS) {
      this.owner.log?.warn({ primary: `${this.primary.host}:${this.primary.port}`, silentMs: now - this.lastIo }, 'no data from the primary; reconnecting');
      this.#close('timeout');
    }
  }
}

function resp(args: string[]): string {
  let s = `*${args.length}\r\n`;
  for (const a of args) s += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
  return s;
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // closed
  }
}

function removeQuietly(file: string): void {
  if (file === '') return;
  try {
    unlinkSync(file);
  } catch {
    // gone
  }
}
