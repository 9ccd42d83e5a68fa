/**
 * PrimarySide: a primary worker's end of replication — the propagation sink that
 * turns the write stream into the replication stream, the replicas attached to this
 * worker (their PSYNC, full or partial resync, REPLCONF ACKs), and the replies held
 * for strong consistency until the in-sync replicas acknowledge them.
 *
 * Stream: every command WriteStream emits is encoded as a RESP array into `#turn`
 * (one reused buffer, no allocation per command) and appended to the backlog at once,
 * so `backlog.offset` (master_repl_offset) is exact after every command. The turn's
 * bytes leave in ONE socket write per online replica, from a setImmediate after the
 * event-loop turn (as Redis writes replica buffers in beforeSleep).
 *
 *   replica state   wait_bgsave ──snapshot starts──▶ (FULLRESYNC sent, stream queued)
 *                        │                               │ snapshot written
 *                        │                               ▼
 *                        │                          send_bulk ($len + file + queue)
 *                        ▼                               ▼
 *   PSYNC partial ─────────────────────────────────▶ online (live stream, ACKs)
 *
 * Full resync: a background snapshot (../persistence/snapshot.ts, copy on write, no
 * pause) to `repl-sync.sdb` in the worker's directory; the master offset when it starts
 * is the FULLRESYNC offset; everything propagated after it queues per replica until
 * the file has been sent. One snapshot at a time (a running BGSAVE or AOF rewrite is
 * waited for); replicas arriving while one runs wait for the next.
 *
 * In sync: a replica that is online and acknowledged within min-replicas-max-lag
 * seconds. A strong hold (`hold`) waits until every in-sync replica acknowledged its
 * target offset; holds are released in FIFO order (targets never decrease).
 *
 * Owner: the worker thread. Nothing here is shared with other threads.
 */
import type { Socket } from 'node:net';
import { createReadStream, existsSync, statSync, unlinkSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { WriteSink } from '../persistence/write-stream.js';
import type { WorkerServer } from '../worker/server.js';
import type { ClientState } from '../../shared/connection/client-state.js';
import type { Logger } from '../../shared/log.js';
import { writeSnapshot } from '../persistence/snapshot.js';
import { workerFile } from '../persistence/data-dir.js';
import type { ReplicationBacklog } from './backlog.js';

export type PeerState = 'wait_bgsave' | 'send_bulk' | 'online';

/** One replica attached to this primary (its socket arrived as a client and sent PSYNC). */
export class ReplicaPeer {
  state: PeerState = 'wait_bgsave';
  /** The first stream byte this replica still needs from the live stream (1-based). */
  streamFrom = 0;
  /** Last REPLCONF ACK offset and when it arrived (ms). */
  ackOffset = 0;
  ackTime = Date.now();
  /**
   * An ACK arrived since the peer went online: until then it is still loading the
   * snapshot and is not in sync (strong writes do not wait for a replica that cannot
   * answer for seconds).
   */
  acked = false;
  /** Stream bytes waiting while the snapshot is written and sent, and their size. */
  queue: Buffer[] = [];
  queued = 0;
  /** Part of the current full-sync snapshot (FULLRESYNC sent). */
  inRun = false;
  readonly since = Date.now();
  constructor(readonly client: ClientState, readonly socket: Socket, readonly ip: string, readonly port: number) {}
}

/** A reply held until the in-sync replicas have `target`. */
interface Hold {
  target: number;
  release: () => void;
  fail: () => void;
}

/** A WAIT of a direct client. */
interface Waiter {
  target: number;
  need: number;
  deadline: number;
  done: (acked: number) => void;
}

const CRLF0 = 0x0d;
const CRLF1 = 0x0a;
const TURN_INITIAL = 64 * 1024;
/** A turn buffer grown past this by one huge turn is not kept for the next. */
const TURN_RETAIN_MAX = 1024 * 1024;
/** A replica waiting for its snapshot gets a newline this often (Redis does the same), so neither side times out. */
const KEEPALIVE_MS = 1000;
const PING_ARGV = [Buffer.from('PING')];
/**
 * A replica whose unsent stream passes this is dropped (it resyncs when it comes back),
 * as Redis's client-output-buffer-limit for replicas (256mb hard limit): a stopped
 * replica must not make the primary buffer writes without bound.
 */
const PEER_BUFFER_LIMIT = 256 * 1024 * 1024;

export class PrimarySide implements WriteSink {
  readonly peers: ReplicaPeer[] = [];
  /** REPLCONF listening-port before PSYNC, by client. */
  readonly announced = new WeakMap<ClientState, number>();
  #turn = Buffer.allocUnsafe(TURN_INITIAL);
  #turnLen = 0;
  /** Backlog offset before the turn's first byte. */
  #turnStart = 0;
  #scheduled = false;
  #holds: Hold[] = [];
  #waiters: Waiter[] = [];
  /** The full-sync snapshot being written (or sent), null otherwise. */
  #syncRun: { offset: number; file: string; startedAt: number } | null = null;
  #lastKeepalive = 0;
  #lastWrite = 0;
  stats = { syncFull: 0, syncPartialOk: 0, syncPartialErr: 0 };

  constructor(readonly server: WorkerServer, readonly backlog: () => ReplicationBacklog, readonly log: () => Logger | null) {}

  // --- the stream --------------------------------------------------------------------

  /** WriteSink: one propagated command. */
  command(argv: ReadonlyArray<Uint8Array>): void {
    let need = 16;
    for (const a of argv) need += a.length + 16;
    if (this.#turnLen + need > this.#turn.length) this.#grow(need);
    const buf = this.#turn;
    const start = this.#turnLen;
    let p = start;
    buf[p++] = 0x2a; // *
    p = writeUint(buf, p, argv.length);
    buf[p++] = CRLF0;
    buf[p++] = CRLF1;
    for (const a of argv) {
      buf[p++] = 0x24; // $
      p = writeUint(buf, p, a.length);
      buf[p++] = CRLF0;
      buf[p++] = CRLF1;
      buf.set(a, p);
      p += a.length;
      buf[p++] = CRLF0;
      buf[p++] = CRLF1;
    }
    const backlog = this.backlog();
    if (start === 0) this.#turnStart = backlog.offset;
    backlog.append(buf, start, p);
    this.#lastWrite = this.server.ks.now;
    if (this.peers.length === 0) {
      // Nobody to send it to: the backlog has it.
      this.#turnLen = 0;
      return;
    }
    this.#turnLen = p;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }

  #grow(need: number): void {
    let size = this.#turn.length * 2;
    while (size < this.#turnLen + need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.#turn.copy(next, 0, 0, this.#turnLen);
    this.#turn = next;
  }

  /** Sends the turn's bytes: one write per online replica, a queued copy for the others. */
  readonly #flush = (): void => {
    this.#scheduled = false;
    const len = this.#turnLen;
    if (len === 0) return;
    // The turn's bytes are copied out (sockets keep what they are given) and the turn
    // buffer is reused, as ReplyWriter.take does. Handing over the turn buffer and
    // allocating a fresh 64 KiB one per turn cost an mmap, page faults on every page
    // written and an munmap per turn (the shard runs with MALLOC_MMAP_THRESHOLD_=65536):
    // SET -P 16 through the proxy with one replica ran at 95k/s that way, 120k/s this way.
    const bytes = Buffer.allocUnsafe(len);
    this.#turn.copy(bytes, 0, 0, len);
    if (this.#turn.length > TURN_RETAIN_MAX) this.#turn = Buffer.allocUnsafe(TURN_INITIAL);
    this.#turnLen = 0;
    const first = this.#turnStart + 1;
    let over: ReplicaPeer[] | null = null;
    for (const peer of this.peers) {
      const skip = peer.streamFrom - first;
      if (skip >= len) continue;
      const part = skip > 0 ? bytes.subarray(skip) : bytes;
      if (peer.state === 'online') peer.socket.write(part);
      else if (peer.inRun) {
        peer.queue.push(part);
        peer.queued += part.length;
      }
      if (peer.socket.writableLength + peer.queued > PEER_BUFFER_LIMIT) (over ??= []).push(peer);
    }
    if (over !== null) for (const peer of over) this.#drop(peer, `output buffer over ${PEER_BUFFER_LIMIT} bytes`);
  };

  /** Sends what this turn propagated right now (before a reply that must follow it). */
  flushNow(): void {
    if (this.#turnLen > 0) this.#flush();
  }

  // --- PSYNC and REPLCONF ------------------------------------------------------------

  /** The client socket of `client` (a PSYNC takes it over as a replica link). */
  socketOf(client: ClientState): Socket | undefined {
    for (const [s, c] of this.server.sessions) if (c === client) return s;
    return undefined;
  }

  /**
   * PSYNC replid offset: `+CONTINUE` when (replid, offset) is in this history and the
   * backlog, else `+FULLRESYNC`. Writes the first reply line into `reply`, or returns
   * an error text.
   */
  psync(client: ClientState, replid: string, from: number, reply: (line: string) => void): string | null {
    const socket = this.socketOf(client);
    if (socket === undefined) return 'ERR no socket for this connection';
    if (this.peers.some((p) => p.client === client)) return 'ERR this connection is already a replica link';
    const backlog = this.backlog();
    const ip = (socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
    const port = this.announced.get(client) ?? socket.remotePort ?? 0;
    const peer = new ReplicaPeer(client, socket, ip, port);
    socket.on('close', () => this.#drop(peer, 'connection closed'));
    const sameHistory = replid === backlog.replid || (replid === backlog.replid2 && from <= backlog.secondOffset);
    if (replid !== '?' && sameHistory && backlog.has(from)) {
      // Sent after the replies already built on this connection (the session flushes them first).
      this.flushNow();
      reply(`CONTINUE ${backlog.replid}`);
      const tail = from <= backlog.offset ? backlog.readFrom(from) : null;
      peer.state = 'online';
      peer.streamFrom = backlog.offset + 1;
      peer.ackOffset = from - 1;
      this.peers.push(peer);
      if (tail !== null) queueMicrotask(() => socket.write(tail));
      this.stats.syncPartialOk++;
      this.log()?.info({ replica: `${ip}:${port}`, from, bytes: tail?.length ?? 0, replid: backlog.replid }, 'replica continues from the backlog (partial resync)');
      return null;
    }
    if (replid !== '?') this.stats.syncPartialErr++;
    this.peers.push(peer);
    this.log()?.info({ replica: `${ip}:${port}`, askedReplid: replid, askedOffset: from, replid: backlog.replid, firstByte: backlog.firstByte, offset: backlog.offset }, 'full resync requested');
    setImmediate(() => this.#startFullSync());
    return null;
  }

  /** REPLCONF ACK <offset> from a replica link. */
  ack(client: ClientState, offset: number): void {
    const peer = this.peers.find((p) => p.client === client);
    if (peer === undefined) return;
    if (offset > peer.ackOffset) peer.ackOffset = offset;
    peer.ackTime = Date.now();
    if (peer.state === 'online') peer.acked = true;
    if (this.#holds.length > 0) this.#releaseHolds();
    if (this.#waiters.length > 0) this.#checkWaiters(peer.ackTime);
  }

  #drop(peer: ReplicaPeer, why: string): void {
    const i = this.peers.indexOf(peer);
    if (i === -1) return;
    this.peers.splice(i, 1);
    peer.queue = [];
    if (!peer.socket.destroyed) peer.socket.destroy();
    this.log()?.info({ replica: `${peer.ip}:${peer.port}`, state: peer.state, why }, 'replica disconnected');
    // The in-sync set shrank: holds waiting only for it can go.
    if (this.#holds.length > 0) this.#releaseHolds();
  }

  /** Demotion or shutdown: every replica link closes; held strong replies fail (their writes may not survive). */
  closeAll(why: string): void {
    for (const peer of [...this.peers]) this.#drop(peer, why);
    const holds = this.#holds;
    this.#holds = [];
    for (const h of holds) h.fail();
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.done(0);
  }

  // --- full resync --------------------------------------------------------------------

  #startFullSync(): void {
    if (this.#syncRun !== null) return; // the peers wait for the next one (#syncDone)
    const waiting = this.peers.filter((p) => p.state === 'wait_bgsave' && !p.inRun);
    if (waiting.length === 0) return;
    if (this.server.snapshots.running !== null) return; // a BGSAVE / rewrite runs: tick() retries
    const backlog = this.backlog();
    this.flushNow();
    const file = workerFile(this.server.config, this.server.self, 'repl-sync.sdb');
    const offset = backlog.offset;
    const run = { offset, file, startedAt: performance.now() };
    let done: Promise<{ keys: number; bytes: number; ms: number }>;
    try {
      done = writeSnapshot(this.server, file, 'bgsave');
    } catch (err) {
      this.log()?.warn({ err: (err as Error).message }, 'cannot start the full-resync snapshot');
      return;
    }
    this.#syncRun = run;
    for (const peer of waiting) {
      peer.inRun = true;
      peer.streamFrom = offset + 1;
      peer.socket.write(`+FULLRESYNC ${backlog.replid} ${offset}\r\n`);
      this.stats.syncFull++;
    }
    this.log()?.info({ replicas: waiting.map((p) => `${p.ip}:${p.port}`), offset, replid: backlog.replid, keys: this.server.ks.size }, 'full resync: snapshot started');
    done.then(
      (res) => this.#sendSnapshot(run, res),
      (err: Error) => {
        this.log()?.warn({ err: err.message }, 'full resync snapshot failed; the replicas will reconnect');
        this.#syncRun = null;
        for (const peer of this.peers.filter((p) => p.inRun)) this.#drop(peer, 'snapshot failed');
        removeQuietly(file);
      },
    );
  }

  #sendSnapshot(run: { offset: number; file: string; startedAt: number }, res: { keys: number; bytes: number; ms: number }): void {
    const peers = this.peers.filter((p) => p.inRun && p.state === 'wait_bgsave');
    const size = existsSync(run.file) ? statSync(run.file).size : 0;
    let left = peers.length;
    const finished = (): void => {
      if (--left > 0) return;
      this.#syncRun = null;
      removeQuietly(run.file);
      this.log()?.info({ bytes: size, keys: res.keys, ms: Math.round(performance.now() - run.startedAt) }, 'full resync: snapshot sent');
      this.#startFullSync();
    };
    if (peers.length === 0) {
      left = 1;
      finished();
      return;
    }
    for (const peer of peers) {
      peer.state = 'send_bulk';
      const socket = peer.socket;
      socket.write(`$${size}\r\n`);
      const rs = createReadStream(run.file, { highWaterMark: 1 << 20 });
      rs.on('data', (chunk) => {
        if (socket.destroyed) return void rs.destroy();
        if (!socket.write(chunk)) {
          rs.pause();
          socket.once('drain', () => rs.resume());
        }
      });
      rs.on('error', (err) => {
        this.log()?.warn({ err: err.message }, 'cannot read the full-resync snapshot');
        this.#drop(peer, 'snapshot read failed');
        finished();
      });
      rs.on('end', () => {
        if (!socket.destroyed && this.peers.includes(peer)) {
          // Everything propagated since the snapshot's instant, then live.
          this.flushNow();
          for (const part of peer.queue) socket.write(part);
          peer.queue = [];
          peer.queued = 0;
          peer.state = 'online';
          peer.inRun = false;
          peer.ackTime = Date.now();
          peer.streamFrom = this.backlog().offset + 1;
          this.log()?.info({ replica: `${peer.ip}:${peer.port}`, bytes: size, ms: Math.round(performance.now() - run.startedAt) }, 'replica online after full resync');
        }
        finished();
      });
    }
  }

  // --- ticks, holds, WAIT ---------------------------------------------------------------

  /** Worker tick: idle PINGs, keepalive newlines, a full sync waiting for a running snapshot, lag-expired holds. */
  tick(now: number): void {
    if (this.#waiters.length > 0) this.#checkWaiters(now);
    if (this.peers.length === 0) return;
    if (now - this.#lastKeepalive >= KEEPALIVE_MS) {
      this.#lastKeepalive = now;
      for (const p of this.peers) if (p.state === 'wait_bgsave') p.socket.write('\n');
      // An idle stream still shows the replicas the primary is alive (master_last_io_seconds_ago).
      if (now - this.#lastWrite >= KEEPALIVE_MS) this.command(PING_ARGV);
    }
    if (this.#syncRun === null && this.peers.some((p) => p.state === 'wait_bgsave' && !p.inRun)) this.#startFullSync();
    if (this.#holds.length > 0) this.#releaseHolds();
  }

  /** Online, acknowledged since, and within min-replicas-max-lag. */
  inSync(peer: ReplicaPeer, now: number): boolean {
    return peer.acked && peer.state === 'online' && now - peer.ackTime <= this.server.config.minReplicasMaxLag * 1000;
  }

  /** min-replicas-to-write's "good replicas": online, lag <= min-replicas-max-lag. */
  goodReplicas(now: number): number {
    let n = 0;
    for (const p of this.peers) if (this.inSync(p, now)) n++;
    return n;
  }

  #satisfied(target: number, now: number): boolean {
    for (const p of this.peers) if (p.ackOffset < target && this.inSync(p, now)) return false;
    return true;
  }

  /**
   * Holds a reply until every in-sync replica acknowledged `target`: true when
   * `release` (or `fail`) will be called later; false to send now. `queueBehind`: the
   * connection already has held replies, so this one waits behind them whatever.
   */
  hold(target: number, release: () => void, fail: () => void, queueBehind: boolean): boolean {
    if (!queueBehind && this.#satisfied(target, Date.now())) return false;
    this.#holds.push({ target, release, fail });
    return true;
  }

  #releaseHolds(): void {
    const now = Date.now();
    let i = 0;
    const holds = this.#holds;
    while (i < holds.length && this.#satisfied(holds[i]!.target, now)) i++;
    if (i === 0) return;
    const ready = holds.splice(0, i);
    for (const h of ready) h.release();
  }

  /** WAIT numreplicas timeout: replicas that acknowledged `target`, now or when `done` is called. */
  acked(target: number): number {
    let n = 0;
    for (const p of this.peers) if (p.state === 'online' && p.ackOffset >= target) n++;
    return n;
  }

  wait(target: number, need: number, timeoutMs: number, done: (acked: number) => void): void {
    this.#waiters.push({ target, need, deadline: timeoutMs > 0 ? Date.now() + timeoutMs : 0, done });
  }

  #checkWaiters(now: number): void {
    const keep: Waiter[] = [];
    for (const w of this.#waiters) {
      const n = this.acked(w.target);
      if (n >= w.need || (w.deadline !== 0 && now >= w.deadline)) w.done(n);
      else keep.push(w);
    }
    this.#waiters = keep;
  }

  get pendingWaits(): boolean {
    return this.#waiters.length > 0;
  }
}

/** ASCII digits of a non-negative integer at buf[p]; returns the end. */
function writeUint(buf: Buffer, p: number, n: number): number {
  if (n < 10) {
    buf[p] = 0x30 + n;
    return p + 1;
  }
  let digits = 0;
  for (let x = n; x > 0; x = Math.floor(x / 10)) digits++;
  let q = p + digits - 1;
  for (let x = n; x > 0; x = Math.floor(x / 10)) buf[q--] = 0x30 + (x % 10);
  return p + digits;
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}
